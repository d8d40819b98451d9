//! The Cosmos SDK's `cosmos.mint.v1beta1.Query` service.
//!
//! `Inflation` and `AnnualProvisions` answer in `bytes` fields holding what
//! the SDK's gogoproto encoding writes for a `LegacyDec` there: the text of
//! its atomics (`b"130000000000000000"` is 0.13).

use cosmos_sdk_proto::cosmos::mint::v1beta1 as sdk;
use deai_types::{query::decode, QueryError, StateRead};
use prost::Message;

use crate::MintRead;

/// Answers `method` if it is one of `cosmos.mint.v1beta1.Query`'s.
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let name = method.strip_prefix("/cosmos.mint.v1beta1.Query/")?;
    let answer = match name {
        "Params" => (|| {
            let _: sdk::QueryParamsRequest = decode(data)?;
            Ok(sdk::QueryParamsResponse {
                params: Some(state.mint_params()?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "Inflation" => (|| {
            let _: sdk::QueryInflationRequest = decode(data)?;
            Ok(sdk::QueryInflationResponse {
                inflation: state.minter()?.inflation.to_proto().into_bytes(),
            }
            .encode_to_vec())
        })(),
        "AnnualProvisions" => (|| {
            let _: sdk::QueryAnnualProvisionsRequest = decode(data)?;
            Ok(sdk::QueryAnnualProvisionsResponse {
                annual_provisions: state.minter()?.annual_provisions.to_proto().into_bytes(),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
