//! A client for a node's CometBFT RPC (CometBFT v0.38, or `deaid devnet`):
//! the CLI's queries and transactions go through `abci_query`,
//! `broadcast_tx_sync`, `status` and `tx`, exactly as wallets use them.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use cosmos_sdk_proto::cosmos::{
    auth::v1beta1::{BaseAccount, QueryAccountRequest, QueryAccountResponse},
    bank::v1beta1::{
        QueryAllBalancesRequest, QueryAllBalancesResponse, QueryTotalSupplyRequest,
        QueryTotalSupplyResponse,
    },
    base::v1beta1::Coin as ProtoCoin,
    tx::v1beta1::{SimulateRequest, SimulateResponse},
};
use prost::Message;
use tendermint_rpc::{client::CompatMode, Client as _, HttpClient};

/// The longest one RPC request may take, connecting included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What CometBFT answers `/tx` and `/tx_search` when it does not index txs.
const INDEXING_DISABLED: &str = "transaction indexing is disabled";

/// A connection to a node's RPC endpoint.
pub struct NodeClient {
    http: HttpClient,
    url: String,
}

impl NodeClient {
    /// A client for `url`, such as `http://127.0.0.1:26657`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let parsed: tendermint_rpc::Url = url
            .parse()
            .with_context(|| format!("--node {url:?} is not a URL like http://127.0.0.1:26657"))?;
        let http = HttpClient::builder(
            parsed
                .try_into()
                .map_err(|e| anyhow!("--node {url:?}: {e}"))?,
        )
        .compat_mode(CompatMode::V0_38)
        // A node that has not answered in this long is down for our purposes; callers retry.
        .timeout(REQUEST_TIMEOUT)
        .build()
        .with_context(|| format!("creating an RPC client for {url}"))?;
        Ok(NodeClient {
            http,
            url: url.to_string(),
        })
    }

    /// A failed call as one line: refused (the node answered with an
    /// error) or not answered at all.
    fn call_failed(&self, e: tendermint_rpc::Error) -> anyhow::Error {
        // The error's own Display carries a multi-line report (and, with
        // RUST_BACKTRACE set, a backtrace): keep to the one-line detail.
        let detail = one_line(&e);
        if matches!(e.detail(), tendermint_rpc::error::ErrorDetail::Response(_)) {
            // It answered, with a JSON-RPC error (e.g. CometBFT's "mempool is full").
            return anyhow!("the node at {} refused the request: {detail}", self.url);
        }
        anyhow!(
            "the node at {} did not answer ({detail}); is it running? (`deaid devnet` or CometBFT)",
            self.url
        )
    }

    /// The chain id and latest height.
    pub async fn status(&self) -> anyhow::Result<(String, u64)> {
        let s = self.http.status().await.map_err(|e| self.call_failed(e))?;
        Ok((
            s.node_info.network.to_string(),
            s.sync_info.latest_block_height.value(),
        ))
    }

    /// A gRPC-style ABCI query; a non-zero code is an error carrying the app's log.
    pub async fn query(&self, path: &str, data: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let r = self
            .http
            .abci_query(Some(path.to_string()), data, None, false)
            .await
            .map_err(|e| self.call_failed(e))?;
        if r.code.is_err() {
            bail!("query {path} failed (code {}): {}", r.code.value(), r.log);
        }
        Ok(r.value)
    }

    /// [`NodeClient::query`] with a protobuf request, decoding the answer.
    pub async fn ask<Req: Message, Resp: Message + Default>(
        &self,
        path: &str,
        req: &Req,
    ) -> anyhow::Result<Resp> {
        let bytes = self.query(path, req.encode_to_vec()).await?;
        Resp::decode(bytes.as_slice()).with_context(|| format!("decoding the answer to {path}"))
    }

    /// The account at `address`, if it exists.
    pub async fn account(&self, address: &str) -> anyhow::Result<Option<BaseAccount>> {
        let req = QueryAccountRequest {
            address: address.to_string(),
        };
        match self
            .query("/cosmos.auth.v1beta1.Query/Account", req.encode_to_vec())
            .await
        {
            Ok(bytes) => {
                let any = QueryAccountResponse::decode(bytes.as_slice())?
                    .account
                    .ok_or_else(|| anyhow!("the node returned an empty account"))?;
                Ok(Some(BaseAccount::decode(any.value.as_slice())?))
            }
            Err(e) if e.to_string().contains("NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// All balances of `address`.
    pub async fn balances(&self, address: &str) -> anyhow::Result<Vec<ProtoCoin>> {
        let req = QueryAllBalancesRequest {
            address: address.to_string(),
            ..Default::default()
        };
        let bytes = self
            .query(
                "/cosmos.bank.v1beta1.Query/AllBalances",
                req.encode_to_vec(),
            )
            .await?;
        Ok(QueryAllBalancesResponse::decode(bytes.as_slice())?.balances)
    }

    /// The total supply of every denom.
    pub async fn total_supply(&self) -> anyhow::Result<Vec<ProtoCoin>> {
        let bytes = self
            .query(
                "/cosmos.bank.v1beta1.Query/TotalSupply",
                QueryTotalSupplyRequest::default().encode_to_vec(),
            )
            .await?;
        Ok(QueryTotalSupplyResponse::decode(bytes.as_slice())?.supply)
    }

    /// The gas `tx_bytes` would use, by the app's Simulate query.
    pub async fn simulate(&self, tx_bytes: Vec<u8>) -> anyhow::Result<u64> {
        let req = SimulateRequest {
            tx_bytes,
            ..Default::default()
        };
        let bytes = self
            .query("/cosmos.tx.v1beta1.Service/Simulate", req.encode_to_vec())
            .await?;
        SimulateResponse::decode(bytes.as_slice())?
            .gas_info
            .map(|g| g.gas_used)
            .ok_or_else(|| anyhow!("simulation returned no gas information"))
    }

    /// Submits a tx to the mempool; returns CheckTx's code and log.
    pub async fn broadcast_sync(&self, tx: Vec<u8>) -> anyhow::Result<(u32, String)> {
        let r = self
            .http
            .broadcast_tx_sync(tx)
            .await
            .map_err(|e| self.call_failed(e))?;
        Ok((r.code.value(), r.log))
    }

    /// Waits until the tx with `hash` is in a block; returns (height, code, log).
    pub async fn wait_for_tx(
        &self,
        hash: [u8; 32],
        timeout: Duration,
    ) -> anyhow::Result<(u64, u32, String)> {
        let r = self.wait_for_tx_result(hash, timeout).await?;
        Ok((r.height.value(), r.tx_result.code.value(), r.tx_result.log))
    }

    /// Waits until the tx with `hash` is in a block; returns its result
    /// with events.
    pub async fn wait_for_tx_result(
        &self,
        hash: [u8; 32],
        timeout: Duration,
    ) -> anyhow::Result<tendermint_rpc::endpoint::tx::Response> {
        let start = Instant::now();
        let hash = tendermint::Hash::Sha256(hash);
        loop {
            match self.http.tx(hash, false).await {
                Ok(r) => return Ok(r),
                // A node with `tx_index.indexer = "null"` will never find it.
                Err(e) if one_line(&e).contains(INDEXING_DISABLED) => bail!(
                    "tx {hash} was broadcast, but {} cannot tell when it lands: {INDEXING_DISABLED} \
                     there (CometBFT's tx_index.indexer); ask a node that indexes txs",
                    self.url
                ),
                Err(e) if start.elapsed() < timeout => {
                    tracing::debug!(error = %e, "tx not found yet");
                    tokio::time::sleep(Duration::from_millis(250)).await
                }
                Err(e) => bail!(
                    "tx {hash} was not in a block after {} s: {}",
                    timeout.as_secs(),
                    one_line(&e)
                ),
            }
        }
    }

    /// The underlying RPC client, for block and tx queries.
    pub fn rpc(&self) -> &HttpClient {
        &self.http
    }
}

/// An RPC client error as one line: its report and causes joined with ": ",
/// without the backtrace it may carry.
pub fn one_line(e: &tendermint_rpc::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("Location:") && !l.contains("acktrace"))
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        // Causes are numbered "0: …", "1: …".
        .map(|l| match l.split_once(": ") {
            Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join(": ")
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader, Read, Write},
        time::{Duration, Instant},
    };

    use super::{one_line, NodeClient};

    /// A node that answers every request with a JSON-RPC error whose data is
    /// `data`, as CometBFT does.
    fn node_answering_error(data: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0;
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 2 {
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let answer = format!(
                    r#"{{"jsonrpc":"2.0","id":-1,"error":{{"code":-32603,"message":"Internal error","data":"{data}"}}}}"#
                );
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        url
    }

    #[tokio::test]
    async fn waiting_on_a_node_that_does_not_index_txs_fails_at_once_in_one_line() {
        // CometBFT with `tx_index.indexer = "null"`.
        let url = node_answering_error("transaction indexing is disabled");
        let client = NodeClient::new(&url).unwrap();
        let start = Instant::now();
        let e = client
            .wait_for_tx([7; 32], Duration::from_secs(60))
            .await
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5), "it waited");
        let msg = format!("{e:#}");
        assert!(msg.contains("transaction indexing is disabled"), "{msg}");
        assert!(msg.contains(&url), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn rpc_errors_read_as_one_line_and_keep_their_words() {
        let e = tendermint_rpc::Error::server(
            "busy\n404 Not Found\n\nCaused by:\n   0: a cause".into(),
        );
        assert_eq!(one_line(&e), "server error: busy: 404 Not Found: a cause");
    }

    #[tokio::test]
    async fn an_error_the_node_answers_is_not_reported_as_the_node_being_down() {
        let url = node_answering_error("mempool is full: number of txs 5000 (max: 5000)");
        let client = NodeClient::new(&url).unwrap();
        let e = client.broadcast_sync(vec![1, 2, 3]).await.unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains("refused the request"), "{msg}");
        assert!(msg.contains("mempool is full"), "{msg}");
        assert!(!msg.contains("is it running"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
