//! The `deaid` command line: init and genesis editing, with clear errors
//! for malformed input that leave the genesis file untouched.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

mod common;

use common::{deaid, err, ok, start_devnet, Cli, BIN};

#[test]
fn init_and_genesis_commands_build_a_valid_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["init", "--chain-id", "deai-cli-test"]));
    let addr = deai_client::tx::Key::from_label("cli")
        .address()
        .to_bech32();
    ok(&deaid(
        home,
        &["genesis", "add-account", &addr, "1000udeai"],
    ));
    ok(&deaid(
        home,
        &["genesis", "add-account", &addr, "5udeai,7uother"],
    ));
    // No validator yet: CometBFT would refuse this genesis at its handshake.
    // The error is one line, even where RUST_BACKTRACE asks for backtraces.
    let out = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(["genesis", "validate"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("names no validator") && e.contains("genesis gentx"),
        "{e}"
    );
    assert_eq!(e.trim_end().lines().count(), 1, "{e}");
    let key_file = home.join("priv_validator_key.json");
    std::fs::write(
        &key_file,
        r#"{"address":"00","pub_key":{"type":"tendermint/PubKeyEd25519","value":"zkQTTg3Dm8zH1Gp9rLA6u7uzpM2lsG0aYbgOTIL24Uk="},"priv_key":{"type":"tendermint/PrivKeyEd25519","value":""}}"#,
    )
    .unwrap();
    ok(&deaid(
        home,
        &[
            "genesis",
            "add-validator",
            "--name",
            "v0",
            "--cometbft-key",
            key_file.to_str().unwrap(),
            "--power",
            "5",
        ],
    ));
    for (name, value) in [
        ("expedited_voting_period_blocks", "10"),
        ("voting_period_blocks", "20"),
        ("min_deposit", r#"[{"denom":"udeai","amount":"1000"}]"#),
    ] {
        ok(&deaid(home, &["genesis", "set-param", "gov", name, value]));
    }
    let summary = ok(&deaid(home, &["genesis", "validate"]));
    assert!(
        summary.contains("1 accounts, 1 balances, 1 validators"),
        "{summary}"
    );
    let good = std::fs::read(home.join("config/genesis.json")).unwrap();
    // A genesis each section of which is well formed but which InitChain
    // refuses: a provider bonded with tokens no balance holds.
    let mut doc: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let addr = deai_types::Address::module("a-provider").to_bech32();
    doc["app_state"]["compute"]["providers"] = serde_json::json!([
        {"address": addr, "bond": "1000000000", "device": "cpu"}
    ]);
    std::fs::write(
        home.join("config/genesis.json"),
        serde_json::to_vec(&doc).unwrap(),
    )
    .unwrap();
    let e = err(&deaid(home, &["genesis", "validate"]));
    assert!(
        e.contains("would fail at InitChain") && e.contains("genesis bonds total"),
        "{e}"
    );
    std::fs::write(home.join("config/genesis.json"), &good).unwrap();

    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("config/genesis.json")).unwrap()).unwrap();
    let coins = &doc["app_state"]["bank"]["balances"][0]["coins"];
    assert_eq!(coins[0]["amount"], "1005");
    assert_eq!(coins[1]["denom"], "uother");
    let gov = &doc["app_state"]["gov"]["params"];
    assert_eq!(gov["voting_period_blocks"], 20);
    assert_eq!(gov["min_deposit"][0]["amount"], "1000");
}

