//! A CometBFT v0.38-compatible JSON-RPC for the devnet, as JSON-RPC POSTs
//! to `/` (single or batched), URI GETs (`/status`, `/block?height=5`,
//! `/tx?hash=0x…`) and a websocket at `/websocket` ([`crate::ws`], which
//! adds `subscribe`/`unsubscribe`/`unsubscribe_all`). Methods: `status`,
//! `health`, `abci_info`, `abci_query`, `check_tx`, `broadcast_tx_*`,
//! `block`, `block_by_hash`, `header`, `header_by_hash`, `block_results`,
//! `blockchain`, `commit`, `validators`, `genesis`, `genesis_chunked`, `tx`,
//! `tx_search`, `block_search`, `unconfirmed_txs`, `num_unconfirmed_txs`,
//! `net_info`. Answers are tendermint-rpc's own endpoint response types,
//! serialized as CometBFT does, so CometBFT clients (tendermint-rpc's
//! `HttpClient` and `WebSocketClient`, CosmJS) work.
//!
//! HTTP/1.1 is handled here directly (one request per connection) to keep
//! an HTTP server framework out of the node's dependencies.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::{json, Map, Value};
use tendermint::{
    abci::{self, Code},
    block, merkle, node, Hash,
};
use tendermint_proto::Protobuf;
use tendermint_rpc::endpoint::{
    abci_info, abci_query, block as block_ep, block_by_hash, block_results, block_search,
    blockchain, broadcast::tx_commit, broadcast::tx_sync, commit as commit_ep, header as header_ep,
    header_by_hash, health, status, tx as tx_ep, tx_search, validators,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tracing::{debug, warn};

use crate::{query::Query, Devnet};

/// The devnet as shared by the block producer and the RPC.
pub type SharedDevnet = Arc<Mutex<Devnet>>;

/// The largest request accepted (a tx is at most a few MiB, base64-encoded).
pub(crate) const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;

/// How long `broadcast_tx_commit` waits for its tx to land in a block.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A JSON-RPC error: code, message, data.
pub(crate) struct RpcError(pub i64, pub String, pub String);

impl RpcError {
    pub(crate) fn invalid_params(e: impl std::fmt::Display) -> Self {
        RpcError(-32602, "Invalid params".into(), e.to_string())
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        RpcError(-32603, "Internal error".into(), e.to_string())
    }
}

impl From<anyhow::Error> for RpcError {
    fn from(e: anyhow::Error) -> Self {
        RpcError::internal(format!("{e:#}"))
    }
}

/// Serves the RPC on `listener` until the process ends.
pub async fn serve(devnet: SharedDevnet, listener: TcpListener) -> anyhow::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await.context("accepting")?;
        let devnet = devnet.clone();
        tokio::spawn(async move {
            if let Err(e) = connection(devnet, stream).await {
                debug!(%peer, error = format!("{e:#}"), "RPC connection failed");
            }
        });
    }
}

async fn connection(devnet: SharedDevnet, mut stream: TcpStream) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_REQUEST_BYTES {
            bail!("request head too large");
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let headers: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let path = target.split_once('?').map_or(target.as_str(), |(p, _)| p);
    if method == "GET" && crate::ws::is_upgrade(|n| header(n).map(str::to_string)) {
        let early = buf.split_off(head_end + 4);
        return crate::ws::serve(
            devnet,
            stream,
            path,
            |n| header(n).map(str::to_string),
            early,
        )
        .await;
    }
    let content_length = header("content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if content_length > MAX_REQUEST_BYTES {
        bail!("request body too large");
    }
    // curl asks before sending a large body.
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let mut body = buf.split_off(head_end + 4);
    while body.len() < content_length {
        let mut chunk = vec![0u8; content_length - body.len()];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("connection closed mid-body");
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let reply = match method.as_str() {
        "POST" => post(&devnet, &body).await,
        "GET" => get(&devnet, &target).await,
        _ => envelope(
            Value::from(-1),
            Err(RpcError(-32600, "Invalid request".into(), method)),
        ),
    };
    let bytes = serde_json::to_vec(&reply)?;
    let header = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    stream.write_all(header.as_bytes()).await?;
    stream.write_all(&bytes).await?;
    stream.shutdown().await?;
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

pub(crate) fn envelope(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(mut r) => {
            crate::events::zero_block_ids(&mut r);
            json!({"jsonrpc": "2.0", "id": id, "result": r})
        }
        Err(RpcError(code, message, data)) => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message, "data": data}})
        }
    }
}

