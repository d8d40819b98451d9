//! The JSON-RPC websocket at `GET /websocket`, as CometBFT v0.38 serves it:
//! every ordinary method, plus `subscribe`, `unsubscribe` and
//! `unsubscribe_all` with event queries ([`crate::query`]). An event goes
//! out as a response to the `subscribe` request's id, with `query`, `data`
//! (`{"type": "tendermint/event/…", "value": …}`) and `events`.
//!
//! The upgrade handshake and the framing (masking, fragments, ping/pong,
//! close, size limits) are axum's (over tungstenite); a handshake axum
//! refuses is answered with the status and text CometBFT's (gorilla's)
//! gives.
//!
//! Block production never waits for a subscriber: blocks reach each
//! connection through a broadcast channel and leave it through a bounded
//! queue. A connection that lets either fill has its subscriptions
//! cancelled with CometBFT's error, and one whose socket takes longer than
//! [`WRITE_WAIT`] to take a message is closed.
//!
//! Bounds, as CometBFT's: a message is at most the RPC's body limit; a
//! client holds at most `max_subscriptions_per_client` subscriptions, and
//! at most `max_subscription_clients` clients hold any at once (a slot is
//! taken with the first subscription and given back with the last); a
//! client may have `max_ws_requests_in_flight` requests running; and a
//! client that sends nothing, not even a pong, for [`READ_WAIT`] is closed.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{
    extract::{
        ws::{rejection::WebSocketUpgradeRejection, Message, WebSocket, WebSocketUpgrade},
        State,
    },
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

use crate::{
    events,
    params::{route_of, Args},
    query::{Query, MAX_QUERY_LENGTH},
    rpc::{call, envelope, request as parse_request, Reply, Rpc, RpcError},
    StoredBlock,
};

/// The websocket's path, CometBFT's.
pub const PATH: &str = "/websocket";

/// Messages queued for one connection before its subscriptions are cancelled.
const OUT_QUEUE: usize = 256;

/// How long one message may take to go out before the connection is closed
/// (CometBFT's `writeWait`).
const WRITE_WAIT: Duration = Duration::from_secs(10);

/// How long a client may send nothing, not even a pong, before it is
/// closed (CometBFT's `readWait`).
pub const READ_WAIT: Duration = Duration::from_secs(30);

/// How often the server pings (CometBFT's `pingPeriod`: 9/10 of `readWait`).
const PING_PERIOD: Duration = Duration::from_secs(27);

/// What CometBFT says when it drops a subscriber that fell behind.
const SLOW_CLIENT: &str = "client is not pulling messages fast enough";

/// Answers a request at [`PATH`]: upgrades it to a websocket whose
/// messages are at most the RPC's body limit, and serves JSON-RPC on it
/// until it closes.
pub(crate) async fn upgrade(
    State(rpc): State<Rpc>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let blank_key = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .is_some_and(|k| k.is_empty());
    let upgrade = match upgrade {
        // axum takes a blank key; gorilla does not.
        Ok(_) if blank_key => return (StatusCode::BAD_REQUEST, NO_KEY).into_response(),
        Ok(upgrade) => upgrade,
        Err(refused) => return refusal(refused),
    };
    let max = rpc.limits.max_body_bytes;
    upgrade
        .max_message_size(max)
        .max_frame_size(max)
        .on_failed_upgrade(|e| debug!(error = %e, "websocket upgrade failed"))
        .on_upgrade(move |socket| async move {
            if let Err(e) = session(rpc, socket).await {
                debug!(error = format!("{e:#}"), "websocket session failed");
            }
        })
}

/// gorilla's answer to a handshake without a key.
const NO_KEY: &str =
    "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header is missing or blank";

/// A refused handshake, answered with gorilla's status and text.
fn refusal(refused: WebSocketUpgradeRejection) -> Response {
    let (status, why) = match refused {
        WebSocketUpgradeRejection::MethodNotGet(_) => (
            StatusCode::METHOD_NOT_ALLOWED,
            "websocket: the client is not using the websocket protocol: request method is not GET",
        ),
        WebSocketUpgradeRejection::InvalidConnectionHeader(_) => (
            StatusCode::BAD_REQUEST,
            "websocket: 'upgrade' token not found in 'Connection' header",
        ),
        WebSocketUpgradeRejection::InvalidUpgradeHeader(_) => (
            StatusCode::BAD_REQUEST,
            "websocket: 'websocket' token not found in 'Upgrade' header",
        ),
        WebSocketUpgradeRejection::InvalidWebSocketVersionHeader(_) => {
            let mut answer = (
                StatusCode::UPGRADE_REQUIRED,
                "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header",
            )
                .into_response();
            answer.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                header::HeaderValue::from_static("13"),
            );
            return answer;
        }
        WebSocketUpgradeRejection::WebSocketKeyHeaderMissing(_) => {
            (StatusCode::BAD_REQUEST, NO_KEY)
        }
        other => return other.into_response(),
    };
    (status, why).into_response()
}

