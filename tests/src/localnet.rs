//! A network of real CometBFT v0.38 validators, each paired with a `deaid`,
//! made by `localnet/localnet.sh` in a temporary directory and torn down on
//! drop; with reads of each node's CometBFT RPC.
//!
//! CometBFT comes from `COMETBFT_BIN` (`scripts/test.sh` sets it from
//! `scripts/install-cometbft.sh`). Without it [`Localnet::up`] returns
//! `None` so a test can skip, unless `DEAI_REQUIRE_COMETBFT=1`, which makes a
//! missing binary a failure.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Mutex,
    time::{Duration, Instant},
};

use serde_json::Value;

/// Held by a test while its network runs: each network is several processes
/// and a 2-core machine runs one well, not two.
pub static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The CometBFT binary, or `None` to skip.
pub fn cometbft() -> Option<String> {
    match std::env::var("COMETBFT_BIN") {
        Ok(bin) if Path::new(&bin).is_file() => Some(bin),
        _ if std::env::var("DEAI_REQUIRE_COMETBFT").as_deref() == Ok("1") => {
            panic!("DEAI_REQUIRE_COMETBFT=1 but COMETBFT_BIN names no file")
        }
        _ => {
            eprintln!("skipping: set COMETBFT_BIN (scripts/install-cometbft.sh prints it)");
            None
        }
    }
}

/// Asserts a command succeeded; its stdout.
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A network made by `localnet/localnet.sh`.
pub struct Localnet {
    dir: tempfile::TempDir,
    /// The test keyring holding the funded dev accounts `dev0`, `dev1`, ….
    pub keys: PathBuf,
    base: u16,
    cometbft: String,
    deaid: PathBuf,
}

impl Localnet {
    /// Runs `localnet.sh up --base-port BASE ARGS…` with the `deaid` at
    /// `deaid`; `None` when there is no CometBFT to run it with.
    pub fn up(deaid: &Path, base: u16, args: &[&str]) -> Option<Localnet> {
        let cometbft = cometbft()?;
        let dir = tempfile::tempdir().unwrap();
        let net = Localnet {
            keys: dir.path().join("keys"),
            dir,
            base,
            cometbft,
            deaid: deaid.to_path_buf(),
        };
        let base = base.to_string();
        let mut all = vec!["up", "--base-port", &base];
        all.extend(args);
        net.ok(&all);
        Some(net)
    }

    /// The network's directory (node homes, logs, keys).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `localnet.sh ARGS…` on this network.
    pub fn script(&self, args: &[&str]) -> Output {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../localnet/localnet.sh");
        Command::new("bash")
            .arg(script)
            .args(args)
            .arg("--nodes-dir")
            .arg(self.dir.path())
            .env("DEAID_BIN", &self.deaid)
            .env("COMETBFT_BIN", &self.cometbft)
            .env("LOCALNET_STOP_TIMEOUT", "10")
            .output()
            .unwrap()
    }

    /// Runs `localnet.sh ARGS…` and asserts it succeeded; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        ok(&self.script(args))
    }

    /// Node `node`'s CometBFT RPC port.
    pub fn rpc_port(&self, node: u16) -> u16 {
        self.base + 10 * node + 1
    }

    /// Node `node`'s Cosmos gRPC address, `127.0.0.1:PORT`.
    pub fn grpc_addr(&self, node: u16) -> String {
        format!("127.0.0.1:{}", self.base + 10 * node + 3)
    }

    /// Node `node`'s REST gateway, `http://127.0.0.1:PORT`.
    pub fn rest_url(&self, node: u16) -> String {
        format!("http://127.0.0.1:{}", self.base + 10 * node + 4)
    }

    /// Node `node`'s CometBFT RPC address, `http://127.0.0.1:PORT`.
    pub fn rpc_url(&self, node: u16) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port(node))
    }

    /// GET `path` of node `node`'s RPC; its `result`, if it answered one.
    pub fn get(&self, node: u16, path: &str) -> Option<Value> {
        let addr = format!("127.0.0.1:{}", self.rpc_port(node));
        let mut s =
            std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let json = body.split_once("\r\n\r\n")?.1;
        let v: Value = serde_json::from_str(json).ok()?;
        v.get("result").cloned()
    }

    /// [`Localnet::dev_mnemonic`] of `devI`, written to
    /// `<dir>/dev<I>.mnemonic` for tools that read one from a file
    /// (Hermes, simd).
    pub fn dev_mnemonic_file(&self, i: usize, dir: &Path) -> PathBuf {
        let path = dir.join(format!("dev{i}.mnemonic"));
        std::fs::write(&path, self.dev_mnemonic(i)).unwrap();
        path
    }

    /// A GET of `path` on node `node`'s REST gateway: the JSON answer, if
    /// it answers 200.
    pub fn rest_get(&self, node: u16, path: &str) -> Option<Value> {
        let addr = format!("127.0.0.1:{}", self.base + 10 * node + 4);
        let mut s =
            std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2))
                .ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        let (head, json) = body.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return None;
        }
        serde_json::from_str(json).ok()
    }

    /// Node `node`'s latest block height, if it answers.
    pub fn height(&self, node: u16) -> Option<u64> {
        self.get(node, "/status")?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// Waits until node `node` is at `height` or above.
    pub fn wait_height(&self, node: u16, height: u64, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if self.height(node).is_some_and(|h| h >= height) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {node} did not reach height {height} in {secs} s (at {:?})",
                self.height(node)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The app hash in block `height`'s header, as node `node` has it.
    pub fn header_app_hash(&self, node: u16, height: u64) -> String {
        self.get(node, &format!("/block?height={height}")).unwrap()["block"]["header"]["app_hash"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Every node in `nodes` has the same header app hash at every height
    /// from `from` to the lowest height they all have.
    pub fn assert_agree(&self, nodes: &[u16], from: u64) {
        let top = nodes
            .iter()
            .map(|&n| self.height(n).unwrap())
            .min()
            .unwrap();
        for h in from..=top {
            let hashes: Vec<String> = nodes.iter().map(|&n| self.header_app_hash(n, h)).collect();
            assert!(
                hashes.iter().all(|x| x == &hashes[0]),
                "app hashes differ at height {h}: {hashes:?}"
            );
        }
    }

    /// The mnemonic of dev key `devI` (for clients with their own wallets).
    pub fn dev_mnemonic(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.keys.join(format!("dev{i}.txt"))).unwrap();
        text.lines()
            .find(|l| l.split_whitespace().count() >= 12)
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // What each node said last, for the failing test's log.
            for log in ["deaid.log", "cometbft.log"] {
                for node in 0..8 {
                    let path = self.dir.path().join(format!("node{node}/{log}"));
                    if let Ok(s) = std::fs::read_to_string(&path) {
                        let lines: Vec<&str> = s.lines().collect();
                        let tail = lines[lines.len().saturating_sub(10)..].join("\n");
                        eprintln!("---- {} ----\n{tail}", path.display());
                    }
                }
            }
        }
        let _ = self.script(&["down"]);
    }
}
