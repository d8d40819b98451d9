//! `deai-compute start` end to end against a `deaid devnet` with short
//! compute windows: provider daemons register, run assigned gemm-i8 jobs,
//! commit and reveal, and get paid; a daemon started with
//! `--corrupt-results` is outvoted and slashed; a daemon killed after its
//! commitment and restarted reveals from its saved state without committing
//! twice.
//!
//! Needs the `deaid` binary: `cargo build -p deaid` (found beside this test's
//! target directory, or at `$DEAID_BIN`). Without it the test is skipped with
//! a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    io::{BufRead, Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use cosmos_sdk_proto::Any;
use deai_app::{
    client::NodeClient,
    keys_cli,
    txbuilder::{sign_tx, TxParams},
};
use deai_compute::{
    gemm_i8_reference, random_i8_matrix, result_hash,
    workload::{canonical_bytes, sha3_256, GemmI8Input},
};
use deai_compute_module::query::{JOB_PATH, PROVIDER_PATH};
use deai_keys::Backend;
use deai_proto::compute::v1 as pb;
use deai_types::Coin;
use prost::Message;
use serde_json::{json, Value};

const COMPUTE: &str = env!("CARGO_BIN_EXE_deai-compute");
const PRICE: u128 = 50_000;
const REWARD_PER_UNIT: u128 = 1_000;
const BOND: u128 = 1_000_000;
const FEE: u128 = 2_000;

fn deaid_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DEAID_BIN") {
        return Some(PathBuf::from(p));
    }
    // This test runs from <target>/debug/deps/; deaid sits in <target>/debug/.
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("deaid");
    p.exists().then_some(p)
}

struct Net {
    deaid: PathBuf,
    home: PathBuf,
    url: String,
    child: Child,
    rt: tokio::runtime::Runtime,
    client: NodeClient,
}

