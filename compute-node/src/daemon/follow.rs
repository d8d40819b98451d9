//! Following new blocks: a `tm.event='NewBlock'` subscription on the node's
//! `/websocket` when it has one, else polling `status` every 200 ms. Either
//! way an event only wakes the daemon, which then reads the latest height
//! from `status`, so a missed or duplicated event costs nothing.

use std::time::{Duration, Instant};

use futures::StreamExt;
use tendermint_rpc::{
    client::CompatMode, query::EventType, Subscription, SubscriptionClient, WebSocketClient,
    WebSocketClientUrl,
};

use super::{chain::Chain, Backoff};

/// How often `status` is polled without a websocket.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How long a websocket connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long after losing the websocket before trying it again.
const RETRY_WEBSOCKET: Duration = Duration::from_secs(30);

struct Live {
    // Kept so the connection stays open; dropping it closes the driver.
    _client: WebSocketClient,
    subscription: Subscription,
}

/// Wakes the daemon on every new block.
pub struct Follower {
    ws_url: Option<WebSocketClientUrl>,
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

impl Follower {
    /// A follower of the node at `node` (an `http://` RPC address).
    pub fn new(node: &str) -> Self {
        Follower {
            ws_url: websocket_url(node),
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

    /// Waits for the next wake-up: a NewBlock event, or a poll interval.
    async fn tick(&mut self) {
        if self.live.is_none() && Instant::now() >= self.next_attempt {
            if let Some(url) = self.ws_url.clone() {
                match Self::connect(url.clone()).await {
                    Ok(live) => {
                        tracing::info!(%url, "following new blocks over the websocket");
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
        if let Some(live) = &mut self.live {
            // A quiet websocket must not stall the daemon: poll as well after a while.
            match tokio::time::timeout(Duration::from_secs(5), live.subscription.next()).await {
                Ok(Some(Ok(_))) | Err(_) => return,
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "websocket event error: polling status every 200 ms")
                }
                Ok(None) => tracing::warn!("websocket closed: polling status every 200 ms"),
            }
            self.live = None;
            self.warned_polling = true;
            self.next_attempt = Instant::now() + RETRY_WEBSOCKET;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }

    /// Waits until the chain is past `last`; returns the new latest height.
    /// Retries with exponential backoff while the node does not answer.
    pub async fn next_height(&mut self, chain: &Chain, last: u64) -> u64 {
        let mut backoff = Backoff::new();
        loop {
            self.tick().await;
            match chain.height().await {
                Ok(h) if h > last => return h,
                Ok(_) => {}
                Err(e) => {
                    self.live = None;
                    backoff.wait("reading the node's height", &e).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_websocket_sits_at_slash_websocket_on_the_rpc_address() {
        let url = websocket_url("http://127.0.0.1:26657").unwrap();
        assert_eq!(url.to_string(), "ws://127.0.0.1:26657/websocket");
        let url = websocket_url("http://127.0.0.1:26657/").unwrap();
        assert_eq!(url.to_string(), "ws://127.0.0.1:26657/websocket");
        assert!(websocket_url("tcp://x").is_none());
    }
}
