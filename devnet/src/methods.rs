//! The RPC's methods, answering as CometBFT v0.38's `rpc/core` does: the
//! same result shapes (field names, `null` for empty lists where CometBFT
//! writes `null`, base64 where it writes base64), the same rules for heights
//! and pages, and the same error texts. Every error a method returns is a
//! JSON-RPC `-32603 Internal error`, as in CometBFT; argument conversion
//! errors (`-32602`) are [`crate::params`]'.
//!
//! The RPC never holds up block production: `abci_query` (Simulate
//! included) is answered by a [`Querier`] over committed snapshots, and
//! blocks, txs and searches are read from the shared block store; only the
//! mempool methods and `abci_info` take the devnet's lock, each for one
//! short step.

use std::{sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use deai_app::{query::Querier, TxOutcome};
use serde_json::{json, Value};
use tendermint::{account, block, chain, node, validator, Hash};
use tendermint_proto::{v0_38::abci as pb, Protobuf};
use tracing::warn;

use crate::{
    events::block_json,
    params::Args,
    query::{Query, MAX_QUERY_LENGTH},
    rpc::{Reply, Rpc, RpcError, SharedDevnet},
    search::{ordered_page, page, SearchError},
    store::{BlockStore, ScanBudget, ScanLimitExceeded},
    Devnet, MempoolError, StoredBlock, TxLocation,
};

/// How long `broadcast_tx_commit` waits for its tx to land in a block
/// (CometBFT's `timeout_broadcast_tx_commit`).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The size of one `genesis_chunked` chunk (CometBFT's).
const GENESIS_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// The most blocks one `blockchain` call returns (CometBFT's).
pub const MAX_BLOCKCHAIN_RANGE: i64 = 20;

/// What the RPC reads without the devnet's lock: facts fixed at start and
/// the block store, which only ever gains blocks.
pub(crate) struct ChainView {
    pub(crate) store: Arc<BlockStore>,
    pub(crate) chain_id: chain::Id,
    pub(crate) validators: validator::Set,
    pub(crate) validator_address: account::Id,
    pub(crate) initial_height: u64,
    pub(crate) genesis: Value,
    /// Where the RPC listens, as `status` reports it.
    pub(crate) rpc_address: String,
}

impl ChainView {
    /// The last stored height (0 before the first block).
    fn last_height(&self) -> Result<u64, RpcError> {
        Ok(self.store.last_height()?)
    }

    /// The first stored height (0 before the first block).
    fn base(&self) -> Result<u64, RpcError> {
        Ok(if self.last_height()? == 0 {
            0
        } else {
            self.initial_height
        })
    }

    fn block(&self, height: u64) -> Result<Option<StoredBlock>, RpcError> {
        Ok(self.store.get(height)?)
    }

    /// The block whose hash is `hash`; none for bytes that are not a
    /// SHA-256 hash, as no block has them.
    fn block_with_hash(&self, hash: &[u8]) -> Result<Option<StoredBlock>, RpcError> {
        match Hash::from_bytes(tendermint::hash::Algorithm::Sha256, hash) {
            Ok(h) => match self.store.height_of(&h)? {
                Some(height) => self.block(height),
                None => Ok(None),
            },
            Err(_) => Ok(None),
        }
    }

    /// CometBFT's `getHeight`: the height asked for, which must be stored,
    /// or `latest` when none is.
    fn height(&self, latest: u64, asked: Option<i64>) -> Result<u64, RpcError> {
        let Some(h) = asked else {
            return Ok(latest);
        };
        if h <= 0 {
            return Err(RpcError::internal(format!(
                "height must be greater than 0, but got {h}"
            )));
        }
        let h = u64::try_from(h).map_err(RpcError::internal)?;
        if h > latest {
            return Err(RpcError::internal(format!(
                "height {h} must be less than or equal to the current blockchain height {latest}"
            )));
        }
        let base = self.base()?;
        if h < base {
            return Err(RpcError::internal(format!(
                "height {h} is not available, lowest height is {base}"
            )));
        }
        Ok(h)
    }

    /// The stored block at the height asked for, or the latest.
    fn stored_block(&self, asked: Option<i64>) -> Result<StoredBlock, RpcError> {
        let h = self.height(self.last_height()?, asked)?;
        self.block(h)?
            .ok_or_else(|| RpcError::internal(format!("block {h} is missing from the store")))
    }
}

/// `v` with the first block's missing parent written as CometBFT writes it
/// ([`crate::events::zero_block_ids`]), for answers holding headers.
fn with_block_ids(mut v: Value) -> Value {
    crate::events::zero_block_ids(&mut v);
    v
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(RpcError::internal)
}

/// Runs `f` on the devnet on the blocking pool, under its lock: only for
/// the mempool and the app's info, each one short step.
async fn with<T: Send + 'static>(
    devnet: &SharedDevnet,
    f: impl FnOnce(&mut Devnet) -> Result<T, RpcError> + Send + 'static,
) -> Result<T, RpcError> {
    let devnet = devnet.clone();
    tokio::task::spawn_blocking(move || {
        let mut d = devnet
            .lock()
            .map_err(|_| RpcError::internal("the devnet panicked earlier"))?;
        f(&mut d)
    })
    .await
    .map_err(RpcError::internal)?
}

