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
//! alive between requests (HTTP/1.1's default).
//!
//! HTTP is axum's router over hyper's HTTP/1.1 connections, served by an
//! accept loop of our own so that hyper's connection settings (header read
//! timeout, head buffer, header case) and the connection cap can be set;
//! CORS is tower-http's, configured as CometBFT's `cors_allowed_origins`.
//! Every request is bounded as CometBFT bounds it ([`RpcLimits`]):
//! connections, time to send a request and to take an answer, request
//! size, batch size, websocket subscriptions and the index entries one
//! search may visit.

use std::{
    future::Future,
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context as TaskContext, Poll},
};

use anyhow::{anyhow, Context};
use axum::{
    body::{Body, Bytes},
    extract::{Request as HttpRequest, State},
    http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::{body::Body as _, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    time::{Duration, Sleep},
};
use tower_http::cors::{AllowOrigin, CorsLayer};
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

/// The RPC's bounds and who may call it from a browser: CometBFT v0.38's
/// `[rpc]` defaults where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcLimits {
    /// Connections (HTTP and websocket) served at once; further clients
    /// wait in the listen backlog until one closes, as behind CometBFT's
    /// `netutil.LimitListener` (`max_open_connections`: 900).
    pub max_open_connections: usize,
    /// How long a client has to send a request head, counted from when
    /// the connection is ready for one (so also how long a kept-alive
    /// connection may sit idle), and then again to send its body
    /// (CometBFT's server `ReadTimeout`: 10 s); a slow sender is
    /// disconnected.
    pub read_timeout: Duration,
    /// How long one write to a client may wait for it to take bytes
    /// (CometBFT's `WriteTimeout`: 10 s); a client that stops reading is
    /// disconnected.
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
    /// The origins a browser may call the RPC from (CometBFT's
    /// `cors_allowed_origins`): empty (the default) serves no CORS headers,
    /// `*` allows any origin, and an origin may hold one `*` standing for
    /// any run of characters (`https://*.example.com`).
    pub cors_allowed_origins: Vec<String>,
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
            cors_allowed_origins: Vec::new(),
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
    let app = router(rpc.clone());
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        // Also closes a kept-alive connection idle for as long.
        .header_read_timeout(rpc.limits.read_timeout)
        .max_buf_size(head_buffer(&rpc.limits))
        // Go writes `Content-Length`, and some clients look for it so.
        .title_case_headers(true)
        .keep_alive(true);
    loop {
        // Wait for a free slot before accepting: excess clients queue in
        // the kernel's backlog and cost the node nothing.
        let slot = open
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
        let io = Connection::new(stream, slot, rpc.limits.write_timeout);
        let io = TokioIo::new(crate::lenient::Lenient::new(io));
        let conn = http
            .serve_connection(io, TowerToHyperService::new(app.clone()))
            .with_upgrades();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                debug!(%peer, error = %e, "RPC connection failed");
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

/// hyper's read buffer, which bounds a request head: twice the head limit,
/// so that a head somewhat over it still reaches [`bound_request`] and is
/// refused with a reason; a larger one gets hyper's bare `431`.
fn head_buffer(limits: &RpcLimits) -> usize {
    // hyper's least.
    const HYPER_MIN: usize = 8192;
    limits.max_header_bytes.saturating_mul(2).max(HYPER_MIN)
}

/// One client's socket, with its slot under the connection cap and a
/// deadline on writes. Both travel with the socket through a websocket
/// upgrade, so a websocket holds its slot until it closes.
struct Connection {
    stream: TcpStream,
    _slot: OwnedSemaphorePermit,
    write_timeout: Duration,
    /// Runs while a write waits for the client to take bytes.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl Connection {
    fn new(stream: TcpStream, slot: OwnedSemaphorePermit, write_timeout: Duration) -> Self {
        Connection {
            stream,
            _slot: slot,
            write_timeout,
            stalled: None,
        }
    }

    /// Passes on a write's outcome, failing one that has waited longer
    /// than the write timeout.
    fn within_deadline<T>(
        &mut self,
        cx: &mut TaskContext<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let timeout = self.write_timeout;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not take the answer in time",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.within_deadline(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.within_deadline(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.within_deadline(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The RPC's routes, as CometBFT's mux has them: JSON-RPC at `/`, the
/// websocket at [`crate::ws::PATH`], a URI call at `/<method>` and
/// `404 page not found` elsewhere; every request within the head and body
/// limits, and CORS when origins are allowed.
fn router(rpc: Rpc) -> Router {
    let cors = cors(&rpc.limits.cors_allowed_origins);
    let router = Router::new()
        .route("/", any(root))
        .route(crate::ws::PATH, any(crate::ws::upgrade))
        .fallback(uri_call)
        .layer(middleware::from_fn_with_state(rpc.clone(), bound_request))
        .with_state(rpc);
    match cors {
        // Outermost: a preflight is answered before anything else runs.
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// CometBFT's CORS (rs/cors as its RPC server configures it): the allowed
/// origins, methods HEAD, GET and POST, and the headers CometBFT lists.
/// None when no origin is allowed, as CometBFT then adds no CORS handler.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let patterns: Vec<String> = origins.iter().map(|o| o.to_ascii_lowercase()).collect();
        AllowOrigin::predicate(move |origin: &HeaderValue, _| {
            origin.to_str().is_ok_and(|origin| {
                let origin = origin.to_ascii_lowercase();
                patterns.iter().any(|p| origin_matches(p, &origin))
            })
        })
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::HEAD, Method::GET, Method::POST])
            .allow_headers([
                header::ORIGIN,
                header::ACCEPT,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-requested-with"),
                HeaderName::from_static("x-server-time"),
            ]),
    )
}

/// Whether `origin` matches an allowed origin `pattern` (both lower case),
/// whose one `*`, if any, stands for any run of characters.
fn origin_matches(pattern: &str, origin: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == origin,
        Some((prefix, suffix)) => {
            origin.len() >= prefix.len() + suffix.len()
                && origin.starts_with(prefix)
                && origin.ends_with(suffix)
        }
    }
}

/// Refuses a request with an HTTP status and a JSON-RPC error saying why,
/// and closes the connection.
fn refuse(status: StatusCode, why: String) -> Response {
    debug!(%status, why, "refusing an RPC request");
    let body = envelope(Some(Value::from(-1)), Err(RpcError::invalid_request(why)));
    let mut answer = json_answer(status, body);
    answer
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    answer
}

/// The size of a request's head as sent: request line, headers and the
/// line breaks between them.
fn head_len(req: &HttpRequest) -> usize {
    let target = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + ": \r\n".len() + value.len())
        .sum();
    req.method().as_str().len() + " ".len() + target + " HTTP/1.1\r\n".len() + headers
}

