//! The Cosmos API surface of a `deaid` node, for the wallets, explorers,
//! SDKs and relayers that expect a Cosmos chain to answer on gRPC (`:9090`)
//! and on the REST gateway (`:1317`), not only through CometBFT's
//! `abci_query`.
//!
//! One [`Api`] answers every method, named by its gRPC path
//! (`/cosmos.bank.v1beta1.Query/Balance`) with protobuf bytes in and out:
//! - module queries go to the app's [`Querier`], the same router that
//!   answers `abci_query`, so the two can never disagree;
//! - `cosmos.tx.v1beta1.Service`, `cosmos.base.tendermint.v1beta1.Service`
//!   and `cosmos.base.node.v1beta1.Service` are answered here, from the
//!   committed state and the node's CometBFT RPC (blocks, the tx index,
//!   the mempool), as the Cosmos SDK answers them from its local client.
//!
//! [`grpc`] serves that over HTTP/2 with server reflection; [`rest`] maps
//! the `google.api.http` paths of the same methods to JSON, and serves an
//! OpenAPI document built from the same descriptors.

pub mod conn;
pub mod grpc;
mod node;
pub mod rest;
mod status;

use std::time::Duration;

use bytes::Bytes;
use deai_app::query::Querier;
use tendermint_rpc::{client::CompatMode, HttpClient};

pub use status::ApiError;

/// The request header (gRPC metadata or HTTP) that asks for state at a
/// height, as in the Cosmos SDK; answers carry it too.
pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

/// The most bytes one request may carry: a tx CometBFT would accept (1 MiB
/// by default) plus its envelope.
pub const MAX_REQUEST_BYTES: usize = 2 << 20;

/// How long one call to the node's RPC may take.
const NODE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most calls answered at once, over gRPC and REST together: each may hold
/// a thread reading RocksDB or a connection to the node.
pub const MAX_IN_FLIGHT: usize = 64;

/// How long a call waits for one of the [`MAX_IN_FLIGHT`] slots before it is
/// refused as Unavailable.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// How long one request may take in all, on either server.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Answers API methods from committed state and the node's RPC.
pub struct Api {
    querier: Querier,
    node: HttpClient,
    bech32_prefix: String,
    limiter: Limiter,
}

/// Bounds the calls in flight: a caller waits a little for a slot, then
/// is told the API is busy, rather than piling up threads and memory.
pub struct Limiter {
    slots: tokio::sync::Semaphore,
    wait: Duration,
}

impl Limiter {
    /// `slots` calls at once; a caller waits at most `wait` for one.
    pub fn new(slots: usize, wait: Duration) -> Self {
        Limiter {
            slots: tokio::sync::Semaphore::new(slots),
            wait,
        }
    }

    /// A slot, held until the permit is dropped.
    pub async fn acquire(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.wait, self.slots.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::Unavailable(
                "the API is busy: too many calls in flight; retry shortly".into(),
            )),
        }
    }
}

/// What a method answered: protobuf bytes, and the height they are for
/// (0 where the answer is not tied to one height).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The encoded response message.
    pub bytes: Bytes,
    /// The state height the answer reads.
    pub height: u64,
}

impl Api {
    /// An API over `querier`'s state and the CometBFT RPC at `node_rpc`
    /// (such as `http://127.0.0.1:26657`).
    pub fn new(querier: Querier, node_rpc: &str) -> Result<Self, ApiError> {
        let url: tendermint_rpc::Url = node_rpc
            .parse()
            .map_err(|e| ApiError::Config(format!("node RPC address {node_rpc:?}: {e}")))?;
        let node = HttpClient::builder(
            url.try_into()
                .map_err(|e| ApiError::Config(format!("node RPC address {node_rpc:?}: {e}")))?,
        )
        .compat_mode(CompatMode::V0_38)
        .timeout(NODE_TIMEOUT)
        .build()
        .map_err(|e| ApiError::Config(format!("node RPC client for {node_rpc}: {e}")))?;
        Ok(Api {
            querier,
            node,
            bech32_prefix: deai_types::address::BECH32_PREFIX.to_string(),
            limiter: Limiter::new(MAX_IN_FLIGHT, QUEUE_WAIT),
        })
    }

    /// Answers the method at gRPC `path` with the encoded request `request`,
    /// reading state at `height` (`None`: the latest committed height).
    pub async fn call(
        &self,
        path: &str,
        request: Bytes,
        height: Option<u64>,
    ) -> Result<Answer, ApiError> {
        let _slot = self.limiter.acquire().await?;
        if let Some(answer) = node::call(self, path, &request, height).await {
            return answer;
        }
        self.module_query(path, request, height).await
    }

