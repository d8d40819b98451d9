//! The block store: a RocksDB (under `<home>/data/blocks`, separate from the
//! application state) holding each block, the commit that signs it, its
//! FinalizeBlock response and a tx index. One block is written in one
//! atomic batch, before the application commits it, so the store is at
//! most one block ahead of the state (the block replayed on restart).
//!
//! Keys (heights big-endian so they sort):
//! - `b` + height: the block (protobuf `tendermint.types.Block`);
//! - `c` + height: the commit for that block (protobuf `tendermint.types.Commit`);
//! - `r` + height: the FinalizeBlock response (protobuf);
//! - `t` + tx hash (32 bytes): height (8 bytes) and index in the block (4 bytes);
//! - `h` + block hash (32 bytes): height (8 bytes), for `block_by_hash`;
//! - `e` + key length (2 bytes) + composite event key + value + height +
//!   index (4 bytes) + event sequence (4 bytes): empty, one per attribute
//!   of a tx's events that asks to be indexed (`index: true`), the sequence
//!   being the event's position in the tx's events from 1, and one for
//!   CometBFT's reserved `tx.height` under sequence 0, for `tx_search`;
//! - `E` + key length + key + value + height + event sequence: the same
//!   for a block's FinalizeBlock events (and `block.height`, sequence 0),
//!   for `block_search`;
//! - `index_version`: the version of the `h`/`e`/`E` layout; a store
//!   written before it (or by an older layout) is re-indexed on open;
//! - `last`: the last stored height.
//!
//! The event indexes grow with the attributes the app emits (a transfer
//! adds about ten entries). Attribute values longer than
//! [`MAX_INDEXED_VALUE`] bytes are not indexed, which keeps an entry small
//! and bounds what one tx can add; queries cannot find txs by such values.
//! A search visits at most the entries its [`ScanBudget`] allows, so one
//! RPC request cannot walk an index that grows with the whole chain.
//!
//! Each block is written with a synced write (the WAL is fsynced before
//! [`BlockStore::put`] returns), as the state store syncs its commits: the
//! block must be durable before the app commits it, or a power loss could
//! leave the state ahead of the blocks, which no restart can repair.

use std::path::Path;

use anyhow::{bail, Context};
use prost::Message;
use tendermint::{
    block::{Block, Commit, Header},
    Hash,
};
use tendermint_proto::{
    v0_38::{abci::ResponseFinalizeBlock, types as pb},
    Protobuf,
};

/// One event index entry: the attribute's value, where it was emitted and
/// the position of its event (0 for the reserved height keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry<L> {
    /// The attribute's value.
    pub value: String,
    /// The tx (or block height) that emitted it.
    pub loc: L,
    /// The event's position among the tx's (or block's) events, from 1.
    pub seq: u32,
}

/// Where a transaction landed (ordered by height, then position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TxLocation {
    /// The block height.
    pub height: u64,
    /// The position in the block.
    pub index: u32,
}

/// Everything stored for one height.
#[derive(Debug, Clone)]
pub struct StoredBlock {
    /// The block.
    pub block: Block,
    /// The commit signing it.
    pub commit: Commit,
    /// What FinalizeBlock returned for it.
    pub results: ResponseFinalizeBlock,
}

/// The block store.
pub struct BlockStore {
    db: rocksdb::DB,
}

/// How many index entries one search may still visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanBudget {
    limit: usize,
    left: usize,
}

impl ScanBudget {
    /// A budget of `limit` index entries.
    pub fn new(limit: usize) -> Self {
        ScanBudget { limit, left: limit }
    }

    /// Spends one entry, failing once the budget is used up.
    fn spend(&mut self) -> Result<(), ScanLimitExceeded> {
        self.left = self
            .left
            .checked_sub(1)
            .ok_or(ScanLimitExceeded { limit: self.limit })?;
        Ok(())
    }
}

/// A search needed more index entries than its budget allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the query would visit more than {limit} index entries; narrow it with more \
     conditions or exact values"
)]
pub struct ScanLimitExceeded {
    /// The budget that ran out.
    pub limit: usize,
}

