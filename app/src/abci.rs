//! The ABCI 2.0 server (CometBFT v0.38 protocol) over TCP or a unix socket.
//! Framing and the wire format are tower-abci's; this module only maps
//! requests onto [`App`]. All four connections share one app behind a
//! mutex; each request runs on the blocking pool so the async server never
//! stalls on disk or signature work.

use std::sync::{Arc, Mutex};

use anyhow::anyhow;
use deai_types::module::{
    BlockInfo, BlockTime, CommitVote, Misbehavior, MisbehaviorKind, VoteFlag,
};
use tendermint::{
    abci::{
        request, response,
        types::{BlockSignatureInfo, ExecTxResult},
        Code, Event as AbciEvent, EventAttributeIndexExt,
    },
    block::{BlockIdFlag, Height},
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

use crate::{
    app::TxOutcome,
    query,
    statesync::{Applied, Offer, SnapshotInfo, SnapshotStore},
    App,
};

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

/// A tendermint time as seconds and nanoseconds since the Unix epoch.
fn block_time(t: tendermint::Time) -> anyhow::Result<BlockTime> {
    let ts = tendermint_proto::google::protobuf::Timestamp::from(t);
    Ok(BlockTime {
        seconds: ts.seconds,
        nanos: u32::try_from(ts.nanos)?,
    })
}

/// What CometBFT's `FinalizeBlock` request says about the block: height,
/// time, proposer, the decided last commit's votes and the misbehaviour evidence.
pub fn block_info(r: &request::FinalizeBlock) -> anyhow::Result<BlockInfo> {
    let last_commit = r
        .decided_last_commit
        .votes
        .iter()
        .map(|v| CommitVote {
            validator: v.validator.address.to_vec(),
            power: v.validator.power.value(),
            flag: match v.sig_info {
                BlockSignatureInfo::Flag(BlockIdFlag::Absent) => VoteFlag::Absent,
                BlockSignatureInfo::Flag(BlockIdFlag::Commit) => VoteFlag::Commit,
                BlockSignatureInfo::Flag(BlockIdFlag::Nil) => VoteFlag::Nil,
                // Only CometBFT before v0.38 sends this ("signed"), and it
                // cannot tell a vote for the block from one for nil.
                BlockSignatureInfo::LegacySigned => VoteFlag::Commit,
            },
        })
        .collect();
    let misbehavior = r
        .misbehavior
        .iter()
        .map(|m| {
            Ok(Misbehavior {
                kind: match m.kind {
                    tendermint::abci::types::MisbehaviorKind::Unknown => MisbehaviorKind::Unknown,
                    tendermint::abci::types::MisbehaviorKind::DuplicateVote => {
                        MisbehaviorKind::DuplicateVote
                    }
                    tendermint::abci::types::MisbehaviorKind::LightClientAttack => {
                        MisbehaviorKind::LightClientAttack
                    }
                },
                validator: m.validator.address.to_vec(),
                power: m.validator.power.value(),
                height: m.height.value(),
                time: block_time(m.time)?,
                total_voting_power: m.total_voting_power.value(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(BlockInfo {
        height: r.height.value(),
        time: block_time(r.time)?,
        proposer: r.proposer_address.as_bytes().to_vec(),
        next_validators_hash: r.next_validators_hash.as_bytes().to_vec(),
        last_commit,
        misbehavior,
    })
}

/// Handles one consensus-connection request.
pub fn consensus(app: &SharedApp, req: ConsensusRequest) -> Result<ConsensusResponse, BoxError> {
    match req {
        ConsensusRequest::InitChain(r) => with_app(app, |a| {
            let cometbft_validators = r
                .validators
                .iter()
                .filter_map(|u| {
                    let key: [u8; 32] = u.pub_key.ed25519()?.as_bytes().try_into().ok()?;
                    Some((key, u.power.value()))
                })
                .collect::<Vec<_>>();
            let (hash, validators) = a.init_chain_with_validators(
                &r.chain_id,
                r.initial_height.value(),
                &r.app_state_bytes,
                &cometbft_validators,
            )?;
            let validators = validators
                .iter()
                .map(|v| {
                    Ok(validator::Update {
                        pub_key: tendermint::PublicKey::from_raw_ed25519(&v.pub_key)
                            .ok_or_else(|| anyhow!("a genesis validator's key is not ed25519"))?,
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
            let out = a.finalize_block(&block_info(&r)?, &r.txs)?;
            let block_events = abci_events(out.events);
            Ok(ConsensusResponse::FinalizeBlock(response::FinalizeBlock {
                events: block_events,
                tx_results: out.tx_results.into_iter().map(exec_result).collect(),
                validator_updates: out
                    .validator_updates
                    .iter()
                    .map(|u| {
                        Ok(validator::Update {
                            pub_key: tendermint::PublicKey::from_raw_ed25519(&u.pub_key)
                                .ok_or_else(|| {
                                    anyhow!("a validator update's key is not ed25519")
                                })?,
                            power: Power::try_from(u.power)?,
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
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
        let out = match r.kind {
            tendermint::abci::request::CheckTxKind::Recheck => a.recheck_tx(&r.tx),
            tendermint::abci::request::CheckTxKind::New => a.check_tx(&r.tx),
        };
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

/// The CometBFT line this app runs under, as `Info` reports it.
pub const SUPPORTED_COMETBFT: &str = "0.38";
/// The ABCI version of CometBFT v0.38.
pub const SUPPORTED_ABCI: &str = "2.0.0";

/// Errors, naming what is needed, unless `version` (CometBFT's semantic
/// version) is v0.38.x and `abci_version` is ABCI 2.0.0.
pub fn check_cometbft_version(version: &str, abci_version: &str) -> Result<(), String> {
    let line_ok = version
        .strip_prefix(SUPPORTED_COMETBFT)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|patch| {
            let patch = patch.split(['-', '+']).next().unwrap_or("");
            !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
        });
    if line_ok && abci_version == SUPPORTED_ABCI {
        return Ok(());
    }
    Err(format!(
        "CometBFT {version:?} with ABCI {abci_version:?} is not supported: deaid runs under CometBFT v{SUPPORTED_COMETBFT}.x (ABCI {SUPPORTED_ABCI}); install it with scripts/install-cometbft.sh"
    ))
}

/// Handles one info-connection request. Queries go to `querier` and never
/// take the app's lock, so a slow query cannot delay a block.
pub fn info(
    app: &SharedApp,
    querier: &query::Querier,
    refuse: Option<&tokio::sync::mpsc::Sender<String>>,
    req: InfoRequest,
) -> Result<InfoResponse, BoxError> {
    match req {
        InfoRequest::Info(r) => {
            if let Err(e) = check_cometbft_version(&r.version, &r.abci_version) {
                error!("{e}");
                // A failed service only panics tower-abci's connection task
                // and CometBFT sees a closed socket: stop the server instead
                // (`serve` returns the error), and hold this answer back
                // until the process has gone.
                if let Some(tx) = refuse {
                    let _ = tx.try_send(e.clone());
                    std::thread::sleep(std::time::Duration::from_secs(60));
                }
                return Err(anyhow!(e).into());
            }
            with_app(app, |a| {
                Ok(InfoResponse::Info(response::Info {
                    data: "deai".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    app_version: deai_genesis::APP_VERSION,
                    last_block_height: Height::try_from(a.last_height())?,
                    last_block_app_hash: a.last_app_hash()?.try_into()?,
                }))
            })
        }
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

/// Handles one snapshot-connection request. Listing and serving chunks
/// read files only; offers and chunks being restored take the app's lock.
pub fn snapshot(
    app: &SharedApp,
    store: Option<&SnapshotStore>,
    req: SnapshotRequest,
) -> Result<SnapshotResponse, BoxError> {
    Ok(match req {
        SnapshotRequest::ListSnapshots => {
            let snapshots = match store {
                None => Vec::new(),
                Some(store) => store
                    .list()
                    .map_err(|e| anyhow!("listing snapshots: {e:#}"))?
                    .into_iter()
                    .map(|s| {
                        Ok(tendermint::abci::types::Snapshot {
                            height: Height::try_from(s.height)?,
                            format: s.format,
                            chunks: s.chunks,
                            hash: s.hash.into(),
                            metadata: s.metadata.into(),
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?,
            };
            SnapshotResponse::ListSnapshots(response::ListSnapshots { snapshots })
        }
        SnapshotRequest::LoadSnapshotChunk(r) => {
            let chunk = store
                .map(|s| s.load_chunk(r.height.value(), r.format, r.chunk))
                .unwrap_or_default();
            SnapshotResponse::LoadSnapshotChunk(response::LoadSnapshotChunk {
                chunk: chunk.into(),
            })
        }
        SnapshotRequest::OfferSnapshot(r) => with_app(app, |a| {
            let s = r.snapshot;
            let info = SnapshotInfo {
                height: s.height.value(),
                format: s.format,
                chunks: s.chunks,
                hash: s.hash.to_vec(),
                metadata: s.metadata.to_vec(),
            };
            Ok(SnapshotResponse::OfferSnapshot(
                match a.offer_snapshot(info, r.app_hash.as_bytes()) {
                    Offer::Accept => response::OfferSnapshot::Accept,
                    Offer::Reject => response::OfferSnapshot::Reject,
                    Offer::RejectFormat => response::OfferSnapshot::RejectFormat,
                    Offer::Abort => response::OfferSnapshot::Abort,
                },
            ))
        })?,
        SnapshotRequest::ApplySnapshotChunk(r) => with_app(app, |a| {
            use response::ApplySnapshotChunkResult as R;
            let (result, refetch_chunks, reject_senders) =
                match a.apply_snapshot_chunk(r.index, &r.chunk)? {
                    Applied::Accept(_) => (R::Accept, Vec::new(), Vec::new()),
                    // Fetch it again, from anyone but the peer that sent it.
                    Applied::Refetch => (R::Retry, vec![r.index], vec![r.sender]),
                    Applied::RejectSnapshot => (R::RejectSnapshot, Vec::new(), Vec::new()),
                    Applied::Abort => (R::Abort, Vec::new(), Vec::new()),
                };
            Ok(SnapshotResponse::ApplySnapshotChunk(
                response::ApplySnapshotChunk {
                    result,
                    refetch_chunks,
                    reject_senders,
                },
            ))
        })?,
    })
}

/// A job for an [`InOrder`] worker.
type Job = Box<dyn FnOnce() + Send>;

/// A thread that runs jobs one at a time, in the order they were queued.
#[derive(Clone)]
struct InOrder(std::sync::mpsc::Sender<Job>);

impl InOrder {
    fn new(name: &str) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || rx.into_iter().for_each(|job| job()))?;
        Ok(InOrder(tx))
    }

    /// Queues `f` now; the future resolves with its result.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, BoxError> + Send + 'static,
    ) -> impl std::future::Future<Output = Result<T, BoxError>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let queued = self.0.send(Box::new(move || {
            // The receiver is gone only if the connection closed.
            let _ = tx.send(f());
        }));
        async move {
            queued.map_err(|_| anyhow!("the ABCI worker thread stopped"))?;
            rx.await
                .map_err(|_| anyhow!("the ABCI worker thread dropped a request"))?
        }
    }
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

/// Serves ABCI on `listen` until the process ends, with state-sync
/// snapshots from `snapshots` if given.
pub async fn serve(
    app: SharedApp,
    listen: Listen,
    snapshots: Option<Arc<SnapshotStore>>,
) -> anyhow::Result<()> {
    // tower-abci calls a service in the order requests arrive but runs the
    // returned futures side by side. Consensus and mempool requests must
    // also run in that order (a recheck of sequence 1 before a new tx of
    // sequence 2), so each connection's work goes to one worker thread.
    let c = app.clone();
    let consensus_worker = InOrder::new("abci-consensus")?;
    let consensus_svc = tower::service_fn(move |req: ConsensusRequest| {
        let app = c.clone();
        consensus_worker.run(move || consensus(&app, req))
    });
    let m = app.clone();
    let mempool_worker = InOrder::new("abci-mempool")?;
    let mempool_svc = tower::service_fn(move |req: MempoolRequest| {
        let app = m.clone();
        mempool_worker.run(move || mempool(&app, req))
    });
    let i = app.clone();
    let querier = app
        .lock()
        .map_err(|_| anyhow!("the application panicked before serving"))?
        .querier();
    let (refuse_tx, mut refused) = tokio::sync::mpsc::channel::<String>(1);
    let info_svc = tower::service_fn(move |req: InfoRequest| {
        let app = i.clone();
        let querier = querier.clone();
        let refuse = refuse_tx.clone();
        async move {
            tokio::task::spawn_blocking(move || info(&app, &querier, Some(&refuse), req)).await?
        }
    });
    let s = app.clone();
    let snapshot_svc = tower::service_fn(move |req: SnapshotRequest| {
        let app = s.clone();
        let store = snapshots.clone();
        async move { tokio::task::spawn_blocking(move || snapshot(&app, store.as_deref(), req)).await? }
    });
    let server = tower_abci::v038::Server::builder()
        .consensus(consensus_svc)
        .mempool(mempool_svc)
        .info(info_svc)
        .snapshot(snapshot_svc)
        .finish()
        .ok_or_else(|| anyhow!("ABCI server is missing a service"))?;
    let listening = async move {
        match listen {
            Listen::Tcp(addr) => server.listen_tcp(addr).await,
            Listen::Unix(path) => {
                if path.exists() {
                    std::fs::remove_file(&path)?;
                }
                server.listen_unix(path).await
            }
        }
    };
    tokio::select! {
        result = listening => result.map_err(|e| anyhow!("ABCI server stopped: {e}")),
        Some(why) = refused.recv() => Err(anyhow!(why)),
    }
}

#[cfg(test)]
mod tests {
    use tendermint::{
        abci::types::{CommitInfo, Misbehavior as AbciMisbehavior, Validator, VoteInfo},
        account,
        block::Round,
        Hash, Time,
    };

    use super::*;

    fn vote(address: u8, power: u32, flag: BlockIdFlag) -> VoteInfo {
        VoteInfo {
            validator: Validator {
                address: [address; 20],
                power: power.into(),
            },
            sig_info: BlockSignatureInfo::Flag(flag),
        }
    }

    #[test]
    fn finalize_block_requests_map_to_block_info_field_by_field() {
        let time = Time::from_unix_timestamp(1_700_000_000, 123_456_789).unwrap();
        let evidence_time = Time::from_unix_timestamp(1_699_999_990, 5).unwrap();
        let req = request::FinalizeBlock {
            txs: Vec::new(),
            decided_last_commit: CommitInfo {
                round: Round::default(),
                votes: vec![
                    vote(1, 10, BlockIdFlag::Commit),
                    vote(2, 20, BlockIdFlag::Absent),
                    vote(3, 30, BlockIdFlag::Nil),
                ],
            },
            misbehavior: vec![AbciMisbehavior {
                kind: tendermint::abci::types::MisbehaviorKind::DuplicateVote,
                validator: Validator {
                    address: [2; 20],
                    power: 20u32.into(),
                },
                height: 7u32.into(),
                time: evidence_time,
                total_voting_power: 60u32.into(),
            }],
            hash: Hash::default(),
            height: 9u32.into(),
            time,
            next_validators_hash: Hash::Sha256([5; 32]),
            proposer_address: account::Id::new([3; 20]),
        };
        let info = block_info(&req).unwrap();
        assert_eq!(
            info,
            BlockInfo {
                height: 9,
                time: BlockTime {
                    seconds: 1_700_000_000,
                    nanos: 123_456_789,
                },
                proposer: vec![3; 20],
                next_validators_hash: vec![5; 32],
                last_commit: vec![
                    CommitVote {
                        validator: vec![1; 20],
                        power: 10,
                        flag: VoteFlag::Commit,
                    },
                    CommitVote {
                        validator: vec![2; 20],
                        power: 20,
                        flag: VoteFlag::Absent,
                    },
                    CommitVote {
                        validator: vec![3; 20],
                        power: 30,
                        flag: VoteFlag::Nil,
                    },
                ],
                misbehavior: vec![Misbehavior {
                    kind: MisbehaviorKind::DuplicateVote,
                    validator: vec![2; 20],
                    power: 20,
                    height: 7,
                    time: BlockTime {
                        seconds: 1_699_999_990,
                        nanos: 5,
                    },
                    total_voting_power: 60,
                }],
            }
        );
        assert!(!info.last_commit[1].flag.signed());
        assert!(info.last_commit[2].flag.signed());
    }

    #[test]
    fn only_cometbft_v0_38_with_abci_2_is_accepted() {
        for ok in ["0.38.0", "0.38.26", "0.38.17-rc1", "0.38.12+abc"] {
            assert!(check_cometbft_version(ok, "2.0.0").is_ok(), "{ok}");
        }
        for (v, abci) in [
            ("0.37.4", "1.0.0"),
            ("0.38.26", "1.0.0"),
            ("1.0.0", "2.1.0"),
            ("0.380.1", "2.0.0"),
            ("0.38.", "2.0.0"),
            ("0.38", "2.0.0"),
            ("", ""),
        ] {
            let e = check_cometbft_version(v, abci).unwrap_err();
            assert!(e.contains("v0.38.x"), "{e}");
        }
    }
}