/// CheckTx of a broadcast tx: its signatures verified first, on the
/// blocking pool but outside the devnet's lock, then the rest under it.
async fn check_broadcast(
    rpc: &Rpc,
    tx: Vec<u8>,
) -> Result<Result<TxOutcome, MempoolError>, RpcError> {
    let devnet = rpc.devnet.clone();
    let verifier = rpc.verifier.clone();
    tokio::task::spawn_blocking(move || {
        let pre = verifier.map(|v| v.verify(&tx));
        let mut d = devnet
            .lock()
            .map_err(|_| RpcError::internal("the devnet panicked earlier"))?;
        Ok(d.check_tx_preverified(tx, pre.as_ref()))
    })
    .await
    .map_err(RpcError::internal)?
}

/// Runs `f` on the blocking pool without the devnet's lock.
async fn read<T: Send + 'static>(
    rpc: &Rpc,
    f: impl FnOnce(&ChainView) -> Result<T, RpcError> + Send + 'static,
) -> Result<T, RpcError> {
    let chain = rpc.chain.clone();
    tokio::task::spawn_blocking(move || f(&chain))
        .await
        .map_err(RpcError::internal)?
}

/// A search error as CometBFT words it; one that ran out of the devnet's
/// budget says so.
fn search_error(e: SearchError) -> RpcError {
    match &e {
        SearchError::Store(inner) => match inner.downcast_ref::<ScanLimitExceeded>() {
            Some(limit) => RpcError::internal(limit),
            None => RpcError::internal(format!("{inner:#}")),
        },
        _ => RpcError::internal(e),
    }
}

/// Whether `order_by` asks for newest first; `default_desc` when empty.
fn descending(order_by: &str, default_desc: bool) -> Result<bool, RpcError> {
    match order_by {
        "" => Ok(default_desc),
        "asc" => Ok(false),
        "desc" => Ok(true),
        _ => Err(RpcError::internal(
            "expected order_by to be either `asc` or `desc` or empty",
        )),
    }
}

/// Answers one method call with converted arguments.
pub(crate) async fn dispatch(rpc: &Rpc, method: &str, a: Args) -> Result<Reply, RpcError> {
    match method {
        // Large: written as JSON text straight from the stored results.
        "block_results" => {
            let height = a.opt_int("height");
            read(rpc, move |c| {
                let h = c.height(c.last_height()?, height)?;
                let results = c
                    .store
                    .results(h)?
                    .ok_or_else(|| RpcError::internal(format!("block {h} has no results")))?;
                block_results(h, &results)
            })
            .await
            .map(Reply::Raw)
        }
        _ => dispatch_value(rpc, method, a).await.map(Reply::Value),
    }
}

