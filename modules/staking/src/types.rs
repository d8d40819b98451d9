//! The staking records, typed, and their stored form: the Cosmos SDK's own
//! `cosmos.staking.v1beta1` messages, so queries hand out the stored bytes'
//! meaning unchanged and wallets read them as they read any Cosmos chain.

use cosmos_sdk_proto::cosmos::staking::v1beta1 as sdk;
use deai_types::{module::BlockTime, Address};
use prost::Message;
use tendermint_proto::google::protobuf::{Any, Timestamp};

use crate::{
    dec::{mul_div_floor, Dec},
    StakingError, ValoperAddress, ED25519_PUBKEY_TYPE_URL, POWER_REDUCTION,
};

/// The most voting power one validator is given: CometBFT bounds the
/// total at `i64::MAX / 8`, and at most [`crate::params::MAX_VALIDATORS`]
/// validators share it.
pub const MAX_POWER: u64 = (i64::MAX as u64 / 8) / 1024;

/// Where a validator stands with consensus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BondStatus {
    /// Not in the set; its tokens sit in the not-bonded pool.
    Unbonded,
    /// Left the set, waiting out the unbonding time; still slashable.
    Unbonding,
    /// In the set; its tokens sit in the bonded pool.
    Bonded,
}

impl BondStatus {
    /// The SDK's `BondStatus` value.
    pub fn to_proto(self) -> i32 {
        match self {
            BondStatus::Unbonded => sdk::BondStatus::Unbonded as i32,
            BondStatus::Unbonding => sdk::BondStatus::Unbonding as i32,
            BondStatus::Bonded => sdk::BondStatus::Bonded as i32,
        }
    }

    /// Reads the SDK's value.
    pub fn from_proto(v: i32) -> Option<Self> {
        match sdk::BondStatus::try_from(v).ok()? {
            sdk::BondStatus::Unbonded => Some(BondStatus::Unbonded),
            sdk::BondStatus::Unbonding => Some(BondStatus::Unbonding),
            sdk::BondStatus::Bonded => Some(BondStatus::Bonded),
            sdk::BondStatus::Unspecified => None,
        }
    }
}

/// A validator's commission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commission {
    /// The share of its rewards it keeps.
    pub rate: Dec,
    /// The most `rate` may ever be.
    pub max_rate: Dec,
    /// The most `rate` may move in a day.
    pub max_change_rate: Dec,
    /// When `rate` last changed.
    pub update_time: BlockTime,
}

impl Commission {
    /// Checks the rates against each other: 0 ≤ rate ≤ max_rate ≤ 1 and
    /// max_change_rate ≤ max_rate.
    pub fn validate(&self) -> Result<(), StakingError> {
        let bad = |m: &str| Err(StakingError::Commission(m.to_string()));
        if self.max_rate > Dec::ONE {
            return bad("max_rate must be at most 1");
        }
        if self.rate > self.max_rate {
            return bad("rate must not exceed max_rate");
        }
        if self.max_change_rate > self.max_rate {
            return bad("max_change_rate must not exceed max_rate");
        }
        Ok(())
    }
}

/// A validator: an operator account, a consensus key, and the tokens
/// delegated to it, in exchange for shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Validator {
    /// The operator's account (its `deaivaloper…` address is the same bytes).
    pub operator: Address,
    /// The ed25519 consensus public key.
    pub pubkey: [u8; 32],
    /// Whether it is jailed (out of the set until it unjails).
    pub jailed: bool,
    /// Where it stands.
    pub status: BondStatus,
    /// The tokens delegated to it (less slashes).
    pub tokens: u128,
    /// The shares issued for them.
    pub shares: Dec,
    /// Its self-description.
    pub description: sdk::Description,
    /// The height it began unbonding (0: never).
    pub unbonding_height: u64,
    /// When its unbonding completes.
    pub unbonding_time: BlockTime,
    /// Its commission.
    pub commission: Commission,
    /// The least its operator promises to keep self-delegated.
    pub min_self_delegation: u128,
}

/// A timestamp as protobuf carries it.
pub fn timestamp(t: BlockTime) -> Timestamp {
    Timestamp {
        seconds: t.seconds,
        nanos: i32::try_from(t.nanos).unwrap_or(0),
    }
}

