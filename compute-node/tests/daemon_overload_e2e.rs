//! Honest overload costs a provider no slash (issue 15), on a devnet with a one-second
//! commit window, a three-second reveal window and one daemon on the single-threaded
//! reference backend:
//! - a job it cannot run within its commit window is not committed: an embed batch of
//!   256-token texts, sent through `deai-compute gateway`, takes the daemon longer than
//!   that. The daemon sends no commit (its account's sequence does not move) and is
//!   neither slashed nor jailed, since nobody revealed; the gateway answers 504
//!   `no_quorum` saying the escrow was refunded, and the paying account is out only the
//!   submission's fee;
//! - a job it has committed is revealed while a long run goes on: a small gemm-i8 job and
//!   a long embed batch assigned in one block run as two groups, the small job first; its
//!   reveal window opens and closes while the embed batch is still running, and the daemon
//!   reveals it in time (reveals never wait for the kernels).
//!
//! Needs `deaid` and the model at `DEAI_MINILM_DIR`, like daemon_embed_e2e.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;
mod gateway;

use std::time::Duration;

use deai_compute::{
    model::{ModelFiles, SentenceModel},
    random_i8_matrix,
    workload::{encode_embed_input, GemmI8Input},
};
use deai_proto::compute::v1 as pb;
use devnet::{deaid_bin, model_dir, start_net_with, wait, Daemon, BOND};
use gateway::{api_key_hash, Gateway};
use serde_json::json;

