//! `tx_search` and `block_search`: a [`Query`] answered from the block
//! store's event indexes with the semantics of CometBFT v0.38's kv indexers
//! (`state/txindex/kv`, `state/indexer/block/kv`), which differ from its
//! subscription matcher ([`Query::matches`]):
//!
//! - conditions on attributes must hold within one event: `message.sender
//!   = 'a' AND transfer.recipient = 'b'` finds nothing, since no single
//!   event carries both;
//! - `=` compares the text as written (`transfer.amount = 5` is not
//!   `5udeai`, `tx.height = 05` is not 5); a range (`<`, `<=`, `>`, `>=`)
//!   takes only values that are whole numbers (`100udeai` is none) and
//!   never matches a `TIME` or `DATE`;
//! - `tx.height`/`block.height` equalities and ranges filter the other
//!   conditions' entries by height; an equality is dropped when a range on
//!   the height is given, and when it is not a number; `EXISTS` on
//!   `tx.height` matches every tx but no event attribute;
//! - `tx.hash` anywhere answers that one tx whatever else the query says;
//! - `tm.event` is not indexed: a query naming it finds nothing.
//!
//! One search shares one [`ScanBudget`] across its conditions, so its cost
//! is bounded whatever the query and however long the chain; a query that
//! would need more is refused with [`crate::store::ScanLimitExceeded`].

use std::collections::BTreeSet;

use tendermint::Hash;

use crate::{
    query::{ArgKind, Condition, Decimal, Op, Query},
    store::{BlockStore, IndexEntry, ScanBudget, TxLocation},
};

/// The most results one page holds (CometBFT's `maxPerPage`).
pub const MAX_PER_PAGE: i64 = 100;

/// The page size when none is asked for (CometBFT's `defaultPerPage`).
pub const DEFAULT_PER_PAGE: i64 = 30;

/// The reserved height key of tx searches.
const TX_HEIGHT: &str = "tx.height";
/// The reserved height key of block searches.
const BLOCK_HEIGHT: &str = "block.height";

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// A `tx.hash` condition whose value is not hex (CometBFT's message).
    #[error("error during searching for a hash in the query: encoding/hex: {0}")]
    BadHash(String),
    /// A `tx.hash` condition with no value.
    #[error("error while retrieving the result: transaction hash cannot be empty")]
    EmptyHash,
    /// The store failed, or the search ran out of budget.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A bound of a range: a number or an instant (which CometBFT's indexes
/// never match).
#[derive(Debug, Clone)]
enum Bound {
    Number(Decimal),
    Time,
}

/// The conditions of a range on one key, merged as CometBFT merges them: a
/// later bound replaces an earlier one, and an inclusive flag once set stays.
#[derive(Debug, Clone)]
struct Range {
    key: String,
    lower: Option<Bound>,
    upper: Option<Bound>,
    include_lower: bool,
    include_upper: bool,
}

impl Range {
    fn new(key: &str) -> Range {
        Range {
            key: key.to_string(),
            lower: None,
            upper: None,
            include_lower: false,
            include_upper: false,
        }
    }

    fn add(&mut self, c: &Condition) {
        let bound = match c.arg.as_ref().map(|a| (a.kind, a)) {
            Some((ArgKind::Number, a)) => a.number().map(Bound::Number),
            Some((ArgKind::Time | ArgKind::Date, _)) => Some(Bound::Time),
            _ => None,
        };
        match c.op {
            Op::Gt => self.lower = bound,
            Op::Ge => {
                self.include_lower = true;
                self.lower = bound;
            }
            Op::Lt => self.upper = bound,
            Op::Le => {
                self.include_upper = true;
                self.upper = bound;
            }
            _ => {}
        }
    }

    /// Whether the range's bounds are numbers (CometBFT looks only at the
    /// first bound's kind).
    fn is_numeric(&self) -> bool {
        matches!(
            self.lower.as_ref().or(self.upper.as_ref()),
            Some(Bound::Number(_))
        )
    }

