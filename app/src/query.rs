//! ABCI `Query` routing. Two kinds of path:
//! - gRPC method paths with a protobuf request in `data`, such as
//!   `/cosmos.bank.v1beta1.Query/Balance`, answered by the owning module:
//!   each module of [`crate::modules::MODULES`] is asked in turn, through
//!   its `deai_types::QueryHandler`, until one knows the path;
//! - `store/<module>/key` with the full state key in `data` (it must begin
//!   with `<module>/`), answered with the raw value and, when `prove` is set,
//!   an ICS-23 proof (existence or non-existence) against the app hash of
//!   that height, as one `ics23:jmt` proof op. As in CometBFT, the app hash
//!   of height H appears in the header of block H+1.

use deai_auth::AuthRead;
use deai_proto::app::v1::ChainInfo;
use deai_store::{Snapshot, Storage};
use deai_types::{
    Event, GasConfig, GasMeter, Metered, Module, Overlay, QueryCtx, QueryError, StateRead,
    StateReadExt,
};
use prost::Message;

use crate::{
    ante, end_block,
    error::TxError,
    exec::{self, ExecCtx},
    state_key, tx, App,
};

/// The proof-op type of our ICS-23 proofs.
pub const PROOF_OP_TYPE: &str = "ics23:jmt";

/// What a query returns.
#[derive(Debug, Clone, Default)]
pub struct QueryAnswer {
    /// 0 on success.
    pub code: u32,
    /// Error codespace.
    pub codespace: String,
    /// Error text.
    pub log: String,
    /// The key, for store queries.
    pub key: Vec<u8>,
    /// The answer.
    pub value: Vec<u8>,
    /// (type, key, data) proof ops, for proven store queries.
    pub proof_ops: Vec<(String, Vec<u8>, Vec<u8>)>,
    /// The height the answer is for.
    pub height: u64,
}

impl QueryAnswer {
    fn error(e: QueryError, height: u64) -> Self {
        QueryAnswer {
            code: e.code,
            codespace: e.codespace.to_string(),
            log: e.log,
            height,
            ..Default::default()
        }
    }

    /// A failure reading state (SDK code 1, internal).
    fn internal(log: String, height: u64) -> Self {
        QueryAnswer::error(
            QueryError {
                codespace: "sdk",
                code: 1,
                log,
            },
            height,
        )
    }
}

/// Answers a query at `height` (0: the latest committed height), through
/// [`App::querier`].
pub fn query(app: &App, path: &str, data: &[u8], height: u64, prove: bool) -> QueryAnswer {
    app.querier().query(path, data, height, prove)
}

/// Answers queries and gas simulations from committed state. It holds only
/// a handle on the storage, so queries never wait for the consensus lock and
/// a slow query never delays a block: every answer reads one committed
/// snapshot, which later commits do not change.
#[derive(Clone)]
pub struct Querier {
    storage: Storage,
    gas: GasConfig,
    /// The modules asked, in order: [`crate::modules::MODULES`].
    modules: Vec<&'static dyn Module>,
}

impl Querier {
    /// A querier over `storage`, simulating with the gas costs `gas`.
    pub fn new(storage: Storage, gas: GasConfig) -> Self {
        Querier {
            storage,
            gas,
            modules: crate::modules::MODULES.to_vec(),
        }
    }

    /// Answers a query at `height` (0: the latest committed height).
    pub fn query(&self, path: &str, data: &[u8], height: u64, prove: bool) -> QueryAnswer {
        query_at(self, path, data, height, prove)
    }

    /// The chain's minimum gas price at the latest committed height, as a
    /// Cosmos SDK `DecCoin` string (`0.010000000000000000udeai`).
    pub fn min_gas_price(&self) -> Result<String, String> {
        self.storage
            .latest_snapshot()
            .auth_params()
            .map(|p| p.min_gas_price_text())
            .map_err(|e| format!("reading auth params: {e}"))
    }

