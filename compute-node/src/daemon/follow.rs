//! Following the chain: a `tm.event='NewBlock'` subscription on the node's
//! `/websocket` when it has one, else polling `status` every 200 ms.
//!
//! Over the websocket each block's FinalizeBlock events come with it, so the
//! daemon learns which jobs were assigned to it (`compute_job_assigned`
//! naming its address) from the events, and needs to read only its own jobs
//! each block. When it cannot be sure it saw every block's events (polling,
//! a reconnect, a gap in heights) it says so, and the daemon falls back to
//! scanning all assigned jobs once.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use futures::{FutureExt, StreamExt};
use tendermint_rpc::{
    client::CompatMode, event::EventData, query::EventType, Subscription, SubscriptionClient,
    WebSocketClient, WebSocketClientUrl, WebSocketConfig,
};

use super::{chain::Chain, Backoff};

/// How often `status` is polled without a websocket.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long a websocket connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long after losing the websocket before trying it again.
const RETRY_WEBSOCKET: Duration = Duration::from_secs(30);
/// How long a quiet websocket is trusted before `status` is asked as well.
const QUIET_WEBSOCKET: Duration = Duration::from_secs(5);
/// Largest websocket message (one block with its events) read: a full CometBFT block
/// (22 MB by default) in base64 JSON with its events fits; a larger message drops the
/// connection, and the daemon polls `status` instead.
const MAX_WEBSOCKET_MESSAGE: usize = 64 << 20;
/// Largest websocket frame.
const MAX_WEBSOCKET_FRAME: usize = 16 << 20;
/// Most queued blocks taken at one wake-up; the rest wait for the next one, so a
/// backlog is handled in bounded steps.
const MAX_BLOCKS_PER_WAKE: usize = 64;

/// What the daemon learns at a wake-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    /// The latest height known.
    pub height: u64,
    /// Jobs that blocks up to `height` assigned to this provider, by their events.
    pub assigned: BTreeSet<u64>,
    /// Whether `assigned` covers every block after the previous tick's height:
    /// false after polling, a reconnect or a missed block, when the daemon
    /// must look the jobs up itself.
    pub complete: bool,
}

struct Live {
    // Kept so the connection stays open; dropping it closes the driver.
    _client: WebSocketClient,
    subscription: Subscription,
}

/// Wakes the daemon on every new block.
pub struct Follower {
    ws_url: Option<WebSocketClientUrl>,
    provider: String,
    live: Option<Live>,
    next_attempt: Instant,
    warned_polling: bool,
}

/// `http://host:port` → `ws://host:port/websocket`.
fn websocket_url(node: &str) -> Option<WebSocketClientUrl> {
    let rest = node
        .strip_prefix("http://")
        .map(|r| format!("ws://{r}"))
        .or_else(|| node.strip_prefix("https://").map(|r| format!("wss://{r}")))?;
    format!("{}/websocket", rest.trim_end_matches('/'))
        .parse()
        .ok()
}

/// Explicit size bounds on what the node may send over the websocket.
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig {
        max_message_size: Some(MAX_WEBSOCKET_MESSAGE),
        max_frame_size: Some(MAX_WEBSOCKET_FRAME),
        ..WebSocketConfig::default()
    }
}

/// A block's height and the jobs its `compute_job_assigned` events assign to `provider`.
fn block_assignments(data: &EventData, provider: &str) -> Option<(u64, BTreeSet<u64>)> {
    let EventData::NewBlock {
        block: Some(block),
        result_finalize_block,
        ..
    } = data
    else {
        return None;
    };
    let height = block.header.height.value();
    let mut jobs = BTreeSet::new();
    for e in result_finalize_block.iter().flat_map(|r| &r.events) {
        if e.kind != "compute_job_assigned" {
            continue;
        }
        let attr = |key: &'static str| {
            e.attributes
                .iter()
                .filter(move |a| a.key_bytes() == key.as_bytes())
                .filter_map(|a| a.value_str().ok())
        };
        if attr("provider").any(|p| p == provider) {
            if let Some(id) = attr("job_id").next().and_then(|v| v.parse().ok()) {
                jobs.insert(id);
            }
        }
    }
    Some((height, jobs))
}

impl Follower {
    /// A follower of the node at `node` (an `http://` RPC address) for `provider` (bech32).
    pub fn new(node: &str, provider: &str) -> Self {
        Follower {
            ws_url: websocket_url(node),
            provider: provider.to_string(),
            live: None,
            next_attempt: Instant::now(),
            warned_polling: false,
        }
    }

    async fn connect(url: WebSocketClientUrl) -> anyhow::Result<Live> {
        let (client, driver) = tokio::time::timeout(
            CONNECT_TIMEOUT,
            WebSocketClient::builder(url)
                .compat_mode(CompatMode::V0_38)
                .config(websocket_config())
                .build(),
        )
        .await??;
        tokio::spawn(async move {
            if let Err(e) = driver.run().await {
                tracing::debug!(error = %e, "websocket driver ended");
            }
        });
        let subscription = tokio::time::timeout(
            CONNECT_TIMEOUT,
            client.subscribe(EventType::NewBlock.into()),
        )
        .await??;
        Ok(Live {
            _client: client,
            subscription,
        })
    }

    fn lose_websocket(&mut self) {
        self.live = None;
        self.warned_polling = true;
        self.next_attempt = Instant::now() + RETRY_WEBSOCKET;
    }