async fn post(devnet: &SharedDevnet, body: &[u8]) -> Value {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return envelope(
                Value::from(-1),
                Err(RpcError(-32700, "Parse error".into(), e.to_string())),
            )
        }
    };
    match req {
        // A JSON-RPC batch (CosmJS's HttpBatchClient sends these): the
        // answers in request order.
        Value::Array(batch) if !batch.is_empty() => {
            let mut answers = Vec::with_capacity(batch.len());
            for one in &batch {
                answers.push(single(devnet, one).await);
            }
            Value::Array(answers)
        }
        one => single(devnet, &one).await,
    }
}

/// Answers one JSON-RPC request object.
async fn single(devnet: &SharedDevnet, req: &Value) -> Value {
    if !req.is_object() {
        return envelope(
            Value::from(-1),
            Err(RpcError(
                -32600,
                "Invalid Request".into(),
                "a JSON-RPC request must be an object".into(),
            )),
        );
    }
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let method = req
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let params = Params::from_json(&method, req.get("params"));
    envelope(id, dispatch(devnet, &method, params).await)
}

async fn get(devnet: &SharedDevnet, target: &str) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(k.to_string(), Value::String(percent_decode(v)));
    }
    let method = path.trim_start_matches('/');
    envelope(
        Value::from(-1),
        dispatch(devnet, method, Params { map, uri: true }).await,
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Request parameters, from a JSON-RPC object or a URI query.
pub(crate) struct Params {
    map: Map<String, Value>,
    /// URI form: strings are quoted, bytes are `0x`-hex.
    uri: bool,
}

/// How a byte parameter is encoded in JSON-RPC.
#[derive(Clone, Copy)]
enum Bytes {
    Base64,
    Hex,
}

/// The names of each method's positional parameters, as CometBFT's routes
/// declare them, for JSON-RPC requests that pass `params` as an array.
fn positional_names(method: &str) -> &'static [&'static str] {
    match method {
        "abci_query" => &["path", "data", "height", "prove"],
        "broadcast_tx_sync" | "broadcast_tx_async" | "broadcast_tx_commit" | "check_tx" => &["tx"],
        "block" | "header" | "commit" | "block_results" => &["height"],
        "block_by_hash" | "header_by_hash" => &["hash"],
        "blockchain" => &["minHeight", "maxHeight"],
        "validators" => &["height", "page", "per_page"],
        "tx" => &["hash", "prove"],
        "tx_search" => &["query", "prove", "page", "per_page", "order_by"],
        "block_search" => &["query", "page", "per_page", "order_by"],
        "unconfirmed_txs" => &["limit"],
        "genesis_chunked" => &["chunk"],
        "subscribe" | "unsubscribe" => &["query"],
        _ => &[],
    }
}