/// One subscription: its parsed query and the id events are sent under.
struct Subscription {
    query: Query,
    id: Value,
}

/// One client's subscriptions, keyed by the query as written (events
/// carry it back, and tendermint-rpc routes them by that text), and the
/// subscribing-client slot they hold while there are any.
struct Subscriptions {
    subs: BTreeMap<String, Subscription>,
    /// Held while `subs` is not empty.
    slot: Option<OwnedSemaphorePermit>,
    /// Where slots come from, shared by all clients.
    slots: Arc<Semaphore>,
    /// How many subscriptions this client may hold.
    max: usize,
    /// How many clients may hold subscriptions at once (for the error).
    max_clients: usize,
}

impl Subscriptions {
    fn new(limits: &crate::rpc::RpcLimits, slots: Arc<Semaphore>) -> Self {
        Subscriptions {
            subs: BTreeMap::new(),
            slot: None,
            slots,
            max: limits.max_subscriptions_per_client,
            max_clients: limits.max_subscription_clients,
        }
    }

    /// Gives the client's slot back once it holds no subscription.
    fn release_if_empty(&mut self) {
        if self.subs.is_empty() {
            self.slot = None;
        }
    }
}

/// Sends queued messages, closing the connection if one takes too long.
async fn write_loop(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
) {
    while let Some(msg) = queue.recv().await {
        match tokio::time::timeout(WRITE_WAIT, sink.send(msg)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                debug!(error = %e, "websocket write failed");
                return;
            }
            Err(_) => {
                warn!("closing a websocket that took more than {WRITE_WAIT:?} to take a message");
                return;
            }
        }
    }
    let _ = sink.close().await;
}

async fn session(rpc: Rpc, socket: WebSocket) -> anyhow::Result<()> {
    let (sink, mut incoming) = socket.split();
    let (out, queue) = mpsc::channel::<Message>(OUT_QUEUE);
    let writer = tokio::spawn(write_loop(sink, queue));
    let in_flight = Arc::new(Semaphore::new(rpc.limits.max_ws_requests_in_flight));
    let mut blocks = {
        let d = rpc.devnet.clone();
        tokio::task::spawn_blocking(move || {
            d.lock()
                .map(|d| d.subscribe_blocks())
                .map_err(|_| anyhow::anyhow!("the devnet panicked earlier"))
        })
        .await??
    };
    let mut subs = Subscriptions::new(&rpc.limits, rpc.subscribers.clone());
    let mut ping = tokio::time::interval(PING_PERIOD);
    ping.tick().await;
    let mut read_by = tokio::time::Instant::now() + READ_WAIT;

    loop {
        tokio::select! {
            msg = incoming.next() => {
                read_by = tokio::time::Instant::now() + READ_WAIT;
                match msg {
                    None => break,
                    Some(Err(e)) => {
                        debug!(error = %e, "websocket read failed");
                        break;
                    }
                    Some(Ok(Message::Text(text))) => {
                        request(&rpc, &out, &in_flight, &mut subs, text.as_bytes()).await;
                    }
                    Some(Ok(Message::Binary(bytes))) => {
                        request(&rpc, &out, &in_flight, &mut subs, &bytes).await;
                    }
                    // axum (tungstenite) answers pings and close frames itself.
                    Some(Ok(Message::Close(_))) => break,
                    Some(Ok(_)) => {}
                }
            },
            _ = tokio::time::sleep_until(read_by) => {
                debug!("closing a websocket that sent nothing for {READ_WAIT:?}");
                break;
            }
            block = blocks.recv() => match block {
                Ok(block) => deliver(&block, &out, &mut subs.subs),
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    debug!(missed, "a websocket subscriber fell behind");
                    cancel_all(&out, &mut subs.subs, SLOW_CLIENT);
                }
                Err(broadcast::error::RecvError::Closed) => {
                    cancel_all(&out, &mut subs.subs, "the devnet stopped");
                    break;
                }
            },
            _ = ping.tick() => {
                if out.try_send(Message::Ping(Default::default())).is_err() {
                    cancel_all(&out, &mut subs.subs, SLOW_CLIENT);
                }
            }
        }
        subs.release_if_empty();
    }
    drop(out);
    // Requests still running finish and are sent; then the writer closes.
    let _ = writer.await;
    Ok(())
}

