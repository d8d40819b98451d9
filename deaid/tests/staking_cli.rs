//! Staking end to end through the `deaid` command line against a running
//! devnet: dev1 creates a validator (a fresh ed25519 consensus key) with a
//! self-delegation, dev2 delegates, redelegation is refused to the same
//! validator, dev2 unbonds and gets its tokens back, exactly, once the
//! (shortened) unbonding time has passed, and the queries show each step.
//! Distribution's commands answer (the devnet pays no staked validator).
//! Bad input is refused with one clear line before anything is signed.
//!
//! The devnet's own validator produces every block: it does not follow the
//! validator updates staking returns (CometBFT does; the localnet tests
//! cover that).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{deaid, err, ok, start_devnet, Cli};
use serde_json::{json, Value};

/// A fresh ed25519 public key, base64.
fn consensus_key() -> String {
    let key = ed25519_consensus::SigningKey::from([42u8; 32]).verification_key();
    base64::engine::general_purpose::STANDARD.encode(key.to_bytes())
}

#[test]
fn a_validator_is_created_delegated_to_and_unbonded_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // A devnet whose unbonding takes two seconds.
    ok(&deaid(home, &["devnet", "--init-only"]));
    let genesis_path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).unwrap()).unwrap();
    genesis["app_state"]["staking"]["params"]["unbonding_time_seconds"] = json!(2);
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();
    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    let dev1 = cli.address("dev1");
    let dev2 = cli.address("dev2");
    let valoper = cli.json(&["query", "staking", "valoper", &dev1])["valoper"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(valoper.starts_with("deaivaloper1"), "{valoper}");

    // Bad input: one line, nothing signed.
    for (args, want) in [
        (
            vec!["tx", "staking", "delegate", &dev2, "5udeai"],
            "VALIDATOR",
        ),
        (vec!["tx", "staking", "delegate", &valoper, "5"], "AMOUNT"),
        (
            vec![
                "tx",
                "staking",
                "create-validator",
                "--amount",
                "5udeai",
                "--pubkey",
                "AAAA",
                "--moniker",
                "m",
            ],
            "32-byte",
        ),
        (
            vec![
                "tx",
                "staking",
                "create-validator",
                "--amount",
                "5udeai",
                "--pubkey",
                &consensus_key(),
                "--moniker",
                "m",
                "--commission-rate",
                "0.3",
            ],
            "rate must not exceed max_rate",
        ),
    ] {
        let e = err(&cli.run(&[args.as_slice(), &["--from", "dev1", "--yes"]].concat()));
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
    }
    assert_eq!(
        cli.json(&["query", "account", &dev1])["account"]["sequence"],
        "0"
    );

    // dev1 creates a validator; dev2 delegates to it.
    let key = consensus_key();
    let created = cli.tx(
        &[
            "tx",
            "staking",
            "create-validator",
            "--amount",
            "5000000udeai",
            "--pubkey",
            &key,
            "--moniker",
            "dev1's node",
        ],
        "dev1",
    );
    assert!(created.contains("ok"), "{created}");
    let v = cli.run(&["query", "staking", "validator", &valoper]);
    let text = ok(&v);
    assert!(
        text.contains(&valoper) && text.contains("dev1's node") && text.contains("tokens 5000000"),
        "{text}"
    );
    let before = cli.balance(&dev2);
    cli.tx(
        &["tx", "staking", "delegate", &valoper, "3000000udeai"],
        "dev2",
    );
    let fee = 2000;
    assert_eq!(cli.balance(&dev2), before - 3_000_000 - fee);
    let text = ok(&cli.run(&["query", "staking", "delegation", &dev2, &valoper]));
    assert!(text.contains("3000000udeai"), "{text}");
    let text = ok(&cli.run(&["query", "staking", "delegations-to", &valoper]));
    assert_eq!(text.lines().count(), 2, "{text}");
    let text = ok(&cli.run(&["query", "staking", "validators", "--status", "bonded"]));
    assert!(text.contains(&valoper), "{text}");
    let text = ok(&cli.run(&["query", "staking", "pool"]));
    assert!(text.contains("bonded 8000000"), "{text}");

    // A redelegation to the same validator is refused by the chain's checks.
    let e = err(&cli.run(&[
        "tx",
        "staking",
        "redelegate",
        &valoper,
        &valoper,
        "1udeai",
        "--from",
        "dev2",
        "--yes",
    ]));
    assert!(e.contains("same validator"), "{e}");

    // dev2 unbonds: the tokens come back after the unbonding time, exactly.
    let out = cli.run(&[
        "tx",
        "staking",
        "unbond",
        &valoper,
        "3000000udeai",
        "--from",
        "dev2",
        "--yes",
    ]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the tokens return at"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after_unbond = cli.balance(&dev2);
    assert_eq!(after_unbond, before - 3_000_000 - 2 * fee);
    let start = Instant::now();
    while cli.balance(&dev2) != after_unbond + 3_000_000 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the unbonding never completed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = ok(&cli.run(&["query", "staking", "unbonding-delegations", &dev2]));
    assert_eq!(text.trim(), "(no unbonding delegations)");
    let text = ok(&cli.run(&["query", "staking", "params"]));
    assert!(text.contains("\"unbonding_time_seconds\": 2"), "{text}");

    // Slashing: the validator is not jailed, so unjail is refused; the
    // devnet's own validator signs every block, so no staked one has a
    // signing record there yet.
    let e = err(&cli.run(&["tx", "slashing", "unjail", "--from", "dev1", "--yes"]));
    assert!(e.contains("is not jailed"), "{e}");
    let e = err(&cli.run(&["query", "slashing", "signing-info", &valoper]));
    assert!(e.contains("not found") || e.contains("NotFound"), "{e}");
    let p = cli.json(&["query", "slashing", "params"]);
    assert_eq!(p["params"]["signed_blocks_window"], "100", "{p}");
    let text = ok(&cli.run(&["query", "slashing", "params"]));
    assert!(
        text.contains("\"slash_fraction_double_sign\": \"0.05\""),
        "{text}"
    );

    // Distribution: the devnet's own validator signs every block, so
    // staked validators earn nothing here (the localnet tests pay real
    // rewards); the commands and queries still answer as the SDK's do.
    let text = ok(&cli.run(&["query", "distribution", "rewards", &dev1, &valoper]));
    assert_eq!(text.trim(), "nothing");
    let r = cli.json(&["query", "distribution", "rewards", &dev1]);
    assert_eq!(
        r["rewards"][0]["validator_address"],
        valoper.as_str(),
        "{r}"
    );
    let before = cli.balance(&dev1);
    cli.tx(&["tx", "distribution", "withdraw-all-rewards"], "dev1");
    assert_eq!(
        cli.balance(&dev1),
        before - fee,
        "nothing earned, the fee paid"
    );
    let e = err(&cli.run(&[
        "tx",
        "distribution",
        "withdraw-rewards",
        &valoper,
        "--commission",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("no commission"), "{e}");
    let e = err(&cli.run(&[
        "tx",
        "distribution",
        "withdraw-rewards",
        &dev1,
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("VALIDATOR") && e.lines().count() == 1, "{e}");
    cli.tx(&["tx", "distribution", "set-withdraw-addr", &dev2], "dev1");
    let text = ok(&cli.run(&["query", "distribution", "withdraw-addr", &dev1]));
    assert_eq!(text.trim(), dev2);
    let p = cli.json(&["query", "distribution", "params"]);
    assert_eq!(p["params"]["community_tax"], "0.020000000000000000", "{p}");
    let pool = cli.json(&["query", "distribution", "community-pool"]);
    assert!(pool["pool"].is_array(), "{pool}");
    // Mint: the SDK's starting inflation, 13% (staked validators exist,
    // so the minter moves every block, within its bounds).
    let text = ok(&cli.run(&["query", "mint", "inflation"]));
    let inflation = deai_staking::dec::Dec::parse_human(text.trim()).unwrap();
    assert!(
        inflation >= deai_staking::dec::Dec::parse_human("0.07").unwrap()
            && inflation <= deai_staking::dec::Dec::parse_human("0.2").unwrap(),
        "{text}"
    );
    let p = cli.json(&["query", "mint", "params"]);
    assert_eq!(p["params"]["inflation_max"], "0.200000000000000000", "{p}");
    let a = cli.json(&["query", "mint", "annual-provisions"]);
    assert!(a["annual_provisions"].is_string(), "{a}");
}
