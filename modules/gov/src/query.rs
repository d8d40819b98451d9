//! The governance module's gRPC query methods, answered over ABCI `Query`:
//! our own `deai.gov.v1.Query`, which shows proposals as we keep them
//! (heights, all statuses, total voting power), and the Cosmos SDK's
//! `cosmos.gov.v1.Query` for wallets and explorers, mapped by [`crate::sdk`].

use cosmos_sdk_proto::cosmos::{
    base::query::v1beta1::{PageRequest, PageResponse},
    gov::v1 as sdk,
};
use deai_proto::gov::v1 as pb;
use deai_types::{
    query::{address, decode, Page},
    Address, NonVoting, QueryError, StateRead,
};
use prost::Message;

use crate::{sdk as sdk_map, tally, GovError, GovRead};

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

/// A proposal id from an SDK request: 0 is never an id (the SDK refuses it too).
fn sdk_id(id: u64) -> Result<u64, QueryError> {
    if id == 0 {
        return Err(QueryError::invalid("proposal id can not be 0"));
    }
    Ok(id)
}

fn named_address(field: &str, s: &str) -> Result<Address, QueryError> {
    if s.is_empty() {
        return Err(QueryError::invalid(format!("{field} address is empty")));
    }
    s.parse()
        .map_err(|e| QueryError::invalid(format!("{field}: {e}")))
}

fn optional_address(field: &str, s: &str) -> Result<Option<Address>, QueryError> {
    (!s.is_empty()).then(|| named_address(field, s)).transpose()
}

/// Proposals in id order from `page` that `keep` accepts. A filter reads
/// pages until this one is full, but never more than
/// [`MAX_PROPOSALS_SCANNED`] proposals: then the last id read is handed out
/// as the next key, so a rare match cannot make one query walk every
/// proposal ever made. Returns the proposals and the next key.
fn scan_proposals<S: StateRead>(
    state: &S,
    page: &Page,
    mut keep: impl FnMut(&pb::Proposal) -> Result<bool, QueryError>,
) -> Result<(Vec<pb::Proposal>, Vec<u8>), QueryError> {
    let mut after = page.after_u64()?;
    let mut out = Vec::new();
    let mut scanned = 0usize;
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
            if keep(&p)? {
                out.push(p);
                if out.len() >= page.limit {
                    break;
                }
            }
        }
    };
    Ok((out, next_key))
}

/// A page of the votes on proposal `id`, which must exist.
fn votes<S: StateRead>(
    state: &S,
    id: u64,
    page: Option<&PageRequest>,
) -> Result<(Vec<pb::Vote>, PageResponse), QueryError> {
    proposal(state, id)?;
    let page = Page::from_request(page)?;
    let votes = state
        .votes(id, after_addr(&page)?.as_ref(), page.limit)
        .map_err(err)?;
    let last = match votes.last() {
        Some(v) => Some(address(&v.voter)?.as_bytes().to_vec()),
        None => None,
    };
    let pagination = page.response(votes.len(), last);
    Ok((votes, pagination))
}

/// A page of the deposits on proposal `id`, which must exist.
fn deposits<S: StateRead>(
    state: &S,
    id: u64,
    page: Option<&PageRequest>,
) -> Result<(Vec<pb::Deposit>, PageResponse), QueryError> {
    proposal(state, id)?;
    let page = Page::from_request(page)?;
    let deposits = state
        .deposits(id, after_addr(&page)?.as_ref(), page.limit)
        .map_err(err)?;
    let last = match deposits.last() {
        Some(d) => Some(address(&d.depositor)?.as_bytes().to_vec()),
        None => None,
    };
    let pagination = page.response(deposits.len(), last);
    Ok((deposits, pagination))
}

/// The final tally once voting ended, the running count during voting
/// (power read where voting began), zero before it.
fn tally_of<S: StateRead, H: StateRead>(
    state: &S,
    p: &pb::Proposal,
    history: &dyn Fn(u64) -> Result<H, GovError>,
    non_voting: &NonVoting,
) -> Result<pb::TallyResult, QueryError> {
    if let Some(t) = p.final_tally.clone() {
        return Ok(t);
    }
    if p.voting_start_height == 0 {
        return Ok(tally::Tally::default().to_proto());
    }
    let h = history(p.voting_start_height).map_err(err)?;
    Ok(tally::tally(&h, state, p, non_voting)
        .map_err(err)?
        .to_proto())
}