    /// Whether `v` lies within the bounds (CometBFT's `CheckBounds`); a
    /// time bound holds nothing.
    fn holds(&self, v: &Decimal) -> bool {
        let within = |bound: &Option<Bound>, inclusive: bool, below: bool| match bound {
            None => true,
            Some(Bound::Time) => false,
            Some(Bound::Number(b)) => match v.cmp(b) {
                std::cmp::Ordering::Equal => inclusive,
                std::cmp::Ordering::Less => below,
                std::cmp::Ordering::Greater => !below,
            },
        };
        within(&self.lower, self.include_lower, false)
            && within(&self.upper, self.include_upper, true)
    }
}

/// What the height conditions leave after CometBFT's `dedupHeight` and
/// `LookForRangesWithHeight`.
#[derive(Debug, Clone, Default)]
struct HeightInfo {
    /// The height of the kept equality (0: none).
    height: i64,
    /// The range on the height key, if any.
    range: Option<Range>,
    /// Whether the query is the height equality alone.
    only_eq: bool,
    /// Whether the query is height ranges alone.
    only_range: bool,
    /// The position of the kept height equality among the conditions.
    eq_index: Option<usize>,
}

impl HeightInfo {
    /// CometBFT's `checkHeightConditions`: the entry's height passes the
    /// height range, else the height equality.
    fn admits(&self, height: u64) -> bool {
        match &self.range {
            Some(r) => Decimal::parse_value(&height.to_string()).is_some_and(|h| r.holds(&h)),
            None => self.height == 0 || i64::try_from(height).is_ok_and(|h| h == self.height),
        }
    }
}

/// CometBFT's `dedupHeight`: the first numeric equality on the height key
/// is kept (moved last) unless a range or other condition on the height
/// exists, in which case every equality on it is dropped.
fn dedup_height(conditions: &[Condition], height_key: &str) -> (Vec<Condition>, HeightInfo) {
    let mut out = Vec::new();
    let mut info = HeightInfo {
        only_eq: true,
        only_range: true,
        ..HeightInfo::default()
    };
    let mut range_exists = false;
    let mut eq: Option<Condition> = None;
    for c in conditions {
        if c.tag == height_key {
            if c.op == Op::Eq {
                if range_exists || eq.is_some() {
                    continue;
                }
                if let Some(h) = c.arg.as_ref().and_then(|a| a.number()) {
                    info.height = h.trunc_i64();
                    eq = Some(c.clone());
                }
            } else {
                info.only_eq = false;
                range_exists = true;
                out.push(c.clone());
            }
        } else {
            info.only_range = false;
            info.only_eq = false;
            out.push(c.clone());
        }
    }
    match eq {
        Some(eq) if !range_exists => {
            info.eq_index = Some(out.len());
            info.only_range = false;
            out.push(eq);
        }
        _ => {
            info.eq_index = None;
            info.height = 0;
            info.only_eq = false;
        }
    }
    (out, info)
}

/// CometBFT's `LookForRangesWithHeight`: the range conditions merged per
/// key (in order of first appearance), their positions, and the height
/// key's range.
fn ranges(conditions: &[Condition], height_key: &str) -> (Vec<Range>, Vec<usize>, Option<Range>) {
    let mut out: Vec<Range> = Vec::new();
    let mut positions = Vec::new();
    for (i, c) in conditions.iter().enumerate() {
        if !c.op.is_range() {
            continue;
        }
        match out.iter_mut().find(|r| r.key == c.tag) {
            Some(r) => r.add(c),
            None => {
                let mut r = Range::new(&c.tag);
                r.add(c);
                out.push(r);
            }
        }
        positions.push(i);
    }
    let height = out.iter().find(|r| r.key == height_key).cloned();
    (out, positions, height)
}

/// The running intersection of the conditions' matches, keyed by location
/// and event sequence as CometBFT keys them (so attribute conditions must
/// hold within one event).
struct Matches<L: Ord + Copy> {
    found: Option<BTreeSet<(L, u32)>>,
}