/// A protobuf timestamp as a block time (negative nanos read as zero).
pub fn block_time(t: Option<&Timestamp>) -> BlockTime {
    t.map(|t| BlockTime {
        seconds: t.seconds,
        nanos: u32::try_from(t.nanos).unwrap_or(0),
    })
    .unwrap_or_default()
}

/// The SDK's `Any` of an ed25519 consensus key.
pub fn pubkey_any(key: &[u8; 32]) -> Any {
    Any {
        type_url: ED25519_PUBKEY_TYPE_URL.to_string(),
        value: cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey { key: key.to_vec() }
            .encode_to_vec(),
    }
}

/// Reads an ed25519 consensus key from its `Any`: the type must be
/// `/cosmos.crypto.ed25519.PubKey` and the key a valid curve point.
pub fn pubkey_from_any(any: Option<&Any>) -> Result<[u8; 32], StakingError> {
    let any = any.ok_or_else(|| StakingError::Invalid("pubkey missing".into()))?;
    if any.type_url != ED25519_PUBKEY_TYPE_URL {
        return Err(StakingError::Invalid(format!(
            "pubkey must be a {ED25519_PUBKEY_TYPE_URL}, the key type CometBFT validators use"
        )));
    }
    let pk = cosmos_sdk_proto::cosmos::crypto::ed25519::PubKey::decode(any.value.as_slice())
        .map_err(|e| StakingError::Invalid(format!("pubkey does not decode: {e}")))?;
    let key: [u8; 32] = pk.key.as_slice().try_into().map_err(|_| {
        StakingError::Invalid(format!("an ed25519 key is 32 bytes, got {}", pk.key.len()))
    })?;
    ed25519_consensus::VerificationKey::try_from(key)
        .map_err(|_| StakingError::Invalid("pubkey is not a valid ed25519 point".into()))?;
    Ok(key)
}

/// The consensus address of a key: the first 20 bytes of its SHA-256, as
/// CometBFT names validators in commits and evidence.
pub fn consensus_address(key: &[u8; 32]) -> [u8; 20] {
    use sha2::Digest;
    let h = sha2::Sha256::digest(key);
    let mut out = [0u8; 20];
    out.copy_from_slice(&h[..20]);
    out
}

fn int(field: &str, s: &str) -> Result<u128, StakingError> {
    if s.is_empty() {
        return Ok(0);
    }
    if s.len() > 39 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StakingError::Corrupt(format!("{field} {s:?}")));
    }
    s.parse()
        .map_err(|_| StakingError::Corrupt(format!("{field} {s:?}")))
}

fn dec(field: &str, s: &str) -> Result<Dec, StakingError> {
    Dec::from_proto(s).map_err(|_| StakingError::Corrupt(format!("{field} {s:?}")))
}

impl Validator {
    /// Its consensus voting power: whole tokens (10⁶ udeai), capped at [`MAX_POWER`].
    pub fn power(&self) -> u64 {
        u64::try_from(self.tokens / POWER_REDUCTION)
            .unwrap_or(u64::MAX)
            .min(MAX_POWER)
    }

    /// The tokens `shares` of this validator are worth, rounded down; all
    /// of them for all of its shares.
    pub fn tokens_for_shares(&self, shares: Dec) -> u128 {
        if shares >= self.shares {
            return self.tokens;
        }
        mul_div_floor(shares.atomics(), self.tokens, self.shares.atomics()).unwrap_or(0)
    }

    /// The shares `amount` new tokens buy, rounded down: one share per
    /// token for a validator with none yet.
    pub fn shares_for_tokens(&self, amount: u128) -> Result<Dec, StakingError> {
        if self.shares.is_zero() {
            return Dec::from_int(amount)
                .ok_or_else(|| StakingError::Invalid("amount too large".into()));
        }
        if self.tokens == 0 {
            return Err(StakingError::InvalidExchangeRate(
                self.operator.to_valoper(),
            ));
        }
        mul_div_floor(self.shares.atomics(), amount, self.tokens)
            .map(Dec::from_atomics)
            .ok_or_else(|| StakingError::Invalid("amount too large".into()))
    }

