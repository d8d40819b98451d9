//! Shared by the devnet's RPC tests: a devnet in a temporary home serving
//! RPC on a free port, with no block producer unless the test starts one,
//! signed transfers from its dev accounts, and a raw websocket client.

#![allow(dead_code)] // each test file uses a different subset

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_tungstenite::tungstenite::Message;
use futures::{SinkExt, StreamExt};
use serde_json::Value;

use deai_auth::AuthRead;
use deai_client::tx::{msg_send, sign_tx, Key, TxParams};
use deai_devnet::{chain, home, rpc, Devnet, DevnetHome, RpcLimits};
use deai_keys::{Backend, Keyring};
use deai_types::Coin;

/// A devnet serving RPC.
pub struct Net {
    _dir: tempfile::TempDir,
    pub chain_id: String,
    pub home: DevnetHome,
    pub devnet: rpc::SharedDevnet,
    pub addr: SocketAddr,
    pub accounts: Vec<home::DevAccount>,
}

/// A devnet of chain `chain_id` with `blocks` blocks made before it serves,
/// and no producer: later blocks come only when a test makes them, so what
/// waits in the mempool is known. Its RPC keeps within `limits`.
pub async fn start_idle(chain_id: &str, blocks: u64, limits: RpcLimits) -> Net {
    let dir = tempfile::tempdir().unwrap();
    let home = DevnetHome(dir.path().to_path_buf());
    let now = chain::now_after(tendermint::Time::unix_epoch()).unwrap();
    let accounts = home::ensure_genesis(&home, chain_id, &now.to_rfc3339()).unwrap();
    let mut devnet = Devnet::open(&home).unwrap();
    for _ in 0..blocks {
        devnet.produce_block().unwrap();
    }
    let devnet = Arc::new(Mutex::new(devnet));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(rpc::serve_with(devnet.clone(), listener, limits));
    Net {
        _dir: dir,
        chain_id: chain_id.to_string(),
        home,
        devnet,
        addr,
        accounts,
    }
}

impl Net {
    /// Makes one block.
    pub fn produce(&self) {
        self.devnet.lock().unwrap().produce_block().unwrap();
    }

    /// A transfer of `amount` udeai from dev key `from` to the third dev
    /// account, signed with `sequence` under the committed account number.
    pub fn send(&self, from: &str, amount: u128, sequence: u64) -> Vec<u8> {
        let kr = Keyring::open(&self.home.keyring(), Backend::Test).unwrap();
        let key = Key::from_signing_key(kr.signing_key(from, None).unwrap());
        let account_number = self
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
            chain_id: self.chain_id.clone(),
            account_number,
            sequence,
            fee: Some(Coin::new(2_000, "udeai")),
            gas_limit: 200_000,
            memo: String::new(),
        };
        let to = self.accounts[2].address;
        sign_tx(
            &key,
            vec![msg_send(&key.address(), &to, &[Coin::new(amount, "udeai")])],
            &p,
        )
    }
}

/// A websocket to the devnet's `/websocket`, spoken to in raw JSON.
pub type RawWs = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;

/// Opens a websocket to the RPC at `addr`.
pub async fn raw_ws(addr: SocketAddr) -> RawWs {
    async_tungstenite::tokio::connect_async(format!("ws://{addr}/websocket"))
        .await
        .unwrap()
        .0
}

/// Sends `v` as a text message.
pub async fn send_json(ws: &mut RawWs, v: Value) {
    ws.send(Message::Text(v.to_string())).await.unwrap();
}

/// The next JSON text message within 10 s, skipping pings.
pub async fn recv_json(ws: &mut RawWs) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message in time")
            .unwrap()
            .unwrap();
        match msg {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next reply whose id is `id`, skipping events sent under other ids.
pub async fn reply_to(ws: &mut RawWs, id: i64) -> Value {
    loop {
        let v = recv_json(ws).await;
        if v["id"] == id {
            return v;
        }
    }
}