/// Sends `block`'s events to the subscriptions whose queries they match.
fn deliver(
    block: &Arc<StoredBlock>,
    out: &mpsc::Sender<Message>,
    subs: &mut BTreeMap<String, Subscription>,
) {
    if subs.is_empty() {
        return;
    }
    let fired = match events::fired(block) {
        Ok(f) => f,
        Err(e) => {
            warn!(error = format!("{e:#}"), "cannot render a block's events");
            return;
        }
    };
    let mut slow = false;
    // Events in the order the block fired them, as CometBFT publishes them.
    'events: for ev in &fired {
        for (text, sub) in subs.iter().filter(|(_, s)| s.query.matches(&ev.events)) {
            let msg = json!({
                "jsonrpc": "2.0",
                "id": sub.id,
                "result": {"query": text, "data": ev.data, "events": ev.events},
            });
            if out.try_send(Message::Text(msg.to_string().into())).is_err() {
                slow = true;
                break 'events;
            }
        }
    }
    if slow {
        cancel_all(out, subs, SLOW_CLIENT);
    }
}

/// Cancels every subscription, telling the client why (CometBFT's
/// `subscription was canceled` error, sent under each subscription's id).
fn cancel_all(
    out: &mpsc::Sender<Message>,
    subs: &mut BTreeMap<String, Subscription>,
    reason: &str,
) {
    for (_, sub) in std::mem::take(subs) {
        let err = envelope(
            Some(sub.id),
            Err(RpcError(
                -32000,
                "Server error".into(),
                format!("subscription was canceled (reason: {reason})"),
            )),
        );
        // The queue may be the very thing that is full: best effort.
        let _ = out.try_send(Message::Text(err.into()));
    }
}

/// Handles one JSON-RPC message from the socket, as CometBFT's websocket
/// handler does: one request per message, no answer to a notification, and
/// argument conversion errors answered as internal errors.
async fn request(
    rpc: &Rpc,
    out: &mpsc::Sender<Message>,
    in_flight: &Arc<Semaphore>,
    subs: &mut Subscriptions,
    body: &[u8],
) {
    let parsed = serde_json::from_slice::<Value>(body)
        .map_err(|e| e.to_string())
        .and_then(|v| parse_request(&v));
    let req = match parsed {
        Ok(r) => r,
        Err(e) => {
            let reply = envelope(None, Err(RpcError::parse(e)));
            let _ = out.send(Message::Text(reply.into())).await;
            return;
        }
    };
    let Some(id) = req.id.clone() else {
        debug!("skipping a websocket notification");
        return;
    };
    let result = match req.method.as_str() {
        "subscribe" | "unsubscribe" | "unsubscribe_all" => match ws_args(&req) {
            Err(panicked) => {
                let reply = envelope(Some(Value::from(-1)), Err(panicked));
                let _ = out.send(Message::Text(reply.into())).await;
                return;
            }
            Ok(Err(e)) => Err(e),
            Ok(Ok(args)) => match req.method.as_str() {
                "subscribe" => subscribe(subs, &args.string("query"), &id),
                "unsubscribe" => unsubscribe(&mut subs.subs, &args.string("query")),
                _ => {
                    if subs.subs.is_empty() {
                        Err(RpcError::internal("subscription not found"))
                    } else {
                        subs.subs.clear();
                        Ok(json!({}))
                    }
                }
            },
        },
        _ => match in_flight.clone().try_acquire_owned() {
            // Ordinary methods run beside the socket: `broadcast_tx_commit`
            // waits for a block, and events must keep flowing meanwhile.
            Ok(permit) => {
                let rpc = rpc.clone();
                let out = out.clone();
                tokio::spawn(async move {
                    let reply = match call(&rpc, &req, true).await {
                        Ok(result) => envelope(Some(id), result),
                        Err(panicked) => envelope(Some(Value::from(-1)), Err(panicked)),
                    };
                    let _ = out.send(Message::Text(reply.into())).await;
                    drop(permit);
                });
                return;
            }
            Err(_) => Err(RpcError::internal(format!(
                "too many requests in flight on this websocket (max: {}); wait for answers",
                rpc.limits.max_ws_requests_in_flight
            ))),
        },
    };
    subs.release_if_empty();
    let _ = out
        .send(Message::Text(
            envelope(Some(id), result.map(Reply::Value)).into(),
        ))
        .await;
}

/// The arguments of a subscription method. The outer `Err` is the panic
/// CometBFT answers (under id -1) when `params` is missing.
fn ws_args(req: &crate::rpc::Request) -> Result<Result<Args, RpcError>, RpcError> {
    let Some(route) = route_of(&req.method) else {
        return Ok(Err(RpcError::method_not_found()));
    };
    match &req.params {
        None if route.args.is_empty() => Ok(Ok(Args::default())),
        None => Err(RpcError::internal(crate::rpc::TOO_FEW_ARGUMENTS)),
        Some(params) => Ok(Args::from_json(route, params).map_err(|e| {
            RpcError::internal(format!("error converting json params to arguments: {e}"))
        })),
    }
}

