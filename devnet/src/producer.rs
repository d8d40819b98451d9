//! The embedded block producer: one validator that proposes, accepts and
//! commits every block itself, driving [`App`] with CometBFT v0.38's ABCI
//! sequence — InitChain once, then per block PrepareProposal,
//! ProcessProposal, FinalizeBlock, Commit — with CheckTx feeding an ordered
//! mempool that is rechecked after every Commit.
//!
//! Order of writes per block, as in CometBFT: the block, its commit and its
//! FinalizeBlock results go to the block store first, then the app commits.
//! A crash in between leaves the store one block ahead; [`Devnet::open`]
//! replays that block.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use deai_app::{abci::exec_result, App, PreChecked, TxOutcome};
use deai_genesis::GenesisDoc;
use deai_types::module::{BlockInfo, BlockTime, CommitVote, VoteFlag};
use tendermint::{
    abci::response,
    account,
    block::{self, header::Version, Block, Commit, CommitSig, Header},
    chain, evidence, validator,
    vote::Power,
    AppHash, Hash, PublicKey, Time,
};
use tendermint_proto::v0_38::abci::ResponseFinalizeBlock;
use tracing::{debug, info, info_span};

use crate::{
    chain::{
        block_id, commit_hash, consensus_hash, data_hash, empty_evidence_hash, now_after,
        results_hash, sign_commit, validator_address, BLOCK_PROTOCOL,
    },
    home::{DevnetHome, PrivValidatorKey},
    store::{BlockStore, StoredBlock, TxLocation},
};

/// CometBFT's defaults when genesis gives no block limits.
const DEFAULT_BLOCK_MAX_BYTES: i64 = 4_194_304;
/// Room kept in a block for the header, the last commit and evidence
/// (CometBFT reserves the same from `block.max_bytes` for its txs).
const BLOCK_OVERHEAD_BYTES: i64 = 1_048_576 + 4_096;

/// How much the mempool holds at most (CometBFT's `[mempool]` defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolLimits {
    /// The most txs waiting at once (CometBFT's `size`: 5000).
    pub max_txs: usize,
    /// The most bytes of txs waiting at once (CometBFT's `max_txs_bytes`: 1 GB).
    pub max_bytes: usize,
    /// The largest tx taken (CometBFT's `max_tx_bytes`: 1 MiB).
    pub max_tx_bytes: usize,
    /// How many tx hashes the mempool remembers, to refuse a tx it has seen
    /// (CometBFT's `cache_size`: 10000).
    pub cache_size: usize,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 5_000,
            max_bytes: 1_073_741_824,
            max_tx_bytes: 1_048_576,
            cache_size: 10_000,
        }
    }
}

/// Why the mempool refused a tx before the app checked it, as CometBFT
/// refuses one (an RPC error, not a CheckTx code), in the order CometBFT
/// checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The mempool holds as many txs or bytes as it may.
    #[error("mempool is full: number of txs {txs} (max: {max_txs}), total txs bytes {bytes} (max: {max_bytes})")]
    Full {
        /// Txs waiting.
        txs: usize,
        /// Their limit.
        max_txs: usize,
        /// Bytes waiting.
        bytes: usize,
        /// Their limit.
        max_bytes: usize,
    },
    /// The tx is larger than the mempool takes.
    #[error("Tx too large. Max size is {max}, but got {size}")]
    TooLarge {
        /// The largest tx the mempool takes.
        max: usize,
        /// The tx's size.
        size: usize,
    },
    /// The tx, with its protobuf framing, could never fit in a block.
    #[error("tx pre check: tx size is too big: {size}, max: {max}")]
    PreCheck {
        /// The room for txs in a block.
        max: u64,
        /// The tx's size in a block.
        size: u64,
    },
    /// The mempool has seen these bytes: waiting, committed, or checked and
    /// not yet forgotten.
    #[error("tx already exists in cache")]
    InCache,
}

