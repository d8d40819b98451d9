//! Denomination metadata: how wallets show the chain's token. Only the
//! base denom has any; it is fixed by the chain, not kept in state.

use cosmos_sdk_proto::cosmos::bank::v1beta1::{DenomUnit, Metadata};
use deai_types::BASE_DENOM;

/// The denom wallets display amounts in: 1 deai = 10^6 udeai.
pub const DISPLAY_DENOM: &str = "deai";
/// Decimal places between [`DISPLAY_DENOM`] and the base denom.
pub const DISPLAY_EXPONENT: u32 = 6;

/// The metadata of the chain's base denom.
pub fn base_denom_metadata() -> Metadata {
    Metadata {
        description:
            "The native token of the DeAI chain: fees, deposits, votes and compute payments."
                .to_string(),
        denom_units: vec![
            DenomUnit {
                denom: BASE_DENOM.to_string(),
                exponent: 0,
                aliases: Vec::new(),
            },
            DenomUnit {
                denom: DISPLAY_DENOM.to_string(),
                exponent: DISPLAY_EXPONENT,
                aliases: Vec::new(),
            },
        ],
        base: BASE_DENOM.to_string(),
        display: DISPLAY_DENOM.to_string(),
        name: "DeAI".to_string(),
        symbol: "DEAI".to_string(),
        uri: String::new(),
        uri_hash: String::new(),
    }
}

/// The metadata of `denom` (a base denom), if the chain defines any.
pub fn metadata(denom: &str) -> Option<Metadata> {
    (denom == BASE_DENOM).then(base_denom_metadata)
}

/// Every denom with metadata, in base-denom order.
pub fn all_metadata() -> Vec<Metadata> {
    vec![base_denom_metadata()]
}