impl Params {
    /// The parameters of a JSON-RPC request: an object, or an array in the
    /// order CometBFT declares the method's arguments.
    pub(crate) fn from_json(method: &str, params: Option<&Value>) -> Params {
        let map = match params {
            Some(Value::Object(m)) => m.clone(),
            Some(Value::Array(list)) => positional_names(method)
                .iter()
                .zip(list)
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            _ => Map::new(),
        };
        Params { map, uri: false }
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        let v = self.map.get(name)?;
        match v {
            Value::String(s) if self.uri => Some(s.trim_matches('"').to_string()),
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn u64(&self, name: &str) -> Result<Option<u64>, RpcError> {
        match self.string(name) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(Some)
                .map_err(|e| RpcError::invalid_params(format!("{name}: {e}"))),
        }
    }

    fn bool(&self, name: &str) -> bool {
        self.string(name).is_some_and(|s| s == "true")
    }

    fn bytes(&self, name: &str, enc: Bytes) -> Result<Vec<u8>, RpcError> {
        let Some(raw) = self.map.get(name) else {
            return Ok(Vec::new());
        };
        let Value::String(s) = raw else {
            return Err(RpcError::invalid_params(format!("{name} must be a string")));
        };
        let bad = |e: &dyn std::fmt::Display| RpcError::invalid_params(format!("{name}: {e}"));
        if let Some(h) = s.strip_prefix("0x") {
            return hex::decode(h).map_err(|e| bad(&e));
        }
        if self.uri {
            // A quoted URI value is the bytes of the string itself.
            return Ok(s.trim_matches('"').as_bytes().to_vec());
        }
        match enc {
            Bytes::Base64 => B64.decode(s).map_err(|e| bad(&e)),
            Bytes::Hex => hex::decode(s).map_err(|e| bad(&e)),
        }
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(RpcError::internal)
}

/// Runs `f` on the devnet on the blocking pool.
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

pub(crate) async fn dispatch(
    devnet: &SharedDevnet,
    method: &str,
    p: Params,
) -> Result<Value, RpcError> {
    match method {
        "health" => to_value(&health::Response {}),
        "status" => with(devnet, |d| status_json(d)).await,
        "abci_info" => with(devnet, |d| abci_info(d)).await,
        "abci_query" => {
            let path = p.string("path").unwrap_or_default();
            let data = p.bytes("data", Bytes::Hex)?;
            let height = p.u64("height")?.unwrap_or(0);
            let prove = p.bool("prove");
            with(devnet, move |d| {
                let ans = deai_app::query::query(d.app(), &path, &data, height, prove);
                to_value(&abci_query::Response {
                    response: abci_query::AbciQuery {
                        code: Code::from(ans.code),
                        log: ans.log,
                        info: String::new(),
                        index: 0,
                        key: ans.key,
                        value: ans.value,
                        proof: (!ans.proof_ops.is_empty()).then(|| merkle::proof::ProofOps {
                            ops: ans
                                .proof_ops
                                .into_iter()
                                .map(|(field_type, key, data)| merkle::proof::ProofOp {
                                    field_type,
                                    key,
                                    data,
                                })
                                .collect(),
                        }),
                        height: block::Height::try_from(ans.height).map_err(RpcError::internal)?,
                        codespace: ans.codespace,
                    },
                })
            })
            .await
        }
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let tx = p.bytes("tx", Bytes::Base64)?;
            with(devnet, move |d| to_value(&check_tx(d, tx))).await
        }
        "broadcast_tx_commit" => {
            let tx = p.bytes("tx", Bytes::Base64)?;
            broadcast_tx_commit(devnet, tx).await
        }
        "block" => {
            let height = p.u64("height")?;
            with(devnet, move |d| {
                let b = stored_block(d, height)?;
                to_value(&block_ep::Response {
                    block_id: b.commit.block_id,
                    block: b.block,
                })
            })
            .await
        }
        "tx" => {
            let hash = p.bytes("hash", Bytes::Base64)?;
            let hash = Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &hash)
                .map_err(RpcError::invalid_params)?;
            with(devnet, move |d| to_value(&tx_response(d, hash)?)).await
        }
        "header" => {
            let height = p.u64("height")?;
            with(devnet, move |d| {
                let b = stored_block(d, height)?;
                to_value(&header_ep::Response {
                    header: b.block.header,
                })
            })
            .await
        }
        "commit" => {
            let height = p.u64("height")?;
            with(devnet, move |d| {
                let b = stored_block(d, height)?;
                // The stored commit is the one the validator made when the
                // block was produced: canonical once a later block exists.
                let canonical = b.block.header.height.value() < d.last_height();
                to_value(&commit_ep::Response {
                    signed_header: tendermint::block::signed_header::SignedHeader::new(
                        b.block.header,
                        b.commit,
                    )
                    .map_err(RpcError::internal)?,
                    canonical,
                })
            })
            .await
        }
        "validators" => {
            let height = p.u64("height")?;
            with(devnet, move |d| {
                let b = stored_block(d, height)?;
                let set = d.validators().validators().clone();
                let mut v = to_value(&validators::Response::new(
                    b.block.header.height,
                    set.clone(),
                    i32::try_from(set.len()).unwrap_or(i32::MAX),
                ))?;
                if let Some(list) = v.get_mut("validators").and_then(Value::as_array_mut) {
                    list.iter_mut().for_each(cometbft_validator_shape);
                }
                Ok(v)
            })
            .await
        }
        "block_results" => {
            let height = p.u64("height")?;
            with(devnet, move |d| {
                let b = stored_block(d, height)?;
                let r = abci::response::FinalizeBlock::try_from(b.results)
                    .map_err(RpcError::internal)?;
                to_value(&block_results::Response {
                    height: b.block.header.height,
                    txs_results: Some(r.tx_results),
                    finalize_block_events: r.events,
                    begin_block_events: None,
                    end_block_events: None,
                    validator_updates: r.validator_updates,
                    consensus_param_updates: r.consensus_param_updates,
                    app_hash: r.app_hash,
                })
            })
            .await
        }
        "unconfirmed_txs" | "num_unconfirmed_txs" => {
            // As CometBFT: `limit` defaults to 30 and is capped at 100; `n_txs`
            // counts the txs returned, `total` and `total_bytes` the whole mempool.
            let limit = if method == "unconfirmed_txs" {
                let l = p.u64("limit")?.unwrap_or(30).clamp(1, 100);
                Some(usize::try_from(l).map_err(RpcError::invalid_params)?)
            } else {
                None
            };
            with(devnet, move |d| {
                let txs = d.mempool();
                let bytes: usize = txs.iter().map(Vec::len).sum();
                let shown = limit.map_or(txs.len(), |l| l.min(txs.len()));
                Ok(json!({
                    "n_txs": shown.to_string(),
                    "total": txs.len().to_string(),
                    "total_bytes": bytes.to_string(),
                    "txs": if limit.is_some() {
                        Value::from(txs[..shown].iter().map(|t| B64.encode(t)).collect::<Vec<_>>())
                    } else {
                        Value::Null
                    },
                }))
            })
            .await
        }
        "net_info" => Ok(json!({
            // One validator, no peers: the devnet has no p2p layer.
            "listening": false,
            "listeners": [],
            "n_peers": "0",
            "peers": [],
        })),
        "tx_search" => {
            let query = query_param(&p)?;
            let (page, per_page, desc) = paging(&p)?;
            with(devnet, move |d| {
                let found = crate::search::txs(d.store(), &query)?;
                let txs = crate::search::page(&found, page, per_page, desc)
                    .map_err(RpcError::invalid_params)?
                    .into_iter()
                    .map(|loc| tx_at(d, loc))
                    .collect::<Result<Vec<_>, _>>()?;
                to_value(&tx_search::Response {
                    total_count: u32::try_from(found.len()).unwrap_or(u32::MAX),
                    txs,
                })
            })
            .await
        }
        "block_search" => {
            let query = query_param(&p)?;
            let (page, per_page, desc) = paging(&p)?;
            with(devnet, move |d| {
                let found = crate::search::blocks(d.store(), &query)?;
                let blocks = crate::search::page(&found, page, per_page, desc)
                    .map_err(RpcError::invalid_params)?
                    .into_iter()
                    .map(|h| {
                        let b = stored_block(d, Some(h))?;
                        Ok(block_ep::Response {
                            block_id: b.commit.block_id,
                            block: b.block,
                        })
                    })
                    .collect::<Result<Vec<_>, RpcError>>()?;
                to_value(&block_search::Response {
                    total_count: u32::try_from(found.len()).unwrap_or(u32::MAX),
                    blocks,
                })
            })
            .await
        }
        "block_by_hash" | "header_by_hash" => {
            // CometBFT takes `block_by_hash`'s hash as base64 (`[]byte`)
            // and `header_by_hash`'s as hex (`HexBytes`); accept either.
            let by_header = method == "header_by_hash";
            let (first, second) = if by_header {
                (Bytes::Hex, Bytes::Base64)
            } else {
                (Bytes::Base64, Bytes::Hex)
            };
            let hash = match p.bytes("hash", first) {
                Ok(h) if h.len() == 32 => h,
                first_try => match p.bytes("hash", second) {
                    Ok(h) if h.len() == 32 => h,
                    _ => first_try?,
                },
            };
            with(devnet, move |d| {
                let found = match Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &hash) {
                    Ok(h) => match d.store().height_of(&h)? {
                        Some(height) => d.block(height)?,
                        None => None,
                    },
                    // Not a block hash: no block has it.
                    Err(_) => None,
                };
                if by_header {
                    return to_value(&header_by_hash::Response {
                        header: found.map(|b| b.block.header),
                    });
                }
                to_value(&match found {
                    Some(b) => block_by_hash::Response {
                        block_id: b.commit.block_id,
                        block: Some(b.block),
                    },
                    None => block_by_hash::Response {
                        block_id: block::Id::default(),
                        block: None,
                    },
                })
            })
            .await
        }
        "blockchain" => {
            let min = p.u64("minHeight")?.unwrap_or(0);
            let max = p.u64("maxHeight")?.unwrap_or(0);
            with(devnet, move |d| {
                let (min, max) = blockchain_range(d.first_height(), d.last_height(), min, max)
                    .map_err(RpcError::invalid_params)?;
                let mut block_metas = Vec::new();
                for h in (min..=max).rev() {
                    let b = stored_block(d, Some(h))?;
                    let block_size = Protobuf::<tendermint_proto::v0_38::types::Block>::encoded_len(
                        b.block.clone(),
                    );
                    block_metas.push(block::Meta {
                        block_id: b.commit.block_id,
                        block_size: i64::try_from(block_size).unwrap_or(i64::MAX),
                        num_txs: i64::try_from(b.block.data.len()).unwrap_or(i64::MAX),
                        header: b.block.header,
                    });
                }
                to_value(&blockchain::Response {
                    last_height: block::Height::try_from(d.last_height())
                        .map_err(RpcError::internal)?,
                    block_metas,
                })
            })
            .await
        }
        "genesis" => with(devnet, |d| Ok(json!({"genesis": d.genesis()}))).await,
        "genesis_chunked" => {
            let chunk = p.u64("chunk")?.unwrap_or(0);
            with(devnet, move |d| {
                let bytes = serde_json::to_vec(d.genesis()).map_err(RpcError::internal)?;
                let chunks: Vec<&[u8]> = bytes.chunks(GENESIS_CHUNK_BYTES).collect();
                let total = chunks.len().max(1);
                let data = usize::try_from(chunk)
                    .ok()
                    .and_then(|c| chunks.get(c))
                    .ok_or_else(|| {
                        RpcError::invalid_params(format!(
                            "there are {total} chunks, {chunk} is invalid"
                        ))
                    })?;
                Ok(json!({
                    "chunk": chunk.to_string(),
                    "total": total.to_string(),
                    "data": B64.encode(data),
                }))
            })
            .await
        }
        "check_tx" => {
            let tx = p.bytes("tx", Bytes::Base64)?;
            with(devnet, move |d| {
                let out = d.check_tx_dry(&tx);
                to_value(&abci::response::CheckTx {
                    code: Code::from(out.code),
                    log: out.log,
                    gas_wanted: i64::try_from(out.gas_wanted).unwrap_or(i64::MAX),
                    gas_used: i64::try_from(out.gas_used).unwrap_or(i64::MAX),
                    events: deai_app::abci::abci_events(out.events),
                    codespace: out.codespace,
                    ..Default::default()
                })
            })
            .await
        }
        other => Err(RpcError(
            -32601,
            "Method not found".into(),
            format!("{other} is not served by the devnet"),
        )),
    }
}

