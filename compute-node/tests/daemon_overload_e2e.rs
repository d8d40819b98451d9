//! A provider that cannot run a job within its commit window does not commit it (issue 15):
//! a devnet with one-second commit and reveal windows, one daemon, and an embed batch of
//! 256-token texts, sent through `deai-compute gateway`, that takes the daemon (on the
//! single-threaded reference backend) longer than that. The daemon sends no commit (its account's sequence does not move) and is neither
//! slashed nor jailed, since nobody revealed; the gateway answers 504 `no_quorum` saying
//! the escrow was refunded, and the paying account is out only the submission's fee.
//!
//! Needs `deaid` and the model at `DEAI_MINILM_DIR`, like daemon_embed_e2e.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod devnet;
mod gateway;

use std::time::Duration;

use deai_compute::model::{ModelFiles, SentenceModel};
use deai_proto::compute::v1 as pb;
use devnet::{deaid_bin, model_dir, start_net_with, wait, Daemon, BOND};
use gateway::{api_key_hash, Gateway};
use serde_json::json;

#[test]
fn a_job_the_daemon_cannot_run_before_its_commit_deadline_is_not_committed_and_costs_no_slash() {
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
        // Five 200 ms blocks a phase: far less than four 256-token texts take.
        params["min_phase_window"] = json!(5);
        params["commit_window"] = json!(5);
        params["reveal_window"] = json!(5);
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
}
