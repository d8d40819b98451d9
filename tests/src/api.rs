//! Clients of a node's Cosmos REST API for tests, and the clients nobody
//! here wrote — cosmpy (Python, from PyPI) and grpcurl
//! (Go) — installed by `scripts/install-api-clients.sh`.
//!
//! Without those two the tests that need them skip, unless
//! `DEAI_REQUIRE_API_CLIENTS=1` (set by `scripts/test.sh`), which makes a
//! missing client a failure.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The height request/answer header of the Cosmos APIs.
pub const HEIGHT_HEADER: &str = "x-cosmos-block-height";

/// A REST answer: status, body as JSON, and the height header.
#[derive(Debug)]
pub struct RestAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub json: serde_json::Value,
    /// The `x-cosmos-block-height` header, if any.
    pub height: Option<u64>,
}

/// Sends `method` `url` with `body` and an optional height header.
pub async fn rest(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Vec<u8>>,
    height: Option<&str>,
) -> anyhow::Result<RestAnswer> {
    let mut req = client.request(method, url);
    if let Some(h) = height {
        req = req.header(HEIGHT_HEADER, h);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let height = resp
        .headers()
        .get(HEIGHT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bytes = resp.bytes().await?;
    let json = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{url}: answer is not JSON ({e}): {bytes:?}"))?;
    Ok(RestAnswer {
        status,
        json,
        height,
    })
}

/// Whether missing API clients fail the test rather than skip it.
fn required() -> bool {
    std::env::var("DEAI_REQUIRE_API_CLIENTS").is_ok_and(|v| v == "1")
}

/// The cache `scripts/install-api-clients.sh` installs into.
fn cache() -> PathBuf {
    std::env::var_os("DEAI_CACHE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/deai")
        })
}

/// Finds a client: `env` names it, else `default` under the cache.
fn client(env: &str, default: &str, what: &str) -> Option<PathBuf> {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join(default));
    if path.exists() {
        return Some(path);
    }
    assert!(
        !required(),
        "{what} not found at {} (run scripts/install-api-clients.sh, or set {env})",
        path.display()
    );
    eprintln!(
        "skipping: {what} not found at {} (scripts/install-api-clients.sh installs it)",
        path.display()
    );
    None
}

/// The Python that has cosmpy, if installed.
pub fn cosmpy_python() -> Option<PathBuf> {
    client(
        "DEAI_COSMPY_PYTHON",
        "cosmpy-0.12.2/bin/python",
        "cosmpy's Python",
    )
}

/// The grpcurl binary, if installed.
pub fn grpcurl() -> Option<PathBuf> {
    client("DEAI_GRPCURL", "grpcurl-v1.9.3/bin/grpcurl", "grpcurl")
}

/// Runs `tests/py/cosmpy_check.py` with cosmpy against `url`
/// (`grpc+http://…` or `rest+http://…`): it reads an account and balances,
/// sends 1234udeai from the mnemonic's account to `recipient` with
/// simulated gas, waits for the tx and checks the balances; then lists the
/// bonded validators and, if there are any, delegates 1000000udeai to the
/// first and reads the account's delegations and unbondings. Returns the
/// JSON line it prints.
pub fn cosmpy_check(
    python: &Path,
    url: &str,
    chain_id: &str,
    mnemonic: &str,
    recipient: &str,
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("py/cosmpy_check.py");
    let out = Command::new(python)
        .arg(script)
        .args([url, chain_id, mnemonic, recipient])
        .output()
        .expect("running cosmpy");
    assert!(
        out.status.success(),
        "cosmpy against {url} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("cosmpy printed {text:?}: {e}"))
}

/// The services `grpcurl list` finds at `addr` through server reflection.
pub fn grpcurl_list(grpcurl: &Path, addr: &str) -> Vec<String> {
    let out = Command::new(grpcurl)
        .args(["-plaintext", addr, "list"])
        .output()
        .expect("running grpcurl");
    assert!(
        out.status.success(),
        "grpcurl list {addr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `grpcurl -d JSON addr METHOD`: the answer as JSON (grpcurl resolves the
/// method through reflection and writes proto3 JSON with camelCase names).
pub fn grpcurl_call(grpcurl: &Path, addr: &str, method: &str, json: &str) -> serde_json::Value {
    let out = Command::new(grpcurl)
        .args(["-plaintext", "-d", json, addr, method])
        .output()
        .expect("running grpcurl");
    assert!(
        out.status.success(),
        "grpcurl {method}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("grpcurl prints JSON")
}
