//! Governance and the DAO treasury end to end, through the `deaid` command
//! line against a running devnet with three members (dev0, dev1, dev2,
//! equal balances): a treasury spend passes and pays; a proposal submitted
//! below the minimum deposit opens for voting once another member deposits,
//! and then fails quorum because only one member votes; a vetoed proposal's
//! deposit is burned; a stream pays every block and stops when a later
//! proposal cancels it; an initial deposit under a quarter of the minimum is
//! refused; a proposer's cancel burns half of its own deposit and none of
//! another member's; and bad input is refused with a clear error before
//! anything is broadcast. Along the way the proposals (by status), votes,
//! deposits, gov params and treasury params queries are checked against
//! what was sent.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{deaid, err, ok, start_devnet, Cli};
use serde_json::{json, Value};

impl Cli<'_> {
    fn supply(&self) -> u128 {
        let v = self.json(&["query", "bank", "total"]);
        v["supply"][0]["amount"].as_str().unwrap().parse().unwrap()
    }

    fn submit(&self, file: &std::path::Path, from: &str) -> String {
        let out = self.tx(
            &["tx", "gov", "submit-proposal", file.to_str().unwrap()],
            from,
        );
        out.lines()
            .find_map(|l| l.strip_prefix("proposal "))
            .unwrap_or_else(|| panic!("no proposal id in {out}"))
            .trim()
            .to_string()
    }

    fn proposal(&self, id: &str) -> Value {
        self.json(&["query", "gov", "proposal", id])
    }

    /// The ids `query gov proposals [--status STATUS]` lists, in order.
    fn proposal_ids(&self, status: Option<&str>) -> Vec<String> {
        let mut args = vec!["query", "gov", "proposals"];
        if let Some(s) = status {
            args.extend(["--status", s]);
        }
        self.json(&args)["proposals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// `query gov votes ID` as (voter, "option=weight,…") pairs, by voter.
    fn votes(&self, id: &str) -> Vec<(String, String)> {
        let v = self.json(&["query", "gov", "votes", id]);
        let mut rows: Vec<(String, String)> = v["votes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let options = r["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| {
                        format!(
                            "{}={}",
                            o["option"].as_str().unwrap(),
                            o["weight"].as_str().unwrap()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                (r["voter"].as_str().unwrap().to_string(), options)
            })
            .collect();
        rows.sort();
        rows
    }

    /// Waits until proposal `id` has left its voting period.
    fn finished(&self, id: &str) -> Value {
        let start = Instant::now();
        loop {
            let p = self.proposal(id);
            if p["status"] != "voting_period" && p["status"] != "deposit_period" {
                return p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "proposal {id} still open: {p}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn write(dir: &std::path::Path, name: &str, v: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    path
}

#[test]
fn members_pass_fail_veto_and_stream_treasury_proposals_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // Create the devnet's keys and genesis, then shorten governance's
    // periods so the test runs in seconds.
    ok(&deaid(home, &["devnet", "--init-only"]));
    let genesis_path = home.join("config/genesis.json");
    let mut genesis: Value =
        serde_json::from_slice(&std::fs::read(&genesis_path).unwrap()).unwrap();
    let mut params = serde_json::to_value(deai_gov::GovParams::default()).unwrap();
    params["min_deposit"] = json!([{"denom": "udeai", "amount": "1000"}]);
    params["expedited_min_deposit"] = json!([{"denom": "udeai", "amount": "5000"}]);
    params["max_deposit_period_blocks"] = json!(30);
    // Long enough that the votes below land in time on a loaded machine.
    params["voting_period_blocks"] = json!(25);
    params["expedited_voting_period_blocks"] = json!(6);
    genesis["app_state"]["gov"] = json!({ "params": params });
    std::fs::write(&genesis_path, serde_json::to_vec_pretty(&genesis).unwrap()).unwrap();

    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    let grantee = deai_client::tx::Key::from_label("grantee")
        .address()
        .to_bech32();
    let streamee = deai_client::tx::Key::from_label("streamee")
        .address()
        .to_bech32();

    cli.tx(&["tx", "treasury", "fund", "5000000udeai"], "dev0");
    let treasury = cli.json(&["query", "treasury", "balance"]);
    let held: u128 = treasury["balance"][0]["amount"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(held >= 5_000_000, "{treasury}");

    // The template is valid input once filled in.
    let mut spend: Value = serde_json::from_str(&ok(&deaid(
        home,
        &["tx", "gov", "draft-proposal", "--kind", "spend"],
    )))
    .unwrap();
    spend["messages"][0]["recipient"] = json!(grantee);
    spend["deposit"] = json!("1000udeai");
    spend["title"] = json!("Grant for the grantee");
    let p1 = cli.submit(&write(home, "p1.json", &spend), "dev0");

    // Submitted below the minimum deposit, p2 waits until dev0 tops it up.
    let text =
        json!({"title": "Adopt a logo", "summary": "Only dev0 cares.", "deposit": "400udeai"});
    let p2 = cli.submit(&write(home, "p2.json", &text), "dev1");
    assert_eq!(cli.proposal(&p2)["status"], "deposit_period");
    assert_eq!(cli.proposal_ids(Some("deposit_period")), vec![p2.clone()]);
    cli.tx(&["tx", "gov", "deposit", &p2, "600udeai"], "dev0");
    let p2_now = cli.proposal(&p2);
    assert_eq!(p2_now["status"], "voting_period", "{p2_now}");
    assert_eq!(
        p2_now["total_deposit"],
        json!([{"denom": "udeai", "amount": "1000"}])
    );
    let mut deposits: Vec<(String, Value)> = cli.json(&["query", "gov", "deposits", &p2])
        ["deposits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["depositor"].as_str().unwrap().to_string(),
                d["amount"].clone(),
            )
        })
        .collect();
    deposits.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![
        (
            cli.address("dev1"),
            json!([{"denom": "udeai", "amount": "400"}]),
        ),
        (
            cli.address("dev0"),
            json!([{"denom": "udeai", "amount": "600"}]),
        ),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(deposits, want);
    assert!(cli.proposal_ids(Some("deposit_period")).is_empty());
    let text =
        json!({"title": "Adopt a logo", "summary": "Only dev0 cares.", "deposit": "1000udeai"});

    let mut vetoed = spend.clone();
    vetoed["title"] = json!("A grab");
    vetoed["messages"][0]["amount"] = json!("4000000udeai");
    let p3 = cli.submit(&write(home, "p3.json", &vetoed), "dev2");

    let stream = json!({
        "title": "Stream to the streamee",
        "summary": "100udeai a block.",
        "deposit": "1000udeai",
        "messages": [{
            "@type": "/deai.treasury.v1.MsgCreateStream",
            "recipient": streamee,
            "amount_per_block": "100udeai",
            "payments": 100000
        }]
    });
    let p4 = cli.submit(&write(home, "p4.json", &stream), "dev0");
    for p in [&p1, &p2, &p3, &p4] {
        assert_eq!(cli.proposal(p)["status"], "voting_period", "proposal {p}");
    }
    let open = vec![p1.clone(), p2.clone(), p3.clone(), p4.clone()];
    assert_eq!(cli.proposal_ids(Some("voting_period")), open);
    assert_eq!(cli.proposal_ids(None), open);
    let e = err(&cli.run(&["query", "gov", "proposals", "--status", "open"]));
    assert!(
        e.contains("--status \"open\": use deposit_period, voting_period"),
        "{e}"
    );
    let supply_before = cli.supply();
    let dev2 = cli.address("dev2");
    let dev2_before = cli.balance(&dev2);

    cli.tx(&["tx", "gov", "vote", &p1, "yes"], "dev0");
    cli.tx(&["tx", "gov", "vote", &p1, "yes"], "dev1");
    cli.tx(&["tx", "gov", "vote", &p2, "yes"], "dev0");
    cli.tx(&["tx", "gov", "vote", &p3, "yes"], "dev0");
    cli.tx(&["tx", "gov", "vote", &p3, "no_with_veto"], "dev1");
    cli.tx(&["tx", "gov", "vote", &p3, "no_with_veto"], "dev2");
    cli.tx(&["tx", "gov", "vote", &p4, "yes"], "dev0");
    cli.tx(
        &["tx", "gov", "weighted-vote", &p4, "yes=0.7,no=0.3"],
        "dev1",
    );
    let live = cli.json(&["query", "gov", "tally", &p4]);
    assert_ne!(live["yes"], "0", "{live}");
    let [dev0, dev1] = ["dev0", "dev1"].map(|k| cli.address(k));
    let mut want = vec![
        (dev0.clone(), "yes=1".to_string()),
        (dev1.clone(), "no_with_veto=1".to_string()),
        (dev2.clone(), "no_with_veto=1".to_string()),
    ];
    want.sort();
    assert_eq!(cli.votes(&p3), want);
    let mut want = vec![
        (dev0.clone(), "yes=1".to_string()),
        (dev1.clone(), "yes=0.7,no=0.3".to_string()),
    ];
    want.sort();
    assert_eq!(cli.votes(&p4), want);
    let mut want = vec![
        (dev0.clone(), "yes=1".to_string()),
        (dev1.clone(), "yes=1".to_string()),
    ];
    want.sort();
    assert_eq!(cli.votes(&p1), want);
    let p2_votes = ok(&cli.run(&["query", "gov", "votes", &p2]));
    assert_eq!(p2_votes.trim(), format!("{dev0}  yes=1"));

    let r1 = cli.finished(&p1);
    assert_eq!(r1["status"], "passed", "{r1}");
    assert_eq!(cli.balance(&grantee), 1_000_000);
    let r2 = cli.finished(&p2);
    assert_eq!(r2["status"], "rejected", "{r2}");
    assert_eq!(r2["failed_reason"], "quorum not reached");
    let r3 = cli.finished(&p3);
    assert_eq!(r3["status"], "vetoed", "{r3}");
    // The vetoed deposit is burned: supply falls by exactly 1000udeai, and
    // dev2 got nothing back (it paid only fees since).
    assert_eq!(cli.supply(), supply_before - 1000);
    assert!(cli.balance(&dev2) < dev2_before);
    let r4 = cli.finished(&p4);
    assert_eq!(r4["status"], "passed", "{r4}");
    assert_eq!(
        cli.proposal_ids(Some("passed")),
        vec![p1.clone(), p4.clone()]
    );
    assert_eq!(cli.proposal_ids(Some("rejected")), vec![p2.clone()]);
    assert_eq!(cli.proposal_ids(Some("vetoed")), vec![p3.clone()]);
    assert!(cli.proposal_ids(Some("voting_period")).is_empty());
    let vetoed_text = ok(&cli.run(&["query", "gov", "proposals", "--status", "vetoed"]));
    assert!(
        vetoed_text.starts_with(&format!("proposal {p3}  vetoed  \"A grab\"")),
        "{vetoed_text}"
    );

    // The params queries answer what genesis set.
    let gov_params: deai_gov::GovParams =
        serde_json::from_value(cli.json(&["query", "gov", "params"])).unwrap();
    assert_eq!(gov_params, serde_json::from_value(params.clone()).unwrap());
    let treasury_params: deai_treasury::TreasuryParams =
        serde_json::from_value(cli.json(&["query", "treasury", "params"])).unwrap();
    assert_eq!(treasury_params, deai_treasury::TreasuryParams::default());
    let treasury_text = ok(&cli.run(&["query", "treasury", "params"]));
    assert!(
        treasury_text.contains("\"fee_share_ppm\": 200000"),
        "{treasury_text}"
    );

    // The stream pays each block.
    let streams = cli.json(&["query", "treasury", "streams", "--status", "active"]);
    assert_eq!(streams["streams"].as_array().unwrap().len(), 1, "{streams}");
    let stream_id = streams["streams"][0]["id"].as_str().unwrap().to_string();
    let a = cli.balance(&streamee);
    std::thread::sleep(Duration::from_millis(1000));
    let b = cli.balance(&streamee);
    assert!(a > 0 && b > a && (b - a) % 100 == 0, "{a} then {b}");

    // dev2 lends its power to dev1; a proposal cancels the stream. A key
    // funded only after voting began has no power on it.
    cli.tx(&["tx", "gov", "delegate", &cli.address("dev1")], "dev2");
    let cancel = json!({
        "title": "Stop the stream",
        "summary": "Enough.",
        "deposit": "1000udeai",
        "messages": [{"@type": "/deai.treasury.v1.MsgCancelStream", "stream_id": stream_id}]
    });
    let p5 = cli.submit(&write(home, "p5.json", &cancel), "dev0");
    ok(&cli.run(&["keys", "add", "latecomer"]));
    let latecomer = cli.address("latecomer");
    ok(&cli.run(&[
        "tx",
        "bank",
        "send",
        "dev0",
        &latecomer,
        "100000udeai",
        "--yes",
    ]));
    let e = err(&cli.run(&[
        "tx",
        "gov",
        "vote",
        &p5,
        "yes",
        "--from",
        "latecomer",
        "--yes",
        "--gas",
        "auto",
    ]));
    assert!(e.contains("no voting power"), "{e}");
    cli.tx(&["tx", "gov", "vote", &p5, "yes"], "dev0");
    cli.tx(&["tx", "gov", "vote", &p5, "yes"], "dev1");
    let r5 = cli.finished(&p5);
    assert_eq!(r5["status"], "passed", "{r5}");
    // dev1 voted with dev2's lent power too: yes is nearly all the power.
    let t = &r5["final_tally"];
    let yes: u128 = t["yes"].as_str().unwrap().parse().unwrap();
    let total: u128 = t["total_power"].as_str().unwrap().parse().unwrap();
    assert!(yes * 100 > total * 99, "{t}");
    let stopped = cli.json(&["query", "treasury", "streams", "--status", "cancelled"]);
    assert_eq!(stopped["streams"].as_array().unwrap().len(), 1, "{stopped}");
    let c = cli.balance(&streamee);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(cli.balance(&streamee), c, "a cancelled stream paid");
    let spends = cli.json(&["query", "treasury", "spends"]);
    assert!(spends["spends"].as_array().unwrap().len() >= 3, "{spends}");

    // Bad input: each a clear error, nothing broadcast, nothing changed.
    let dev0 = cli.address("dev0");
    let account_before = ok(&cli.run(&["query", "account", &dev0]));
    std::fs::write(home.join("bad.json"), b"{ \"title\": ").unwrap();
    let e = err(&cli.run(&[
        "tx",
        "gov",
        "submit-proposal",
        home.join("bad.json").to_str().unwrap(),
        "--from",
        "dev0",
        "--yes",
    ]));
    assert!(e.contains("not valid JSON"), "{e}");
    let bad_msg = json!({"title": "t", "summary": "s", "messages": [{"@type": "/cosmos.bank.v1beta1.MsgSend"}]});
    let e = err(&cli.run(&[
        "tx",
        "gov",
        "submit-proposal",
        write(home, "bad2.json", &bad_msg).to_str().unwrap(),
        "--from",
        "dev0",
        "--yes",
    ]));
    assert!(e.contains("cannot carry"), "{e}");
    let e = err(&cli.run(&[
        "tx", "gov", "vote", &p1, "yes", "--from", "dev0", "--yes", "--gas", "auto",
    ]));
    assert!(e.contains("voting period"), "{e}");
    let e = err(&cli.run(&["tx", "gov", "vote", &p1, "maybe", "--from", "dev0", "--yes"]));
    assert!(e.contains("use yes, no, abstain or no_with_veto"), "{e}");
    // An initial deposit below min_initial_deposit_ppm (25%) of min_deposit
    // is refused.
    let cheap = json!({"title": "Spam", "summary": "Costs nothing.", "deposit": "249udeai"});
    let e = err(&cli.run(&[
        "tx",
        "gov",
        "submit-proposal",
        write(home, "cheap.json", &cheap).to_str().unwrap(),
        "--from",
        "dev1",
        "--yes",
    ]));
    assert!(
        e.contains("the initial deposit must be at least 250udeai"),
        "{e}"
    );
    // dev2 proposes with a quarter of the deposit, dev1 adds to it, and dev2
    // cancels: only dev2's own deposit is cut (cancel_burn_ppm, half), dev1
    // gets all of its deposit back.
    let mut quarter = text;
    quarter["deposit"] = json!("400udeai");
    let p6 = cli.submit(&write(home, "p6.json", &quarter), "dev2");
    let dev1 = cli.address("dev1");
    cli.tx(&["tx", "gov", "deposit", &p6, "100udeai"], "dev1");
    assert_eq!(cli.proposal(&p6)["status"], "deposit_period");
    let dev1_before = cli.balance(&dev1);
    let supply_at_cancel = cli.supply();
    cli.tx(&["tx", "gov", "cancel", &p6], "dev2");
    assert_eq!(cli.proposal(&p6)["status"], "cancelled");
    assert_eq!(cli.balance(&dev1), dev1_before + 100);
    assert_eq!(cli.supply(), supply_at_cancel - 200);
    let e = err(&cli.run(&[
        "tx", "gov", "cancel", &p6, "--from", "dev2", "--yes", "--gas", "auto",
    ]));
    assert!(e.contains("cancelled"), "{e}");
    assert_eq!(ok(&cli.run(&["query", "account", &dev0])), account_before);
}
