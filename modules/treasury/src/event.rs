//! Events the treasury module emits. Each is a message of
//! `proto/deai/treasury/v1/events.proto`, built here and turned into its
//! ABCI form by [`Event::typed`].

use deai_bank::event::coins_string;
use deai_proto::treasury::v1::{
    EventTreasuryFund, EventTreasuryParamsUpdated, EventTreasurySpend, EventTreasuryStreamCreated,
    EventTreasuryStreamEnded, EventTreasuryStreamWaiting,
};
use deai_types::{Address, Coin, Event};

/// `treasury_fund`: someone added funds.
pub fn fund(funder: &Address, amount: &[Coin]) -> Event {
    Event::typed(&EventTreasuryFund {
        funder: funder.to_bech32(),
        amount: coins_string(amount),
    })
}

/// `treasury_spend`: the treasury paid `recipient`.
pub fn spend(recipient: &Address, amount: &[Coin], kind: &str, stream_id: u64) -> Event {
    Event::typed(&EventTreasurySpend {
        recipient: recipient.to_bech32(),
        amount: coins_string(amount),
        kind: kind.to_owned(),
        stream_id: stream_id.to_string(),
    })
}

/// `treasury_stream_created`.
pub fn stream_created(id: u64, recipient: &Address, per_block: &[Coin], payments: u64) -> Event {
    Event::typed(&EventTreasuryStreamCreated {
        stream_id: id.to_string(),
        recipient: recipient.to_bech32(),
        amount_per_block: coins_string(per_block),
        payments: payments.to_string(),
    })
}

/// `treasury_stream_ended`: a stream completed or was cancelled.
pub fn stream_ended(id: u64, status: &str) -> Event {
    Event::typed(&EventTreasuryStreamEnded {
        stream_id: id.to_string(),
        status: status.to_owned(),
    })
}

/// `treasury_stream_waiting`: a stream could not pay this block.
pub fn stream_waiting(id: u64, reason: &str) -> Event {
    Event::typed(&EventTreasuryStreamWaiting {
        stream_id: id.to_string(),
        reason: reason.to_owned(),
    })
}

/// `treasury_params_updated`.
pub fn params_updated() -> Event {
    Event::typed(&EventTreasuryParamsUpdated {})
}
