//! Test harness for end-to-end tests: a minimal ABCI client that speaks
//! CometBFT v0.38's socket protocol (varint length-prefixed protobuf
//! `Request`/`Response`), a manager for `deaid` processes, and a block
//! builder that issues the same call sequence CometBFT makes: `Info`,
//! `InitChain`, then per block `PrepareProposal`, `ProcessProposal`,
//! `FinalizeBlock`, `Commit`, with `CheckTx` in between; and [`localnet`], a
//! network of real CometBFT validators made by `localnet/localnet.sh`.

#![allow(clippy::unwrap_used, missing_docs)]

pub mod api;
pub mod hermes;
pub mod localnet;

use std::{
    io::{Read, Write},
    net::TcpStream,
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use prost::Message;
use tendermint_proto::v0_38::abci::{
    request, response, CommitInfo, ExtendedCommitInfo, Request, RequestCheckTx, RequestCommit,
    RequestFinalizeBlock, RequestInfo, RequestInitChain, RequestPrepareProposal,
    RequestProcessProposal, RequestQuery, Response, ResponseCheckTx, ResponseFinalizeBlock,
    ResponseInfo, ResponseQuery,
};
use tendermint_proto::{
    google::protobuf::{Duration as PbDuration, Timestamp},
    v0_38::types::{
        AbciParams, BlockParams, ConsensusParams, EvidenceParams, ValidatorParams, VersionParams,
    },
};

/// Any byte stream the ABCI protocol runs over.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One ABCI connection.
pub struct AbciClient {
    stream: Box<dyn Stream>,
}

fn read_varint(r: &mut dyn Read) -> std::io::Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        value |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(std::io::Error::other("varint too long"))
}

