//! The one path from messages to a tx in a block, shared by the CLI and the
//! compute daemon: the gas limit (fixed, or the node's Simulate query times
//! an adjustment), SIGN_MODE_DIRECT signing, `broadcast_tx_sync`, then
//! waiting for the block and reading the result. Callers fill in the chain
//! id, account number and sequence (each words a missing account its own
//! way) and decide what a tx that failed in its block means to them.

use std::time::Duration;

use cosmos_sdk_proto::Any;

use crate::{
    gas::Gas,
    rpc::NodeClient,
    tx::{sign_tx, tx_hash, Key, TxParams},
};

/// Why a tx did not reach a block. Each message says which step failed, so
/// a caller only adds what it was doing.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The node's Simulate query failed (the tx would fail, or the node is down).
    #[error("simulating the tx: {0:#}")]
    Simulate(anyhow::Error),
    /// The node could not be asked to take the tx.
    #[error("{0:#}")]
    Broadcast(anyhow::Error),
    /// CheckTx refused the tx: it is not in the mempool.
    #[error("the node refused the tx (code {code}): {log}")]
    Refused {
        /// CheckTx's code.
        code: u32,
        /// CheckTx's log.
        log: String,
    },
    /// The tx was accepted but not seen in a block in time (or cannot be seen).
    #[error("waiting for the tx: {0:#}")]
    Wait(anyhow::Error),
}

/// A tx signed and ready to broadcast.
#[derive(Debug, Clone)]
pub struct SignedTx {
    /// The `TxRaw` bytes.
    pub bytes: Vec<u8>,
    /// Their hash, as CometBFT shows it.
    pub hash: [u8; 32],
    /// What it was signed with, the gas limit included.
    pub params: TxParams,
}

impl SignedTx {
    /// Signs `msgs` with `params` as they are (the gas limit included).
    pub fn new(key: &Key, msgs: Vec<Any>, params: TxParams) -> Self {
        let bytes = sign_tx(key, msgs, &params);
        SignedTx {
            hash: tx_hash(&bytes),
            bytes,
            params,
        }
    }
}

/// A tx in its block: where, and what it did.
#[derive(Debug, Clone)]
pub struct Landed {
    /// Its hash.
    pub hash: [u8; 32],
    /// The block height.
    pub height: u64,
    /// DeliverTx's code: 0 is success.
    pub code: u32,
    /// DeliverTx's log (the error of a failed tx).
    pub log: String,
    /// Gas the tx used.
    pub gas_used: u64,
    /// Its gas limit.
    pub gas_wanted: u64,
    /// Its events.
    pub events: Vec<tendermint::abci::Event>,
}

impl Landed {
    /// The value of the first `kind.key` event attribute.
    pub fn attr(&self, kind: &str, key: &str) -> Option<String> {
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .flat_map(|e| &e.attributes)
            .find(|a| a.key_bytes() == key.as_bytes())
            .and_then(|a| a.value_str().ok().map(str::to_string))
    }
}

impl NodeClient {
    /// The gas limit for `msgs` signed by `key` with `params`: the fixed
    /// limit, or the node's simulation of the signed tx times the adjustment.
    pub async fn gas_limit(
        &self,
        key: &Key,
        msgs: &[Any],
        params: &TxParams,
        gas: Gas,
    ) -> Result<u64, SendError> {
        if let Gas::Fixed(limit) = gas {
            return Ok(limit);
        }
        let simulated = self
            .simulate(sign_tx(key, msgs.to_vec(), params))
            .await
            .map_err(SendError::Simulate)?;
        Ok(gas.limit(simulated))
    }

    /// Sets the gas limit of `params` by `gas` (see [`NodeClient::gas_limit`])
    /// and signs.
    pub async fn sign(
        &self,
        key: &Key,
        msgs: Vec<Any>,
        mut params: TxParams,
        gas: Gas,
    ) -> Result<SignedTx, SendError> {
        params.gas_limit = self.gas_limit(key, &msgs, &params, gas).await?;
        Ok(SignedTx::new(key, msgs, params))
    }

    /// Broadcasts `tx` and waits up to `timeout` for its block. A tx that
    /// failed in its block is returned, with its code: what that means is
    /// the caller's to say.
    pub async fn send(&self, tx: &SignedTx, timeout: Duration) -> Result<Landed, SendError> {
        let (code, log) = self
            .broadcast_sync(tx.bytes.clone())
            .await
            .map_err(SendError::Broadcast)?;
        if code != 0 {
            return Err(SendError::Refused { code, log });
        }
        let r = self
            .wait_for_tx_result(tx.hash, timeout)
            .await
            .map_err(SendError::Wait)?;
        Ok(Landed {
            hash: tx.hash,
            height: r.height.value(),
            code: r.tx_result.code.value(),
            log: r.tx_result.log,
            gas_used: u64::try_from(r.tx_result.gas_used).unwrap_or(0),
            gas_wanted: u64::try_from(r.tx_result.gas_wanted).unwrap_or(0),
            events: r.tx_result.events,
        })
    }

    /// [`NodeClient::sign`] then [`NodeClient::send`].
    pub async fn sign_and_send(
        &self,
        key: &Key,
        msgs: Vec<Any>,
        params: TxParams,
        gas: Gas,
        timeout: Duration,
    ) -> Result<Landed, SendError> {
        let tx = self.sign(key, msgs, params, gas).await?;
        self.send(&tx, timeout).await
    }
}