#[test]
fn malformed_cli_input_is_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["init", "--chain-id", "deai-cli-test"]));
    let before = std::fs::read(home.join("config/genesis.json")).unwrap();
    let e = err(&deaid(
        home,
        &["genesis", "add-account", "cosmos1qqqq", "1udeai"],
    ));
    assert!(e.contains("address"), "{e}");
    let addr = deai_client::tx::Key::from_label("cli")
        .address()
        .to_bech32();
    let e = err(&deaid(home, &["genesis", "add-account", &addr, "lots"]));
    assert!(e.contains("invalid coin"), "{e}");
    let e = err(&deaid(
        home,
        &[
            "genesis",
            "add-validator",
            "--name",
            "v",
            "--pub-key",
            "AAAA",
        ],
    ));
    assert!(e.contains("32 bytes"), "{e}");
    let e = err(&deaid(home, &["init", "--chain-id", "again"]));
    assert!(e.contains("--overwrite"), "{e}");
    // Params out of bounds, unknown ones and unknown modules.
    let e = err(&deaid(
        home,
        &["genesis", "set-param", "gov", "voting_period_blocks", "0"],
    ));
    assert!(e.contains("voting_period_blocks must be between"), "{e}");
    let e = err(&deaid(home, &["genesis", "set-param", "gov", "nope", "1"]));
    assert!(
        e.contains("no param \"nope\"") && e.contains("quorum_ppm"),
        "{e}"
    );
    let e = err(&deaid(home, &["genesis", "set-param", "nosuch", "x", "1"]));
    assert!(e.contains("no module \"nosuch\""), "{e}");
    let e = err(&deaid(home, &["genesis", "set-param", "staking", "x", "1"]));
    assert!(e.contains("staking has no param \"x\""), "{e}");
    assert_eq!(
        std::fs::read(home.join("config/genesis.json")).unwrap(),
        before
    );

    std::fs::write(home.join("config/genesis.json"), b"{ not json").unwrap();
    let e = err(&deaid(home, &["genesis", "validate"]));
    assert!(e.contains("genesis JSON is invalid"), "{e}");
}

fn deaid_stdin(home: &std::path::Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("DEAI_KEYRING_PASSPHRASE")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const ABANDON: &str =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

#[test]
fn keys_recovered_from_a_mnemonic_get_the_cosmos_wallet_address() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = ok(&deaid_stdin(
        home,
        &["keys", "recover", "alice", "--keyring-backend", "test"],
        &format!("{ABANDON}\n"),
    ));
    // The same 20 bytes a Cosmos wallet shows as cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4.
    let (_, cosmos) = bech32::decode("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4").unwrap();
    let want = deai_types::Address::from_slice(&cosmos)
        .unwrap()
        .to_bech32();
    assert!(out.contains(&want), "{out}");
    let shown = ok(&deaid(
        home,
        &[
            "keys",
            "show",
            "alice",
            "--address",
            "--keyring-backend",
            "test",
        ],
    ));
    assert_eq!(shown.trim(), want);
    let listed = ok(&deaid(home, &["keys", "list", "--keyring-backend", "test"]));
    assert!(listed.contains("alice"), "{listed}");
    let e = err(&deaid_stdin(
        home,
        &["keys", "recover", "alice", "--keyring-backend", "test"],
        &format!("{ABANDON}\n"),
    ));
    assert!(e.contains("alice"), "{e}");
    let e = err(&deaid_stdin(
        home,
        &["keys", "recover", "bob", "--keyring-backend", "test"],
        "abandon abandon\n",
    ));
    assert!(e.to_lowercase().contains("mnemonic"), "{e}");
    ok(&deaid(
        home,
        &[
            "keys",
            "delete",
            "alice",
            "--yes",
            "--keyring-backend",
            "test",
        ],
    ));
    assert!(!ok(&deaid(home, &["keys", "list", "--keyring-backend", "test"])).contains("alice"));
}

#[test]
fn the_file_keyring_adds_exports_and_imports_with_passphrases() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = ok(&deaid_stdin(home, &["keys", "add", "k1"], "pass-one\n"));
    let mnemonic = out.lines().last().unwrap();
    assert_eq!(mnemonic.split_whitespace().count(), 24);
    let addr = ok(&deaid(home, &["keys", "show", "k1", "--address"]));
    let exported = ok(&deaid_stdin(
        home,
        &["keys", "export", "k1"],
        "pass-one\nexport-pass\n",
    ));
    let file = home.join("k1.export");
    std::fs::write(&file, &exported).unwrap();
    let other = tempfile::tempdir().unwrap();
    ok(&deaid_stdin(
        other.path(),
        &["keys", "import", "k1copy", file.to_str().unwrap()],
        "export-pass\npass-two\n",
    ));
    assert_eq!(
        ok(&deaid(
            other.path(),
            &["keys", "show", "k1copy", "--address"]
        )),
        addr
    );
    // A wrong passphrase cannot sign.
    let e = err(&deaid_stdin(
        home,
        &[
            "tx",
            "bank",
            "send",
            "k1",
            addr.trim(),
            "1udeai",
            "--offline",
            "--chain-id",
            "c",
            "--account-number",
            "0",
            "--sequence",
            "0",
        ],
        "wrong\n",
    ));
    assert!(e.to_lowercase().contains("passphrase"), "{e}");
}

