//! The daemon's counters and a minimal HTTP server that serves them in the
//! Prometheus text format at `GET /metrics`. Hand-rolled on a tokio listener:
//! one request per connection, no keep-alive, which is all a scraper needs.

use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
};

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

/// The daemon's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Jobs settled with this provider in the agreeing majority.
    pub jobs_done: AtomicU64,
    /// Jobs that failed for this provider: kernel errors, missed deadlines,
    /// minority or disputed results.
    pub job_failures: AtomicU64,
    /// udeai earned (price plus emission) from settled jobs.
    pub rewards_udeai: AtomicU64,
    /// Microseconds spent in kernels.
    pub kernel_micros: AtomicU64,
    /// Latest block height seen.
    pub height: AtomicU64,
}

impl Metrics {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let micros = get(&self.kernel_micros);
        format!(
            "# HELP jobs_done_total Jobs settled with this provider in the agreeing majority.\n\
             # TYPE jobs_done_total counter\n\
             jobs_done_total {}\n\
             # HELP job_failures_total Jobs that failed, were missed, or settled against this provider.\n\
             # TYPE job_failures_total counter\n\
             job_failures_total {}\n\
             # HELP rewards_earned_udeai udeai earned from settled jobs (price plus emission).\n\
             # TYPE rewards_earned_udeai counter\n\
             rewards_earned_udeai {}\n\
             # HELP kernel_seconds_total Seconds spent running kernels.\n\
             # TYPE kernel_seconds_total counter\n\
             kernel_seconds_total {}.{:06}\n\
             # HELP chain_height Latest block height the daemon has seen.\n\
             # TYPE chain_height gauge\n\
             chain_height {}\n",
            get(&self.jobs_done),
            get(&self.job_failures),
            get(&self.rewards_udeai),
            micros / 1_000_000,
            micros % 1_000_000,
            get(&self.height),
        )
    }
}

/// Binds `addr` and serves `/metrics` until the process ends; returns the bound address.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics endpoint on {addr}"))?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    continue;
                }
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = if request.starts_with("GET ") && path == "/metrics" {
                    ("200 OK", metrics.render())
                } else {
                    ("404 Not Found", "try GET /metrics\n".to_string())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                if let Err(e) = sock.write_all(response.as_bytes()).await {
                    tracing::debug!(error = %e, "metrics: write failed");
                }
            });
        }
    });
    Ok(local)
}
