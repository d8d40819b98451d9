//! Stage one of the transaction pipeline: decoding a Cosmos SDK `TxRaw` and
//! every check that needs no state (shape, sizes, signer info, fee form,
//! message validity). What comes out is a [`DecodedTx`] ready for the
//! signature, sequence and fee checks of [`crate::ante`]. Each message is
//! decoded by the module that handles its type URL ([`Registry`], over
//! [`MODULES`]); the app adds only the check that no message pays a module
//! account.

use std::ops::Deref;

use cosmos_sdk_proto::{
    cosmos::{
        crypto::secp256k1::PubKey,
        tx::{
            signing::v1beta1::SignMode,
            v1beta1::{mode_info, AuthInfo, SignDoc, TxBody, TxRaw},
        },
    },
    Any,
};
use deai_auth::{AuthParams, SECP256K1_PUBKEY_TYPE_URL};
use deai_types::{
    module::shown_type_url, Address, Coin, DecodeCtx, Module, ModuleMsg, MsgDecoder, MsgError,
};
use prost::Message;

use crate::{error::TxError, modules::MODULES};

/// A message this chain executes, decoded and checked by the module that
/// handles its type URL (see [`Registry`]); it reads as the module's
/// [`ModuleMsg`].
#[derive(Debug)]
pub struct Msg(Box<dyn ModuleMsg>);

impl Deref for Msg {
    type Target = dyn ModuleMsg;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Most messages one transaction may carry. Each message is decoded and
/// checked before any signature is verified, so the count is bounded first.
pub const MAX_MSGS_PER_TX: usize = 64;

/// Most messages one governance proposal may carry.
pub use deai_gov::MAX_PROPOSAL_MSGS;

/// Whether `addr` is a module account. Module accounts hold exactly what
/// their module accounts for (bonds and escrow, stake, deposits, fees, the
/// treasury's funds), so, as in the Cosmos SDK's blocked addresses, no send,
/// spend or stream may pay one: tokens sent there would be lost or would
/// break the module's books. The treasury is funded with `MsgFund`. (This
/// is every module account, the staking pools among them, though their
/// tokens count as voting power: see
/// [`crate::end_block::non_voting_accounts`].)
pub fn is_module_account(addr: &Address) -> bool {
    crate::end_block::module_accounts().contains(addr)
}

/// Routes messages to modules by type URL: the first module of the list
/// that handles a type URL decodes its messages.
#[derive(Clone, Copy)]
pub struct Registry<'a>(pub &'a [&'a dyn Module]);

impl Registry<'static> {
    /// The chain's modules, [`MODULES`].
    pub const CHAIN: Registry<'static> = Registry(MODULES);
}

impl Registry<'_> {
    /// Decodes and checks one message: its module's stateless checks, then
    /// that it pays no module account. A proposal's messages are decoded
    /// one level down (`in_proposal`) and no further.
    pub fn decode_msg(&self, any: &Any, in_proposal: bool) -> Result<Box<dyn ModuleMsg>, MsgError> {
        let module = self
            .0
            .iter()
            .find(|m| m.handles_msg(&any.type_url))
            .ok_or_else(|| MsgError::UnknownMessage(shown_type_url(&any.type_url)))?;
        let ctx = DecodeCtx {
            in_proposal,
            decoder: self,
        };
        let msg = module.decode_msg(any, &ctx)?;
        if let Some(to) = msg.recipients().into_iter().find(is_module_account) {
            return Err(MsgError::Unauthorized(format!(
                "{to} is a module account and may not receive funds this way"
            )));
        }
        Ok(msg)
    }
}

impl MsgDecoder for Registry<'_> {
    fn decode_in_proposal(&self, any: &Any) -> Result<Box<dyn ModuleMsg>, MsgError> {
        self.decode_msg(any, true)
    }
}

impl Msg {
    /// Decodes and checks one message of a transaction through [`MODULES`].
    pub fn from_any(any: &Any) -> Result<Self, TxError> {
        Self::decode_with(&Registry::CHAIN, any)
    }

    /// Decodes and checks one message of a transaction through `registry`.
    pub fn decode_with(registry: &Registry<'_>, any: &Any) -> Result<Self, TxError> {
        Ok(Msg(registry.decode_msg(any, false)?))
    }