async fn dispatch_value(rpc: &Rpc, method: &str, a: Args) -> Result<Value, RpcError> {
    match method {
        "health" => Ok(json!({})),
        "status" => read(rpc, status).await,
        "net_info" => Ok(json!({
            // One validator, no peers: the devnet has no p2p layer.
            "listening": false,
            "listeners": [],
            "n_peers": "0",
            "peers": [],
        })),
        "blockchain" => {
            let (min, max) = (a.int("minHeight"), a.int("maxHeight"));
            read(rpc, move |c| blockchain(c, min, max)).await
        }
        "genesis" => read(rpc, |c| Ok(json!({"genesis": c.genesis}))).await,
        "genesis_chunked" => {
            let chunk = a.uint("chunk");
            read(rpc, move |c| genesis_chunk(c, chunk)).await
        }
        "block" => {
            let height = a.opt_int("height");
            read(rpc, move |c| {
                let b = c.stored_block(height)?;
                Ok(json!({"block_id": to_value(&b.commit.block_id)?, "block": block_json(&b.block)?}))
            })
            .await
        }
        "block_by_hash" => {
            let hash = a.bytes("hash");
            read(rpc, move |c| {
                Ok(match c.block_with_hash(&hash)? {
                    Some(b) => json!({"block_id": to_value(&b.commit.block_id)?, "block": block_json(&b.block)?}),
                    None => json!({"block_id": to_value(&block::Id::default())?, "block": null}),
                })
            })
            .await
        }
        "commit" => {
            let height = a.opt_int("height");
            read(rpc, move |c| {
                let b = c.stored_block(height)?;
                // The stored commit is the one the validator made when the
                // block was produced: canonical once a later block exists.
                let canonical = b.block.header.height.value() < c.last_height()?;
                let signed_header =
                    tendermint::block::signed_header::SignedHeader::new(b.block.header, b.commit)
                        .map_err(RpcError::internal)?;
                Ok(with_block_ids(
                    json!({"signed_header": to_value(&signed_header)?, "canonical": canonical}),
                ))
            })
            .await
        }
        "header" => {
            let height = a.opt_int("height");
            read(rpc, move |c| {
                let b = c.stored_block(height)?;
                Ok(with_block_ids(
                    json!({"header": to_value(&b.block.header)?}),
                ))
            })
            .await
        }
        "header_by_hash" => {
            let hash = a.bytes("hash");
            read(rpc, move |c| {
                let found = c.block_with_hash(&hash)?;
                Ok(with_block_ids(
                    json!({"header": found.map(|b| to_value(&b.block.header)).transpose()?}),
                ))
            })
            .await
        }
        "check_tx" => {
            let tx = a.bytes("tx");
            with(&rpc.devnet, move |d| {
                Ok(check_tx_json(&d.check_tx_dry(&tx)))
            })
            .await
        }
        "tx" => {
            let (hash, prove) = (a.bytes("hash"), a.bool("prove"));
            read(rpc, move |c| tx(c, &hash, prove)).await
        }
        "tx_search" => {
            let query = a.string("query");
            let (prove, order_by) = (a.bool("prove"), a.string("order_by"));
            let (pg, per_page) = (a.opt_int("page"), a.opt_int("per_page"));
            let budget = rpc.limits.max_index_entries;
            read(rpc, move |c| {
                if query.len() > MAX_QUERY_LENGTH {
                    return Err(RpcError::internal("maximum query length exceeded"));
                }
                let q = Query::parse(&query).map_err(RpcError::internal)?;
                let found = crate::search::txs(&c.store, &q, &mut ScanBudget::new(budget))
                    .map_err(search_error)?;
                let desc = descending(&order_by, false)?;
                let bounds = page(found.len(), pg, per_page).map_err(RpcError::internal)?;
                let mut cache = None;
                let txs = ordered_page(&found, desc, bounds)
                    .into_iter()
                    .map(|loc| tx_at(c, &mut cache, loc, prove))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(json!({"txs": txs, "total_count": found.len().to_string()}))
            })
            .await
        }
        "block_search" => {
            let query = a.string("query");
            let order_by = a.string("order_by");
            let (pg, per_page) = (a.opt_int("page"), a.opt_int("per_page"));
            let budget = rpc.limits.max_index_entries;
            read(rpc, move |c| {
                let q = Query::parse(&query).map_err(RpcError::internal)?;
                let found = crate::search::blocks(&c.store, &q, &mut ScanBudget::new(budget))
                    .map_err(search_error)?;
                // CometBFT lists blocks newest first unless asked otherwise.
                let desc = descending(&order_by, true)?;
                let bounds = page(found.len(), pg, per_page).map_err(RpcError::internal)?;
                let blocks = ordered_page(&found, desc, bounds)
                    .into_iter()
                    .filter_map(|h| c.block(h).transpose())
                    .map(|b| {
                        let b = b?;
                        Ok(json!({"block_id": to_value(&b.commit.block_id)?, "block": block_json(&b.block)?}))
                    })
                    .collect::<Result<Vec<_>, RpcError>>()?;
                Ok(json!({"blocks": blocks, "total_count": found.len().to_string()}))
            })
            .await
        }
        "validators" => {
            let height = a.opt_int("height");
            let (pg, per_page) = (a.opt_int("page"), a.opt_int("per_page"));
            read(rpc, move |c| validators(c, height, pg, per_page)).await
        }
        "consensus_params" => {
            let height = a.opt_int("height");
            read(rpc, move |c| {
                // The params after the last block: the next height's.
                let h = c.height(c.last_height()? + 1, height)?;
                Ok(json!({"block_height": h.to_string(), "consensus_params": consensus_params(&c.genesis)}))
            })
            .await
        }
        "unconfirmed_txs" | "num_unconfirmed_txs" => {
            // `limit` as CometBFT's per_page: below 1 is 30, above 100 is 100.
            let limit = (method == "unconfirmed_txs").then(|| match a.opt_int("limit") {
                Some(n) if n >= 1 => usize::try_from(n.min(100)).unwrap_or(100),
                _ => 30,
            });
            // Only the shown txs are copied under the lock; encoding waits.
            let (shown, total, bytes) = with(&rpc.devnet, move |d| {
                let txs = d.mempool();
                let shown = limit.map(|l| txs[..l.min(txs.len())].to_vec());
                Ok((shown, txs.len(), d.mempool_bytes()))
            })
            .await?;
            let n_txs = shown.as_ref().map_or(total, Vec::len);
            Ok(json!({
                "n_txs": n_txs.to_string(),
                "total": total.to_string(),
                "total_bytes": bytes.to_string(),
                "txs": match shown {
                    Some(txs) => Value::from(txs.iter().map(|t| B64.encode(t)).collect::<Vec<_>>()),
                    None => Value::Null,
                },
            }))
        }
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let tx = a.bytes("tx");
            let hash = tx_hash_hex(&tx);
            let out = check_broadcast(rpc, tx).await?.map_err(mempool_error)?;
            // `async` answers before CheckTx in CometBFT: no result of it.
            Ok(if method == "broadcast_tx_async" {
                json!({"code": 0, "data": "", "log": "", "codespace": "", "hash": hash})
            } else {
                json!({"code": out.code, "data": "", "log": out.log, "codespace": out.codespace, "hash": hash})
            })
        }
        "broadcast_tx_commit" => broadcast_tx_commit(rpc, a.bytes("tx")).await,
        "abci_query" => {
            let (path, data) = (a.string("path"), a.bytes("data"));
            let (height, prove) = (a.int("height"), a.bool("prove"));
            // Committed snapshots only: a slow query never holds the lock
            // the block producer needs.
            let querier: Querier = rpc.querier.clone();
            let ans = tokio::task::spawn_blocking(move || {
                querier.query(&path, &data, u64::try_from(height).unwrap_or(0), prove)
            })
            .await
            .map_err(RpcError::internal)?;
            let bytes = |b: &[u8]| {
                if b.is_empty() {
                    Value::Null
                } else {
                    Value::String(B64.encode(b))
                }
            };
            let proof_ops = (!ans.proof_ops.is_empty()).then(|| {
                let ops: Vec<Value> = ans
                    .proof_ops
                    .iter()
                    .map(|(kind, key, data)| {
                        json!({"type": kind, "key": bytes(key), "data": bytes(data)})
                    })
                    .collect();
                json!({"ops": ops})
            });
            Ok(json!({"response": {
                "code": ans.code,
                "log": ans.log,
                "info": "",
                "index": "0",
                "key": bytes(&ans.key),
                "value": bytes(&ans.value),
                "proofOps": proof_ops,
                "height": ans.height.to_string(),
                "codespace": ans.codespace,
            }}))
        }
        "abci_info" => with(&rpc.devnet, |d| abci_info(d)).await,
        other => Err(RpcError::internal(format!(
            "{other} is not served by the devnet"
        ))),
    }
}

