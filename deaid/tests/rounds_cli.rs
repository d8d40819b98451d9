//! Private data round queries from the `deaid` command line against a
//! running devnet: no rounds yet, and an unknown round or model version is
//! one clear line. Rounds themselves run in `app/tests/rounds.rs` and the
//! module's tests.

#![allow(clippy::unwrap_used)]

mod common;

use common::{deaid, err, ok, start_devnet, Cli};

#[test]
fn round_queries_answer_and_an_unknown_round_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    ok(&deaid(home, &["devnet", "--init-only"]));
    let net = start_devnet(home);
    let cli = Cli {
        home,
        node: net.url.clone(),
    };
    let rounds = cli.json(&["query", "rounds", "rounds"]);
    assert_eq!(rounds["rounds"], serde_json::json!([]), "{rounds}");
    let text = ok(&cli.run(&["query", "rounds", "rounds", "--limit", "5"]));
    assert!(text.contains("\"rounds\""), "{text}");
    for args in [
        ["query", "rounds", "round", "7"],
        ["query", "rounds", "lineage", "3"],
    ] {
        let e = err(&cli.run(&args));
        assert!(
            e.contains("not found") || e.contains("no "),
            "{args:?}: {e}"
        );
        assert_eq!(e.trim().lines().count(), 1, "{e}");
    }
}