impl<L: Ord + Copy> Matches<L> {
    fn new() -> Self {
        Matches { found: None }
    }

    /// Whether an earlier condition already matched nothing.
    fn exhausted(&self) -> bool {
        self.found.as_ref().is_some_and(BTreeSet::is_empty)
    }

    fn intersect(&mut self, hits: BTreeSet<(L, u32)>) {
        self.found = Some(match self.found.take() {
            None => hits,
            Some(found) => found.intersection(&hits).copied().collect(),
        });
    }

    fn locations(self) -> BTreeSet<L> {
        self.found
            .unwrap_or_default()
            .into_iter()
            .map(|(loc, _)| loc)
            .collect()
    }
}

/// Decodes hex as Go's `hex.DecodeString`, with its messages: the first
/// byte that is not a hex digit, else an odd length.
fn go_hex(s: &str) -> Result<Vec<u8>, String> {
    if let Some(b) = s.bytes().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!("invalid byte: U+{b:04X} '{}'", char::from(b)));
    }
    if s.len() % 2 == 1 {
        return Err("odd length hex string".to_string());
    }
    hex::decode(s).map_err(|e| e.to_string())
}

/// How one index is read: its height key, its entries, and the heights of
/// its locations.
trait Index {
    type Loc: Ord + Copy;
    const HEIGHT_KEY: &'static str;
    fn entries(
        &self,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        visit: &mut dyn FnMut(IndexEntry<Self::Loc>),
    ) -> anyhow::Result<()>;
    fn height(loc: &Self::Loc) -> u64;
    /// Whether a non-range condition other than `=` sees the height key's
    /// own entries (the tx index stores them as attributes; the block index
    /// as primary keys that its event scans cannot read).
    const HEIGHT_KEY_HAS_ATTRIBUTES: bool;
}

struct Txs<'a>(&'a BlockStore);
struct Blocks<'a>(&'a BlockStore);

impl Index for Txs<'_> {
    type Loc = TxLocation;
    const HEIGHT_KEY: &'static str = TX_HEIGHT;
    const HEIGHT_KEY_HAS_ATTRIBUTES: bool = true;
    fn entries(
        &self,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        visit: &mut dyn FnMut(IndexEntry<TxLocation>),
    ) -> anyhow::Result<()> {
        self.0.tx_entries(key, exact, budget, visit)
    }
    fn height(loc: &TxLocation) -> u64 {
        loc.height
    }
}

impl Index for Blocks<'_> {
    type Loc = u64;
    const HEIGHT_KEY: &'static str = BLOCK_HEIGHT;
    const HEIGHT_KEY_HAS_ATTRIBUTES: bool = false;
    fn entries(
        &self,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        visit: &mut dyn FnMut(IndexEntry<u64>),
    ) -> anyhow::Result<()> {
        self.0.block_entries(key, exact, budget, visit)
    }
    fn height(loc: &u64) -> u64 {
        *loc
    }
}

/// The entries one range admits (CometBFT's `matchRange`).
fn match_range<I: Index>(
    index: &I,
    range: &Range,
    heights: &HeightInfo,
    budget: &mut ScanBudget,
) -> anyhow::Result<BTreeSet<(I::Loc, u32)>> {
    let mut hits = BTreeSet::new();
    if !range.is_numeric() {
        return Ok(hits);
    }
    let on_height = range.key == I::HEIGHT_KEY;
    index.entries(&range.key, None, budget, &mut |e| {
        let Some(v) = Decimal::parse_value(&e.value) else {
            return;
        };
        if (on_height || heights.admits(I::height(&e.loc))) && range.holds(&v) {
            hits.insert((e.loc, e.seq));
        }
    })?;
    Ok(hits)
}