/// Bounds every request before it is routed: a head over the limit, or a
/// body announced over it, is refused unread (CometBFT's
/// `max_header_bytes` and `max_body_bytes`). A websocket upgrade that is
/// refused closes the connection, which the client meant to give up.
async fn bound_request(State(rpc): State<Rpc>, req: HttpRequest, next: Next) -> Response {
    let limits = &rpc.limits;
    if head_len(&req) > limits.max_header_bytes {
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request head exceeds {} bytes", limits.max_header_bytes),
        );
    }
    let announced = req.body().size_hint().exact();
    if let Some(n) = announced.filter(|&n| n > limits.max_body_bytes as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body too large: {n} bytes (max: {})",
                limits.max_body_bytes
            ),
        );
    }
    let upgrade = req.headers().contains_key(header::UPGRADE);
    let mut answer = next.run(req).await;
    if upgrade && answer.status() != StatusCode::SWITCHING_PROTOCOLS {
        answer
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    answer
}

/// Reads a request body within the body limit and the read timeout; a
/// body sent in chunks is bounded as it arrives.
async fn read_body(limits: &RpcLimits, body: Body) -> Result<Bytes, Response> {
    let max = limits.max_body_bytes;
    let read = tokio::time::timeout(limits.read_timeout, Limited::new(body, max).collect());
    match read.await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body too large: over {max} bytes (max: {max})"),
        )),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("reading the request body: {e}"),
        )),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {:?}",
                limits.read_timeout
            ),
        )),
    }
}