    /// Whether a passed proposal acts with this message's authority: the
    /// governance account signs it, or it is a treasury-funded job.
    pub fn acts_as_governance(&self) -> bool {
        deai_gov::acts_as_governance(&*self.0)
    }
}

/// One signer of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// Its address, derived from the messages.
    pub address: Address,
    /// The compressed secp256k1 key it claims.
    pub pub_key: [u8; 33],
    /// The sequence it signed with.
    pub sequence: u64,
    /// The 64-byte compact signature.
    pub signature: Vec<u8>,
}

/// A transaction that passed every stateless check.
#[derive(Debug)]
pub struct DecodedTx {
    /// SHA-256 of the raw bytes: CometBFT's tx hash.
    pub hash: [u8; 32],
    /// Size of the raw bytes.
    pub size: usize,
    /// The messages, in order.
    pub msgs: Vec<Msg>,
    /// Signers in order of first appearance among the messages' signers.
    pub signers: Vec<Signer>,
    /// The fee (absent when zero).
    pub fee: Option<Coin>,
    /// The gas limit.
    pub gas_limit: u64,
    /// The memo.
    pub memo: String,
    /// Height after which the tx is invalid (0: none).
    pub timeout_height: u64,
    /// Body bytes as signed.
    pub body_bytes: Vec<u8>,
    /// Auth-info bytes as signed.
    pub auth_info_bytes: Vec<u8>,
}

impl DecodedTx {
    /// The fee payer: the first signer.
    pub fn fee_payer(&self) -> Address {
        self.signers[0].address
    }

    /// The bytes signer `account_number` signed: the SIGN_MODE_DIRECT `SignDoc`.
    pub fn sign_doc_bytes(&self, chain_id: &str, account_number: u64) -> Vec<u8> {
        SignDoc {
            body_bytes: self.body_bytes.clone(),
            auth_info_bytes: self.auth_info_bytes.clone(),
            chain_id: chain_id.to_string(),
            account_number,
        }
        .encode_to_vec()
    }
}

/// The CometBFT hash of raw tx bytes (defined beside the addresses, for clients too).
pub use deai_types::tx_hash;

/// Decodes `bytes` and runs every stateless check against `params`,
/// routing messages through [`MODULES`].
pub fn decode(bytes: &[u8], params: &AuthParams) -> Result<DecodedTx, TxError> {
    Registry::CHAIN.decode_tx(bytes, params)
}

/// Decodes a transaction sent for gas estimation: as [`decode`], except that
/// signatures may be empty and the gas limit and fee may be zero or absent,
/// as wallets send them before they know the gas.
pub fn decode_for_simulation(bytes: &[u8], params: &AuthParams) -> Result<DecodedTx, TxError> {
    Registry::CHAIN.decode_tx_for_simulation(bytes, params)
}

impl Registry<'_> {
    /// [`decode`], routing messages through this registry.
    pub fn decode_tx(&self, bytes: &[u8], params: &AuthParams) -> Result<DecodedTx, TxError> {
        decode_with(bytes, params, false, self)
    }

    /// [`decode_for_simulation`], routing messages through this registry.
    pub fn decode_tx_for_simulation(
        &self,
        bytes: &[u8],
        params: &AuthParams,
    ) -> Result<DecodedTx, TxError> {
        decode_with(bytes, params, true, self)
    }
}

