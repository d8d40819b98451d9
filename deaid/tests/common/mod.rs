//! Helpers shared by the command-line tests: run `deaid`, check its
//! outcome, and run a devnet in the background.

#![allow(dead_code)] // each test file uses a different subset

use std::process::{Command, Output};

/// The `deaid` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_deaid");

/// Runs `deaid --home HOME ARGS…`.
pub fn deaid(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Asserts success and returns stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Asserts failure and returns stderr.
pub fn err(o: &Output) -> String {
    assert!(!o.status.success(), "unexpectedly succeeded");
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A running `deaid devnet` and its RPC address; killed on drop.
pub struct Devnet {
    child: std::process::Child,
    /// The RPC address.
    pub url: String,
}

impl Drop for Devnet {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Starts `deaid devnet` (200 ms blocks) on `home` and waits for its RPC.
pub fn start_devnet(home: &std::path::Path) -> Devnet {
    let (child, url) =
        deai_tests::spawn_devnet(std::path::Path::new(BIN), home, "200ms", "127.0.0.1:0");
    Devnet { child, url }
}

/// Runs the CLI against a running devnet's RPC with the test keyring.
pub struct Cli<'a> {
    /// The home holding the keyring.
    pub home: &'a std::path::Path,
    /// The node's RPC address.
    pub node: String,
}

impl Cli<'_> {
    /// Runs `deaid ARGS…` against the node.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--home")
            .arg(self.home)
            .args(args)
            .env("RUST_LOG", "warn")
            .env("DEAI_NODE", &self.node)
            .env("DEAI_KEYRING_BACKEND", "test")
            .output()
            .unwrap()
    }

    /// Runs a query (or tx) with `--output json` and parses its answer.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&ok(&self.run(&all))).unwrap()
    }

    /// Signs a tx with key `from` and waits for its block.
    pub fn tx(&self, args: &[&str], from: &str) -> String {
        let mut all = args.to_vec();
        all.extend(["--from", from, "--yes"]);
        ok(&self.run(&all))
    }

    /// The address of key `key`.
    pub fn address(&self, key: &str) -> String {
        ok(&self.run(&["keys", "show", key, "--address"]))
            .trim()
            .to_string()
    }

    /// The udeai balance of `addr`.
    pub fn balance(&self, addr: &str) -> u128 {
        let v = self.json(&["query", "bank", "balances", addr]);
        v["balances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["denom"] == "udeai")
            .map_or(0, |c| c["amount"].as_str().unwrap().parse().unwrap())
    }
}

/// `msg`, a `full_name` message, as the CLI's `--output json` and the REST
/// gateway write it (see `deai_proto::to_lcd_json`).
pub fn proto_json<M: prost::Message>(full_name: &str, msg: &M) -> serde_json::Value {
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name(full_name)
        .unwrap_or_else(|| panic!("{full_name} is in the descriptor pool"));
    let dynamic = prost_reflect::DynamicMessage::decode(desc, msg.encode_to_vec().as_slice())
        .unwrap_or_else(|e| panic!("{full_name} decodes: {e}"));
    deai_proto::to_lcd_json(&dynamic).unwrap()
}

/// `bytes` as proto JSON writes a `bytes` field: standard base64.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
