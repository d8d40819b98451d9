//! The devnet RPC's bounds (issue 10, item 5): queries answered without
//! the devnet's lock, searches that cannot walk a whole index, and the HTTP
//! and websocket limits CometBFT sets. Each test fails against an RPC
//! without the bound it checks.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    sync::mpsc,
    time::Duration,
};

use async_tungstenite::tungstenite::Message;
use common::{raw_ws, reply_to, send_json, Net, RawWs};
use deai_devnet::RpcLimits;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};

/// A devnet with `blocks` blocks and no producer, serving RPC within `limits`.
async fn start(blocks: u64, limits: RpcLimits) -> Net {
    let net = common::start_idle("deai-limits-test", blocks, limits).await;
    // The server takes the devnet's lock once as it starts: let it, before
    // a test holds the lock or the connection slots.
    let addr = net.addr;
    blocking(move || get(addr, "/health", Duration::from_secs(10)))
        .await
        .expect("the RPC did not start");
    net
}

/// Sends `request` as raw bytes and returns the whole answer, or `None`
/// when none (or no complete one) comes within `wait`.
fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.write_all(request).unwrap();
    let mut bytes = Vec::new();
    match s.read_to_end(&mut bytes) {
        Ok(_) if !bytes.is_empty() => Some(String::from_utf8_lossy(&bytes).into_owned()),
        _ => None,
    }
}

/// The JSON body of an HTTP answer.
fn body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

fn get(addr: SocketAddr, target: &str, wait: Duration) -> Option<Value> {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    exchange(addr, request.as_bytes(), wait).map(|a| body(&a))
}

fn post(addr: SocketAddr, v: &Value) -> Value {
    let b = v.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{b}",
        b.len()
    );
    body(&exchange(addr, request.as_bytes(), Duration::from_secs(10)).unwrap())
}

