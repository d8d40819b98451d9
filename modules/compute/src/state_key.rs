//! Every state key the compute module owns. All start with `compute/`.
//! Heights and job ids are big-endian `u64`, so keys sort in numeric order.

use deai_types::Address;

/// The module parameters.
pub fn params() -> Vec<u8> {
    b"compute/params".to_vec()
}

/// The id the next submitted job gets.
pub fn next_job_id() -> Vec<u8> {
    b"compute/next_job_id".to_vec()
}

/// Prefix of every registered model.
pub fn models_prefix() -> Vec<u8> {
    b"compute/model/".to_vec()
}

/// A registered model, by its lowercase hex id.
pub fn model(id: &str) -> Vec<u8> {
    let mut k = models_prefix();
    k.extend_from_slice(id.as_bytes());
    k
}

/// The id the next evaluation suite gets.
pub fn next_suite_id() -> Vec<u8> {
    b"compute/next_suite_id".to_vec()
}

/// Prefix of every evaluation suite.
pub fn suites_prefix() -> Vec<u8> {
    b"compute/suite/".to_vec()
}

/// An evaluation suite, by id.
pub fn suite(id: u64) -> Vec<u8> {
    let mut k = suites_prefix();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of a model's suite index.
pub fn model_suites_prefix(model_id: &str) -> Vec<u8> {
    let mut k = b"compute/suites_of/".to_vec();
    k.extend_from_slice(model_id.as_bytes());
    k.push(b'/');
    k
}

/// A model's suite `id` in its index (value: 1 if required, else 0).
pub fn model_suite(model_id: &str, id: u64) -> Vec<u8> {
    let mut k = model_suites_prefix(model_id);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The latest evaluation of a model on suite `id`.
pub fn evaluation(model_id: &str, id: u64) -> Vec<u8> {
    let mut k = b"compute/evaluation/".to_vec();
    k.extend_from_slice(model_id.as_bytes());
    k.push(b'/');
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of a model's evaluation history.
pub fn evaluation_log_prefix(model_id: &str) -> Vec<u8> {
    let mut k = b"compute/evaluation_log/".to_vec();
    k.extend_from_slice(model_id.as_bytes());
    k.push(b'/');
    k
}

/// One evaluation of a model, by the job that ran it.
pub fn evaluation_log(model_id: &str, job_id: u64) -> Vec<u8> {
    let mut k = evaluation_log_prefix(model_id);
    k.extend_from_slice(&job_id.to_be_bytes());
    k
}

/// Prefix of every provider.
pub fn providers_prefix() -> Vec<u8> {
    b"compute/provider/".to_vec()
}

/// A provider, by its 20 address bytes.
pub fn provider(addr: &Address) -> Vec<u8> {
    let mut k = providers_prefix();
    k.extend_from_slice(addr.as_bytes());
    k
}

/// Prefix of every job.
pub fn jobs_prefix() -> Vec<u8> {
    b"compute/job/".to_vec()
}

/// A job, by id.
pub fn job(id: u64) -> Vec<u8> {
    let mut k = jobs_prefix();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The job id a job key ends with.
pub fn parse_job(key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(jobs_prefix().as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// Prefix of the queue of jobs waiting for assignment, ordered by the
/// height at which begin_block next examines them, then job id. (It replaces
/// the id-ordered `compute/pending/` queue, which had to be walked from its
/// first key.)
pub fn pending_prefix() -> Vec<u8> {
    b"compute/pending_at/".to_vec()
}

/// Job `id`, to be examined for assignment in the begin_block of `due`.
pub fn pending(due: u64, id: u64) -> Vec<u8> {
    let mut k = pending_prefix();
    k.extend_from_slice(&due.to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Splits a pending key into due height and job id.
pub fn parse_pending(key: &[u8]) -> Option<(u64, u64)> {
    parse_height_and_id(&pending_prefix(), key)
}

/// The seek key of a height-ordered queue: `prefix` followed by the height.
/// It sorts before every `prefix/<height>/…` entry and after every entry of
/// a lower height, so a scan starting strictly after it begins at `height`.
pub fn queue_seek(prefix: &[u8], height: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// Splits a `prefix/<height>/<id>` queue key (both big-endian u64).
fn parse_height_and_id(prefix: &[u8], key: &[u8]) -> Option<(u64, u64)> {
    let rest = key.strip_prefix(prefix)?;
    if rest.len() != 16 {
        return None;
    }
    let (height, id) = rest.split_at(8);
    Some((
        u64::from_be_bytes(height.try_into().ok()?),
        u64::from_be_bytes(id.try_into().ok()?),
    ))
}

/// The height a height-ordered queue key under `prefix` starts with.
pub fn parse_queue_height(prefix: &[u8], key: &[u8]) -> Option<u64> {
    let rest = key.strip_prefix(prefix)?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// The cursor of the queue under `prefix`: the lowest height that may still
/// hold an entry (every entry below it has been processed and deleted).
pub fn queue_cursor(prefix: &[u8]) -> Vec<u8> {
    let mut k = b"compute/cursor/".to_vec();
    k.extend_from_slice(prefix);
    k
}

/// The reward epoch and the udeai minted in it so far.
pub fn epoch_minted() -> Vec<u8> {
    b"compute/epoch_minted".to_vec()
}

/// How many provider slots the sampling index has (one per provider ever registered).
pub fn sampler_size() -> Vec<u8> {
    b"compute/sampler/size".to_vec()
}

/// How many slots have a positive weight (eligible providers).
pub fn sampler_eligible() -> Vec<u8> {
    b"compute/sampler/eligible".to_vec()
}

/// Node `i` (1-based) of the sampling index's Fenwick tree: the sum of the
/// weights of slots `i - lowbit(i) + 1 ..= i`.
pub fn sampler_node(i: u64) -> Vec<u8> {
    let mut k = b"compute/sampler/node/".to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// The weight of slot `i` (1-based) as the tree holds it.
pub fn sampler_weight(i: u64) -> Vec<u8> {
    let mut k = b"compute/sampler/weight/".to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// The provider in slot `i` (1-based).
pub fn sampler_slot(i: u64) -> Vec<u8> {
    let mut k = b"compute/sampler/slot/".to_vec();
    k.extend_from_slice(&i.to_be_bytes());
    k
}

/// The slot of `provider`.
pub fn sampler_slot_of(provider: &Address) -> Vec<u8> {
    let mut k = b"compute/sampler/slot_of/".to_vec();
    k.extend_from_slice(provider.as_bytes());
    k
}

/// Prefix of the settlement queue, ordered by reveal deadline, then job id.
pub fn settlement_prefix() -> Vec<u8> {
    b"compute/settle/".to_vec()
}

/// A job to settle in the end_block of `deadline` (or later, if that block is full).
pub fn settlement(deadline: u64, id: u64) -> Vec<u8> {
    let mut k = settlement_prefix();
    k.extend_from_slice(&deadline.to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Splits a settlement key into deadline and job id.
pub fn parse_settlement(key: &[u8]) -> Option<(u64, u64)> {
    parse_height_and_id(&settlement_prefix(), key)
}

/// Prefix of the unbonding queue, ordered by completion height, then provider.
pub fn unbonding_prefix() -> Vec<u8> {
    b"compute/unbonding/".to_vec()
}

/// The withdrawal of `provider` that completes at `height`.
pub fn unbonding(height: u64, provider: &Address) -> Vec<u8> {
    let mut k = unbonding_prefix();
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(provider.as_bytes());
    k
}

/// The completion height an unbonding key starts with.
pub fn parse_unbonding_height(key: &[u8]) -> Option<u64> {
    parse_queue_height(&unbonding_prefix(), key)
}

/// Prefix of the jail-expiry queue, ordered by release height, then provider.
pub fn jail_prefix() -> Vec<u8> {
    b"compute/jail/".to_vec()
}

/// `provider` leaves jail at `height`.
pub fn jail(height: u64, provider: &Address) -> Vec<u8> {
    let mut k = jail_prefix();
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(provider.as_bytes());
    k
}

/// Splits a jail key into release height and provider.
pub fn parse_jail(key: &[u8]) -> Option<(u64, Address)> {
    let rest = key.strip_prefix(jail_prefix().as_slice())?;
    if rest.len() != 28 {
        return None;
    }
    let (h, a) = rest.split_at(8);
    Some((
        u64::from_be_bytes(h.try_into().ok()?),
        Address::from_slice(a).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_sort_by_height_then_id() {
        assert!(settlement(2, 9) < settlement(10, 1));
        assert!(settlement(10, 1) < settlement(10, 2));
        assert_eq!(parse_settlement(&settlement(7, 3)), Some((7, 3)));
        assert!(job(255) < job(256));
        assert_eq!(parse_job(&job(42)), Some(42));
        let a = Address([9; 20]);
        assert_eq!(parse_jail(&jail(5, &a)), Some((5, a)));
        assert_eq!(parse_unbonding_height(&unbonding(11, &a)), Some(11));
        assert_eq!(parse_pending(&pending(4, 9)), Some((4, 9)));
        for prefix in [
            pending_prefix(),
            settlement_prefix(),
            jail_prefix(),
            unbonding_prefix(),
        ] {
            let seek = queue_seek(&prefix, 5);
            assert!(seek > queue_seek(&prefix, 4));
            assert!(seek < settlement(5, 0) || prefix != settlement_prefix());
            assert!(seek.as_slice() < pending(5, 0).as_slice() || prefix != pending_prefix());
            assert!(pending(4, u64::MAX).as_slice() < queue_seek(&pending_prefix(), 5).as_slice());
        }
        assert_eq!(parse_queue_height(&jail_prefix(), &jail(8, &a)), Some(8));
    }
}