    /// Estimates the gas `bytes` would use on top of the latest committed
    /// state, without verifying signatures or writing anything. Returns the
    /// gas used and the events it would emit. The gas meter is capped at the
    /// chain's `max_tx_gas`, so a simulation does at most one tx's work.
    pub fn simulate(&self, bytes: &[u8]) -> Result<(u64, Vec<Event>), TxError> {
        let snapshot = self.storage.latest_snapshot();
        let chain_id = snapshot
            .get_proto::<ChainInfo>(&state_key::chain_info())?
            .map(|c| c.chain_id)
            .ok_or_else(|| TxError::InvalidRequest("the chain has not started".into()))?;
        let params = snapshot.auth_params()?;
        let tx = tx::Registry(&self.modules).decode_tx_for_simulation(bytes, &params)?;
        let height = snapshot.version().unwrap_or(0) + 1;
        let mut state = Metered::new(
            Overlay::new(&snapshot),
            self.gas,
            GasMeter::new(params.max_tx_gas),
        );
        let mut events = ante::run(
            &mut state,
            &self.gas,
            &tx,
            &chain_id,
            height,
            &[],
            ante::Mode::Simulate,
        )?;
        let prev_app_hash = snapshot.root_hash().to_vec();
        // The last block's time, as the Cosmos SDK simulates in the latest
        // header's context: time-dependent messages (an IBC client update,
        // checked against "now") must see a real time, not 1970.
        let time = last_block_time(&snapshot, height.saturating_sub(1));
        let host = end_block::Host {
            storage: &self.storage,
            since_genesis: &snapshot,
            time,
            prev_app_hash: &prev_app_hash,
            modules: &self.modules,
        };
        let history = |h: u64| host.history(h, height);
        let ctx = ExecCtx {
            height,
            time,
            prev_app_hash: &prev_app_hash,
            history: &history,
        };
        for msg in &tx.msgs {
            events.extend(exec::execute(&mut state, &**msg, &ctx)?);
        }
        Ok((state.meter().used(), events))
    }
}

/// The time of the block at `height` from staking's historical info (kept
/// for `historical_entries` heights), or zero when it is not kept.
fn last_block_time(
    state: &impl deai_types::StateRead,
    height: u64,
) -> deai_types::module::BlockTime {
    deai_staking::historical::historical_info(state, height)
        .ok()
        .flatten()
        .and_then(|info| info.header)
        .and_then(|h| h.time)
        .map(|t| deai_types::module::BlockTime {
            seconds: t.seconds,
            nanos: u32::try_from(t.nanos).unwrap_or(0),
        })
        .unwrap_or_default()
}

fn query_at(app: &Querier, path: &str, data: &[u8], height: u64, prove: bool) -> QueryAnswer {
    let snapshot = if height == 0 {
        app.storage.latest_snapshot()
    } else {
        match app.storage.snapshot(height) {
            Ok(s) => s,
            Err(e) => {
                return QueryAnswer::error(
                    QueryError::invalid(format!("height {height} is not available: {e}")),
                    height,
                )
            }
        }
    };
    let at = snapshot.version().unwrap_or(0);
    if let Some(rest) = path.strip_prefix("store/") {
        return store_query(&snapshot, rest, data, prove, at);
    }
    if path == "/cosmos.tx.v1beta1.Service/Simulate" {
        return simulate(app, data, at);
    }
    if path == "/cosmos.base.node.v1beta1.Service/Config" {
        return node_config(&snapshot, data, at);
    }
    let history = |h: u64| -> Result<Box<dyn StateRead + '_>, String> {
        Ok(Box::new(crate::history::read(
            &app.storage,
            &snapshot,
            h.min(at),
        )?))
    };
    let chain_id = match snapshot.get_proto::<ChainInfo>(&state_key::chain_info()) {
        Ok(info) => info.map(|c| c.chain_id).unwrap_or_default(),
        Err(e) => return QueryAnswer::internal(format!("reading the chain id: {e}"), at),
    };
    let non_voting = crate::end_block::non_voting();
    let module_accounts = crate::end_block::module_account_names();
    let ctx = QueryCtx {
        state: &snapshot,
        height: at,
        chain_id: &chain_id,
        history: &history,
        gas: app.gas,
        module_accounts: &module_accounts,
        non_voting: &non_voting,
    };
    let answer = app
        .modules
        .iter()
        .find_map(|module| module.query(path, data, &ctx));
    match answer {
        Some(Ok(value)) => QueryAnswer {
            value,
            height: at,
            ..Default::default()
        },
        Some(Err(e)) => QueryAnswer::error(e, at),
        None => QueryAnswer::error(
            QueryError {
                codespace: "sdk",
                code: 6,
                log: format!("unknown query path {path:?}"),
            },
            at,
        ),
    }
}

fn store_query(snapshot: &Snapshot, rest: &str, key: &[u8], prove: bool, at: u64) -> QueryAnswer {
    let Some((module, "key")) = rest.split_once('/') else {
        return QueryAnswer::error(
            QueryError::invalid(format!(
                "store path must be store/<module>/key, got store/{rest}"
            )),
            at,
        );
    };
    if module == "ibc" {
        return ibc_store_query(snapshot, key, prove, at);
    }
    if !key.starts_with(format!("{module}/").as_bytes()) {
        return QueryAnswer::error(
            QueryError::invalid(format!("key must start with {module}/")),
            at,
        );
    }
    let result = if prove {
        snapshot.get_with_proof(key).map(|(v, p)| (v, Some(p)))
    } else {
        snapshot.get(key).map(|v| (v, None))
    };
    match result {
        Ok((value, proof)) => QueryAnswer {
            key: key.to_vec(),
            value: value.unwrap_or_default(),
            proof_ops: proof
                .map(|p| vec![(PROOF_OP_TYPE.to_string(), key.to_vec(), p.encode_to_vec())])
                .unwrap_or_default(),
            height: at,
            ..Default::default()
        },
        Err(e) => QueryAnswer::internal(format!("storage: {e}"), at),
    }
}

