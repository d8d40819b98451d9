//! Where the devnet's RPC once differed from CometBFT v0.38.26, checked
//! against what a real CometBFT node answers (each expectation was read off
//! one, through `localnet/`): HTTP status codes and routing, JSON-RPC
//! framing, argument conversion, error codes and texts, result shapes,
//! the mempool cache, tx proofs and websocket event shapes.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use common::{raw_ws, reply_to, send_json, Net};
use deai_devnet::RpcLimits;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const CHAIN_ID: &str = "deai-compat-test";

/// A devnet with `blocks` blocks and no producer: blocks come only when a
/// test makes them.
async fn start(blocks: u64) -> Net {
    common::start_idle(CHAIN_ID, blocks, RpcLimits::default()).await
}

/// An answer: the status line, the head and the body.
struct Answer {
    status: String,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }
}

/// Sends one request (asking to close after it) and reads the answer.
async fn exchange(addr: SocketAddr, method: &str, target: &str, body: &str) -> Answer {
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        Answer {
            status: head.lines().next().unwrap().to_string(),
            head: head.to_string(),
            body: body.to_string(),
        }
    })
    .await
    .unwrap()
}

async fn get(addr: SocketAddr, target: &str) -> Answer {
    exchange(addr, "GET", target, "").await
}

async fn post(addr: SocketAddr, body: Value) -> Answer {
    exchange(addr, "POST", "/", &body.to_string()).await
}

/// The result of a JSON-RPC call that must succeed.
async fn call(addr: SocketAddr, method: &str, params: Value) -> Value {
    let a = post(
        addr,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .await;
    let v = a.json();
    assert!(v.get("result").is_some(), "{method}: {v}");
    v["result"].clone()
}

/// The error of a JSON-RPC call that must fail.
async fn call_error(addr: SocketAddr, method: &str, params: Value) -> Value {
    let v = post(
        addr,
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}),
    )
    .await
    .json();
    assert!(v.get("error").is_some(), "{method}: {v}");
    v["error"].clone()
}

