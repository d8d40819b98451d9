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
//! - `last`: the last stored height.

use std::path::Path;

use anyhow::{bail, Context};
use prost::Message;
use tendermint::{
    block::{Block, Commit},
    Hash,
};
use tendermint_proto::{
    v0_38::{abci::ResponseFinalizeBlock, types as pb},
    Protobuf,
};

/// Where a transaction landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

const LAST_KEY: &[u8] = b"last";

impl BlockStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        let db = rocksdb::DB::open(&opts, dir)
            .with_context(|| format!("opening the block store in {}", dir.display()))?;
        Ok(BlockStore { db })
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
        for (i, tx) in stored.block.data.iter().enumerate() {
            let mut loc = height.to_be_bytes().to_vec();
            loc.extend_from_slice(&u32::try_from(i)?.to_be_bytes());
            batch.put(tx_key(&deai_app::tx::tx_hash(tx)), loc);
        }
        batch.put(LAST_KEY, height.to_be_bytes());
        self.db.write(batch).context("writing a block")?;
        Ok(())
    }

    /// The block, commit and results at `height`, if stored.
    pub fn get(&self, height: u64) -> anyhow::Result<Option<StoredBlock>> {
        let Some(block) = self.db.get(block_key(height))? else {
            return Ok(None);
        };
        let block = <Block as Protobuf<pb::Block>>::decode_vec(&block)
            .with_context(|| format!("decoding block {height}"))?;
        let commit = self
            .db
            .get(commit_key(height))?
            .with_context(|| format!("block {height} has no commit"))?;
        let commit = pb::Commit::decode(commit.as_slice())
            .map_err(anyhow::Error::from)
            .and_then(|c| Commit::try_from(c).map_err(|e| anyhow::anyhow!("{e}")))
            .with_context(|| format!("decoding commit {height}"))?;
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
