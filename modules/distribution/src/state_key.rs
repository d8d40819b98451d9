//! Distribution state keys, all under `distribution/`. Periods are
//! big-endian so a validator's records sort by period.

use deai_types::Address;

/// The parameters.
pub fn params() -> Vec<u8> {
    b"distribution/params".to_vec()
}

/// Fractions of coins owed to the treasury, paid once whole.
pub fn dust() -> Vec<u8> {
    b"distribution/dust".to_vec()
}

fn of(prefix: &[u8], a: &Address) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(a.as_bytes());
    k
}

/// Prefix of every validator's current-period record.
pub const CURRENT: &[u8] = b"distribution/current/";
/// Prefix of every validator's outstanding rewards.
pub const OUTSTANDING: &[u8] = b"distribution/outstanding/";
/// Prefix of every validator's accumulated commission.
pub const COMMISSION: &[u8] = b"distribution/commission/";

/// Validator `op`'s current period and the rewards it gathered.
pub fn current(op: &Address) -> Vec<u8> {
    of(CURRENT, op)
}

/// What `op`'s validator and delegators are owed, commission included.
pub fn outstanding(op: &Address) -> Vec<u8> {
    of(OUTSTANDING, op)
}

/// `op`'s commission not yet withdrawn.
pub fn commission(op: &Address) -> Vec<u8> {
    of(COMMISSION, op)
}

/// Prefix of `op`'s cumulative reward ratios, by period.
pub fn historical_prefix(op: &Address) -> Vec<u8> {
    of(b"distribution/historical/", op)
}

/// `op`'s cumulative reward ratio at the end of `period`.
pub fn historical(op: &Address, period: u64) -> Vec<u8> {
    let mut k = historical_prefix(op);
    k.extend_from_slice(&period.to_be_bytes());
    k
}

/// Prefix of `op`'s slashes, by the period each ended.
pub fn slashes_prefix(op: &Address) -> Vec<u8> {
    of(b"distribution/slash/", op)
}

/// The slash of `op` that ended `period`.
pub fn slash(op: &Address, period: u64) -> Vec<u8> {
    let mut k = slashes_prefix(op);
    k.extend_from_slice(&period.to_be_bytes());
    k
}

/// Where `delegator`'s delegation to `op` began earning.
pub fn starting_info(delegator: &Address, op: &Address) -> Vec<u8> {
    let mut k = of(b"distribution/start/", delegator);
    k.extend_from_slice(op.as_bytes());
    k
}

/// Where `delegator`'s rewards are paid, when not to itself.
pub fn withdraw_address(delegator: &Address) -> Vec<u8> {
    of(b"distribution/withdraw_address/", delegator)
}
