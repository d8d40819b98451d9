//! Shared by the devnet's RPC tests: a devnet in a temporary home serving
//! RPC on a free port, with no block producer unless the test starts one,
//! and signed transfers from its dev accounts.

#![allow(dead_code)] // each test file uses a different subset

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use deai_app::txbuilder::{msg_send, sign_tx, Key, TxParams};
use deai_auth::AuthRead;
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
