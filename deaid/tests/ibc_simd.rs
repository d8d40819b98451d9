//! ICS-20 between DeAI and a counterparty written by others: ibc-go's own
//! `simd` (v8, built from Go modules by `scripts/install-ibc-tools.sh`),
//! each a real CometBFT node, relayed by Hermes. Hermes creates clients
//! (simd's client of DeAI carries DeAI's JMT proof specs), a connection and
//! a transfer channel — ibc-go verifies DeAI's two-layer proofs in every
//! handshake step and packet; udeai goes to simd and partly comes back
//! (escrowed and released on DeAI, minted and burned on simd), and simd's
//! `stake` comes to DeAI as a voucher with its denom trace.
//!
//! Skips without CometBFT, Hermes and simd unless `scripts/test.sh`'s
//! `DEAI_REQUIRE_COMETBFT=1` / `DEAI_REQUIRE_IBC_TOOLS=1` are set.

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use common::{ok, Cli, BIN};
use deai_tests::{
    hermes::{self, wait_for, ChainConfig, Hermes},
    localnet::{Localnet, ONE_AT_A_TIME},
};
use serde_json::Value;

const DEAI: &str = "deai-s-1";
const SIMD: &str = "simd-1";
const SIMD_BASE_PORT: &str = "29850";

/// The voucher denom of a trace path (ibc-go's hash).
fn voucher(trace: &str) -> String {
    format!("ibc/{}", deai_ibc::transfer::denom_hash(trace))
}

/// A simd chain run by `tests/ibc/simd-chain.sh`; stopped on drop.
struct Simd {
    bin: PathBuf,
    home: tempfile::TempDir,
    rpc: String,
    grpc: String,
    /// The relayer's (and test user's) account, funded at genesis.
    address: String,
}

impl Drop for Simd {
    fn drop(&mut self) {
        Command::new("bash")
            .arg(script())
            .args(["stop", "--home"])
            .arg(self.home.path())
            .output()
            .ok();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/ibc/simd-chain.sh")
}

impl Simd {
    fn start(bin: &Path, mnemonic_file: &Path) -> Simd {
        let home = tempfile::tempdir().unwrap();
        let out = ok(&Command::new("bash")
            .arg(script())
            .args(["start", "--home"])
            .arg(home.path())
            .arg("--mnemonic-file")
            .arg(mnemonic_file)
            .args(["--chain-id", SIMD, "--base-port", SIMD_BASE_PORT, "--simd"])
            .arg(bin)
            .output()
            .unwrap());
        let field = |k: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k}= in {out}"))
                .to_string()
        };
        Simd {
            bin: bin.to_path_buf(),
            rpc: field("rpc"),
            grpc: field("grpc"),
            address: field("address"),
            home,
        }
    }

    /// Runs `simd ARGS… --home … --node …`; stdout.
    fn run(&self, args: &[&str]) -> String {
        let node = self.rpc.replacen("http:", "tcp:", 1);
        ok(&Command::new(&self.bin)
            .args(args)
            .arg("--home")
            .arg(self.home.path())
            .args(["--node", &node])
            .output()
            .unwrap())
    }

    fn balance(&self, addr: &str, denom: &str) -> u128 {
        let v: Value =
            serde_json::from_str(&self.run(&["query", "bank", "balances", addr, "-o", "json"]))
                .unwrap();
        deai_tests::denom_amount(&v, denom)
    }

    /// Sends `amount` from the relayer account over `channel` to `to`.
    fn transfer(&self, channel: &str, to: &str, amount: &str) {
        let out = self.run(&[
            "tx",
            "ibc-transfer",
            "transfer",
            "transfer",
            channel,
            to,
            amount,
            "--from",
            "relayer",
            "--keyring-backend",
            "test",
            "--chain-id",
            SIMD,
            "--gas",
            "300000",
            "--yes",
            "-o",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["code"], 0, "simd refused the transfer: {v}");
    }
}

fn deai_balance(cli: &Cli<'_>, addr: &str, denom: &str) -> u128 {
    deai_tests::denom_amount(&cli.json(&["query", "bank", "balances", addr]), denom)
}