/// `store/ibc/key`, as relayers ask it of a Cosmos SDK chain: `path` is
/// the ICS-24 path inside the IBC store (state key `ibc/<path>`), and the
/// proof is two ICS-23 proofs, the path in the IBC substore, then the
/// substore's root under `ibc` in the main tree (see `deai_store`).
fn ibc_store_query(snapshot: &Snapshot, path: &[u8], prove: bool, at: u64) -> QueryAnswer {
    if path.is_empty() {
        return QueryAnswer::error(QueryError::invalid("the IBC path is empty"), at);
    }
    let mut key = deai_store::IBC_PREFIX.to_vec();
    key.extend_from_slice(path);
    let result = if prove {
        snapshot.get_with_ibc_proof(path).map(|(v, [sub, main])| {
            let ops = vec![
                (
                    PROOF_OP_TYPE.to_string(),
                    path.to_vec(),
                    sub.encode_to_vec(),
                ),
                (
                    PROOF_OP_TYPE.to_string(),
                    deai_store::IBC_ROOT_KEY.to_vec(),
                    main.encode_to_vec(),
                ),
            ];
            (v, ops)
        })
    } else {
        snapshot.get(&key).map(|v| (v, Vec::new()))
    };
    match result {
        Ok((value, proof_ops)) => QueryAnswer {
            key: path.to_vec(),
            value: value.unwrap_or_default(),
            proof_ops,
            height: at,
            ..Default::default()
        },
        Err(e) => QueryAnswer::internal(format!("storage: {e}"), at),
    }
}

/// The node's `Config` (its minimum gas price, the chain's), which relayers
/// such as Hermes ask over `abci_query` as a Cosmos SDK app answers it.
fn node_config(state: &impl StateRead, data: &[u8], at: u64) -> QueryAnswer {
    use cosmos_sdk_proto::cosmos::base::node::v1beta1::{ConfigRequest, ConfigResponse};
    if let Err(e) = deai_types::query::decode::<ConfigRequest>(data) {
        return QueryAnswer::error(e, at);
    }
    match state.auth_params() {
        Ok(p) => QueryAnswer {
            value: ConfigResponse {
                minimum_gas_price: p.min_gas_price_text(),
                ..Default::default()
            }
            .encode_to_vec(),
            height: at,
            ..Default::default()
        },
        Err(e) => QueryAnswer::internal(format!("reading auth params: {e}"), at),
    }
}

#[allow(deprecated)] // the SDK's `tx` and `data` fields are deprecated but still part of the API
fn simulate(app: &Querier, data: &[u8], at: u64) -> QueryAnswer {
    use cosmos_sdk_proto::cosmos::{
        base::abci::v1beta1::{GasInfo, Result as AbciResult},
        tx::v1beta1::{SimulateRequest, SimulateResponse},
    };
    let req: SimulateRequest = match deai_types::query::decode(data) {
        Ok(r) => r,
        Err(e) => return QueryAnswer::error(e, at),
    };
    let bytes = if !req.tx_bytes.is_empty() {
        req.tx_bytes
    } else if let Some(tx) = req.tx {
        // The deprecated `tx` field: re-encode it as a TxRaw.
        cosmos_sdk_proto::cosmos::tx::v1beta1::TxRaw {
            body_bytes: tx.body.map(|b| b.encode_to_vec()).unwrap_or_default(),
            auth_info_bytes: tx.auth_info.map(|a| a.encode_to_vec()).unwrap_or_default(),
            signatures: tx.signatures,
        }
        .encode_to_vec()
    } else {
        return QueryAnswer::error(QueryError::invalid("empty tx"), at);
    };
    match app.simulate(&bytes) {
        Ok((gas_used, events)) => QueryAnswer {
            value: SimulateResponse {
                gas_info: Some(GasInfo {
                    gas_wanted: gas_used,
                    gas_used,
                }),
                result: Some(AbciResult {
                    data: Vec::new(),
                    log: String::new(),
                    events: crate::abci::abci_events(events)
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                    msg_responses: Vec::new(),
                }),
            }
            .encode_to_vec(),
            height: at,
            ..Default::default()
        },
        Err(e) => QueryAnswer {
            code: e.code(),
            codespace: e.codespace().to_string(),
            log: e.to_string(),
            height: at,
            ..Default::default()
        },
    }
}
