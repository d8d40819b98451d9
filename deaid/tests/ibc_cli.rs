//! ICS-20 from the `deaid` command line against a running devnet: the
//! escrow address is ibc-go's, the denom-trace queries answer (none yet),
//! and a transfer over a channel that does not exist fails with one clear
//! line and moves nothing; the same for compute jobs over IBC, whose remote
//! accounts the chain derives and whose leftovers their senders' keys take
//! back. Transfers and jobs over real channels are
//! relayed by Hermes in the IBC end-to-end tests.

#![allow(clippy::unwrap_used)]

mod common;

use common::{deaid, err, ok, start_devnet, Cli};

#[test]
fn ibc_transfer_commands_answer_and_refuse_what_cannot_be_sent() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["devnet", "--init-only"]));
    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    let dev1 = cli.address("dev1");

    // The Cosmos Hub's escrow account of channel-141, in our prefix.
    let escrow = cli.json(&[
        "query",
        "ibc-transfer",
        "escrow-address",
        "transfer",
        "channel-141",
    ]);
    let escrow = escrow["escrow_address"].as_str().unwrap();
    let (_, bytes) = bech32::decode(escrow).unwrap();
    assert_eq!(
        hex::encode(bytes),
        "352bf5cc8839ecfccb763916e1ddb1faf67a9b37"
    );
    assert!(escrow.starts_with("deai1"), "{escrow}");

    let traces = cli.json(&["query", "ibc-transfer", "denom-traces"]);
    assert_eq!(traces["denom_traces"], serde_json::json!([]));
    let e = err(&cli.run(&[
        "query",
        "ibc-transfer",
        "denom-trace",
        "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2",
    ]));
    assert!(e.contains("not found"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");

    // Nothing to send over: refused, one line, the balance untouched but
    // for the fee.
    let before = cli.balance(&dev1);
    for (args, want) in [
        (
            vec![
                "tx",
                "ibc-transfer",
                "transfer",
                "transfer",
                "channel-0",
                "cosmos1x",
                "5",
            ],
            "AMOUNT",
        ),
        (
            vec![
                "tx",
                "ibc-transfer",
                "transfer",
                "transfer",
                "channel-0",
                "cosmos1x",
                "5udeai",
                "--timeout-seconds",
                "0",
            ],
            "timeout",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--from", "dev1", "--yes"]);
        let e = err(&cli.run(&all));
        assert!(e.contains(want), "{args:?}: {e}");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
    }
    assert_eq!(cli.balance(&dev1), before);
    let e = err(&cli.run(&[
        "tx",
        "ibc-transfer",
        "transfer",
        "transfer",
        "channel-0",
        "cosmos1x",
        "5udeai",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("channel-0"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let fee = 2000;
    assert!(cli.balance(&dev1) >= before - fee, "only the fee is spent");

    // Compute over IBC: the remote account is the chain's derivation, and a
    // job over a channel that does not exist is refused in one line.
    let account = cli.json(&[
        "query",
        "ibc-compute",
        "remote-account",
        "channel-3",
        "cosmos1sender",
    ]);
    assert_eq!(
        account["account"],
        deai_ibc::compute::remote_account("compute", "channel-3", "cosmos1sender").to_bech32()
    );
    let e = err(&cli.run(&[
        "tx",
        "ibc-compute",
        "send-job",
        "channel-3",
        "--kind",
        "gemm-i8",
        "--input-hex",
        "44474d31",
        "--price",
        "2000udeai",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("channel-3"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let e = err(&cli.run(&["query", "ibc-compute", "remote-job", "channel-3", "1"]));
    assert!(e.contains("not found"), "{e}");

    // What is left in a remote account goes back to the key that sent the
    // jobs (cosmos1… there, the same bytes as deai1… here), and to no one
    // else.
    let dev2 = cli.address("dev2");
    let (_, bytes) = bech32::decode(&dev2).unwrap();
    let on_hub =
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("cosmos").unwrap(), &bytes).unwrap();
    let remote = cli.json(&[
        "query",
        "ibc-compute",
        "remote-account",
        "channel-3",
        &on_hub,
    ]);
    let remote = remote["account"].as_str().unwrap().to_string();
    cli.tx(&["tx", "bank", "send", &remote, "7000udeai"], "dev1");
    assert_eq!(cli.balance(&remote), 7000);
    let e = err(&cli.run(&[
        "tx",
        "ibc-compute",
        "reclaim",
        "channel-3",
        &on_hub,
        "7000udeai",
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(e.contains("only the key that sent the jobs"), "{e}");
    assert_eq!(e.trim().lines().count(), 1, "{e}");
    let dev2_before = cli.balance(&dev2);
    cli.tx(
        &[
            "tx",
            "ibc-compute",
            "reclaim",
            "channel-3",
            &on_hub,
            "4000udeai",
        ],
        "dev2",
    );
    assert_eq!(cli.balance(&remote), 3000);
    let got = cli.balance(&dev2) + fee - dev2_before;
    assert_eq!(got, 4000, "dev2 got it, less the fee");
}