fn height_key(prefix: u8, height: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(prefix);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

fn block_key(height: u64) -> Vec<u8> {
    height_key(b'b', height)
}

fn commit_key(height: u64) -> Vec<u8> {
    height_key(b'c', height)
}

fn results_key(height: u64) -> Vec<u8> {
    height_key(b'r', height)
}

fn tx_key(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(b't');
    k.extend_from_slice(hash);
    k
}

fn block_hash_key(hash: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(b'h');
    k.extend_from_slice(hash);
    k
}

/// Attribute values longer than this are left out of the event indexes.
pub const MAX_INDEXED_VALUE: usize = 1024;

/// The event index prefix for `key` (`e` for txs, `E` for blocks), with the
/// value when given.
fn event_prefix(kind: u8, key: &str, value: Option<&str>) -> Option<Vec<u8>> {
    let len = u16::try_from(key.len()).ok()?;
    let mut k = Vec::with_capacity(3 + key.len() + value.map_or(0, str::len) + 12);
    k.push(kind);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(key.as_bytes());
    if let Some(v) = value {
        k.extend_from_slice(v.as_bytes());
    }
    Some(k)
}

const TX_EVENTS: u8 = b'e';
const BLOCK_EVENTS: u8 = b'E';

const LAST_KEY: &[u8] = b"last";
const INDEX_VERSION_KEY: &[u8] = b"index_version";
/// Bumped whenever the indexes' layout or content changes.
const INDEX_VERSION: u32 = 2;

impl BlockStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        Self::open_with(dir, &opts)
    }

    fn open_with(dir: &Path, opts: &rocksdb::Options) -> anyhow::Result<Self> {
        let db = rocksdb::DB::open(opts, dir)
            .with_context(|| format!("opening the block store in {}", dir.display()))?;
        let store = BlockStore { db };
        store.ensure_indexes()?;
        Ok(store)
    }

    /// Rebuilds the hash and event indexes of a store written before them.
    fn ensure_indexes(&self) -> anyhow::Result<()> {
        let version = self.db.get(INDEX_VERSION_KEY)?;
        if version.as_deref() == Some(INDEX_VERSION.to_be_bytes().as_slice()) {
            return Ok(());
        }
        let mut heights = Vec::new();
        for item in self.db.iterator(rocksdb::IteratorMode::From(
            b"b",
            rocksdb::Direction::Forward,
        )) {
            let (k, _) = item?;
            if k.len() != 9 || k[0] != b'b' {
                break;
            }
            heights.push(u64::from_be_bytes(<[u8; 8]>::try_from(&k[1..])?));
        }
        if !heights.is_empty() {
            tracing::info!(blocks = heights.len(), "indexing the block store's events");
        }
        // Entries of an older layout would be misread: drop them all first.
        let mut batch = rocksdb::WriteBatch::default();
        batch.delete_range(vec![TX_EVENTS], vec![TX_EVENTS + 1]);
        batch.delete_range(vec![BLOCK_EVENTS], vec![BLOCK_EVENTS + 1]);
        self.db
            .write(batch)
            .context("dropping the old event indexes")?;
        for h in heights {
            let stored = self
                .get(h)?
                .with_context(|| format!("block {h} vanished while indexing"))?;
            let mut batch = rocksdb::WriteBatch::default();
            index(&mut batch, &stored)?;
            self.db.write(batch).context("writing an index")?;
        }
        // One synced write makes every index batch before it durable too:
        // the WAL is synced in order.
        self.db
            .put_opt(INDEX_VERSION_KEY, INDEX_VERSION.to_be_bytes(), &synced())
            .context("writing the index version")?;
        Ok(())
    }

    /// The last stored height (0 when empty).
    pub fn last_height(&self) -> anyhow::Result<u64> {
        match self.db.get(LAST_KEY)? {
            None => Ok(0),
            Some(v) => Ok(u64::from_be_bytes(
                v.as_slice()
                    .try_into()
                    .context("corrupt last height in the block store")?,
            )),
        }
    }

    /// Writes one block, its commit, its results and its tx index atomically.
    pub fn put(&self, stored: &StoredBlock) -> anyhow::Result<()> {
        let height = stored.block.header.height.value();
        let last = self.last_height()?;
        if last != 0 && height != last + 1 {
            bail!("block store holds height {last}; cannot store {height}");
        }
        let mut batch = rocksdb::WriteBatch::default();
        batch.put(
            block_key(height),
            Protobuf::<pb::Block>::encode_vec(stored.block.clone()),
        );
        batch.put(
            commit_key(height),
            pb::Commit::from(stored.commit.clone()).encode_to_vec(),
        );
        batch.put(results_key(height), stored.results.encode_to_vec());
        index(&mut batch, stored)?;
        batch.put(LAST_KEY, height.to_be_bytes());
        self.db
            .write_opt(batch, &synced())
            .context("writing a block")?;
        Ok(())
    }

    /// The block, commit and results at `height`, if stored.
    pub fn get(&self, height: u64) -> anyhow::Result<Option<StoredBlock>> {
        let Some(block) = self.db.get(block_key(height))? else {
            return Ok(None);
        };
        let block = <Block as Protobuf<pb::Block>>::decode_vec(&block)
            .with_context(|| format!("decoding block {height}"))?;
        let commit = self.commit(height)?;
        let results = self
            .db
            .get(results_key(height))?
            .with_context(|| format!("block {height} has no results"))?;
        let results = ResponseFinalizeBlock::decode(results.as_slice())
            .with_context(|| format!("decoding results {height}"))?;
        Ok(Some(StoredBlock {
            block,
            commit,
            results,
        }))
    }

    /// The id and header of the block at `height`, if stored, without
    /// decoding its txs or results (CometBFT's block meta).
    pub fn meta(&self, height: u64) -> anyhow::Result<Option<(tendermint::block::Id, Header)>> {
        /// A block with everything but its header skipped by the decoder.
        #[derive(Clone, PartialEq, prost::Message)]
        struct HeaderOnly {
            #[prost(message, optional, tag = "1")]
            header: Option<pb::Header>,
        }
        let Some(bytes) = self.db.get_pinned(block_key(height))? else {
            return Ok(None);
        };
        let header = HeaderOnly::decode(bytes.as_ref())
            .with_context(|| format!("decoding block {height}'s header"))?
            .header
            .with_context(|| format!("block {height} has no header"))?;
        let header =
            Header::try_from(header).map_err(|e| anyhow::anyhow!("header {height}: {e}"))?;
        Ok(Some((self.commit(height)?.block_id, header)))
    }

    /// The commit of the stored block at `height`.
    fn commit(&self, height: u64) -> anyhow::Result<Commit> {
        let commit = self
            .db
            .get_pinned(commit_key(height))?
            .with_context(|| format!("block {height} has no commit"))?;
        pb::Commit::decode(commit.as_ref())
            .map_err(anyhow::Error::from)
            .and_then(|c| Commit::try_from(c).map_err(|e| anyhow::anyhow!("{e}")))
            .with_context(|| format!("decoding commit {height}"))
    }

    /// The FinalizeBlock results of the block at `height`, if stored,
    /// without decoding the block.
    pub fn results(&self, height: u64) -> anyhow::Result<Option<ResponseFinalizeBlock>> {
        let Some(bytes) = self.db.get_pinned(results_key(height))? else {
            return Ok(None);
        };
        Ok(Some(
            ResponseFinalizeBlock::decode(bytes.as_ref())
                .with_context(|| format!("decoding results {height}"))?,
        ))
    }

    /// Whether the block at `height` is stored.
    pub fn has(&self, height: u64) -> anyhow::Result<bool> {
        Ok(self.db.get_pinned(block_key(height))?.is_some())
    }

    /// The height of the block whose hash is `hash`, if stored.
    pub fn height_of(&self, hash: &Hash) -> anyhow::Result<Option<u64>> {
        let Some(v) = self.db.get(block_hash_key(hash.as_bytes()))? else {
            return Ok(None);
        };
        Ok(Some(u64::from_be_bytes(
            v.as_slice()
                .try_into()
                .context("corrupt block hash index entry")?,
        )))
    }

    /// Visits the entries of one event index under `prefix`, passing each
    /// entry's value and the fixed-size tail after it (location and event
    /// sequence). Every entry visited is charged to `budget`, matching or not.
    fn scan_events(
        &self,
        prefix: &[u8],
        tail_len: usize,
        value_len: Option<usize>,
        budget: &mut ScanBudget,
        mut visit: impl FnMut(&str, &[u8]),
    ) -> anyhow::Result<()> {
        let key_end = 3 + usize::from(u16::from_be_bytes([prefix[1], prefix[2]]));
        for item in self.db.iterator(rocksdb::IteratorMode::From(
            prefix,
            rocksdb::Direction::Forward,
        )) {
            let (k, _) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            // With an exact value, its entries come first: each continues
            // with a big-endian height, whose first byte is 0 (heights below
            // 2^56), and a longer value continues with a non-zero byte. So
            // the first non-zero byte after the value ends the scan, and a
            // search for `tx.height = 2` never walks the values 20, 21, ….
            if value_len.is_some() && k.get(prefix.len()).is_some_and(|b| *b != 0) {
                break;
            }
            budget.spend()?;
            if k.len() < key_end + tail_len {
                bail!("corrupt event index entry");
            }
            let (rest, tail) = k.split_at(k.len() - tail_len);
            let value = &rest[key_end..];
            if value_len.is_some_and(|n| n != value.len()) {
                continue;
            }
            visit(&String::from_utf8_lossy(value), tail);
        }
        Ok(())
    }

    /// Visits the tx index entries of attribute `key` (`transfer.recipient`,
    /// `tx.height`); only those of the value `exact`, when given. Fails with
    /// [`ScanLimitExceeded`] rather than visit more entries than `budget` holds.
    pub fn tx_entries(
        &self,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        mut visit: impl FnMut(IndexEntry<TxLocation>),
    ) -> anyhow::Result<()> {
        let Some(prefix) = event_prefix(TX_EVENTS, key, exact) else {
            return Ok(());
        };
        let mut bad = false;
        self.scan_events(&prefix, 16, exact.map(str::len), budget, |value, tail| {
            let (h, rest) = tail.split_at(8);
            let (i, seq) = rest.split_at(4);
            match (
                <[u8; 8]>::try_from(h),
                <[u8; 4]>::try_from(i),
                <[u8; 4]>::try_from(seq),
            ) {
                (Ok(h), Ok(i), Ok(seq)) => visit(IndexEntry {
                    value: value.to_string(),
                    loc: TxLocation {
                        height: u64::from_be_bytes(h),
                        index: u32::from_be_bytes(i),
                    },
                    seq: u32::from_be_bytes(seq),
                }),
                _ => bad = true,
            }
        })?;
        if bad {
            bail!("corrupt tx event index entry");
        }
        Ok(())
    }

    /// Visits the block index entries of attribute `key` (`block.height`, a
    /// FinalizeBlock event attribute); only those of the value `exact`, when
    /// given. Fails with [`ScanLimitExceeded`] rather than overrun `budget`.
    pub fn block_entries(
        &self,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        mut visit: impl FnMut(IndexEntry<u64>),
    ) -> anyhow::Result<()> {
        let Some(prefix) = event_prefix(BLOCK_EVENTS, key, exact) else {
            return Ok(());
        };
        let mut bad = false;
        self.scan_events(&prefix, 12, exact.map(str::len), budget, |value, tail| {
            let (h, seq) = tail.split_at(8);
            match (<[u8; 8]>::try_from(h), <[u8; 4]>::try_from(seq)) {
                (Ok(h), Ok(seq)) => visit(IndexEntry {
                    value: value.to_string(),
                    loc: u64::from_be_bytes(h),
                    seq: u32::from_be_bytes(seq),
                }),
                _ => bad = true,
            }
        })?;
        if bad {
            bail!("corrupt block event index entry");
        }
        Ok(())
    }

    /// Where the tx with `hash` landed, if it did.
    pub fn tx(&self, hash: &Hash) -> anyhow::Result<Option<TxLocation>> {
        let Ok(hash) = <[u8; 32]>::try_from(hash.as_bytes()) else {
            return Ok(None);
        };
        let Some(v) = self.db.get(tx_key(&hash))? else {
            return Ok(None);
        };
        if v.len() != 12 {
            bail!("corrupt tx index entry");
        }
        let (h, i) = v.split_at(8);
        Ok(Some(TxLocation {
            height: u64::from_be_bytes(h.try_into()?),
            index: u32::from_be_bytes(i.try_into()?),
        }))
    }
}

