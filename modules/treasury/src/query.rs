//! The treasury's gRPC query methods, answered over ABCI `Query`.

use deai_proto::treasury::v1 as pb;
use deai_types::{
    query::{decode, Page},
    QueryError, StateRead,
};
use prost::Message;

use crate::{params::to_proto_coin, TreasuryError, TreasuryRead};

/// Most streams one filtered `Streams` query reads, matching or not.
pub const MAX_STREAMS_SCANNED: usize = 10_000;

fn err(e: TreasuryError) -> QueryError {
    QueryError::from_module(&e)
}

/// Answers `method` if it is one of the treasury's; `None` if not. `height`
/// is the height the state is read at (for the epoch's spending).
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
    height: u64,
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/deai.treasury.v1.Query/Params" => (|| {
            let _: pb::QueryParamsRequest = decode(data)?;
            Ok(pb::QueryParamsResponse {
                params: Some(state.treasury_params().map_err(err)?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "/deai.treasury.v1.Query/Balance" => (|| {
            let _: pb::QueryBalanceRequest = decode(data)?;
            let addr = crate::address();
            let balance = deai_bank::BankRead::balances(state, &addr, None, usize::MAX)
                .map_err(|e| QueryError::from_module(&e))?;
            Ok(pb::QueryBalanceResponse {
                address: addr.to_bech32(),
                balance: balance.iter().map(to_proto_coin).collect(),
                spent_this_epoch: state
                    .spent_in_epoch(height)
                    .map_err(err)?
                    .iter()
                    .map(to_proto_coin)
                    .collect(),
            }
            .encode_to_vec())
        })(),
        "/deai.treasury.v1.Query/Streams" => (|| {
            let req: pb::QueryStreamsRequest = decode(data)?;
            if ![
                "",
                crate::state::ACTIVE,
                crate::state::COMPLETED,
                crate::state::CANCELLED,
            ]
            .contains(&req.status.as_str())
            {
                return Err(QueryError::invalid(format!(
                    "status {:?} is not ACTIVE, COMPLETED or CANCELLED",
                    req.status
                )));
            }
            let page = Page::from_request(req.pagination.as_ref())?;
            let mut after = page.after_u64()?;
            let mut out = Vec::new();
            let mut scanned = 0usize;
            // Filtering by status reads pages until this one is full, but
            // never more than MAX_STREAMS_SCANNED streams: then the last id
            // read is handed out as `next_key` to resume from.
            let next_key = loop {
                if out.len() >= page.limit || scanned >= MAX_STREAMS_SCANNED {
                    break after
                        .map(|id| id.to_be_bytes().to_vec())
                        .unwrap_or_default();
                }
                let chunk = page.limit.min(MAX_STREAMS_SCANNED.saturating_sub(scanned));
                let batch = state.streams(after, chunk).map_err(err)?;
                if batch.is_empty() {
                    break Vec::new();
                }
                for s in batch {
                    scanned = scanned.saturating_add(1);
                    after = Some(s.id);
                    if req.status.is_empty() || s.status == req.status {
                        out.push(s);
                        if out.len() >= page.limit {
                            break;
                        }
                    }
                }
            };
            let mut pagination = page.response(0, None);
            pagination.next_key = next_key;
            Ok(pb::QueryStreamsResponse {
                pagination: Some(pagination),
                streams: out,
            }
            .encode_to_vec())
        })(),
        "/deai.treasury.v1.Query/Spends" => (|| {
            let req: pb::QuerySpendsRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let spends = state.spends(page.after_u64()?, page.limit).map_err(err)?;
            let last = spends.last().map(|s| s.seq.to_be_bytes().to_vec());
            Ok(pb::QuerySpendsResponse {
                pagination: Some(page.response(spends.len(), last)),
                spends,
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
