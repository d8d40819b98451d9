//! Every state key the staking module owns. All start with `staking/`.
//! Addresses are their raw 20 bytes; numbers are big-endian so keys sort
//! as the numbers do.

use deai_types::{module::BlockTime, Address};

/// The parameters.
pub fn params() -> Vec<u8> {
    b"staking/params".to_vec()
}

fn with(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut k = prefix.to_vec();
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// Prefix of the validator records.
pub const VALIDATORS: &[u8] = b"staking/validator/";

/// The validator record of operator `op`.
pub fn validator(op: &Address) -> Vec<u8> {
    with(VALIDATORS, &[op.as_bytes()])
}

/// The operator of the validator with consensus address `cons`.
pub fn by_consensus(cons: &[u8; 20]) -> Vec<u8> {
    with(b"staking/by_consensus/", &[cons])
}

/// Prefix of the power index: the candidates for the set, most power first.
pub const POWER_INDEX: &[u8] = b"staking/power/";

/// `op`'s entry in the power index: power inverted, so that an ascending
/// scan meets the most powerful first (ties: operator bytes ascending).
pub fn power_index(power: u64, op: &Address) -> Vec<u8> {
    with(
        POWER_INDEX,
        // `!power` is `u64::MAX - power`, with no subtraction to overflow.
        &[&(!power).to_be_bytes(), op.as_bytes()],
    )
}

/// Reads the operator of a power index key.
pub fn parse_power_index(key: &[u8]) -> Option<Address> {
    let rest = key.strip_prefix(POWER_INDEX)?;
    Address::from_slice(rest.get(8..)?).ok()
}

/// Prefix of the powers CometBFT was last given, by operator.
pub const LAST_POWERS: &[u8] = b"staking/last_power/";

/// The power CometBFT was last given for `op`.
pub fn last_power(op: &Address) -> Vec<u8> {
    with(LAST_POWERS, &[op.as_bytes()])
}

/// Prefix of the delegations, by delegator then validator.
pub const DELEGATIONS: &[u8] = b"staking/delegation/";

/// The delegations of `del`.
pub fn delegations_of(del: &Address) -> Vec<u8> {
    with(DELEGATIONS, &[del.as_bytes()])
}

/// The delegation of `del` to `op`.
pub fn delegation(del: &Address, op: &Address) -> Vec<u8> {
    with(DELEGATIONS, &[del.as_bytes(), op.as_bytes()])
}

/// The delegators of `op` (index: empty values).
pub fn delegators_of(op: &Address) -> Vec<u8> {
    with(b"staking/delegator/", &[op.as_bytes()])
}

/// `del`'s entry among `op`'s delegators.
pub fn delegator(op: &Address, del: &Address) -> Vec<u8> {
    with(b"staking/delegator/", &[op.as_bytes(), del.as_bytes()])
}

/// Prefix of the unbondings, by delegator then validator.
pub const UNBONDINGS: &[u8] = b"staking/unbonding/";

/// The unbondings of `del`.
pub fn unbondings_of(del: &Address) -> Vec<u8> {
    with(UNBONDINGS, &[del.as_bytes()])
}

/// The unbonding of `del` from `op`.
pub fn unbonding(del: &Address, op: &Address) -> Vec<u8> {
    with(UNBONDINGS, &[del.as_bytes(), op.as_bytes()])
}

/// The unbonding delegators of `op` (index: empty values).
pub fn unbonders_of(op: &Address) -> Vec<u8> {
    with(b"staking/unbonder/", &[op.as_bytes()])
}

/// `del`'s entry among `op`'s unbonding delegators.
pub fn unbonder(op: &Address, del: &Address) -> Vec<u8> {
    with(b"staking/unbonder/", &[op.as_bytes(), del.as_bytes()])
}

/// The redelegations of `del`.
pub fn redelegations_of(del: &Address) -> Vec<u8> {
    with(b"staking/redelegation/", &[del.as_bytes()])
}

/// The redelegation of `del` from `src` to `dst`.
pub fn redelegation(del: &Address, src: &Address, dst: &Address) -> Vec<u8> {
    with(
        b"staking/redelegation/",
        &[del.as_bytes(), src.as_bytes(), dst.as_bytes()],
    )
}

/// The unbonding entries out of `op` by creation height (index: empty
/// values), so a slash reads only the entries begun since its infraction.
pub fn unbondings_by_height(op: &Address) -> Vec<u8> {
    with(b"staking/unbonding_height/", &[op.as_bytes()])
}

/// `del`'s unbonding entries from `op` begun at `height`.
pub fn unbonding_at(op: &Address, height: u64, del: &Address) -> Vec<u8> {
    with(
        b"staking/unbonding_height/",
        &[op.as_bytes(), &height.to_be_bytes(), del.as_bytes()],
    )
}

/// The redelegation entries out of `src` by creation height (index: empty
/// values), so a slash reads only the entries begun since its infraction.
pub fn redelegations_by_height(src: &Address) -> Vec<u8> {
    with(b"staking/redelegation_height/", &[src.as_bytes()])
}

/// `del`'s redelegation entries from `src` to `dst` begun at `height`.
pub fn redelegation_at(src: &Address, height: u64, del: &Address, dst: &Address) -> Vec<u8> {
    with(
        b"staking/redelegation_height/",
        &[
            src.as_bytes(),
            &height.to_be_bytes(),
            del.as_bytes(),
            dst.as_bytes(),
        ],
    )
}

/// The redelegations of `del` into `dst` (index: empty values), to refuse
/// moving stake again before it matured.
pub fn incoming(del: &Address, dst: &Address) -> Vec<u8> {
    with(b"staking/incoming/", &[del.as_bytes(), dst.as_bytes()])
}

/// `src`'s entry among `del`'s redelegations into `dst`.
pub fn incoming_from(del: &Address, dst: &Address, src: &Address) -> Vec<u8> {
    with(
        b"staking/incoming/",
        &[del.as_bytes(), dst.as_bytes(), src.as_bytes()],
    )
}

/// A time as key bytes: seconds (negative read as zero) then nanoseconds.
fn time_bytes(t: BlockTime) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..8].copy_from_slice(&u64::try_from(t.seconds).unwrap_or(0).to_be_bytes());
    b[8..].copy_from_slice(&t.nanos.to_be_bytes());
    b
}

