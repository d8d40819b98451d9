//! Every state key the bank module owns. All start with `bank/`.

use deai_types::Address;

/// Prefix of every balance.
pub fn balances_prefix() -> Vec<u8> {
    BALANCES.to_vec()
}

const BALANCES: &[u8] = b"bank/balance/";

/// Prefix of the balances of one address.
pub fn balances_of(addr: &Address) -> Vec<u8> {
    let mut k = Vec::with_capacity(BALANCES.len() + 20);
    k.extend_from_slice(BALANCES);
    k.extend_from_slice(addr.as_bytes());
    k
}

/// The balance of `denom` held by `addr`: prefix, 20 address bytes, denom.
pub fn balance(addr: &Address, denom: &str) -> Vec<u8> {
    // Sized once: balances are built for every transfer.
    let mut k = Vec::with_capacity(BALANCES.len() + 20 + denom.len());
    k.extend_from_slice(BALANCES);
    k.extend_from_slice(addr.as_bytes());
    k.extend_from_slice(denom.as_bytes());
    k
}

/// Splits a balance key back into address and denom.
pub fn parse_balance(key: &[u8]) -> Option<(Address, String)> {
    let rest = key.strip_prefix(balances_prefix().as_slice())?;
    if rest.len() <= 20 {
        return None;
    }
    let addr = Address::from_slice(&rest[..20]).ok()?;
    let denom = String::from_utf8(rest[20..].to_vec()).ok()?;
    Some((addr, denom))
}

/// Prefix of every supply record.
pub fn supply_prefix() -> Vec<u8> {
    b"bank/supply/".to_vec()
}

/// The total supply of `denom`.
pub fn supply(denom: &str) -> Vec<u8> {
    let mut k = supply_prefix();
    k.extend_from_slice(denom.as_bytes());
    k
}

/// The module parameters.
pub fn params() -> Vec<u8> {
    b"bank/params".to_vec()
}

/// Whose linked total `addr`'s base-denom balance counts toward (governance
/// delegation of voting power): 20 address bytes.
pub fn link(addr: &Address) -> Vec<u8> {
    let mut k = Vec::with_capacity(10 + 20);
    k.extend_from_slice(b"bank/link/");
    k.extend_from_slice(addr.as_bytes());
    k
}

/// The sum of the base-denom balances linked to `collector`.
pub fn linked_total(collector: &Address) -> Vec<u8> {
    let mut k = b"bank/linked_total/".to_vec();
    k.extend_from_slice(collector.as_bytes());
    k
}