/// The size of one `genesis_chunked` chunk (CometBFT's).
const GENESIS_CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// The `query` parameter, parsed.
fn query_param(p: &Params) -> Result<Query, RpcError> {
    let text = p.string("query").unwrap_or_default();
    Query::parse(&text).map_err(|e| RpcError::invalid_params(format!("failed to parse query: {e}")))
}

/// `page`, `per_page` and whether `order_by` is `desc`.
fn paging(p: &Params) -> Result<(Option<u64>, Option<u64>, bool), RpcError> {
    let desc = match p.string("order_by").as_deref() {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(other) => {
            return Err(RpcError::invalid_params(format!(
                "expected order_by to be either `asc` or `desc` or empty, got {other:?}"
            )))
        }
    };
    Ok((p.u64("page")?, p.u64("per_page")?, desc))
}

/// CometBFT's `blockchain` range: defaults to the whole chain, clipped to
/// what is stored and to the 20 blocks below `max`.
fn blockchain_range(base: u64, height: u64, min: u64, max: u64) -> Result<(u64, u64), String> {
    const LIMIT: u64 = 20;
    let min = min.max(1);
    let max = if max == 0 { height } else { max.min(height) };
    let min = min.max(base).max((max + 1).saturating_sub(LIMIT));
    if min > max {
        return Err(format!(
            "min height {min} can't be greater than max height {max}"
        ));
    }
    Ok((min, max))
}

