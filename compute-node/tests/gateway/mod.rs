//! Starting `deai-compute gateway` for the end-to-end tests, and a raw HTTP/1.1 client for
//! the tests that do not drive it through OpenAI's Python client.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;
use sha2::Digest;

use crate::devnet::{wait, COMPUTE};

/// A running gateway; killed on drop (the end of its log printed if the test failed).
pub struct Gateway {
    pub child: Child,
    pub log: PathBuf,
    pub port: u16,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            eprintln!(
                "---- gateway log ----\n{}",
                lines[lines.len().saturating_sub(30)..].join("\n")
            );
        }
    }
}

/// The SHA-256 of an API key, as the configuration file holds it.
pub fn api_key_hash(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

impl Gateway {
    /// Starts a gateway for the node at `url` with `config` (written under `dir`), the
    /// test keyring under `home` and the models at `models`; waits until it listens.
    pub fn start(url: &str, home: &Path, dir: &Path, config: &Value, models: &Path) -> Gateway {
        let config_path = dir.join("gateway.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let port = deai_tests::free_port();
        let log = dir.join("gateway.log");
        let child = Command::new(COMPUTE)
            .args(["gateway", "--node", url, "--config"])
            .arg(&config_path)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--home"])
            .arg(home)
            .args(["--keyring-backend", "test", "--models"])
            .arg(models)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let g = Gateway { child, log, port };
        wait(Duration::from_secs(120), "the gateway to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        g
    }

    /// `POST path` with `body` and `Authorization: Bearer key`: the status and the JSON body.
    pub fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let status = raw.split(' ').nth(1).unwrap().parse().unwrap();
        let (_, body) = raw.split_once("\r\n\r\n").unwrap();
        (status, serde_json::from_str(body).unwrap_or(Value::Null))
    }
}
