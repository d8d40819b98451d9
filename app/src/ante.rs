//! Stage two of the transaction pipeline: the checks that need state. The
//! timeout height, the minimum fee, each signer's account, sequence and
//! SIGN_MODE_DIRECT signature, then the fee is moved to the fee collector
//! and sequences are bumped. It runs on a scratch layer: if any check fails
//! the layer is dropped and the transaction writes nothing at all.

use deai_auth::{AuthParams, AuthRead, AuthWrite};
use deai_bank::BankWrite;
use deai_types::{Address, Event, GasConfig, Metered, StateWrite};
use sha2::{Digest, Sha256};

use crate::{error::TxError, event, tx::DecodedTx};

/// Name of the module account that collects fees.
pub use deai_types::module::FEE_COLLECTOR;

/// Decompressed secp256k1 public keys by their compressed bytes, the newest
/// [`PubKeyCache::capacity`] of them.
///
/// Parsing a compressed key takes a field square root, about a tenth of a
/// verification, and an account signs with the same key every time. A parse
/// is a pure function of the bytes, so what the cache holds never changes a
/// verification's result, only its cost; keys that do not parse are not kept.
#[derive(Debug)]
pub struct PubKeyCache {
    capacity: usize,
    inner: std::sync::Mutex<PubKeyCacheInner>,
}

#[derive(Debug, Default)]
struct PubKeyCacheInner {
    keys: std::collections::BTreeMap<[u8; 33], secp256k1::PublicKey>,
    /// Insertion order, oldest first: the next to go when the cache is full.
    order: std::collections::VecDeque<[u8; 33]>,
}

impl PubKeyCache {
    /// Room for the signers of several full blocks (about 100 bytes each).
    pub const CAPACITY: usize = 100_000;

    /// An empty cache holding at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        PubKeyCache {
            capacity,
            inner: std::sync::Mutex::new(PubKeyCacheInner::default()),
        }
    }

    /// The cache [`verify_secp256k1`] uses.
    pub fn global() -> &'static PubKeyCache {
        static CACHE: std::sync::OnceLock<PubKeyCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(|| PubKeyCache::new(Self::CAPACITY))
    }

    /// The most keys it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PubKeyCacheInner> {
        // Every update leaves the maps consistent, so a poisoned lock is sound.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The parsed key, from the cache or parsed now (and then kept);
    /// `None` if the bytes are not a valid compressed key.
    pub fn parse(&self, compressed: &[u8; 33]) -> Option<secp256k1::PublicKey> {
        if let Some(key) = self.lock().keys.get(compressed) {
            return Some(*key);
        }
        // Parsed outside the lock, so threads verifying side by side do not wait.
        let key = secp256k1::PublicKey::from_slice(compressed).ok()?;
        if self.capacity == 0 {
            return Some(key);
        }
        let mut inner = self.lock();
        if inner.keys.insert(*compressed, key).is_none() {
            inner.order.push_back(*compressed);
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.keys.remove(&old);
            }
        }
        Some(key)
    }
}

/// Verifies a 64-byte compact secp256k1 signature over SHA-256(`msg`) with
/// libsecp256k1. High-S signatures are refused, as the Cosmos SDK refuses
/// them, so a signature cannot be altered into a second valid one. The
/// parsed key comes from [`PubKeyCache::global`].
pub fn verify_secp256k1(pub_key: &[u8; 33], msg: &[u8], sig: &[u8]) -> bool {
    verify_secp256k1_with(PubKeyCache::global(), pub_key, msg, sig)
}