/// Write options that sync the WAL before the write returns.
fn synced() -> rocksdb::WriteOptions {
    let mut opts = rocksdb::WriteOptions::default();
    opts.set_sync(true);
    opts
}

/// The attributes CometBFT's indexers store for `events`: those with a
/// type, a key and `index: true`, each with its event's position from 1,
/// except the `reserved` composite key (CometBFT refuses to index it).
fn indexed_attributes<'a>(
    events: &'a [tendermint_proto::v0_38::abci::Event],
    reserved: &'a [&str],
) -> impl Iterator<Item = (String, &'a str, u32)> + 'a {
    events
        .iter()
        .zip(1u32..)
        .filter(|(e, _)| !e.r#type.is_empty())
        .flat_map(move |(e, seq)| {
            e.attributes
                .iter()
                .filter(|a| a.index && !a.key.is_empty())
                .map(move |a| (format!("{}.{}", e.r#type, a.key), a.value.as_str(), seq))
        })
        .filter(move |(key, value, _)| {
            !reserved.contains(&key.as_str()) && value.len() <= MAX_INDEXED_VALUE
        })
}

/// Adds one event index entry to `batch`.
fn put_entry(batch: &mut rocksdb::WriteBatch, kind: u8, key: &str, value: &str, tail: &[u8]) {
    if let Some(mut k) = event_prefix(kind, key, Some(value)) {
        k.extend_from_slice(tail);
        batch.put(k, b"");
    }
}

/// Adds `stored`'s tx locations, block hash and event indexes to `batch`.
fn index(batch: &mut rocksdb::WriteBatch, stored: &StoredBlock) -> anyhow::Result<()> {
    let height = stored.block.header.height.value();
    batch.put(
        block_hash_key(stored.commit.block_id.hash.as_bytes()),
        height.to_be_bytes(),
    );
    let height_text = height.to_string();
    for (i, tx) in stored.block.data.iter().enumerate() {
        let mut loc = height.to_be_bytes().to_vec();
        loc.extend_from_slice(&u32::try_from(i)?.to_be_bytes());
        batch.put(tx_key(&deai_app::tx::tx_hash(tx)), &loc);
        let mut tail = loc.clone();
        tail.extend_from_slice(&0u32.to_be_bytes());
        put_entry(batch, TX_EVENTS, "tx.height", &height_text, &tail);
        let Some(result) = stored.results.tx_results.get(i) else {
            continue;
        };
        for (key, value, seq) in indexed_attributes(&result.events, &["tx.hash", "tx.height"]) {
            let mut tail = loc.clone();
            tail.extend_from_slice(&seq.to_be_bytes());
            put_entry(batch, TX_EVENTS, &key, value, &tail);
        }
    }
    let mut tail = height.to_be_bytes().to_vec();
    tail.extend_from_slice(&0u32.to_be_bytes());
    put_entry(batch, BLOCK_EVENTS, "block.height", &height_text, &tail);
    for (key, value, seq) in indexed_attributes(&stored.results.events, &["block.height"]) {
        let mut tail = height.to_be_bytes().to_vec();
        tail.extend_from_slice(&seq.to_be_bytes());
        put_entry(batch, BLOCK_EVENTS, &key, value, &tail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use deai_auth::AuthRead;
    use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
    use deai_keys::{Backend, Keyring};
    use deai_types::Coin;

    use std::collections::BTreeSet;

    use super::*;
    use crate::{home, Devnet, DevnetHome};

    fn plenty() -> ScanBudget {
        ScanBudget::new(usize::MAX)
    }

    /// The txs with an entry for `key` (of value `exact`, if given) that `keep` takes.
    fn txs(
        store: &BlockStore,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
        keep: impl Fn(&str) -> bool,
    ) -> anyhow::Result<BTreeSet<TxLocation>> {
        let mut out = BTreeSet::new();
        store.tx_entries(key, exact, budget, |e| {
            if keep(&e.value) {
                out.insert(e.loc);
            }
        })?;
        Ok(out)
    }

    /// The heights with an entry for `key` (of value `exact`, if given).
    fn blocks(
        store: &BlockStore,
        key: &str,
        exact: Option<&str>,
        budget: &mut ScanBudget,
    ) -> anyhow::Result<BTreeSet<u64>> {
        let mut out = BTreeSet::new();
        store.block_entries(key, exact, budget, |e| {
            out.insert(e.loc);
        })?;
        Ok(out)
    }

    /// A devnet home with two blocks, the second holding a transfer to dev2.
    fn chain_with_a_transfer() -> (tempfile::TempDir, DevnetHome, String, Hash) {
        let dir = tempfile::tempdir().unwrap();
        let home = DevnetHome(dir.path().to_path_buf());
        let accounts =
            home::ensure_genesis(&home, "deai-store-test", "2026-01-01T00:00:00Z").unwrap();
        let mut devnet = Devnet::open(&home).unwrap();
        devnet.produce_block().unwrap();
        let kr = Keyring::open(&home.keyring(), Backend::Test).unwrap();
        let key = Key::from_signing_key(kr.signing_key("dev0", None).unwrap());
        let account = devnet
            .app()
            .storage()
            .latest_snapshot()
            .account(&key.address())
            .unwrap()
            .unwrap();
        let p = TxParams {
            chain_id: "deai-store-test".to_string(),
            account_number: account.account_number,
            sequence: 0,
            fee: Some(Coin::new(2_000, "udeai")),
            gas_limit: 200_000,
            memo: String::new(),
        };
        let to = accounts[2].address;
        let tx = sign_tx(
            &key,
            vec![msg_send(&key.address(), &to, &[Coin::new(7, "udeai")])],
            &p,
        );
        assert_eq!(devnet.check_tx(tx).unwrap().code, 0);
        let block = devnet.produce_block().unwrap();
        (dir, home, to.to_string(), block.block_id.hash)
    }

    #[test]
    fn a_transfer_is_found_by_its_events_and_its_block_by_hash() {
        let (_dir, home, recipient, block_hash) = chain_with_a_transfer();
        let store = BlockStore::open(&home.blocks_dir()).unwrap();
        let at_2 = BTreeSet::from([TxLocation {
            height: 2,
            index: 0,
        }]);
        assert_eq!(
            txs(
                &store,
                "transfer.recipient",
                Some(&recipient),
                &mut plenty(),
                |_| true
            )
            .unwrap(),
            at_2
        );
        assert_eq!(
            txs(&store, "tx.height", None, &mut plenty(), |v| v == "2").unwrap(),
            at_2
        );
        // An exact value is not a prefix: a longer recipient does not match.
        let shorter = &recipient[..recipient.len() - 1];
        assert!(txs(
            &store,
            "transfer.recipient",
            Some(shorter),
            &mut plenty(),
            |_| true
        )
        .unwrap()
        .is_empty());
        assert_eq!(
            blocks(&store, "block.height", None, &mut plenty()).unwrap(),
            BTreeSet::from([1, 2])
        );
        assert_eq!(store.height_of(&block_hash).unwrap(), Some(2));
    }

    #[test]
    fn a_blocks_meta_and_results_read_alone_match_the_whole_block() {
        let (_dir, home, _, block_hash) = chain_with_a_transfer();
        let store = BlockStore::open(&home.blocks_dir()).unwrap();
        let whole = store.get(2).unwrap().unwrap();
        let (id, header) = store.meta(2).unwrap().unwrap();
        assert_eq!((id, header), (whole.commit.block_id, whole.block.header));
        assert_eq!(id.hash, block_hash);
        assert_eq!(store.results(2).unwrap().unwrap(), whole.results);
        assert!(store.meta(3).unwrap().is_none());
        assert!(store.results(3).unwrap().is_none());
    }

    #[test]
    fn a_store_written_before_the_indexes_is_indexed_on_open() {
        let (_dir, home, recipient, block_hash) = chain_with_a_transfer();
        {
            // Strip the indexes, as a store from before them would be.
            let store = BlockStore::open(&home.blocks_dir()).unwrap();
            let mut doomed = Vec::new();
            for item in store.db.iterator(rocksdb::IteratorMode::Start) {
                let (k, _) = item.unwrap();
                if matches!(k.first(), Some(b'e' | b'E' | b'h')) || &*k == INDEX_VERSION_KEY {
                    doomed.push(k);
                }
            }
            assert!(!doomed.is_empty());
            for k in doomed {
                store.db.delete(k).unwrap();
            }
            assert!(txs(
                &store,
                "transfer.recipient",
                Some(&recipient),
                &mut plenty(),
                |_| true
            )
            .unwrap()
            .is_empty());
        }
        let store = BlockStore::open(&home.blocks_dir()).unwrap();
        assert_eq!(
            txs(
                &store,
                "transfer.recipient",
                Some(&recipient),
                &mut plenty(),
                |_| true
            )
            .unwrap()
            .len(),
            1
        );
        assert_eq!(store.height_of(&block_hash).unwrap(), Some(2));
    }

    #[test]
    fn a_search_that_would_visit_more_entries_than_its_budget_is_refused() {
        let (_dir, home, _, _) = chain_with_a_transfer();
        let store = BlockStore::open(&home.blocks_dir()).unwrap();
        // Two blocks: two `block.height` entries.
        let mut exact = ScanBudget::new(2);
        assert_eq!(
            blocks(&store, "block.height", None, &mut exact)
                .unwrap()
                .len(),
            2
        );
        let mut short = ScanBudget::new(1);
        let e = blocks(&store, "block.height", None, &mut short).unwrap_err();
        assert_eq!(
            e.downcast_ref::<ScanLimitExceeded>(),
            Some(&ScanLimitExceeded { limit: 1 })
        );
        // The budget is spent across calls: one request, one budget.
        let mut shared = ScanBudget::new(2);
        txs(&store, "tx.height", None, &mut shared, |_| true).unwrap();
        assert!(blocks(&store, "block.height", None, &mut shared).is_err());
    }

    #[test]
    fn an_exact_value_scan_stops_before_longer_values_that_share_its_prefix() {
        let (_dir, home, _, _) = chain_with_a_transfer();
        {
            let mut devnet = Devnet::open(&home).unwrap();
            for _ in 0..10 {
                devnet.produce_block().unwrap();
            }
        }
        let store = BlockStore::open(&home.blocks_dir()).unwrap();
        // Heights 1, 10, 11 and 12 all start with "1"; only 1 is visited.
        let mut one = ScanBudget::new(1);
        assert_eq!(
            blocks(&store, "block.height", Some("1"), &mut one).unwrap(),
            BTreeSet::from([1])
        );
    }

    #[test]
    fn each_block_is_written_with_a_synced_write() {
        let (_dir, home, _, _) = chain_with_a_transfer();
        let mut opts = rocksdb::Options::default();
        opts.enable_statistics();
        let store = BlockStore::open_with(&home.blocks_dir(), &opts).unwrap();
        let synced = || opts.get_ticker_count(rocksdb::statistics::Ticker::WalFileSynced);
        let before = synced();
        let next = store.get(2).unwrap().unwrap();
        let mut third = next.clone();
        third.block.header.height = tendermint::block::Height::from(3u32);
        store.put(&third).unwrap();
        assert!(
            synced() > before,
            "the block was written without syncing the WAL"
        );
    }
}
