//! Shared by the daemon end-to-end tests: a `deaid devnet` with short compute windows
//! (its genesis editable before it starts), queries and job submission against it, and
//! `deai-compute start` daemons with their logs and metrics.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use cosmos_sdk_proto::Any;
use deai_client::{keyring, Gas, NodeClient, SendError, TxParams};
use deai_compute::workload::sha3_256;
use deai_compute_module::query::{JOB_PATH, PROVIDER_PATH};
use deai_keys::Backend;
use deai_proto::compute::v1 as pb;
use deai_types::Coin;
use prost::Message;
use serde_json::{json, Value};

pub const COMPUTE: &str = env!("CARGO_BIN_EXE_deai-compute");
pub const PRICE: u128 = 50_000;
pub const REWARD_PER_UNIT: u128 = 1_000;
pub const BOND: u128 = 1_000_000;
pub const FEE: u128 = 2_000;

/// Work units of a gemm-i8 input, by the chain's own rule (one per 2^20 multiply-adds,
/// at least one).
pub fn gemm_work_units(input: &[u8]) -> u64 {
    deai_compute_module::input::GemmI8Shape::parse(input)
        .unwrap()
        .work_units()
}

/// What each provider in the agreeing majority of a job finalized on a real result is
/// paid at [`PRICE`]: the price from escrow, plus `REWARD_PER_UNIT × work units` (at most
/// the price) minted only when `R ≥ 3`, where agreement takes at least two providers.
/// The devnet's epoch mint cap is far above what these tests mint.
pub fn paid(replication: u32, work_units: u64) -> u128 {
    let minted = if replication >= 3 {
        (REWARD_PER_UNIT * u128::from(work_units)).min(PRICE)
    } else {
        0
    };
    PRICE + minted
}

/// What a wrong result costs a provider bonded with [`BOND`].
pub fn wrong_slash() -> u128 {
    deai_compute_module::params::apply_ppm(
        BOND,
        deai_compute_module::ComputeParams::default().slash_fraction_wrong_ppm,
    )
}

/// The `deaid` binary: `$DEAID_BIN`, else beside this test's target directory. `None`
/// lets a test skip; with `DEAI_REQUIRE_DEAID=1` (as `scripts/test.sh` sets) a missing
/// binary fails it instead.
pub fn deaid_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEAID_BIN") {
        return Some(PathBuf::from(p));
    }
    // This test runs from <target>/debug/deps/; deaid sits in <target>/debug/.
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("deaid");
    let found = p.exists().then_some(p);
    assert!(
        found.is_some() || std::env::var("DEAI_REQUIRE_DEAID").as_deref() != Ok("1"),
        "DEAI_REQUIRE_DEAID=1 but there is no deaid binary beside {}",
        exe.display()
    );
    found
}

/// A node's RPC (a devnet's, or a CometBFT validator's), with the `deaid` binary and the
/// keyring home the tests sign with.
pub struct Rpc {
    pub deaid: PathBuf,
    pub home: PathBuf,
    pub url: String,
    pub rt: tokio::runtime::Runtime,
    pub client: NodeClient,
}

/// A running `deaid devnet` and its RPC; killed on drop.
pub struct Net {
    pub rpc: Rpc,
    pub child: Child,
}