/// A tx's hash as CometBFT writes it: upper-case hex.
fn tx_hash_hex(tx: &[u8]) -> String {
    hex::encode_upper(deai_app::tx::tx_hash(tx))
}

/// A mempool refusal as CometBFT's RPC reports it: an error, not a result.
fn mempool_error(e: MempoolError) -> RpcError {
    RpcError::internal(e)
}

/// A CheckTx answer as CometBFT writes `ResponseCheckTx` (every field,
/// defaults included).
fn check_tx_json(out: &TxOutcome) -> Value {
    let events = deai_app::abci::abci_events(out.events.clone());
    json!({
        "code": out.code,
        "data": null,
        "log": out.log,
        "info": "",
        "gas_wanted": out.gas_wanted.to_string(),
        "gas_used": out.gas_used.to_string(),
        "events": serde_json::to_value(&events).unwrap_or(Value::Array(Vec::new())),
        "codespace": out.codespace,
    })
}

async fn broadcast_tx_commit(rpc: &Rpc, tx: Vec<u8>) -> Result<Value, RpcError> {
    let hash = Hash::Sha256(deai_app::tx::tx_hash(&tx));
    let check = check_broadcast(rpc, tx)
        .await?
        .map_err(|e| RpcError::internal(format!("error on broadcastTxCommit: {e}")))?;
    let check_tx = check_tx_json(&check);
    let hash_hex = hash.to_string();
    if check.code != 0 {
        return Ok(json!({
            "check_tx": check_tx,
            "tx_result": exec_json(&pb::ExecTxResult::default())?,
            "hash": hash_hex,
            "height": "0",
        }));
    }
    let deadline = tokio::time::Instant::now() + COMMIT_TIMEOUT;
    loop {
        // The tx index, not the lock: waiting never slows the producer.
        let found = read(rpc, move |c| match c.store.tx(&hash)? {
            Some(loc) => {
                let b = c
                    .block(loc.height)?
                    .ok_or_else(|| RpcError::internal("block missing"))?;
                let i = usize::try_from(loc.index).map_err(RpcError::internal)?;
                let result = b
                    .results
                    .tx_results
                    .get(i)
                    .cloned()
                    .ok_or_else(|| RpcError::internal("tx result missing"))?;
                Ok(Some((exec_json(&result)?, loc.height)))
            }
            None => Ok(None),
        })
        .await?;
        if let Some((tx_result, height)) = found {
            return Ok(json!({
                "check_tx": check_tx,
                "tx_result": tx_result,
                "hash": hash_hex,
                "height": height.to_string(),
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            warn!(%hash, "broadcast_tx_commit timed out");
            return Err(RpcError::internal(
                "timed out waiting for tx to be included in a block",
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An `ExecTxResult` as CometBFT writes it in RPC answers (every field),
/// serialised from the stored protobuf without copying it.
pub(crate) struct ExecJson<'a>(pub(crate) &'a pb::ExecTxResult);

/// An ABCI event as CometBFT writes it, from the stored protobuf.
pub(crate) struct EventJson<'a>(pub(crate) &'a pb::Event);

/// A list written element by element, without collecting it first.
struct Seq<I>(std::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: serde::Serialize> serde::Serialize for Seq<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().into_iter().flatten())
    }
}

fn seq<I: Iterator>(items: I) -> Seq<I> {
    Seq(std::cell::Cell::new(Some(items)))
}

impl serde::Serialize for ExecJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let r = self.0;
        let mut m = s.serialize_struct("ExecTxResult", 8)?;
        m.serialize_field("code", &r.code)?;
        m.serialize_field("data", &(!r.data.is_empty()).then(|| B64.encode(&r.data)))?;
        m.serialize_field("log", &r.log)?;
        m.serialize_field("info", &r.info)?;
        m.serialize_field("gas_wanted", &r.gas_wanted.to_string())?;
        m.serialize_field("gas_used", &r.gas_used.to_string())?;
        m.serialize_field("events", &seq(r.events.iter().map(EventJson)))?;
        m.serialize_field("codespace", &r.codespace)?;
        m.end()
    }
}

impl serde::Serialize for EventJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        #[derive(serde::Serialize)]
        struct Attribute<'a> {
            key: &'a str,
            value: &'a str,
            index: bool,
        }
        let mut m = s.serialize_struct("Event", 2)?;
        m.serialize_field("type", &self.0.r#type)?;
        m.serialize_field(
            "attributes",
            &seq(self.0.attributes.iter().map(|a| Attribute {
                key: &a.key,
                value: &a.value,
                index: a.index,
            })),
        )?;
        m.end()
    }
}

