//! Building and signing transactions: SIGN_MODE_DIRECT over the Cosmos SDK
//! `SignDoc`, exactly what a Cosmos wallet produces. Used by the CLI, the
//! compute daemon, the benchmarks and tests.

use cosmos_sdk_proto::{
    cosmos::{
        bank::v1beta1::MsgSend,
        base::v1beta1::Coin as ProtoCoin,
        crypto::secp256k1::PubKey,
        gov::v1::MsgVote,
        tx::{
            signing::v1beta1::SignMode,
            v1beta1::{mode_info, AuthInfo, Fee, ModeInfo, SignDoc, SignerInfo, TxBody, TxRaw},
        },
    },
    Any,
};
use deai_auth::SECP256K1_PUBKEY_TYPE_URL;
use deai_bank::MSG_SEND_TYPE_URL;
use deai_types::{Address, Coin};
use k256::ecdsa::{signature::Signer as _, Signature, SigningKey};
use prost::Message;

/// The hash CometBFT and wallets show for a tx: SHA-256 of its bytes.
pub use deai_types::tx_hash;

/// A secp256k1 account key.
#[derive(Clone)]
pub struct Key {
    signing: SigningKey,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.address())
    }
}

impl Key {
    /// Wraps a signing key (from the keyring, say).
    pub fn from_signing_key(signing: SigningKey) -> Self {
        Key { signing }
    }

    /// A key from 32 secret bytes.
    pub fn from_secret(secret: &[u8; 32]) -> anyhow::Result<Self> {
        Ok(Key {
            signing: SigningKey::from_bytes(secret.into())?,
        })
    }

    /// A deterministic key for tests and benchmarks: SHA-256 of the label.
    pub fn from_label(label: &str) -> Self {
        use sha2::{Digest, Sha256};
        let mut seed: [u8; 32] = Sha256::digest(label.as_bytes()).into();
        loop {
            if let Ok(signing) = SigningKey::from_bytes((&seed).into()) {
                return Key { signing };
            }
            seed = Sha256::digest(seed).into();
        }
    }

    /// The 32 secret bytes.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.signing.to_bytes().into()
    }

    /// The compressed public key.
    pub fn public_key(&self) -> [u8; 33] {
        let point = self.signing.verifying_key().to_encoded_point(true);
        let mut out = [0u8; 33];
        out.copy_from_slice(point.as_bytes());
        out
    }

    /// The account address.
    pub fn address(&self) -> Address {
        Address::from_secp256k1_pubkey(&self.public_key())
    }

    /// Signs `msg` (hashed with SHA-256); the signature is low-S, 64 bytes.
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.signing.sign(msg);
        sig.to_bytes().to_vec()
    }
}

/// Everything a single-signer transaction needs besides its messages.
#[derive(Debug, Clone)]
pub struct TxParams {
    /// The chain id.
    pub chain_id: String,
    /// The signer's account number.
    pub account_number: u64,
    /// The signer's sequence.
    pub sequence: u64,
    /// The fee (none: zero fee).
    pub fee: Option<Coin>,
    /// The gas limit.
    pub gas_limit: u64,
    /// The memo.
    pub memo: String,
}

/// Packs message `m` in an `Any` under `type_url`.
pub fn any<M: Message>(type_url: &str, m: &M) -> Any {
    Any {
        type_url: type_url.to_string(),
        value: m.encode_to_vec(),
    }
}

/// A `MsgSend` packed in an `Any`.
pub fn msg_send(from: &Address, to: &Address, amount: &[Coin]) -> Any {
    any(
        MSG_SEND_TYPE_URL,
        &MsgSend {
            from_address: from.to_bech32(),
            to_address: to.to_bech32(),
            amount: amount
                .iter()
                .map(|c| ProtoCoin {
                    denom: c.denom.clone(),
                    amount: c.amount.to_string(),
                })
                .collect(),
        },
    )
}

/// A `MsgVote` of `voter` on proposal `proposal_id`, packed in an `Any`.
pub fn msg_vote(voter: &Address, proposal_id: u64, option: deai_proto::gov::v1::VoteOption) -> Any {
    any(
        deai_gov::MSG_VOTE_TYPE_URL,
        &MsgVote {
            proposal_id,
            voter: voter.to_bech32(),
            option: option as i32,
            metadata: String::new(),
        },
    )
}

/// Builds and signs a transaction; returns the `TxRaw` bytes.
pub fn sign_tx(key: &Key, msgs: Vec<Any>, p: &TxParams) -> Vec<u8> {
    let body = TxBody {
        messages: msgs,
        memo: p.memo.clone(),
        timeout_height: 0,
        extension_options: Vec::new(),
        non_critical_extension_options: Vec::new(),
    };
    let auth_info = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(Any {
                type_url: SECP256K1_PUBKEY_TYPE_URL.to_string(),
                value: PubKey {
                    key: key.public_key().to_vec(),
                }
                .encode_to_vec(),
            }),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single {
                    mode: SignMode::Direct as i32,
                })),
            }),
            sequence: p.sequence,
        }],
        fee: Some(Fee {
            amount: p
                .fee
                .iter()
                .map(|c| ProtoCoin {
                    denom: c.denom.clone(),
                    amount: c.amount.to_string(),
                })
                .collect(),
            gas_limit: p.gas_limit,
            payer: String::new(),
            granter: String::new(),
        }),
        #[allow(deprecated)]
        tip: None,
    };
    let body_bytes = body.encode_to_vec();
    let auth_info_bytes = auth_info.encode_to_vec();
    let sign_doc = SignDoc {
        body_bytes: body_bytes.clone(),
        auth_info_bytes: auth_info_bytes.clone(),
        chain_id: p.chain_id.clone(),
        account_number: p.account_number,
    }
    .encode_to_vec();
    TxRaw {
        body_bytes,
        auth_info_bytes,
        signatures: vec![key.sign(&sign_doc)],
    }
    .encode_to_vec()
}