#[test]
fn online_commands_explain_an_unreachable_or_malformed_node() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let e = err(&deaid(dir.path(), &["status", "--node", &url]));
    assert!(e.contains("did not answer"), "{e}");
    let e = err(&deaid(
        dir.path(),
        &["query", "bank", "total", "--node", "not a url"],
    ));
    assert!(e.contains("is not a URL"), "{e}");
    let e = err(&deaid(dir.path(), &["query", "tx", "zz", "--node", &url]));
    assert!(e.contains("hex tx hash"), "{e}");
}

/// Runs `deaid devnet` for `run`, then kills it; returns what it printed.
fn run_devnet(home: &std::path::Path, run: std::time::Duration) -> String {
    let out = home.join("devnet.out");
    let mut child = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args([
            "devnet",
            "--block-time",
            "100ms",
            "--rpc-listen",
            "127.0.0.1:0",
            "--grpc-listen",
            "off",
            "--rest-listen",
            "off",
        ])
        .env("RUST_LOG", "warn")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(run);
    assert!(child.try_wait().unwrap().is_none(), "devnet exited early");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn devnet_creates_funded_dev_keys_once_and_resumes_its_chain() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let first = run_devnet(home, std::time::Duration::from_secs(2));
    for name in ["dev0", "dev1", "dev2"] {
        assert!(first.contains(&format!("{name}: deai1")), "{first}");
    }
    assert_eq!(first.matches("mnemonic: ").count(), 3, "{first}");
    assert!(first.contains("at height 0"), "{first}");
    assert!(first.contains("JSON-RPC on http://127.0.0.1:"), "{first}");
    let keys = ok(&deaid(home, &["keys", "list", "--keyring-backend", "test"]));
    assert!(keys.contains("dev0") && keys.contains("dev2"), "{keys}");

    let second = run_devnet(home, std::time::Duration::from_secs(1));
    assert!(!second.contains("mnemonic"), "{second}");
    assert!(!second.contains("at height 0"), "it resumed: {second}");
}

/// The udeai amount in a `{"denom","amount"}` list, 0 if absent.
fn udeai_in(coins: &serde_json::Value) -> u128 {
    coins
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["denom"] == "udeai")
        .map_or(0, |c| c["amount"].as_str().unwrap().parse().unwrap())
}