fn abci_info(d: &Devnet) -> Result<Value, RpcError> {
    let app = d.app();
    let app_hash = app.last_app_hash()?;
    let mut v = to_value(&abci_info::Response {
        response: abci::response::Info {
            data: "deai".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            app_version: 1,
            last_block_height: block::Height::try_from(app.last_height())
                .map_err(RpcError::internal)?,
            last_block_app_hash: app_hash.clone().try_into().map_err(RpcError::internal)?,
        },
    })?;
    // tendermint-rs writes this field as a byte array; CometBFT (and so
    // CosmJS) writes base64.
    if let Some(r) = v.get_mut("response").and_then(Value::as_object_mut) {
        r.insert(
            "last_block_app_hash".to_string(),
            Value::String(B64.encode(&app_hash)),
        );
    }
    Ok(v)
}

/// `status` as CometBFT writes it: tendermint-rs names the validator's power
/// `power` and adds `name`, where CometBFT (and CosmJS, which insists) has
/// `voting_power` only.
fn status_json(d: &Devnet) -> Result<Value, RpcError> {
    let mut v = to_value(&status(d)?)?;
    if let Some(info) = v.get_mut("validator_info") {
        cometbft_validator_shape(info);
    }
    Ok(v)
}

/// Renames tendermint-rs's `power` to CometBFT's `voting_power` and drops
/// its `name`, which CometBFT does not write.
fn cometbft_validator_shape(v: &mut Value) {
    if let Some(info) = v.as_object_mut() {
        if let Some(power) = info.remove("power") {
            info.insert("voting_power".into(), power);
        }
        info.remove("name");
    }
}