const OK: &str = "HTTP/1.1 200 OK";
const FAILED: &str = "HTTP/1.1 500 Internal Server Error";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_status_codes_and_routing_follow_cometbfts_mux() {
    let net = start(2).await;
    let addr = net.addr;
    // A URI call that fails is a 500, with id -1.
    let a = get(addr, "/block?height=99").await;
    assert_eq!(a.status, FAILED);
    assert_eq!(
        a.json(),
        json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32603, "message": "Internal error",
               "data": "height 99 must be less than or equal to the current blockchain height 2"}})
    );
    // An unknown path: Go's plain 404.
    let a = get(addr, "/no_such_method").await;
    assert_eq!(
        (a.status.as_str(), a.body.as_str()),
        ("HTTP/1.1 404 Not Found", "404 page not found\n")
    );
    // A websocket-only method over HTTP: a 404 with Method not found (no data).
    let a = get(addr, "/subscribe").await;
    assert_eq!(a.status, "HTTP/1.1 404 Not Found");
    assert_eq!(
        a.json()["error"],
        json!({"code": -32601, "message": "Method not found"})
    );
    // Any HTTP method at `/` is JSON-RPC; an empty body lists the endpoints.
    let a = exchange(
        addr,
        "PUT",
        "/",
        r#"{"jsonrpc":"2.0","id":1,"method":"health"}"#,
    )
    .await;
    assert_eq!(
        (a.status.as_str(), a.json()["result"].clone()),
        (OK, json!({}))
    );
    let a = get(addr, "/").await;
    assert!(a.head.contains("text/html"), "{}", a.head);
    assert!(a
        .body
        .contains("/tx_search?query=_&prove=_&page=_&per_page=_&order_by=_"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_framing_follows_cometbft() {
    let net = start(1).await;
    let addr = net.addr;
    // A body that is not JSON: a 500 parse error without an id.
    let a = exchange(addr, "POST", "/", "{bad").await;
    assert_eq!(a.status, FAILED);
    let v = a.json();
    assert_eq!(v["error"]["code"], -32700);
    assert_eq!(v["error"]["message"], "Parse error. Invalid JSON");
    assert!(v["error"]["data"]
        .as_str()
        .unwrap()
        .starts_with("error unmarshaling request: "));
    assert!(v.get("id").is_none(), "{v}");
    // A notification (no id) gets no answer at all.
    let a = post(addr, json!({"jsonrpc": "2.0", "method": "health"})).await;
    assert_eq!((a.status.as_str(), a.body.as_str()), (OK, ""));
    // A batch of one is answered with one object; an empty batch with nothing.
    let a = post(
        addr,
        json!([{"jsonrpc": "2.0", "id": 5, "method": "health"}]),
    )
    .await;
    assert_eq!(a.json(), json!({"jsonrpc": "2.0", "id": 5, "result": {}}));
    assert_eq!(post(addr, json!([])).await.body, "");
    // Notifications inside a batch are skipped.
    let a = post(
        addr,
        json!([{"jsonrpc": "2.0", "id": 1, "method": "health"},
               {"jsonrpc": "2.0", "method": "health"},
               {"jsonrpc": "2.0", "id": 2, "method": "health"}]),
    )
    .await;
    assert_eq!(a.json().as_array().unwrap().len(), 2);
    // An unknown method: no data.
    assert_eq!(
        call_error(addr, "no_such_method", json!({})).await,
        json!({"code": -32601, "message": "Method not found"})
    );
    // A method with arguments called without `params`: CometBFT's
    // reflection panics, answered with id -1 and a 500.
    let a = post(addr, json!({"jsonrpc": "2.0", "id": 3, "method": "block"})).await;
    assert_eq!(a.status, FAILED);
    assert_eq!(
        a.json(),
        json!({"jsonrpc": "2.0", "id": -1, "error": {"code": -32603, "message": "Internal error",
               "data": "reflect: Call with too few input arguments"}})
    );
    // An id of another type is a parse error.
    let a = post(
        addr,
        json!({"jsonrpc": "2.0", "id": [1], "method": "health"}),
    )
    .await;
    assert_eq!(a.json()["error"]["code"], -32700);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_convert_as_cometbfts_do() {
    let net = start(2).await;
    let addr = net.addr;
    // JSON-RPC integers are strings: a number is refused with -32602.
    assert_eq!(
        call_error(addr, "block", json!({"height": 2})).await,
        json!({"code": -32602, "message": "Invalid params",
               "data": "error converting json params to arguments: invalid 64-bit integer encoding \"2\", expected string"})
    );
    assert_eq!(
        call(addr, "block", json!({"height": "2"})).await["block"]["header"]["height"],
        "2"
    );
    assert_eq!(
        call_error(addr, "tx", json!({"hash": "AA==", "prove": "true"})).await["data"],
        "error converting json params to arguments: json: cannot unmarshal string into Go value of type bool"
    );
    assert_eq!(
        call_error(addr, "block", json!(["1", "2"])).await["data"],
        "error converting json params to arguments: expected 1 parameters ([height]), got 2 ([[34 49 34] [34 50 34]])"
    );
    // A URI string argument must be quoted (or 0x-hex).
    let a = get(addr, "/tx_search?query=tx.height>0").await;
    assert_eq!(a.status, FAILED);
    assert_eq!(
        a.json()["error"]["data"],
        "error converting http params to arguments: invalid character 'x' in literal true (expecting 'r')"
    );
    assert_eq!(
        get(addr, "/block?height=0x2").await.json()["error"]["data"],
        "error converting http params to arguments: got a hex string arg, but expected 'int64'"
    );
    // A height of 0 is not "the latest": it is refused.
    assert_eq!(
        get(addr, "/block?height=0").await.json()["error"]["data"],
        "height must be greater than 0, but got 0"
    );
    assert_eq!(
        get(addr, "/commit?height=-1").await.json()["error"]["data"],
        "height must be greater than 0, but got -1"
    );
    assert_eq!(
        get(addr, "/blockchain?minHeight=-1").await.json()["error"]["data"],
        "heights must be non-negative"
    );
    assert_eq!(
        get(addr, "/genesis_chunked?chunk=5").await.json()["error"]["data"],
        "there are 0 chunks, 5 is invalid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_have_cometbfts_shapes() {
    let net = start(1).await;
    let addr = net.addr;
    // An empty block lists no txs and no evidence as `[]`, not `null`.
    let block = call(addr, "block", json!({"height": "1"})).await;
    assert_eq!(block["block"]["data"]["txs"], json!([]));
    assert_eq!(block["block"]["evidence"]["evidence"], json!([]));
    // block_results: no v0.37 fields, `null` for empty lists, a base64 app hash.
    let r = call(addr, "block_results", json!({"height": "1"})).await;
    let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "app_hash",
            "consensus_param_updates",
            "finalize_block_events",
            "height",
            "txs_results",
            "validator_updates"
        ]
    );
    assert_eq!(r["txs_results"], Value::Null);
    assert_eq!(r["finalize_block_events"], Value::Null);
    assert_eq!(r["validator_updates"], Value::Null);
    assert_eq!(
        B64.decode(r["app_hash"].as_str().unwrap()).unwrap().len(),
        32
    );
    // abci_query: CosmJS reads `proofOps`; empty bytes are `null`.
    let key = hex::encode("bank/params");
    let q = call(
        addr,
        "abci_query",
        json!({"path": "store/bank/key", "data": key, "prove": true}),
    )
    .await;
    assert_eq!(q["response"]["proofOps"]["ops"][0]["type"], "ics23:jmt");
    assert!(q["response"].get("proof").is_none(), "{q}");
    let none = call(addr, "abci_query", json!({"path": "/no/such/path"})).await;
    assert_eq!(none["response"]["key"], Value::Null);
    assert_eq!(none["response"]["value"], Value::Null);
    assert_eq!(none["response"]["proofOps"], Value::Null);
    // validators: `count`, `proposer_priority`, and the next height's set by default.
    let v = call(addr, "validators", json!({})).await;
    assert_eq!(v["block_height"], "2");
    assert_eq!(
        (v["count"].clone(), v["total"].clone()),
        (json!("1"), json!("1"))
    );
    assert_eq!(v["validators"][0]["proposer_priority"], "0");
    assert_eq!(v["validators"][0]["voting_power"], "10");
    // consensus_params is served, from genesis.
    let p = call(addr, "consensus_params", json!({})).await;
    assert_eq!(p["block_height"], "2");
    assert_eq!(
        p["consensus_params"]["validator"]["pub_key_types"],
        json!(["ed25519"])
    );
    assert_eq!(p["consensus_params"]["block"]["max_gas"], "-1");
    // status names the RPC's address.
    let s = call(addr, "status", json!({})).await;
    assert_eq!(
        s["node_info"]["other"]["rpc_address"],
        format!("tcp://{addr}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mempool_methods_answer_as_cometbfts_do() {
    let net = start(1).await;
    let addr = net.addr;
    let tx = net.send("dev0", 5, 0);
    let tx64 = B64.encode(&tx);
    // check_tx answers `ResponseCheckTx` fields only.
    let r = call(addr, "check_tx", json!({"tx": tx64})).await;
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "code",
            "codespace",
            "data",
            "events",
            "gas_used",
            "gas_wanted",
            "info",
            "log"
        ]
    );
    // broadcast_tx_async answers before CheckTx: no result of it, even for garbage.
    let garbage = call(addr, "broadcast_tx_async", json!({"tx": "AAEC"})).await;
    assert_eq!(
        (garbage["code"].clone(), garbage["log"].clone()),
        (json!(0), json!(""))
    );
    // broadcast_tx_commit of a tx CheckTx refuses: height 0.
    let refused = call(addr, "broadcast_tx_commit", json!({"tx": "AAEC"})).await;
    assert_ne!(refused["check_tx"]["code"], 0);
    assert_eq!(refused["height"], "0");
    // A tx sent twice: refused by the mempool's cache, an error.
    let first = call(addr, "broadcast_tx_sync", json!({"tx": tx64})).await;
    assert_eq!(first["code"], 0, "{first}");
    assert_eq!(first["hash"], hex::encode_upper(Sha256::digest(&tx)));
    for (method, text) in [
        ("broadcast_tx_sync", "tx already exists in cache"),
        ("broadcast_tx_async", "tx already exists in cache"),
        (
            "broadcast_tx_commit",
            "error on broadcastTxCommit: tx already exists in cache",
        ),
    ] {
        assert_eq!(
            call_error(addr, method, json!({"tx": tx64})).await,
            json!({"code": -32603, "message": "Internal error", "data": text})
        );
    }
    net.produce();
    // Committed, it is still refused as seen.
    assert_eq!(
        call_error(addr, "broadcast_tx_sync", json!({"tx": tx64})).await["data"],
        "tx already exists in cache"
    );
    // unconfirmed_txs takes a `limit` below 1 as 30, as CometBFT does.
    let pending = call(addr, "unconfirmed_txs", json!({"limit": "-5"})).await;
    assert_eq!(pending["txs"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tx_lookups_and_proofs_follow_cometbft() {
    let net = start(1).await;
    let addr = net.addr;
    let txs: Vec<Vec<u8>> = (0..3).map(|i| net.send("dev0", 5, i)).collect();
    for tx in &txs {
        assert_eq!(
            net.devnet
                .lock()
                .unwrap()
                .check_tx(tx.clone())
                .unwrap()
                .code,
            0
        );
    }
    net.produce();
    let data_hash =
        call(addr, "block", json!({"height": "2"})).await["block"]["header"]["data_hash"].clone();
    // With `prove`, each tx comes with a Merkle proof to the block's data hash.
    for (i, tx) in txs.iter().enumerate() {
        let hash = B64.encode(Sha256::digest(tx));
        let r = call(addr, "tx", json!({"hash": hash, "prove": true})).await;
        let proof = &r["proof"];
        assert_eq!(proof["root_hash"], data_hash);
        assert_eq!(proof["data"], B64.encode(tx));
        assert_eq!(proof["proof"]["total"], "3");
        assert_eq!(proof["proof"]["index"], i.to_string());
        let leaf: [u8; 32] = Sha256::new()
            .chain_update([0u8])
            .chain_update(Sha256::digest(tx))
            .finalize()
            .into();
        assert_eq!(proof["proof"]["leaf_hash"], B64.encode(leaf));
        // Without it, no proof field at all.
        let plain = call(addr, "tx", json!({"hash": hash})).await;
        assert!(plain.get("proof").is_none(), "{plain}");
    }
    let searched = call(
        addr,
        "tx_search",
        json!({"query": "tx.height = 2", "prove": true, "order_by": "desc"}),
    )
    .await;
    assert_eq!(searched["total_count"], "3");
    assert_eq!(searched["txs"][0]["proof"]["proof"]["index"], "2");
    // Not found: CometBFT's text, with the bytes as given.
    assert_eq!(
        get(addr, "/tx?hash=0x00").await.json()["error"]["data"],
        "tx (00) not found"
    );
    assert_eq!(
        get(addr, "/tx").await.json()["error"]["data"],
        "transaction hash cannot be empty"
    );
    // tx_search's bounds and messages.
    let long = format!("a.b = '{}'", "x".repeat(600));
    assert_eq!(
        call_error(addr, "tx_search", json!({"query": long})).await["data"],
        "maximum query length exceeded"
    );
    assert_eq!(
        call_error(
            addr,
            "tx_search",
            json!({"query": "tx.height = 2", "order_by": "DESC"})
        )
        .await["data"],
        "expected order_by to be either `asc` or `desc` or empty"
    );
    assert_eq!(
        call_error(addr, "tx_search", json!({"query": "a.b = \"x\""})).await["data"],
        "offset 6: invalid input \" at offset 7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_carries_many_requests() {
    let net = start(1).await;
    let addr = net.addr;
    let answers = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"health"}"#;
        let mut answers = Vec::new();
        for _ in 0..3 {
            write!(
                s,
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            // Read one answer by its Content-Length.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                s.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            let mut body = vec![0u8; len];
            s.read_exact(&mut body).unwrap();
            assert!(!head.contains("Connection: close"), "{head}");
            answers.push(String::from_utf8(body).unwrap());
        }
        answers
    })
    .await
    .unwrap();
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|a| a.contains("\"result\":{}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_requests_and_events_have_cometbfts_shapes() {
    let net = start(1).await;
    let mut ws = raw_ws(net.addr).await;
    // Argument errors on the websocket are internal errors.
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 1, "method": "block", "params": {"height": 1}}),
    )
    .await;
    assert_eq!(reply_to(&mut ws, 1).await["error"]["code"], -32603);
    // A query over 512 bytes is refused.
    let long = format!("a.b = '{}'", "x".repeat(600));
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 2, "method": "subscribe", "params": {"query": long}}),
    )
    .await;
    assert_eq!(
        reply_to(&mut ws, 2).await["error"]["data"],
        "maximum query length exceeded"
    );
    for (id, q) in [
        (3, "tm.event='Tx'"),
        (4, "tm.event='NewBlock'"),
        (5, "tm.event='NewBlockEvents'"),
    ] {
        send_json(
            &mut ws,
            json!({"jsonrpc": "2.0", "id": id, "method": "subscribe", "params": {"query": q}}),
        )
        .await;
        assert_eq!(reply_to(&mut ws, id).await["result"], json!({}));
    }
    let tx = net.send("dev0", 5, 0);
    assert_eq!(net.devnet.lock().unwrap().check_tx(tx).unwrap().code, 0);
    net.produce();
    // NewBlock: the FinalizeBlock response without its empty fields.
    let block = reply_to(&mut ws, 4).await;
    let finalize = &block["result"]["data"]["value"]["result_finalize_block"];
    assert_eq!(finalize["validator_updates"], Value::Null);
    assert!(
        finalize.get("consensus_param_updates").is_none(),
        "{finalize}"
    );
    assert_eq!(finalize["tx_results"][0]["code"], 0, "{finalize}");
    assert_eq!(
        block["result"]["data"]["value"]["block"]["evidence"]["evidence"],
        json!([])
    );
    // NewBlockEvents: `null` events when the block emitted none.
    let events = reply_to(&mut ws, 5).await;
    let value = &events["result"]["data"]["value"];
    assert_eq!(value["num_txs"], "1");
    assert!(value["events"].is_null() || value["events"].is_array());
    // Tx: Go's `omitempty` leaves out the first tx's index and a success's code.
    let tx_event = reply_to(&mut ws, 3).await;
    let tx_result = &tx_event["result"]["data"]["value"]["TxResult"];
    assert!(tx_result.get("index").is_none(), "{tx_result}");
    assert!(tx_result["result"].get("code").is_none(), "{tx_result}");
    assert!(tx_result["result"].get("log").is_none(), "{tx_result}");
    assert!(tx_result["result"]["gas_used"].is_string(), "{tx_result}");
    assert_eq!(tx_result["height"], "2");
    // A notification gets no answer; the next request's does come.
    send_json(&mut ws, json!({"jsonrpc": "2.0", "method": "health"})).await;
    send_json(
        &mut ws,
        json!({"jsonrpc": "2.0", "id": 6, "method": "health"}),
    )
    .await;
    assert_eq!(reply_to(&mut ws, 6).await["result"], json!({}));
}