fn decode_with(
    bytes: &[u8],
    params: &AuthParams,
    simulate: bool,
    registry: &Registry<'_>,
) -> Result<DecodedTx, TxError> {
    if bytes.len() as u64 > params.max_tx_bytes {
        return Err(TxError::TooLarge {
            size: bytes.len(),
            max: params.max_tx_bytes,
        });
    }
    let raw = TxRaw::decode(bytes).map_err(|e| TxError::Decode(format!("TxRaw: {e}")))?;
    let body = TxBody::decode(raw.body_bytes.as_slice())
        .map_err(|e| TxError::Decode(format!("TxBody: {e}")))?;
    let auth_info = AuthInfo::decode(raw.auth_info_bytes.as_slice())
        .map_err(|e| TxError::Decode(format!("AuthInfo: {e}")))?;

    if body.messages.is_empty() {
        return Err(TxError::InvalidRequest("the tx has no messages".into()));
    }
    if body.messages.len() > MAX_MSGS_PER_TX {
        return Err(TxError::InvalidRequest(format!(
            "the tx carries {} messages, at most {MAX_MSGS_PER_TX} allowed",
            body.messages.len()
        )));
    }
    if !body.extension_options.is_empty() || !body.non_critical_extension_options.is_empty() {
        return Err(TxError::InvalidRequest(
            "extension options are not supported".into(),
        ));
    }
    let memo_len = body.memo.chars().count();
    if memo_len as u64 > params.max_memo_characters {
        return Err(TxError::MemoTooLarge {
            len: memo_len,
            max: params.max_memo_characters,
        });
    }
    let msgs = body
        .messages
        .iter()
        .map(|any| Msg::decode_with(registry, any))
        .collect::<Result<Vec<_>, _>>()?;

    // Signers: distinct message signers in order of first appearance.
    let mut addrs: Vec<Address> = Vec::new();
    for m in &msgs {
        let s = m.signer();
        if !addrs.contains(&s) {
            addrs.push(s);
        }
    }
    if addrs.len() as u64 > params.tx_sig_limit {
        return Err(TxError::InvalidRequest(format!(
            "{} signers, at most {} allowed",
            addrs.len(),
            params.tx_sig_limit
        )));
    }
    if auth_info.signer_infos.len() != addrs.len() || raw.signatures.len() != addrs.len() {
        return Err(TxError::Unauthorized(format!(
            "expected {} signer infos and signatures, got {} and {}",
            addrs.len(),
            auth_info.signer_infos.len(),
            raw.signatures.len()
        )));
    }
    let mut signers = Vec::with_capacity(addrs.len());
    for ((address, info), signature) in addrs
        .iter()
        .zip(&auth_info.signer_infos)
        .zip(&raw.signatures)
    {
        let key = info
            .public_key
            .as_ref()
            .ok_or_else(|| TxError::InvalidPubKey(format!("no public key for signer {address}")))?;
        if key.type_url != SECP256K1_PUBKEY_TYPE_URL {
            return Err(TxError::InvalidPubKey(format!(
                "unsupported key type {}",
                key.type_url
            )));
        }
        let key = PubKey::decode(key.value.as_slice())
            .map_err(|e| TxError::InvalidPubKey(e.to_string()))?
            .key;
        let pub_key: [u8; 33] = key.as_slice().try_into().map_err(|_| {
            TxError::InvalidPubKey(format!("key must be 33 bytes, got {}", key.len()))
        })?;
        match info.mode_info.as_ref().and_then(|m| m.sum.as_ref()) {
            Some(mode_info::Sum::Single(s)) if s.mode == SignMode::Direct as i32 => {}
            // Wallets simulate with SIGN_MODE_UNSPECIFIED before they sign.
            Some(mode_info::Sum::Single(_)) if simulate => {}
            _ => {
                return Err(TxError::Unauthorized(
                    "only SIGN_MODE_DIRECT single signatures are supported".into(),
                ))
            }
        }
        if signature.len() != 64 && !(simulate && signature.is_empty()) {
            return Err(TxError::Unauthorized(format!(
                "signature must be 64 bytes, got {}",
                signature.len()
            )));
        }
        signers.push(Signer {
            address: *address,
            pub_key,
            sequence: info.sequence,
            signature: signature.clone(),
        });
    }

    let fee = match auth_info.fee {
        Some(f) => f,
        None if simulate => Default::default(),
        None => return Err(TxError::InsufficientFee("the tx has no fee field".into())),
    };
    if !simulate && (fee.gas_limit == 0 || fee.gas_limit > params.max_tx_gas) {
        return Err(TxError::InvalidGasLimit(format!(
            "{} is not in 1..={}",
            fee.gas_limit, params.max_tx_gas
        )));
    }
    if !fee.granter.is_empty() {
        return Err(TxError::InvalidRequest(
            "fee grants are not supported".into(),
        ));
    }
    if !fee.payer.is_empty() && fee.payer != addrs[0].to_bech32() {
        return Err(TxError::InvalidRequest(
            "the fee payer must be the first signer".into(),
        ));
    }
    let fee_coin = match fee.amount.as_slice() {
        [] => None,
        [c] => {
            let coin = Coin::from_parts(&c.denom, &c.amount)
                .map_err(|e| TxError::InsufficientFee(e.to_string()))?;
            if coin.denom != params.fee_denom {
                return Err(TxError::InsufficientFee(format!(
                    "fees are paid in {}, got {}",
                    params.fee_denom, coin.denom
                )));
            }
            (coin.amount > 0).then_some(coin)
        }
        _ => {
            return Err(TxError::InsufficientFee(format!(
                "pay the fee in one coin of {}",
                params.fee_denom
            )))
        }
    };

    Ok(DecodedTx {
        hash: tx_hash(bytes),
        size: bytes.len(),
        msgs,
        signers,
        fee: fee_coin,
        gas_limit: fee.gas_limit,
        memo: body.memo,
        timeout_height: body.timeout_height,
        body_bytes: raw.body_bytes,
        auth_info_bytes: raw.auth_info_bytes,
    })
}