impl std::ops::Deref for Net {
    type Target = Rpc;
    fn deref(&self) -> &Rpc {
        &self.rpc
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

impl Rpc {
    /// The RPC at `url`, signing with the keyring under `home`.
    pub fn new(deaid: PathBuf, home: PathBuf, url: &str) -> Rpc {
        // A worker thread keeps polling the pooled HTTP connections between calls, so
        // one the node closes while idle (CometBFT does after its 10 s read timeout)
        // leaves the pool instead of failing the next request.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Rpc {
            deaid,
            home,
            url: url.to_string(),
            rt,
            client: NodeClient::new(url).unwrap(),
        }
    }

    pub fn deaid(&self, args: &[&str]) -> String {
        ok(&Command::new(&self.deaid)
            .arg("--home")
            .arg(&self.home)
            .args(args)
            .env("RUST_LOG", "warn")
            .env("DEAI_NODE", &self.url)
            .env("DEAI_KEYRING_BACKEND", "test")
            .output()
            .unwrap())
    }

    /// Creates test-keyring keys `keys`, funds each from dev0 with 20 DEAI and
    /// returns their addresses, in order.
    pub fn funded_keys(&self, keys: &[&str]) -> Vec<String> {
        keys.iter()
            .map(|k| {
                self.deaid(&["keys", "add", k]);
                let addr = self.address(k);
                self.fund(&addr);
                addr
            })
            .collect()
    }

    /// Sends `addr` 20 DEAI from dev0 and waits for the tx's block.
    pub fn fund(&self, addr: &str) {
        self.deaid(&["tx", "bank", "send", "dev0", addr, "20000000udeai", "--yes"]);
    }

    pub fn address(&self, key: &str) -> String {
        self.deaid(&["keys", "show", key, "--address"])
            .trim()
            .to_string()
    }

    pub fn query<M: Message + Default>(&self, path: &str, req: impl Message) -> M {
        let bytes = self
            .rt
            .block_on(self.client.query(path, req.encode_to_vec()))
            .unwrap();
        M::decode(bytes.as_slice()).unwrap()
    }

    pub fn job(&self, id: u64) -> pb::Job {
        let r: pb::QueryJobResponse = self.query(JOB_PATH, pb::QueryJobRequest { job_id: id });
        r.job.unwrap()
    }

    pub fn provider(&self, addr: &str) -> Option<pb::Provider> {
        let req = pb::QueryProviderRequest {
            address: addr.to_string(),
        };
        self.rt
            .block_on(self.client.query(PROVIDER_PATH, req.encode_to_vec()))
            .ok()
            .and_then(|b| {
                pb::QueryProviderResponse::decode(b.as_slice())
                    .unwrap()
                    .provider
            })
    }

    pub fn balance(&self, addr: &str) -> u128 {
        self.rt
            .block_on(self.client.balances(addr))
            .unwrap()
            .iter()
            .find(|c| c.denom == "udeai")
            .map_or(0, |c| c.amount.parse().unwrap())
    }

    pub fn sequence(&self, addr: &str) -> u64 {
        self.rt
            .block_on(self.client.account(addr))
            .unwrap()
            .map_or(0, |a| a.sequence)
    }

    /// The udeai fees `addr` has paid, summed over every tx it paid for (the
    /// `tx.fee` attribute of each tx whose `tx.fee_payer` is `addr`).
    pub fn fees_paid(&self, addr: &str) -> u128 {
        let query: tendermint_rpc::query::Query = format!("tx.fee_payer='{addr}'").parse().unwrap();
        let mut total = 0;
        let mut page = 1;
        loop {
            let r = self
                .rt
                .block_on(tendermint_rpc::Client::tx_search(
                    self.client.rpc(),
                    query.clone(),
                    false,
                    page,
                    100,
                    tendermint_rpc::Order::Ascending,
                ))
                .unwrap();
            for tx in &r.txs {
                let fee = tx
                    .tx_result
                    .events
                    .iter()
                    .filter(|e| e.kind == "tx")
                    .flat_map(|e| &e.attributes)
                    .find(|a| a.key_bytes() == b"fee")
                    .and_then(|a| a.value_str().ok())
                    .expect("every tx has a fee attribute");
                total += fee.strip_suffix("udeai").unwrap().parse::<u128>().unwrap();
            }
            if page * 100 >= r.total_count {
                return total;
            }
            page += 1;
        }
    }

    /// After the second job of a four-daemon run (R = 4, daemon 3 corrupt):
    /// daemons 0–2 have done two jobs, earned `earned_total` by their metric,
    /// and gained `pay` less their fees since `before` (balances, fees paid);
    /// daemon 3 gained nothing and only paid fees.
    pub fn assert_honest_paid_and_corrupt_not(
        &self,
        d: &[Daemon],
        keys: &[&str],
        addrs: &[String],
        (before, fees_before): (&[u128], &[u128]),
        pay: u128,
        earned_total: u128,
    ) {
        for (i, daemon) in d.iter().enumerate() {
            let fees = self.fees_paid(&addrs[i]) - fees_before[i];
            assert!(fees > 0, "{} paid fees", keys[i]);
            let pay = if i < 3 {
                daemon.wait_metric("jobs_done_total", 2.0);
                daemon.wait_metric("rewards_earned_udeai", earned_total as f64);
                pay
            } else {
                0
            };
            assert_eq!(
                self.balance(&addrs[i]),
                before[i] + pay - fees,
                "{}",
                keys[i]
            );
        }
    }

    /// Signs and sends a gemm-i8 job from `from`; returns its id.
    pub fn submit_gemm(&self, from: &str, input: &[u8], replication: u32) -> u64 {
        self.submit(from, "gemm-i8", "", input, replication)
    }

    /// Signs and sends a job of `kind` on model `model_id` (empty for none) from `from`
    /// at [`PRICE`] per replica; returns its id.
    pub fn submit(
        &self,
        from: &str,
        kind: &str,
        model_id: &str,
        input: &[u8],
        replication: u32,
    ) -> u64 {
        self.try_submit(from, kind, model_id, input, replication, PRICE)
            .unwrap_or_else(|log| panic!("submit refused: {log}"))
    }

    /// Like [`Net::submit`] at `price` per replica; `Err` with the log when the chain
    /// refuses the job (at CheckTx or in its block).
    pub fn try_submit(
        &self,
        from: &str,
        kind: &str,
        model_id: &str,
        input: &[u8],
        replication: u32,
        price: u128,
    ) -> Result<u64, String> {
        let ids = self.try_submit_many(from, &[(kind, model_id, input)], replication, price)?;
        Ok(ids[0])
    }

    /// Signs and sends the jobs `(kind, model_id, input)` as the messages of one tx from
    /// `from` (so they are assigned in the same block), each with `replication` replicas
    /// at [`PRICE`]; returns their ids in order.
    pub fn submit_many(
        &self,
        from: &str,
        jobs: &[(&str, &str, &[u8])],
        replication: u32,
    ) -> Vec<u64> {
        self.try_submit_many(from, jobs, replication, PRICE)
            .unwrap_or_else(|log| panic!("submit refused: {log}"))
    }

    fn try_submit_many(
        &self,
        from: &str,
        jobs: &[(&str, &str, &[u8])],
        replication: u32,
        price: u128,
    ) -> Result<Vec<u64>, String> {
        let kr = keyring::open(&self.home, Backend::Test, None).unwrap();
        let key = keyring::signer(&kr, from).unwrap();
        let requester = key.address().to_bech32();
        let msgs = jobs
            .iter()
            .map(|&(kind, model_id, input)| Any {
                type_url: deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL.into(),
                value: pb::MsgSubmitJob {
                    requester: requester.clone(),
                    kind: kind.into(),
                    model_id: model_id.into(),
                    input: input.to_vec(),
                    input_hash: sha3_256(input).to_vec(),
                    replication,
                    price_per_replica: price.to_string(),
                    deadline: 0,
                }
                .encode_to_vec(),
            })
            .collect();
        // 200,000 gas a job, more for a large input (the chain charges per byte), and the
        // fee that much gas needs at the devnet's minimum price (0.01 udeai a unit).
        let gas: u64 = jobs
            .iter()
            .map(|&(_, _, input)| (100_000 + 50 * input.len() as u64).max(200_000))
            .sum();
        let fee = (FEE * jobs.len() as u128).max(u128::from(gas).div_ceil(100));
        self.rt.block_on(async {
            let (chain_id, _) = self.client.status().await.unwrap();
            let acc = self.client.account(&requester).await.unwrap().unwrap();
            let params = TxParams {
                chain_id,
                account_number: acc.account_number,
                sequence: acc.sequence,
                fee: Some(Coin::new(fee, "udeai")),
                gas_limit: 0,
                memo: String::new(),
            };
            let landed = match self
                .client
                .sign_and_send(&key, msgs, params, Gas::Fixed(gas), Duration::from_secs(20))
                .await
            {
                Ok(l) => l,
                Err(SendError::Refused { log, .. }) => return Err(log),
                Err(e) => panic!("{e}"),
            };
            if landed.code != 0 {
                return Err(landed.log);
            }
            let ids: Vec<u64> = landed
                .events
                .iter()
                .filter(|e| e.kind == "compute_job_submitted")
                .flat_map(|e| &e.attributes)
                .filter(|a| a.key_bytes() == b"job_id")
                .filter_map(|a| a.value_str().ok()?.parse().ok())
                .collect();
            assert_eq!(ids.len(), jobs.len(), "a job_id attribute per job");
            Ok(ids)
        })
    }

    /// Waits until job `id` has settled.
    pub fn settled(&self, id: u64, timeout: Duration) -> pb::Job {
        wait(timeout, &format!("job {id} to settle"), || {
            let j = self.job(id);
            let open = [
                pb::JobStatus::Pending as i32,
                pb::JobStatus::Assigned as i32,
            ];
            (!open.contains(&j.status)).then_some(j)
        })
    }
}

pub fn wait<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Starts a devnet with short compute windows and a small minimum bond.
pub fn start_net(deaid: PathBuf, dir: &Path) -> Net {
    start_net_with(deaid, dir, |_| {})
}

/// Starts a devnet like [`start_net`], letting `edit` change the genesis file first.
pub fn start_net_with(deaid: PathBuf, dir: &Path, edit: impl FnOnce(&mut Value)) -> Net {
    init_net(&deaid, dir, edit);
    Net::spawn(deaid, dir.join("chain"), "127.0.0.1:0")
}

/// Writes the genesis of a devnet in `<dir>/chain` with short compute windows and a small
/// minimum bond, letting `edit` change it.
pub fn init_net(deaid: &Path, dir: &Path, edit: impl FnOnce(&mut Value)) {
    let home = dir.join("chain");
    let init = Command::new(deaid)
        .arg("--home")
        .arg(&home)
        .args(["devnet", "--init-only"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    ok(&init);
    // Short windows and a small minimum bond, so a job settles in seconds.
    let genesis_path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).unwrap()).unwrap();
    let mut params = serde_json::to_value(deai_compute_module::ComputeParams::default()).unwrap();
    let amount = |old: &Value, v: u128| match old {
        Value::String(_) => json!(v.to_string()),
        _ => json!(v),
    };
    params["min_provider_bond"] = amount(&params["min_provider_bond"], BOND);
    params["reward_per_work_unit"] = amount(&params["reward_per_work_unit"], REWARD_PER_UNIT);
    params["commit_window"] = json!(40);
    params["reveal_window"] = json!(25);
    genesis["app_state"]["compute"]["params"] = params;
    edit(&mut genesis);
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();
}

impl Net {
    /// Runs the devnet at `home` (initialised already) with 200 ms blocks, its RPC on
    /// `listen`; waits for it to print the RPC address.
    pub fn spawn(deaid: PathBuf, home: PathBuf, listen: &str) -> Net {
        let (child, url) = deai_tests::spawn_devnet(&deaid, &home, "200ms", listen);
        Net {
            rpc: Rpc::new(deaid, home, &url),
            child,
        }
    }
}

/// A running `deai-compute start`; killed on drop.
pub struct Daemon {
    pub key: String,
    pub args: Vec<String>,
    pub log: PathBuf,
    pub metrics: String,
    /// Environment the daemon runs with besides `RUST_LOG` (e.g. `DEAI_BACKEND`).
    pub env: Vec<(String, String)>,
    pub child: Option<Child>,
}

impl Daemon {
    pub fn start(net: &Rpc, dir: &Path, key: &str, extra: &[&str]) -> Daemon {
        Daemon::start_at(&net.url, &net.home, dir, key, extra)
    }

