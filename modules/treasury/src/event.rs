//! Events the treasury module emits.

use deai_bank::event::coins_string;
use deai_types::{Address, Coin, Event};

/// `treasury_fund`: someone added funds.
pub fn fund(funder: &Address, amount: &[Coin]) -> Event {
    Event::new("treasury_fund")
        .attr("funder", funder.to_bech32())
        .attr("amount", coins_string(amount))
}

/// `treasury_spend`: the treasury paid `recipient`.
pub fn spend(recipient: &Address, amount: &[Coin], kind: &str, stream_id: u64) -> Event {
    Event::new("treasury_spend")
        .attr("recipient", recipient.to_bech32())
        .attr("amount", coins_string(amount))
        .attr("kind", kind)
        .attr("stream_id", stream_id.to_string())
}

/// `treasury_stream_created`.
pub fn stream_created(id: u64, recipient: &Address, per_block: &[Coin], payments: u64) -> Event {
    Event::new("treasury_stream_created")
        .attr("stream_id", id.to_string())
        .attr("recipient", recipient.to_bech32())
        .attr("amount_per_block", coins_string(per_block))
        .attr("payments", payments.to_string())
}

/// `treasury_stream_ended`: a stream completed or was cancelled.
pub fn stream_ended(id: u64, status: &str) -> Event {
    Event::new("treasury_stream_ended")
        .attr("stream_id", id.to_string())
        .attr("status", status)
}

/// `treasury_stream_waiting`: a stream could not pay this block.
pub fn stream_waiting(id: u64, reason: &str) -> Event {
    Event::new("treasury_stream_waiting")
        .attr("stream_id", id.to_string())
        .attr("reason", reason)
}

/// `treasury_params_updated`.
pub fn params_updated() -> Event {
    Event::new("treasury_params_updated")
}