impl AbciClient {
    /// Connects to `addr` (`tcp://host:port` or `unix:///path`), retrying until `timeout`.
    pub fn connect(addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let start = Instant::now();
        loop {
            let attempt: std::io::Result<Box<dyn Stream>> =
                if let Some(a) = addr.strip_prefix("tcp://") {
                    TcpStream::connect(a).map(|s| {
                        s.set_nodelay(true).ok();
                        Box::new(s) as Box<dyn Stream>
                    })
                } else if let Some(p) = addr.strip_prefix("unix://") {
                    UnixStream::connect(p).map(|s| Box::new(s) as Box<dyn Stream>)
                } else {
                    anyhow::bail!("bad address {addr}");
                };
            match attempt {
                Ok(stream) => return Ok(AbciClient { stream }),
                Err(e) if start.elapsed() > timeout => {
                    anyhow::bail!("could not connect to {addr}: {e}")
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Sends one request and reads its response.
    pub fn call(&mut self, value: request::Value) -> anyhow::Result<response::Value> {
        let req = Request { value: Some(value) };
        self.stream
            .write_all(&req.encode_length_delimited_to_vec())?;
        self.stream.flush()?;
        let len = read_varint(&mut self.stream)? as usize;
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf)?;
        let resp = Response::decode(buf.as_slice())?;
        match resp.value {
            Some(response::Value::Exception(e)) => anyhow::bail!("ABCI exception: {}", e.error),
            Some(v) => Ok(v),
            None => anyhow::bail!("empty ABCI response"),
        }
    }

    pub fn info(&mut self) -> anyhow::Result<ResponseInfo> {
        match self.call(request::Value::Info(RequestInfo {
            version: "0.38.0".into(),
            block_version: 11,
            p2p_version: 8,
            abci_version: "2.0.0".into(),
        }))? {
            response::Value::Info(r) => Ok(r),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }

    pub fn check_tx(&mut self, tx: &[u8], recheck: bool) -> anyhow::Result<ResponseCheckTx> {
        match self.call(request::Value::CheckTx(RequestCheckTx {
            tx: tx.to_vec().into(),
            r#type: i32::from(recheck),
        }))? {
            response::Value::CheckTx(r) => Ok(r),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }

    pub fn query(
        &mut self,
        path: &str,
        data: &[u8],
        height: i64,
        prove: bool,
    ) -> anyhow::Result<ResponseQuery> {
        match self.call(request::Value::Query(RequestQuery {
            data: data.to_vec().into(),
            path: path.into(),
            height,
            prove,
        }))? {
            response::Value::Query(r) => Ok(r),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
}

/// CometBFT v0.38's default consensus parameters.
pub fn consensus_params() -> ConsensusParams {
    ConsensusParams {
        block: Some(BlockParams {
            max_bytes: 4_194_304,
            max_gas: -1,
        }),
        evidence: Some(EvidenceParams {
            max_age_num_blocks: 100_000,
            max_age_duration: Some(PbDuration {
                seconds: 172_800,
                nanos: 0,
            }),
            max_bytes: 1_048_576,
        }),
        validator: Some(ValidatorParams {
            pub_key_types: vec!["ed25519".into()],
        }),
        version: Some(VersionParams { app: 0 }),
        abci: Some(AbciParams {
            vote_extensions_enable_height: 0,
        }),
    }
}

/// A block time derived from the height (tests need no wall clock).
pub fn block_time(height: i64) -> Timestamp {
    Timestamp {
        seconds: 1_767_225_600 + height,
        nanos: 0,
    }
}

/// A 32-byte stand-in block hash derived from the height.
pub fn block_hash(height: i64) -> Vec<u8> {
    let mut h = vec![0u8; 32];
    h[..8].copy_from_slice(&height.to_be_bytes());
    h
}

/// A stand-in 20-byte proposer address.
pub const PROPOSER: [u8; 20] = [7u8; 20];

/// Drives an app through consensus calls, as CometBFT would.
pub struct Consensus {
    pub conn: AbciClient,
    pub height: i64,
    pub app_hash: Vec<u8>,
}

impl Consensus {
    /// Performs the handshake: `Info`, then `InitChain` if the app is at height 0.
    pub fn handshake(
        mut conn: AbciClient,
        chain_id: &str,
        app_state: &serde_json::Value,
    ) -> anyhow::Result<Self> {
        let info = conn.info()?;
        if info.last_block_height > 0 {
            return Ok(Consensus {
                conn,
                height: info.last_block_height,
                app_hash: info.last_block_app_hash.to_vec(),
            });
        }
        let resp = conn.call(request::Value::InitChain(RequestInitChain {
            time: Some(block_time(0)),
            chain_id: chain_id.into(),
            consensus_params: Some(consensus_params()),
            validators: Vec::new(),
            app_state_bytes: serde_json::to_vec(app_state)?.into(),
            initial_height: 1,
        }))?;
        let response::Value::InitChain(r) = resp else {
            anyhow::bail!("unexpected {resp:?}")
        };
        Ok(Consensus {
            conn,
            height: 0,
            app_hash: r.app_hash.to_vec(),
        })
    }

    /// PrepareProposal with `max_tx_bytes`; returns the txs the app chose.
    pub fn prepare(&mut self, txs: &[Vec<u8>], max_tx_bytes: i64) -> anyhow::Result<Vec<Vec<u8>>> {
        let resp = self
            .conn
            .call(request::Value::PrepareProposal(RequestPrepareProposal {
                max_tx_bytes,
                txs: txs.iter().map(|t| t.clone().into()).collect(),
                height: self.height + 1,
                local_last_commit: Some(ExtendedCommitInfo::default()),
                misbehavior: Vec::new(),
                time: Some(block_time(self.height + 1)),
                next_validators_hash: vec![1u8; 32].into(),
                proposer_address: PROPOSER.to_vec().into(),
            }))?;
        let response::Value::PrepareProposal(r) = resp else {
            anyhow::bail!("unexpected {resp:?}")
        };
        Ok(r.txs.into_iter().map(|t| t.to_vec()).collect())
    }

    /// ProcessProposal; true when accepted.
    pub fn process(&mut self, txs: &[Vec<u8>]) -> anyhow::Result<bool> {
        let resp = self
            .conn
            .call(request::Value::ProcessProposal(RequestProcessProposal {
                txs: txs.iter().map(|t| t.clone().into()).collect(),
                height: self.height + 1,
                proposed_last_commit: Some(CommitInfo::default()),
                misbehavior: Vec::new(),
                hash: block_hash(self.height + 1).into(),
                time: Some(block_time(self.height + 1)),
                next_validators_hash: vec![1u8; 32].into(),
                proposer_address: PROPOSER.to_vec().into(),
            }))?;
        let response::Value::ProcessProposal(r) = resp else {
            anyhow::bail!("unexpected {resp:?}")
        };
        Ok(r.status == 1)
    }

    /// FinalizeBlock at the next height, without Commit.
    pub fn finalize(&mut self, txs: &[Vec<u8>]) -> anyhow::Result<ResponseFinalizeBlock> {
        let resp = self
            .conn
            .call(request::Value::FinalizeBlock(RequestFinalizeBlock {
                txs: txs.iter().map(|t| t.clone().into()).collect(),
                height: self.height + 1,
                decided_last_commit: Some(CommitInfo::default()),
                misbehavior: Vec::new(),
                hash: block_hash(self.height + 1).into(),
                time: Some(block_time(self.height + 1)),
                next_validators_hash: vec![1u8; 32].into(),
                proposer_address: PROPOSER.to_vec().into(),
            }))?;
        let response::Value::FinalizeBlock(r) = resp else {
            anyhow::bail!("unexpected {resp:?}")
        };
        Ok(r)
    }

    /// Commit; advances the height.
    pub fn commit(&mut self) -> anyhow::Result<()> {
        let resp = self.conn.call(request::Value::Commit(RequestCommit {}))?;
        let response::Value::Commit(_) = resp else {
            anyhow::bail!("unexpected {resp:?}")
        };
        self.height += 1;
        Ok(())
    }

    /// A whole block: Prepare, Process, Finalize, Commit.
    pub fn block(&mut self, txs: &[Vec<u8>]) -> anyhow::Result<ResponseFinalizeBlock> {
        let chosen = self.prepare(txs, 4 * 1024 * 1024)?;
        anyhow::ensure!(self.process(&chosen)?, "the app rejected its own proposal");
        let r = self.finalize(&chosen)?;
        self.app_hash = r.app_hash.to_vec();
        self.commit()?;
        Ok(r)
    }
}

/// A `deaid start` process.
pub struct Node {
    child: Option<Child>,
    pub home: PathBuf,
    pub addr: String,
    bin: PathBuf,
}

/// Starts `deaid --home HOME devnet` with `block_time` blocks and its RPC on
/// `listen` (`127.0.0.1:0` for any free port), and waits until it prints the
/// RPC address; returns the process and `http://…`. Stdout keeps being
/// drained so the devnet never blocks on a full pipe.
pub fn spawn_devnet(bin: &Path, home: &Path, block_time: &str, listen: &str) -> (Child, String) {
    let d = spawn_devnet_api(bin, home, block_time, listen, &[]);
    (d.child, d.rpc)
}

/// A `deaid devnet` process and the addresses it serves.
pub struct DevnetProcess {
    /// The process.
    pub child: Child,
    /// Its CometBFT-compatible RPC, `http://…`.
    pub rpc: String,
    /// Its gRPC server, `HOST:PORT`.
    pub grpc: String,
    /// Its REST gateway, `http://…`.
    pub rest: String,
    /// The dev accounts a new devnet printed: (name, address, mnemonic).
    pub accounts: Vec<(String, String, String)>,
}

/// As [`spawn_devnet`], with the gRPC and REST servers on free ports too,
/// and `extra` arguments for `deaid devnet`.
pub fn spawn_devnet_api(
    bin: &Path,
    home: &Path,
    block_time: &str,
    listen: &str,
    extra: &[&str],
) -> DevnetProcess {
    use std::io::BufRead;
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["devnet", "--block-time", block_time, "--rpc-listen", listen])
        .args([
            "--grpc-listen",
            "127.0.0.1:0",
            "--rest-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting deaid devnet");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let (mut grpc, mut rest) = (String::new(), String::new());
    let mut accounts: Vec<(String, String, String)> = Vec::new();
    let rpc = loop {
        let line = lines
            .next()
            .expect("devnet printed its RPC address")
            .expect("reading the devnet's stdout");
        if let Some((name, addr)) = line.split_once(": ") {
            if name.starts_with("dev") && addr.starts_with("deai1") {
                accounts.push((name.to_string(), addr.to_string(), String::new()));
            }
        }
        if let (Some(m), Some(last)) = (line.trim().strip_prefix("mnemonic: "), accounts.last_mut())
        {
            last.2 = m.to_string();
        }
        if let Some(addr) = line.strip_prefix("gRPC on ") {
            grpc = addr.trim().to_string();
        }
        if let Some(addr) = line.strip_prefix("REST on ") {
            rest = addr.trim().to_string();
        }
        if let Some(addr) = line.strip_prefix("JSON-RPC on ") {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    DevnetProcess {
        child,
        rpc,
        grpc,
        rest,
        accounts,
    }
}

/// The amount of `denom` in a bank balances answer, `{"balances": [{"denom",
/// "amount"}, …]}` as `deaid`, simd and the REST gateway print it (0 if absent).
pub fn denom_amount(balances: &serde_json::Value, denom: &str) -> u128 {
    balances["balances"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["denom"] == denom)
        .and_then(|c| c["amount"].as_str()?.parse().ok())
        .unwrap_or(0)
}

/// A free TCP port on localhost.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Node {
    /// Starts `bin start` with `home`, listening on `addr`.
    pub fn start(bin: &Path, home: &Path, addr: &str) -> anyhow::Result<Self> {
        let mut n = Node {
            child: None,
            home: home.to_path_buf(),
            addr: addr.to_string(),
            bin: bin.to_path_buf(),
        };
        n.spawn()?;
        Ok(n)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let child = Command::new(&self.bin)
            .args(["start", "--abci", &self.addr])
            // Tests run nodes side by side: no API servers on fixed ports.
            .args(["--grpc-listen", "off", "--rest-listen", "off"])
            .env("DEAI_HOME", &self.home)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        self.child = Some(child);
        Ok(())
    }

    /// A new connection (the server is given time to come up).
    pub fn connect(&self) -> anyhow::Result<AbciClient> {
        AbciClient::connect(&self.addr, Duration::from_secs(30))
    }

    /// Kills the process at once (SIGKILL: no chance to clean up).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// Kills and starts it again on the same home.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
