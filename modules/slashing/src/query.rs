//! The Cosmos SDK's `cosmos.slashing.v1beta1.Query` service.

use cosmos_sdk_proto::cosmos::{base::query::v1beta1::PageResponse, slashing::v1beta1 as sdk};
use deai_types::{
    query::{decode, Page},
    QueryError, StateRead,
};
use prost::Message;

use crate::{state::INFOS, SlashingRead};

/// Answers `method` if it is one of `cosmos.slashing.v1beta1.Query`'s.
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let name = method.strip_prefix("/cosmos.slashing.v1beta1.Query/")?;
    let answer = match name {
        "Params" => (|| {
            let _: sdk::QueryParamsRequest = decode(data)?;
            Ok(sdk::QueryParamsResponse {
                params: Some(state.slashing_params()?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "SigningInfo" => (|| {
            let req: sdk::QuerySigningInfoRequest = decode(data)?;
            let cons = crate::parse_valcons(&req.cons_address)
                .map_err(|e| QueryError::invalid(format!("cons_address: {e}")))?;
            let info = state.signing_info(&cons)?.ok_or_else(|| {
                QueryError::not_found(format!("signing info of {}", req.cons_address))
            })?;
            Ok(sdk::QuerySigningInfoResponse {
                val_signing_info: Some(info.to_proto(req.cons_address.clone())),
            }
            .encode_to_vec())
        })(),
        "SigningInfos" => (|| {
            let req: sdk::QuerySigningInfosRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            if page.after.as_ref().is_some_and(|a| !a.starts_with(INFOS)) {
                return Err(QueryError::invalid(
                    "pagination.key is not one this query handed out",
                ));
            }
            let entries = state
                .prefix_raw(INFOS, page.after.as_deref(), page.limit)
                .map_err(|e| QueryError::from_module(&crate::SlashingError::from(e)))?;
            let mut info = Vec::with_capacity(entries.len());
            for (k, v) in &entries {
                let cons: [u8; 20] = k[INFOS.len()..]
                    .try_into()
                    .map_err(|_| QueryError::invalid("malformed signing info key"))?;
                let mut p = sdk::ValidatorSigningInfo::decode(v.as_slice()).map_err(|e| {
                    QueryError::from_module(&crate::SlashingError::Corrupt(e.to_string()))
                })?;
                p.address = crate::to_valcons(&cons);
                if state.signing_info_is_stale(&cons)? {
                    // As `SigningInfo` answers it (`SigningInfo::reset_window`).
                    p.index_offset = 0;
                    p.missed_blocks_counter = 0;
                }
                info.push(p);
            }
            let pagination: PageResponse =
                page.response(entries.len(), entries.last().map(|(k, _)| k.clone()));
            Ok(sdk::QuerySigningInfosResponse {
                info,
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