#[cfg(test)]
mod tests {
    use cosmos_sdk_proto::cosmos::gov::v1 as sdk_gov;
    use proptest::prelude::*;

    use super::*;
    use deai_client::tx::{msg_send, sign_tx, Key, TxParams};

    /// `msgs` signed by the "decode" key with a 2000udeai fee, 200000 gas and `memo`.
    fn signed_with_memo(msgs: Vec<Any>, memo: &str) -> Vec<u8> {
        let k = Key::from_label("decode");
        let p = TxParams {
            chain_id: "c".into(),
            account_number: 0,
            sequence: 0,
            fee: Some(Coin::new(2_000, "udeai")),
            gas_limit: 200_000,
            memo: memo.into(),
        };
        sign_tx(&k, msgs, &p)
    }

    fn valid_tx() -> Vec<u8> {
        let k = Key::from_label("decode");
        let send = msg_send(
            &k.address(),
            &Key::from_label("to").address(),
            &[Coin::new(1, "udeai")],
        );
        signed_with_memo(vec![send], "hi")
    }

    #[test]
    fn a_wallet_style_tx_decodes_with_its_signer_fee_and_memo() {
        let tx = decode(&valid_tx(), &AuthParams::default()).unwrap();
        assert_eq!(tx.signers.len(), 1);
        assert_eq!(tx.fee, Some(Coin::new(2_000, "udeai")));
        assert_eq!((tx.gas_limit, tx.memo.as_str()), (200_000, "hi"));
        assert_eq!(tx.fee_payer(), Key::from_label("decode").address());
    }

    #[test]
    fn limits_from_params_are_enforced() {
        let bytes = valid_tx();
        let small = AuthParams {
            max_tx_bytes: 128,
            ..AuthParams::default()
        };
        assert!(matches!(
            decode(&bytes, &small),
            Err(TxError::TooLarge { .. })
        ));
        let no_memo = AuthParams {
            max_memo_characters: 1,
            ..AuthParams::default()
        };
        assert!(matches!(
            decode(&bytes, &no_memo),
            Err(TxError::MemoTooLarge { .. })
        ));
        let low_gas = AuthParams {
            max_tx_gas: 1_000,
            ..AuthParams::default()
        };
        assert!(matches!(
            decode(&bytes, &low_gas),
            Err(TxError::InvalidGasLimit(_))
        ));
        let other_denom = AuthParams {
            fee_denom: "uother".into(),
            ..AuthParams::default()
        };
        assert!(matches!(
            decode(&bytes, &other_denom),
            Err(TxError::InsufficientFee(_))
        ));
    }

    fn signed(msgs: Vec<Any>) -> Vec<u8> {
        signed_with_memo(msgs, "")
    }

    /// A `MsgSubmitProposal` wrapping `inner`, `depth` times over.
    fn nested_proposal(inner: Any, depth: usize) -> Any {
        let proposer = Key::from_label("decode").address().to_bech32();
        (0..depth).fold(inner, |any, _| {
            deai_client::tx::any(
                deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
                &sdk_gov::MsgSubmitProposal {
                    messages: vec![any],
                    proposer: proposer.clone(),
                    ..Default::default()
                },
            )
        })
    }

