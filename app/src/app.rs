//! The application state machine.
//!
//! Block lifecycle, in the order CometBFT calls it and the order modules run:
//! 1. `InitChain` (once): genesis sections are written, auth then bank, into
//!    a pending layer that becomes part of the first block's commit.
//! 2. `FinalizeBlock`: the modules' begin-block hooks run, in the order of
//!    [`crate::modules::MODULES`]; all txs are decoded and their signatures
//!    verified in parallel; then, one by one in block order, each tx runs the ante checks
//!    on a scratch layer (kept only if they pass: fee and sequence), then its
//!    messages on a second scratch layer (kept only if all succeed); then
//!    the modules' end-block hooks run, in the same order. The
//!    block's changes are hashed into the Merkle tree; the root is the app hash.
//! 3. `Commit`: the prepared tree update is written to RocksDB in one atomic
//!    batch, and the mempool's check state restarts from the new state.
//!
//! A crash before `Commit` loses only the uncommitted block, which CometBFT
//! replays on restart.

use anyhow::{anyhow, bail, Context};
use deai_auth::AuthRead;
use deai_proto::app::v1::{ChainInfo, GenesisValidator as ProtoValidator};
use deai_store::{PreparedCommit, Snapshot, Storage};
use deai_types::{
    module::BlockTime, BlockCtx, BlockInfo, Changes, Event, GasConfig, GasMeter, Metered, Module,
    Overlay, StateReadExt, StateWriteExt, ValidatorUpdate,
};
use tracing::{debug, info, info_span, warn};

use std::{collections::BTreeMap, sync::Arc};

use deai_gov::GovRead;

use crate::{
    ante::{self, PreVerified},
    end_block,
    error::TxError,
    exec::{self, ExecCtx},
    state_key,
    statesync::{self, Applied, Offer, Restore, SnapshotError, SnapshotInfo, SnapshotStore, Step},
    tx::{DecodedTx, Registry},
};

/// The result of one transaction, as ABCI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// 0 on success.
    pub code: u32,
    /// The error's codespace, empty on success.
    pub codespace: String,
    /// A human-readable log.
    pub log: String,
    /// The gas limit asked for.
    pub gas_wanted: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Events (fee and signature events even when the messages failed).
    pub events: Vec<Event>,
}

impl TxOutcome {
    fn failed(e: &TxError, gas_wanted: u64, gas_used: u64, events: Vec<Event>) -> Self {
        TxOutcome {
            code: e.code(),
            codespace: e.codespace().to_string(),
            log: e.to_string(),
            gas_wanted,
            gas_used,
            events,
        }
    }
}

/// The result of a finalized block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// Per-tx results, in block order.
    pub tx_results: Vec<TxOutcome>,
    /// The app hash after the block.
    pub app_hash: [u8; 32],
    /// Events of the block's end-of-block work (governance, treasury, staking).
    pub events: Vec<Event>,
    /// The changes to CometBFT's validator set (effective at height + 2).
    pub validator_updates: Vec<deai_types::ValidatorUpdate>,
}

/// Facts fixed at genesis, kept in state under `app/chain_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The chain id.
    pub chain_id: String,
    /// The first block height.
    pub initial_height: u64,
}

/// The DeAI application.
pub struct App {
    storage: Storage,
    gas: GasConfig,
    chain: Option<Chain>,
    /// Genesis writes waiting to be committed with the first block.
    genesis: Option<Changes>,
    /// A finalized block waiting for `Commit`.
    pending: Option<PreparedCommit>,
    /// The mempool's view: committed state plus the effects of accepted CheckTx.
    check: Overlay<Snapshot>,
    /// Keep at least this many recent heights (0: keep every height).
    min_retain_blocks: u64,
    /// Where periodic state-sync snapshots go, if this node takes them.
    snapshots: Option<Arc<SnapshotStore>>,
    /// A state-sync restore in progress.
    restore: Option<Restore>,
    /// Txs whose signatures CheckTx verified, for recheck and FinalizeBlock.
    verified: VerifiedSigs,
    /// The modules whose hooks run, in order: [`crate::modules::MODULES`].
    modules: Vec<&'static dyn Module>,
}

/// The signer account numbers of txs whose signatures this node's CheckTx
/// verified, by tx hash: the newest [`VerifiedSigs::CAPACITY`] of them.
#[derive(Debug, Default)]
pub struct VerifiedSigs {
    by_hash: BTreeMap<[u8; 32], Vec<u64>>,
    order: std::collections::VecDeque<[u8; 32]>,
}

impl VerifiedSigs {
    /// Well above CometBFT's default mempool of 5,000 txs.
    const CAPACITY: usize = 200_000;

    fn get(&self, hash: &[u8; 32]) -> Option<&Vec<u64>> {
        self.by_hash.get(hash)
    }

    fn insert(&mut self, hash: [u8; 32], numbers: Vec<u64>) {
        if self.by_hash.insert(hash, numbers).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > Self::CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.by_hash.remove(&old);
            }
        }
    }
}

/// A tx's signatures as a [`SigVerifier`] found them, for
/// [`App::check_tx_preverified`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreChecked {
    /// The hash of the bytes verified.
    hash: [u8; 32],
    /// Per signer: the account number its signature was checked under and
    /// whether it held (none for a signer without an account then).
    pre: Vec<Option<PreVerified>>,
}

/// Verifies tx signatures against the latest committed state, needing only
/// the app's storage: RPC threads each hold one, so the costliest step of
/// CheckTx runs outside the lock that serialises the app. A signature's
/// validity depends only on the tx bytes, the chain id and the signer's
/// account number, which CheckTx compares before using the result.
#[derive(Clone)]
pub struct SigVerifier {
    storage: Storage,
    chain_id: String,
    /// The modules messages are routed to (the app's).
    modules: Vec<&'static dyn Module>,
}

impl SigVerifier {
    /// Decodes `bytes` and verifies each signer's signature under the
    /// account number committed state gives it. A tx that does not decode
    /// gets no pre-check (CheckTx refuses it anyway).
    pub fn verify(&self, bytes: &[u8]) -> PreChecked {
        let snapshot = self.storage.latest_snapshot();
        let decoded = snapshot
            .auth_params()
            .ok()
            .and_then(|params| Registry(&self.modules).decode_tx(bytes, &params).ok());
        let Some(tx) = decoded else {
            return PreChecked::default();
        };
        let pre = tx
            .signers
            .iter()
            .map(|s| {
                let number = snapshot.account(&s.address).ok().flatten()?.account_number;
                Some(PreVerified {
                    account_number: number,
                    valid: ante::verify_secp256k1(
                        &s.pub_key,
                        &tx.sign_doc_bytes(&self.chain_id, number),
                        &s.signature,
                    ),
                })
            })
            .collect();
        PreChecked { hash: tx.hash, pre }
    }
}

/// Pruning runs at heights that are multiples of this, because it scans
/// the whole state.
pub const PRUNE_EVERY: u64 = 100;