    /// A module query, answered by the app's router off the async threads
    /// (it reads RocksDB).
    async fn module_query(
        &self,
        path: &str,
        request: Bytes,
        height: Option<u64>,
    ) -> Result<Answer, ApiError> {
        let querier = self.querier.clone();
        let path_owned = path.to_string();
        let answer = tokio::task::spawn_blocking(move || {
            querier.query(&path_owned, &request, height.unwrap_or(0), false)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("query task: {e}")))?;
        status::module_answer(path, answer)
    }
}

/// Reads a requested height (`x-cosmos-block-height`): a non-negative
/// integer, where 0 means the latest.
pub(crate) fn parse_height(text: &str) -> Result<Option<u64>, ApiError> {
    let h: u64 = text.trim().parse().map_err(|_| {
        ApiError::InvalidArgument(format!(
            "{HEIGHT_HEADER} must be a non-negative integer, got {text:?}"
        ))
    })?;
    Ok((h > 0).then_some(h))
}

/// Where the API servers listen; `None` leaves one off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listen {
    /// The gRPC server (the SDK's default is 127.0.0.1:9090).
    pub grpc: Option<std::net::SocketAddr>,
    /// The REST gateway (the SDK's default is 127.0.0.1:1317).
    pub rest: Option<std::net::SocketAddr>,
    /// Browser origins the REST gateway allows (CORS): `*` for any; empty
    /// (the default) sends no CORS headers, so browsers refuse other sites.
    pub rest_cors_origins: Vec<String>,
}

/// Reads a listen address flag: `HOST:PORT`, or `off`.
pub fn parse_listen(text: &str) -> Result<Option<std::net::SocketAddr>, String> {
    if text == "off" {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| format!("{text:?} is not an address like 127.0.0.1:9090 (or `off`)"))
}

/// The servers [`start`] runs, with the addresses they took.
pub struct Running {
    /// The gRPC server's address.
    pub grpc: Option<std::net::SocketAddr>,
    /// The REST gateway's address.
    pub rest: Option<std::net::SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Binds the servers `listen` names (a taken port is an error here) and
/// serves them on the current runtime until the [`Running`] is dropped.
pub async fn start(api: std::sync::Arc<Api>, listen: Listen) -> Result<Running, ApiError> {
    let mut running = Running {
        grpc: None,
        rest: None,
        tasks: Vec::new(),
    };
    if let Some(addr) = listen.grpc {
        let listener = grpc::bind(addr).await?;
        running.grpc = Some(
            listener
                .local_addr()
                .map_err(|e| ApiError::Config(format!("gRPC listener: {e}")))?,
        );
        let api = api.clone();
        running.tasks.push(tokio::spawn(async move {
            if let Err(e) = grpc::serve(api, listener, std::future::pending()).await {
                tracing::error!("gRPC server stopped: {e}");
            }
        }));
    }
    if let Some(addr) = listen.rest {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| ApiError::Config(format!("cannot listen for REST on {addr}: {e}")))?;
        running.rest = Some(
            listener
                .local_addr()
                .map_err(|e| ApiError::Config(format!("REST listener: {e}")))?,
        );
        let cors = rest::cors(&listen.rest_cors_origins)?;
        running.tasks.push(tokio::spawn(async move {
            if let Err(e) = rest::serve(api, listener, cors).await {
                tracing::error!("REST gateway stopped: {e}");
            }
        }));
    }
    Ok(running)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_limiter_refuses_after_its_wait_and_frees_on_drop() {
        let l = Limiter::new(1, Duration::from_millis(50));
        let held = l.acquire().await.expect("a free slot");
        let refused = l.acquire().await.expect_err("no slot is free");
        assert!(matches!(refused, ApiError::Unavailable(_)), "{refused:?}");
        drop(held);
        assert!(l.acquire().await.is_ok(), "the slot came back");
    }

    #[test]
    fn heights_and_listen_addresses_parse_strictly() {
        assert_eq!(parse_height("0").unwrap(), None);
        assert_eq!(parse_height(" 7 ").unwrap(), Some(7));
        for bad in ["", "-1", "x", "1.5", "99999999999999999999999"] {
            assert!(parse_height(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_listen("off").unwrap(), None);
        assert!(parse_listen("127.0.0.1:9090").unwrap().is_some());
        assert!(parse_listen("localhost").is_err());
    }
}