/// Answers `method` if it is one of governance's; `None` if not. `history`
/// gives the committed state at a height, for live tallies.
pub fn query<S: StateRead, H: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
    history: &dyn Fn(u64) -> Result<H, GovError>,
    non_voting: &NonVoting,
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
            let (proposals, next_key) = scan_proposals(state, &page, |p| {
                Ok(req.status == 0 || p.status == req.status)
            })?;
            let mut pagination = page.response(0, None);
            pagination.next_key = next_key;
            Ok(pb::QueryProposalsResponse {
                pagination: Some(pagination),
                proposals,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Votes" => (|| {
            let req: pb::QueryVotesRequest = decode(data)?;
            let (votes, pagination) = votes(state, req.proposal_id, req.pagination.as_ref())?;
            Ok(pb::QueryVotesResponse {
                pagination: Some(pagination),
                votes,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Deposits" => (|| {
            let req: pb::QueryDepositsRequest = decode(data)?;
            let (deposits, pagination) = deposits(state, req.proposal_id, req.pagination.as_ref())?;
            Ok(pb::QueryDepositsResponse {
                pagination: Some(pagination),
                deposits,
            }
            .encode_to_vec())
        })(),
        "/deai.gov.v1.Query/Tally" => (|| {
            let req: pb::QueryTallyRequest = decode(data)?;
            let p = proposal(state, req.proposal_id)?;
            Ok(pb::QueryTallyResponse {
                tally: Some(tally_of(state, &p, history, non_voting)?),
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
        "/cosmos.gov.v1.Query/Proposal" => (|| {
            let req: sdk::QueryProposalRequest = decode(data)?;
            Ok(sdk::QueryProposalResponse {
                proposal: Some(sdk_map::proposal(proposal(
                    state,
                    sdk_id(req.proposal_id)?,
                )?)),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/Proposals" => (|| {
            let req: sdk::QueryProposalsRequest = decode(data)?;
            let page = Page::from_request(req.pagination.as_ref())?;
            let want = match req.proposal_status {
                0 => None,
                s => Some(sdk::ProposalStatus::try_from(s).map_err(|_| {
                    QueryError::invalid(format!("proposal_status {s} is not a proposal status"))
                })?),
            };
            let voter = optional_address("voter", &req.voter)?;
            let depositor = optional_address("depositor", &req.depositor)?;
            let (proposals, next_key) = scan_proposals(state, &page, |p| {
                if want.is_some_and(|w| sdk_map::status(p.status()) != w) {
                    return Ok(false);
                }
                if let Some(v) = &voter {
                    if state.vote(p.id, v).map_err(err)?.is_none() {
                        return Ok(false);
                    }
                }
                if let Some(d) = &depositor {
                    if state.deposit(p.id, d).map_err(err)?.is_none() {
                        return Ok(false);
                    }
                }
                Ok(true)
            })?;
            let mut pagination = page.response(0, None);
            pagination.next_key = next_key;
            Ok(sdk::QueryProposalsResponse {
                proposals: proposals.into_iter().map(sdk_map::proposal).collect(),
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/Vote" => (|| {
            let req: sdk::QueryVoteRequest = decode(data)?;
            let id = sdk_id(req.proposal_id)?;
            let voter = named_address("voter", &req.voter)?;
            proposal(state, id)?;
            let vote = state.vote(id, &voter).map_err(err)?.ok_or_else(|| {
                QueryError::not_found(format!("vote by {voter} on proposal {id}"))
            })?;
            Ok(sdk::QueryVoteResponse {
                vote: Some(sdk_map::vote(vote)),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/Votes" => (|| {
            let req: sdk::QueryVotesRequest = decode(data)?;
            let (votes, pagination) =
                votes(state, sdk_id(req.proposal_id)?, req.pagination.as_ref())?;
            Ok(sdk::QueryVotesResponse {
                votes: votes.into_iter().map(sdk_map::vote).collect(),
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/Deposit" => (|| {
            let req: sdk::QueryDepositRequest = decode(data)?;
            let id = sdk_id(req.proposal_id)?;
            let depositor = named_address("depositor", &req.depositor)?;
            proposal(state, id)?;
            let deposit = state.deposit(id, &depositor).map_err(err)?.ok_or_else(|| {
                QueryError::not_found(format!("deposit by {depositor} on proposal {id}"))
            })?;
            Ok(sdk::QueryDepositResponse {
                deposit: Some(sdk_map::deposit(deposit)),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/Deposits" => (|| {
            let req: sdk::QueryDepositsRequest = decode(data)?;
            let (deposits, pagination) =
                deposits(state, sdk_id(req.proposal_id)?, req.pagination.as_ref())?;
            Ok(sdk::QueryDepositsResponse {
                deposits: deposits.into_iter().map(sdk_map::deposit).collect(),
                pagination: Some(pagination),
            }
            .encode_to_vec())
        })(),
        "/cosmos.gov.v1.Query/TallyResult" => (|| {
            let req: sdk::QueryTallyResultRequest = decode(data)?;
            let p = proposal(state, sdk_id(req.proposal_id)?)?;
            Ok(sdk::QueryTallyResultResponse {
                tally: Some(sdk_map::tally(&tally_of(state, &p, history, non_voting)?)),
            }
            .encode_to_vec())
        })(),
        // `params_type` is ignored, as the SDK's v1 does: every field is filled.
        "/cosmos.gov.v1.Query/Params" => (|| {
            let _: sdk::QueryParamsRequest = decode(data)?;
            let params = state.gov_params().map_err(err)?;
            Ok(sdk_map::params_response(&params).encode_to_vec())
        })(),
        // Governance here has no constitution.
        "/cosmos.gov.v1.Query/Constitution" => (|| {
            let _: sdk::QueryConstitutionRequest = decode(data)?;
            Ok(sdk::QueryConstitutionResponse {
                constitution: String::new(),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}

#[cfg(test)]
mod tests {
    use cosmos_sdk_proto::{cosmos::base::v1beta1::Coin as ProtoCoin, Any};
    use deai_bank::BankWrite;
    use deai_types::{query::MAX_PAGE, Coin, MemState, BASE_DENOM};

    use super::*;
    use crate::{GovParams, GovWrite};

    fn member(i: u8) -> Address {
        Address([i; 20])
    }

    fn udeai(n: u128) -> Vec<ProtoCoin> {
        vec![ProtoCoin {
            denom: BASE_DENOM.into(),
            amount: n.to_string(),
        }]
    }

    /// Asks `method` with `history` as every past height's state.
    fn ask_at(
        state: &MemState,
        history: &MemState,
        method: &str,
        req: impl Message,
    ) -> Result<Vec<u8>, QueryError> {
        let history = |_h: u64| -> Result<MemState, GovError> { Ok(history.clone()) };
        query(
            state,
            method,
            &req.encode_to_vec(),
            &history,
            &NonVoting::default(),
        )
        .expect("gov answers this path")
    }

    fn ask(state: &MemState, method: &str, req: impl Message) -> Result<Vec<u8>, QueryError> {
        ask_at(state, &MemState::default(), method, req)
    }

    fn ok<R: Message + Default>(state: &MemState, method: &str, req: impl Message) -> R {
        R::decode(ask(state, method, req).unwrap().as_slice()).unwrap()
    }

    fn put(state: &mut MemState, id: u64, status: pb::ProposalStatus) -> pb::Proposal {
        let p = pb::Proposal {
            id,
            proposer: member(1).to_bech32(),
            title: format!("proposal {id}"),
            summary: "a summary".into(),
            metadata: "ipfs://meta".into(),
            messages: vec![Any {
                type_url: "/deai.treasury.v1.MsgSpend".into(),
                value: vec![1, 2, 3],
            }],
            status: status as i32,
            submit_height: 10,
            deposit_end_height: 20,
            voting_start_height: if status == pb::ProposalStatus::DepositPeriod {
                0
            } else {
                15
            },
            voting_end_height: 25,
            total_deposit: udeai(100),
            ..pb::Proposal::default()
        };
        state.put_proposal(&p).unwrap();
        p
    }

    fn vote(state: &mut MemState, id: u64, voter: u8, options: &[(pb::VoteOption, u64)]) {
        state
            .put_vote(
                &pb::Vote {
                    proposal_id: id,
                    voter: member(voter).to_bech32(),
                    options: options
                        .iter()
                        .map(|(o, w)| pb::WeightedOption {
                            option: *o as i32,
                            weight: *w,
                        })
                        .collect(),
                    metadata: String::new(),
                },
                &member(voter),
            )
            .unwrap();
    }

    fn deposit(state: &mut MemState, id: u64, depositor: u8, amount: u128) {
        state
            .put_deposit(
                &pb::Deposit {
                    proposal_id: id,
                    depositor: member(depositor).to_bech32(),
                    amount: udeai(amount),
                },
                &member(depositor),
            )
            .unwrap();
    }

    fn page(key: Vec<u8>, limit: u64) -> Option<PageRequest> {
        Some(PageRequest {
            key,
            limit,
            ..PageRequest::default()
        })
    }

    const ONE: u64 = tally::WEIGHT_ONE;

    #[test]
    fn a_proposal_reads_as_the_sdks_with_its_messages_deposit_and_tally_and_no_times() {
        let mut s = MemState::default();
        let mut p = put(&mut s, 1, pb::ProposalStatus::Vetoed);
        p.final_tally = Some(pb::TallyResult {
            yes: "1".into(),
            abstain: "2".into(),
            no: "3".into(),
            no_with_veto: "40".into(),
            total_power: "100".into(),
        });
        s.put_proposal(&p).unwrap();
        put(&mut s, 2, pb::ProposalStatus::VotingPeriod);

        let r: sdk::QueryProposalResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Proposal",
            sdk::QueryProposalRequest { proposal_id: 1 },
        );
        let got = r.proposal.unwrap();
        assert_eq!(got.id, 1);
        assert_eq!(got.status, sdk::ProposalStatus::Rejected as i32);
        assert_eq!(got.failed_reason, "vetoed: deposits burned");
        assert_eq!(got.messages, p.messages);
        assert_eq!(got.messages[0].type_url, "/deai.treasury.v1.MsgSpend");
        assert_eq!(got.total_deposit, udeai(100));
        assert_eq!(
            (
                got.title.as_str(),
                got.summary.as_str(),
                got.metadata.as_str()
            ),
            ("proposal 1", "a summary", "ipfs://meta")
        );
        assert_eq!(got.proposer, member(1).to_bech32());
        assert_eq!(
            got.final_tally_result.unwrap(),
            sdk::TallyResult {
                yes_count: "1".into(),
                abstain_count: "2".into(),
                no_count: "3".into(),
                no_with_veto_count: "40".into(),
            }
        );
        assert!(got.submit_time.is_none() && got.deposit_end_time.is_none());
        assert!(got.voting_start_time.is_none() && got.voting_end_time.is_none());

        let voting: sdk::QueryProposalResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Proposal",
            sdk::QueryProposalRequest { proposal_id: 2 },
        );
        let voting = voting.proposal.unwrap();
        assert_eq!(voting.status, sdk::ProposalStatus::VotingPeriod as i32);
        assert_eq!(voting.failed_reason, "");
        assert_eq!(voting.final_tally_result.unwrap().yes_count, "0");

        // Our own path still shows the proposal as stored.
        let ours: pb::QueryProposalResponse = ok(
            &s,
            "/deai.gov.v1.Query/Proposal",
            pb::QueryProposalRequest { proposal_id: 1 },
        );
        assert_eq!(ours.proposal.unwrap(), p);
    }

    #[test]
    fn proposals_filter_by_status_voter_and_depositor() {
        use pb::ProposalStatus as P;
        let mut s = MemState::default();
        for (id, status) in [
            (1, P::Passed),
            (2, P::Vetoed),
            (3, P::VotingPeriod),
            (4, P::Cancelled),
            (5, P::Rejected),
            (6, P::DepositPeriod),
        ] {
            put(&mut s, id, status);
        }
        vote(&mut s, 3, 7, &[(pb::VoteOption::Yes, ONE)]);
        vote(&mut s, 5, 7, &[(pb::VoteOption::No, ONE)]);
        vote(&mut s, 1, 8, &[(pb::VoteOption::No, ONE)]);
        deposit(&mut s, 2, 9, 50);
        deposit(&mut s, 6, 9, 50);
        let ids = |req: sdk::QueryProposalsRequest| -> Vec<u64> {
            let r: sdk::QueryProposalsResponse = ok(&s, "/cosmos.gov.v1.Query/Proposals", req);
            r.proposals.iter().map(|p| p.id).collect()
        };
        let rejected = sdk::QueryProposalsRequest {
            proposal_status: sdk::ProposalStatus::Rejected as i32,
            ..Default::default()
        };
        assert_eq!(ids(rejected.clone()), vec![2, 4, 5]);
        let by_voter = sdk::QueryProposalsRequest {
            voter: member(7).to_bech32(),
            ..Default::default()
        };
        assert_eq!(ids(by_voter.clone()), vec![3, 5]);
        assert_eq!(
            ids(sdk::QueryProposalsRequest {
                voter: member(7).to_bech32(),
                ..rejected.clone()
            }),
            vec![5]
        );
        assert_eq!(
            ids(sdk::QueryProposalsRequest {
                depositor: member(9).to_bech32(),
                ..Default::default()
            }),
            vec![2, 6]
        );
        assert_eq!(ids(sdk::QueryProposalsRequest::default()).len(), 6);

        for bad in [
            sdk::QueryProposalsRequest {
                voter: "deai1bad".into(),
                ..Default::default()
            },
            sdk::QueryProposalsRequest {
                depositor: "cosmos1bad".into(),
                ..Default::default()
            },
            sdk::QueryProposalsRequest {
                proposal_status: 9,
                ..Default::default()
            },
        ] {
            let e = ask(&s, "/cosmos.gov.v1.Query/Proposals", bad).unwrap_err();
            assert_eq!(e.code, 18, "{}", e.log);
        }
    }

    #[test]
    fn proposals_page_across_pages_and_a_huge_limit_is_capped() {
        let mut s = MemState::default();
        let total = MAX_PAGE as u64 + 5;
        for id in 1..=total {
            put(&mut s, id, pb::ProposalStatus::Passed);
        }
        let ask_page = |key: Vec<u8>, limit: u64| -> sdk::QueryProposalsResponse {
            ok(
                &s,
                "/cosmos.gov.v1.Query/Proposals",
                sdk::QueryProposalsRequest {
                    pagination: page(key, limit),
                    ..Default::default()
                },
            )
        };
        let first = ask_page(Vec::new(), 2);
        assert_eq!(
            first.proposals.iter().map(|p| p.id).collect::<Vec<_>>(),
            [1, 2]
        );
        let next = first.pagination.unwrap().next_key;
        let second = ask_page(next, 2);
        assert_eq!(
            second.proposals.iter().map(|p| p.id).collect::<Vec<_>>(),
            [3, 4]
        );
        let capped = ask_page(Vec::new(), u64::MAX);
        assert_eq!(capped.proposals.len(), MAX_PAGE);
        let rest = ask_page(capped.pagination.unwrap().next_key, u64::MAX);
        assert_eq!(rest.proposals.len(), 5);
        assert!(rest.pagination.unwrap().next_key.is_empty());
        let e = ask(
            &s,
            "/cosmos.gov.v1.Query/Proposals",
            sdk::QueryProposalsRequest {
                pagination: page(vec![1, 2, 3], 2),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.code, 18);
    }

    #[test]
    fn votes_show_options_and_weights_as_sdk_decimals_and_page() {
        let mut s = MemState::default();
        put(&mut s, 1, pb::ProposalStatus::VotingPeriod);
        vote(
            &mut s,
            1,
            3,
            &[
                (pb::VoteOption::Yes, ONE / 4),
                (pb::VoteOption::NoWithVeto, ONE / 4 * 3),
            ],
        );
        vote(&mut s, 1, 5, &[(pb::VoteOption::Abstain, ONE)]);
        vote(&mut s, 1, 6, &[(pb::VoteOption::No, ONE)]);

        let one: sdk::QueryVoteResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Vote",
            sdk::QueryVoteRequest {
                proposal_id: 1,
                voter: member(3).to_bech32(),
            },
        );
        assert_eq!(
            one.vote.unwrap(),
            sdk::Vote {
                proposal_id: 1,
                voter: member(3).to_bech32(),
                options: vec![
                    sdk::WeightedVoteOption {
                        option: sdk::VoteOption::Yes as i32,
                        weight: "0.250000000000000000".into(),
                    },
                    sdk::WeightedVoteOption {
                        option: sdk::VoteOption::NoWithVeto as i32,
                        weight: "0.750000000000000000".into(),
                    },
                ],
                metadata: String::new(),
            }
        );

        let votes = |key: Vec<u8>, limit: u64| -> sdk::QueryVotesResponse {
            ok(
                &s,
                "/cosmos.gov.v1.Query/Votes",
                sdk::QueryVotesRequest {
                    proposal_id: 1,
                    pagination: page(key, limit),
                },
            )
        };
        let first = votes(Vec::new(), 2);
        assert_eq!(first.votes.len(), 2);
        assert_eq!(
            first.votes[1].options[0].option,
            sdk::VoteOption::Abstain as i32
        );
        assert_eq!(first.votes[1].options[0].weight, "1.000000000000000000");
        let next = first.pagination.unwrap().next_key;
        assert_eq!(next, member(5).as_bytes().to_vec());
        let second = votes(next, 2);
        assert_eq!(second.votes.len(), 1);
        assert_eq!(second.votes[0].voter, member(6).to_bech32());
        assert!(second.pagination.unwrap().next_key.is_empty());

        // A huge limit is capped.
        let mut many = MemState::default();
        put(&mut many, 1, pb::ProposalStatus::VotingPeriod);
        for i in 0..(MAX_PAGE as u32 + 3) {
            let mut b = [0u8; 20];
            b[..4].copy_from_slice(&i.to_be_bytes());
            many.put_vote(
                &pb::Vote {
                    proposal_id: 1,
                    voter: Address(b).to_bech32(),
                    options: vec![pb::WeightedOption {
                        option: pb::VoteOption::Yes as i32,
                        weight: ONE,
                    }],
                    metadata: String::new(),
                },
                &Address(b),
            )
            .unwrap();
        }
        let capped: sdk::QueryVotesResponse = ok(
            &many,
            "/cosmos.gov.v1.Query/Votes",
            sdk::QueryVotesRequest {
                proposal_id: 1,
                pagination: page(Vec::new(), u64::MAX),
            },
        );
        assert_eq!(capped.votes.len(), MAX_PAGE);
        assert!(!capped.pagination.unwrap().next_key.is_empty());
    }

    #[test]
    fn deposits_read_one_by_one_and_page() {
        let mut s = MemState::default();
        put(&mut s, 1, pb::ProposalStatus::DepositPeriod);
        deposit(&mut s, 1, 2, 30);
        deposit(&mut s, 1, 4, 70);
        deposit(&mut s, 1, 6, 5);
        let one: sdk::QueryDepositResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Deposit",
            sdk::QueryDepositRequest {
                proposal_id: 1,
                depositor: member(4).to_bech32(),
            },
        );
        assert_eq!(
            one.deposit.unwrap(),
            sdk::Deposit {
                proposal_id: 1,
                depositor: member(4).to_bech32(),
                amount: udeai(70),
            }
        );
        let deposits = |key: Vec<u8>, limit: u64| -> sdk::QueryDepositsResponse {
            ok(
                &s,
                "/cosmos.gov.v1.Query/Deposits",
                sdk::QueryDepositsRequest {
                    proposal_id: 1,
                    pagination: page(key, limit),
                },
            )
        };
        let first = deposits(Vec::new(), 2);
        assert_eq!(
            first
                .deposits
                .iter()
                .map(|d| d.amount[0].amount.as_str())
                .collect::<Vec<_>>(),
            ["30", "70"]
        );
        let second = deposits(first.pagination.unwrap().next_key, 2);
        assert_eq!(second.deposits.len(), 1);
        assert_eq!(second.deposits[0].depositor, member(6).to_bech32());
        assert_eq!(deposits(Vec::new(), u64::MAX).deposits.len(), 3);

        let none = ask(
            &s,
            "/cosmos.gov.v1.Query/Deposit",
            sdk::QueryDepositRequest {
                proposal_id: 1,
                depositor: member(9).to_bech32(),
            },
        )
        .unwrap_err();
        assert_eq!(none.code, 22);
        assert!(none.log.contains("deposit by"), "{}", none.log);
    }

    #[test]
    fn the_tally_is_final_once_set_and_counted_live_during_voting() {
        let mut s = MemState::default();
        // Power is read from the state where voting began.
        let mut history = MemState::default();
        history
            .mint(&member(3), &[Coin::new(600, BASE_DENOM)])
            .unwrap();
        history
            .mint(&member(5), &[Coin::new(400, BASE_DENOM)])
            .unwrap();
        put(&mut s, 1, pb::ProposalStatus::VotingPeriod);
        vote(&mut s, 1, 3, &[(pb::VoteOption::Yes, ONE)]);
        vote(
            &mut s,
            1,
            5,
            &[
                (pb::VoteOption::No, ONE / 2),
                (pb::VoteOption::Abstain, ONE / 2),
            ],
        );
        let live = ask_at(
            &s,
            &history,
            "/cosmos.gov.v1.Query/TallyResult",
            sdk::QueryTallyResultRequest { proposal_id: 1 },
        )
        .unwrap();
        assert_eq!(
            sdk::QueryTallyResultResponse::decode(live.as_slice())
                .unwrap()
                .tally
                .unwrap(),
            sdk::TallyResult {
                yes_count: "600".into(),
                abstain_count: "200".into(),
                no_count: "200".into(),
                no_with_veto_count: "0".into(),
            }
        );

        let mut done = put(&mut s, 2, pb::ProposalStatus::Passed);
        done.final_tally = Some(pb::TallyResult {
            yes: "9".into(),
            abstain: "0".into(),
            no: "1".into(),
            no_with_veto: "0".into(),
            total_power: "10".into(),
        });
        s.put_proposal(&done).unwrap();
        let r: sdk::QueryTallyResultResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/TallyResult",
            sdk::QueryTallyResultRequest { proposal_id: 2 },
        );
        assert_eq!(r.tally.unwrap().yes_count, "9");

        put(&mut s, 3, pb::ProposalStatus::DepositPeriod);
        let r: sdk::QueryTallyResultResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/TallyResult",
            sdk::QueryTallyResultRequest { proposal_id: 3 },
        );
        assert_eq!(r.tally.unwrap().no_count, "0");
    }

    #[test]
    #[allow(deprecated)] // the response's per-topic params are deprecated but served
    fn params_read_as_sdk_decimals_and_coins_with_the_deprecated_views_filled() {
        let mut s = MemState::default();
        s.put_gov_params(&GovParams {
            quorum_ppm: 400_000,
            threshold_ppm: 510_000,
            veto_threshold_ppm: 334_000,
            expedited_threshold_ppm: 667_000,
            min_initial_deposit_ppm: 250_000,
            cancel_burn_ppm: 1,
            min_deposit: vec![Coin::new(123, BASE_DENOM)],
            ..GovParams::default()
        })
        .unwrap();
        let r: sdk::QueryParamsResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Params",
            sdk::QueryParamsRequest {
                params_type: "tallying".into(),
            },
        );
        let p = r.params.unwrap();
        assert_eq!(p.quorum, "0.400000000000000000");
        assert_eq!(p.threshold, "0.510000000000000000");
        assert_eq!(p.veto_threshold, "0.334000000000000000");
        assert_eq!(p.expedited_threshold, "0.667000000000000000");
        assert_eq!(p.min_initial_deposit_ratio, "0.250000000000000000");
        assert_eq!(p.proposal_cancel_ratio, "0.000001000000000000");
        assert_eq!(p.min_deposit, udeai(123));
        assert_eq!(p.expedited_min_deposit, udeai(50_000_000));
        assert!(p.voting_period.is_none() && p.max_deposit_period.is_none());
        assert!((p.burn_vote_veto, p.burn_proposal_deposit_prevote) == (true, true));
        assert!(!p.burn_vote_quorum);
        assert_eq!(r.deposit_params.unwrap().min_deposit, udeai(123));
        assert_eq!(r.tally_params.unwrap().quorum, "0.400000000000000000");
        assert!(r.voting_params.unwrap().voting_period.is_none());

        let c: sdk::QueryConstitutionResponse = ok(
            &s,
            "/cosmos.gov.v1.Query/Constitution",
            sdk::QueryConstitutionRequest {},
        );
        assert_eq!(c.constitution, "");
    }

    #[test]
    fn unknown_proposals_malformed_addresses_and_undecodable_requests_are_clear_errors() {
        let mut s = MemState::default();
        put(&mut s, 1, pb::ProposalStatus::VotingPeriod);
        let voter = member(3).to_bech32();
        let unknown: Vec<(&str, Vec<u8>)> = vec![
            (
                "Proposal",
                sdk::QueryProposalRequest { proposal_id: 42 }.encode_to_vec(),
            ),
            (
                "Vote",
                sdk::QueryVoteRequest {
                    proposal_id: 42,
                    voter: voter.clone(),
                }
                .encode_to_vec(),
            ),
            (
                "Votes",
                sdk::QueryVotesRequest {
                    proposal_id: 42,
                    pagination: None,
                }
                .encode_to_vec(),
            ),
            (
                "Deposit",
                sdk::QueryDepositRequest {
                    proposal_id: 42,
                    depositor: voter.clone(),
                }
                .encode_to_vec(),
            ),
            (
                "Deposits",
                sdk::QueryDepositsRequest {
                    proposal_id: 42,
                    pagination: None,
                }
                .encode_to_vec(),
            ),
            (
                "TallyResult",
                sdk::QueryTallyResultRequest { proposal_id: 42 }.encode_to_vec(),
            ),
        ];
        let history = |_h: u64| -> Result<MemState, GovError> { Ok(MemState::default()) };
        let call = |method: &str, bytes: &[u8]| {
            query(
                &s,
                &format!("/cosmos.gov.v1.Query/{method}"),
                bytes,
                &history,
                &NonVoting::default(),
            )
            .expect("gov answers this path")
        };
        for (method, bytes) in &unknown {
            let e = call(method, bytes).unwrap_err();
            assert_eq!(e.code, 22, "{method}");
            assert!(e.log.contains("proposal 42"), "{method}: {}", e.log);
            // Proposal id 0 is malformed, not missing.
            let mut zero = bytes.clone();
            // Field 1 (proposal_id) is the first: varint 42 becomes 0.
            assert_eq!(&zero[..2], &[0x08, 42]);
            zero[1] = 0;
            let e = call(method, &zero).unwrap_err();
            assert_eq!(e.code, 18, "{method}");
            assert!(e.log.contains("can not be 0"), "{method}: {}", e.log);
        }
        let no_vote = call(
            "Vote",
            &sdk::QueryVoteRequest {
                proposal_id: 1,
                voter: voter.clone(),
            }
            .encode_to_vec(),
        )
        .unwrap_err();
        assert_eq!(no_vote.code, 22);
        assert!(no_vote.log.contains("vote by"), "{}", no_vote.log);
        for bad in ["", "deai1xyz"] {
            let e = call(
                "Vote",
                &sdk::QueryVoteRequest {
                    proposal_id: 1,
                    voter: bad.into(),
                }
                .encode_to_vec(),
            )
            .unwrap_err();
            assert_eq!(e.code, 18, "{bad:?}");
            assert!(e.log.starts_with("voter"), "{}", e.log);
            let e = call(
                "Deposit",
                &sdk::QueryDepositRequest {
                    proposal_id: 1,
                    depositor: bad.into(),
                }
                .encode_to_vec(),
            )
            .unwrap_err();
            assert_eq!(e.code, 18, "{bad:?}");
            assert!(e.log.starts_with("depositor"), "{}", e.log);
        }
        for method in [
            "Proposal",
            "Proposals",
            "Vote",
            "Votes",
            "Deposit",
            "Deposits",
            "TallyResult",
            "Params",
            "Constitution",
        ] {
            let e = call(method, &[0xff, 0xff, 0xff]).unwrap_err();
            assert_eq!(e.code, 18, "{method}");
            assert!(e.log.contains("does not decode"), "{method}: {}", e.log);
        }
    }
}