    /// [`Daemon::start`] with `env` set for the daemon's process.
    pub fn start_with_env(
        net: &Rpc,
        dir: &Path,
        key: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let mut d = Daemon::new_at(&net.url, &net.home, dir, key, extra);
        d.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d.spawn();
        d
    }

    /// A daemon for the node at `url` with its keyring and state under `home`.
    pub fn start_at(url: &str, home: &Path, dir: &Path, key: &str, extra: &[&str]) -> Daemon {
        let mut d = Daemon::new_at(url, home, dir, key, extra);
        d.spawn();
        d
    }

    /// [`Daemon::start_at`]'s daemon, not yet spawned.
    fn new_at(url: &str, home: &Path, dir: &Path, key: &str, extra: &[&str]) -> Daemon {
        let metrics = format!("127.0.0.1:{}", deai_tests::free_port());
        let mut args: Vec<String> = [
            "start",
            "--node",
            url,
            "--from",
            key,
            "--home",
            home.to_str().unwrap(),
            "--keyring-backend",
            "test",
            "--bond",
            &format!("{BOND}udeai"),
            "--metrics",
            &metrics,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        Daemon {
            key: key.to_string(),
            args,
            log: dir.join(format!("{key}.log")),
            metrics,
            env: Vec::new(),
            child: None,
        }
    }

    pub fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Some(
            Command::new(COMPUTE)
                .args(&self.args)
                .envs(self.env.iter().map(|(k, v)| (k, v)))
                // DEAI_DAEMON_LOG=debug shows every RPC request and response.
                .env(
                    "RUST_LOG",
                    std::env::var("DEAI_DAEMON_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success());
    }

    /// One counter from the daemon's metrics endpoint.
    pub fn metric(&self, name: &str) -> f64 {
        let mut s = std::net::TcpStream::connect(&self.metrics).unwrap();
        s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {body}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `name` reads `want`.
    pub fn wait_metric(&self, name: &str, want: f64) {
        wait(
            Duration::from_secs(20),
            &format!("{} {name} = {want}", self.key),
            || (self.metric(name) == want).then_some(()),
        );
    }

    /// The log's warnings and errors (with the line after each, where an
    /// error's cause is), then its last 40 lines.
    pub fn tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let mut out: Vec<&str> = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if l.contains("WARN") || l.contains("ERROR") || l.starts_with("Error") {
                out.extend(lines.iter().skip(i).take(3));
            }
        }
        out.push("---- last lines ----");
        // Short, so that every daemon's tail fits in a CI log excerpt.
        out.extend(&lines[lines.len().saturating_sub(15)..]);
        out.join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- {} log ----\n{}", self.key, self.tail());
        }
        self.kill();
    }
}

/// The all-MiniLM-L6-v2 directory at `DEAI_MINILM_DIR`, or `None` (skip, with the reason
/// printed) when absent; with `DEAI_REQUIRE_MODEL=1` an absent model fails the test.
pub fn model_dir() -> Option<PathBuf> {
    let required = std::env::var("DEAI_REQUIRE_MODEL").as_deref() == Ok("1");
    let skip = |why: String| {
        assert!(!required, "DEAI_REQUIRE_MODEL=1 but {why}");
        eprintln!("SKIPPED: {why}");
        None
    };
    let Some(dir) = std::env::var_os("DEAI_MINILM_DIR").map(PathBuf::from) else {
        return skip("DEAI_MINILM_DIR is not set (scripts/test.sh downloads the model)".into());
    };
    match deai_compute::model::ModelFiles::locate(&dir) {
        Ok(_) => Some(dir),
        Err(e) => skip(format!(
            "no model under DEAI_MINILM_DIR={} ({e})",
            dir.display()
        )),
    }
}