#[test]
fn the_cli_sends_and_queries_through_a_devnet_and_finds_it_all_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let net = start_devnet(home);
    let node = ["--node", net.url.as_str()];
    let status = ok(&deaid(home, &[&["status"][..], &node].concat()));
    assert!(status.contains("chain deai-devnet"), "{status}");
    let dev1 = ok(&deaid(
        home,
        &[
            "keys",
            "show",
            "dev1",
            "--address",
            "--keyring-backend",
            "test",
        ],
    ));
    let dev1 = dev1.trim();
    let before = ok(&deaid(
        home,
        &[&["query", "bank", "balances", dev1][..], &node].concat(),
    ));

    // Gas estimated by the node's Simulate query; waits for the block.
    let sent = ok(&deaid(
        home,
        &[
            &[
                "tx",
                "bank",
                "send",
                "dev0",
                dev1,
                "1234udeai",
                "--gas",
                "auto",
                "--yes",
                "--keyring-backend",
                "test",
                "--output",
                "json",
            ][..],
            &node,
        ]
        .concat(),
    ));
    let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
    assert_eq!(sent["code"], 0, "{sent}");
    let hash = sent["hash"].as_str().unwrap().to_string();
    let height = sent["height"].as_str().unwrap().to_string();

    let after = ok(&deaid(
        home,
        &[
            &["query", "bank", "balances", dev1, "--output", "json"][..],
            &node,
        ]
        .concat(),
    ));
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    let before: u128 = before.trim().trim_end_matches("udeai").parse().unwrap();
    assert_eq!(udeai_in(&after["balances"]), before + 1234);

    let tx = ok(&deaid(home, &[&["query", "tx", &hash][..], &node].concat()));
    assert!(
        tx.starts_with(&format!("height {height}  index 0  code 0")),
        "{tx}"
    );
    let dev0 = ok(&deaid(
        home,
        &[
            "keys",
            "show",
            "dev0",
            "--address",
            "--keyring-backend",
            "test",
        ],
    ));
    let dev0 = dev0.trim();
    let acc = ok(&deaid(
        home,
        &[&["query", "account", dev0][..], &node].concat(),
    ));
    assert!(acc.contains("sequence 1"), "{acc}");
    let block = ok(&deaid(home, &[&["query", "block"][..], &node].concat()));
    assert!(block.contains("app_hash"), "{block}");

    // From here the env gives the node and the test keyring.
    let cli = Cli {
        home,
        node: net.url.clone(),
    };

    // Explicit --fees and a numeric --gas: the sender pays exactly amount
    // plus fee, the tx asked for that gas, and the treasury got its default
    // 20% of the fee (the only tx of its block: the CLI waits for each).
    let treasury_before = udeai_in(&cli.json(&["query", "treasury", "balance"])["balance"]);
    let dev0_before = cli.balance(dev0);
    let paid = cli.json(&[
        "tx",
        "bank",
        "send",
        "dev0",
        dev1,
        "1000udeai",
        "--fees",
        "7000udeai",
        "--gas",
        "150000",
        "--yes",
    ]);
    assert_eq!(paid["code"], 0, "{paid}");
    let paid_hash = paid["hash"].as_str().unwrap().to_string();
    assert_eq!(cli.balance(dev0), dev0_before - 1000 - 7000);
    let found = cli.json(&["query", "tx", &paid_hash]);
    assert_eq!(found["tx_result"]["gas_wanted"], "150000", "{found}");
    assert_eq!(found["height"], paid["height"], "{found}");
    assert_eq!(
        udeai_in(&cli.json(&["query", "treasury", "balance"])["balance"]),
        treasury_before + 1400
    );

    // A second send with --from, the default gas limit and fee.
    ok(&deaid(
        home,
        &[
            &[
                "tx",
                "bank",
                "send",
                dev1,
                "1udeai",
                "--from",
                "dev0",
                "--yes",
                "--keyring-backend",
                "test",
            ][..],
            &node,
        ]
        .concat(),
    ));

    // Refused before anything lands: a chain id the node is not on, a bad
    // --gas, a bad --output and a send to a module account; dev0's sequence
    // and balance stay put.
    let account_before = ok(&cli.run(&["query", "account", dev0]));
    let dev0_before = cli.balance(dev0);
    let e = err(&cli.run(&[
        "tx",
        "bank",
        "send",
        "dev0",
        dev1,
        "1udeai",
        "--chain-id",
        "some-other-chain",
        "--yes",
    ]));
    // Refused before signing, naming the node's chain id: the one to use.
    assert!(
        e.contains("--chain-id \"some-other-chain\" does not match")
            && e.contains("\"deai-devnet\""),
        "{e}"
    );
    let e = err(&cli.run(&[
        "tx", "bank", "send", "dev0", dev1, "1udeai", "--gas", "lots", "--yes",
    ]));
    assert!(
        e.contains("--gas \"lots\" is neither a number nor auto"),
        "{e}"
    );
    let e = err(&cli.run(&[
        "tx", "bank", "send", "dev0", dev1, "1udeai", "--output", "xml", "--yes",
    ]));
    assert!(
        e.contains("invalid value 'xml' for '--output")
            && e.contains("[possible values: text, json]"),
        "{e}"
    );
    let e = err(&cli.run(&["query", "bank", "balances", dev1, "--output", "yaml"]));
    assert!(e.contains("invalid value 'yaml'"), "{e}");
    // A send to a module account (the treasury, the compute module's bonds
    // and escrow) would lose the tokens from its books: refused.
    for module in [
        deai_treasury::address(),
        deai_compute_module::module_address(),
    ] {
        let module = module.to_bech32();
        let e = err(&cli.run(&["tx", "bank", "send", "dev0", &module, "1udeai", "--yes"]));
        assert!(e.contains("is a module account"), "{e}");
    }
    assert_eq!(ok(&cli.run(&["query", "account", dev0])), account_before);
    assert_eq!(cli.balance(dev0), dev0_before);

    // An overdraft is refused by the node with the SDK's insufficient-funds code.
    let e = err(&deaid(
        home,
        &[
            &[
                "tx",
                "bank",
                "send",
                "dev1",
                dev1,
                "999999999999999999udeai",
                "--yes",
                "--keyring-backend",
                "test",
            ][..],
            &node,
        ]
        .concat(),
    ));
    assert!(e.contains("insufficient funds"), "{e}");

    // Restart on the same home: balances, the txs and the blocks that hold
    // them are all still there, and the chain goes on from where it was.
    let balances = [cli.balance(dev0), cli.balance(dev1)];
    let account = ok(&cli.run(&["query", "account", dev0]));
    let first_block = cli.json(&["query", "block", &height]);
    assert_eq!(
        first_block["block"]["header"]["height"], height,
        "{first_block}"
    );
    let last_height: u64 = cli.json(&["status"])["latest_block_height"]
        .as_u64()
        .unwrap();
    drop(net);
    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    assert_eq!([cli.balance(dev0), cli.balance(dev1)], balances);
    assert_eq!(ok(&cli.run(&["query", "account", dev0])), account);
    let again = cli.json(&["query", "tx", &hash]);
    assert_eq!(again["height"], height, "{again}");
    assert_eq!(again["tx_result"]["code"], 0, "{again}");
    assert_eq!(
        cli.json(&["query", "tx", &paid_hash])["height"],
        paid["height"]
    );
    assert_eq!(cli.json(&["query", "block", &height]), first_block);
    let text = ok(&cli.run(&["query", "block", &height]));
    assert!(
        text.starts_with(&format!("height {height}  hash ")) && text.contains("txs 1"),
        "{text}"
    );
    let now: u64 = cli.json(&["status"])["latest_block_height"]
        .as_u64()
        .unwrap();
    assert!(now >= last_height, "resumed at {now}, was at {last_height}");
    let resumed = cli.json(&["tx", "bank", "send", "dev0", dev1, "5udeai", "--yes"]);
    assert_eq!(resumed["code"], 0, "{resumed}");
    assert!(
        resumed["height"].as_str().unwrap().parse::<u64>().unwrap() > last_height,
        "{resumed}"
    );
    assert_eq!(cli.balance(dev1), balances[1] + 5);
}

