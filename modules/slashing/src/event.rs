//! Events the slashing module emits, with the Cosmos SDK's kinds and
//! attributes. Each is a message of `proto/deai/slashing/v1/events.proto`.

use deai_proto::slashing::v1 as pb;
use deai_staking::ValoperAddress;
use deai_types::{Address, Event};

/// `slash`.
pub fn slash(cons: &[u8; 20], power: u64, reason: &str, taken: u128) -> Event {
    let address = crate::to_valcons(cons);
    Event::typed(&pb::EventSlash {
        address: address.clone(),
        power: power.to_string(),
        reason: reason.to_string(),
        jailed: address,
        burned_coins: crate::begin_block::coins(taken),
    })
}

/// `liveness`.
pub fn liveness(cons: &[u8; 20], missed: u64, height: u64) -> Event {
    Event::typed(&pb::EventLiveness {
        address: crate::to_valcons(cons),
        missed_blocks: missed.to_string(),
        height: height.to_string(),
    })
}

/// `unjail`.
pub fn unjail(op: &Address) -> Event {
    Event::typed(&pb::EventUnjail {
        validator: op.to_valoper(),
    })
}
