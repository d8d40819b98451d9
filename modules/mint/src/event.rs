//! Events the mint module emits: `mint` with the Cosmos SDK's x/mint
//! attributes, and ours for a skipped block. Each is a message of
//! `proto/deai/mint/v1/events.proto`.

use deai_proto::mint::v1 as pb;
use deai_types::Event;

use crate::minter::Provision;

/// `mint`: decimals as the SDK prints a `LegacyDec` (18 places).
pub fn mint(p: &Provision) -> Event {
    Event::typed(&pb::EventMint {
        bonded_ratio: p.bonded_ratio.to_string(),
        inflation: p.minter.inflation.to_string(),
        annual_provisions: p.minter.annual_provisions.to_string(),
        amount: p.amount.to_string(),
    })
}

/// `mint_skipped`: nothing minted because `reason` would overflow.
pub fn mint_skipped(reason: &str) -> Event {
    Event::typed(&pb::EventMintSkipped {
        reason: reason.to_string(),
    })
}