/// An answer of JSON text.
fn json_answer(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// `/`, with any HTTP method: a JSON-RPC request or batch, or the list of
/// endpoints when the body is empty.
async fn root(State(rpc): State<Rpc>, req: HttpRequest) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match read_body(&rpc.limits, req.into_body()).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    if body.is_empty() {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            endpoint_list(&host),
        )
            .into_response();
    }
    json_rpc(&rpc, &body).await
}

/// `/<method>?<args>`: a URI call, answered `500` when it fails; any other
/// path is Go's plain `404 page not found`.
async fn uri_call(State(rpc): State<Rpc>, uri: Uri) -> Response {
    let name = uri.path().trim_start_matches('/');
    match route_of(name) {
        Some(route) if route.ws_only => json_answer(
            StatusCode::NOT_FOUND,
            envelope(Some(Value::from(-1)), Err(RpcError::method_not_found())),
        ),
        Some(route) => {
            let result = match uri_args(uri.query().unwrap_or_default())
                .and_then(|pairs| Args::from_uri(route, &pairs).map_err(|e| e.0))
            {
                Err(e) => Err(RpcError::invalid_params(format!(
                    "error converting http params to arguments: {e}"
                ))),
                Ok(args) => dispatch(&rpc, route.name, args).await,
            };
            let status = if result.is_ok() {
                StatusCode::OK
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            json_answer(status, envelope(Some(Value::from(-1)), result))
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "404 page not found\n",
        )
            .into_response(),
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

/// The decoded `name=value` pairs of a URI query: `%XX` escapes and `+`
/// for a space; an escape that is not one (`%zz`, `%` before a multi-byte
/// character) is kept as written, and what it decodes to must be UTF-8.
fn uri_args(query: &str) -> Result<Vec<(String, String)>, String> {
    let decode = |pair: &str, part: &str| {
        percent_encoding::percent_decode_str(&part.replace('+', " "))
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| format!("query parameter {pair:?}: not UTF-8 once percent-decoded"))
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((decode(pair, k)?, decode(pair, v)?))
        })
        .collect()
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
async fn json_rpc(rpc: &Rpc, body: &[u8]) -> Response {
    let parse_error = |e: String| {
        json_answer(
            StatusCode::INTERNAL_SERVER_ERROR,
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
        return json_answer(
            StatusCode::OK,
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
                return json_answer(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    envelope(Some(Value::from(-1)), Err(panicked)),
                )
            }
        }
    }
    match answers.len() {
        0 => json_answer(StatusCode::OK, String::new()),
        1 => json_answer(StatusCode::OK, answers.swap_remove(0)),
        _ => json_answer(StatusCode::OK, format!("[{}]", answers.join(","))),
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
    fn uri_arguments_are_percent_decoded_on_bytes_and_must_be_utf8() {
        let one = |query: &str| uri_args(query).map(|pairs| pairs[0].1.clone());
        assert_eq!(one("x=a%20b+c").as_deref(), Ok("a b c"));
        assert_eq!(one("x=%2B").as_deref(), Ok("+"));
        assert_eq!(one("x=%E2%82%AC").as_deref(), Ok("€"));
        // A `%` before a multi-byte character, or too near the end, is a `%`.
        assert_eq!(one("x=%€").as_deref(), Ok("%€"));
        assert_eq!(one("x=%a€").as_deref(), Ok("%a€"));
        assert_eq!(one("x=€%").as_deref(), Ok("€%"));
        assert_eq!(one("x=%4").as_deref(), Ok("%4"));
        assert_eq!(one("x=%zz").as_deref(), Ok("%zz"));
        assert!(one("x=%E2%82").is_err());
        assert!(one("x=%FF").is_err());
        assert_eq!(
            uri_args("a=1&&b&c=").unwrap(),
            [("a", "1"), ("b", ""), ("c", "")].map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn allowed_origins_match_exactly_or_around_one_wildcard() {
        assert!(origin_matches("https://a.example", "https://a.example"));
        assert!(!origin_matches("https://a.example", "https://b.example"));
        assert!(origin_matches("https://*.example", "https://a.b.example"));
        assert!(!origin_matches("https://*.example", "http://a.example"));
        assert!(!origin_matches("https://*.example", "https://example"));
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