#[test]
fn an_overloaded_daemon_neither_commits_late_nor_misses_a_reveal_and_is_never_slashed() {
    let Some(deaid) = deaid_bin() else {
        eprintln!("SKIPPED: build deaid first (`cargo build -p deaid`) or set DEAID_BIN");
        return;
    };
    let Some(models) = model_dir() else { return };
    let model = SentenceModel::load(&models).unwrap();
    let model_id = hex::encode(model.id());
    let size = std::fs::metadata(ModelFiles::locate(&models).unwrap().weights)
        .unwrap()
        .len();
    let dir = tempfile::tempdir().unwrap();
    let net = start_net_with(deaid, dir.path(), |genesis| {
        let params = &mut genesis["app_state"]["compute"]["params"];
        // Five 200 ms blocks to commit, fifteen to reveal: less than four 256-token texts
        // take.
        params["min_phase_window"] = json!(5);
        params["commit_window"] = json!(5);
        params["reveal_window"] = json!(15);
        genesis["app_state"]["compute"]["models"] = json!([{
            "id": model_id,
            "name": "all-MiniLM-L6-v2",
            "architecture": "bert",
            "quantization": "int8",
            "license": "apache-2.0",
            "size_bytes": size,
        }]);
    });
    let addr = net.funded_keys(&["p0"]).remove(0);
    // On the single-threaded reference: the CPU backend runs the batch within the window.
    let daemon = Daemon::start_with_env(
        &net,
        dir.path(),
        "p0",
        &["--models", models.to_str().unwrap()],
        &[("DEAI_BACKEND", "reference")],
    );
    wait(Duration::from_secs(90), "registration", || {
        net.provider(&addr)
    });
    // Loaded and registered: whatever the daemon sends from here on is about the job.
    wait(Duration::from_secs(60), "the model to load", || {
        std::fs::read_to_string(&daemon.log)
            .unwrap()
            .contains("model loaded and quantized")
            .then_some(())
    });
    let sequence = net.sequence(&addr);
    let key = "k".repeat(40);
    let config = json!({
        "replication": 1,
        "timeout_secs": 120,
        "keys": [{"name": "k", "api_key_sha256": api_key_hash(&key), "from": "dev1", "daily_limit_udeai": "1000000000"}],
    });
    let gw = Gateway::start(&net.url, &net.home, dir.path(), &config, &models);
    let long = "the quick brown fox jumps over the lazy dog ".repeat(40);
    let payer = net.address("dev1");
    let fees_before = net.fees_paid(&payer);
    let before = net.balance(&payer);
    let (status, body) = gw.post(
        "/v1/embeddings",
        &key,
        &json!({"model": "all-MiniLM-L6-v2", "input": [&long, &long, &long, &long]}),
    );
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "no_quorum", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("refunded"), "{message}");
    let id: u64 = message
        .strip_prefix("job ")
        .and_then(|m| m.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no job id in {message}"));
    let job = net.settled(id, Duration::from_secs(120));
    assert_ne!(job.status, pb::JobStatus::Finalized as i32, "{job:?}");
    assert!(job.assignments[0].commitment.is_empty(), "no commitment");
    // The job may settle before the run ends; the daemon then gives up on it.
    wait(
        Duration::from_secs(120),
        "the daemon to give up on the job",
        || {
            let log = std::fs::read_to_string(&daemon.log).unwrap();
            (log.contains("finished after the commit deadline: not committing")
                || log.contains("assigned, but the commit deadline has passed"))
            .then_some(())
        },
    );
    let log = std::fs::read_to_string(&daemon.log).unwrap();
    for l in log.lines().filter(|l| l.contains("commit deadline")) {
        eprintln!("daemon: {l}");
    }
    // A block or two for anything it might still send.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        net.sequence(&addr),
        sequence,
        "the daemon sent no tx for the job"
    );
    let p = net.provider(&addr).unwrap();
    assert_eq!(p.bond, BOND.to_string(), "not slashed");
    assert_eq!(p.jailed_until, 0, "not jailed");
    // The payer got the escrow back: it paid the submission's fee only.
    let fee = net.fees_paid(&payer) - fees_before;
    assert!(fee > 0);
    assert_eq!(before - net.balance(&payer), fee);

    // A small job committed before a long run is revealed during it: both assigned in one
    // block, the gemm-i8 job runs first in a group of its own and is committed, then four
    // 256-token texts run on the reference backend (5–11 s measured, against the small
    // job's four-second commit and reveal windows). Before reveals were sent while the
    // kernels ran, the reveal waited for the run: the small job expired unrevealed (a
    // slash), and in any case its reveal came after the long run's end in the log.
    let gemm = GemmI8Input::encode(&random_i8_matrix(2, 8, 1), &random_i8_matrix(8, 3, 2)).unwrap();
    let batch = encode_embed_input(&[long.as_str(); 4]).unwrap();
    let ids = net.submit_many(
        "dev1",
        &[("gemm-i8", "", &gemm), ("embed", &model_id, &batch)],
        1,
    );
    let small = net.settled(ids[0], Duration::from_secs(120));
    assert_eq!(
        small.status,
        pb::JobStatus::Finalized as i32,
        "the small job was revealed while the long one ran: {small:?}"
    );
    assert_eq!(small.assignments[0].result_hash, small.result_hash);
    let long_job = net.settled(ids[1], Duration::from_secs(120));
    assert_ne!(long_job.status, pb::JobStatus::Finalized as i32);
    // The long run ends after the small job has settled, not before.
    wait(Duration::from_secs(180), "the long run to end", || {
        let log = std::fs::read_to_string(&daemon.log).unwrap();
        log.lines()
            .any(|l| {
                l.contains(&format!("job={} ", ids[1]))
                    && l.contains("finished after the commit deadline")
            })
            .then_some(())
    });
    let log = std::fs::read_to_string(&daemon.log).unwrap();
    let line = |what: &str, id: u64| {
        log.lines()
            .position(|l| l.contains(what) && l.contains(&format!("job={id} ")))
            .unwrap_or_else(|| panic!("no `{what}` line for job {id} in the daemon's log"))
    };
    assert!(
        line("revealed", ids[0]) < line("finished after the commit deadline", ids[1]),
        "the reveal was sent while the long run went on"
    );
    let p = net.provider(&addr).unwrap();
    assert_eq!(p.bond, BOND.to_string(), "not slashed");
    assert_eq!(p.jailed_until, 0, "not jailed");
}