/// Reads the time at the start of a queue key's rest.
pub fn parse_time(rest: &[u8]) -> Option<BlockTime> {
    let s: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let n: [u8; 4] = rest.get(8..12)?.try_into().ok()?;
    Some(BlockTime {
        seconds: i64::try_from(u64::from_be_bytes(s)).ok()?,
        nanos: u32::from_be_bytes(n),
    })
}

/// Prefix of the unbonding queue: (completion time, delegator, validator).
pub const UNBONDING_QUEUE: &[u8] = b"staking/unbonding_queue/";

/// An unbonding's place in the queue.
pub fn unbonding_queue(t: BlockTime, del: &Address, op: &Address) -> Vec<u8> {
    with(
        UNBONDING_QUEUE,
        &[&time_bytes(t), del.as_bytes(), op.as_bytes()],
    )
}

/// Prefix of the redelegation queue: (completion time, delegator, src, dst).
pub const REDELEGATION_QUEUE: &[u8] = b"staking/redelegation_queue/";

/// A redelegation's place in the queue.
pub fn redelegation_queue(t: BlockTime, del: &Address, src: &Address, dst: &Address) -> Vec<u8> {
    with(
        REDELEGATION_QUEUE,
        &[
            &time_bytes(t),
            del.as_bytes(),
            src.as_bytes(),
            dst.as_bytes(),
        ],
    )
}

/// Prefix of the validator queue: unbonding validators by completion time.
pub const VALIDATOR_QUEUE: &[u8] = b"staking/validator_queue/";

/// An unbonding validator's place in the queue.
pub fn validator_queue(t: BlockTime, op: &Address) -> Vec<u8> {
    with(VALIDATOR_QUEUE, &[&time_bytes(t), op.as_bytes()])
}

/// The addresses after the time in a queue key, 20 bytes each.
pub fn queue_addresses(prefix: &[u8], key: &[u8]) -> Option<(BlockTime, Vec<Address>)> {
    let rest = key.strip_prefix(prefix)?;
    let t = parse_time(rest)?;
    let addrs = rest.get(12..)?;
    if addrs.len() % 20 != 0 {
        return None;
    }
    let list = addrs
        .chunks(20)
        .map(|c| Address::from_slice(c).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((t, list))
}

/// The first key of a queue strictly after time `t`: entries before it are due at `t`.
pub fn queue_end(prefix: &[u8], t: BlockTime) -> Vec<u8> {
    let mut k = with(prefix, &[&time_bytes(t)]);
    k.extend_from_slice(&[0xff; 61]);
    k
}
