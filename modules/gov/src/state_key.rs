//! Every state key the governance module owns. All start with `gov/`.
//! Ids and heights are big-endian so keys sort numerically; queues are
//! keyed by end height first so end-of-block work reads only what is due.

use deai_types::Address;

fn with_u64(mut prefix: Vec<u8>, n: u64) -> Vec<u8> {
    prefix.extend_from_slice(&n.to_be_bytes());
    prefix
}

/// The parameters.
pub fn params() -> Vec<u8> {
    b"gov/params".to_vec()
}

/// The next proposal id.
pub fn next_proposal_id() -> Vec<u8> {
    b"gov/next_proposal_id".to_vec()
}

/// Prefix of every proposal.
pub fn proposals_prefix() -> Vec<u8> {
    b"gov/proposal/".to_vec()
}

/// A proposal.
pub fn proposal(id: u64) -> Vec<u8> {
    with_u64(proposals_prefix(), id)
}

/// Prefix of the deposits on proposal `id`.
pub fn deposits_of(id: u64) -> Vec<u8> {
    with_u64(b"gov/deposit/".to_vec(), id)
}

/// `depositor`'s deposit on proposal `id`.
pub fn deposit(id: u64, depositor: &Address) -> Vec<u8> {
    let mut k = deposits_of(id);
    k.extend_from_slice(depositor.as_bytes());
    k
}

/// Prefix of the votes on proposal `id`.
pub fn votes_of(id: u64) -> Vec<u8> {
    with_u64(b"gov/vote/".to_vec(), id)
}

/// `voter`'s vote on proposal `id`.
pub fn vote(id: u64, voter: &Address) -> Vec<u8> {
    let mut k = votes_of(id);
    k.extend_from_slice(voter.as_bytes());
    k
}

/// Prefix of the deposit-period queue.
pub fn deposit_queue_prefix() -> Vec<u8> {
    b"gov/deposit_queue/".to_vec()
}

/// The deposit-period queue's cursor: where the next end block starts
/// reading (see [`queue_cursor`]).
pub fn deposit_queue_cursor() -> Vec<u8> {
    b"gov/deposit_queue_cursor".to_vec()
}

/// The voting-period queue's cursor.
pub fn voting_queue_cursor() -> Vec<u8> {
    b"gov/voting_queue_cursor".to_vec()
}

/// A queue cursor's value: the lowest end height that may still hold work,
/// and, when part of that height is done, the last id handled there.
pub fn queue_cursor(height: u64, after_id: Option<u64>) -> Vec<u8> {
    let mut v = height.to_be_bytes().to_vec();
    if let Some(id) = after_id {
        v.extend_from_slice(&id.to_be_bytes());
    }
    v
}

/// Reads a queue cursor's value back.
pub fn parse_queue_cursor(v: &[u8]) -> Option<(u64, Option<u64>)> {
    let h: [u8; 8] = v.get(..8)?.try_into().ok()?;
    let height = u64::from_be_bytes(h);
    match v.len() {
        8 => Some((height, None)),
        16 => {
            let id: [u8; 8] = v.get(8..16)?.try_into().ok()?;
            Some((height, Some(u64::from_be_bytes(id))))
        }
        _ => None,
    }
}

/// Prefix of the entries of a queue (`prefix`) that end at `end`.
pub fn queue_at(prefix: &[u8], end: u64) -> Vec<u8> {
    with_u64(prefix.to_vec(), end)
}

/// Proposal `id`'s place in the deposit-period queue, by end height.
pub fn deposit_queue(end: u64, id: u64) -> Vec<u8> {
    with_u64(with_u64(deposit_queue_prefix(), end), id)
}

/// Prefix of the voting-period queue.
pub fn voting_queue_prefix() -> Vec<u8> {
    b"gov/voting_queue/".to_vec()
}

/// Proposal `id`'s place in the voting-period queue, by end height.
pub fn voting_queue(end: u64, id: u64) -> Vec<u8> {
    with_u64(with_u64(voting_queue_prefix(), end), id)
}

/// Prefix of the index of voting start heights of proposals in voting.
pub fn voting_start_prefix() -> Vec<u8> {
    b"gov/voting_start/".to_vec()
}

/// Where reads of the oldest open vote start in the voting-start index
/// (a [`queue_cursor`] value): past the deletion markers of votes long
/// finished.
pub fn voting_start_floor() -> Vec<u8> {
    b"gov/voting_start_floor".to_vec()
}

/// Proposal `id` reads voting power at `start`.
pub fn voting_start(start: u64, id: u64) -> Vec<u8> {
    with_u64(with_u64(voting_start_prefix(), start), id)
}

/// Whom `delegator` lends its voting power to.
pub fn delegation(delegator: &Address) -> Vec<u8> {
    let mut k = b"gov/delegation/".to_vec();
    k.extend_from_slice(delegator.as_bytes());
    k
}

/// Prefix of the refusals of lent voting power.
pub fn refuses_delegations_prefix() -> Vec<u8> {
    b"gov/refuses_delegations/".to_vec()
}

/// Present when `delegate` refuses voting power lent to it.
pub fn refuses_delegations(delegate: &Address) -> Vec<u8> {
    let mut k = refuses_delegations_prefix();
    k.extend_from_slice(delegate.as_bytes());
    k
}

/// Reads the two big-endian numbers after `prefix` in a queue key.
pub fn parse_queue(prefix: &[u8], key: &[u8]) -> Option<(u64, u64)> {
    let rest = key.strip_prefix(prefix)?;
    let a: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let b: [u8; 8] = rest.get(8..16)?.try_into().ok()?;
    Some((u64::from_be_bytes(a), u64::from_be_bytes(b)))
}
