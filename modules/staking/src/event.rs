//! Events the staking module emits, with the Cosmos SDK's kinds and
//! attributes. Each is a message of `proto/deai/staking/v1/events.proto`,
//! turned into its ABCI form by [`Event::typed`].

use deai_proto::staking::v1 as pb;
use deai_types::{module::BlockTime, Address, Event, BASE_DENOM};

use crate::{dec::Dec, ValoperAddress};

fn amount(tokens: u128) -> String {
    format!("{tokens}{BASE_DENOM}")
}

/// `t` in RFC 3339, as the SDK writes completion times.
pub fn rfc3339(t: BlockTime) -> String {
    tendermint::Time::from_unix_timestamp(t.seconds, t.nanos)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|_| format!("{}s", t.seconds))
}

/// `create_validator`.
pub fn create_validator(op: &Address, tokens: u128) -> Event {
    Event::typed(&pb::EventCreateValidator {
        validator: op.to_valoper(),
        amount: amount(tokens),
    })
}

/// `edit_validator`.
pub fn edit_validator(rate: Dec, min_self_delegation: u128) -> Event {
    Event::typed(&pb::EventEditValidator {
        commission_rate: rate.to_string(),
        min_self_delegation: min_self_delegation.to_string(),
    })
}

/// `delegate`.
pub fn delegate(op: &Address, delegator: &Address, tokens: u128, shares: Dec) -> Event {
    Event::typed(&pb::EventDelegate {
        validator: op.to_valoper(),
        delegator: delegator.to_bech32(),
        amount: amount(tokens),
        new_shares: shares.to_string(),
    })
}

/// `unbond`.
pub fn unbond(op: &Address, delegator: &Address, tokens: u128, completion: BlockTime) -> Event {
    Event::typed(&pb::EventUnbond {
        validator: op.to_valoper(),
        delegator: delegator.to_bech32(),
        amount: amount(tokens),
        completion_time: rfc3339(completion),
    })
}

/// `redelegate`.
pub fn redelegate(
    src: &Address,
    dst: &Address,
    delegator: &Address,
    tokens: u128,
    completion: BlockTime,
) -> Event {
    Event::typed(&pb::EventRedelegate {
        source_validator: src.to_valoper(),
        destination_validator: dst.to_valoper(),
        delegator: delegator.to_bech32(),
        amount: amount(tokens),
        completion_time: rfc3339(completion),
    })
}

/// `cancel_unbonding_delegation`.
pub fn cancel_unbonding(op: &Address, delegator: &Address, tokens: u128, height: u64) -> Event {
    Event::typed(&pb::EventCancelUnbondingDelegation {
        validator: op.to_valoper(),
        delegator: delegator.to_bech32(),
        amount: amount(tokens),
        creation_height: height.to_string(),
    })
}

/// `complete_unbonding`.
pub fn complete_unbonding(op: &Address, delegator: &Address, tokens: u128) -> Event {
    Event::typed(&pb::EventCompleteUnbonding {
        amount: amount(tokens),
        validator: op.to_valoper(),
        delegator: delegator.to_bech32(),
    })
}

/// `complete_redelegation`.
pub fn complete_redelegation(
    src: &Address,
    dst: &Address,
    delegator: &Address,
    tokens: u128,
) -> Event {
    Event::typed(&pb::EventCompleteRedelegation {
        amount: amount(tokens),
        source_validator: src.to_valoper(),
        destination_validator: dst.to_valoper(),
        delegator: delegator.to_bech32(),
    })
}

/// `validator_set_updated`.
pub fn validator_set_updated(op: &Address, power: u64) -> Event {
    Event::typed(&pb::EventValidatorSetUpdated {
        validator: op.to_valoper(),
        power: power.to_string(),
    })
}
