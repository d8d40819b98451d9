//! `tx_search` and `block_search`: a [`Query`] answered from the block
//! store's event indexes. Each condition selects the txs (or blocks) having
//! some value of its key that satisfies it; the answer is the intersection,
//! which is exactly CometBFT's `AND` semantics. `tm.event` is not indexed:
//! it holds `Tx` for every tx and `NewBlock` for every block.

use std::collections::BTreeSet;

use tendermint::Hash;

use crate::{
    query::{Condition, Op, Operand, Query},
    store::{BlockStore, TxLocation},
};

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

/// The exact value an `=` condition on a string selects, if it is one.
fn exact(c: &Condition) -> Option<&str> {
    match c {
        Condition::Compare {
            op: Op::Eq,
            operand: Operand::String(s),
            ..
        } => Some(s),
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
pub fn txs(store: &BlockStore, query: &Query) -> anyhow::Result<BTreeSet<TxLocation>> {
    if !admits(query, "Tx") {
        return Ok(BTreeSet::new());
    }
    let mut sets = Vec::new();
    for c in query.conditions.iter().filter(|c| c.key() != "tm.event") {
        let set = match (c.key(), exact(c)) {
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
            (key, value) => store.txs_with(key, value, |v| c.matches_value(v))?,
        };
        if set.is_empty() {
            return Ok(set);
        }
        sets.push(set);
    }
    match intersect(sets) {
        Some(set) => Ok(set),
        // Only `tm.event`: every tx (each has exactly one `tx.height`).
        None => store.txs_with("tx.height", None, |_| true),
    }
}

/// The heights of the blocks matching `query`, in chain order.
pub fn blocks(store: &BlockStore, query: &Query) -> anyhow::Result<BTreeSet<u64>> {
    if !admits(query, "NewBlock") {
        return Ok(BTreeSet::new());
    }
    let mut sets = Vec::new();
    for c in query.conditions.iter().filter(|c| c.key() != "tm.event") {
        let set = store.blocks_with(c.key(), exact(c), |v| c.matches_value(v))?;
        if set.is_empty() {
            return Ok(set);
        }
        sets.push(set);
    }
    match intersect(sets) {
        Some(set) => Ok(set),
        None => store.blocks_with("block.height", None, |_| true),
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
        None | Some(0) => 30,
        Some(n) => n.min(100),
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
    }
}