/// An `ExecTxResult` as a JSON value.
fn exec_json(r: &pb::ExecTxResult) -> Result<Value, RpcError> {
    to_value(&ExecJson(r))
}

/// `tx`: one tx by hash (any bytes; CometBFT looks them up as given).
fn tx(c: &ChainView, hash: &[u8], prove: bool) -> Result<Value, RpcError> {
    if hash.is_empty() {
        return Err(RpcError::internal("transaction hash cannot be empty"));
    }
    let not_found = || RpcError::internal(format!("tx ({}) not found", hex::encode_upper(hash)));
    let hash =
        Hash::from_bytes(tendermint::hash::Algorithm::Sha256, hash).map_err(|_| not_found())?;
    let loc = c.store.tx(&hash)?.ok_or_else(not_found)?;
    tx_at(c, &mut None, loc, prove)
}

/// The tx at `loc`, with its result (and its Merkle proof when `prove`).
/// `cache` keeps the last block read, so a page of txs from one block reads
/// that block once.
fn tx_at(
    c: &ChainView,
    cache: &mut Option<StoredBlock>,
    loc: TxLocation,
    prove: bool,
) -> Result<Value, RpcError> {
    let cached = cache
        .as_ref()
        .is_some_and(|b| b.block.header.height.value() == loc.height);
    if !cached {
        *cache = Some(
            c.block(loc.height)?
                .ok_or_else(|| RpcError::internal(format!("block {} is missing", loc.height)))?,
        );
    }
    let b = cache
        .as_ref()
        .ok_or_else(|| RpcError::internal("block cache is empty"))?;
    let index = usize::try_from(loc.index).map_err(RpcError::internal)?;
    let tx = b
        .block
        .data
        .get(index)
        .ok_or_else(|| RpcError::internal("tx index out of range"))?;
    let result = b
        .results
        .tx_results
        .get(index)
        .ok_or_else(|| RpcError::internal("tx result missing"))?;
    let mut v = json!({
        "hash": tx_hash_hex(tx),
        "height": loc.height.to_string(),
        "index": loc.index,
        "tx_result": exec_json(result)?,
        "tx": B64.encode(tx),
    });
    if prove {
        let p = crate::chain::tx_proof(&b.block.data, index).map_err(RpcError::internal)?;
        v["proof"] = json!({
            "root_hash": hex::encode_upper(p.root),
            "data": B64.encode(tx),
            "proof": {
                "total": b.block.data.len().to_string(),
                "index": index.to_string(),
                "leaf_hash": B64.encode(p.leaf_hash),
                "aunts": p.aunts.iter().map(|a| B64.encode(a)).collect::<Vec<_>>(),
            },
        });
    }
    Ok(v)
}

