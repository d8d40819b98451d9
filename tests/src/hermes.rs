//! Hermes, the IBC relayer (informalsystems' `ibc-relayer-cli`, pinned and
//! built by `scripts/install-ibc-tools.sh`), run by tests against real
//! chains: a config for two or more chains, keys from mnemonics, channels,
//! one-shot relaying commands and a background `hermes start`.
//!
//! Hermes and ibc-go's `simd` come from `DEAI_HERMES` and `DEAI_SIMD`
//! (`scripts/test.sh` sets them from the install script). Without them
//! [`tools`] returns `None` so a test can skip, unless
//! `DEAI_REQUIRE_IBC_TOOLS=1`, which makes a missing binary a failure.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The Hermes and simd binaries, or `None` to skip.
pub fn tools() -> Option<(PathBuf, PathBuf)> {
    let get = |var: &str| {
        std::env::var(var)
            .ok()
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    match (get("DEAI_HERMES"), get("DEAI_SIMD")) {
        (Some(h), Some(s)) => Some((h, s)),
        _ if std::env::var("DEAI_REQUIRE_IBC_TOOLS").as_deref() == Ok("1") => {
            panic!("DEAI_REQUIRE_IBC_TOOLS=1 but DEAI_HERMES or DEAI_SIMD names no file")
        }
        _ => {
            eprintln!("skipping: set DEAI_HERMES and DEAI_SIMD (scripts/install-ibc-tools.sh prints them)");
            None
        }
    }
}

/// DeAI's proof specs as Hermes's `proof_specs` setting wants them: a JSON
/// array (pbjson field names, bytes in base64) of the IBC substore's JMT
/// spec, then the main tree's. A counterparty's client of DeAI must carry
/// exactly these, or DeAI refuses it in the connection handshake.
pub fn deai_proof_specs_json() -> String {
    let spec = jmt::ics23_spec();
    serde_json::to_string(&vec![spec.clone(), spec]).expect("proof specs serialize")
}

/// One chain Hermes relays for.
#[derive(Debug, Clone)]
pub struct ChainConfig {
    /// The chain id.
    pub id: String,
    /// CometBFT RPC, `http://…`.
    pub rpc: String,
    /// The Cosmos gRPC server, `http://…`.
    pub grpc: String,
    /// The bech32 account prefix.
    pub prefix: String,
    /// Gas price and its denom.
    pub gas_price: (f64, String),
    /// Custom proof specs (JSON, see [`deai_proof_specs_json`]); `None` for
    /// the Cosmos SDK's IAVL ones.
    pub proof_specs: Option<String>,
    /// The trusting period of clients of this chain (default 14 days).
    pub trusting_period: Option<String>,
}

impl ChainConfig {
    /// A DeAI chain.
    pub fn deai(id: &str, rpc: &str, grpc: &str) -> Self {
        ChainConfig {
            id: id.into(),
            rpc: rpc.trim_end_matches('/').into(),
            grpc: grpc.trim_end_matches('/').into(),
            prefix: "deai".into(),
            gas_price: (0.01, "udeai".into()),
            proof_specs: Some(deai_proof_specs_json()),
            trusting_period: None,
        }
    }

    /// A simd chain (ibc-go's simapp).
    pub fn simd(id: &str, rpc: &str, grpc: &str) -> Self {
        ChainConfig {
            id: id.into(),
            rpc: rpc.trim_end_matches('/').into(),
            grpc: grpc.trim_end_matches('/').into(),
            prefix: "cosmos".into(),
            gas_price: (0.001, "stake".into()),
            proof_specs: None,
            trusting_period: None,
        }
    }
}

/// The `config.toml` for `chains`, keys kept in `keys_dir`.
pub fn config(chains: &[ChainConfig], keys_dir: &Path) -> String {
    let mut out = String::from(
        "[global]\nlog_level = 'info'\n\n\
         [mode.clients]\nenabled = true\nrefresh = true\nmisbehaviour = false\n\n\
         [mode.connections]\nenabled = false\n\n[mode.channels]\nenabled = false\n\n\
         [mode.packets]\nenabled = true\nclear_interval = 20\nclear_on_start = true\n\
         tx_confirmation = true\n\n\
         [rest]\nenabled = false\nhost = '127.0.0.1'\nport = 3000\n\n\
         [telemetry]\nenabled = false\nhost = '127.0.0.1'\nport = 3001\n",
    );
    for c in chains {
        let ws = c.rpc.replacen("http:", "ws:", 1);
        let _ = write!(
            out,
            "\n[[chains]]\nid = '{id}'\ntype = 'CosmosSdk'\nrpc_addr = '{rpc}'\n\
             grpc_addr = '{grpc}'\n\
             event_source = {{ mode = 'push', url = '{ws}/websocket', batch_delay = '200ms' }}\n\
             compat_mode = '0.38'\nrpc_timeout = '10s'\ntrusted_node = true\n\
             account_prefix = '{prefix}'\nkey_name = 'relayer'\nkey_store_folder = '{keys}'\n\
             store_prefix = 'ibc'\ndefault_gas = 1000000\nmax_gas = 10000000\n\
             gas_multiplier = 1.5\ngas_price = {{ price = {price}, denom = '{denom}' }}\n\
             max_msg_num = 30\nmax_tx_size = 180000\nclock_drift = '5s'\n\
             max_block_time = '30s'\ntrusting_period = '{trusting}'\ntrust_threshold = '2/3'\n\
             address_type = {{ derivation = 'cosmos' }}\n",
            id = c.id,
            rpc = c.rpc,
            grpc = c.grpc,
            prefix = c.prefix,
            keys = keys_dir.display(),
            price = c.gas_price.0,
            denom = c.gas_price.1,
            trusting = c.trusting_period.as_deref().unwrap_or("14days"),
        );
        if let Some(specs) = &c.proof_specs {
            let _ = writeln!(out, "proof_specs = '''\n{specs}\n'''");
        }
    }
    out
}

/// A Hermes home (config and keys) in a temporary directory; a running
/// `hermes start`, if any, is stopped on drop.
pub struct Hermes {
    bin: PathBuf,
    dir: PathBuf,
    /// Deletes `dir` on drop, unless `DEAI_KEEP_HERMES=1` keeps it to read.
    _temp: Option<tempfile::TempDir>,
    started: Option<Child>,
    /// How many times `hermes start` was started (its log is appended to).
    starts: usize,
}

impl Drop for Hermes {
    fn drop(&mut self) {
        if let Some(mut c) = self.started.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }
}

impl Hermes {
    /// A Hermes configured for `chains`.
    pub fn new(bin: &Path, chains: &[ChainConfig]) -> Hermes {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_path_buf();
        let temp = if std::env::var("DEAI_KEEP_HERMES").as_deref() == Ok("1") {
            eprintln!("keeping Hermes's home {}", dir.display());
            let _ = temp.keep();
            None
        } else {
            Some(temp)
        };
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        std::fs::write(dir.join("config.toml"), config(chains, &keys)).unwrap();
        let h = Hermes {
            bin: bin.to_path_buf(),
            dir,
            _temp: temp,
            started: None,
            starts: 0,
        };
        h.ok(&["config", "validate"]);
        h
    }

    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// The log of `hermes start`.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("hermes.log")
    }

    /// Runs `hermes --config … ARGS…`.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs Hermes and asserts success; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "hermes {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Runs `hermes --json ARGS…` and returns the `result` of its last
    /// JSON line, asserting success.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend(args);
        let out = self.ok(&all);
        let last = out
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str::<Value>(l).ok())
            .unwrap_or_else(|| panic!("hermes {args:?}: no JSON in {out}"));
        assert_eq!(last["status"], "success", "hermes {args:?}: {last}");
        last["result"].clone()
    }

    /// Adds the relayer key of `chain` from the mnemonic in `mnemonic_file`.
    pub fn add_key(&self, chain: &str, mnemonic_file: &Path) {
        self.ok(&[
            "keys",
            "add",
            "--chain",
            chain,
            "--mnemonic-file",
            mnemonic_file.to_str().unwrap(),
            "--overwrite",
        ]);
    }

    /// Creates clients, a connection and a channel between `a` and `b` on
    /// ports `a_port` and `b_port` (channel version `version`, or the
    /// ports' default when `None`); returns the channel ids on `a` and `b`.
    pub fn create_channel(
        &self,
        a: &str,
        b: &str,
        a_port: &str,
        b_port: &str,
        version: Option<&str>,
    ) -> (String, String) {
        let mut args = vec![
            "create",
            "channel",
            "--a-chain",
            a,
            "--b-chain",
            b,
            "--a-port",
            a_port,
            "--b-port",
            b_port,
            "--new-client-connection",
            "--yes",
        ];
        if let Some(v) = version {
            args.extend(["--channel-version", v]);
        }
        channel_ids(&self.json(&args))
    }

    /// Creates a channel on an existing connection `a_connection` of `a`.
    pub fn create_channel_on(
        &self,
        a: &str,
        a_connection: &str,
        a_port: &str,
        b_port: &str,
        version: &str,
    ) -> (String, String) {
        channel_ids(&self.json(&[
            "create",
            "channel",
            "--a-chain",
            a,
            "--a-connection",
            a_connection,
            "--a-port",
            a_port,
            "--b-port",
            b_port,
            "--channel-version",
            version,
        ]))
    }

    /// Starts `hermes start` in the background (logging to
    /// [`Hermes::log_path`]) and waits until it relays.
    pub fn start(&mut self) {
        self.stop();
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(self.config_path())
            .arg("start")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.started = Some(child);
        // Relaying begins once it has scanned the chains and spawned its
        // workers; a packet sent before would wait for a clearing pass.
        let log = self.log_path();
        wait_for(
            90,
            "hermes start",
            || {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                (text.matches("Hermes has started").count() >= self.starts).then_some(())
            },
            || tail(&log),
        );
    }

    /// Stops `hermes start`, if it runs.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.started.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// The last lines of the `hermes start` log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&self.log_path())
    }
}