    /// The SDK's record.
    pub fn to_proto(&self) -> sdk::Validator {
        sdk::Validator {
            operator_address: self.operator.to_valoper(),
            consensus_pubkey: Some(pubkey_any(&self.pubkey)),
            jailed: self.jailed,
            status: self.status.to_proto(),
            tokens: self.tokens.to_string(),
            delegator_shares: self.shares.to_proto(),
            description: Some(self.description.clone()),
            unbonding_height: i64::try_from(self.unbonding_height).unwrap_or(i64::MAX),
            unbonding_time: Some(timestamp(self.unbonding_time)),
            commission: Some(sdk::Commission {
                commission_rates: Some(sdk::CommissionRates {
                    rate: self.commission.rate.to_proto(),
                    max_rate: self.commission.max_rate.to_proto(),
                    max_change_rate: self.commission.max_change_rate.to_proto(),
                }),
                update_time: Some(timestamp(self.commission.update_time)),
            }),
            min_self_delegation: self.min_self_delegation.to_string(),
            unbonding_on_hold_ref_count: 0,
            unbonding_ids: Vec::new(),
        }
    }

    /// Reads a stored record.
    pub fn from_proto(p: &sdk::Validator) -> Result<Self, StakingError> {
        let operator = crate::parse_valoper(&p.operator_address)
            .map_err(|e| StakingError::Corrupt(e.to_string()))?;
        let pubkey = pubkey_from_any(p.consensus_pubkey.as_ref())
            .map_err(|e| StakingError::Corrupt(e.to_string()))?;
        let rates = p
            .commission
            .as_ref()
            .and_then(|c| c.commission_rates.as_ref())
            .ok_or_else(|| StakingError::Corrupt("validator without commission".into()))?;
        Ok(Validator {
            operator,
            pubkey,
            jailed: p.jailed,
            status: BondStatus::from_proto(p.status)
                .ok_or_else(|| StakingError::Corrupt(format!("status {}", p.status)))?,
            tokens: int("tokens", &p.tokens)?,
            shares: dec("delegator_shares", &p.delegator_shares)?,
            description: p.description.clone().unwrap_or_default(),
            unbonding_height: u64::try_from(p.unbonding_height).unwrap_or(0),
            unbonding_time: block_time(p.unbonding_time.as_ref()),
            commission: Commission {
                rate: dec("rate", &rates.rate)?,
                max_rate: dec("max_rate", &rates.max_rate)?,
                max_change_rate: dec("max_change_rate", &rates.max_change_rate)?,
                update_time: block_time(p.commission.as_ref().and_then(|c| c.update_time.as_ref())),
            },
            min_self_delegation: int("min_self_delegation", &p.min_self_delegation)?,
        })
    }
}

/// A delegation: shares of one validator held by one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The delegator.
    pub delegator: Address,
    /// The validator's operator.
    pub validator: Address,
    /// The shares held.
    pub shares: Dec,
}

impl Delegation {
    /// The SDK's record.
    pub fn to_proto(&self) -> sdk::Delegation {
        sdk::Delegation {
            delegator_address: self.delegator.to_bech32(),
            validator_address: self.validator.to_valoper(),
            shares: self.shares.to_proto(),
        }
    }

    /// Reads a stored record.
    pub fn from_proto(p: &sdk::Delegation) -> Result<Self, StakingError> {
        Ok(Delegation {
            delegator: p
                .delegator_address
                .parse()
                .map_err(|e: deai_types::AddressError| StakingError::Corrupt(e.to_string()))?,
            validator: crate::parse_valoper(&p.validator_address)
                .map_err(|e| StakingError::Corrupt(e.to_string()))?,
            shares: dec("shares", &p.shares)?,
        })
    }
}

/// One pending return of tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbondingEntry {
    /// The height it began.
    pub creation_height: u64,
    /// When it completes.
    pub completion_time: BlockTime,
    /// The tokens it began with.
    pub initial_balance: u128,
    /// The tokens it will return (less slashes).
    pub balance: u128,
}

/// Tokens on their way back from a validator to a delegator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbonding {
    /// The delegator.
    pub delegator: Address,
    /// The validator's operator.
    pub validator: Address,
    /// The pending returns, oldest first.
    pub entries: Vec<UnbondingEntry>,
}