/// `block_results` as CometBFT writes `ResultBlockResults`: empty lists are
/// `null` and the app hash is base64. Written as JSON text directly: for a
/// full block this is megabytes, and a tree of values would cost more than
/// the text.
fn block_results(height: u64, r: &pb::ResponseFinalizeBlock) -> Result<String, RpcError> {
    #[derive(serde::Serialize)]
    struct BlockResults<T, E> {
        height: String,
        txs_results: Option<T>,
        finalize_block_events: Option<E>,
        validator_updates: Option<Vec<Value>>,
        consensus_param_updates: Option<Value>,
        app_hash: String,
    }
    let updates = r
        .validator_updates
        .iter()
        .map(|u| {
            tendermint::validator::Update::try_from(u.clone())
                .map_err(RpcError::internal)
                .and_then(|u| to_value(&u))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let params = r.consensus_param_updates.as_ref().and_then(|p| {
        tendermint::consensus::Params::try_from(p.clone())
            .ok()
            .and_then(|p| serde_json::to_value(p).ok())
    });
    serde_json::to_string(&BlockResults {
        height: height.to_string(),
        txs_results: (!r.tx_results.is_empty()).then(|| seq(r.tx_results.iter().map(ExecJson))),
        finalize_block_events: (!r.events.is_empty()).then(|| seq(r.events.iter().map(EventJson))),
        validator_updates: (!updates.is_empty()).then_some(updates),
        consensus_param_updates: params,
        app_hash: B64.encode(&r.app_hash),
    })
    .map_err(RpcError::internal)
}

/// CometBFT's `blockchain` range (`filterMinMax`): defaults to the whole
/// chain, clipped to what is stored and to the 20 blocks below `max`.
pub fn blockchain_range(base: i64, height: i64, min: i64, max: i64) -> Result<(i64, i64), String> {
    if min < 0 || max < 0 {
        return Err("heights must be non-negative".to_string());
    }
    let min = if min == 0 { 1 } else { min };
    let max = if max == 0 { height } else { max };
    let max = max.min(height);
    let min = min.max(base).max(max - MAX_BLOCKCHAIN_RANGE + 1);
    if min > max {
        return Err(format!(
            "min height {min} can't be greater than max height {max}"
        ));
    }
    Ok((min, max))
}

fn blockchain(c: &ChainView, min: i64, max: i64) -> Result<Value, RpcError> {
    let last = c.last_height()?;
    let signed = |n: u64| i64::try_from(n).map_err(RpcError::internal);
    let (min, max) = blockchain_range(signed(c.base()?)?, signed(last)?, min, max)
        .map_err(RpcError::internal)?;
    let mut metas = Vec::new();
    for h in (min..=max).rev() {
        let b = c.stored_block(Some(h))?;
        let block_size =
            Protobuf::<tendermint_proto::v0_38::types::Block>::encoded_len(b.block.clone());
        metas.push(to_value(&block::Meta {
            block_id: b.commit.block_id,
            block_size: i64::try_from(block_size).unwrap_or(i64::MAX),
            num_txs: i64::try_from(b.block.data.len()).unwrap_or(i64::MAX),
            header: b.block.header,
        })?);
    }
    Ok(with_block_ids(
        json!({"last_height": last.to_string(), "block_metas": metas}),
    ))
}

fn genesis_chunk(c: &ChainView, chunk: u64) -> Result<Value, RpcError> {
    let bytes = serde_json::to_vec(&c.genesis).map_err(RpcError::internal)?;
    let chunks: Vec<&[u8]> = bytes.chunks(GENESIS_CHUNK_BYTES).collect();
    let data = usize::try_from(chunk)
        .ok()
        .and_then(|i| chunks.get(i))
        .ok_or_else(|| {
            RpcError::internal(format!(
                "there are {} chunks, {chunk} is invalid",
                chunks.len().saturating_sub(1)
            ))
        })?;
    Ok(json!({
        "chunk": chunk.to_string(),
        "total": chunks.len().to_string(),
        "data": B64.encode(data),
    }))
}

/// One validator as CometBFT writes it: `voting_power`, and no `name`
/// (tendermint-rs writes `power` and `name`).
fn validator_json(v: &validator::Info, with_priority: bool) -> Result<Value, RpcError> {
    let mut out = to_value(v)?;
    if let Some(info) = out.as_object_mut() {
        if let Some(power) = info.remove("power") {
            info.insert("voting_power".into(), power);
        }
        info.remove("name");
        if with_priority {
            info.insert(
                "proposer_priority".into(),
                Value::String(v.proposer_priority.value().to_string()),
            );
        } else {
            info.remove("proposer_priority");
        }
    }
    Ok(out)
}

fn validators(
    c: &ChainView,
    height: Option<i64>,
    pg: Option<i64>,
    per_page: Option<i64>,
) -> Result<Value, RpcError> {
    // The validators after the last block are the next height's.
    let h = c.height(c.last_height()? + 1, height)?;
    let all = c.validators.validators();
    let (skip, take) = page(all.len(), pg, per_page).map_err(RpcError::internal)?;
    let shown = all
        .iter()
        .skip(skip)
        .take(take)
        .map(|v| validator_json(v, true))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "block_height": h.to_string(),
        "validators": shown,
        "count": shown.len().to_string(),
        "total": all.len().to_string(),
    }))
}

