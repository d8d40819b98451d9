//! A CometBFT v0.38-compatible JSON-RPC for the devnet, served as CometBFT
//! serves it: JSON-RPC requests (single or batched) to `/`, URI requests
//! to `/<method>` (`/status`, `/block?height=5`, `/tx?hash=0x…`), and a
//! websocket at `/websocket` ([`crate::ws`], which adds `subscribe`,
//! `unsubscribe` and `unsubscribe_all`). The methods are
//! [`crate::params::ROUTES`]; their answers are [`crate::methods`]'.
//!
//! CometBFT's HTTP behaviour is kept: a URI request that fails is answered
//! `500` (a JSON-RPC request always `200`, but for a body that is not
//! JSON); an unknown path is a plain `404 page not found`; notifications
//! (requests without an id) get no answer; a batch of one is answered with
//! one object; an empty body lists the endpoints. Connections are kept
//! alive between requests (HTTP/1.1's default), each request within the
//! read timeout.
//!
//! HTTP/1.1 is handled here directly to keep an HTTP server framework out
//! of the node's dependencies. Every request is bounded as CometBFT bounds
//! it ([`RpcLimits`]): connections, time to send a request, request size,
//! batch size, websocket subscriptions and the index entries one search
//! may visit.

use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::{timeout_at, Duration},
};
use tracing::{debug, warn};

use crate::{
    methods::{dispatch, ChainView},
    params::{route_of, Args, ROUTES},
    Devnet,
};

/// The devnet as shared by the block producer and the RPC.
pub type SharedDevnet = Arc<Mutex<Devnet>>;

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
    pub(crate) fn parse(e: impl std::fmt::Display) -> Self {
        RpcError(
            -32700,
            "Parse error. Invalid JSON".into(),
            format!("error unmarshaling request: {e}"),
        )
    }

    pub(crate) fn invalid_request(e: impl std::fmt::Display) -> Self {
        RpcError(-32600, "Invalid Request".into(), e.to_string())
    }

    pub(crate) fn method_not_found() -> Self {
        RpcError(-32601, "Method not found".into(), String::new())
    }

    pub(crate) fn invalid_params(e: impl std::fmt::Display) -> Self {
        RpcError(-32602, "Invalid params".into(), e.to_string())
    }

    pub(crate) fn internal(e: impl std::fmt::Display) -> Self {
        RpcError(-32603, "Internal error".into(), e.to_string())
    }
}

/// A method's result: a JSON value, or JSON text already written (a large
/// result, such as `block_results`, is written straight from the stored
/// block rather than built as a tree of values first).
pub(crate) enum Reply {
    /// A value.
    Value(Value),
    /// JSON text.
    Raw(String),
}