/// The hashes of the txs the mempool has seen, the least recently seen
/// forgotten first (CometBFT's `LRUTxCache`).
#[derive(Debug, Default)]
struct TxCache {
    by_hash: BTreeMap<[u8; 32], u64>,
    by_age: BTreeMap<u64, [u8; 32]>,
    next: u64,
}

impl TxCache {
    /// Remembers `hash`; false if it was already remembered (it becomes
    /// the most recently seen).
    fn push(&mut self, hash: [u8; 32], capacity: usize) -> bool {
        let fresh = match self.by_hash.insert(hash, self.next) {
            Some(old) => {
                self.by_age.remove(&old);
                false
            }
            None => true,
        };
        self.by_age.insert(self.next, hash);
        self.next += 1;
        while self.by_hash.len() > capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.by_hash.remove(&oldest);
        }
        fresh
    }

    fn remove(&mut self, hash: &[u8; 32]) {
        if let Some(age) = self.by_hash.remove(hash) {
            self.by_age.remove(&age);
        }
    }
}

/// What the producer remembers of the last block.
#[derive(Debug, Clone)]
struct Tip {
    height: u64,
    block_id: block::Id,
    commit: Commit,
    /// The app hash after the block: the next header's `app_hash`.
    app_hash: Vec<u8>,
    /// The hash of the block's results: the next header's `last_results_hash`.
    results_hash: Hash,
}

/// A block executed by the app, to be stored and then committed
/// ([`Devnet::finalize_next_block`]).
pub struct FinalizedBlock {
    /// The block with its commit and results, as the store takes it.
    pub stored: Arc<StoredBlock>,
    tip: Tip,
    /// The hashes of its txs, which leave the mempool.
    included: BTreeSet<[u8; 32]>,
    started: std::time::Instant,
    /// How long proposing and executing it took.
    finalizing: Duration,
}

/// A block just produced.
#[derive(Debug, Clone)]
pub struct ProducedBlock {
    /// Its height.
    pub height: u64,
    /// Its id.
    pub block_id: block::Id,
    /// How many txs it holds.
    pub txs: usize,
    /// The app hash after it.
    pub app_hash: Vec<u8>,
}

/// A running single-validator chain.
pub struct Devnet {
    app: App,
    /// Shared with the RPC, which reads blocks and searches the indexes
    /// without this devnet's lock.
    store: Arc<BlockStore>,
    key: ed25519_consensus::SigningKey,
    chain_id: chain::Id,
    validators: validator::Set,
    consensus_hash: Hash,
    max_tx_bytes: u64,
    genesis_time: Time,
    initial_height: u64,
    genesis_app_hash: Vec<u8>,
    tip: Option<Tip>,
    mempool: Vec<Vec<u8>>,
    /// The bytes of the txs in `mempool`.
    mempool_bytes: usize,
    mempool_limits: MempoolLimits,
    /// The txs the mempool has seen, refused when sent again.
    cache: TxCache,
    /// The height of a block finalized but not yet committed.
    finalized: Option<u64>,
    /// Every committed block, for websocket subscribers. A broadcast
    /// channel never blocks the sender: a subscriber that falls more than
    /// [`EVENT_BUFFER_BLOCKS`] behind loses its place (and the RPC cancels
    /// its subscriptions), as CometBFT drops slow subscribers.
    committed: tokio::sync::broadcast::Sender<Arc<StoredBlock>>,
    /// The genesis document as loaded, served by the `genesis` RPC.
    genesis: serde_json::Value,
}

/// How many committed blocks a subscriber may lag before it is dropped.
pub const EVENT_BUFFER_BLOCKS: usize = 64;

fn block_limits(doc: &GenesisDoc) -> (i64, i64) {
    let field = |name: &str| {
        doc.consensus_params
            .as_ref()
            .and_then(|p| p.pointer(&format!("/block/{name}")))
            .and_then(|v| match v {
                serde_json::Value::String(s) => s.parse::<i64>().ok(),
                other => other.as_i64(),
            })
    };
    (
        field("max_bytes").unwrap_or(DEFAULT_BLOCK_MAX_BYTES),
        field("max_gas").unwrap_or(-1),
    )
}

