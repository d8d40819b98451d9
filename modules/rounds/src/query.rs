//! The rounds module's gRPC query methods, answered over ABCI `Query`.

use deai_proto::rounds::v1 as pb;
use deai_types::{
    query::{decode, Page},
    QueryError, StateRead,
};
use prost::Message;

use crate::{state_key, RoundsError, RoundsRead};

/// Longest lineage returned (older ancestors are left out).
pub const MAX_LINEAGE: usize = 1_000;

fn err(e: RoundsError) -> QueryError {
    QueryError::from_module(&e)
}

/// Answers `method` if it is one of the module's; `None` if not.
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/deai.rounds.v1.Query/Round" => (|| {
            let req: pb::QueryRoundRequest = decode(data)?;
            let round = state
                .round(req.round_id)
                .map_err(err)?
                .ok_or_else(|| QueryError::not_found(format!("round {}", req.round_id)))?;
            Ok(pb::QueryRoundResponse {
                contributors: state.contributors(round.id).map_err(err)?,
                round: Some(round),
            }
            .encode_to_vec())
        })(),
        "/deai.rounds.v1.Query/Rounds" => (|| {
            let req: pb::QueryRoundsRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let after = page.after_u64()?.map(state_key::round);
            let entries = state
                .prefix_raw(&state_key::rounds_prefix(), after.as_deref(), page.limit)
                .map_err(|e| err(e.into()))?;
            let last = entries.last().map(|(k, _)| {
                k.get(state_key::rounds_prefix().len()..)
                    .unwrap_or_default()
                    .to_vec()
            });
            let rounds = entries
                .iter()
                .map(|(_, v)| pb::Round::decode(v.as_slice()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(RoundsError::Corrupt(e.to_string())))?;
            Ok(pb::QueryRoundsResponse {
                pagination: Some(page.response(rounds.len(), last)),
                rounds,
            }
            .encode_to_vec())
        })(),
        "/deai.rounds.v1.Query/Lineage" => (|| {
            let req: pb::QueryLineageRequest = decode(data)?;
            let first = state
                .version(req.version)
                .map_err(err)?
                .ok_or_else(|| QueryError::not_found(format!("version {}", req.version)))?;
            let head = state
                .head(first.id, first.classes)
                .map_err(err)?
                .map(|h| crate::mask::encode_head(&h))
                .unwrap_or_default();
            let mut versions = vec![first];
            while let Some(parent) = versions.last().map(|v| v.parent).filter(|&p| p != 0) {
                if versions.len() >= MAX_LINEAGE {
                    break;
                }
                match state.version(parent).map_err(err)? {
                    Some(v) => versions.push(v),
                    None => break,
                }
            }
            Ok(pb::QueryLineageResponse { versions, head }.encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