/// The consensus params genesis sets, with CometBFT's defaults for what it
/// leaves out (the devnet never changes them).
fn consensus_params(genesis: &Value) -> Value {
    let mut params = json!({
        "block": {"max_bytes": "22020096", "max_gas": "-1"},
        "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
        "validator": {"pub_key_types": ["ed25519"]},
        "version": {"app": "0"},
        "abci": {"vote_extensions_enable_height": "0"},
    });
    if let (Some(given), Some(out)) = (
        genesis.get("consensus_params").and_then(Value::as_object),
        params.as_object_mut(),
    ) {
        for (section, v) in given {
            if let (Some(fields), Some(Value::Object(target))) =
                (v.as_object(), out.get_mut(section))
            {
                for (k, v) in fields {
                    target.insert(k.clone(), v.clone());
                }
            }
        }
    }
    params
}

fn abci_info(d: &Devnet) -> Result<Value, RpcError> {
    let app = d.app();
    let app_hash = app.last_app_hash()?;
    Ok(json!({"response": {
        "data": "deai",
        "version": env!("CARGO_PKG_VERSION"),
        "app_version": deai_genesis::APP_VERSION.to_string(),
        "last_block_height": app.last_height().to_string(),
        "last_block_app_hash": B64.encode(&app_hash),
    }}))
}