/// [`verify_secp256k1`] with the parsed key from `cache`.
pub fn verify_secp256k1_with(
    cache: &PubKeyCache,
    pub_key: &[u8; 33],
    msg: &[u8],
    sig: &[u8],
) -> bool {
    static CONTEXT: std::sync::OnceLock<secp256k1::Secp256k1<secp256k1::VerifyOnly>> =
        std::sync::OnceLock::new();
    let ctx = CONTEXT.get_or_init(secp256k1::Secp256k1::verification_only);
    let Ok(sig) = secp256k1::ecdsa::Signature::from_compact(sig) else {
        return false;
    };
    let mut normalized = sig;
    normalized.normalize_s();
    if normalized != sig {
        return false;
    }
    let Some(key) = cache.parse(pub_key) else {
        return false;
    };
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
    /// For genesis transactions at InitChain: signed, as the Cosmos SDK's
    /// gentxs are, for account number 0 (no account number is known before
    /// genesis is written), with no minimum fee.
    Genesis,
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
    for msg in &tx.msgs {
        state.consume(msg.execution_gas(gas))?;
    }

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
        (None, Mode::Full | Mode::Genesis) => None,
    };
    if let Some(fee) = &fee {
        let fee = std::slice::from_ref(fee);
        // A send without its bank events, which a fee does not emit.
        state.sub_coins(&payer, fee).map_err(|e| match e {
            deai_bank::BankError::InsufficientFunds { .. } => {
                TxError::InsufficientFunds(e.to_string())
            }
            other => other.into(),
        })?;
        state.add_coins(&Address::module(FEE_COLLECTOR), fee)?;
        events.push(event::tx_fee(fee, &payer));
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
        let signed_number = if mode == Mode::Genesis {
            0
        } else {
            account.account_number
        };
        let valid = mode == Mode::Simulate
            || match pre.get(i).copied().flatten() {
                Some(p) if mode == Mode::Full && p.account_number == account.account_number => {
                    p.valid
                }
                _ => verify_secp256k1(
                    &signer.pub_key,
                    &tx.sign_doc_bytes(chain_id, signed_number),
                    &signer.signature,
                ),
            };
        if !valid {
            return Err(TxError::Unauthorized(format!(
                "signature verification failed: the signature of {} does not verify for chain-id {chain_id:?}, account number {signed_number} and sequence {}",
                signer.address, account.sequence
            )));
        }
        state.record_signature(&account, &signer.pub_key)?;
        events.push(event::tx_acc_seq(&signer.address, signer.sequence));
        events.push(event::tx_signature(&signer.signature));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deai_client::tx::Key;

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
    fn a_cached_key_still_refuses_a_wrong_signature() {
        let cache = PubKeyCache::new(4);
        let key = Key::from_label("cached");
        let sig = key.sign(b"sign doc");
        assert!(verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"sign doc",
            &sig
        ));
        assert_eq!(cache.len(), 1, "the key is kept after its first use");
        assert!(!verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"sign doc!",
            &sig
        ));
        let other = Key::from_label("other").sign(b"sign doc");
        assert!(!verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"sign doc",
            &other
        ));
        let mut flipped = sig.clone();
        flipped[10] ^= 1;
        assert!(!verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"sign doc",
            &flipped
        ));
        assert!(verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"sign doc",
            &sig
        ));
    }

    #[test]
    fn the_key_cache_keeps_only_its_newest_keys() {
        let cache = PubKeyCache::new(3);
        let keys: Vec<Key> = (0..5).map(|i| Key::from_label(&format!("k{i}"))).collect();
        for k in &keys {
            assert!(verify_secp256k1_with(
                &cache,
                &k.public_key(),
                b"m",
                &k.sign(b"m")
            ));
            assert!(cache.len() <= 3);
        }
        assert_eq!(cache.len(), 3);
        // The oldest were dropped, and a dropped key still verifies (parsed again).
        assert!(verify_secp256k1_with(
            &cache,
            &keys[0].public_key(),
            b"m",
            &keys[0].sign(b"m")
        ));
        assert_eq!(cache.len(), 3);
        // Bytes that are not a point are refused and not kept.
        let mut bad = keys[1].public_key();
        bad[0] = 7;
        assert!(!verify_secp256k1_with(
            &cache,
            &bad,
            b"m",
            &keys[1].sign(b"m")
        ));
        assert!(cache.parse(&bad).is_none());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn a_cache_of_no_keys_still_verifies() {
        let cache = PubKeyCache::new(0);
        let key = Key::from_label("none");
        assert!(verify_secp256k1_with(
            &cache,
            &key.public_key(),
            b"m",
            &key.sign(b"m")
        ));
        assert!(cache.is_empty());
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