/// The stored block at `height`, or the latest when none or 0 is given.
fn stored_block(d: &Devnet, height: Option<u64>) -> Result<crate::StoredBlock, RpcError> {
    let h = height.filter(|h| *h > 0).unwrap_or(d.last_height());
    d.block(h)?
        .ok_or_else(|| RpcError::invalid_params(format!("height {h} is not available")))
}

fn status(d: &Devnet) -> Result<status::Response, RpcError> {
    let address = d.validator_address();
    let mut id = [0u8; 20];
    id.copy_from_slice(address.as_bytes());
    let node_info: node::Info = serde_json::from_value(json!({
        "protocol_version": {"p2p": "8", "block": "11", "app": "1"},
        "id": node::Id::new(id).to_string(),
        // No p2p here; CometBFT clients (CosmJS) require a non-empty value.
        "listen_addr": "tcp://127.0.0.1:26656",
        "network": d.chain_id().to_string(),
        "version": "0.38.0-deai-devnet",
        "channels": "",
        "moniker": "deai-devnet",
        "other": {"tx_index": "on", "rpc_address": ""},
    }))
    .map_err(RpcError::internal)?;
    let first = d.block(d.first_height())?;
    let last = d.block(d.last_height())?;
    let hash_time = |b: &Option<crate::StoredBlock>| match b {
        Some(b) => (
            b.commit.block_id.hash,
            b.block.header.app_hash.clone(),
            b.block.header.height,
            b.block.header.time,
        ),
        None => (
            Hash::None,
            tendermint::AppHash::default(),
            // Not `Height::default()`, which is 1: no block yet is height 0.
            block::Height::from(0u32),
            tendermint::Time::unix_epoch(),
        ),
    };
    let (earliest_block_hash, earliest_app_hash, earliest_block_height, earliest_block_time) =
        hash_time(&first);
    let (latest_block_hash, latest_app_hash, latest_block_height, latest_block_time) =
        hash_time(&last);
    let validator = d
        .validators()
        .validators()
        .first()
        .cloned()
        .ok_or_else(|| RpcError::internal("no validator"))?;
    Ok(status::Response {
        node_info,
        sync_info: status::SyncInfo {
            earliest_block_hash,
            earliest_app_hash,
            earliest_block_height,
            earliest_block_time,
            latest_block_hash,
            latest_app_hash,
            latest_block_height,
            latest_block_time,
            catching_up: false,
        },
        validator_info: validator,
    })
}