impl App {
    /// Opens (or creates) the application state in `dir`.
    pub fn open(dir: &std::path::Path) -> anyhow::Result<Self> {
        let storage =
            Storage::open(dir).with_context(|| format!("opening state in {}", dir.display()))?;
        let snapshot = storage.latest_snapshot();
        let chain = snapshot
            .get_proto::<ChainInfo>(&state_key::chain_info())
            .context("reading chain info")?
            .map(|c| Chain {
                chain_id: c.chain_id,
                initial_height: u64::try_from(c.initial_height).unwrap_or(1),
            });
        info!(
            height = storage.latest_version().unwrap_or(0),
            chain_id = chain
                .as_ref()
                .map(|c| c.chain_id.as_str())
                .unwrap_or("(none)"),
            "opened state"
        );
        Ok(App {
            check: Overlay::new(snapshot),
            storage,
            gas: GasConfig::default(),
            chain,
            genesis: None,
            pending: None,
            min_retain_blocks: 0,
            snapshots: None,
            restore: None,
            verified: VerifiedSigs::default(),
            modules: crate::modules::MODULES.to_vec(),
        })
    }

    /// Keeps only the latest `blocks` heights readable (0: keep all, the default).
    pub fn set_min_retain_blocks(&mut self, blocks: u64) {
        self.min_retain_blocks = blocks;
    }

    /// Takes a state-sync snapshot into `store` at every height its interval divides.
    pub fn set_snapshots(&mut self, store: Arc<SnapshotStore>) {
        self.snapshots = Some(store);
    }

    /// The storage, for queries.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The chain facts, once genesis has run.
    pub fn chain(&self) -> Option<&Chain> {
        self.chain.as_ref()
    }

    /// The last committed height (0 before the first block).
    pub fn last_height(&self) -> u64 {
        self.storage.latest_version().unwrap_or(0)
    }

    /// The last committed app hash (empty before the first block).
    pub fn last_app_hash(&self) -> anyhow::Result<Vec<u8>> {
        match self.storage.latest_version() {
            None => Ok(Vec::new()),
            Some(v) => Ok(self.storage.root_hash(v)?.to_vec()),
        }
    }