/// Copies the files of directory `from` into `to` (one level deep).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn export_writes_a_genesis_a_new_chain_continues_from() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    let dev0 = cli.address("dev0");
    let dev1 = cli.address("dev1");
    cli.tx(&["tx", "bank", "send", &dev1, "4321udeai"], "dev0");
    let balances = [cli.balance(&dev0), cli.balance(&dev1)];
    // The state is locked while the node runs.
    let e = err(&deaid(home, &["export"]));
    assert!(e.contains("is a node still running"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    drop(net);

    let e = err(&deaid(home, &["export", "--height", "999999999"]));
    assert!(e.contains("past the last committed height"), "{e}");
    let out = home.join("exported.json");
    let printed = ok(&deaid(home, &["export", "--output", out.to_str().unwrap()]));
    assert!(printed.is_empty(), "the file, not stdout: {printed}");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let height: u64 = doc["app_state"]["exported"]["height"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(doc["initial_height"], (height + 1).to_string());
    assert!(
        doc["app_state"].get("bank").is_none(),
        "{}",
        doc["app_state"]
    );
    // The same document on standard output.
    let stdout: serde_json::Value = serde_json::from_str(&ok(&deaid(home, &["export"]))).unwrap();
    assert_eq!(stdout, doc);

    // A new home with the old one's keys and validator, and the export as
    // its genesis: the chain goes on from the next height with the same
    // balances and account sequences.
    let dir2 = tempfile::tempdir().unwrap();
    let home2 = dir2.path();
    copy_dir(&home.join("config"), &home2.join("config"));
    copy_dir(&home.join("keyring-test"), &home2.join("keyring-test"));
    std::fs::copy(&out, home2.join("config").join("genesis.json")).unwrap();
    ok(&deaid(home2, &["genesis", "validate"]));
    let net2 = start_devnet(home2);
    let cli2 = Cli {
        home: home2,
        node: net2.url.clone(),
    };
    let status = cli2.json(&["status"]);
    assert!(
        status["latest_block_height"].as_u64().unwrap() > height,
        "{status}"
    );
    assert_eq!([cli2.balance(&dev0), cli2.balance(&dev1)], balances);
    let account = cli2.json(&["query", "account", &dev0]);
    assert_eq!(
        account["account"]["@type"], "/cosmos.auth.v1beta1.BaseAccount",
        "{account}"
    );
    assert_eq!(account["account"]["sequence"], "1", "{account}");
    cli2.tx(&["tx", "bank", "send", &dev1, "5udeai"], "dev0");
    assert_eq!(cli2.balance(&dev1), balances[1] + 5);
    let account = cli2.json(&["query", "account", &dev0]);
    assert_eq!(account["account"]["sequence"], "2", "{account}");
}

#[test]
fn gentx_and_collect_gentxs_make_a_genesis_whose_first_validators_are_staked() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["init", "--chain-id", "deai-gentx"]));
    ok(&deaid(
        home,
        &["keys", "add", "val", "--keyring-backend", "test"],
    ));
    let addr = ok(&deaid(
        home,
        &[
            "keys",
            "show",
            "val",
            "--address",
            "--keyring-backend",
            "test",
        ],
    ));
    let addr = addr.trim();
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(
        ed25519_consensus::SigningKey::from([5u8; 32])
            .verification_key()
            .to_bytes(),
    );
    let gentx = |amount: &str| {
        deaid(
            home,
            &[
                "genesis",
                "gentx",
                "val",
                "--amount",
                amount,
                "--pubkey",
                &key,
                "--keyring-backend",
                "test",
            ],
        )
    };
    // Unfunded: one clear line.
    let e = err(&gentx("10000000udeai"));
    assert!(e.contains("holds 0udeai in genesis"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    ok(&deaid(
        home,
        &["genesis", "add-account", addr, "50000000udeai"],
    ));
    let out = ok(&gentx("10000000udeai"));
    let file = home.join("config/gentx/gentx-val.json");
    assert!(out.contains("gentx-val.json") && file.exists(), "{out}");
    let tx: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        tx["body"]["messages"][0]["@type"],
        "/cosmos.staking.v1beta1.MsgCreateValidator"
    );

    let out = ok(&deaid(home, &["genesis", "collect-gentxs"]));
    assert!(
        out.contains("collected 1 genesis transactions")
            && out.contains("1 validators (from 1 genesis transactions)"),
        "{out}"
    );

    // A tampered gentx fails the dry InitChain, with the reason.
    let mut bad = tx.clone();
    bad["body"]["messages"][0]["value"]["amount"] = "20000000".into();
    std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let e = err(&deaid(home, &["genesis", "collect-gentxs"]));
    assert!(
        e.contains("would fail at InitChain") && e.contains("signature"),
        "{e}"
    );

    // A fixed list and gentxs exclude each other.
    std::fs::write(&file, serde_json::to_vec(&tx).unwrap()).unwrap();
    ok(&deaid(home, &["genesis", "collect-gentxs"]));
    let e = err(&deaid(
        home,
        &[
            "genesis",
            "add-validator",
            "--name",
            "x",
            "--pub-key",
            &key,
            "--power",
            "1",
        ],
    ));
    assert!(e.contains("not both"), "{e}");
}