/// The validator set genesis names (`app_state.validators`).
pub fn genesis_validators(doc: &GenesisDoc) -> anyhow::Result<Vec<validator::Info>> {
    doc.app_state
        .validators
        .iter()
        .map(|v| {
            let raw = v.pub_key_bytes().map_err(|e| anyhow!(e))?;
            let key = PublicKey::from_raw_ed25519(&raw)
                .ok_or_else(|| anyhow!("validator {} key is not ed25519", v.name))?;
            Ok(validator::Info::new(key, Power::try_from(v.power)?))
        })
        .collect()
}

impl Devnet {
    /// Opens the devnet in `home` (which must hold a genesis and a validator
    /// key): runs InitChain on a fresh state and replays the block the store
    /// holds beyond the app's state, if any.
    pub fn open(home: &DevnetHome) -> anyhow::Result<Self> {
        let doc = GenesisDoc::load(&home.genesis())
            .with_context(|| format!("reading {}", home.genesis().display()))?;
        let key = PrivValidatorKey::load(&home.validator_key())?.signing_key()?;
        let address = validator_address(&key);
        let infos = genesis_validators(&doc)?;
        let [ours] = infos.as_slice() else {
            bail!(
                "a devnet runs exactly one validator; genesis names {}",
                infos.len()
            );
        };
        if ours.address != address {
            bail!(
                "genesis's validator is not the key in {}",
                home.validator_key().display()
            );
        }
        let validators = validator::Set::new(infos.clone(), Some(ours.clone()));
        let chain_id = chain::Id::try_from(doc.chain_id.clone())?;
        let (max_bytes, max_gas) = block_limits(&doc);
        // Served as written (CometBFT serves its genesis file), not as re-encoded.
        let genesis: serde_json::Value = serde_json::from_slice(
            &std::fs::read(home.genesis())
                .with_context(|| format!("reading {}", home.genesis().display()))?,
        )
        .with_context(|| format!("parsing {}", home.genesis().display()))?;
        let genesis_time = Time::parse_from_rfc3339(&doc.genesis_time)
            .map_err(|e| anyhow!("genesis_time: {e}"))?;
        let initial_height = doc.initial_height()?;

        std::fs::create_dir_all(home.0.join("data"))?;
        let mut app = App::open(&home.state_dir())?;
        let store = BlockStore::open(&home.blocks_dir())?;

        let mut genesis_app_hash = Vec::new();
        if app.chain().is_none() {
            let app_state = serde_json::to_vec(&doc.app_state)?;
            let (hash, _) = app.init_chain(&doc.chain_id, initial_height, &app_state)?;
            genesis_app_hash = hash.to_vec();
        }

        let stored = store.last_height()?;
        let applied = app.last_height();
        if stored != applied {
            let before = if stored == initial_height {
                0
            } else {
                stored.saturating_sub(1)
            };
            if stored == 0 || applied != before {
                bail!("block store is at height {stored} but the state is at {applied}");
            }
            Self::replay(&mut app, &store, &validators, stored)?;
        }
        let tip = match store.get(stored)? {
            None => None,
            Some(b) => Some(Tip {
                height: stored,
                block_id: b.commit.block_id,
                results_hash: results_hash(&b.results.tx_results),
                app_hash: b.results.app_hash.to_vec(),
                commit: b.commit,
            }),
        };
        info!(height = stored, chain_id = %chain_id, "devnet opened");
        Ok(Devnet {
            app,
            store: Arc::new(store),
            key,
            chain_id,
            validators,
            consensus_hash: consensus_hash(max_bytes, max_gas),
            max_tx_bytes: u64::try_from(max_bytes.saturating_sub(BLOCK_OVERHEAD_BYTES))
                .unwrap_or(0),
            genesis_time,
            initial_height,
            genesis_app_hash,
            tip,
            mempool: Vec::new(),
            mempool_bytes: 0,
            mempool_limits: MempoolLimits::default(),
            cache: TxCache::default(),
            finalized: None,
            committed: tokio::sync::broadcast::channel(EVENT_BUFFER_BLOCKS).0,
            genesis,
        })
    }