impl Drop for Net {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

impl Net {
    fn deaid(&self, args: &[&str]) -> String {
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

    fn address(&self, key: &str) -> String {
        self.deaid(&["keys", "show", key, "--address"])
            .trim()
            .to_string()
    }

    fn query<M: Message + Default>(&self, path: &str, req: impl Message) -> M {
        let bytes = self
            .rt
            .block_on(self.client.query(path, req.encode_to_vec()))
            .unwrap();
        M::decode(bytes.as_slice()).unwrap()
    }

    fn job(&self, id: u64) -> pb::Job {
        let r: pb::QueryJobResponse = self.query(JOB_PATH, pb::QueryJobRequest { job_id: id });
        r.job.unwrap()
    }

    fn provider(&self, addr: &str) -> Option<pb::Provider> {
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

    fn balance(&self, addr: &str) -> u128 {
        self.rt
            .block_on(self.client.balances(addr))
            .unwrap()
            .iter()
            .find(|c| c.denom == "udeai")
            .map_or(0, |c| c.amount.parse().unwrap())
    }

    fn sequence(&self, addr: &str) -> u64 {
        self.rt
            .block_on(self.client.account(addr))
            .unwrap()
            .map_or(0, |a| a.sequence)
    }

    /// Signs and sends a gemm-i8 job from `from`; returns its id.
    fn submit_gemm(&self, from: &str, input: &[u8], replication: u32) -> u64 {
        let kr = keys_cli::open(&self.home, Backend::Test, None).unwrap();
        let key = keys_cli::signer(&kr, from).unwrap();
        let requester = key.address().to_bech32();
        let msg = Any {
            type_url: deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL.into(),
            value: pb::MsgSubmitJob {
                requester: requester.clone(),
                kind: "gemm-i8".into(),
                model_id: String::new(),
                input: input.to_vec(),
                input_hash: sha3_256(input).to_vec(),
                replication,
                price_per_replica: PRICE.to_string(),
            }
            .encode_to_vec(),
        };
        self.rt.block_on(async {
            let (chain_id, _) = self.client.status().await.unwrap();
            let acc = self.client.account(&requester).await.unwrap().unwrap();
            let tx = sign_tx(
                &key,
                vec![msg],
                &TxParams {
                    chain_id,
                    account_number: acc.account_number,
                    sequence: acc.sequence,
                    fee: Some(Coin::new(FEE, "udeai")),
                    gas_limit: 200_000,
                    memo: String::new(),
                },
            );
            let hash = deai_app::tx::tx_hash(&tx);
            let (code, log) = self.client.broadcast_sync(tx).await.unwrap();
            assert_eq!(code, 0, "submit refused: {log}");
            let r = self
                .client
                .wait_for_tx_result(hash, Duration::from_secs(20))
                .await
                .unwrap();
            assert_eq!(r.tx_result.code.value(), 0, "{}", r.tx_result.log);
            r.tx_result
                .events
                .iter()
                .filter(|e| e.kind == "compute_job_submitted")
                .flat_map(|e| &e.attributes)
                .find(|a| a.key_bytes() == b"job_id")
                .and_then(|a| a.value_str().ok()?.parse().ok())
                .expect("a job_id attribute")
        })
    }

    /// Waits until job `id` has settled.
    fn settled(&self, id: u64, timeout: Duration) -> pb::Job {
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

fn wait<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn start_net(deaid: PathBuf, dir: &Path) -> Net {
    let home = dir.join("chain");
    let init = Command::new(&deaid)
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
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();

    let mut child = Command::new(&deaid)
        .arg("--home")
        .arg(&home)
        .args([
            "devnet",
            "--block-time",
            "200ms",
            "--rpc-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("devnet printed its RPC address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("JSON-RPC on ") {
            break addr.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = NodeClient::new(&url).unwrap();
    Net {
        deaid,
        home,
        url,
        child,
        rt,
        client,
    }
}

/// A running `deai-compute start`; killed on drop.
struct Daemon {
    key: String,
    args: Vec<String>,
    log: PathBuf,
    metrics: String,
    child: Option<Child>,
}

impl Daemon {
    fn start(net: &Net, dir: &Path, key: &str, extra: &[&str]) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metrics = format!("127.0.0.1:{port}");
        let mut args: Vec<String> = [
            "start",
            "--node",
            &net.url,
            "--from",
            key,
            "--home",
            net.home.to_str().unwrap(),
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
        let mut d = Daemon {
            key: key.to_string(),
            args,
            log: dir.join(format!("{key}.log")),
            metrics,
            child: None,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        self.child = Some(
            Command::new(COMPUTE)
                .args(&self.args)
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let status = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(status.success());
    }

    /// One counter from the daemon's metrics endpoint.
    fn metric(&self, name: &str) -> f64 {
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
    fn wait_metric(&self, name: &str, want: f64) {
        wait(
            Duration::from_secs(20),
            &format!("{} {name} = {want}", self.key),
            || (self.metric(name) == want).then_some(()),
        );
    }

    fn tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
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

/// The expected output bytes of A × B.
fn expected(a: &deai_compute::Matrix<i8>, b: &deai_compute::Matrix<i8>) -> Vec<u8> {
    let input = GemmI8Input::encode(a, b).unwrap();
    let bt = GemmI8Input::decode(&input).unwrap().b_transposed().unwrap();
    let c = gemm_i8_reference(a, &bt).unwrap();
    let bytes = canonical_bytes(&c);
    assert_eq!(sha3_256(&bytes), result_hash(&c));
    bytes
}

#[test]
fn provider_daemons_earn_on_agreeing_results_the_corrupt_one_is_slashed_and_a_restart_resumes() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let net = start_net(deaid, dir.path());
    let keys = ["p0", "p1", "p2", "p3"];
    let mut addrs = Vec::new();
    for k in keys {
        net.deaid(&["keys", "add", k]);
        let addr = net.address(k);
        net.deaid(&[
            "tx",
            "bank",
            "send",
            "dev0",
            &addr,
            "20000000udeai",
            "--yes",
        ]);
        addrs.push(addr);
    }

    // Three honest providers: all three are assigned a job with R = 3.
    let mut d: Vec<Daemon> = keys[..3]
        .iter()
        .map(|k| Daemon::start(&net, dir.path(), k, &[]))
        .collect();
    for a in &addrs[..3] {
        wait(Duration::from_secs(60), "registration", || net.provider(a));
    }
    let before: Vec<u128> = addrs.iter().map(|a| net.balance(a)).collect();
    let (a1, b1) = (random_i8_matrix(4, 8, 1), random_i8_matrix(8, 5, 2));
    let out1 = expected(&a1, &b1);
    let job1 = net.submit_gemm("dev1", &GemmI8Input::encode(&a1, &b1).unwrap(), 3);
    let j = net.settled(job1, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out1).to_vec());
    let r: pb::QueryResultResponse = net.query(
        deai_compute_module::query::RESULT_PATH,
        pb::QueryResultRequest { job_id: job1 },
    );
    assert_eq!(r.output, out1, "the result query returns A x B");
    let earned = PRICE + REWARD_PER_UNIT * u128::from(j.work_units);
    for (i, daemon) in d.iter().enumerate() {
        daemon.wait_metric("jobs_done_total", 1.0);
        daemon.wait_metric("rewards_earned_udeai", earned as f64);
        assert_eq!(daemon.metric("job_failures_total"), 0.0);
        assert!(daemon.metric("kernel_seconds_total") > 0.0);
        // Paid the price and the emission, less two fees (commit and reveal).
        assert_eq!(
            net.balance(&addrs[i]),
            before[i] + earned - 2 * FEE,
            "{}",
            keys[i]
        );
    }

    // A fourth provider corrupts its results: with R = 4 the three honest
    // ones are the majority and the corrupt one is slashed to the treasury.
    d.push(Daemon::start(
        &net,
        dir.path(),
        "p3",
        &["--corrupt-results"],
    ));
    wait(Duration::from_secs(60), "registration", || {
        net.provider(&addrs[3])
    });
    let treasury = deai_compute_module::treasury_address().to_bech32();
    let treasury_before = net.balance(&treasury);
    let (a2, b2) = (random_i8_matrix(6, 3, 3), random_i8_matrix(3, 7, 4));
    let out2 = expected(&a2, &b2);
    let job2 = net.submit_gemm("dev1", &GemmI8Input::encode(&a2, &b2).unwrap(), 4);
    let j = net.settled(job2, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out2).to_vec());
    assert_eq!(j.output, out2);
    let slashed = net.provider(&addrs[3]).unwrap();
    let bond: u128 = slashed.bond.parse().unwrap();
    assert!(
        bond < BOND,
        "the corrupt provider's bond {bond} was not slashed"
    );
    assert!(
        net.balance(&treasury) >= treasury_before + (BOND - bond),
        "the slash went to the treasury"
    );
    d[3].wait_metric("job_failures_total", 1.0);
    assert_eq!(d[3].metric("jobs_done_total"), 0.0);
    for daemon in &d[..3] {
        daemon.wait_metric("jobs_done_total", 2.0);
    }

    // Persistence: p1 is paused so the reveal phase cannot open; p0 is
    // killed once its commitment is on chain and restarted; it must reveal
    // from its saved salt without committing again. The slashed p3 is below
    // the minimum bond now, so R = 3 draws p0, p1 and p2.
    d[1].signal("-STOP");
    let seq0 = net.sequence(&addrs[0]);
    let (a3, b3) = (random_i8_matrix(5, 5, 5), random_i8_matrix(5, 5, 6));
    let out3 = expected(&a3, &b3);
    let job3 = net.submit_gemm("dev1", &GemmI8Input::encode(&a3, &b3).unwrap(), 3);
    wait(Duration::from_secs(30), "p0's commitment", || {
        let j = net.job(job3);
        j.assignments
            .iter()
            .any(|a| a.provider == addrs[0] && !a.commitment.is_empty())
            .then_some(())
    });
    d[0].kill();
    let state = std::fs::read_to_string(
        net.home
            .join("compute-node")
            .join(format!("{}.json", addrs[0])),
    )
    .unwrap();
    assert!(state.contains("\"salt\""), "the salt is saved: {state}");
    d[0].spawn();
    std::thread::sleep(Duration::from_secs(2));
    d[1].signal("-CONT");
    let j = net.settled(job3, Duration::from_secs(60));
    assert_eq!(j.status, pb::JobStatus::Finalized as i32, "{j:?}");
    assert_eq!(j.result_hash, sha3_256(&out3).to_vec());
    let p0 = j
        .assignments
        .iter()
        .find(|a| a.provider == addrs[0])
        .unwrap();
    assert_eq!(p0.result_hash, j.result_hash, "the restarted p0 revealed");
    assert_eq!(
        net.sequence(&addrs[0]),
        seq0 + 2,
        "p0 sent exactly one commit and one reveal"
    );
    d[0].wait_metric("jobs_done_total", 1.0);
    let log = std::fs::read_to_string(&d[0].log).unwrap();
    assert!(
        log.contains("websocket unavailable") || log.contains("over the websocket"),
        "the daemon says how it follows blocks"
    );
    assert!(
        log.contains("running kernels on"),
        "the daemon says where kernels run"
    );
}
