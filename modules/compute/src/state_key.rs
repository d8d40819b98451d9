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

/// Prefix of the queue of jobs waiting for assignment (ordered by id).
pub fn pending_prefix() -> Vec<u8> {
    b"compute/pending/".to_vec()
}

/// A job waiting for assignment.
pub fn pending(id: u64) -> Vec<u8> {
    let mut k = pending_prefix();
    k.extend_from_slice(&id.to_be_bytes());
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
    let rest = key.strip_prefix(settlement_prefix().as_slice())?;
    if rest.len() != 16 {
        return None;
    }
    let (d, id) = rest.split_at(8);
    Some((
        u64::from_be_bytes(d.try_into().ok()?),
        u64::from_be_bytes(id.try_into().ok()?),
    ))
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
    let rest = key.strip_prefix(unbonding_prefix().as_slice())?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
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
    }
}