    /// Re-executes the stored block at `height` that the app never committed.
    fn replay(
        app: &mut App,
        store: &BlockStore,
        validators: &validator::Set,
        height: u64,
    ) -> anyhow::Result<()> {
        let b = store
            .get(height)?
            .with_context(|| format!("block {height} is missing"))?;
        info!(height, "replaying a block the state did not commit");
        let txs: Vec<Bytes> = b.block.data.iter().cloned().map(Bytes::from).collect();
        let out = app.finalize_block(&block_info(&b.block, validators)?, &txs)?;
        if out.app_hash.as_slice() != b.results.app_hash.as_ref() {
            bail!(
                "replaying block {height} gave app hash {} but the block store recorded {}",
                hex::encode(out.app_hash),
                hex::encode(&b.results.app_hash)
            );
        }
        app.commit()?;
        Ok(())
    }

    /// CheckTx: a tx that passes joins the end of the mempool. As in
    /// CometBFT, a full mempool, a tx too large for it or for a block, and
    /// a tx the mempool has seen (waiting, committed, or not yet forgotten
    /// among its last `cache_size`) are refused before the app sees them;
    /// a tx the app refuses is forgotten, so it may be sent again.
    pub fn check_tx(&mut self, tx: Vec<u8>) -> Result<TxOutcome, MempoolError> {
        self.check_tx_preverified(tx, None)
    }

    /// [`Devnet::check_tx`] with the tx's signatures verified beforehand,
    /// outside the devnet's lock, by the app's [`deai_app::SigVerifier`].
    pub fn check_tx_preverified(
        &mut self,
        tx: Vec<u8>,
        pre: Option<&PreChecked>,
    ) -> Result<TxOutcome, MempoolError> {
        let size = tx.len();
        let limits = self.mempool_limits;
        if self.mempool.len() >= limits.max_txs
            || self.mempool_bytes.saturating_add(size) > limits.max_bytes
        {
            return Err(MempoolError::Full {
                txs: self.mempool.len(),
                max_txs: limits.max_txs,
                bytes: self.mempool_bytes,
                max_bytes: limits.max_bytes,
            });
        }
        if size > limits.max_tx_bytes {
            return Err(MempoolError::TooLarge {
                max: limits.max_tx_bytes,
                size,
            });
        }
        // Its size inside a block's protobuf: a tag, a length, the bytes.
        let framed = u64::try_from(size)
            .unwrap_or(u64::MAX)
            .saturating_add(1 + u64::try_from(prost::length_delimiter_len(size)).unwrap_or(10));
        if framed > self.max_tx_bytes {
            return Err(MempoolError::PreCheck {
                max: self.max_tx_bytes,
                size: framed,
            });
        }
        let hash = deai_app::tx::tx_hash(&tx);
        if !self.cache.push(hash, limits.cache_size) {
            return Err(MempoolError::InCache);
        }
        let out = match pre {
            Some(pre) => self.app.check_tx_preverified(&tx, pre),
            None => self.app.check_tx(&tx),
        };
        if out.code == 0 {
            self.mempool_bytes = self.mempool_bytes.saturating_add(size);
            self.mempool.push(tx);
        } else {
            self.cache.remove(&hash);
        }
        Ok(out)
    }

    /// Sets how many txs and bytes the mempool may hold (default: CometBFT's
    /// 5000 txs and 1 GB). Txs already waiting stay.
    pub fn set_mempool_limits(&mut self, limits: MempoolLimits) {
        self.mempool_limits = limits;
    }

    /// The bytes of the txs waiting in the mempool.
    pub fn mempool_bytes(&self) -> usize {
        self.mempool_bytes
    }

