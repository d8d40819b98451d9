//! `deaid devnet`: a single-validator DeAI chain in one process, with no
//! CometBFT binary. This crate owns the devnet's home directory (a dev
//! genesis with a validator key and prefunded accounts, created on first
//! start), an embedded block producer that drives [`deai_app::App`] with
//! exactly the ABCI call sequence CometBFT v0.38 makes, the CometBFT-format
//! blocks and signed commits it produces, and their RocksDB block store.

// The block producer runs consensus-critical hashing: no floating point.
#![deny(clippy::float_arithmetic)]

pub mod chain;
pub mod events;
pub mod home;
mod lenient;
pub(crate) mod methods;
pub(crate) mod params;
pub mod producer;
pub mod query;
pub mod rpc;
pub mod search;
pub mod store;
pub mod ws;

use std::{path::PathBuf, time::Duration};

pub use crate::{
    home::{DevAccount, DevnetHome, PrivValidatorKey},
    producer::{Devnet, MempoolError, MempoolLimits, ProducedBlock},
    rpc::RpcLimits,
    store::{BlockStore, StoredBlock, TxLocation},
};

/// How a devnet runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevnetConfig {
    /// The home directory (config/, data/, keyring-test/).
    pub home: PathBuf,
    /// The time between blocks.
    pub block_time: Duration,
    /// Where the CometBFT-compatible JSON-RPC listens.
    pub rpc_listen: String,
    /// The chain id used when the genesis is created.
    pub chain_id: String,
    /// The RPC's bounds (CometBFT's defaults).
    pub rpc_limits: RpcLimits,
    /// How much the mempool holds (CometBFT's defaults).
    pub mempool_limits: MempoolLimits,
    /// Where the Cosmos gRPC and REST servers listen.
    pub api: deai_api::Listen,
}

impl DevnetConfig {
    /// The defaults for `home`: one block a second, chain `deai-devnet`.
    pub fn new(home: PathBuf) -> Self {
        DevnetConfig {
            home,
            block_time: Duration::from_secs(1),
            rpc_listen: "127.0.0.1:26657".to_string(),
            chain_id: "deai-devnet".to_string(),
            rpc_limits: RpcLimits::default(),
            mempool_limits: MempoolLimits::default(),
            api: deai_api::Listen {
                grpc: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 9090))),
                rest: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 1317))),
                rest_cors_origins: Vec::new(),
            },
        }
    }
}

/// `deaid devnet`: creates the dev genesis on first start (printing the
/// prefunded accounts and their mnemonics once), opens the chain and
/// produces a block every `block_time` until a block fails.
pub fn start(cfg: &DevnetConfig) -> anyhow::Result<()> {
    let home = DevnetHome(cfg.home.clone());
    let genesis_time = chain::now_after(tendermint::Time::unix_epoch())?.to_rfc3339();
    let accounts = home::ensure_genesis(&home, &cfg.chain_id, &genesis_time)?;
    if !accounts.is_empty() {
        println!(
            "Created a devnet in {} (chain id {}). Prefunded accounts, in the test keyring {}:",
            home.0.display(),
            cfg.chain_id,
            home.keyring().display()
        );
        for a in &accounts {
            println!("\n{}: {}\n  mnemonic: {}", a.name, a.address, a.mnemonic);
        }
        println!("\nThese mnemonics are shown only once; the keys are stored unencrypted.");
    }
    let mut devnet = Devnet::open(&home)?;
    devnet.set_mempool_limits(cfg.mempool_limits);
    println!(
        "devnet {} at height {}, one block every {:?}",
        devnet.chain_id(),
        devnet.last_height(),
        cfg.block_time
    );
    if devnet.last_height() == 0 {
        // Block 1 commits the genesis state: before it, queries would find
        // no accounts. Made before the RPC is announced, so a client that
        // starts on "JSON-RPC on" finds the dev accounts funded.
        devnet.produce_block()?;
    }
    let devnet = std::sync::Arc::new(std::sync::Mutex::new(devnet));
    let rt = tokio::runtime::Runtime::new()?;
    let listener = rt.block_on(tokio::net::TcpListener::bind(rpc::parse_listen(
        &cfg.rpc_listen,
    )?))?;
    let querier = devnet
        .lock()
        .map_err(|_| anyhow::anyhow!("the devnet lock is poisoned"))?
        .app()
        .querier();
    let api = std::sync::Arc::new(deai_api::Api::new(
        querier,
        &format!("http://{}", listener.local_addr()?),
    )?);
    let api_servers = rt.block_on(deai_api::start(api, cfg.api.clone()))?;
    if let Some(a) = api_servers.grpc {
        println!("gRPC on {a}");
    }
    if let Some(a) = api_servers.rest {
        println!("REST on http://{a}");
    }
    println!("JSON-RPC on http://{}", listener.local_addr()?);
    let server = rt.spawn(rpc::serve_with(
        devnet.clone(),
        listener,
        cfg.rpc_limits.clone(),
    ));
    let producer = {
        let devnet = devnet.clone();
        let block_time = cfg.block_time;
        std::thread::spawn(move || producer::run(&devnet, block_time))
    };
    let result = producer
        .join()
        .map_err(|_| anyhow::anyhow!("the block producer panicked"))?;
    server.abort();
    result
}