/// Parses a subscription query as CometBFT's `subscribe` does.
fn parse_query(text: &str) -> Result<Query, RpcError> {
    Query::parse(text).map_err(|e| RpcError::internal(format!("failed to parse query: {e}")))
}

fn subscribe(subs: &mut Subscriptions, text: &str, id: &Value) -> Result<Value, RpcError> {
    if subs.slot.is_none() && subs.slots.available_permits() == 0 {
        return Err(RpcError::internal(format!(
            "max_subscription_clients {} reached",
            subs.max_clients
        )));
    }
    if subs.subs.len() >= subs.max {
        return Err(RpcError::internal(format!(
            "max_subscriptions_per_client {} reached",
            subs.max
        )));
    }
    if text.len() > MAX_QUERY_LENGTH {
        return Err(RpcError::internal("maximum query length exceeded"));
    }
    let query = parse_query(text)?;
    // CometBFT keys subscriptions by the parsed query: spacing aside,
    // the same query twice is one subscription.
    if subs.subs.contains_key(text) || subs.subs.values().any(|s| s.query == query) {
        return Err(RpcError::internal("already subscribed"));
    }
    if subs.slot.is_none() {
        let slot = subs.slots.clone().try_acquire_owned().map_err(|_| {
            RpcError::internal(format!(
                "max_subscription_clients {} reached",
                subs.max_clients
            ))
        })?;
        subs.slot = Some(slot);
    }
    debug!(query = text, "websocket subscribe");
    subs.subs.insert(
        text.to_string(),
        Subscription {
            query,
            id: id.clone(),
        },
    );
    Ok(json!({}))
}

fn unsubscribe(subs: &mut BTreeMap<String, Subscription>, text: &str) -> Result<Value, RpcError> {
    let query = parse_query(text)?;
    let key = if subs.contains_key(text) {
        Some(text.to_string())
    } else {
        subs.iter()
            .find(|(_, s)| s.query == query)
            .map(|(k, _)| k.clone())
    };
    match key.and_then(|k| subs.remove(&k)) {
        Some(_) => Ok(json!({})),
        None => Err(RpcError::internal("subscription not found")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{home, DevnetHome};

    fn subscription(query: &str, id: i64) -> (String, Subscription) {
        (
            query.to_string(),
            Subscription {
                query: Query::parse(query).unwrap(),
                id: Value::from(id),
            },
        )
    }

    fn a_block() -> (tempfile::TempDir, Arc<StoredBlock>) {
        let dir = tempfile::tempdir().unwrap();
        let home = DevnetHome(dir.path().to_path_buf());
        home::ensure_genesis(&home, "deai-ws-test", "2026-01-01T00:00:00Z").unwrap();
        let mut devnet = crate::Devnet::open(&home).unwrap();
        let mut feed = devnet.subscribe_blocks();
        devnet.produce_block().unwrap();
        (dir, feed.try_recv().unwrap())
    }

    #[test]
    fn a_block_reaches_only_the_subscriptions_whose_queries_match() {
        let (_dir, block) = a_block();
        let (out, mut queue) = mpsc::channel(16);
        let mut subs: BTreeMap<String, Subscription> = [
            subscription("tm.event='NewBlock'", 1),
            subscription("tm.event='Tx'", 2),
            subscription("tm.event = 'NewBlockHeader' AND tx.height EXISTS", 3),
        ]
        .into_iter()
        .collect();
        deliver(&block, &out, &mut subs);
        let Ok(Message::Text(text)) = queue.try_recv() else {
            panic!("no event");
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], 1);
        assert_eq!(v["result"]["query"], "tm.event='NewBlock'");
        assert_eq!(v["result"]["data"]["type"], "tendermint/event/NewBlock");
        assert!(queue.try_recv().is_err(), "one event only");
        assert_eq!(subs.len(), 3);
    }

    #[test]
    fn a_subscriber_whose_queue_is_full_loses_its_subscriptions() {
        let (_dir, block) = a_block();
        let (out, mut queue) = mpsc::channel(1);
        let mut subs: BTreeMap<String, Subscription> = [
            subscription("tm.event='NewBlock'", 1),
            subscription("tm.event='NewBlockHeader'", 2),
        ]
        .into_iter()
        .collect();
        // Nothing reads the queue: the second event does not fit.
        deliver(&block, &out, &mut subs);
        assert!(subs.is_empty());
        assert!(matches!(queue.try_recv(), Ok(Message::Text(_))));
        // A drained queue takes the cancellation notice.
        let mut subs: BTreeMap<String, Subscription> = [subscription("tm.event='NewBlock'", 7)]
            .into_iter()
            .collect();
        cancel_all(&out, &mut subs, SLOW_CLIENT);
        let Ok(Message::Text(text)) = queue.try_recv() else {
            panic!("no cancellation notice");
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(
            v["error"]["data"],
            "subscription was canceled (reason: client is not pulling messages fast enough)"
        );
    }
}