/// Runs a blocking client call off the async test's threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abci_queries_and_simulations_are_answered_while_the_devnet_lock_is_held() {
    let net = start(2, RpcLimits::default()).await;
    // Hold the lock as a long block would, until the test is done.
    let (locked_tx, locked) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let devnet = net.devnet.clone();
    let holder = std::thread::spawn(move || {
        let _guard = devnet.lock().unwrap();
        locked_tx.send(()).unwrap();
        let _ = released.recv_timeout(Duration::from_secs(30));
    });
    locked.recv().unwrap();

    let addr = net.addr;
    let wait = Duration::from_secs(3);
    let store = blocking(move || {
        get(
            addr,
            "/abci_query?path=%22store/bank/key%22&data=0x62616e6b2f",
            wait,
        )
    })
    .await
    .expect("a store query waited for the devnet's lock");
    assert_eq!(store["result"]["response"]["height"], "2", "{store}");
    let simulate = blocking(move || {
        get(
            addr,
            "/abci_query?path=%22/cosmos.tx.v1beta1.Service/Simulate%22&data=0x0a03010203",
            wait,
        )
    })
    .await
    .expect("a simulation waited for the devnet's lock");
    assert_ne!(simulate["result"]["response"]["code"], 0, "{simulate}");
    release.send(()).unwrap();
    holder.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_that_would_walk_more_index_entries_than_allowed_is_refused() {
    let limits = RpcLimits {
        max_index_entries: 3,
        ..RpcLimits::default()
    };
    let net = start(5, limits).await;
    let addr = net.addr;
    let wait = Duration::from_secs(10);
    let broad = blocking(move || get(addr, "/block_search?query=%22block.height%3E0%22", wait))
        .await
        .unwrap();
    assert_eq!(broad["error"]["code"], -32603, "{broad}");
    assert!(
        broad["error"]["data"]
            .as_str()
            .unwrap()
            .contains("more than 3 index entries"),
        "{broad}"
    );
    // An exact value visits one entry: within the budget.
    let exact = blocking(move || get(addr, "/block_search?query=%22block.height%3D2%22", wait))
        .await
        .unwrap();
    assert_eq!(exact["result"]["total_count"], "1", "{exact}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_one_megabyte_is_refused_before_it_is_read() {
    let net = start(1, RpcLimits::default()).await;
    let addr = net.addr;
    // The head announces 2 MB; no body follows. The answer must not wait for it.
    let answer = blocking(move || {
        exchange(
            addr,
            b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2000000\r\n\r\n",
            Duration::from_secs(3),
        )
    })
    .await
    .expect("no answer to an oversized body");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let v = body(&answer);
    assert!(
        v["error"]["data"]
            .as_str()
            .unwrap()
            .contains("request body too large"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_trickles_its_request_is_disconnected() {
    let limits = RpcLimits {
        read_timeout: Duration::from_millis(300),
        ..RpcLimits::default()
    };
    let net = start(1, limits).await;
    let addr = net.addr;
    let closed = blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Half a request head, then nothing: slowloris.
        s.write_all(b"GET /health HTTP/1.1\r\nHost: loc").unwrap();
        let mut rest = Vec::new();
        matches!(s.read_to_end(&mut rest), Ok(0))
    })
    .await;
    assert!(closed, "the server kept a silent client's connection open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_until_one_closes() {
    let limits = RpcLimits {
        max_open_connections: 1,
        ..RpcLimits::default()
    };
    let net = start(1, limits).await;
    let addr = net.addr;
    let idle = TcpStream::connect(addr).unwrap();
    // Let the server accept the idle connection first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = blocking(move || get(addr, "/health", Duration::from_millis(500))).await;
    assert!(waiting.is_none(), "a connection beyond the cap was served");
    drop(idle);
    let served = blocking(move || get(addr, "/health", Duration::from_secs(5))).await;
    assert_eq!(served.unwrap()["result"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_twenty_requests_is_refused_and_twenty_are_answered() {
    let net = start(1, RpcLimits::default()).await;
    let addr = net.addr;
    let batch = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "health"}))
                .collect(),
        )
    };
    let (twenty, too_many) = (batch(20), batch(21));
    let ok = blocking(move || post(addr, &twenty)).await;
    assert_eq!(ok.as_array().unwrap().len(), 20);
    let refused = blocking(move || post(addr, &too_many)).await;
    assert_eq!(refused["error"]["code"], -32600, "{refused}");
    assert!(
        refused["error"]["data"]
            .as_str()
            .unwrap()
            .contains("exceeds maximum (20)"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_percent_before_a_multibyte_character_gets_an_answer_not_a_dropped_connection() {
    let net = start(1, RpcLimits::default()).await;
    let addr = net.addr;
    let wait = Duration::from_secs(5);
    for target in [
        &b"/abci_query?path=%\xE2\x82\xAC"[..],
        b"/abci_query?path=%a\xE2\x82\xAC",
        b"/status?%\xE2\x82\xAC=1",
    ] {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let answer = blocking(move || exchange(addr, &request, wait))
            .await
            .unwrap_or_else(|| panic!("no answer to {}", String::from_utf8_lossy(target)));
        let v = body(&answer);
        assert!(v.get("result").is_some() || v.get("error").is_some(), "{v}");
    }
    // Escapes that decode to bytes that are not UTF-8: a clear error.
    let v = blocking(move || get(addr, "/abci_query?path=%E2%82", wait))
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert!(
        v["error"]["data"].as_str().unwrap().contains("not UTF-8"),
        "{v}"
    );
}

/// The reply to request `id`, skipping pings and events.
async fn call(ws: &mut RawWs, id: i64, method: &str, params: Value) -> Value {
    send_json(
        ws,
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
    )
    .await;
    reply_to(ws, id).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribing_clients_are_capped_and_a_client_gives_its_slot_back_when_it_unsubscribes() {
    let limits = RpcLimits {
        max_subscription_clients: 1,
        ..RpcLimits::default()
    };
    let net = start(1, limits).await;
    let q = json!({"query": "tm.event='NewBlock'"});
    let mut a = raw_ws(net.addr).await;
    let mut b = raw_ws(net.addr).await;
    assert!(call(&mut a, 1, "subscribe", q.clone())
        .await
        .get("result")
        .is_some());
    // A second subscription by the same client takes no new slot.
    let more = call(&mut a, 2, "subscribe", json!({"query": "tm.event='Tx'"})).await;
    assert!(more.get("result").is_some(), "{more}");
    let refused = call(&mut b, 1, "subscribe", q.clone()).await;
    assert_eq!(
        refused["error"]["data"], "max_subscription_clients 1 reached",
        "{refused}"
    );
    // Ordinary methods still work for a client without subscriptions.
    assert!(call(&mut b, 2, "health", json!({}))
        .await
        .get("result")
        .is_some());
    assert!(call(&mut a, 3, "unsubscribe_all", json!({}))
        .await
        .get("result")
        .is_some());
    let now = call(&mut b, 3, "subscribe", q).await;
    assert!(now.get("result").is_some(), "{now}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_message_over_the_body_limit_closes_the_connection() {
    let limits = RpcLimits {
        max_body_bytes: 10_000,
        ..RpcLimits::default()
    };
    let net = start(1, limits).await;
    let mut a = raw_ws(net.addr).await;
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "health", "params": {"pad": "x".repeat(20_000)}});
    a.send(Message::Text(big.to_string())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), a.next())
            .await
            .expect("the server neither answered nor closed")
        {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
            Some(Ok(Message::Text(t))) => panic!("an oversized message was answered: {t}"),
            Some(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_refuses_a_broadcast_with_cometbfts_error() {
    let net = start(1, RpcLimits::default()).await;
    net.devnet
        .lock()
        .unwrap()
        .set_mempool_limits(deai_devnet::MempoolLimits {
            max_txs: 0,
            max_bytes: 1 << 20,
            ..deai_devnet::MempoolLimits::default()
        });
    let addr = net.addr;
    let v = blocking(move || {
        post(
            addr,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "broadcast_tx_sync",
                    "params": {"tx": "AQID"}}),
        )
    })
    .await;
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert!(
        v["error"]["data"]
            .as_str()
            .unwrap()
            .starts_with("mempool is full: number of txs 0 (max: 0)"),
        "{v}"
    );
    assert!(net.devnet.lock().unwrap().mempool().is_empty());
}
