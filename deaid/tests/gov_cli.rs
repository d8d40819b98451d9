//! Governance and the DAO treasury end to end, through the `deaid` command
//! line against a running devnet with three members (dev0, dev1, dev2,
//! equal balances): a treasury spend passes and pays; a proposal submitted
//! below the minimum deposit opens for voting once another member deposits,
//! and then fails quorum because only one member votes; a vetoed proposal's
//! deposit is burned; a stream pays every block and stops when a later
//! proposal cancels it; an initial deposit under a quarter of the minimum is
//! refused; a proposer's cancel burns half of its own deposit and none of
//! another member's; and bad input is refused with a clear error before
//! anything is broadcast (a message a proposal may not carry, by the chain
//! and for nothing). Along the way the proposals (by status), votes,
//! deposits, gov params and treasury params queries are checked against
//! what was sent, in the proto JSON the REST gateway also writes.
//!
//! Without a node: a proposal file in proto JSON is signed into exactly the
//! prost encoding of its messages.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{deaid, err, ok, proto_json, start_devnet, Cli};
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
        self.json(&["query", "gov", "proposal", id])["proposal"].clone()
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

    /// `query gov votes ID` as (voter, "option=weight,…") pairs, by voter,
    /// read from its proto JSON (`VOTE_OPTION_YES`, weights in units of
    /// 1e-18).
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
                        let option = o["option"].as_str().unwrap();
                        let weight = o["weight"].as_str().unwrap().parse().unwrap();
                        format!(
                            "{}={}",
                            option.strip_prefix("VOTE_OPTION_").unwrap().to_lowercase(),
                            deai_gov::msg::format_weight(weight)
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
            if p["status"] != status("voting_period") && p["status"] != status("deposit_period") {
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

/// The proto JSON name of proposal status `short`, e.g.
/// `PROPOSAL_STATUS_PASSED`.
fn status(short: &str) -> String {
    format!("PROPOSAL_STATUS_{}", short.to_ascii_uppercase())
}

/// `n` udeai as proto JSON writes coins.
fn udeai(n: u128) -> Value {
    json!([{"denom": "udeai", "amount": n.to_string()}])
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
    assert_eq!(cli.proposal(&p2)["status"], status("deposit_period"));
    assert_eq!(cli.proposal_ids(Some("deposit_period")), vec![p2.clone()]);
    cli.tx(&["tx", "gov", "deposit", &p2, "600udeai"], "dev0");
    let p2_now = cli.proposal(&p2);
    assert_eq!(p2_now["status"], status("voting_period"), "{p2_now}");
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
    vetoed["messages"][0]["amount"] = udeai(4_000_000);
    let p3 = cli.submit(&write(home, "p3.json", &vetoed), "dev2");

    let stream = json!({
        "title": "Stream to the streamee",
        "summary": "100udeai a block.",
        "deposit": "1000udeai",
        "messages": [{
            "@type": "/deai.treasury.v1.MsgCreateStream",
            "recipient": streamee,
            "amount_per_block": [{"denom": "udeai", "amount": "100"}],
            "payments": 100000
        }]
    });
    let p4 = cli.submit(&write(home, "p4.json", &stream), "dev0");
    for p in [&p1, &p2, &p3, &p4] {
        assert_eq!(
            cli.proposal(p)["status"],
            status("voting_period"),
            "proposal {p}"
        );
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
    assert_eq!(r1["status"], status("passed"), "{r1}");
    assert_eq!(cli.balance(&grantee), 1_000_000);
    let r2 = cli.finished(&p2);
    assert_eq!(r2["status"], status("rejected"), "{r2}");
    assert_eq!(r2["failed_reason"], "quorum not reached");
    let r3 = cli.finished(&p3);
    assert_eq!(r3["status"], status("vetoed"), "{r3}");
    // The vetoed deposit is burned: supply falls by exactly 1000udeai, and
    // dev2 got nothing back (it paid only fees since).
    assert_eq!(cli.supply(), supply_before - 1000);
    assert!(cli.balance(&dev2) < dev2_before);
    let r4 = cli.finished(&p4);
    assert_eq!(r4["status"], status("passed"), "{r4}");
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
    let gov_params: deai_gov::GovParams = serde_json::from_value(params.clone()).unwrap();
    assert_eq!(
        cli.json(&["query", "gov", "params"])["params"],
        proto_json("deai.gov.v1.Params", &gov_params.to_proto())
    );
    assert_eq!(
        cli.json(&["query", "treasury", "params"])["params"],
        proto_json(
            "deai.treasury.v1.Params",
            &deai_treasury::TreasuryParams::default().to_proto()
        )
    );
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
    assert_eq!(r5["status"], status("passed"), "{r5}");
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
    // A message type the chain does not define, a field its message does
    // not have, a field of the wrong type: one line each, naming the
    // message, before anything is signed.
    let good = spend["messages"][0].clone();
    let with = |name: &str, value: Value| {
        let mut m = good.clone();
        m[name] = value;
        m
    };
    for (n, (message, want)) in [
        (
            json!({"@type": "/deai.treasury.v1.MsgSteal", "amount": udeai(1)}),
            "messages[1]: unknown message type \"/deai.treasury.v1.MsgSteal\"",
        ),
        (
            with("recipeint", json!(grantee)),
            "messages[1] (/deai.treasury.v1.MsgSpend): unrecognized field name 'recipeint'",
        ),
        (
            with("amount", json!("5udeai")),
            "messages[1].amount (/deai.treasury.v1.MsgSpend): invalid type: string \"5udeai\"",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let file = json!({"title": "t", "summary": "s", "messages": [good, message]});
        let o = cli.run(&[
            "tx",
            "gov",
            "submit-proposal",
            write(home, &format!("bad-message-{n}.json"), &file)
                .to_str()
                .unwrap(),
            "--from",
            "dev0",
            "--yes",
        ]);
        let e = err(&o);
        assert!(e.contains(want), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    // A message the chain defines but a proposal may not carry: the CLI
    // encodes it, the chain refuses it (at CheckTx, so nothing changes).
    let send = json!({"title": "t", "summary": "s", "messages": [{
        "@type": "/cosmos.bank.v1beta1.MsgSend",
        "from_address": deai_treasury::address().to_bech32(),
        "to_address": dev0,
        "amount": udeai(1)
    }]});
    let e = err(&cli.run(&[
        "tx",
        "gov",
        "submit-proposal",
        write(home, "bad2.json", &send).to_str().unwrap(),
        "--from",
        "dev0",
        "--yes",
    ]));
    assert!(e.contains("is not one a proposal may execute"), "{e}");
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
    assert_eq!(cli.proposal(&p6)["status"], status("deposit_period"));
    let dev1_before = cli.balance(&dev1);
    let supply_at_cancel = cli.supply();
    cli.tx(&["tx", "gov", "cancel", &p6], "dev2");
    assert_eq!(cli.proposal(&p6)["status"], status("cancelled"));
    assert_eq!(cli.balance(&dev1), dev1_before + 100);
    assert_eq!(cli.supply(), supply_at_cancel - 200);
    let e = err(&cli.run(&[
        "tx", "gov", "cancel", &p6, "--from", "dev2", "--yes", "--gas", "auto",
    ]));
    assert!(e.contains("cancelled"), "{e}");
    assert_eq!(ok(&cli.run(&["query", "account", &dev0])), account_before);
}

/// The `MsgSubmitProposal` inside a tx that `--offline` printed.
fn submitted(printed: &Value) -> cosmos_sdk_proto::cosmos::gov::v1::MsgSubmitProposal {
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{TxBody, TxRaw};
    use prost::Message;
    let raw = TxRaw::decode(
        hex::decode(printed["tx_hex"].as_str().unwrap())
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    let body = TxBody::decode(raw.body_bytes.as_slice()).unwrap();
    assert_eq!(body.messages.len(), 1);
    assert_eq!(
        body.messages[0].type_url,
        deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL
    );
    Message::decode(body.messages[0].value.as_slice()).unwrap()
}

#[test]
fn a_proposal_file_in_proto_json_is_signed_as_the_prost_encoding_of_its_messages() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // Offline: the node address is never called.
    let cli = Cli {
        home,
        node: "http://127.0.0.1:9".to_string(),
    };
    ok(&cli.run(&["keys", "add", "k"]));
    let offline = |file: &std::path::Path| {
        cli.run(&[
            "tx",
            "gov",
            "submit-proposal",
            file.to_str().unwrap(),
            "--from",
            "k",
            "--offline",
            "--chain-id",
            "c",
            "--account-number",
            "0",
            "--sequence",
            "0",
            "--output",
            "json",
        ])
    };

    // A gov params change (a message nested in the message) and a spend,
    // written as proto JSON: strings for 64-bit integers or numbers,
    // lowerCamelCase or proto names, the authority left to the CLI in one.
    let mut params = deai_gov::GovParams::default().to_proto();
    params.voting_period_blocks = 8;
    params.max_title_len = 150;
    params.min_deposit[0].amount = "1000".to_string();
    let mut params_json = proto_json("deai.gov.v1.Params", &params);
    params_json["voting_period_blocks"] = json!(8);
    let p = params_json.as_object_mut().unwrap();
    let title_len = p.remove("max_title_len").unwrap();
    p.insert("maxTitleLen".to_string(), title_len);
    let grantee = deai_client::tx::Key::from_label("grantee")
        .address()
        .to_bech32();
    let file = json!({
        "title": "Params and a grant",
        "summary": "Two messages.",
        "deposit": "1000udeai",
        "messages": [
            {"@type": "/deai.gov.v1.MsgUpdateParams", "params": params_json},
            {
                "@type": "/deai.treasury.v1.MsgSpend",
                "authority": deai_gov::authority().to_bech32(),
                "recipient": grantee,
                "amount": udeai(5)
            }
        ]
    });
    let printed: Value =
        serde_json::from_str(&ok(&offline(&write(home, "p.json", &file)))).unwrap();
    let m = submitted(&printed);
    let gov = deai_gov::authority().to_bech32();
    let want = vec![
        deai_client::tx::any(
            deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
            &deai_proto::gov::v1::MsgUpdateParams {
                authority: gov.clone(),
                params: Some(params),
            },
        ),
        deai_client::tx::any(
            deai_treasury::MSG_SPEND_TYPE_URL,
            &deai_proto::treasury::v1::MsgSpend {
                authority: gov,
                recipient: grantee,
                amount: vec![cosmos_sdk_proto::cosmos::base::v1beta1::Coin {
                    denom: "udeai".to_string(),
                    amount: "5".to_string(),
                }],
            },
        ),
    ];
    assert_eq!(m.messages, want);
    assert_eq!(m.title, "Params and a grant");
    assert_eq!(m.initial_deposit[0].amount, "1000");

    // What draft-proposal prints is read back as the message it drafted.
    let draft: Value = serde_json::from_str(&ok(&cli.run(&[
        "tx",
        "gov",
        "draft-proposal",
        "--kind",
        "compute-params",
    ])))
    .unwrap();
    let printed: Value =
        serde_json::from_str(&ok(&offline(&write(home, "draft.json", &draft)))).unwrap();
    let want = deai_client::tx::any(
        deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL,
        &deai_proto::compute::v1::MsgUpdateParams {
            authority: deai_gov::authority().to_bech32(),
            params: Some(deai_compute_module::ComputeParams::default().to_proto()),
        },
    );
    assert_eq!(submitted(&printed).messages, vec![want]);

    // Unknown type, unknown field, wrong type: one line naming the
    // message, and nothing signed.
    for (message, want) in [
        (
            json!({"@type": "/deai.gov.v1.MsgUpdateParameters"}),
            "messages[0]: unknown message type \"/deai.gov.v1.MsgUpdateParameters\"",
        ),
        (
            json!({"@type": "/deai.gov.v1.MsgUpdateParams", "params": {"quorum": "1"}}),
            "messages[0].params (/deai.gov.v1.MsgUpdateParams): unrecognized field name 'quorum'",
        ),
        (
            json!({"@type": "/deai.gov.v1.MsgUpdateParams", "params": {"quorum_ppm": "most"}}),
            "messages[0].params.quorum_ppm (/deai.gov.v1.MsgUpdateParams): ",
        ),
    ] {
        let file = json!({"title": "t", "summary": "s", "messages": [message]});
        let o = offline(&write(home, "bad.json", &file));
        let e = err(&o);
        assert!(e.contains(want), "{e}");
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        assert!(o.stdout.is_empty());
    }
}