/// The entries one `=`, `EXISTS` or `CONTAINS` condition admits
/// (CometBFT's `match`).
fn match_condition<I: Index>(
    index: &I,
    c: &Condition,
    heights: &HeightInfo,
    budget: &mut ScanBudget,
) -> anyhow::Result<BTreeSet<(I::Loc, u32)>> {
    let mut hits = BTreeSet::new();
    if c.tag == I::HEIGHT_KEY && c.op != Op::Eq && !I::HEIGHT_KEY_HAS_ATTRIBUTES {
        return Ok(hits);
    }
    let exact = (c.op == Op::Eq).then(|| c.value());
    index.entries(&c.tag, exact, budget, &mut |e| {
        let admitted = match c.op {
            Op::Contains => e.value.contains(c.value()),
            _ => true,
        };
        if admitted && heights.admits(I::height(&e.loc)) {
            hits.insert((e.loc, e.seq));
        }
    })?;
    Ok(hits)
}

/// The shared part of both searches, from `dedupHeight` on.
fn search<I: Index>(
    index: &I,
    conditions: Vec<Condition>,
    mut heights: HeightInfo,
    budget: &mut ScanBudget,
) -> anyhow::Result<BTreeSet<I::Loc>> {
    let (ranges, range_positions, height_range) = ranges(&conditions, I::HEIGHT_KEY);
    heights.range = height_range;
    let mut skip = range_positions;
    if !heights.only_eq {
        skip.extend(heights.eq_index);
    }
    let mut matches = Matches::new();
    for r in &ranges {
        if r.key == I::HEIGHT_KEY && !heights.only_range {
            continue;
        }
        if matches.exhausted() {
            break;
        }
        matches.intersect(match_range(index, r, &heights, budget)?);
    }
    for (i, c) in conditions.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        if matches.exhausted() {
            break;
        }
        matches.intersect(match_condition(index, c, &heights, budget)?);
    }
    Ok(matches.locations())
}

/// The locations of the txs matching `query`, in chain order.
pub fn txs(
    store: &BlockStore,
    query: &Query,
    budget: &mut ScanBudget,
) -> Result<BTreeSet<TxLocation>, SearchError> {
    if let Some(c) = query.conditions.iter().find(|c| c.tag == "tx.hash") {
        let bytes = go_hex(c.value()).map_err(SearchError::BadHash)?;
        if bytes.is_empty() {
            return Err(SearchError::EmptyHash);
        }
        let found = match Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &bytes) {
            Ok(hash) => store.tx(&hash)?,
            Err(_) => None,
        };
        return Ok(found.into_iter().collect());
    }
    let (conditions, heights) = dedup_height(&query.conditions, TX_HEIGHT);
    Ok(search(&Txs(store), conditions, heights, budget)?)
}

/// The heights of the blocks matching `query`, in chain order.
pub fn blocks(
    store: &BlockStore,
    query: &Query,
    budget: &mut ScanBudget,
) -> Result<BTreeSet<u64>, SearchError> {
    let (conditions, heights) = dedup_height(&query.conditions, BLOCK_HEIGHT);
    if heights.only_eq {
        let h = u64::try_from(heights.height).unwrap_or(0);
        return Ok(if store.has(h)? {
            BTreeSet::from([h])
        } else {
            BTreeSet::new()
        });
    }
    Ok(search(&Blocks(store), conditions, heights, budget)?)
}

/// The page of `total` results CometBFT's `validatePage` and
/// `validatePerPage` choose: `per_page` below 1 is 30 and above 100 is 100;
/// `page` defaults to 1 and must lie within the pages there are. Returns how
/// many to skip and how many to take.
pub fn page(
    total: usize,
    page: Option<i64>,
    per_page: Option<i64>,
) -> Result<(usize, usize), String> {
    let per_page = match per_page {
        None => DEFAULT_PER_PAGE,
        Some(n) if n < 1 => DEFAULT_PER_PAGE,
        Some(n) => n.min(MAX_PER_PAGE),
    };
    let total_i = i64::try_from(total).unwrap_or(i64::MAX);
    let page = match page {
        None => 1,
        Some(p) => {
            // Go's integer division truncates toward zero: no results is one page.
            let pages = ((total_i - 1) / per_page + 1).max(1);
            if p <= 0 || p > pages {
                return Err(format!(
                    "page should be within [1, {pages}] range, given {p}"
                ));
            }
            p
        }
    };
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let take = usize::try_from(per_page)
        .unwrap_or(usize::MAX)
        .min(total.saturating_sub(skip));
    Ok((skip, take))
}