    /// The module state committed at `height` (the latest when `None`) as
    /// exported genesis state, with the validators genesis named (they are
    /// the chain's validators: they do not change without staking).
    pub fn export(
        &self,
        height: Option<u64>,
    ) -> anyhow::Result<(
        deai_genesis::ExportedState,
        Vec<deai_genesis::GenesisValidator>,
    )> {
        let latest = self
            .storage
            .latest_version()
            .context("nothing to export: no block has been committed")?;
        let height = height.unwrap_or(latest);
        if height > latest {
            bail!("height {height} is past the last committed height {latest}");
        }
        let snapshot = self
            .storage
            .snapshot(height)
            .with_context(|| format!("reading the state of height {height}"))?;
        let root = self.storage.root_hash(height)?;
        let info = snapshot
            .get_proto::<ChainInfo>(&state_key::chain_info())?
            .context("the state has no chain info")?;
        let validators = info
            .validators
            .iter()
            .map(|v| {
                Ok(deai_genesis::GenesisValidator {
                    name: v.name.clone(),
                    pub_key: base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD,
                        &v.ed25519_pub_key,
                    ),
                    power: u64::try_from(v.power)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let history = |h: u64| -> Result<Box<dyn deai_types::StateRead + '_>, String> {
            Ok(Box::new(crate::history::read(&self.storage, &snapshot, h)?))
        };
        let exported =
            deai_genesis::ExportedState::read(&self.modules, &snapshot, height, &root, &history)?;
        Ok((exported, validators))
    }

    /// Writes genesis. Returns the app hash of the genesis state and the
    /// first validators: the fixed list genesis names, or the staked ones
    /// its genesis transactions create (empty: CometBFT's own list stands).
    pub fn init_chain(
        &mut self,
        chain_id: &str,
        initial_height: u64,
        app_state_bytes: &[u8],
    ) -> anyhow::Result<([u8; 32], Vec<ValidatorUpdate>)> {
        self.init_chain_with_validators(chain_id, initial_height, app_state_bytes, &[])
    }

    /// As [`App::init_chain`], told the validators CometBFT's own genesis
    /// lists (`InitChain`'s `validators`: ed25519 key and power). When
    /// `app_state` names none, those are the chain's genesis validators,
    /// and the app records them so no staked validator takes their keys.
    pub fn init_chain_with_validators(
        &mut self,
        chain_id: &str,
        initial_height: u64,
        app_state_bytes: &[u8],
        cometbft_validators: &[([u8; 32], u64)],
    ) -> anyhow::Result<([u8; 32], Vec<ValidatorUpdate>)> {
        let _span = info_span!("init_chain", chain_id, initial_height).entered();
        if self.storage.latest_version().is_some() {
            bail!("InitChain on a chain that already has committed blocks");
        }
        deai_genesis::validate_chain_id(chain_id)?;
        // Each module checks and writes its own section, in registry order.
        let app_state_bytes: &[u8] = if app_state_bytes.is_empty() {
            b"{}"
        } else {
            app_state_bytes
        };
        let app_state = deai_genesis::ModuleSections::from_json(&self.modules, app_state_bytes)
            .context("app_state in genesis")?;
        let mut layer = Overlay::new(self.storage.latest_snapshot());
        let validators = app_state
            .validators()
            .iter()
            .map(|v| {
                Ok(ProtoValidator {
                    name: v.name.clone(),
                    ed25519_pub_key: v.pub_key_bytes().map_err(|e| anyhow!(e))?.to_vec(),
                    power: i64::try_from(v.power)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let gentxs = !app_state.gen_txs().is_empty();
        // An exported chain's validators are in its state (the fixed list
        // it names, and its staking set); CometBFT's own genesis list is
        // not recorded as fixed validators then.
        let exported = app_state.exported().is_some();
        let validators = if validators.is_empty() && !gentxs && !exported {
            cometbft_validators
                .iter()
                .map(|(key, power)| {
                    Ok(ProtoValidator {
                        name: String::new(),
                        ed25519_pub_key: key.to_vec(),
                        power: i64::try_from(*power)?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        } else {
            validators
        };
        layer.put_proto(
            state_key::chain_info(),
            &ChainInfo {
                chain_id: chain_id.to_string(),
                initial_height: i64::try_from(initial_height)?,
                validators,
            },
        )?;
        app_state.init(&mut layer)?;
        if let Some(exported) = app_state.exported() {
            let height = exported.height()?;
            if initial_height <= height {
                bail!(
                    "the genesis holds the state of height {height} (exported), so its initial_height must be above it, not {initial_height}"
                );
            }
            // The parts of earlier heights that carried-over work reads.
            for part in exported.decode_history(&self.modules)? {
                layer.put_proto(
                    state_key::imported_history(part.height),
                    &deai_proto::app::v1::ImportedHistory {
                        prefixes: part.prefixes,
                    },
                )?;
                let at = state_key::imported_history_entries(part.height);
                for (key, value) in part.entries {
                    deai_types::StateWrite::put_raw(
                        &mut layer,
                        [at.as_slice(), &key].concat(),
                        value,
                    )?;
                }
            }
        }
        // Genesis transactions create the first staked validators; their
        // set is what CometBFT starts with.
        let mut first_set = Vec::new();
        if gentxs {
            for (i, json) in app_state.gen_txs().iter().enumerate() {
                let bytes = deai_genesis::gentx_bytes(json)?;
                self.deliver_gentx(&mut layer, chain_id, initial_height, &bytes)
                    .with_context(|| format!("genesis transaction {i}"))?;
            }
            let (updates, _) = deai_staking::end_block::apply_validator_set(
                &mut layer,
                initial_height,
                BlockTime::default(),
            )?;
            if updates.is_empty() {
                bail!("the genesis transactions made no validator with power (at least 1,000,000 udeai bonded)");
            }
            first_set = updates;
        }
        let changes = layer.into_changes();
        let hash = self.storage.prepare(initial_height, &changes)?.root_hash;
        self.chain = Some(Chain {
            chain_id: chain_id.to_string(),
            initial_height,
        });
        self.genesis = Some(changes);
        self.pending = None;
        // The mempool may see txs before the first block: let it see genesis.
        self.check = self.block_base();
        info!(app_hash = hex::encode(hash), "genesis written");
        let fixed = app_state
            .validators()
            .iter()
            .map(|v| {
                Ok(ValidatorUpdate {
                    pub_key: v.pub_key_bytes().map_err(|e| anyhow!(e))?,
                    power: v.power,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let returned = if gentxs {
            first_set
        } else if exported {
            // An exported chain resumes with the fixed list it names and
            // the set its staking module had last given CometBFT: staking
            // will send changes to both its own members, so CometBFT must
            // hold them (their keys never overlap the fixed list's).
            use deai_staking::StakingRead;
            let snapshot = self.block_base();
            let mut all = fixed;
            for (op, power) in snapshot.last_powers()? {
                let v = snapshot
                    .validator(&op)?
                    .ok_or_else(|| anyhow!("the exported set names {op}, which has no record"))?;
                all.push(ValidatorUpdate {
                    pub_key: v.pubkey,
                    power,
                });
            }
            all
        } else {
            fixed
        };
        Ok((hash, returned))
    }

    /// Runs genesis transaction `bytes` on `layer`: signed for account
    /// number 0, carrying only `MsgCreateValidator`s; nothing is written
    /// unless all of it succeeds.
    fn deliver_gentx(
        &self,
        layer: &mut Overlay<Snapshot>,
        chain_id: &str,
        height: u64,
        bytes: &[u8],
    ) -> anyhow::Result<()> {
        let params = layer.auth_params()?;
        let tx = self.registry().decode_tx(bytes, &params)?;
        if let Some(m) = tx
            .msgs
            .iter()
            .find(|m| m.type_url() != deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL)
        {
            bail!(
                "it carries {}; a genesis transaction carries only {}",
                m.type_url(),
                deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL
            );
        }
        let mut state = Metered::new(Overlay::new(&*layer), self.gas, GasMeter::new(tx.gas_limit));
        ante::run(
            &mut state,
            &self.gas,
            &tx,
            chain_id,
            height,
            &[],
            ante::Mode::Genesis,
        )?;
        let no_history =
            |_: u64| -> Result<Option<crate::history::PastState<'_>>, String> { Ok(None) };
        let ctx = ExecCtx {
            height,
            time: BlockTime::default(),
            prev_app_hash: &[],
            history: &no_history,
        };
        for msg in &tx.msgs {
            exec::execute(&mut state, &**msg, &ctx)?;
        }
        let changes = state.into_parts().0.into_changes();
        layer.apply(changes);
        Ok(())
    }

    /// The state a new block starts from: committed state, plus genesis
    /// writes when this is the first block.
    fn block_base(&self) -> Overlay<Snapshot> {
        let mut base = Overlay::new(self.storage.latest_snapshot());
        if let Some(g) = &self.genesis {
            base.apply(g.clone());
        }
        base
    }

    /// The height the next block must have.
    fn next_height(&self) -> anyhow::Result<u64> {
        let chain = self
            .chain
            .as_ref()
            .ok_or_else(|| anyhow!("no genesis yet: InitChain must come first"))?;
        Ok(match self.storage.latest_version() {
            Some(v) => v + 1,
            None => chain.initial_height,
        })
    }

    /// Chooses the txs of a proposal: drops undecodable ones and stops at
    /// `max_tx_bytes`. Deterministic in its inputs.
    pub fn prepare_proposal(&self, txs: &[bytes::Bytes], max_tx_bytes: u64) -> Vec<bytes::Bytes> {
        let params = self.check.auth_params().unwrap_or_default();
        let mut total = 0u64;
        let mut out = Vec::new();
        for t in txs {
            if self.registry().decode_tx(t, &params).is_err() {
                debug!("proposal drops an undecodable tx");
                continue;
            }
            let size = t.len() as u64;
            if total.saturating_add(size) > max_tx_bytes {
                break;
            }
            total += size;
            out.push(t.clone());
        }
        out
    }

    /// Accepts a proposal only if every tx decodes.
    pub fn process_proposal(&self, txs: &[bytes::Bytes]) -> bool {
        let params = self.block_base().auth_params().unwrap_or_default();
        let registry = self.registry();
        txs.iter().all(|t| registry.decode_tx(t, &params).is_ok())
    }

    /// Executes a block and computes its app hash; nothing is written until
    /// [`App::commit`]. `info` is what consensus decided about the block;
    /// every module's hooks see it (see [`crate::modules`]).
    pub fn finalize_block(
        &mut self,
        info: &BlockInfo,
        txs: &[bytes::Bytes],
    ) -> anyhow::Result<BlockOutcome> {
        let height = info.height;
        let _span = info_span!("block", height).entered();
        let expected = self.next_height()?;
        if height != expected {
            bail!("FinalizeBlock for height {height}, expected {expected}");
        }
        let chain_id = self
            .chain
            .as_ref()
            .map(|c| c.chain_id.clone())
            .unwrap_or_default();
        let mut block = self.block_base();
        let since_genesis = self.block_base();
        let params = block.auth_params()?;
        let prev_app_hash = self.last_app_hash()?;
        let host = end_block::Host {
            storage: &self.storage,
            since_genesis: &since_genesis,
            prev_app_hash: &prev_app_hash,
            time: info.time,
            modules: &self.modules,
        };
        let mut events = Vec::new();
        let no_fees = BTreeMap::new();
        let ctx = BlockCtx {
            info,
            prev_app_hash: &prev_app_hash,
            fees: &no_fees,
            host: &host,
        };
        for module in &self.modules {
            events.extend(
                module
                    .begin_block(&mut block, &ctx)
                    .map_err(|e| anyhow!("{e}"))?,
            );
        }

        // Decoding and signature verification run on helper threads while
        // this one executes the txs in block order (see `prepare_block`). A
        // signature this node's CheckTx verified for the same bytes under
        // the same account number is not verified again: its validity is a
        // function of those alone, so every node reaches the same result.
        let mut results = Vec::with_capacity(txs.len());
        let mut fees = BTreeMap::new();
        let base = block.clone();
        let verified = &self.verified;
        let registry = Registry(&self.modules);
        prepare_block(
            txs,
            &base,
            (&params, &registry),
            &chain_id,
            verified,
            |prepared| {
                let (d, pre) = prepared;
                results.push(self.deliver(
                    &mut block,
                    &chain_id,
                    (height, info.time, &prev_app_hash),
                    d,
                    pre,
                    &mut fees,
                )?);
                Ok(())
            },
        )?;
        let ctx = BlockCtx { fees: &fees, ..ctx };
        for module in &self.modules {
            events.extend(
                module
                    .end_block(&mut block, &ctx)
                    .map_err(|e| anyhow!("{e}"))?,
            );
        }
        let mut validator_updates = Vec::new();
        for module in &self.modules {
            let (updates, ev) = module
                .validator_updates(&mut block, &ctx)
                .map_err(|e| anyhow!("{e}"))?;
            if !updates.is_empty() && !validator_updates.is_empty() {
                bail!("two modules changed the validator set; only one may own it");
            }
            if !updates.is_empty() {
                validator_updates = updates;
            }
            events.extend(ev);
        }

        let changes = block.into_changes();
        let prepared = self.storage.prepare(height, &changes)?;
        let app_hash = prepared.root_hash;
        self.pending = Some(prepared);
        let failed = results.iter().filter(|r| r.code != 0).count();
        info!(
            txs = txs.len(),
            failed,
            app_hash = hex::encode(app_hash),
            "finalized block"
        );
        Ok(BlockOutcome {
            tx_results: results,
            app_hash,
            events,
            validator_updates,
        })
    }

    /// Runs one decoded tx on the block state. Only storage failures are errors.
    fn deliver(
        &self,
        block: &mut Overlay<Snapshot>,
        chain_id: &str,
        (height, time, prev_app_hash): (u64, BlockTime, &[u8]),
        decoded: &Result<DecodedTx, TxError>,
        pre: &[Option<PreVerified>],
        fees: &mut BTreeMap<String, u128>,
    ) -> anyhow::Result<TxOutcome> {
        let tx = match decoded {
            Ok(tx) => tx,
            Err(e) => {
                debug!(error = %e, "tx rejected at decode");
                return Ok(TxOutcome::failed(e, 0, 0, Vec::new()));
            }
        };
        let _span = tracing::debug_span!("tx", hash = hex::encode_upper(tx.hash)).entered();
        let gas_wanted = tx.gas_limit;

        // Ante: on failure nothing is written, not even the fee.
        let mut ante_state =
            Metered::new(Overlay::new(&*block), self.gas, GasMeter::new(tx.gas_limit));
        let ante_result = ante::run(
            &mut ante_state,
            &self.gas,
            tx,
            chain_id,
            height,
            pre,
            ante::Mode::Full,
        );
        let (ante_layer, meter) = ante_state.into_parts();
        let ante_events = match ante_result {
            Ok(ev) => ev,
            Err(TxError::Internal(e)) => bail!("storage failed during a tx: {e}"),
            Err(e) => {
                debug!(error = %e, "tx failed its checks");
                return Ok(TxOutcome::failed(&e, gas_wanted, meter.used(), Vec::new()));
            }
        };
        let ante_changes = ante_layer.into_changes();
        block.apply(ante_changes);
        if let Some(fee) = &tx.fee {
            let total = fees.entry(fee.denom.clone()).or_insert(0u128);
            *total = total.saturating_add(fee.amount);
        }

        // Messages: all or nothing; the fee and sequence above stay.
        let mut msg_state = Metered::new(Overlay::new(&*block), self.gas, meter);
        // The ante events stay when the messages fail: keep their count.
        let ante_count = ante_events.len();
        let mut events = ante_events;
        let mut failure = None;
        let host = end_block::Host {
            since_genesis: &*block,
            storage: &self.storage,
            prev_app_hash,
            time,
            modules: &self.modules,
        };
        let history = |h: u64| host.history(h, height);
        let ctx = ExecCtx {
            time,
            height,
            prev_app_hash,
            history: &history,
        };
        for (i, msg) in tx.msgs.iter().enumerate() {
            match exec::execute(&mut msg_state, &**msg, &ctx) {
                Ok(ev) => events.extend(ev),
                Err(TxError::Internal(e)) => bail!("storage failed during a tx: {e}"),
                Err(e) => {
                    failure = Some((i, e));
                    break;
                }
            }
        }
        let (msg_layer, meter) = msg_state.into_parts();
        match failure {
            Some((i, e)) => {
                debug!(error = %e, msg = i, "tx messages failed");
                let e = match e {
                    TxError::Module {
                        codespace,
                        code,
                        log,
                    } => TxError::Module {
                        codespace,
                        code,
                        log: format!("failed to execute message; message index: {i}: {log}"),
                    },
                    other => other,
                };
                events.truncate(ante_count);
                Ok(TxOutcome::failed(&e, gas_wanted, meter.used(), events))
            }
            None => {
                let changes = msg_layer.into_changes();
                block.apply(changes);
                Ok(TxOutcome {
                    code: 0,
                    codespace: String::new(),
                    log: String::new(),
                    gas_wanted,
                    gas_used: meter.used(),
                    events,
                })
            }
        }
    }

    /// Persists the finalized block atomically and restarts the mempool view.
    /// Returns the retain height for CometBFT (0: keep every block).
    pub fn commit(&mut self) -> anyhow::Result<u64> {
        let prepared = self
            .pending
            .take()
            .ok_or_else(|| anyhow!("Commit without a finalized block"))?;
        let height = prepared.version;
        self.storage
            .commit(prepared)
            .context("writing the block to disk")?;
        self.genesis = None;
        self.check = Overlay::new(self.storage.latest_snapshot());
        info!(height, "committed");
        let snapshot_due = self.snapshots.as_ref().is_some_and(|s| s.due(height));
        let prunes = self.min_retain_blocks != 0 && height > self.min_retain_blocks;
        if !snapshot_due && !prunes {
            return Ok(0);
        }
        // Open votes read voting power at the height voting began: a
        // snapshot after it could not tally them, and pruning must keep it.
        let oldest_vote = self
            .storage
            .latest_snapshot()
            .oldest_voting_start()
            .context("reading open votes")?;
        if let Some(store) = self.snapshots.as_ref().filter(|_| snapshot_due) {
            if oldest_vote.is_some_and(|start| start < height) {
                info!(
                    height,
                    "no snapshot: an open vote needs an older height's state"
                );
            } else {
                store.spawn_take(self.storage.clone(), height);
            }
        }
        if !prunes {
            return Ok(0);
        }
        let retain = (height - self.min_retain_blocks).min(oldest_vote.unwrap_or(u64::MAX));
        if height % PRUNE_EVERY == 0 {
            self.storage.prune(retain).context("pruning old heights")?;
            info!(retain_from = retain, "pruned old heights");
        }
        Ok(retain)
    }

    /// State sync: CometBFT offers a snapshot whose state must have the
    /// light-client-verified `app_hash`.
    pub fn offer_snapshot(&mut self, info: SnapshotInfo, app_hash: &[u8]) -> Offer {
        if self.storage.latest_version().is_some() || self.chain.is_some() {
            warn!("refusing a snapshot: this node has state already");
            return Offer::Abort;
        }
        let (height, format) = (info.height, info.format);
        match Restore::new(info, app_hash.to_vec()) {
            Ok(r) => {
                info!(height, chunks = r.info().chunks, "restoring a snapshot");
                self.restore = Some(r);
                Offer::Accept
            }
            Err(e) => {
                warn!(height, error = %e, "refusing a snapshot");
                self.restore = None;
                if matches!(e, SnapshotError::Format(_)) || format != statesync::FORMAT {
                    Offer::RejectFormat
                } else {
                    Offer::Reject
                }
            }
        }
    }

    /// State sync: takes chunk `index` of the offered snapshot; after the
    /// last one, writes the state if its root is the trusted app hash.
    pub fn apply_snapshot_chunk(&mut self, index: u32, chunk: &[u8]) -> anyhow::Result<Applied> {
        let Some(restore) = self.restore.as_mut() else {
            warn!(index, "a snapshot chunk with no snapshot offered");
            return Ok(Applied::Abort);
        };
        let height = restore.info().height;
        let entries = match restore.apply(index, chunk) {
            Ok(Step::More) => return Ok(Applied::Accept(None)),
            Ok(Step::Refetch) => {
                warn!(
                    height,
                    index, "snapshot chunk failed its hash check; fetching it again"
                );
                return Ok(Applied::Refetch);
            }
            Ok(Step::GiveUp) => {
                warn!(height, "too many bad chunks; giving up this snapshot");
                self.restore = None;
                return Ok(Applied::RejectSnapshot);
            }
            Err(e) => {
                warn!(height, index, error = %e, "rejecting the snapshot");
                self.restore = None;
                return Ok(Applied::RejectSnapshot);
            }
            Ok(Step::Done(entries)) => entries,
        };
        let trusted = restore.trusted_root().to_vec();
        self.restore = None;
        let changes: Changes = entries.into_iter().map(|(k, v)| (k, Some(v))).collect();
        let prepared = self.storage.prepare(height, &changes)?;
        if prepared.root_hash.as_slice() != trusted.as_slice() {
            warn!(
                height,
                root = hex::encode(prepared.root_hash),
                trusted = hex::encode(&trusted),
                "rejecting the snapshot: its state does not have the trusted app hash"
            );
            return Ok(Applied::RejectSnapshot);
        }
        let mut restored = Overlay::new(self.storage.latest_snapshot());
        restored.apply(changes);
        let chain = restored
            .get_proto::<ChainInfo>(&state_key::chain_info())
            .ok()
            .flatten();
        let Some(chain) = chain else {
            warn!(height, "rejecting the snapshot: it holds no chain info");
            return Ok(Applied::RejectSnapshot);
        };
        if restored
            .oldest_voting_start()
            .map_or(true, |v| v.is_some_and(|start| start < height))
        {
            warn!(
                height,
                "rejecting the snapshot: an open vote needs an older height's state"
            );
            return Ok(Applied::RejectSnapshot);
        }
        self.storage
            .commit(prepared)
            .context("writing the restored state")?;
        self.chain = Some(Chain {
            chain_id: chain.chain_id,
            initial_height: u64::try_from(chain.initial_height).unwrap_or(1),
        });
        self.genesis = None;
        self.pending = None;
        self.check = Overlay::new(self.storage.latest_snapshot());
        info!(
            height,
            app_hash = hex::encode(&trusted),
            "state restored from a snapshot"
        );
        Ok(Applied::Accept(Some(height)))
    }

    /// Estimates the gas `bytes` would use on top of the latest committed
    /// state, without verifying signatures or writing anything. Returns the
    /// gas used and the events it would emit. See [`crate::query::Querier::simulate`].
    pub fn simulate(&self, bytes: &[u8]) -> Result<(u64, Vec<Event>), TxError> {
        self.querier().simulate(bytes)
    }

    /// A handle that answers queries and simulations from committed state
    /// without this app's lock: clone it into every query connection.
    pub fn querier(&self) -> crate::query::Querier {
        crate::query::Querier::new(self.storage.clone(), self.gas)
    }

    /// Checks a tx for the mempool: stateless checks, then signatures,
    /// sequence and fee against the mempool view. Messages are not executed.
    /// A tx that passes is added to the mempool view.
    pub fn check_tx(&mut self, bytes: &[u8]) -> TxOutcome {
        self.check_tx_kind(bytes, false, None)
    }

    /// CheckTx of a tx the mempool accepted before, after a block (CometBFT's
    /// recheck). Its signatures are not verified again when this node
    /// verified these exact bytes under the same account numbers; sequence,
    /// fee and balance are checked as for a new tx.
    pub fn recheck_tx(&mut self, bytes: &[u8]) -> TxOutcome {
        self.check_tx_kind(bytes, true, None)
    }

    /// [`App::check_tx`] with the signatures a [`SigVerifier`] verified
    /// beforehand, outside whatever lock guards this app; a signer whose
    /// account number changed since, or was unknown then, is verified here.
    pub fn check_tx_preverified(&mut self, bytes: &[u8], pre: &PreChecked) -> TxOutcome {
        self.check_tx_kind(bytes, false, Some(pre))
    }

    /// Sets aside the record of signatures this node's CheckTx verified, so
    /// FinalizeBlock verifies every signature, as on a node whose mempool
    /// never saw the block's txs; [`App::restore_verified_signatures`] puts
    /// it back. For benchmarks: results are the same either way.
    pub fn set_aside_verified_signatures(&mut self) -> VerifiedSigs {
        std::mem::take(&mut self.verified)
    }

    /// Puts back what [`App::set_aside_verified_signatures`] took.
    pub fn restore_verified_signatures(&mut self, verified: VerifiedSigs) {
        self.verified = verified;
    }

    /// A handle that verifies tx signatures against the latest committed
    /// state without this app (see [`SigVerifier`]); none before genesis.
    pub fn sig_verifier(&self) -> Option<SigVerifier> {
        Some(SigVerifier {
            storage: self.storage.clone(),
            chain_id: self.chain.as_ref()?.chain_id.clone(),
            modules: self.modules.clone(),
        })
    }

    /// Routes messages to [`App`]'s modules.
    fn registry(&self) -> Registry<'_> {
        Registry(&self.modules)
    }

    fn check_tx_kind(
        &mut self,
        bytes: &[u8],
        recheck: bool,
        given: Option<&PreChecked>,
    ) -> TxOutcome {
        let mut check = std::mem::replace(
            &mut self.check,
            Overlay::new(self.storage.latest_snapshot()),
        );
        let hash = crate::tx::tx_hash(bytes);
        let pre: Vec<Option<ante::PreVerified>> = match self.verified.get(&hash) {
            Some(numbers) if recheck => numbers
                .iter()
                .map(|&account_number| {
                    Some(ante::PreVerified {
                        account_number,
                        valid: true,
                    })
                })
                .collect(),
            // A pre-check counts only for the bytes it was made for.
            _ => given
                .filter(|g| g.hash == hash)
                .map(|g| g.pre.clone())
                .unwrap_or_default(),
        };
        let (out, numbers) = self.check_on(&mut check, bytes, &pre);
        if let Some(numbers) = numbers {
            self.verified.insert(hash, numbers);
        }
        self.check = check;
        out
    }

    /// The same checks as [`App::check_tx`] without recording anything: the
    /// answer to CometBFT's `check_tx` RPC, which does not add to the mempool.
    pub fn check_tx_dry(&self, bytes: &[u8]) -> TxOutcome {
        let mut scratch = self.check.clone();
        self.check_on(&mut scratch, bytes, &[]).0
    }

    /// CheckTx on `check`; on success also the signers' account numbers
    /// their signatures verified under.
    fn check_on(
        &self,
        check: &mut Overlay<Snapshot>,
        bytes: &[u8],
        pre: &[Option<ante::PreVerified>],
    ) -> (TxOutcome, Option<Vec<u64>>) {
        let Some(chain) = self.chain.clone() else {
            let e = TxError::InvalidRequest("the chain has not started".into());
            return (TxOutcome::failed(&e, 0, 0, Vec::new()), None);
        };
        let params = match check.auth_params() {
            Ok(p) => p,
            Err(e) => {
                let e = TxError::from(e);
                return (TxOutcome::failed(&e, 0, 0, Vec::new()), None);
            }
        };
        let tx = match self.registry().decode_tx(bytes, &params) {
            Ok(tx) => tx,
            Err(e) => return (TxOutcome::failed(&e, 0, 0, Vec::new()), None),
        };
        let height = self.last_height() + 1;
        let mut state = Metered::new(Overlay::new(&*check), self.gas, GasMeter::new(tx.gas_limit));
        let result = ante::run(
            &mut state,
            &self.gas,
            &tx,
            &chain.chain_id,
            height,
            pre,
            ante::Mode::Full,
        );
        let (layer, meter) = state.into_parts();
        match result {
            Ok(events) => {
                let changes = layer.into_changes();
                check.apply(changes);
                let numbers = tx
                    .signers
                    .iter()
                    .map(|s| Some(check.account(&s.address).ok()??.account_number))
                    .collect::<Option<Vec<u64>>>();
                let out = TxOutcome {
                    code: 0,
                    codespace: String::new(),
                    log: String::new(),
                    gas_wanted: tx.gas_limit,
                    gas_used: meter.used(),
                    events,
                };
                (out, numbers)
            }
            Err(e) => {
                if matches!(e, TxError::Internal(_)) {
                    warn!(error = %e, "storage error in CheckTx");
                }
                let out = TxOutcome::failed(&e, tx.gas_limit, meter.used(), Vec::new());
                (out, None)
            }
        }
    }
}

/// A tx of a block, decoded, with its signatures verified ahead of time.
type Prepared = (Result<DecodedTx, TxError>, Vec<Option<PreVerified>>);

/// Decodes `txs` and verifies their signatures under the account numbers
/// `base` (the state before the block's txs) gives, on helper threads, and
/// hands each result to `deliver` on this thread in block order.
///
/// Helpers claim txs from the front, in order; while the next tx in block
/// order is not ready, this thread prepares later ones too rather than wait,
/// and prepares it itself once nothing is left to claim. So verification
/// overlaps execution and no core idles. A result is the same whichever
/// thread computes it: `deliver` uses a pre-verified signature only if the
/// account number still matches when the tx runs.
fn prepare_block(
    txs: &[bytes::Bytes],
    base: &Overlay<Snapshot>,
    (params, registry): (&deai_auth::AuthParams, &Registry<'_>),
    chain_id: &str,
    verified: &VerifiedSigs,
    mut deliver: impl FnMut(&Prepared) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        OnceLock,
    };
    let prepare = |t: &bytes::Bytes| -> Prepared {
        let decoded = registry.decode_tx(t, params);
        let pre = match &decoded {
            Err(_) => Vec::new(),
            Ok(tx) => {
                let checked = verified.get(&tx.hash);
                tx.signers
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let number = base.account(&s.address).ok().flatten()?.account_number;
                        let valid = checked.and_then(|n| n.get(i)) == Some(&number)
                            || ante::verify_secp256k1(
                                &s.pub_key,
                                &tx.sign_doc_bytes(chain_id, number),
                                &s.signature,
                            );
                        Some(PreVerified {
                            account_number: number,
                            valid,
                        })
                    })
                    .collect()
            }
        };
        (decoded, pre)
    };
    let slots: Vec<OnceLock<Prepared>> = txs.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    // Prepares the next unclaimed tx; false once every tx is claimed.
    let claim = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        match txs.get(i) {
            Some(t) => {
                let _ = slots[i].set(prepare(t));
                true
            }
            None => false,
        }
    };
    let helpers = rayon::current_num_threads()
        .saturating_sub(1)
        .min(txs.len().saturating_sub(1));
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            scope.spawn(|| while claim() {});
        }
        for (slot, t) in slots.iter().zip(txs) {
            let prepared = loop {
                if let Some(p) = slot.get() {
                    break p;
                }
                if !claim() {
                    // A helper has it in hand: doing it again costs less
                    // than waiting, and gives the same result.
                    break slot.get_or_init(|| prepare(t));
                }
            };
            if let Err(e) = deliver(prepared) {
                // Stop the helpers: the block is abandoned.
                next.store(txs.len(), Ordering::Relaxed);
                return Err(e);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_heights_are_pruned_past_the_retention_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        app.set_min_retain_blocks(50);
        app.init_chain("deai-prune", 1, b"").unwrap();
        let mut retain = 0;
        for h in 1..=PRUNE_EVERY {
            app.finalize_block(&BlockInfo::at(h), &[]).unwrap();
            retain = app.commit().unwrap();
        }
        assert_eq!(retain, PRUNE_EVERY - 50);
        assert!(app.storage().snapshot(10).is_err());
        assert!(app.storage().snapshot(PRUNE_EVERY - 10).is_ok());
    }

    /// A block of transfers from `keys` (sequence 0 each, account numbers
    /// in genesis order), with a bad signature at 3 and garbage at 5.
    fn mixed_block(keys: &[deai_client::tx::Key], chain_id: &str) -> Vec<bytes::Bytes> {
        use deai_client::tx::{msg_send, sign_tx, TxParams};
        use deai_types::{Coin, BASE_DENOM};
        let mut block: Vec<bytes::Bytes> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let to = keys[(i + 1) % keys.len()].address();
                let p = TxParams {
                    chain_id: chain_id.to_string(),
                    account_number: i as u64,
                    sequence: 0,
                    fee: Some(Coin::new(1_000, BASE_DENOM)),
                    gas_limit: 100_000,
                    memo: String::new(),
                };
                let msg = msg_send(&k.address(), &to, &[Coin::new(5, BASE_DENOM)]);
                bytes::Bytes::from(sign_tx(k, vec![msg], &p))
            })
            .collect();
        let mut bad = block[3].to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        block[3] = bad.into();
        block[5] = bytes::Bytes::from_static(b"not a tx");
        block
    }

    #[test]
    fn a_block_gives_the_same_results_whatever_the_threads_verifying_it() {
        use deai_types::{Coin, BASE_DENOM};
        let keys: Vec<_> = (0..40)
            .map(|i| deai_client::tx::Key::from_label(&format!("threads-{i}")))
            .collect();
        let mut state = deai_genesis::AppState::default();
        for k in &keys {
            state
                .add_account(k.address(), &[Coin::new(1_000_000, BASE_DENOM)])
                .unwrap();
        }
        let genesis = serde_json::to_vec(&state).unwrap();
        let block = mixed_block(&keys, "deai-threads");
        let mut outcomes = Vec::new();
        for threads in [1, 2, 7] {
            let dir = tempfile::tempdir().unwrap();
            let mut app = App::open(dir.path()).unwrap();
            app.init_chain("deai-threads", 1, &genesis).unwrap();
            app.finalize_block(&BlockInfo::at(1), &[]).unwrap();
            app.commit().unwrap();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let out = pool
                .install(|| app.finalize_block(&BlockInfo::at(2), &block))
                .unwrap();
            app.commit().unwrap();
            outcomes.push(out);
        }
        let codes: Vec<u32> = outcomes[0].tx_results.iter().map(|r| r.code).collect();
        assert_eq!(codes[3], TxError::Unauthorized(String::new()).code());
        assert_ne!(codes[5], 0, "garbage fails to decode");
        assert_eq!(codes.iter().filter(|c| **c == 0).count(), keys.len() - 2);
        assert_eq!(outcomes[1], outcomes[0]);
        assert_eq!(outcomes[2], outcomes[0]);
    }

    /// Which hook ran, and the block info, previous app hash and fees it saw.
    type Seen = (&'static str, BlockInfo, Vec<u8>, BTreeMap<String, u128>);

    /// A module that records what its hooks are given.
    #[derive(Default)]
    struct Probe {
        seen: std::sync::Mutex<Vec<Seen>>,
    }

    impl deai_types::BlockHooks for Probe {
        fn begin_block(
            &self,
            _state: &mut dyn deai_types::StateWrite,
            ctx: &BlockCtx<'_>,
        ) -> Result<Vec<Event>, deai_types::HookError> {
            let seen = (
                "begin",
                ctx.info.clone(),
                ctx.prev_app_hash.to_vec(),
                ctx.fees.clone(),
            );
            self.seen.lock().unwrap().push(seen);
            Ok(vec![Event::new("probe_begin")])
        }

        fn end_block(
            &self,
            _state: &mut dyn deai_types::StateWrite,
            ctx: &BlockCtx<'_>,
        ) -> Result<Vec<Event>, deai_types::HookError> {
            let seen = (
                "end",
                ctx.info.clone(),
                ctx.prev_app_hash.to_vec(),
                ctx.fees.clone(),
            );
            self.seen.lock().unwrap().push(seen);
            Ok(vec![Event::new("probe_end")])
        }
    }

    impl deai_types::QueryHandler for Probe {}

    impl deai_types::MsgHandler for Probe {}

    impl deai_types::GenesisHandler for Probe {}

    impl Module for Probe {
        fn name(&self) -> &'static str {
            "probe"
        }
    }

    /// Type URL of the echo module's one message.
    const MSG_ECHO_TYPE_URL: &str = "/deai.echo.v1.MsgEcho";

    /// A test-only module with one message, `MsgEcho`. Its payload borrows
    /// `MsgCancelProposal`'s shape: `proposer` signs, and an odd
    /// `proposal_id` makes execution fail with the module's own error.
    struct EchoModule;

    /// A decoded `MsgEcho`.
    #[derive(Debug)]
    struct Echo {
        signer: deai_types::Address,
        n: u64,
    }

    impl deai_types::ModuleMsg for Echo {
        fn type_url(&self) -> &'static str {
            MSG_ECHO_TYPE_URL
        }

        fn signer(&self) -> deai_types::Address {
            self.signer
        }

        fn module(&self) -> &'static str {
            "echo"
        }

        fn execute(
            &self,
            state: &mut dyn deai_types::StateWrite,
            ctx: &deai_types::MsgCtx<'_>,
        ) -> Result<Vec<Event>, deai_types::MsgError> {
            state.put_raw(b"echo/last".to_vec(), self.n.to_be_bytes().to_vec())?;
            if self.n % 2 == 1 {
                return Err(deai_types::MsgError::Module {
                    codespace: "echo",
                    code: 7,
                    log: format!("echo refuses odd {}", self.n),
                });
            }
            Ok(vec![Event::new("echoed")
                .attr("n", self.n.to_string())
                .attr("height", ctx.height.to_string())])
        }
    }

    impl deai_types::BlockHooks for EchoModule {}

    impl deai_types::QueryHandler for EchoModule {}

    impl deai_types::MsgHandler for EchoModule {
        fn msg_type_urls(&self) -> &'static [&'static str] {
            &[MSG_ECHO_TYPE_URL]
        }

        fn decode_msg(
            &self,
            any: &cosmos_sdk_proto::Any,
            _ctx: &deai_types::DecodeCtx<'_>,
        ) -> Result<Box<dyn deai_types::ModuleMsg>, deai_types::MsgError> {
            let m: cosmos_sdk_proto::cosmos::gov::v1::MsgCancelProposal =
                deai_types::module::decode_any(any)?;
            let signer = m
                .proposer
                .parse()
                .map_err(|e| deai_types::MsgError::InvalidRequest(format!("proposer: {e}")))?;
            Ok(Box::new(Echo {
                signer,
                n: m.proposal_id,
            }))
        }
    }

    /// The echo module's genesis section: `{"last": N}` opens `echo/last` at N.
    impl deai_types::GenesisHandler for EchoModule {
        fn genesis_key(&self) -> Option<&'static str> {
            Some("echo")
        }

        fn validate_genesis(&self, section: &serde_json::Value) -> Result<(), String> {
            match section.get("last") {
                Some(n) if n.as_u64().is_none() => Err(format!("last {n} is not a number")),
                _ => Ok(()),
            }
        }

        fn init_genesis(
            &self,
            state: &mut dyn deai_types::StateWrite,
            section: &serde_json::Value,
        ) -> Result<(), String> {
            if let Some(n) = section.get("last").and_then(serde_json::Value::as_u64) {
                state
                    .put_raw(b"echo/last".to_vec(), n.to_be_bytes().to_vec())
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }

    impl Module for EchoModule {
        fn name(&self) -> &'static str {
            "echo"
        }
    }

    /// A tx of `key` (account `number`) carrying one message `any`.
    fn tx_of(
        key: &deai_client::tx::Key,
        number: u64,
        sequence: u64,
        any: cosmos_sdk_proto::Any,
    ) -> bytes::Bytes {
        let p = deai_client::tx::TxParams {
            chain_id: "deai-echo".into(),
            account_number: number,
            sequence,
            fee: Some(deai_types::Coin::new(1_000, deai_types::BASE_DENOM)),
            gas_limit: 100_000,
            memo: String::new(),
        };
        deai_client::tx::sign_tx(key, vec![any], &p).into()
    }

    fn echo(key: &deai_client::tx::Key, n: u64) -> cosmos_sdk_proto::Any {
        deai_client::tx::any(
            MSG_ECHO_TYPE_URL,
            &cosmos_sdk_proto::cosmos::gov::v1::MsgCancelProposal {
                proposal_id: n,
                proposer: key.address().to_bech32(),
            },
        )
    }

    /// An app at height 1 whose modules are the chain's, plus `extra`.
    fn app_with(
        dir: &std::path::Path,
        keys: &[&deai_client::tx::Key],
        extra: Option<&'static dyn Module>,
    ) -> App {
        use deai_types::{Coin, BASE_DENOM};
        let mut state = deai_genesis::AppState::default();
        for k in keys {
            state
                .add_account(k.address(), &[Coin::new(1_000_000, BASE_DENOM)])
                .unwrap();
        }
        let genesis = serde_json::to_vec(&state).unwrap();
        let mut app = App::open(dir).unwrap();
        app.modules.extend(extra);
        app.init_chain("deai-echo", 1, &genesis).unwrap();
        app.finalize_block(&BlockInfo::at(1), &[]).unwrap();
        app.commit().unwrap();
        app
    }

    #[test]
    fn a_registered_modules_genesis_section_is_checked_and_written_at_init_chain() {
        let init = |extra: Option<&'static dyn Module>, app_state: &str| {
            let dir = tempfile::tempdir().unwrap();
            let mut app = App::open(dir.path()).unwrap();
            app.modules.extend(extra);
            app.init_chain("deai-echo", 1, app_state.as_bytes())
                .map(|(hash, _)| hash)
                .map_err(|e| format!("{e:#}"))
        };
        let plain = init(Some(&EchoModule), "{}").unwrap();
        assert_eq!(init(Some(&EchoModule), r#"{"echo": {}}"#).unwrap(), plain);
        assert_eq!(init(None, "{}").unwrap(), plain);
        let written = init(Some(&EchoModule), r#"{"echo": {"last": 4}}"#).unwrap();
        assert_ne!(written, plain);

        let e = init(Some(&EchoModule), r#"{"echo": {"last": "x"}}"#).unwrap_err();
        assert!(
            e.ends_with("genesis app_state.echo: last \"x\" is not a number"),
            "{e}"
        );
        let e = init(None, r#"{"echo": {"last": 4}}"#).unwrap_err();
        assert!(e.contains("unknown field `echo`"), "{e}");
    }

    #[test]
    fn a_registered_modules_message_is_routed_to_it_executed_and_its_events_kept() {
        let k = deai_client::tx::Key::from_label("echo");
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with(dir.path(), &[&k], Some(&EchoModule));
        assert_eq!(app.check_tx(&tx_of(&k, 0, 0, echo(&k, 4))).code, 0);

        let block = [tx_of(&k, 0, 0, echo(&k, 4)), tx_of(&k, 0, 1, echo(&k, 5))];
        let out = app.finalize_block(&BlockInfo::at(2), &block).unwrap();
        let ok = &out.tx_results[0];
        assert_eq!((ok.code, ok.log.as_str()), (0, ""));
        let message = ok
            .events
            .iter()
            .find(|e| e.kind == "message" && e.attributes[0].0 == "action");
        let attrs = &message.expect("a message event").attributes;
        assert_eq!(
            attrs,
            &[
                ("action".to_string(), MSG_ECHO_TYPE_URL.to_string()),
                ("sender".to_string(), k.address().to_bech32()),
                ("module".to_string(), "echo".to_string()),
            ]
        );
        let kinds: Vec<&str> = ok.events.iter().map(|e| e.kind.as_str()).collect();
        let at = kinds.iter().rposition(|k| *k == "message").unwrap();
        assert_eq!(
            &kinds[at + 1..],
            ["echoed"],
            "the module's events follow its message event"
        );
        let echoed = ok.events.last().unwrap();
        assert_eq!(
            echoed.attributes,
            [("n".into(), "4".into()), ("height".into(), "2".into())]
        );

        // The module's own error comes back with its codespace and code,
        // its events and writes dropped.
        let failed = &out.tx_results[1];
        assert_eq!((failed.code, failed.codespace.as_str()), (7, "echo"));
        assert_eq!(
            failed.log,
            "failed to execute message; message index: 0: echo refuses odd 5"
        );
        assert!(failed.events.iter().all(|e| e.kind != "echoed"));
        app.commit().unwrap();
        let last =
            deai_types::StateRead::get_raw(&app.storage.latest_snapshot(), b"echo/last").unwrap();
        assert_eq!(last, Some(4u64.to_be_bytes().to_vec()));
    }

    #[test]
    fn an_unknown_type_url_is_refused_as_before_and_an_unregistered_module_handles_none() {
        let k = deai_client::tx::Key::from_label("echo");
        let dir = tempfile::tempdir().unwrap();
        let mut app = app_with(dir.path(), &[&k], None);
        let unknown = cosmos_sdk_proto::Any {
            type_url: "/deai.nothing.v1.MsgNothing".into(),
            value: vec![1, 2, 3],
        };
        for any in [unknown, echo(&k, 4)] {
            let url = any.type_url.clone();
            let out = app.check_tx(&tx_of(&k, 0, 0, any));
            assert_eq!((out.code, out.codespace.as_str()), (6, "sdk"));
            assert_eq!(out.log, format!("unknown message type {url}"));
            assert_eq!((out.gas_wanted, out.gas_used), (0, 0));
        }
    }

    #[test]
    fn every_hook_sees_the_block_info_consensus_decided_and_the_fees_paid() {
        use deai_types::{
            module::{BlockTime, CommitVote, Misbehavior, MisbehaviorKind, VoteFlag},
            Coin, BASE_DENOM,
        };
        let keys: Vec<_> = (0..6)
            .map(|i| deai_client::tx::Key::from_label(&format!("probe-{i}")))
            .collect();
        let mut state = deai_genesis::AppState::default();
        for k in &keys {
            state
                .add_account(k.address(), &[Coin::new(1_000_000, BASE_DENOM)])
                .unwrap();
        }
        let genesis = serde_json::to_vec(&state).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        let probe: &'static Probe = Box::leak(Box::default());
        app.modules.push(probe);
        app.init_chain("deai-probe", 1, &genesis).unwrap();
        app.finalize_block(&BlockInfo::at(1), &[]).unwrap();
        app.commit().unwrap();
        let prev = app.last_app_hash().unwrap();

        let info = BlockInfo {
            height: 2,
            time: BlockTime {
                seconds: 1_700_000_000,
                nanos: 42,
            },
            proposer: vec![7; 20],
            next_validators_hash: Vec::new(),
            last_commit: vec![
                CommitVote {
                    validator: vec![7; 20],
                    power: 10,
                    flag: VoteFlag::Commit,
                },
                CommitVote {
                    validator: vec![8; 20],
                    power: 5,
                    flag: VoteFlag::Absent,
                },
            ],
            misbehavior: vec![Misbehavior {
                kind: MisbehaviorKind::DuplicateVote,
                validator: vec![8; 20],
                power: 5,
                height: 1,
                time: BlockTime::default(),
                total_voting_power: 15,
            }],
        };
        // Two transfers of fee 1_000 each, the first with a bad signature
        // (which pays nothing).
        let mut block = mixed_block(&keys, "deai-probe");
        block.truncate(2);
        let mut bad = block[0].to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        block[0] = bad.into();
        let out = app.finalize_block(&info, &block).unwrap();
        assert_eq!(out.tx_results[1].code, 0);
        let kinds: Vec<&str> = out.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds.first(), Some(&"probe_begin"));
        assert_eq!(kinds.last(), Some(&"probe_end"));

        let seen = probe.seen.lock().unwrap();
        let fees = BTreeMap::from([(BASE_DENOM.to_string(), 1_000u128)]);
        assert_eq!(seen.len(), 4, "two hooks in each of two blocks");
        assert_eq!(
            seen[2],
            ("begin", info.clone(), prev.clone(), BTreeMap::new())
        );
        assert_eq!(seen[3], ("end", info, prev, fees));
    }

    #[test]
    fn a_block_at_the_wrong_height_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = App::open(dir.path()).unwrap();
        assert!(
            app.finalize_block(&BlockInfo::at(1), &[]).is_err(),
            "no genesis yet"
        );
        app.init_chain("deai-h", 5, b"").unwrap();
        assert!(app.finalize_block(&BlockInfo::at(1), &[]).is_err());
        app.finalize_block(&BlockInfo::at(5), &[]).unwrap();
        app.commit().unwrap();
        assert!(
            app.commit().is_err(),
            "a second commit has nothing to write"
        );
        assert_eq!(app.last_height(), 5);
    }
}
