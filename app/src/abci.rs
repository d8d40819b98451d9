//! The ABCI 2.0 server (CometBFT v0.38 protocol) over TCP or a unix socket.
//! Framing and the wire format are tower-abci's; this module only maps
//! requests onto [`App`]. All four connections share one app behind a
//! mutex; each request runs on the blocking pool so the async server never
//! stalls on disk or signature work.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use tendermint::{
    abci::{response, types::ExecTxResult, Code, Event as AbciEvent, EventAttributeIndexExt},
    block::Height,
    merkle::proof::{ProofOp, ProofOps},
    v0_38::abci::{
        ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
        MempoolResponse, SnapshotRequest, SnapshotResponse,
    },
    validator,
    vote::Power,
};
use tower_abci::BoxError;
use tracing::error;

use crate::{app::TxOutcome, query, App};

/// The app as shared by the ABCI connections.
pub type SharedApp = Arc<Mutex<App>>;

fn with_app<T>(
    app: &SharedApp,
    f: impl FnOnce(&mut App) -> anyhow::Result<T>,
) -> Result<T, BoxError> {
    let mut guard = app
        .lock()
        .map_err(|_| anyhow!("the application panicked earlier; restart the node"))?;
    f(&mut guard).map_err(|e| {
        error!(error = format!("{e:#}"), "ABCI request failed");
        e.into()
    })
}

/// Converts our events to ABCI events (all attributes indexed).
pub fn abci_events(events: Vec<deai_types::Event>) -> Vec<AbciEvent> {
    events
        .into_iter()
        .map(|e| {
            AbciEvent::new(
                e.kind,
                e.attributes.into_iter().map(|(k, v)| (k, v).index()),
            )
        })
        .collect()
}

/// Converts a tx outcome to the ABCI `ExecTxResult` FinalizeBlock reports.
pub fn exec_result(r: TxOutcome) -> ExecTxResult {
    ExecTxResult {
        code: Code::from(r.code),
        data: Default::default(),
        log: r.log,
        info: String::new(),
        gas_wanted: i64::try_from(r.gas_wanted).unwrap_or(i64::MAX),
        gas_used: i64::try_from(r.gas_used).unwrap_or(i64::MAX),
        events: abci_events(r.events),
        codespace: r.codespace,
    }
}