/// The channel ids on the a and b sides of `hermes create channel`'s answer.
fn channel_ids(r: &Value) -> (String, String) {
    let id = |side: &str| {
        r[side]["channel_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no {side} channel id in {r}"))
            .to_string()
    };
    (id("a_side"), id("b_side"))
}

/// The last 40 lines of the file at `path`, for failure messages.
pub fn tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Polls `f` every 300 ms until it returns `Some`, or panics after `secs`
/// with `what` and `context()`.
pub fn wait_for<T>(
    secs: u64,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[cfg(test)]
mod tests {
    /// `tests/ibc/hermes-config.sh` (the config for people) writes the same
    /// proof specs as [`super::config`] (the config for tests).
    #[test]
    fn the_shell_config_carries_the_same_proof_specs() {
        let script = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ibc/hermes-config.sh"),
        )
        .unwrap();
        let spec = script
            .lines()
            .find_map(|l| l.strip_prefix("JMT_SPEC='"))
            .and_then(|l| l.strip_suffix('\''))
            .expect("hermes-config.sh defines JMT_SPEC");
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap();
        let ours: serde_json::Value =
            serde_json::from_str(&super::deai_proof_specs_json()).unwrap();
        assert_eq!(ours, serde_json::json!([spec.clone(), spec]));
    }
}
