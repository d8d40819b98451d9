//! `tx_search` and `block_search`: a [`Query`] answered from the block
//! store's event indexes. Each condition selects the txs (or blocks) having
//! some value of its key that satisfies it; the answer is the intersection,
//! which is exactly CometBFT's `AND` semantics. `tm.event` is not indexed:
//! it holds `Tx` for every tx and `NewBlock` for every block.
//!
//! One search shares one [`ScanBudget`] across its conditions, so its cost
//! is bounded whatever the query and however long the chain; a query that
//! would need more is refused with [`crate::store::ScanLimitExceeded`].

use std::collections::BTreeSet;

use tendermint::Hash;

use crate::{
    query::{Condition, Op, Operand, Query},
    store::{BlockStore, ScanBudget, TxLocation},
};

/// The most results one page holds (CometBFT's `maxPerPage`).
pub const MAX_PER_PAGE: u64 = 100;

/// The page size when none is asked for (CometBFT's `defaultPerPage`).
pub const DEFAULT_PER_PAGE: u64 = 30;

/// Whether the query's `tm.event` conditions admit `kind`.
fn admits(query: &Query, kind: &str) -> bool {
    let events: crate::events::EventMap = [("tm.event".to_string(), vec![kind.to_string()])]
        .into_iter()
        .collect();
    query
        .conditions
        .iter()
        .filter(|c| c.key() == "tm.event")
        .all(|c| c.matches(&events))
}

/// The keys CometBFT reserves for heights: their values are always plain
/// decimal integers, so `=` on a number selects exactly one value.
const HEIGHT_KEYS: [&str; 2] = ["tx.height", "block.height"];

/// The exact value an `=` condition selects, if it selects one: a string,
/// or a whole number on a height key. Any other condition scans every value
/// of its key (within the search's budget).
fn exact(c: &Condition) -> Option<String> {
    match c {
        Condition::Compare {
            op: Op::Eq,
            operand: Operand::String(s),
            ..
        } => Some(s.clone()),
        Condition::Compare {
            key,
            op: Op::Eq,
            operand: Operand::Number(n),
        } if HEIGHT_KEYS.contains(&key.as_str()) => n.as_natural(),
        _ => None,
    }
}

/// Intersects `sets` (all of them when `sets` is empty: `None`).
fn intersect<T: Ord + Clone>(sets: Vec<BTreeSet<T>>) -> Option<BTreeSet<T>> {
    let mut sets = sets.into_iter();
    let first = sets.next()?;
    Some(sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect()))
}

/// The locations of the txs matching `query`, in chain order.
pub fn txs(
    store: &BlockStore,
    query: &Query,
    budget: &mut ScanBudget,
) -> anyhow::Result<BTreeSet<TxLocation>> {
    if !admits(query, "Tx") {
        return Ok(BTreeSet::new());
    }
    let mut sets = Vec::new();
    for c in query.conditions.iter().filter(|c| c.key() != "tm.event") {
        let set = match (c.key(), exact(c).as_deref()) {
            // CometBFT looks a hash up directly, in either case of hex.
            ("tx.hash", Some(h)) => {
                let found = match hex::decode(h) {
                    Ok(bytes) => Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &bytes)
                        .ok()
                        .map(|hash| store.tx(&hash))
                        .transpose()?
                        .flatten(),
                    Err(_) => None,
                };
                found.into_iter().collect()
            }
            (key, value) => store.txs_with(key, value, budget, |v| c.matches_value(v))?,
        };
        if set.is_empty() {
            return Ok(set);
        }
        sets.push(set);
    }
    match intersect(sets) {
        Some(set) => Ok(set),
        // Only `tm.event`: every tx (each has exactly one `tx.height`).
        None => store.txs_with("tx.height", None, budget, |_| true),
    }
}

/// The heights of the blocks matching `query`, in chain order.
pub fn blocks(
    store: &BlockStore,
    query: &Query,
    budget: &mut ScanBudget,
) -> anyhow::Result<BTreeSet<u64>> {
    if !admits(query, "NewBlock") {
        return Ok(BTreeSet::new());
    }
    let mut sets = Vec::new();
    for c in query.conditions.iter().filter(|c| c.key() != "tm.event") {
        let set =
            store.blocks_with(c.key(), exact(c).as_deref(), budget, |v| c.matches_value(v))?;
        if set.is_empty() {
            return Ok(set);
        }
        sets.push(set);
    }
    match intersect(sets) {
        Some(set) => Ok(set),
        None => store.blocks_with("block.height", None, budget, |_| true),
    }
}

/// One page of `items` as CometBFT pages search results: `page` from 1
/// (default 1), `per_page` at most 100 (default 30), `desc` for newest first.
pub fn page<T: Clone>(
    items: &BTreeSet<T>,
    page: Option<u64>,
    per_page: Option<u64>,
    desc: bool,
) -> Result<Vec<T>, String> {
    let per_page = match per_page {
        None | Some(0) => DEFAULT_PER_PAGE,
        Some(n) => n.min(MAX_PER_PAGE),
    };
    let total = u64::try_from(items.len()).unwrap_or(u64::MAX);
    let pages = total.div_ceil(per_page).max(1);
    let page = page.unwrap_or(1);
    if page == 0 || page > pages {
        return Err(format!(
            "page should be within [1, {pages}] range, given {page}"
        ));
    }
    let skip = usize::try_from((page - 1) * per_page).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page).unwrap_or(usize::MAX);
    Ok(if desc {
        items.iter().rev().skip(skip).take(take).cloned().collect()
    } else {
        items.iter().skip(skip).take(take).cloned().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_cometbfts_bounds_and_order() {
        let items: BTreeSet<u64> = (1..=45).collect();
        assert_eq!(page(&items, None, None, false).unwrap().len(), 30);
        assert_eq!(
            page(&items, Some(2), None, false).unwrap(),
            (31..=45).collect::<Vec<_>>()
        );
        assert_eq!(page(&items, Some(1), Some(2), true).unwrap(), vec![45, 44]);
        assert!(page(&items, Some(3), None, false).is_err());
        assert!(page(&items, Some(0), None, false).is_err());
        assert!(page(&BTreeSet::<u64>::new(), Some(1), None, false)
            .unwrap()
            .is_empty());
        // A huge page size is cut to CometBFT's 100, and a huge page is refused.
        let many: BTreeSet<u64> = (1..=250).collect();
        assert_eq!(
            page(&many, Some(1), Some(u64::MAX), false).unwrap().len(),
            100
        );
        assert!(page(&many, Some(u64::MAX), Some(u64::MAX), false).is_err());
    }
}
