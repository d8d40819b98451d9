//! The governance module's gRPC query methods, answered over ABCI `Query`.

use deai_proto::gov::v1 as pb;
use deai_types::{
    query::{address, decode, Page},
    Address, QueryError, StateRead,
};
use prost::Message;

use crate::{tally, GovError, GovRead};

/// Most proposals one filtered `Proposals` query reads, matching or not.
pub const MAX_PROPOSALS_SCANNED: usize = 10_000;

fn err(e: GovError) -> QueryError {
    QueryError::from_module(&e)
}

fn after_addr(page: &Page) -> Result<Option<Address>, QueryError> {
    page.after
        .as_deref()
        .map(|k| Address::from_slice(k).map_err(|_| QueryError::invalid("bad pagination.key")))
        .transpose()
}

fn proposal<S: StateRead>(state: &S, id: u64) -> Result<pb::Proposal, QueryError> {
    state
        .proposal(id)
        .map_err(err)?
        .ok_or_else(|| QueryError::not_found(format!("proposal {id}")))
}

/// Answers `method` if it is one of governance's; `None` if not. `history`
/// gives the committed state at a height, for live tallies.
pub fn query<S: StateRead, H: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
    history: &dyn Fn(u64) -> Result<H, GovError>,
    non_voting: &[Address],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/deai.gov.v1.Query/Params" => (|| {
            let _: pb::QueryParamsRequest = decode(data)?;
            Ok(pb::QueryParamsResponse {
                params: Some(state.gov_params().map_err(err)?.to_proto()),
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Proposal" => (|| {
            let req: pb::QueryProposalRequest = decode(data)?;
            Ok(pb::QueryProposalResponse {
                proposal: Some(proposal(state, req.proposal_id)?),
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Proposals" => (|| {
            let req: pb::QueryProposalsRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let mut after = page.after_u64()?;
            let mut out = Vec::new();
            let mut scanned = 0usize;
            // A status filter reads pages until this one is full, but never
            // more than MAX_PROPOSALS_SCANNED proposals: then the last id
            // read is handed out as `next_key`, so a rare status cannot make
            // one query walk every proposal ever made.
            let next_key = loop {
                if out.len() >= page.limit || scanned >= MAX_PROPOSALS_SCANNED {
                    break after
                        .map(|id| id.to_be_bytes().to_vec())
                        .unwrap_or_default();
                }
                let chunk = page
                    .limit
                    .min(MAX_PROPOSALS_SCANNED.saturating_sub(scanned));
                let batch = state.proposals(after, chunk).map_err(err)?;
                if batch.is_empty() {
                    break Vec::new();
                }
                for p in batch {
                    scanned = scanned.saturating_add(1);
                    after = Some(p.id);
                    if req.status == 0 || p.status == req.status {
                        out.push(p);
                        if out.len() >= page.limit {
                            break;
                        }
                    }
                }
            };
            let mut pagination = page.response(0, None);
            pagination.next_key = next_key;
            Ok(pb::QueryProposalsResponse {
                pagination: Some(pagination),
                proposals: out,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Votes" => (|| {
            let req: pb::QueryVotesRequest = decode(data)?;
            proposal(state, req.proposal_id)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let votes = state
                .votes(req.proposal_id, after_addr(&page)?.as_ref(), page.limit)
                .map_err(err)?;
            let last = match votes.last() {
                Some(v) => Some(address(&v.voter)?.as_bytes().to_vec()),
                None => None,
            };
            Ok(pb::QueryVotesResponse {
                pagination: Some(page.response(votes.len(), last)),
                votes,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Deposits" => (|| {
            let req: pb::QueryDepositsRequest = decode(data)?;
            proposal(state, req.proposal_id)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let deposits = state
                .deposits(req.proposal_id, after_addr(&page)?.as_ref(), page.limit)
                .map_err(err)?;
            let last = match deposits.last() {
                Some(d) => Some(address(&d.depositor)?.as_bytes().to_vec()),
                None => None,
            };
            Ok(pb::QueryDepositsResponse {
                pagination: Some(page.response(deposits.len(), last)),
                deposits,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Tally" => (|| {
            let req: pb::QueryTallyRequest = decode(data)?;
            let p = proposal(state, req.proposal_id)?;
            if let Some(t) = p.final_tally.clone() {
                return Ok(pb::QueryTallyResponse { tally: Some(t) }.encode_to_vec());
            }
            if p.voting_start_height == 0 {
                return Ok(pb::QueryTallyResponse {
                    tally: Some(tally::Tally::default().to_proto()),
                }
                .encode_to_vec());
            }
            let h = history(p.voting_start_height).map_err(err)?;
            let t = tally::tally(&h, state, &p, non_voting).map_err(err)?;
            Ok(pb::QueryTallyResponse {
                tally: Some(t.to_proto()),
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Delegation" => (|| {
            let req: pb::QueryDelegationRequest = decode(data)?;
            let delegator = address(&req.delegator)?;
            Ok(pb::QueryDelegationResponse {
                delegate: state
                    .delegate_of(&delegator)
                    .map_err(err)?
                    .map(|a| a.to_bech32())
                    .unwrap_or_default(),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