    /// CheckTx without a trace: whether `tx` would enter the mempool now,
    /// leaving the mempool and the app's check state as they are (the
    /// `check_tx` RPC).
    pub fn check_tx_dry(&self, tx: &[u8]) -> TxOutcome {
        self.app.check_tx_dry(tx)
    }

    /// Produces, signs, executes, stores and commits the next block.
    pub fn produce_block(&mut self) -> anyhow::Result<ProducedBlock> {
        let block = self.finalize_next_block()?;
        self.store.put(&block.stored)?;
        self.commit_block(block)
    }

    /// The first half of [`Devnet::produce_block`]: proposes, signs and
    /// executes the next block. The caller stores it (which needs no
    /// `&mut` access: the devnet's lock may be released meanwhile, so
    /// CheckTx goes on while the block is written) and then hands it to
    /// [`Devnet::commit_block`].
    pub fn finalize_next_block(&mut self) -> anyhow::Result<FinalizedBlock> {
        if let Some(h) = self.finalized {
            bail!("block {h} is finalized but not committed yet");
        }
        let height = self.next_height();
        let _span = info_span!("devnet_block", height).entered();
        let started = std::time::Instant::now();
        let candidates: Vec<Bytes> = self.mempool.iter().cloned().map(Bytes::from).collect();
        let proposal = self.app.prepare_proposal(&candidates, self.max_tx_bytes);
        if !self.app.process_proposal(&proposal) {
            bail!("the app rejected its own validator's proposal at height {height}");
        }
        let txs: Vec<Vec<u8>> = proposal.iter().map(|t| t.to_vec()).collect();

        let (time, last_block_id, last_commit, app_hash, last_results_hash) = match &self.tip {
            None => (
                self.genesis_time,
                None,
                None,
                self.genesis_app_hash.clone(),
                None,
            ),
            Some(t) => (
                commit_time(&t.commit)?,
                Some(t.block_id),
                Some(t.commit.clone()),
                t.app_hash.clone(),
                Some(t.results_hash),
            ),
        };
        let header = Header {
            version: Version {
                block: BLOCK_PROTOCOL,
                app: deai_genesis::APP_VERSION,
            },
            chain_id: self.chain_id.clone(),
            height: block::Height::try_from(height)?,
            time,
            last_block_id,
            last_commit_hash: Some(commit_hash(last_commit.as_ref())),
            data_hash: Some(data_hash(&txs)),
            validators_hash: self.validators.hash(),
            next_validators_hash: self.validators.hash(),
            consensus_hash: self.consensus_hash,
            app_hash: AppHash::try_from(app_hash)?,
            last_results_hash,
            evidence_hash: Some(empty_evidence_hash()),
            proposer_address: validator_address(&self.key),
        };
        let block = Block::new(header, txs, evidence::List::default(), last_commit);
        let id = block_id(&block)?;
        let commit = sign_commit(
            &self.key,
            &self.chain_id,
            block.header.height,
            id,
            now_after(time)?,
        )?;

        let out = self
            .app
            .finalize_block(&block_info(&block, &self.validators)?, &proposal)?;
        let results: ResponseFinalizeBlock = response::FinalizeBlock {
            // Begin- and end-block events (compute assignments and
            // settlements, governance results, treasury payments).
            events: deai_app::abci::abci_events(out.events),
            tx_results: out.tx_results.into_iter().map(exec_result).collect(),
            validator_updates: Vec::new(),
            consensus_param_updates: None,
            app_hash: out.app_hash.to_vec().try_into()?,
        }
        .into();
        let results_hash = results_hash(&results.tx_results);
        let included: BTreeSet<[u8; 32]> = block
            .data
            .iter()
            .map(|t| deai_app::tx::tx_hash(t))
            .collect();
        // As CometBFT's mempool update: a committed tx stays remembered (so
        // it cannot be sent again), a failed one is forgotten.
        for (tx, result) in block.data.iter().zip(&results.tx_results) {
            let hash = deai_app::tx::tx_hash(tx);
            if result.code == 0 {
                self.cache.push(hash, self.mempool_limits.cache_size);
            } else {
                self.cache.remove(&hash);
            }
        }
        let stored = Arc::new(StoredBlock {
            block,
            commit: commit.clone(),
            results,
        });
        self.finalized = Some(height);
        let finalizing = started.elapsed();
        Ok(FinalizedBlock {
            finalizing,
            stored,
            tip: Tip {
                height,
                block_id: id,
                commit,
                app_hash: out.app_hash.to_vec(),
                results_hash,
            },
            included,
            started,
        })
    }

