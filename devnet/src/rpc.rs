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
//!
//! The RPC never holds up block production: `abci_query` (Simulate
//! included) is answered by a [`Querier`] over committed snapshots, and
//! blocks, txs and searches are read from the shared block store; only the
//! mempool methods and `abci_info` take the devnet's lock, each for one
//! short step. Every request is bounded as CometBFT bounds it
//! ([`RpcLimits`]): connections, time to send a request, request size,
//! batch size, websocket subscriptions and the index entries one search
//! may visit.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{anyhow, Context};
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use deai_app::query::Querier;
use serde_json::{json, Map, Value};
use tendermint::{
    abci::{self, Code},
    account, block, chain, merkle, node, validator, Hash,
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
    sync::Semaphore,
    time::timeout_at,
};
use tracing::{debug, warn};

use crate::{
    query::Query,
    store::{BlockStore, ScanBudget, ScanLimitExceeded},
    Devnet, StoredBlock, TxLocation,
};

/// The devnet as shared by the block producer and the RPC.
pub type SharedDevnet = Arc<Mutex<Devnet>>;

/// How long `broadcast_tx_commit` waits for its tx to land in a block.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the accept loop rests after the OS refuses a connection
/// (out of file descriptors, say) before it tries again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The RPC's bounds: CometBFT v0.38's `[rpc]` defaults where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcLimits {
    /// Connections (HTTP and websocket) served at once; further clients
    /// wait in the listen backlog until one closes, as behind CometBFT's
    /// `netutil.LimitListener` (`max_open_connections`: 900).
    pub max_open_connections: usize,
    /// How long a client has to send a whole request, head and body, after
    /// connecting (CometBFT's server `ReadTimeout`: 10 s); a slow sender is
    /// disconnected.
    pub read_timeout: Duration,
    /// How long a client has to take one answer (CometBFT's `WriteTimeout`: 10 s).
    pub write_timeout: Duration,
    /// The largest request head (CometBFT's `max_header_bytes`: 1 MiB).
    pub max_header_bytes: usize,
    /// The largest request body, and the largest websocket message
    /// (CometBFT's `max_body_bytes`: 1 MB); larger is refused unread.
    pub max_body_bytes: usize,
    /// The most requests in one JSON-RPC batch. CometBFT v0.38 has no cap;
    /// 20 is the most CosmJS's `HttpBatchClient` sends by default.
    pub max_batch_requests: usize,
    /// Websocket clients holding subscriptions at once (CometBFT's
    /// `max_subscription_clients`: 100).
    pub max_subscription_clients: usize,
    /// Subscriptions one websocket client may hold (CometBFT's
    /// `max_subscriptions_per_client`: 5).
    pub max_subscriptions_per_client: usize,
    /// Requests one websocket client may have running at once; more are
    /// refused until some answer.
    pub max_ws_requests_in_flight: usize,
    /// Event index entries one `tx_search` or `block_search` may visit
    /// before it is refused as too broad.
    pub max_index_entries: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        RpcLimits {
            max_open_connections: 900,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_header_bytes: 1 << 20,
            max_body_bytes: 1_000_000,
            max_batch_requests: 20,
            max_subscription_clients: 100,
            max_subscriptions_per_client: 5,
            max_ws_requests_in_flight: 64,
            max_index_entries: 100_000,
        }
    }
}

/// A JSON-RPC error: code, message, data.
pub(crate) struct RpcError(pub i64, pub String, pub String);

impl RpcError {
    pub(crate) fn invalid_request(e: impl std::fmt::Display) -> Self {
        RpcError(-32600, "Invalid Request".into(), e.to_string())
    }

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

/// What every connection shares.
#[derive(Clone)]
pub(crate) struct Rpc {
    /// The devnet, for the mempool and the app's info.
    pub(crate) devnet: SharedDevnet,
    /// Answers `abci_query` from committed snapshots, without the lock.
    querier: Querier,
    /// What is read without the lock.
    chain: Arc<ChainView>,
    pub(crate) limits: Arc<RpcLimits>,
    /// One permit per websocket client holding subscriptions.
    pub(crate) subscribers: Arc<Semaphore>,
}

/// What the RPC reads without the devnet's lock: facts fixed at start and
/// the block store, which only ever gains blocks.
struct ChainView {
    store: Arc<BlockStore>,
    chain_id: chain::Id,
    validators: validator::Set,
    validator_address: account::Id,
    initial_height: u64,
    genesis: Value,
}

impl ChainView {
    /// The last stored height (0 before the first block).
    fn last_height(&self) -> Result<u64, RpcError> {
        Ok(self.store.last_height()?)
    }