    #[test]
    fn a_proposal_nested_thousands_deep_is_refused_without_recursing() {
        // Before the fix this overflowed the stack and aborted the process,
        // from CheckTx, Simulate, ProcessProposal or FinalizeBlock alike.
        let k = Key::from_label("decode");
        let send = msg_send(&k.address(), &k.address(), &[Coin::new(1, "udeai")]);
        let bytes = signed(vec![nested_proposal(send, 5_000)]);
        assert!(bytes.len() as u64 <= AuthParams::default().max_tx_bytes);
        for result in [
            decode(&bytes, &AuthParams::default()),
            decode_for_simulation(&bytes, &AuthParams::default()),
        ] {
            let err = result.unwrap_err();
            assert!(
                err.to_string().contains("may not carry another proposal"),
                "{err}"
            );
        }
    }

    #[test]
    fn a_tx_with_too_many_messages_or_a_proposal_with_too_many_is_refused() {
        let k = Key::from_label("decode");
        let send = msg_send(&k.address(), &k.address(), &[Coin::new(1, "udeai")]);
        let many = signed(vec![send.clone(); MAX_MSGS_PER_TX + 1]);
        let err = decode(&many, &AuthParams::default()).unwrap_err();
        assert!(err.to_string().contains("at most 64"), "{err}");
        assert!(decode(
            &signed(vec![send.clone(); MAX_MSGS_PER_TX]),
            &AuthParams::default()
        )
        .is_ok());

        let proposal = deai_client::tx::any(
            deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
            &sdk_gov::MsgSubmitProposal {
                messages: vec![send; MAX_PROPOSAL_MSGS + 1],
                proposer: k.address().to_bech32(),
                ..Default::default()
            },
        );
        let err = decode(&signed(vec![proposal]), &AuthParams::default()).unwrap_err();
        assert!(err.to_string().contains("at most 16"), "{err}");
    }

    #[test]
    fn sends_and_spends_to_module_accounts_are_refused() {
        let k = Key::from_label("decode");
        for module in crate::end_block::module_accounts() {
            let send = msg_send(&k.address(), &module, &[Coin::new(1, "udeai")]);
            let err = decode(&signed(vec![send]), &AuthParams::default()).unwrap_err();
            assert_eq!(err.code(), 4, "{err}");
            assert!(err.to_string().contains("module account"), "{err}");
        }
        // A governance spend to a module account is refused inside the proposal too.
        let spend = deai_client::tx::any(
            deai_treasury::MSG_SPEND_TYPE_URL,
            &deai_proto::treasury::v1::MsgSpend {
                authority: deai_gov::authority().to_bech32(),
                recipient: deai_compute_module::module_address().to_bech32(),
                amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                    denom: "udeai".into(),
                    amount: "5".into(),
                }],
            },
        );
        assert!(Msg::from_any(&spend)
            .unwrap_err()
            .to_string()
            .contains("module account"));
        // An ordinary account still receives.
        let ok = msg_send(
            &k.address(),
            &Key::from_label("to").address(),
            &[Coin::new(1, "udeai")],
        );
        assert!(decode(&signed(vec![ok]), &AuthParams::default()).is_ok());
    }

    #[test]
    fn a_huge_unknown_type_url_is_not_echoed_whole() {
        let junk = Any {
            type_url: "/x.".repeat(10_000),
            value: Vec::new(),
        };
        let err = decode(&signed(vec![junk]), &AuthParams::default()).unwrap_err();
        assert!(err.to_string().len() < 400, "{}", err.to_string().len());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode(&bytes, &AuthParams::default());
            let _ = decode_for_simulation(&bytes, &AuthParams::default());
        }

        #[test]
        fn any_corruption_of_a_valid_tx_is_refused_or_decodes_cleanly(pos in 0usize..400, byte in any::<u8>()) {
            let mut bytes = valid_tx();
            let i = pos % bytes.len();
            bytes[i] = byte;
            // Either a clean error or a tx; never a panic. Signature checks
            // (stage two) catch content changes that still decode.
            let _ = decode(&bytes, &AuthParams::default());
        }
    }
}