/// Handles one consensus-connection request.
pub fn consensus(app: &SharedApp, req: ConsensusRequest) -> Result<ConsensusResponse, BoxError> {
    match req {
        ConsensusRequest::InitChain(r) => with_app(app, |a| {
            let (hash, validators) =
                a.init_chain(&r.chain_id, r.initial_height.value(), &r.app_state_bytes)?;
            let validators = validators
                .iter()
                .map(|v| {
                    let key = v.pub_key_bytes().map_err(|e| anyhow!(e))?;
                    Ok(validator::Update {
                        pub_key: tendermint::PublicKey::from_raw_ed25519(&key)
                            .ok_or_else(|| anyhow!("validator {} key is not ed25519", v.name))?,
                        power: Power::try_from(v.power)?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(ConsensusResponse::InitChain(response::InitChain {
                consensus_params: None,
                validators,
                app_hash: hash.to_vec().try_into()?,
            }))
        }),
        ConsensusRequest::PrepareProposal(r) => with_app(app, |a| {
            let max = u64::try_from(r.max_tx_bytes).unwrap_or(0);
            Ok(ConsensusResponse::PrepareProposal(
                response::PrepareProposal {
                    txs: a.prepare_proposal(&r.txs, max),
                },
            ))
        }),
        ConsensusRequest::ProcessProposal(r) => with_app(app, |a| {
            Ok(ConsensusResponse::ProcessProposal(
                if a.process_proposal(&r.txs) {
                    response::ProcessProposal::Accept
                } else {
                    response::ProcessProposal::Reject
                },
            ))
        }),
        ConsensusRequest::FinalizeBlock(r) => with_app(app, |a| {
            let out = a.finalize_block(r.height.value(), &r.txs)?;
            let block_events = abci_events(out.events);
            Ok(ConsensusResponse::FinalizeBlock(response::FinalizeBlock {
                events: block_events,
                tx_results: out.tx_results.into_iter().map(exec_result).collect(),
                validator_updates: Vec::new(),
                consensus_param_updates: None,
                app_hash: out.app_hash.to_vec().try_into()?,
            }))
        }),
        ConsensusRequest::Commit => with_app(app, |a| {
            let retain = a.commit()?;
            Ok(ConsensusResponse::Commit(response::Commit {
                data: Default::default(),
                retain_height: Height::try_from(retain)?,
            }))
        }),
        ConsensusRequest::ExtendVote(_) => {
            Ok(ConsensusResponse::ExtendVote(response::ExtendVote {
                vote_extension: Default::default(),
            }))
        }
        ConsensusRequest::VerifyVoteExtension(_) => Ok(ConsensusResponse::VerifyVoteExtension(
            response::VerifyVoteExtension::Accept,
        )),
    }
}

/// Handles one mempool-connection request.
pub fn mempool(app: &SharedApp, req: MempoolRequest) -> Result<MempoolResponse, BoxError> {
    let MempoolRequest::CheckTx(r) = req;
    with_app(app, |a| {
        let out = a.check_tx(&r.tx);
        Ok(MempoolResponse::CheckTx(response::CheckTx {
            code: Code::from(out.code),
            data: Default::default(),
            log: out.log,
            info: String::new(),
            gas_wanted: i64::try_from(out.gas_wanted).unwrap_or(i64::MAX),
            gas_used: i64::try_from(out.gas_used).unwrap_or(i64::MAX),
            events: abci_events(out.events),
            codespace: out.codespace,
            ..Default::default()
        }))
    })
}

/// Handles one info-connection request. Queries go to `querier` and never
/// take the app's lock, so a slow query cannot delay a block.
pub fn info(
    app: &SharedApp,
    querier: &query::Querier,
    req: InfoRequest,
) -> Result<InfoResponse, BoxError> {
    match req {
        InfoRequest::Info(_) => with_app(app, |a| {
            Ok(InfoResponse::Info(response::Info {
                data: "deai".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                app_version: deai_genesis::APP_VERSION,
                last_block_height: Height::try_from(a.last_height())?,
                last_block_app_hash: a.last_app_hash()?.try_into()?,
            }))
        }),
        InfoRequest::Query(r) => {
            let ans = querier.query(&r.path, &r.data, r.height.value(), r.prove);
            Ok(InfoResponse::Query(response::Query {
                code: Code::from(ans.code),
                log: ans.log,
                info: String::new(),
                index: 0,
                key: ans.key.into(),
                value: ans.value.into(),
                proof: (!ans.proof_ops.is_empty()).then(|| ProofOps {
                    ops: ans
                        .proof_ops
                        .into_iter()
                        .map(|(field_type, key, data)| ProofOp {
                            field_type,
                            key,
                            data,
                        })
                        .collect(),
                }),
                height: Height::try_from(ans.height)?,
                codespace: ans.codespace,
            }))
        }

        InfoRequest::Echo(r) => Ok(InfoResponse::Echo(response::Echo { message: r.message })),
    }
}

/// Handles one snapshot-connection request: state sync is not offered yet.
pub fn snapshot(req: SnapshotRequest) -> Result<SnapshotResponse, BoxError> {
    Ok(match req {
        SnapshotRequest::ListSnapshots => {
            SnapshotResponse::ListSnapshots(response::ListSnapshots::default())
        }
        SnapshotRequest::OfferSnapshot(_) => {
            SnapshotResponse::OfferSnapshot(response::OfferSnapshot::Reject)
        }
        SnapshotRequest::LoadSnapshotChunk(_) => {
            SnapshotResponse::LoadSnapshotChunk(response::LoadSnapshotChunk::default())
        }
        SnapshotRequest::ApplySnapshotChunk(_) => {
            SnapshotResponse::ApplySnapshotChunk(response::ApplySnapshotChunk {
                result: response::ApplySnapshotChunkResult::Abort,
                refetch_chunks: Vec::new(),
                reject_senders: Vec::new(),
            })
        }
    })
}

/// Where the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A TCP address such as `127.0.0.1:26658`.
    Tcp(String),
    /// A unix socket path.
    Unix(std::path::PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("tcp://") {
            Ok(Listen::Tcp(rest.to_string()))
        } else if let Some(rest) = s.strip_prefix("unix://") {
            Ok(Listen::Unix(rest.into()))
        } else {
            Err(format!(
                "{s:?}: give tcp://HOST:PORT or unix:///path/to/socket"
            ))
        }
    }
}

/// Serves ABCI on `listen` until the process ends.
pub async fn serve(app: SharedApp, listen: Listen) -> anyhow::Result<()> {
    let c = app.clone();
    let consensus_svc = tower::service_fn(move |req: ConsensusRequest| {
        let app = c.clone();
        async move { tokio::task::spawn_blocking(move || consensus(&app, req)).await? }
    });
    let m = app.clone();
    let mempool_svc = tower::service_fn(move |req: MempoolRequest| {
        let app = m.clone();
        async move { tokio::task::spawn_blocking(move || mempool(&app, req)).await? }
    });
    let i = app.clone();
    let querier = app
        .lock()
        .map_err(|_| anyhow!("the application panicked before serving"))?
        .querier();
    let info_svc = tower::service_fn(move |req: InfoRequest| {
        let app = i.clone();
        let querier = querier.clone();
        async move { tokio::task::spawn_blocking(move || info(&app, &querier, req)).await? }
    });
    let snapshot_svc = tower::service_fn(|req: SnapshotRequest| async move { snapshot(req) });
    let server = tower_abci::v038::Server::builder()
        .consensus(consensus_svc)
        .mempool(mempool_svc)
        .info(info_svc)
        .snapshot(snapshot_svc)
        .finish()
        .ok_or_else(|| anyhow!("ABCI server is missing a service"))?;
    let result = match listen {
        Listen::Tcp(addr) => server.listen_tcp(addr).await,
        Listen::Unix(path) => {
            if path.exists() {
                std::fs::remove_file(&path)?;
            }
            server.listen_unix(path).await
        }
    };
    result.map_err(|e| anyhow!("ABCI server stopped: {e}"))
}
