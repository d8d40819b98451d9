//! The devnet RPC's HTTP layer (axum over hyper): CORS as CometBFT's
//! `cors_allowed_origins` configures it, the head limit's answer, bodies
//! sent in chunks, CometBFT's raw quotes in URI calls, and idle
//! kept-alive connections.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

use deai_devnet::RpcLimits;
use serde_json::Value;

/// Sends `request` and reads until the server closes, or `wait` passes.
async fn exchange(addr: SocketAddr, request: String, wait: Duration) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(wait)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        let _ = s.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
    .await
    .unwrap()
}

/// The value of header `name` (matched without case) in an answer's head.
fn header<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let (head, _) = answer.split_once("\r\n\r\n")?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn body(answer: &str) -> Value {
    serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap()
}

fn preflight(origin: &str) -> String {
    format!(
        "OPTIONS /status HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n"
    )
}

fn get_from(origin: &str, target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n")
}

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_allowed_origins_with_cometbfts_methods_and_headers_and_others_without() {
    let limits = RpcLimits {
        cors_allowed_origins: vec!["https://app.example".into(), "https://*.deai.dev".into()],
        ..RpcLimits::default()
    };
    let net = common::start_idle("deai-cors-test", 1, limits).await;
    let addr = net.addr;

    let allowed = exchange(addr, preflight("https://app.example"), WAIT).await;
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    assert_eq!(
        header(&allowed, "access-control-allow-origin"),
        Some("https://app.example"),
        "{allowed}"
    );
    let methods = header(&allowed, "access-control-allow-methods").unwrap();
    for m in ["HEAD", "GET", "POST"] {
        assert!(methods.contains(m), "{methods}");
    }
    let headers = header(&allowed, "access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "origin",
        "accept",
        "content-type",
        "x-requested-with",
        "x-server-time",
    ] {
        assert!(headers.contains(h), "{headers}");
    }
    let wildcard = exchange(addr, preflight("https://wallet.deai.dev"), WAIT).await;
    assert_eq!(
        header(&wildcard, "access-control-allow-origin"),
        Some("https://wallet.deai.dev"),
        "{wildcard}"
    );

    let refused = exchange(addr, preflight("https://evil.example"), WAIT).await;
    assert_eq!(
        header(&refused, "access-control-allow-origin"),
        None,
        "{refused}"
    );

    let get = exchange(addr, get_from("https://app.example", "/health"), WAIT).await;
    assert!(get.starts_with("HTTP/1.1 200"), "{get}");
    assert_eq!(
        header(&get, "access-control-allow-origin"),
        Some("https://app.example"),
        "{get}"
    );
    assert_eq!(body(&get)["result"], serde_json::json!({}));
    let other = exchange(addr, get_from("https://evil.example", "/health"), WAIT).await;
    assert_eq!(
        header(&other, "access-control-allow-origin"),
        None,
        "{other}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_origin_is_allowed_with_a_star_and_none_by_default() {
    let star = RpcLimits {
        cors_allowed_origins: vec!["*".into()],
        ..RpcLimits::default()
    };
    let net = common::start_idle("deai-cors-test", 1, star).await;
    let get = exchange(
        net.addr,
        get_from("https://anywhere.example", "/health"),
        WAIT,
    )
    .await;
    assert_eq!(
        header(&get, "access-control-allow-origin"),
        Some("*"),
        "{get}"
    );

    let net = common::start_idle("deai-cors-test", 1, RpcLimits::default()).await;
    let get = exchange(net.addr, get_from("https://app.example", "/health"), WAIT).await;
    assert!(get.starts_with("HTTP/1.1 200"), "{get}");
    assert_eq!(header(&get, "access-control-allow-origin"), None, "{get}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_over_the_limit_is_refused_with_431_and_the_reason() {
    let limits = RpcLimits {
        max_header_bytes: 4096,
        ..RpcLimits::default()
    };
    let net = common::start_idle("deai-head-test", 1, limits).await;
    let request = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(5000)
    );
    let answer = exchange(net.addr, request, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    assert_eq!(
        body(&answer)["error"]["data"],
        "the request head exceeds 4096 bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_is_read_within_the_body_limit() {
    let limits = RpcLimits {
        max_body_bytes: 1000,
        ..RpcLimits::default()
    };
    let net = common::start_idle("deai-chunked-test", 1, limits).await;
    let chunked = |json: &str| {
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {:x}\r\n{json}\r\n0\r\n\r\n",
            json.len()
        )
    };
    let ok = exchange(
        net.addr,
        chunked(r#"{"jsonrpc":"2.0","id":1,"method":"health"}"#),
        WAIT,
    )
    .await;
    assert_eq!(body(&ok)["result"], serde_json::json!({}), "{ok}");
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"health","params":{{"pad":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let refused = exchange(net.addr, chunked(&big), WAIT).await;
    assert!(refused.starts_with("HTTP/1.1 413"), "{refused}");
    assert!(
        body(&refused)["error"]["data"]
            .as_str()
            .unwrap()
            .contains("request body too large"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uri_calls_take_raw_quotes_and_angle_brackets_as_cometbft_does() {
    let net = common::start_idle("deai-uri-test", 3, RpcLimits::default()).await;
    let request =
        "GET /block_search?query=\"block.height>1\" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let answer = exchange(net.addr, request.to_string(), WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(body(&answer)["result"]["total_count"], "2", "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_left_idle_past_the_read_timeout_is_closed() {
    let limits = RpcLimits {
        read_timeout: Duration::from_millis(300),
        ..RpcLimits::default()
    };
    let net = common::start_idle("deai-idle-test", 1, limits).await;
    let request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_string();
    let started = std::time::Instant::now();
    let answer = exchange(net.addr, request, Duration::from_secs(5)).await;
    // One answer, kept alive, then closed for idling, well before 5 s.
    assert!(started.elapsed() < Duration::from_secs(3), "{answer}");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(header(&answer, "connection"), None, "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
}