impl Unbonding {
    /// The SDK's record.
    pub fn to_proto(&self) -> sdk::UnbondingDelegation {
        sdk::UnbondingDelegation {
            delegator_address: self.delegator.to_bech32(),
            validator_address: self.validator.to_valoper(),
            entries: self
                .entries
                .iter()
                .map(|e| sdk::UnbondingDelegationEntry {
                    creation_height: i64::try_from(e.creation_height).unwrap_or(i64::MAX),
                    completion_time: Some(timestamp(e.completion_time)),
                    initial_balance: e.initial_balance.to_string(),
                    balance: e.balance.to_string(),
                    unbonding_id: 0,
                    unbonding_on_hold_ref_count: 0,
                })
                .collect(),
        }
    }

    /// Reads a stored record.
    pub fn from_proto(p: &sdk::UnbondingDelegation) -> Result<Self, StakingError> {
        Ok(Unbonding {
            delegator: p
                .delegator_address
                .parse()
                .map_err(|e: deai_types::AddressError| StakingError::Corrupt(e.to_string()))?,
            validator: crate::parse_valoper(&p.validator_address)
                .map_err(|e| StakingError::Corrupt(e.to_string()))?,
            entries: p
                .entries
                .iter()
                .map(|e| {
                    Ok(UnbondingEntry {
                        creation_height: u64::try_from(e.creation_height).unwrap_or(0),
                        completion_time: block_time(e.completion_time.as_ref()),
                        initial_balance: int("initial_balance", &e.initial_balance)?,
                        balance: int("balance", &e.balance)?,
                    })
                })
                .collect::<Result<_, StakingError>>()?,
        })
    }
}

/// One maturing move of stake from one validator to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedelegationEntry {
    /// The height it began.
    pub creation_height: u64,
    /// When it matures.
    pub completion_time: BlockTime,
    /// The tokens moved.
    pub initial_balance: u128,
    /// The shares they bought at the destination.
    pub shares_dst: Dec,
}

/// Stake moved from one validator to another, still maturing: it stays
/// answerable for the source's faults until then, and cannot move again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redelegation {
    /// The delegator.
    pub delegator: Address,
    /// The source validator.
    pub src: Address,
    /// The destination validator.
    pub dst: Address,
    /// The maturing moves, oldest first.
    pub entries: Vec<RedelegationEntry>,
}

impl Redelegation {
    /// The SDK's record.
    pub fn to_proto(&self) -> sdk::Redelegation {
        sdk::Redelegation {
            delegator_address: self.delegator.to_bech32(),
            validator_src_address: self.src.to_valoper(),
            validator_dst_address: self.dst.to_valoper(),
            entries: self
                .entries
                .iter()
                .map(|e| sdk::RedelegationEntry {
                    creation_height: i64::try_from(e.creation_height).unwrap_or(i64::MAX),
                    completion_time: Some(timestamp(e.completion_time)),
                    initial_balance: e.initial_balance.to_string(),
                    shares_dst: e.shares_dst.to_proto(),
                    unbonding_id: 0,
                    unbonding_on_hold_ref_count: 0,
                })
                .collect(),
        }
    }

    /// Reads a stored record.
    pub fn from_proto(p: &sdk::Redelegation) -> Result<Self, StakingError> {
        let val =
            |s: &str| crate::parse_valoper(s).map_err(|e| StakingError::Corrupt(e.to_string()));
        Ok(Redelegation {
            delegator: p
                .delegator_address
                .parse()
                .map_err(|e: deai_types::AddressError| StakingError::Corrupt(e.to_string()))?,
            src: val(&p.validator_src_address)?,
            dst: val(&p.validator_dst_address)?,
            entries: p
                .entries
                .iter()
                .map(|e| {
                    Ok(RedelegationEntry {
                        creation_height: u64::try_from(e.creation_height).unwrap_or(0),
                        completion_time: block_time(e.completion_time.as_ref()),
                        initial_balance: int("initial_balance", &e.initial_balance)?,
                        shares_dst: dec("shares_dst", &e.shares_dst)?,
                    })
                })
                .collect::<Result<_, StakingError>>()?,
        })
    }
}