/// `v`'s items in order, newest first when `desc`, cut to a page.
pub fn ordered_page<T: Clone>(
    items: &BTreeSet<T>,
    desc: bool,
    (skip, take): (usize, usize),
) -> Vec<T> {
    if desc {
        items.iter().rev().skip(skip).take(take).cloned().collect()
    } else {
        items.iter().skip(skip).take(take).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_cometbfts_bounds() {
        assert_eq!(page(45, None, None), Ok((0, 30)));
        assert_eq!(page(45, Some(2), None), Ok((30, 15)));
        assert_eq!(page(45, Some(1), Some(2)), Ok((0, 2)));
        assert!(page(45, Some(3), None).is_err());
        assert_eq!(
            page(45, Some(0), None),
            Err("page should be within [1, 2] range, given 0".to_string())
        );
        assert_eq!(page(0, Some(1), None), Ok((0, 0)));
        // No page given: the first, even past the end; a bad per_page is 30.
        assert_eq!(page(0, None, Some(-4)), Ok((0, 0)));
        assert_eq!(page(250, Some(1), Some(i64::MAX)), Ok((0, 100)));
        assert!(page(250, Some(i64::MAX), Some(i64::MAX)).is_err());
        let items: BTreeSet<u64> = (1..=5).collect();
        assert_eq!(ordered_page(&items, true, (1, 2)), vec![4, 3]);
    }

    #[test]
    fn height_conditions_are_deduplicated_as_cometbft_does() {
        let q = |s: &str| Query::parse(s).unwrap().conditions;
        let (c, h) = dedup_height(&q("tx.height = 5 AND a.b = 'x'"), TX_HEIGHT);
        assert_eq!(
            (c.len(), h.height, h.only_eq, h.eq_index),
            (2, 5, false, Some(1))
        );
        let (c, h) = dedup_height(&q("tx.height = 5 AND tx.height > 2"), TX_HEIGHT);
        assert_eq!((c.len(), h.height, h.eq_index), (1, 0, None));
        let (c, h) = dedup_height(&q("tx.height = 'abc'"), TX_HEIGHT);
        assert_eq!((c.len(), h.only_eq), (0, false));
        let (_, h) = dedup_height(&q("tx.height = 11 AND tx.height = 10"), TX_HEIGHT);
        assert_eq!((h.height, h.only_eq), (11, true));
    }

    #[test]
    fn ranges_merge_per_key_and_hold_exactly() {
        let q = Query::parse("a.b > 5 AND a.b <= 7 AND c.d >= 1").unwrap();
        let (r, positions, height) = ranges(&q.conditions, TX_HEIGHT);
        assert_eq!(positions, vec![0, 1, 2]);
        assert!(height.is_none());
        let n = |s: &str| Decimal::parse_value(s).unwrap();
        assert!(!r[0].holds(&n("5")));
        assert!(r[0].holds(&n("5.5")));
        assert!(r[0].holds(&n("7")));
        assert!(!r[0].holds(&n("7.01")));
        let t = Query::parse("a.b > TIME 2020-01-01T00:00:00Z").unwrap();
        assert!(!ranges(&t.conditions, TX_HEIGHT).0[0].is_numeric());
    }

    #[test]
    fn hex_errors_read_as_gos() {
        assert_eq!(go_hex("abc"), Err("odd length hex string".to_string()));
        assert_eq!(go_hex("zz"), Err("invalid byte: U+007A 'z'".to_string()));
        assert_eq!(go_hex("0A"), Ok(vec![10]));
    }
}