fn check_tx(d: &mut Devnet, tx: Vec<u8>) -> tx_sync::Response {
    let hash = Hash::Sha256(deai_app::tx::tx_hash(&tx));
    let out = d.check_tx(tx);
    tx_sync::Response {
        codespace: out.codespace,
        code: Code::from(out.code),
        data: Default::default(),
        log: out.log,
        hash,
    }
}

fn tx_response(d: &Devnet, hash: Hash) -> Result<tx_ep::Response, RpcError> {
    let loc = d
        .tx(&hash)?
        .ok_or_else(|| RpcError::internal(format!("tx ({hash}) not found")))?;
    tx_at(d, loc)
}

/// The tx at `loc`, with its result.
fn tx_at(d: &Devnet, loc: crate::TxLocation) -> Result<tx_ep::Response, RpcError> {
    let b = d
        .block(loc.height)?
        .ok_or_else(|| RpcError::internal(format!("block {} is missing", loc.height)))?;
    let index = usize::try_from(loc.index).map_err(RpcError::internal)?;
    let tx = b
        .block
        .data
        .get(index)
        .cloned()
        .ok_or_else(|| RpcError::internal("tx index out of range"))?;
    let result = b
        .results
        .tx_results
        .get(index)
        .cloned()
        .ok_or_else(|| RpcError::internal("tx result missing"))?;
    Ok(tx_ep::Response {
        hash: Hash::Sha256(deai_app::tx::tx_hash(&tx)),
        height: b.block.header.height,
        index: loc.index,
        tx_result: abci::types::ExecTxResult::try_from(result).map_err(RpcError::internal)?,
        tx,
        proof: None,
    })
}

async fn broadcast_tx_commit(devnet: &SharedDevnet, tx: Vec<u8>) -> Result<Value, RpcError> {
    let (check, hash) = with(devnet, move |d| {
        let hash = Hash::Sha256(deai_app::tx::tx_hash(&tx));
        let out = d.check_tx(tx);
        Ok((out, hash))
    })
    .await?;
    let check_tx = abci::response::CheckTx {
        code: Code::from(check.code),
        log: check.log,
        gas_wanted: i64::try_from(check.gas_wanted).unwrap_or(i64::MAX),
        gas_used: i64::try_from(check.gas_used).unwrap_or(i64::MAX),
        events: deai_app::abci::abci_events(check.events),
        codespace: check.codespace,
        ..Default::default()
    };
    if check_tx.code.is_err() {
        return to_value(&tx_commit::Response {
            check_tx,
            tx_result: Default::default(),
            hash,
            height: block::Height::default(),
        });
    }
    let started = Instant::now();
    loop {
        let found = with(devnet, move |d| match d.tx(&hash)? {
            Some(_) => tx_response(d, hash).map(Some),
            None => Ok(None),
        })
        .await?;
        if let Some(r) = found {
            return to_value(&tx_commit::Response {
                check_tx,
                tx_result: r.tx_result,
                hash,
                height: r.height,
            });
        }
        if started.elapsed() > COMMIT_TIMEOUT {
            warn!(%hash, "broadcast_tx_commit timed out");
            return Err(RpcError::internal(format!(
                "timed out waiting for tx {hash} to be committed"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks that `addr` parses as a listen address.
pub fn parse_listen(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    addr.parse()
        .map_err(|e| anyhow!("rpc listen address {addr:?}: {e}"))
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
    }
}