    /// The first block's height (0 before the first block).
    fn first_height(&self) -> Result<u64, RpcError> {
        Ok(if self.last_height()? == 0 {
            0
        } else {
            self.initial_height
        })
    }

    fn block(&self, height: u64) -> Result<Option<StoredBlock>, RpcError> {
        Ok(self.store.get(height)?)
    }
}

impl Rpc {
    /// Takes the devnet's lock once, to copy what later requests read
    /// without it.
    async fn new(devnet: SharedDevnet, limits: RpcLimits) -> anyhow::Result<Rpc> {
        let d = devnet.clone();
        let (querier, chain) = tokio::task::spawn_blocking(move || {
            let d = d
                .lock()
                .map_err(|_| anyhow!("the devnet panicked earlier"))?;
            anyhow::Ok((
                d.app().querier(),
                ChainView {
                    store: d.store_handle(),
                    chain_id: d.chain_id().clone(),
                    validators: d.validators().clone(),
                    validator_address: d.validator_address(),
                    initial_height: d.initial_height(),
                    genesis: d.genesis().clone(),
                },
            ))
        })
        .await??;
        Ok(Rpc {
            devnet,
            querier,
            chain: Arc::new(chain),
            subscribers: Arc::new(Semaphore::new(limits.max_subscription_clients)),
            limits: Arc::new(limits),
        })
    }
}

/// Serves the RPC on `listener` with CometBFT's default limits until the
/// process ends.
pub async fn serve(devnet: SharedDevnet, listener: TcpListener) -> anyhow::Result<()> {
    serve_with(devnet, listener, RpcLimits::default()).await
}

/// Serves the RPC on `listener` within `limits` until the process ends.
pub async fn serve_with(
    devnet: SharedDevnet,
    listener: TcpListener,
    limits: RpcLimits,
) -> anyhow::Result<()> {
    let open = Arc::new(Semaphore::new(limits.max_open_connections));
    let rpc = Rpc::new(devnet, limits).await?;
    loop {
        // Wait for a free slot before accepting: excess clients queue in
        // the kernel's backlog and cost the node nothing.
        let permit = open
            .clone()
            .acquire_owned()
            .await
            .context("the connection limit closed")?;
        let (stream, peer) = match rpc_accept(&listener).await {
            Some(accepted) => accepted,
            None => continue,
        };
        let rpc = rpc.clone();
        tokio::spawn(async move {
            let _slot = permit;
            if let Err(e) = connection(rpc, stream).await {
                debug!(%peer, error = format!("{e:#}"), "RPC connection failed");
            }
        });
    }
}

/// Accepts one connection. A failed accept (out of file descriptors, a
/// client that reset before being accepted) must not end the server: it is
/// logged, and the loop rests a moment and goes on.
async fn rpc_accept(listener: &TcpListener) -> Option<(TcpStream, std::net::SocketAddr)> {
    match listener.accept().await {
        Ok(accepted) => Some(accepted),
        Err(e) => {
            warn!(error = %e, "accepting an RPC connection failed");
            tokio::time::sleep(ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// A request head as read from the socket.
enum Head {
    /// The client closed before sending a whole head.
    Closed,
    /// The head exceeds the limit.
    TooLarge,
    /// The head ends at `end` (before its blank line) in `buf`.
    Complete { buf: Vec<u8>, end: usize },
}

async fn read_head(stream: &mut TcpStream, max: usize) -> std::io::Result<Head> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        // Only the new bytes (and the 3 before them) can complete the
        // blank line: no rescanning the whole head on every read.
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf[from..], b"\r\n\r\n") {
            let end = from + i;
            if end > max {
                return Ok(Head::TooLarge);
            }
            return Ok(Head::Complete { buf, end });
        }
        if buf.len() > max {
            return Ok(Head::TooLarge);
        }
    }
}

/// Writes a whole HTTP answer and closes, within the write timeout.
async fn respond(
    stream: &mut TcpStream,
    limits: &RpcLimits,
    status: &str,
    body: &Value,
) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(body)?;
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        bytes.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    };
    tokio::time::timeout(limits.write_timeout, write)
        .await
        .context("the client did not take the answer in time")?
        .context("writing the answer")
}

