//! Stage two of the transaction pipeline: the checks that need state. The
//! timeout height, the minimum fee, each signer's account, sequence and
//! SIGN_MODE_DIRECT signature, then the fee is moved to the fee collector
//! and sequences are bumped. It runs on a scratch layer: if any check fails
//! the layer is dropped and the transaction writes nothing at all.

use base64::Engine;
use deai_auth::{AuthParams, AuthRead, AuthWrite};
use deai_bank::{event::coins_string, BankWrite};
use deai_types::{Address, Event, GasConfig, Metered, StateWrite};
use sha2::{Digest, Sha256};

use crate::{error::TxError, tx::DecodedTx};

/// Name of the module account that collects fees.
pub const FEE_COLLECTOR: &str = "fee_collector";

/// Verifies a 64-byte compact secp256k1 signature over SHA-256(`msg`) with
/// libsecp256k1. High-S signatures are refused, as the Cosmos SDK refuses
/// them, so a signature cannot be altered into a second valid one.
pub fn verify_secp256k1(pub_key: &[u8; 33], msg: &[u8], sig: &[u8]) -> bool {
    static CONTEXT: std::sync::OnceLock<secp256k1::Secp256k1<secp256k1::VerifyOnly>> =
        std::sync::OnceLock::new();
    let ctx = CONTEXT.get_or_init(secp256k1::Secp256k1::verification_only);
    let Ok(key) = secp256k1::PublicKey::from_slice(pub_key) else {
        return false;
    };
    let Ok(sig) = secp256k1::ecdsa::Signature::from_compact(sig) else {
        return false;
    };
    let mut normalized = sig;
    normalized.normalize_s();
    if normalized != sig {
        return false;
    }
    let digest: [u8; 32] = Sha256::digest(msg).into();
    ctx.verify_ecdsa(&secp256k1::Message::from_digest(digest), &sig, &key)
        .is_ok()
}

/// A signature verified ahead of time (in parallel, before a block runs)
/// under an assumed account number. It is used only if the account number
/// turns out to be the same when the transaction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreVerified {
    /// The account number the sign doc was built with.
    pub account_number: u64,
    /// Whether the signature was valid.
    pub valid: bool,
}

/// How a transaction is being run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// For the mempool or a block: every check applies.
    Full,
    /// For gas estimation: signatures are not verified (their gas is still
    /// charged) and the minimum fee is not enforced.
    Simulate,
}

/// Runs the stateful checks and fee payment for `tx` on `state`.
/// `pre` holds, per signer, a result computed ahead of time, if any.
pub fn run<S: StateWrite>(
    state: &mut Metered<S>,
    gas: &GasConfig,
    tx: &DecodedTx,
    chain_id: &str,
    height: u64,
    pre: &[Option<PreVerified>],
    mode: Mode,
) -> Result<Vec<Event>, TxError> {
    let params: AuthParams = state.auth_params()?;
    state.consume(gas.tx_byte.saturating_mul(tx.size as u64))?;

    if tx.timeout_height != 0 && height > tx.timeout_height {
        return Err(TxError::TimedOut {
            timeout: tx.timeout_height,
            height,
        });
    }
    let paid = tx.fee.as_ref().map_or(0, |c| c.amount);
    let min_fee = params.min_fee(tx.gas_limit);
    if paid < min_fee && mode == Mode::Full {
        return Err(TxError::InsufficientFee(format!(
            "got {paid}{denom}, the minimum for gas {gas} is {min_fee}{denom}",
            denom = params.fee_denom,
            gas = tx.gas_limit
        )));
    }

    let mut events = Vec::new();
    let payer = tx.fee_payer();
    if state.account(&payer)?.is_none() {
        return Err(TxError::UnknownAddress(payer.to_bech32()));
    }
    // A simulation without a fee still pays for the fee transfer's reads and
    // writes (with a token amount), so its estimate covers the real tx.
    let fee = match (&tx.fee, mode) {
        (Some(f), _) => Some(f.clone()),
        (None, Mode::Simulate) => Some(deai_types::Coin::new(1, params.fee_denom.clone())),
        (None, Mode::Full) => None,
    };
    if let Some(fee) = &fee {
        let fee = std::slice::from_ref(fee);
        state
            .send(&payer, &Address::module(FEE_COLLECTOR), fee)
            .map_err(|e| match e {
                deai_bank::BankError::InsufficientFunds { .. } => {
                    TxError::InsufficientFunds(e.to_string())
                }
                other => other.into(),
            })?;
        events.push(
            Event::new("tx")
                .attr("fee", coins_string(fee))
                .attr("fee_payer", payer.to_bech32()),
        );
    }

    for (i, signer) in tx.signers.iter().enumerate() {
        let account = state
            .account(&signer.address)?
            .ok_or_else(|| TxError::UnknownAddress(signer.address.to_bech32()))?;
        if signer.sequence != account.sequence {
            return Err(TxError::WrongSequence {
                expected: account.sequence,
                got: signer.sequence,
            });
        }
        if let Some(stored) = &account.pub_key {
            if stored.as_slice() != signer.pub_key.as_slice() {
                return Err(TxError::InvalidPubKey(format!(
                    "key differs from the one {} signed with before",
                    signer.address
                )));
            }
        }
        state.consume(gas.sig_verify_secp256k1)?;
        let valid = mode == Mode::Simulate
            || match pre.get(i).copied().flatten() {
                Some(p) if p.account_number == account.account_number => p.valid,
                _ => verify_secp256k1(
                    &signer.pub_key,
                    &tx.sign_doc_bytes(chain_id, account.account_number),
                    &signer.signature,
                ),
            };
        if !valid {
            return Err(TxError::Unauthorized(format!(
                "signature verification failed: the signature of {} does not verify for chain-id {chain_id:?}, account number {} and sequence {}",
                signer.address, account.account_number, account.sequence
            )));
        }
        state.record_signature(&account, &signer.pub_key)?;
        events.push(
            Event::new("tx").attr("acc_seq", format!("{}/{}", signer.address, signer.sequence)),
        );
        events.push(Event::new("tx").attr(
            "signature",
            base64::engine::general_purpose::STANDARD.encode(&signer.signature),
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txbuilder::Key;

    #[test]
    fn a_wallet_signature_verifies_and_a_tampered_one_does_not() {
        let key = Key::from_label("ante");
        let sig = key.sign(b"sign doc");
        assert!(verify_secp256k1(&key.public_key(), b"sign doc", &sig));
        assert!(!verify_secp256k1(&key.public_key(), b"sign doc!", &sig));
        assert!(!verify_secp256k1(
            &Key::from_label("other").public_key(),
            b"sign doc",
            &sig
        ));
        assert!(!verify_secp256k1(
            &key.public_key(),
            b"sign doc",
            &sig[..63]
        ));
    }

    #[test]
    fn a_high_s_signature_is_refused() {
        let key = Key::from_label("ante");
        let sig = key.sign(b"sign doc");
        // s' = n - s is the same signature's malleated twin.
        let parsed = k256::ecdsa::Signature::from_slice(&sig).unwrap();
        let high = k256::ecdsa::Signature::from_scalars(parsed.r(), -*parsed.s()).unwrap();
        assert!(!verify_secp256k1(
            &key.public_key(),
            b"sign doc",
            &high.to_bytes()
        ));
    }
}
