//! The devnet's CometBFT-compatible JSON-RPC, driven by tendermint-rpc's
//! own `HttpClient` and by plain URI GETs.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{
    io::{Read, Write},
    time::Duration,
};

use async_tungstenite::tungstenite::{
    protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    },
    Message,
};
use base64::Engine as _;
use common::{raw_ws, recv_json, reply_to, send_json, Net};
use cosmos_sdk_proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use deai_bank::BankRead;
use deai_devnet::{home, producer, RpcLimits};
use futures::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::json;
use tendermint_rpc::{
    event::EventData,
    query::{EventType, Query},
    Client, HttpClient, Order, SubscriptionClient, WebSocketClient,
};

const CHAIN_ID: &str = "deai-rpc-test";

async fn start() -> Net {
    let net = start_idle().await;
    let d = net.devnet.clone();
    // Ends with an error once the test's home is deleted.
    std::thread::spawn(move || producer::run(&d, Duration::from_millis(100)));
    net
}

/// A devnet serving RPC with no block producer: blocks come only when the
/// test calls `produce_block`, so what waits in the mempool is known.
async fn start_idle() -> Net {
    common::start_idle(CHAIN_ID, 0, RpcLimits::default()).await
}

async fn wait_for_height(client: &HttpClient, height: u64) {
    for _ in 0..100 {
        let s = client.status().await.unwrap();
        if s.sync_info.latest_block_height.value() >= height {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the devnet did not reach height {height}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cometbft_client_queries_sends_and_finds_its_tx() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;

    client.health().await.unwrap();
    let status = client.status().await.unwrap();
    assert_eq!(status.node_info.network.as_str(), CHAIN_ID);
    assert_eq!(
        status.validator_info.address,
        net.devnet.lock().unwrap().validator_address()
    );
    let info = client.abci_info().await.unwrap();
    assert!(info.last_block_height.value() >= 1);

    let dev1 = net.accounts[1].address;
    let q = client
        .abci_query(
            Some("/cosmos.bank.v1beta1.Query/Balance".to_string()),
            QueryBalanceRequest {
                address: dev1.to_string(),
                denom: "udeai".to_string(),
            }
            .encode_to_vec(),
            None,
            false,
        )
        .await
        .unwrap();
    assert!(q.code.is_ok(), "{}", q.log);
    let balance = QueryBalanceResponse::decode(q.value.as_slice())
        .unwrap()
        .balance
        .unwrap();
    assert_eq!(balance.amount, home::DEV_BALANCE.to_string());

    let tx = net.send("dev0", 25, 0);
    let sent = client.broadcast_tx_sync(tx.clone()).await.unwrap();
    assert!(sent.code.is_ok(), "{}", sent.log);
    let mut found = None;
    for _ in 0..100 {
        if let Ok(r) = client.tx(sent.hash, false).await {
            found = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let found = found.expect("the tx was never included");
    assert!(found.tx_result.code.is_ok(), "{}", found.tx_result.log);
    assert_eq!(found.tx, tx);
    let block = client.block(found.height).await.unwrap();
    assert_eq!(block.block.data[found.index as usize], tx);
    assert_eq!(block.block_id.hash, block.block.header.hash());

    let committed = client
        .broadcast_tx_commit(net.send("dev1", 5, 0))
        .await
        .unwrap();
    assert!(committed.check_tx.code.is_ok());
    assert!(
        committed.tx_result.code.is_ok(),
        "{}",
        committed.tx_result.log
    );
    assert!(committed.height.value() > found.height.value());
}

/// The status line and body of the answer to one raw HTTP request.
fn http_raw(addr: std::net::SocketAddr, request: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

fn http_get(addr: std::net::SocketAddr, target: &str) -> serde_json::Value {
    let request = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    serde_json::from_str(&http_raw(addr, &request).1).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uri_requests_are_answered_like_cometbft() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 2).await;
    let addr = net.addr;
    let (status, block, missing) = tokio::task::spawn_blocking(move || {
        (
            http_get(addr, "/status"),
            http_get(addr, "/block?height=2"),
            http_raw(
                addr,
                "GET /no_such_method HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            ),
        )
    })
    .await
    .unwrap();
    assert_eq!(status["result"]["node_info"]["network"], CHAIN_ID);
    assert_eq!(block["result"]["block"]["header"]["height"], "2");
    // CometBFT's mux: an unknown path is a plain 404.
    assert_eq!(
        missing,
        (
            "HTTP/1.1 404 Not Found".to_string(),
            "404 page not found\n".to_string()
        )
    );
    // The first block has no parent: CometBFT writes an empty id, not null.
    let first =
        tokio::task::spawn_blocking(move || http_get(addr, "/blockchain?minHeight=1&maxHeight=1"))
            .await
            .unwrap();
    assert_eq!(
        first["result"]["block_metas"][0]["header"]["last_block_id"],
        json!({"hash": "", "parts": {"total": 0, "hash": ""}}),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_commits_and_validators_are_served_as_cometbft_serves_them() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 3).await;
    let h = tendermint::block::Height::from(2u32);
    let header = client.header(h).await.unwrap().header;
    let block = client.block(h).await.unwrap();
    assert_eq!(header, block.block.header);
    let commit = client.commit(h).await.unwrap();
    assert!(commit.canonical);
    assert_eq!(commit.signed_header.header.hash(), block.block_id.hash);
    assert_eq!(commit.signed_header.commit.block_id, block.block_id);
    let vals = client
        .validators(h, tendermint_rpc::Paging::All)
        .await
        .unwrap();
    assert_eq!(vals.validators.len(), 1);
    assert_eq!(
        vals.validators[0].address,
        net.devnet.lock().unwrap().validator_address()
    );
    assert_eq!(vals.validators[0].power.value(), 10);
    // Past the chain's end: a clear error, not a hang.
    assert!(client
        .header(tendermint::block::Height::from(10_000u32))
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn block_results_mempool_and_net_info_are_served() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;
    let tx = net.send("dev0", 5, 0);
    let r = client.broadcast_tx_commit(tx).await.unwrap();
    assert!(r.tx_result.code.is_ok(), "{}", r.tx_result.log);
    let results = client.block_results(r.height).await.unwrap();
    let txs = results.txs_results.unwrap();
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].gas_used, r.tx_result.gas_used);
    assert!(txs[0].events.iter().any(|e| e.kind == "transfer"));
    let info = client.net_info().await.unwrap();
    assert_eq!(info.n_peers, 0);
    let addr = net.addr;
    let (pending, count) = tokio::task::spawn_blocking(move || {
        (
            http_get(addr, "/unconfirmed_txs"),
            http_get(addr, "/num_unconfirmed_txs"),
        )
    })
    .await
    .unwrap();
    assert!(pending["result"]["txs"].is_array(), "{pending}");
    assert!(count["result"]["txs"].is_null(), "{count}");
    assert_eq!(pending["result"]["n_txs"], count["result"]["n_txs"]);
}

/// Waits up to `secs` for the next item of `stream`.
async fn next_within<S: futures::Stream + Unpin>(stream: &mut S, secs: u64) -> Option<S::Item> {
    tokio::time::timeout(Duration::from_secs(secs), stream.next())
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_sees_new_blocks_and_the_transfer_it_subscribed_to() {
    let net = start().await;
    let http = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&http, 1).await;
    let (ws, driver) = WebSocketClient::new(format!("ws://{}/websocket", net.addr).as_str())
        .await
        .unwrap();
    let driver = tokio::spawn(driver.run());

    let mut blocks = ws.subscribe(EventType::NewBlock.into()).await.unwrap();
    let ev = next_within(&mut blocks, 10).await.unwrap().unwrap();
    assert_eq!(ev.query, "tm.event = 'NewBlock'");
    let EventData::NewBlock {
        block: Some(block),
        block_id,
        result_finalize_block: Some(results),
    } = ev.data.clone()
    else {
        panic!("not a v0.38 NewBlock: {:?}", ev.data);
    };
    assert_eq!(block_id.hash, block.header.hash());
    assert_eq!(results.tx_results.len(), block.data.len());
    assert_eq!(ev.events.unwrap()["tm.event"], vec!["NewBlock".to_string()]);

    let recipient = net.accounts[2].address.to_string();
    let to_dev2 = Query::from(EventType::Tx).and_eq("transfer.recipient", recipient.clone());
    let mut txs = ws.subscribe(to_dev2.clone()).await.unwrap();
    let mut elsewhere = ws
        .subscribe(Query::from(EventType::Tx).and_eq("transfer.recipient", "deai1nobody"))
        .await
        .unwrap();

    let tx = net.send("dev0", 25, 0);
    let sent = http.broadcast_tx_sync(tx.clone()).await.unwrap();
    assert!(sent.code.is_ok(), "{}", sent.log);
    let ev = next_within(&mut txs, 20).await.unwrap().unwrap();
    assert_eq!(ev.query, to_dev2.to_string());
    let EventData::Tx { tx_result } = ev.data.clone() else {
        panic!("not a Tx event: {:?}", ev.data);
    };
    assert_eq!(tx_result.tx, tx);
    assert!(tx_result.height > 1);
    let transfer = tx_result
        .result
        .events
        .iter()
        .find(|e| e.kind == "transfer")
        .expect("a transfer event");
    assert!(transfer
        .attributes
        .iter()
        .any(|a| a.key_str().unwrap() == "recipient" && a.value_str().unwrap() == recipient));
    let events = ev.events.unwrap();
    assert_eq!(events["tx.hash"], vec![sent.hash.to_string()]);
    assert_eq!(events["tx.height"], vec![tx_result.height.to_string()]);
    assert!(
        next_within(&mut elsewhere, 1).await.is_none(),
        "a query for another recipient saw the transfer"
    );

    // After unsubscribing, the client's stream ends and the server sends no more.
    ws.unsubscribe(to_dev2).await.unwrap();
    let again = http
        .broadcast_tx_sync(net.send("dev1", 5, 0))
        .await
        .unwrap();
    assert!(again.code.is_ok(), "{}", again.log);
    assert!(next_within(&mut txs, 3).await.is_none());
    // Blocks still flow on the other subscription.
    assert!(next_within(&mut blocks, 10).await.unwrap().is_ok());

    ws.close().unwrap();
    let _ = driver.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raw_websocket_subscribes_unsubscribes_and_is_told_of_bad_queries() {
    let net = start().await;
    let http = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&http, 1).await;
    let mut ws = raw_ws(net.addr).await;

    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 1, "method": "subscribe",
               "params": {"query": "tm.event='NewBlockHeader'"}}),
    )
    .await;
    assert_eq!(reply_to(&mut ws, 1).await["result"], json!({}));
    let ev = reply_to(&mut ws, 1).await;
    assert_eq!(ev["result"]["query"], "tm.event='NewBlockHeader'");
    assert_eq!(
        ev["result"]["data"]["type"],
        "tendermint/event/NewBlockHeader"
    );
    assert!(ev["result"]["data"]["value"]["header"]["height"].is_string());
    assert_eq!(
        ev["result"]["events"]["tm.event"],
        json!(["NewBlockHeader"])
    );

    // Positional params, and the same query twice.
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 2, "method": "subscribe",
               "params": ["tm.event='NewBlockHeader'"]}),
    )
    .await;
    let dup = reply_to(&mut ws, 2).await;
    assert_eq!(dup["error"]["data"], "already subscribed", "{dup}");

    for (id, bad) in [
        (3, "tm.event = 'Tx"),
        (4, "tm.event = 'Tx' OR a.b = 1"),
        (5, ""),
    ] {
        send_json(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": id, "method": "subscribe", "params": {"query": bad}}),
        )
        .await;
        let e = reply_to(&mut ws, id).await;
        assert!(
            e["error"]["data"]
                .as_str()
                .unwrap()
                .starts_with("failed to parse query"),
            "{e}"
        );
    }

    // Ordinary methods work over the socket too.
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 6, "method": "status", "params": {}}),
    )
    .await;
    assert_eq!(
        reply_to(&mut ws, 6).await["result"]["node_info"]["network"],
        CHAIN_ID
    );

    // A request split over fragments arrives whole.
    let text = json!({"jsonrpc": "2.0", "id": 7, "method": "health"}).to_string();
    let (a, b) = text.as_bytes().split_at(10);
    ws.send(Message::Frame(Frame::message(
        a.to_vec(),
        OpCode::Data(Data::Text),
        false,
    )))
    .await
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        b.to_vec(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .unwrap();
    assert_eq!(reply_to(&mut ws, 7).await["result"], json!({}));

    // Spelled differently, it is the same query.
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 8, "method": "unsubscribe",
               "params": {"query": "tm.event = 'NewBlockHeader'"}}),
    )
    .await;
    assert_eq!(reply_to(&mut ws, 8).await["result"], json!({}));
    // Nothing more arrives under the subscription's id.
    let quiet = tokio::time::timeout(Duration::from_millis(800), async {
        loop {
            let v = recv_json(&mut ws).await;
            assert_ne!(v["id"], 1, "an event after unsubscribe: {v}");
        }
    })
    .await;
    assert!(quiet.is_err());
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 9, "method": "unsubscribe_all"}),
    )
    .await;
    assert_eq!(
        reply_to(&mut ws, 9).await["error"]["data"],
        "subscription not found"
    );

    // Pings are answered; an oversized message closes the socket.
    ws.send(Message::Ping(b"hi".to_vec())).await.unwrap();
    loop {
        match next_within(&mut ws, 5).await.unwrap().unwrap() {
            Message::Pong(p) => {
                assert_eq!(p, b"hi");
                break;
            }
            Message::Ping(_) => {}
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    let huge = "x".repeat(9 * 1024 * 1024);
    let _ = ws.send(Message::Text(huge)).await;
    let closed = loop {
        match next_within(&mut ws, 5).await {
            None | Some(Err(_)) => break true,
            Some(Ok(Message::Close(_))) => break true,
            Some(Ok(_)) => {}
        }
    };
    assert!(closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_handshake_that_is_not_cometbfts_is_refused() {
    let net = start().await;
    let addr = net.addr;
    let replies = tokio::task::spawn_blocking(move || {
        let ask = |head: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(head.as_bytes()).unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).unwrap();
            text
        };
        [
            ask("GET /websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"),
            ask("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            ask("GET /websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ]
    })
    .await
    .unwrap();
    assert!(replies[0].starts_with("HTTP/1.1 426"), "{}", replies[0]);
    assert!(replies[1].starts_with("HTTP/1.1 404"), "{}", replies[1]);
    assert!(replies[2].starts_with("HTTP/1.1 400"), "{}", replies[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_by_hash_and_range_and_the_genesis_are_served() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;
    let r = client
        .broadcast_tx_commit(net.send("dev0", 5, 0))
        .await
        .unwrap();
    assert!(r.tx_result.code.is_ok(), "{}", r.tx_result.log);
    let block = client.block(r.height).await.unwrap();

    // The first block, parentless, reads back through tendermint-rs.
    let first = client.block(1u32).await.unwrap();
    assert!(first.block.last_commit.is_none());
    assert!(first.block.header.last_block_id.is_none());

    let by_hash = client.block_by_hash(block.block_id.hash).await.unwrap();
    assert_eq!(by_hash.block_id, block.block_id);
    assert_eq!(by_hash.block.unwrap().header, block.block.header);
    let header = client.header_by_hash(block.block_id.hash).await.unwrap();
    assert_eq!(header.header.unwrap(), block.block.header);
    let unknown = tendermint::Hash::Sha256([7; 32]);
    assert!(client.block_by_hash(unknown).await.unwrap().block.is_none());

    wait_for_height(&client, 22).await;
    let h = r.height.value();
    let chain = client.blockchain(1u32, h as u32).await.unwrap();
    assert!(chain.last_height.value() >= 22);
    let heights: Vec<u64> = chain
        .block_metas
        .iter()
        .map(|m| m.header.height.value())
        .collect();
    assert_eq!(heights, (1..=h).rev().collect::<Vec<_>>());
    let meta = &chain.block_metas[0];
    assert_eq!(meta.block_id, block.block_id);
    assert_eq!(meta.num_txs, 1);
    assert!(meta.block_size > 0);
    // At most 20, the newest first.
    let chain = client.blockchain(1u32, 22u32).await.unwrap();
    let heights: Vec<u64> = chain
        .block_metas
        .iter()
        .map(|m| m.header.height.value())
        .collect();
    assert_eq!(heights, (3..=22).rev().collect::<Vec<_>>());

    let genesis = client.genesis::<serde_json::Value>().await.unwrap();
    assert_eq!(genesis.chain_id.as_str(), CHAIN_ID);
    assert_eq!(genesis.initial_height, 1);
    assert!(genesis.app_state["accounts"].is_array() || genesis.app_state.is_object());
    let addr = net.addr;
    let chunk = tokio::task::spawn_blocking(move || http_get(addr, "/genesis_chunked?chunk=0"))
        .await
        .unwrap();
    assert_eq!(chunk["result"]["total"], "1", "{chunk}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_tx_answers_without_touching_the_mempool() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;
    let addr = net.addr;
    let tx = net.send("dev0", 5, 0);
    let target = format!("/check_tx?tx=0x{}", hex::encode(&tx));
    let (first, second, garbage) = tokio::task::spawn_blocking(move || {
        (
            http_get(addr, &target),
            http_get(addr, &target),
            http_get(addr, "/check_tx?tx=0x0102"),
        )
    })
    .await
    .unwrap();
    // Checking twice passes twice: the first check left no sequence behind.
    for r in [&first, &second] {
        assert_eq!(r["result"]["code"], 0, "{r}");
        assert_eq!(r["result"]["gas_wanted"], "200000", "{r}");
        assert!(r["result"]["events"].is_array(), "{r}");
    }
    assert_ne!(garbage["result"]["code"], 0, "{garbage}");
    assert!(net.devnet.lock().unwrap().mempool().is_empty());

    // A tx already in the mempool counts: its sequence is taken.
    let sent = client.broadcast_tx_sync(tx.clone()).await.unwrap();
    assert!(sent.code.is_ok(), "{}", sent.log);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "check_tx",
                      "params": {"tx": base64::engine::general_purpose::STANDARD.encode(&tx)}});
    let again = tokio::task::spawn_blocking(move || http_post(addr, &body))
        .await
        .unwrap();
    // Either still pending (sequence taken) or already in a block: not 0.
    assert_ne!(again["result"]["code"], 0, "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_rpc_batch_is_answered_in_order_and_positional_params_are_named() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 2).await;
    let addr = net.addr;
    let batch = json!([
        {"jsonrpc": "2.0", "id": "a", "method": "health"},
        {"jsonrpc": "2.0", "id": "b", "method": "block", "params": ["2"]},
        {"jsonrpc": "2.0", "id": "c", "method": "no_such_method"},
    ]);
    let answers = tokio::task::spawn_blocking(move || http_post(addr, &batch))
        .await
        .unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["id"], "a");
    assert_eq!(answers[1]["result"]["block"]["header"]["height"], "2");
    assert_eq!(answers[2]["error"]["code"], -32601);
}

fn http_post(addr: std::net::SocketAddr, body: &serde_json::Value) -> serde_json::Value {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = body.to_string();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_search_and_block_search_answer_as_cometbfts_kv_indexer() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;
    let first = client
        .broadcast_tx_commit(net.send("dev0", 5, 0))
        .await
        .unwrap();
    let second = client
        .broadcast_tx_commit(net.send("dev1", 6, 0))
        .await
        .unwrap();
    assert!(first.tx_result.code.is_ok() && second.tx_result.code.is_ok());
    let dev2 = net.accounts[2].address.to_string();
    let dev0 = net.accounts[0].address.to_string();

    let search = |q: Query| {
        let client = client.clone();
        async move {
            client
                .tx_search(q, false, 1, 30, Order::Ascending)
                .await
                .unwrap()
        }
    };
    let hashes = |r: &tendermint_rpc::endpoint::tx_search::Response| {
        r.txs.iter().map(|t| t.hash).collect::<Vec<_>>()
    };
    let to_dev2 = search(Query::eq("transfer.recipient", dev2.clone())).await;
    assert_eq!(to_dev2.total_count, 2);
    assert_eq!(hashes(&to_dev2), vec![first.hash, second.hash]);
    let desc = client
        .tx_search(
            Query::eq("transfer.recipient", dev2.clone()),
            false,
            2,
            1,
            Order::Descending,
        )
        .await
        .unwrap();
    assert_eq!((desc.total_count, hashes(&desc)), (2, vec![first.hash]));

    // `tm.event` is not indexed: CometBFT finds nothing for a query naming it.
    let tagged = Query::from(EventType::Tx).and_eq("transfer.recipient", dev2.clone());
    assert_eq!(search(tagged).await.total_count, 0);
    // Conditions hold within one event: the message event names the sender,
    // the transfer event the recipient, and no single event does both.
    let across =
        Query::eq("message.sender", dev0.clone()).and_eq("transfer.recipient", dev2.clone());
    assert_eq!(search(across).await.total_count, 0);
    let within =
        Query::eq("transfer.sender", dev0.clone()).and_eq("transfer.recipient", dev2.clone());
    assert_eq!(hashes(&search(within).await), vec![first.hash]);

    // A height condition filters the others.
    let at_first =
        Query::eq("message.sender", dev0.clone()).and_eq("tx.height", first.height.value());
    let found = search(at_first).await;
    assert_eq!(
        (hashes(&found), found.txs[0].height),
        (vec![first.hash], first.height)
    );
    let later = Query::gt("tx.height", first.height.value()).and_exists("transfer.amount");
    assert_eq!(hashes(&search(later).await), vec![second.hash]);

    // `=` compares the text; a range takes only values that are numbers.
    assert_eq!(
        search(Query::eq("transfer.amount", 5u64)).await.total_count,
        0
    );
    let five = search(Query::eq("transfer.amount", "5udeai")).await;
    assert_eq!(hashes(&five), vec![first.hash]);
    assert_eq!(
        search(Query::gt("transfer.amount", 1u64)).await.total_count,
        0
    );

    // A hash answers its tx whatever else the query says.
    let by_hash =
        Query::eq("tx.hash", hex::encode(second.hash.as_bytes())).and_eq("tx.height", 999_999u64);
    assert_eq!(hashes(&search(by_hash).await), vec![second.hash]);
    let none = search(Query::eq("transfer.recipient", "deai1nobody")).await;
    assert_eq!(none.total_count, 0);

    wait_for_height(&client, 4).await;
    let blocks = client
        .block_search(
            Query::gte("block.height", 2u64).and_lte("block.height", 4u64),
            1,
            30,
            Order::Ascending,
        )
        .await
        .unwrap();
    let heights: Vec<u64> = blocks
        .blocks
        .iter()
        .map(|b| b.block.header.height.value())
        .collect();
    assert_eq!((blocks.total_count, heights), (3, vec![2, 3, 4]));
    assert_eq!(
        blocks.blocks[0].block_id.hash,
        blocks.blocks[0].block.header.hash()
    );

    let addr = net.addr;
    let get = |target: &'static str| {
        let request =
            format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        tokio::task::spawn_blocking(move || http_raw(addr, &request))
    };
    // With no order given, CometBFT lists blocks newest first.
    let (_, newest) = get("/block_search?query=%22block.height%3C%3D3%22")
        .await
        .unwrap();
    let newest: serde_json::Value = serde_json::from_str(&newest).unwrap();
    let heights: Vec<&str> = newest["result"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["block"]["header"]["height"].as_str().unwrap())
        .collect();
    assert_eq!(heights, ["3", "2", "1"]);
    assert_eq!(newest["result"]["total_count"], "3");

    // A query that does not parse: CometBFT's parser message, a 500.
    let (status, bad) = get("/tx_search?query=%22tm.event%20%3D%20%27Tx%22")
        .await
        .unwrap();
    let bad: serde_json::Value = serde_json::from_str(&bad).unwrap();
    assert_eq!(status, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(
        bad["error"],
        json!({"code": -32603, "message": "Internal error", "data": "offset 11: EOF"})
    );
    let (_, bad_page) = get("/tx_search?query=%22tx.height%3E0%22&page=9&per_page=1")
        .await
        .unwrap();
    assert!(
        bad_page.contains("page should be within [1, 2] range, given 9"),
        "{bad_page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_does_not_hold_up_blocks() {
    let net = start().await;
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    wait_for_height(&client, 1).await;
    let mut ws = raw_ws(net.addr).await;
    for (id, q) in [(1, "tm.event='NewBlock'"), (2, "tm.event='NewBlockHeader'")] {
        send_json(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": id, "method": "subscribe", "params": {"query": q}}),
        )
        .await;
    }
    // The socket is never read from here on.
    let before = client.status().await.unwrap().sync_info.latest_block_height;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = client.status().await.unwrap().sync_info.latest_block_height;
    assert!(
        after.value() >= before.value() + 5,
        "blocks stalled: {before} then {after}"
    );
    drop(ws);
}

/// The mempool as `unconfirmed_txs` and `num_unconfirmed_txs` report it.
async fn unconfirmed(addr: std::net::SocketAddr) -> (serde_json::Value, serde_json::Value) {
    tokio::task::spawn_blocking(move || {
        (
            http_get(addr, "/unconfirmed_txs"),
            http_get(addr, "/num_unconfirmed_txs"),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_broadcast_returns_the_hash_waits_in_the_mempool_and_lands_in_the_next_block() {
    let net = start_idle().await;
    // Genesis becomes readable (account numbers) once the first block commits.
    net.devnet.lock().unwrap().produce_block().unwrap();
    let client = HttpClient::new(format!("http://{}", net.addr).as_str()).unwrap();
    let dev2 = net.accounts[2].address;
    let dev2_balance = || {
        net.devnet
            .lock()
            .unwrap()
            .app()
            .storage()
            .latest_snapshot()
            .balance(&dev2, "udeai")
            .unwrap()
    };
    let dev2_before = dev2_balance();

    let first = net.send("dev0", 25, 0);
    let second = net.send("dev1", 7, 0);
    let mut hashes = Vec::new();
    for tx in [&first, &second] {
        let sent = client.broadcast_tx_async(tx.clone()).await.unwrap();
        assert!(sent.code.is_ok(), "{}", sent.log);
        assert_eq!(
            sent.hash,
            tendermint::Hash::Sha256(deai_app::tx::tx_hash(tx)),
            "the hash is not the tx's SHA-256"
        );
        hashes.push(sent.hash);
    }

    // Both wait, in order, and no block holds them yet.
    let (pending, count) = unconfirmed(net.addr).await;
    let b64 = |t: &[u8]| base64::engine::general_purpose::STANDARD.encode(t);
    assert_eq!(
        pending["result"]["txs"],
        json!([b64(&first), b64(&second)]),
        "{pending}"
    );
    assert_eq!(pending["result"]["n_txs"], "2", "{pending}");
    assert_eq!(pending["result"]["total"], "2", "{pending}");
    assert_eq!(
        pending["result"]["total_bytes"],
        (first.len() + second.len()).to_string(),
        "{pending}"
    );
    assert_eq!(count["result"]["n_txs"], "2", "{count}");
    assert!(count["result"]["txs"].is_null(), "{count}");
    // `limit` caps the list, not the totals.
    let one = tokio::task::spawn_blocking(move || http_get(net.addr, "/unconfirmed_txs?limit=1"))
        .await
        .unwrap();
    assert_eq!(one["result"]["txs"], json!([b64(&first)]), "{one}");
    assert_eq!(one["result"]["n_txs"], "1", "{one}");
    assert_eq!(one["result"]["total"], "2", "{one}");
    assert!(
        client.tx(hashes[0], false).await.is_err(),
        "found before a block"
    );
    assert_eq!(
        client
            .status()
            .await
            .unwrap()
            .sync_info
            .latest_block_height
            .value(),
        1
    );

    let produced = tokio::task::spawn_blocking({
        let d = net.devnet.clone();
        move || d.lock().unwrap().produce_block().unwrap()
    })
    .await
    .unwrap();
    assert_eq!((produced.height, produced.txs), (2, 2));
    for (index, (hash, tx)) in hashes.iter().zip([&first, &second]).enumerate() {
        let found = client.tx(*hash, false).await.unwrap();
        assert_eq!(found.height.value(), 2);
        assert_eq!(found.index as usize, index);
        assert_eq!(&found.tx, tx);
        assert!(found.tx_result.code.is_ok(), "{}", found.tx_result.log);
    }
    let (pending, count) = unconfirmed(net.addr).await;
    assert_eq!(pending["result"]["txs"], json!([]), "{pending}");
    assert_eq!(pending["result"]["n_txs"], "0", "{pending}");
    assert_eq!(count["result"]["n_txs"], "0", "{count}");
    assert_eq!(dev2_balance(), dev2_before + 32);
}