/// Refuses a request with an HTTP status and a JSON-RPC error saying why.
async fn refuse(
    stream: &mut TcpStream,
    limits: &RpcLimits,
    status: &str,
    why: String,
) -> anyhow::Result<()> {
    debug!(status, why, "refusing an RPC request");
    let body = envelope(Value::from(-1), Err(RpcError::invalid_request(why)));
    respond(stream, limits, status, &body).await
}

async fn connection(rpc: Rpc, mut stream: TcpStream) -> anyhow::Result<()> {
    let limits = rpc.limits.clone();
    // One deadline for the whole request, head and body: a client that
    // trickles bytes (slowloris) is cut off however it paces them.
    let deadline = tokio::time::Instant::now() + limits.read_timeout;
    let (mut buf, head_end) =
        match timeout_at(deadline, read_head(&mut stream, limits.max_header_bytes)).await {
            Err(_) => {
                debug!("closing a connection that sent no whole request head in time");
                return Ok(());
            }
            Ok(head) => match head? {
                Head::Closed => return Ok(()),
                Head::TooLarge => {
                    return refuse(
                        &mut stream,
                        &limits,
                        "431 Request Header Fields Too Large",
                        format!("the request head exceeds {} bytes", limits.max_header_bytes),
                    )
                    .await
                }
                Head::Complete { buf, end } => (buf, end),
            },
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
        return crate::ws::serve(rpc, stream, path, |n| header(n).map(str::to_string), early).await;
    }
    if header("transfer-encoding").is_some() {
        return refuse(
            &mut stream,
            &limits,
            "411 Length Required",
            "send the request body with a Content-Length, not a Transfer-Encoding".into(),
        )
        .await;
    }
    let content_length = match header("content-length").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            return refuse(
                &mut stream,
                &limits,
                "400 Bad Request",
                format!("invalid Content-Length: {e}"),
            )
            .await
        }
    };
    // Refused before a byte of it is read (CometBFT's `max_body_bytes`).
    if content_length > limits.max_body_bytes {
        return refuse(
            &mut stream,
            &limits,
            "413 Payload Too Large",
            format!(
                "request body too large: {content_length} bytes (max: {})",
                limits.max_body_bytes
            ),
        )
        .await;
    }
    // curl asks before sending a large body.
    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        tokio::time::timeout(
            limits.write_timeout,
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n"),
        )
        .await
        .context("the client did not take 100 Continue in time")??;
    }
    let mut body = buf.split_off(head_end + 4);
    body.truncate(content_length);
    let read_body = async {
        let mut chunk = [0u8; 8192];
        while body.len() < content_length {
            let want = (content_length - body.len()).min(chunk.len());
            let n = stream.read(&mut chunk[..want]).await?;
            if n == 0 {
                return Err(anyhow!("connection closed mid-body"));
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    };
    match timeout_at(deadline, read_body).await {
        Err(_) => {
            debug!("closing a connection that sent no whole request body in time");
            return Ok(());
        }
        Ok(read) => read?,
    }

    let reply = match method.as_str() {
        "POST" => post(&rpc, &body).await,
        "GET" => get(&rpc, &target).await,
        _ => envelope(
            Value::from(-1),
            Err(RpcError(-32600, "Invalid request".into(), method)),
        ),
    };
    respond(&mut stream, &limits, "200 OK", &reply).await
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

async fn post(rpc: &Rpc, body: &[u8]) -> Value {
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
        Value::Array(batch) if batch.len() > rpc.limits.max_batch_requests => envelope(
            Value::from(-1),
            Err(RpcError::invalid_request(format!(
                "batch request exceeds maximum ({}) allowed number of requests",
                rpc.limits.max_batch_requests
            ))),
        ),
        // A JSON-RPC batch (CosmJS's HttpBatchClient sends these): the
        // answers in request order.
        Value::Array(batch) if !batch.is_empty() => {
            let mut answers = Vec::with_capacity(batch.len());
            for one in &batch {
                answers.push(single(rpc, one).await);
            }
            Value::Array(answers)
        }
        one => single(rpc, &one).await,
    }
}

/// Answers one JSON-RPC request object.
async fn single(rpc: &Rpc, req: &Value) -> Value {
    if !req.is_object() {
        return envelope(
            Value::from(-1),
            Err(RpcError::invalid_request(
                "a JSON-RPC request must be an object",
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
    envelope(id, dispatch(rpc, &method, params).await)
}

async fn get(rpc: &Rpc, target: &str) -> Value {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = percent_decode(k).and_then(|k| Ok((k, percent_decode(v)?)));
        match decoded {
            Ok((k, v)) => {
                map.insert(k, Value::String(v));
            }
            Err(e) => {
                return envelope(
                    Value::from(-1),
                    Err(RpcError::invalid_params(format!(
                        "query parameter {pair:?}: {e}"
                    ))),
                )
            }
        }
    }
    let method = path.trim_start_matches('/');
    envelope(
        Value::from(-1),
        dispatch(rpc, method, Params { map, uri: true }).await,
    )
}

/// Decodes a URI query component: `%XX` escapes and `+` for a space. It
/// works on bytes (a `%` before a multi-byte character is just a `%`),
/// and what it decodes to must be UTF-8.
fn percent_decode(s: &str) -> Result<String, String> {
    fn hex_digit(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_digit(hi).zip(hex_digit(lo)),
            _ => None,
        };
        match (b, escaped) {
            (_, Some((hi, lo))) => {
                out.push((hi << 4) | lo);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (b, None) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 once percent-decoded".to_string())
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

/// Runs `f` on the devnet on the blocking pool, under its lock: only for
/// the mempool and the app's info, each one short step.
async fn with<T: Send + 'static>(
    rpc: &Rpc,
    f: impl FnOnce(&mut Devnet) -> Result<T, RpcError> + Send + 'static,
) -> Result<T, RpcError> {
    let devnet = rpc.devnet.clone();
    tokio::task::spawn_blocking(move || {
        let mut d = devnet
            .lock()
            .map_err(|_| RpcError::internal("the devnet panicked earlier"))?;
        f(&mut d)
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

/// A search error: one that ran out of budget is the caller's to narrow.
fn search_error(e: anyhow::Error) -> RpcError {
    match e.downcast_ref::<ScanLimitExceeded>() {
        Some(limit) => RpcError::invalid_params(limit),
        None => e.into(),
    }
}

pub(crate) async fn dispatch(rpc: &Rpc, method: &str, p: Params) -> Result<Value, RpcError> {
    match method {
        "health" => to_value(&health::Response {}),
        "status" => read(rpc, status_json).await,
        "abci_info" => with(rpc, |d| abci_info(d)).await,
        "abci_query" => {
            let path = p.string("path").unwrap_or_default();
            let data = p.bytes("data", Bytes::Hex)?;
            let height = p.u64("height")?.unwrap_or(0);
            let prove = p.bool("prove");
            // Committed snapshots only: a slow query never holds the lock
            // the block producer needs.
            let querier = rpc.querier.clone();
            let ans =
                tokio::task::spawn_blocking(move || querier.query(&path, &data, height, prove))
                    .await
                    .map_err(RpcError::internal)?;
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
        }
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let tx = p.bytes("tx", Bytes::Base64)?;
            with(rpc, move |d| to_value(&check_tx(d, tx)?)).await
        }
        "broadcast_tx_commit" => {
            let tx = p.bytes("tx", Bytes::Base64)?;
            broadcast_tx_commit(rpc, tx).await
        }
        "block" => {
            let height = p.u64("height")?;
            read(rpc, move |c| {
                let b = stored_block(c, height)?;
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
            read(rpc, move |c| to_value(&tx_response(c, hash)?)).await
        }
        "header" => {
            let height = p.u64("height")?;
            read(rpc, move |c| {
                let b = stored_block(c, height)?;
                to_value(&header_ep::Response {
                    header: b.block.header,
                })
            })
            .await
        }
        "commit" => {
            let height = p.u64("height")?;
            read(rpc, move |c| {
                let b = stored_block(c, height)?;
                // The stored commit is the one the validator made when the
                // block was produced: canonical once a later block exists.
                let canonical = b.block.header.height.value() < c.last_height()?;
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
            read(rpc, move |c| {
                let b = stored_block(c, height)?;
                let set = c.validators.validators().clone();
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
            read(rpc, move |c| {
                let b = stored_block(c, height)?;
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
            // Only the shown txs are copied under the lock; encoding waits.
            let (shown, total, bytes) = with(rpc, move |d| {
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
            let budget = rpc.limits.max_index_entries;
            read(rpc, move |c| {
                let found = crate::search::txs(&c.store, &query, &mut ScanBudget::new(budget))
                    .map_err(search_error)?;
                let mut cache = None;
                let txs = crate::search::page(&found, page, per_page, desc)
                    .map_err(RpcError::invalid_params)?
                    .into_iter()
                    .map(|loc| tx_at(c, &mut cache, loc))
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
            let budget = rpc.limits.max_index_entries;
            read(rpc, move |c| {
                let found = crate::search::blocks(&c.store, &query, &mut ScanBudget::new(budget))
                    .map_err(search_error)?;
                let blocks = crate::search::page(&found, page, per_page, desc)
                    .map_err(RpcError::invalid_params)?
                    .into_iter()
                    .map(|h| {
                        let b = stored_block(c, Some(h))?;
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
            read(rpc, move |c| {
                let found = match Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &hash) {
                    Ok(h) => match c.store.height_of(&h)? {
                        Some(height) => c.block(height)?,
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
            read(rpc, move |c| {
                let last = c.last_height()?;
                let (min, max) = blockchain_range(c.first_height()?, last, min, max)
                    .map_err(RpcError::invalid_params)?;
                let mut block_metas = Vec::new();
                for h in (min..=max).rev() {
                    let b = stored_block(c, Some(h))?;
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
                    last_height: block::Height::try_from(last).map_err(RpcError::internal)?,
                    block_metas,
                })
            })
            .await
        }
        "genesis" => read(rpc, |c| Ok(json!({"genesis": c.genesis}))).await,
        "genesis_chunked" => {
            let chunk = p.u64("chunk")?.unwrap_or(0);
            read(rpc, move |c| {
                let bytes = serde_json::to_vec(&c.genesis).map_err(RpcError::internal)?;
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
            with(rpc, move |d| {
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

/// The most blocks one `blockchain` call returns (CometBFT's).
pub const MAX_BLOCKCHAIN_RANGE: u64 = 20;

/// CometBFT's `blockchain` range: defaults to the whole chain, clipped to
/// what is stored and to the [`MAX_BLOCKCHAIN_RANGE`] blocks below `max`.
fn blockchain_range(base: u64, height: u64, min: u64, max: u64) -> Result<(u64, u64), String> {
    let min = min.max(1);
    let max = if max == 0 { height } else { max.min(height) };
    let min = min
        .max(base)
        .max(max.saturating_sub(MAX_BLOCKCHAIN_RANGE - 1));
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
            app_version: deai_genesis::APP_VERSION,
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
fn status_json(c: &ChainView) -> Result<Value, RpcError> {
    let mut v = to_value(&status(c)?)?;
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
fn stored_block(c: &ChainView, height: Option<u64>) -> Result<StoredBlock, RpcError> {
    let h = match height.filter(|h| *h > 0) {
        Some(h) => h,
        None => c.last_height()?,
    };
    c.block(h)?
        .ok_or_else(|| RpcError::invalid_params(format!("height {h} is not available")))
}

fn status(c: &ChainView) -> Result<status::Response, RpcError> {
    let mut id = [0u8; 20];
    id.copy_from_slice(c.validator_address.as_bytes());
    let node_info: node::Info = serde_json::from_value(json!({
        "protocol_version": {"p2p": "8", "block": "11", "app": "1"},
        "id": node::Id::new(id).to_string(),
        // No p2p here; CometBFT clients (CosmJS) require a non-empty value.
        "listen_addr": "tcp://127.0.0.1:26656",
        "network": c.chain_id.to_string(),
        "version": "0.38.0-deai-devnet",
        "channels": "",
        "moniker": "deai-devnet",
        "other": {"tx_index": "on", "rpc_address": ""},
    }))
    .map_err(RpcError::internal)?;
    // Read the last height once: both ends of the answer from one moment.
    let last_height = c.last_height()?;
    let first_height = if last_height == 0 {
        0
    } else {
        c.initial_height
    };
    let first = c.block(first_height)?;
    let last = c.block(last_height)?;
    let hash_time = |b: &Option<StoredBlock>| match b {
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
    let validator = c
        .validators
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

/// `broadcast_tx_sync`: CheckTx into the mempool. A full mempool is an
/// RPC error, as in CometBFT, not a CheckTx code.
fn check_tx(d: &mut Devnet, tx: Vec<u8>) -> Result<tx_sync::Response, RpcError> {
    let hash = Hash::Sha256(deai_app::tx::tx_hash(&tx));
    let out = d.check_tx(tx).map_err(RpcError::internal)?;
    Ok(tx_sync::Response {
        codespace: out.codespace,
        code: Code::from(out.code),
        data: Default::default(),
        log: out.log,
        hash,
    })
}

fn tx_response(c: &ChainView, hash: Hash) -> Result<tx_ep::Response, RpcError> {
    let loc = c
        .store
        .tx(&hash)?
        .ok_or_else(|| RpcError::internal(format!("tx ({hash}) not found")))?;
    tx_at(c, &mut None, loc)
}

/// The tx at `loc`, with its result. `cache` keeps the last block read, so
/// a page of txs from one block reads that block once.
fn tx_at(
    c: &ChainView,
    cache: &mut Option<StoredBlock>,
    loc: TxLocation,
) -> Result<tx_ep::Response, RpcError> {
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

async fn broadcast_tx_commit(rpc: &Rpc, tx: Vec<u8>) -> Result<Value, RpcError> {
    let (check, hash) = with(rpc, move |d| {
        let hash = Hash::Sha256(deai_app::tx::tx_hash(&tx));
        let out = d.check_tx(tx).map_err(RpcError::internal)?;
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
        // The tx index, not the lock: waiting never slows the producer.
        let found = read(rpc, move |c| match c.store.tx(&hash)? {
            Some(_) => tx_response(c, hash).map(Some),
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

    #[test]
    fn a_blockchain_range_never_spans_more_than_twenty_blocks() {
        assert_eq!(
            blockchain_range(1, u64::MAX, 1, u64::MAX).map(|(a, b)| b - a + 1),
            Ok(20)
        );
        assert_eq!(blockchain_range(1, 1_000, 1, 1_000), Ok((981, 1_000)));
    }

    #[test]
    fn percent_decoding_works_on_bytes_and_refuses_what_is_not_utf8() {
        assert_eq!(percent_decode("a%20b+c").as_deref(), Ok("a b c"));
        assert_eq!(percent_decode("%E2%82%AC").as_deref(), Ok("€"));
        // A `%` before a multi-byte character, or too near the end, is a `%`.
        assert_eq!(percent_decode("%€").as_deref(), Ok("%€"));
        assert_eq!(percent_decode("%a€").as_deref(), Ok("%a€"));
        assert_eq!(percent_decode("€%").as_deref(), Ok("€%"));
        assert_eq!(percent_decode("%4").as_deref(), Ok("%4"));
        assert_eq!(percent_decode("%zz").as_deref(), Ok("%zz"));
        assert!(percent_decode("%E2%82").is_err());
        assert!(percent_decode("%FF").is_err());
    }
}