    /// Waits for the next wake-up. Over the websocket: the blocks that
    /// arrived (every queued one, so a slow step does not fall behind), with
    /// their heights and this provider's assignments; `None` after a poll
    /// interval or a quiet websocket.
    async fn wake(&mut self) -> Option<Vec<(u64, BTreeSet<u64>)>> {
        if self.live.is_none() && Instant::now() >= self.next_attempt {
            if let Some(url) = self.ws_url.clone() {
                match Self::connect(url.clone()).await {
                    Ok(live) => {
                        tracing::info!(%url, "following new blocks and job events over the websocket");
                        self.live = Some(live);
                        self.warned_polling = false;
                    }
                    Err(e) => {
                        if !self.warned_polling {
                            tracing::info!(%url, error = %e, "websocket unavailable: polling status every 200 ms");
                            self.warned_polling = true;
                        }
                        self.next_attempt = Instant::now() + RETRY_WEBSOCKET;
                    }
                }
            }
        }
        let Some(live) = &mut self.live else {
            tokio::time::sleep(POLL_INTERVAL).await;
            return None;
        };
        let first = match tokio::time::timeout(QUIET_WEBSOCKET, live.subscription.next()).await {
            Err(_) => return None, // quiet: ask `status` instead
            Ok(next) => next,
        };
        let mut events = vec![first];
        while events.len() < MAX_BLOCKS_PER_WAKE {
            let Some(next) = live.subscription.next().now_or_never() else {
                break;
            };
            events.push(next);
        }
        let mut blocks = Vec::new();
        for event in events {
            match event {
                Some(Ok(ev)) => blocks.extend(block_assignments(&ev.data, &self.provider)),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "websocket event error: polling status every 200 ms");
                    self.lose_websocket();
                    return None;
                }
                None => {
                    tracing::warn!("websocket closed: polling status every 200 ms");
                    self.lose_websocket();
                    return None;
                }
            }
        }
        Some(blocks)
    }

    /// Waits until the chain is past `last`; returns the new latest height and
    /// the assignments seen on the way. Retries with exponential backoff while
    /// the node does not answer.
    pub async fn next_tick(&mut self, chain: &Chain, last: u64) -> Tick {
        let mut backoff = Backoff::new();
        let mut tick = Tick {
            height: last,
            assigned: BTreeSet::new(),
            complete: true,
        };
        loop {
            match self.wake().await {
                Some(blocks) => {
                    for (height, jobs) in blocks {
                        if height <= tick.height {
                            continue; // seen already
                        }
                        // A block skipped (dropped events, a reconnect) hides its assignments.
                        tick.complete &= height == tick.height + 1;
                        tick.height = height;
                        tick.assigned.extend(jobs);
                    }
                    if tick.height > last {
                        return tick;
                    }
                }
                None => match chain.height().await {
                    Ok(h) if h > tick.height => {
                        tick.height = h;
                        tick.complete = false;
                        return tick;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.live = None;
                        backoff.wait("reading the node's height", &e).await;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tendermint::abci::{response::FinalizeBlock, Event, EventAttributeIndexExt};

    use super::*;

    #[test]
    fn the_websocket_sits_at_slash_websocket_on_the_rpc_address() {
        let url = websocket_url("http://127.0.0.1:26657").unwrap();
        assert_eq!(url.to_string(), "ws://127.0.0.1:26657/websocket");
        let url = websocket_url("http://127.0.0.1:26657/").unwrap();
        assert_eq!(url.to_string(), "ws://127.0.0.1:26657/websocket");
        assert!(websocket_url("tcp://x").is_none());
    }

    fn assigned(job: u64, providers: &[&str]) -> Event {
        let mut attrs = vec![("job_id", job.to_string()).no_index()];
        attrs.extend(
            providers
                .iter()
                .map(|p| ("provider", p.to_string()).no_index()),
        );
        Event::new("compute_job_assigned", attrs)
    }

    fn new_block(height: u64, events: Vec<Event>) -> EventData {
        let block: tendermint::Block = serde_json::from_value(serde_json::json!({
            "header": {
                "version": {"block": "11", "app": "0"},
                "chain_id": "deai-test",
                "height": height.to_string(),
                "time": "2026-01-01T00:00:00Z",
                "last_block_id": null,
                "last_commit_hash": null,
                "data_hash": null,
                "validators_hash": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "next_validators_hash": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "consensus_hash": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                "app_hash": "",
                "last_results_hash": null,
                "evidence_hash": null,
                "proposer_address": "0000000000000000000000000000000000000000"
            },
            "data": {"txs": []},
            "evidence": {"evidence": []},
            "last_commit": null
        }))
        .unwrap();
        EventData::NewBlock {
            block: Some(Box::new(block)),
            block_id: Default::default(),
            result_finalize_block: Some(FinalizeBlock {
                events,
                tx_results: vec![],
                validator_updates: vec![],
                consensus_param_updates: None,
                app_hash: Default::default(),
            }),
        }
    }

    #[test]
    fn only_assignments_naming_this_provider_are_picked_from_a_block() {
        let data = new_block(
            7,
            vec![
                assigned(3, &["deai1other", "deai1me"]),
                assigned(4, &["deai1other"]),
                Event::new("compute_job_settled", [("job_id", "2").no_index()]),
                assigned(9, &["deai1me"]),
            ],
        );
        let (height, jobs) = block_assignments(&data, "deai1me").unwrap();
        assert_eq!(height, 7);
        assert_eq!(jobs.into_iter().collect::<Vec<_>>(), vec![3, 9]);
        let (_, none) = block_assignments(&data, "deai1nobody").unwrap();
        assert!(none.is_empty());
    }
}