    /// The second half of [`Devnet::produce_block`]: commits the app's
    /// state for a block the store now holds (the block is written first,
    /// so a crash in between leaves a block to replay), announces it and
    /// rechecks the mempool.
    pub fn commit_block(&mut self, block: FinalizedBlock) -> anyhow::Result<ProducedBlock> {
        let FinalizedBlock {
            stored,
            tip,
            included,
            started,
            finalizing,
        } = block;
        let committing = std::time::Instant::now();
        let height = tip.height;
        if self.finalized != Some(height) {
            bail!("block {height} was not the one finalized");
        }
        if self.store.last_height()? != height {
            bail!("block {height} must be stored before it is committed");
        }
        let _span = info_span!("devnet_block", height).entered();
        self.app.commit()?;
        self.finalized = None;
        let txs = stored.block.data.len();
        let (block_id, app_hash) = (tip.block_id, tip.app_hash.clone());
        // No receiver is not an error: nobody is subscribed.
        let _ = self.committed.send(stored);
        self.tip = Some(tip);
        self.recheck(&included);
        // `ms` runs from the proposal to the end of the recheck; `app_ms`
        // is the part spent in the app (proposal, execution, commit,
        // recheck), without the store's write.
        info!(
            txs,
            hash = %block_id.hash,
            ms = started.elapsed().as_millis(),
            app_ms = (finalizing + committing.elapsed()).as_millis(),
            "produced block"
        );
        Ok(ProducedBlock {
            height,
            block_id,
            txs,
            app_hash,
        })
    }

    /// Drops the txs a block included and re-runs CheckTx on the rest, in
    /// order, dropping those that now fail (CometBFT's recheck).
    fn recheck(&mut self, included: &BTreeSet<[u8; 32]>) {
        let pending = std::mem::take(&mut self.mempool);
        self.mempool_bytes = 0;
        for tx in pending {
            if included.contains(&deai_app::tx::tx_hash(&tx)) {
                continue;
            }
            let out = self.app.recheck_tx(&tx);
            if out.code == 0 {
                self.mempool_bytes = self.mempool_bytes.saturating_add(tx.len());
                self.mempool.push(tx);
            } else {
                debug!(code = out.code, log = out.log, "recheck drops a tx");
                self.cache.remove(&deai_app::tx::tx_hash(&tx));
            }
        }
    }

    /// Caps the tx bytes of each block (default: genesis's
    /// `block.max_bytes` less room for the header, commit and evidence).
    pub fn set_max_tx_bytes(&mut self, bytes: u64) {
        self.max_tx_bytes = bytes;
    }

    /// The height the next block will have.
    pub fn next_height(&self) -> u64 {
        self.tip
            .as_ref()
            .map_or(self.initial_height, |t| t.height + 1)
    }

    /// The first block's height (0 before the first block).
    pub fn first_height(&self) -> u64 {
        if self.tip.is_some() {
            self.initial_height
        } else {
            0
        }
    }

    /// The last block's height (0 before the first block).
    pub fn last_height(&self) -> u64 {
        self.tip.as_ref().map_or(0, |t| t.height)
    }

    /// The application.
    pub fn app(&self) -> &App {
        &self.app
    }

    /// The block store.
    pub fn store(&self) -> &BlockStore {
        &self.store
    }

    /// A shared handle on the block store, for readers that must not take
    /// the devnet's lock.
    pub fn store_handle(&self) -> Arc<BlockStore> {
        self.store.clone()
    }