#[test]
fn udeai_and_stake_cross_between_deai_and_ibc_go_simd_over_hermes() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Some((hermes_bin, simd_bin)) = hermes::tools() else {
        return;
    };
    let Some(net) = Localnet::up(
        Path::new(BIN),
        29800,
        &[
            "--validators",
            "1",
            "--block-time",
            "300ms",
            "--chain-id",
            DEAI,
        ],
    ) else {
        return;
    };
    net.wait_height(0, 2, 60);
    let cli = Cli {
        home: &net.keys,
        node: net.rpc_url(0),
    };

    // One mnemonic (DeAI's dev3) is the relayer on both chains, and the
    // funded account on simd.
    let work = tempfile::tempdir().unwrap();
    let mnemonic = net.dev_mnemonic_file(3, work.path());
    let simd = Simd::start(&simd_bin, &mnemonic);

    let mut relayer = Hermes::new(
        &hermes_bin,
        &[
            ChainConfig::deai(
                DEAI,
                &net.rpc_url(0),
                &format!("http://{}", net.grpc_addr(0)),
            ),
            ChainConfig::simd(SIMD, &simd.rpc, &simd.grpc),
        ],
    );
    relayer.add_key(DEAI, &mnemonic);
    relayer.add_key(SIMD, &mnemonic);
    let (chan_deai, chan_simd) = relayer.create_channel(DEAI, SIMD, "transfer", "transfer", None);
    relayer.start();
    let log = relayer.log_path();
    let context = || hermes::tail(&log);

    // udeai → simd: escrowed on DeAI, minted on simd.
    let on_simd = voucher(&format!("transfer/{chan_simd}/udeai"));
    let escrow = cli.json(&[
        "query",
        "ibc-transfer",
        "escrow-address",
        "transfer",
        &chan_deai,
    ])["escrow_address"]
        .as_str()
        .unwrap()
        .to_string();
    let out = cli.tx(
        &[
            "tx",
            "ibc-transfer",
            "transfer",
            "transfer",
            &chan_deai,
            &simd.address,
            "5000udeai",
            "--gas",
            "auto",
        ],
        "dev0",
    );
    assert!(!out.is_empty());
    wait_for(
        60,
        "udeai vouchers on simd",
        || (simd.balance(&simd.address, &on_simd) == 5000).then_some(()),
        context,
    );
    assert_eq!(deai_balance(&cli, &escrow, "udeai"), 5000);

    // stake → DeAI: a voucher with its trace.
    let dev1 = cli.address("dev1");
    simd.transfer(&chan_simd, &dev1, "1000stake");
    let stake_on_deai = voucher(&format!("transfer/{chan_deai}/stake"));
    wait_for(
        60,
        "stake vouchers on DeAI",
        || (deai_balance(&cli, &dev1, &stake_on_deai) == 1000).then_some(()),
        context,
    );
    let traces = cli.json(&["query", "ibc-transfer", "denom-traces"]);
    assert_eq!(
        traces["denom_traces"],
        serde_json::json!([{"path": format!("transfer/{chan_deai}"), "base_denom": "stake"}])
    );

    // 2000 udeai come back: burned on simd, released from escrow on DeAI.
    let before = deai_balance(&cli, &dev1, "udeai");
    simd.transfer(&chan_simd, &dev1, &format!("2000{on_simd}"));
    wait_for(
        60,
        "udeai back on DeAI",
        || (deai_balance(&cli, &dev1, "udeai") == before + 2000).then_some(()),
        context,
    );
    assert_eq!(deai_balance(&cli, &escrow, "udeai"), 3000);
    assert_eq!(simd.balance(&simd.address, &on_simd), 3000);

    // And the stake voucher goes home from DeAI: burned here.
    cli.tx(
        &[
            "tx",
            "ibc-transfer",
            "transfer",
            "transfer",
            &chan_deai,
            &simd.address,
            &format!("400{stake_on_deai}"),
            "--gas",
            "auto",
        ],
        "dev1",
    );
    wait_for(
        60,
        "the stake voucher burned on DeAI",
        || (deai_balance(&cli, &dev1, &stake_on_deai) == 600).then_some(()),
        context,
    );
}