fn status(c: &ChainView) -> Result<Value, RpcError> {
    let mut id = [0u8; 20];
    id.copy_from_slice(c.validator_address.as_bytes());
    // Read the last height once: both ends of the answer from one moment.
    let last_height = c.last_height()?;
    // Headers only, as CometBFT reads block metas: `status` is polled often.
    let first = c.store.meta(c.base()?)?;
    let last = c.store.meta(last_height)?;
    type Meta = Option<(block::Id, tendermint::block::Header)>;
    let ends = |b: &Meta| -> Result<(Value, Value, String, Value), RpcError> {
        Ok(match b {
            Some((id, header)) => (
                to_value(&id.hash)?,
                Value::String(header.app_hash.to_string()),
                header.height.value().to_string(),
                to_value(&header.time)?,
            ),
            None => (
                Value::String(String::new()),
                Value::String(String::new()),
                "0".to_string(),
                to_value(&tendermint::Time::unix_epoch())?,
            ),
        })
    };
    let (earliest_hash, earliest_app_hash, earliest_height, earliest_time) = ends(&first)?;
    let (latest_hash, latest_app_hash, latest_height, latest_time) = ends(&last)?;
    let validator = c
        .validators
        .validators()
        .first()
        .ok_or_else(|| RpcError::internal("no validator"))?;
    Ok(json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": deai_genesis::APP_VERSION.to_string()},
            "id": node::Id::new(id).to_string(),
            // No p2p here; CometBFT clients (CosmJS) require a non-empty value.
            "listen_addr": "tcp://127.0.0.1:26656",
            "network": c.chain_id.to_string(),
            "version": "0.38.0-deai-devnet",
            "channels": "",
            "moniker": "deai-devnet",
            "other": {"tx_index": "on", "rpc_address": c.rpc_address},
        },
        "sync_info": {
            "latest_block_hash": latest_hash,
            "latest_app_hash": latest_app_hash,
            "latest_block_height": latest_height,
            "latest_block_time": latest_time,
            "earliest_block_hash": earliest_hash,
            "earliest_app_hash": earliest_app_hash,
            "earliest_block_height": earliest_height,
            "earliest_block_time": earliest_time,
            "catching_up": false,
        },
        "validator_info": validator_json(validator, false)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockchain_ranges_follow_cometbft() {
        assert_eq!(blockchain_range(1, 50, 0, 0), Ok((31, 50)));
        assert_eq!(blockchain_range(1, 50, 3, 7), Ok((3, 7)));
        assert_eq!(blockchain_range(1, 50, 3, 100), Ok((31, 50)));
        assert_eq!(blockchain_range(1, 5, 0, 0), Ok((1, 5)));
        assert!(blockchain_range(1, 5, 9, 0).is_err());
        assert!(blockchain_range(0, 0, 0, 0).is_err());
        assert_eq!(
            blockchain_range(1, 5, -1, 0),
            Err("heights must be non-negative".to_string())
        );
    }

    #[test]
    fn a_blockchain_range_never_spans_more_than_twenty_blocks() {
        assert_eq!(
            blockchain_range(1, i64::MAX, 1, i64::MAX).map(|(a, b)| b - a + 1),
            Ok(20)
        );
        assert_eq!(blockchain_range(1, 1_000, 1, 1_000), Ok((981, 1_000)));
    }

    #[test]
    fn genesis_consensus_params_fill_cometbfts_defaults() {
        let p = consensus_params(&json!({"consensus_params": {"block": {"max_bytes": "100"}}}));
        assert_eq!(p["block"]["max_bytes"], "100");
        assert_eq!(p["block"]["max_gas"], "-1");
        assert_eq!(p["validator"]["pub_key_types"][0], "ed25519");
    }
}