impl From<Value> for Reply {
    fn from(v: Value) -> Self {
        Reply::Value(v)
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
    pub(crate) querier: deai_app::query::Querier,
    /// Verifies a broadcast tx's signatures before CheckTx takes the lock.
    pub(crate) verifier: Option<deai_app::SigVerifier>,
    /// What is read without the lock.
    pub(crate) chain: Arc<ChainView>,
    pub(crate) limits: Arc<RpcLimits>,
    /// One permit per websocket client holding subscriptions.
    pub(crate) subscribers: Arc<Semaphore>,
}

impl Rpc {
    /// Takes the devnet's lock once, to copy what later requests read
    /// without it.
    async fn new(
        devnet: SharedDevnet,
        limits: RpcLimits,
        rpc_address: String,
    ) -> anyhow::Result<Rpc> {
        let d = devnet.clone();
        let (querier, verifier, chain) = tokio::task::spawn_blocking(move || {
            let d = d
                .lock()
                .map_err(|_| anyhow!("the devnet panicked earlier"))?;
            anyhow::Ok((
                d.app().querier(),
                d.app().sig_verifier(),
                ChainView {
                    store: d.store_handle(),
                    chain_id: d.chain_id().clone(),
                    validators: d.validators().clone(),
                    validator_address: d.validator_address(),
                    initial_height: d.initial_height(),
                    genesis: d.genesis().clone(),
                    rpc_address,
                },
            ))
        })
        .await??;
        Ok(Rpc {
            devnet,
            querier,
            verifier,
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
    let address = format!("tcp://{}", listener.local_addr()?);
    let rpc = Rpc::new(devnet, limits, address).await?;
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
        // Answers are small and written whole: send them at once.
        let _ = stream.set_nodelay(true);
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
    /// The head ends at `end` (before its blank line) in the buffer.
    Complete { end: usize },
}

/// Reads until `buf` (which may already hold bytes of the request) holds a
/// whole request head.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Head> {
    let mut scanned: usize = 0;
    let mut chunk = [0u8; 8192];
    loop {
        // Only the new bytes (and the 3 before them) can complete the
        // blank line: no rescanning the whole head on every read.
        let from = scanned.saturating_sub(3);
        if let Some(i) = find(&buf[from..], b"\r\n\r\n") {
            let end = from + i;
            if end > max {
                return Ok(Head::TooLarge);
            }
            return Ok(Head::Complete { end });
        }
        if buf.len() > max {
            return Ok(Head::TooLarge);
        }
        scanned = buf.len();
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(Head::Closed);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An HTTP answer.
struct Answer {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Answer {
    fn json(status: &'static str, text: String) -> Answer {
        Answer {
            status,
            content_type: "application/json",
            body: text.into_bytes(),
        }
    }

    fn text(status: &'static str, content_type: &'static str, body: impl Into<Vec<u8>>) -> Answer {
        Answer {
            status,
            content_type,
            body: body.into(),
        }
    }
}

/// Writes a whole HTTP answer within the write timeout; closes the
/// connection after it unless `keep_alive`.
async fn respond(
    stream: &mut TcpStream,
    limits: &RpcLimits,
    answer: &Answer,
    keep_alive: bool,
) -> anyhow::Result<()> {
    let mut bytes = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}\r\n",
        answer.status,
        answer.content_type,
        answer.body.len(),
        if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        },
    )
    .into_bytes();
    bytes.extend_from_slice(&answer.body);
    let write = async {
        stream.write_all(&bytes).await?;
        if !keep_alive {
            stream.shutdown().await?;
        }
        std::io::Result::Ok(())
    };
    tokio::time::timeout(limits.write_timeout, write)
        .await
        .context("the client did not take the answer in time")?
        .context("writing the answer")
}

/// Refuses a request with an HTTP status and a JSON-RPC error saying why,
/// and closes the connection.
async fn refuse(
    stream: &mut TcpStream,
    limits: &RpcLimits,
    status: &'static str,
    why: String,
) -> anyhow::Result<()> {
    debug!(status, why, "refusing an RPC request");
    let body = envelope(Some(Value::from(-1)), Err(RpcError::invalid_request(why)));
    respond(stream, limits, &Answer::json(status, body), false).await
}

/// Serves the requests of one connection, one after another, until the
/// client closes it, asks to, or sends nothing whole within the read timeout.
async fn connection(rpc: Rpc, mut stream: TcpStream) -> anyhow::Result<()> {
    let limits = rpc.limits.clone();
    // Bytes read past the end of one request belong to the next.
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // One deadline for each whole request, head and body (and the wait
        // for it on a kept-alive connection): a client that trickles bytes
        // (slowloris) is cut off however it paces them.
        let deadline = tokio::time::Instant::now() + limits.read_timeout;
        let head_end = match timeout_at(
            deadline,
            read_head(&mut stream, &mut buf, limits.max_header_bytes),
        )
        .await
        {
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
                Head::Complete { end } => end,
            },
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or("/").to_string();
        let version = parts.next().unwrap_or("HTTP/1.0").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let path = target
            .split_once('?')
            .map_or(target.as_str(), |(p, _)| p)
            .to_string();
        if method == "GET" && crate::ws::is_upgrade(header) {
            let early = buf.split_off(head_end + 4);
            return crate::ws::serve(rpc, stream, &path, header, early).await;
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
        let content_length = match header("content-length").map(|v| v.parse::<usize>()) {
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
        let connection_header = header("connection")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let keep_alive = if version == "HTTP/1.1" {
            !connection_header.contains("close")
        } else {
            connection_header.contains("keep-alive")
        };
        // curl asks before sending a large body.
        if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
            tokio::time::timeout(
                limits.write_timeout,
                stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n"),
            )
            .await
            .context("the client did not take 100 Continue in time")??;
        }
        let body_start = head_end + 4;
        let read_body = async {
            let mut chunk = [0u8; 8192];
            while buf.len() < body_start + content_length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(anyhow!("connection closed mid-body"));
                }
                buf.extend_from_slice(&chunk[..n]);
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
        let rest = buf.split_off(body_start + content_length);
        let body = buf.split_off(body_start);
        buf = rest;

        let host = header("host").unwrap_or_default();
        let answer = answer(&rpc, &path, &target, &body, &host).await;
        respond(&mut stream, &limits, &answer, keep_alive).await?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Routes one HTTP request as CometBFT's mux does: JSON-RPC at `/`, a URI
/// call at `/<method>`, and `404 page not found` elsewhere.
async fn answer(rpc: &Rpc, path: &str, target: &str, body: &[u8], host: &str) -> Answer {
    if path == "/" {
        if body.is_empty() {
            return Answer::text("200 OK", "text/html", endpoint_list(host));
        }
        return json_rpc(rpc, body).await;
    }
    let name = path.trim_start_matches('/');
    match route_of(name) {
        Some(route) if route.ws_only => Answer::json(
            "404 Not Found",
            envelope(Some(Value::from(-1)), Err(RpcError::method_not_found())),
        ),
        Some(route) => {
            let query = target.split_once('?').map_or("", |(_, q)| q);
            let result = match uri_args(query)
                .and_then(|pairs| Args::from_uri(route, &pairs).map_err(|e| e.0))
            {
                Err(e) => Err(RpcError::invalid_params(format!(
                    "error converting http params to arguments: {e}"
                ))),
                Ok(args) => dispatch(rpc, route.name, args).await,
            };
            let status = if result.is_ok() {
                "200 OK"
            } else {
                "500 Internal Server Error"
            };
            Answer::json(status, envelope(Some(Value::from(-1)), result))
        }
        None => Answer::text(
            "404 Not Found",
            "text/plain; charset=utf-8",
            "404 page not found\n",
        ),
    }
}

/// CometBFT's answer to an empty request: an HTML list of the endpoints.
fn endpoint_list(host: &str) -> String {
    let mut names: Vec<_> = ROUTES.iter().collect();
    names.sort_by_key(|r| r.name);
    let mut html = String::from(
        "<html><body><br>Available endpoints:<br><br>Endpoints that require arguments:<br>",
    );
    for r in names {
        let args: Vec<String> = r.args.iter().map(|(n, _)| format!("{n}=_")).collect();
        let link = format!("//{host}/{}?{}", r.name, args.join("&"));
        html.push_str(&format!("<a href=\"{link}\">{link}</a></br>"));
    }
    html.push_str("</body></html>");
    html
}

/// The decoded `name=value` pairs of a URI query.
fn uri_args(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((
                percent_decode(k).map_err(|e| format!("query parameter {pair:?}: {e}"))?,
                percent_decode(v).map_err(|e| format!("query parameter {pair:?}: {e}"))?,
            ))
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A JSON-RPC answer, as JSON text. The id is left out when there is none
/// (an answer to a request that did not parse), as CometBFT leaves it out.
pub(crate) fn envelope(id: Option<Value>, result: Result<Reply, RpcError>) -> String {
    let id = id.map(|id| format!(",\"id\":{id}")).unwrap_or_default();
    match result {
        Ok(Reply::Value(v)) => format!("{{\"jsonrpc\":\"2.0\"{id},\"result\":{v}}}"),
        Ok(Reply::Raw(text)) => format!("{{\"jsonrpc\":\"2.0\"{id},\"result\":{text}}}"),
        Err(RpcError(code, message, data)) => {
            let mut error = json!({"code": code, "message": message});
            if !data.is_empty() {
                error["data"] = Value::String(data);
            }
            format!("{{\"jsonrpc\":\"2.0\"{id},\"error\":{error}}}")
        }
    }
}

/// A JSON-RPC request as CometBFT's `RPCRequest` reads one.
pub(crate) struct Request {
    /// The id; none for a notification, which gets no answer.
    pub(crate) id: Option<Value>,
    /// The method.
    pub(crate) method: String,
    /// The parameters; none when the request has no `params`.
    pub(crate) params: Option<Value>,
}

/// Reads one request object, as Go's `RPCRequest.UnmarshalJSON` does: an
/// id is a string or a number (a fraction cut to an integer) or absent.
pub(crate) fn request(v: &Value) -> Result<Request, String> {
    let Some(obj) = v.as_object() else {
        return Err(format!(
            "json: cannot unmarshal {} into Go value of type types.RPCRequest",
            match v {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "bool",
                _ => "null",
            }
        ));
    };
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(Value::String(s.clone())),
        Some(Value::Number(n)) => Some(match n.as_i64() {
            Some(i) => Value::from(i),
            // Go reads a JSON number as a float and keeps its integer part.
            None => {
                let text = n.to_string();
                let int = text.split('.').next().unwrap_or_default();
                Value::from(int.parse::<i64>().unwrap_or(0))
            }
        }),
        Some(other) => {
            let go_type = match other {
                Value::Array(_) => "[]interface {}",
                Value::Object(_) => "map[string]interface {}",
                _ => "bool",
            };
            return Err(format!(
                "json-rpc ID ({other}) is of unknown type ({go_type})"
            ));
        }
    };
    let method = match obj.get("method") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(m)) => m.clone(),
        Some(_) => {
            return Err("json: cannot unmarshal into Go struct field .method of type string".into())
        }
    };
    Ok(Request {
        id,
        method,
        params: obj.get("params").cloned(),
    })
}

/// What CometBFT answers when a method with arguments is called without
/// `params`: its reflection panics, and the panic is answered for the
/// whole request.
pub(crate) const TOO_FEW_ARGUMENTS: &str = "reflect: Call with too few input arguments";

/// Calls one parsed request's method. `Err` is a JSON-RPC error answer;
/// `params_error` is the code an argument conversion error gets (`-32602`
/// over HTTP, `-32603` on the websocket).
pub(crate) async fn call(
    rpc: &Rpc,
    req: &Request,
    websocket: bool,
) -> Result<Result<Reply, RpcError>, RpcError> {
    let route = match route_of(&req.method) {
        Some(r) if websocket || !r.ws_only => r,
        _ => return Ok(Err(RpcError::method_not_found())),
    };
    let args = match &req.params {
        None if route.args.is_empty() => Args::default(),
        // The caller answers this one for the whole request, with id -1.
        None => return Err(RpcError::internal(TOO_FEW_ARGUMENTS)),
        Some(params) => match Args::from_json(route, params) {
            Ok(args) => args,
            Err(e) => {
                let why = format!("error converting json params to arguments: {e}");
                return Ok(Err(if websocket {
                    RpcError::internal(why)
                } else {
                    RpcError::invalid_params(why)
                }));
            }
        },
    };
    Ok(dispatch(rpc, route.name, args).await)
}

/// Answers a JSON-RPC body: one request or a batch.
async fn json_rpc(rpc: &Rpc, body: &[u8]) -> Answer {
    let parse_error = |e: String| {
        Answer::json(
            "500 Internal Server Error",
            envelope(None, Err(RpcError::parse(e))),
        )
    };
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return parse_error(e.to_string()),
    };
    let items = match v {
        Value::Array(items) => items,
        one => vec![one],
    };
    if items.len() > rpc.limits.max_batch_requests {
        return Answer::json(
            "200 OK",
            envelope(
                Some(Value::from(-1)),
                Err(RpcError::invalid_request(format!(
                    "batch request exceeds maximum ({}) allowed number of requests",
                    rpc.limits.max_batch_requests
                ))),
            ),
        );
    }
    let mut requests = Vec::with_capacity(items.len());
    for item in &items {
        match request(item) {
            Ok(r) => requests.push(r),
            Err(e) => return parse_error(e),
        }
    }
    let mut answers: Vec<String> = Vec::with_capacity(requests.len());
    for req in &requests {
        // A notification gets no answer.
        let Some(id) = &req.id else {
            continue;
        };
        match call(rpc, req, false).await {
            Ok(result) => answers.push(envelope(Some(id.clone()), result)),
            Err(panicked) => {
                return Answer::json(
                    "500 Internal Server Error",
                    envelope(Some(Value::from(-1)), Err(panicked)),
                )
            }
        }
    }
    match answers.len() {
        0 => Answer::text("200 OK", "application/json", Vec::new()),
        1 => Answer::json("200 OK", answers.swap_remove(0)),
        _ => Answer::json("200 OK", format!("[{}]", answers.join(","))),
    }
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

/// Checks that `addr` parses as a listen address.
pub fn parse_listen(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    addr.parse()
        .map_err(|e| anyhow!("rpc listen address {addr:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn request_ids_are_read_as_cometbft_reads_them() {
        let r = request(&json!({"id": 1.5, "method": "health"})).unwrap();
        assert_eq!(r.id, Some(json!(1)));
        assert!(request(&json!({"jsonrpc": "2.0", "method": "health"}))
            .unwrap()
            .id
            .is_none());
        assert!(request(&json!({"id": [1], "method": "health"})).is_err());
        assert!(request(&json!([1])).is_err());
    }
}