    /// The first height this chain produces (genesis's `initial_height`).
    pub fn initial_height(&self) -> u64 {
        self.initial_height
    }

    /// The block at `height`, with its commit and results.
    pub fn block(&self, height: u64) -> anyhow::Result<Option<StoredBlock>> {
        self.store.get(height)
    }

    /// Where a tx landed.
    pub fn tx(&self, hash: &Hash) -> anyhow::Result<Option<TxLocation>> {
        self.store.tx(hash)
    }

    /// The chain id.
    pub fn chain_id(&self) -> &chain::Id {
        &self.chain_id
    }

    /// The validator set (one validator).
    pub fn validators(&self) -> &validator::Set {
        &self.validators
    }

    /// The validator's address.
    pub fn validator_address(&self) -> account::Id {
        validator_address(&self.key)
    }

    /// A feed of every block committed from now on, with its commit and results.
    pub fn subscribe_blocks(&self) -> tokio::sync::broadcast::Receiver<Arc<StoredBlock>> {
        self.committed.subscribe()
    }

    /// The genesis document, as JSON.
    pub fn genesis(&self) -> &serde_json::Value {
        &self.genesis
    }

    /// The txs waiting for a block, in order.
    pub fn mempool(&self) -> &[Vec<u8>] {
        &self.mempool
    }
}

/// The time of the block after the one `commit` signs: with one validator,
/// CometBFT's BFT time is that validator's precommit timestamp.
/// What CometBFT's `FinalizeBlock` would tell the app about `block`: its
/// header's height, time and proposer, and the last commit's votes matched
/// to the validator set by position, as CometBFT matches them (so the
/// devnet's one validator signed every last commit it made). A devnet block
/// carries no evidence, so no misbehaviour.
fn block_info(block: &Block, validators: &validator::Set) -> anyhow::Result<BlockInfo> {
    let last_commit = match &block.last_commit {
        None => Vec::new(),
        Some(c) => validators
            .validators()
            .iter()
            .zip(&c.signatures)
            .map(|(v, sig)| CommitVote {
                validator: v.address.as_bytes().to_vec(),
                power: v.power.value(),
                flag: match sig {
                    CommitSig::BlockIdFlagAbsent => VoteFlag::Absent,
                    CommitSig::BlockIdFlagCommit { .. } => VoteFlag::Commit,
                    CommitSig::BlockIdFlagNil { .. } => VoteFlag::Nil,
                },
            })
            .collect(),
    };
    let time = tendermint_proto::google::protobuf::Timestamp::from(block.header.time);
    Ok(BlockInfo {
        height: block.header.height.value(),
        time: BlockTime {
            seconds: time.seconds,
            nanos: u32::try_from(time.nanos)?,
        },
        proposer: block.header.proposer_address.as_bytes().to_vec(),
        next_validators_hash: block.header.next_validators_hash.as_bytes().to_vec(),
        last_commit,
        misbehavior: Vec::new(),
    })
}

fn commit_time(commit: &Commit) -> anyhow::Result<Time> {
    commit
        .signatures
        .iter()
        .find_map(|s| match s {
            CommitSig::BlockIdFlagCommit { timestamp, .. } => Some(*timestamp),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the last commit has no signature"))
}

/// Produces a block every `block_time` until a block fails. The devnet's
/// lock is let go while the block is written to the store, so CheckTx
/// (and the RPC's other users of the lock) go on meanwhile.
pub fn run(devnet: &Arc<Mutex<Devnet>>, block_time: Duration) -> anyhow::Result<()> {
    let lock = || {
        devnet
            .lock()
            .map_err(|_| anyhow!("the devnet panicked earlier"))
    };
    loop {
        let started = std::time::Instant::now();
        let (block, store) = {
            let mut d = lock()?;
            (d.finalize_next_block()?, d.store_handle())
        };
        store.put(&block.stored)?;
        lock()?.commit_block(block)?;
        std::thread::sleep(block_time.saturating_sub(started.elapsed()));
    }
}
