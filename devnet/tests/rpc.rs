//! The devnet's CometBFT-compatible JSON-RPC, driven by tendermint-rpc's
//! own `HttpClient` and by plain URI GETs.

#![allow(clippy::unwrap_used, missing_docs)]

use std::{
    io::{Read, Write},
    sync::{Arc, Mutex},
    time::Duration,
};

use cosmos_sdk_proto::cosmos::bank::v1beta1::{QueryBalanceRequest, QueryBalanceResponse};
use deai_app::txbuilder::{msg_send, sign_tx, Key, TxParams};
use deai_auth::AuthRead;
use deai_devnet::{chain, home, producer, rpc, Devnet, DevnetHome};
use deai_keys::{Backend, Keyring};
use deai_types::Coin;
use prost::Message;
use tendermint_rpc::{Client, HttpClient};

const CHAIN_ID: &str = "deai-rpc-test";

struct Net {
    _dir: tempfile::TempDir,
    home: DevnetHome,
    devnet: rpc::SharedDevnet,
    addr: std::net::SocketAddr,
    accounts: Vec<home::DevAccount>,
}

async fn start() -> Net {
    let dir = tempfile::tempdir().unwrap();
    let home = DevnetHome(dir.path().to_path_buf());
    let now = chain::now_after(tendermint::Time::unix_epoch()).unwrap();
    let accounts = home::ensure_genesis(&home, CHAIN_ID, &now.to_rfc3339()).unwrap();
    let devnet = Arc::new(Mutex::new(Devnet::open(&home).unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rpc::serve(devnet.clone(), listener));
    let d = devnet.clone();
    // Ends with an error once the test's home is deleted.
    std::thread::spawn(move || producer::run(&d, Duration::from_millis(100)));
    Net {
        _dir: dir,
        home,
        devnet,
        addr,
        accounts,
    }
}

fn signed_send(net: &Net, from: &str, amount: u128, sequence: u64) -> Vec<u8> {
    let kr = Keyring::open(&net.home.keyring(), Backend::Test).unwrap();
    let key = Key::from_signing_key(kr.signing_key(from, None).unwrap());
    let account_number = net
        .devnet
        .lock()
        .unwrap()
        .app()
        .storage()
        .latest_snapshot()
        .account(&key.address())
        .unwrap()
        .unwrap()
        .account_number;
    let p = TxParams {
        chain_id: CHAIN_ID.to_string(),
        account_number,
        sequence,
        fee: Some(Coin::new(2_000, "udeai")),
        gas_limit: 200_000,
        memo: String::new(),
    };
    let to = net.accounts[2].address;
    sign_tx(
        &key,
        vec![msg_send(&key.address(), &to, &[Coin::new(amount, "udeai")])],
        &p,
    )
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

    let tx = signed_send(&net, "dev0", 25, 0);
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
        .broadcast_tx_commit(signed_send(&net, "dev1", 5, 0))
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

fn http_get(addr: std::net::SocketAddr, target: &str) -> serde_json::Value {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
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
            http_get(addr, "/no_such_method"),
        )
    })
    .await
    .unwrap();
    assert_eq!(status["result"]["node_info"]["network"], CHAIN_ID);
    assert_eq!(block["result"]["block"]["header"]["height"], "2");
    assert_eq!(missing["error"]["code"], -32601);
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
    let tx = signed_send(&net, "dev0", 5, 0);
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
