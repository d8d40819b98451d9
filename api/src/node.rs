//! The services the Cosmos SDK answers from its node rather than from a
//! module: `cosmos.tx.v1beta1.Service` (simulate, broadcast, look up txs),
//! `cosmos.base.tendermint.v1beta1.Service` (node info, blocks, validator
//! sets, ABCI queries) and `cosmos.base.node.v1beta1.Service`. Blocks, the
//! tx index and the mempool are CometBFT's, reached over its RPC; state is
//! read through the app's querier.

use bytes::Bytes;
use cosmos_sdk_proto::cosmos::{
    base::{
        abci::v1beta1::TxResponse,
        node::v1beta1::{ConfigRequest, ConfigResponse, StatusRequest, StatusResponse},
        query::v1beta1::{PageRequest, PageResponse},
        tendermint::v1beta1 as tm_svc,
    },
    crypto::ed25519::PubKey as Ed25519PubKey,
    tx::v1beta1::{
        BroadcastMode, BroadcastTxRequest, BroadcastTxResponse, GetBlockWithTxsRequest,
        GetBlockWithTxsResponse, GetTxRequest, GetTxResponse, GetTxsEventRequest,
        GetTxsEventResponse, OrderBy, Tx, TxDecodeRequest, TxDecodeResponse, TxEncodeRequest,
        TxEncodeResponse, TxRaw,
    },
};
use prost::Message;
use tendermint::{block::Height, Hash};
use tendermint_rpc::{query::Query, Client as _, Order, Paging};

use crate::{Answer, Api, ApiError};

/// The most txs one `GetTxsEvent` page returns (CometBFT's own cap).
const MAX_TX_PAGE: u64 = 100;
/// The type URL of a whole tx inside a `TxResponse`.
const TX_TYPE_URL: &str = "/cosmos.tx.v1beta1.Tx";
/// The type URL of a validator's consensus key.
const ED25519_TYPE_URL: &str = "/cosmos.crypto.ed25519.PubKey";

/// Answers `path` if this module serves it; `None` if a module query should.
pub(crate) async fn call(
    api: &Api,
    path: &str,
    request: &[u8],
    height: Option<u64>,
) -> Option<Result<Answer, ApiError>> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    let answer = match (service, method) {
        // Simulation runs the tx on committed state: the app's querier
        // answers it, as it does over `abci_query`.
        ("cosmos.tx.v1beta1.Service", "Simulate") => return None,
        ("cosmos.tx.v1beta1.Service", "BroadcastTx") => broadcast_tx(api, request).await,
        ("cosmos.tx.v1beta1.Service", "GetTx") => get_tx(api, request).await,
        ("cosmos.tx.v1beta1.Service", "GetTxsEvent") => get_txs_event(api, request).await,
        ("cosmos.tx.v1beta1.Service", "GetBlockWithTxs") => get_block_with_txs(api, request).await,
        ("cosmos.tx.v1beta1.Service", "TxDecode") => tx_decode(request),
        ("cosmos.tx.v1beta1.Service", "TxEncode") => tx_encode(request),
        ("cosmos.tx.v1beta1.Service", m) => Err(ApiError::Unimplemented(format!(
            "cosmos.tx.v1beta1.Service/{m} is not served: this chain signs with SIGN_MODE_DIRECT only, so it has no amino JSON"
        ))),
        ("cosmos.base.tendermint.v1beta1.Service", "GetNodeInfo") => node_info(api, request).await,
        ("cosmos.base.tendermint.v1beta1.Service", "GetSyncing") => syncing(api, request).await,
        ("cosmos.base.tendermint.v1beta1.Service", "GetLatestBlock") => {
            latest_block(api, request).await
        }
        ("cosmos.base.tendermint.v1beta1.Service", "GetBlockByHeight") => {
            block_by_height(api, request).await
        }
        ("cosmos.base.tendermint.v1beta1.Service", "GetLatestValidatorSet") => {
            latest_validators(api, request).await
        }
        ("cosmos.base.tendermint.v1beta1.Service", "GetValidatorSetByHeight") => {
            validators_by_height(api, request).await
        }
        ("cosmos.base.tendermint.v1beta1.Service", "ABCIQuery") => {
            abci_query(api, request, height).await
        }
        ("cosmos.consensus.v1.Query", "Params") => consensus_params(api, request).await,
        ("cosmos.base.node.v1beta1.Service", "Config") => config(api, request).await,
        ("cosmos.base.node.v1beta1.Service", "Status") => status(api, request).await,
        ("cosmos.base.tendermint.v1beta1.Service" | "cosmos.base.node.v1beta1.Service", m) => {
            Err(ApiError::Unimplemented(format!("unknown method {service}/{m}")))
        }
        _ => return None,
    };
    Some(answer)
}

/// Decodes a request message.
fn decode<M: Message + Default>(bytes: &[u8]) -> Result<M, ApiError> {
    M::decode(bytes).map_err(|e| ApiError::InvalidArgument(format!("request does not decode: {e}")))
}

/// An answer not tied to a state height.
fn reply(m: impl Message) -> Result<Answer, ApiError> {
    Ok(Answer {
        bytes: Bytes::from(m.encode_to_vec()),
        height: 0,
    })
}

/// A positive height from a request.
fn height_arg(h: i64) -> Result<Height, ApiError> {
    if h <= 0 {
        return Err(ApiError::InvalidArgument(format!(
            "height must be positive, got {h}"
        )));
    }
    Height::try_from(h).map_err(|e| ApiError::InvalidArgument(format!("height {h}: {e}")))
}

/// Decodes raw tx bytes as a `Tx`, with its body and auth info.
fn decode_tx(bytes: &[u8]) -> Result<Tx, ApiError> {
    let raw = TxRaw::decode(bytes)
        .map_err(|e| ApiError::InvalidArgument(format!("tx does not decode: {e}")))?;
    Ok(Tx {
        body: Some(
            Message::decode(raw.body_bytes.as_slice())
                .map_err(|e| ApiError::InvalidArgument(format!("tx body does not decode: {e}")))?,
        ),
        auth_info: Some(
            Message::decode(raw.auth_info_bytes.as_slice()).map_err(|e| {
                ApiError::InvalidArgument(format!("tx auth info does not decode: {e}"))
            })?,
        ),
        signatures: raw.signatures,
    })
}

async fn broadcast_tx(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: BroadcastTxRequest = decode(request)?;
    if req.tx_bytes.is_empty() {
        return Err(ApiError::InvalidArgument("invalid empty tx".into()));
    }
    let (code, codespace, log, data, hash) = match BroadcastMode::try_from(req.mode) {
        Ok(BroadcastMode::Sync) => {
            let r = api.node.broadcast_tx_sync(req.tx_bytes).await?;
            (r.code.value(), r.codespace, r.log, r.data, r.hash)
        }
        Ok(BroadcastMode::Async) => {
            let r = api.node.broadcast_tx_async(req.tx_bytes).await?;
            (r.code.value(), r.codespace, r.log, r.data, r.hash)
        }
        Ok(BroadcastMode::Block) => {
            return Err(ApiError::InvalidArgument(
                "broadcast mode BLOCK is no longer supported: use SYNC and wait with GetTx".into(),
            ))
        }
        _ => {
            return Err(ApiError::InvalidArgument(format!(
            "unsupported broadcast mode {}; supported: BROADCAST_MODE_SYNC, BROADCAST_MODE_ASYNC",
            req.mode
        )))
        }
    };
    reply(BroadcastTxResponse {
        tx_response: Some(TxResponse {
            txhash: hash.to_string(),
            codespace,
            code,
            data: hex::encode_upper(data),
            raw_log: log,
            ..Default::default()
        }),
    })
}

/// A tx hash given as hex.
fn tx_hash_arg(hash: &str) -> Result<Hash, ApiError> {
    if hash.is_empty() {
        return Err(ApiError::InvalidArgument("tx hash cannot be empty".into()));
    }
    let bytes = hex::decode(hash)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            ApiError::InvalidArgument(format!("tx hash {hash:?} is not 64 hex digits"))
        })?;
    Hash::from_bytes(tendermint::hash::Algorithm::Sha256, &bytes)
        .map_err(|e| ApiError::InvalidArgument(format!("tx hash: {e}")))
}

/// A block time as the SDK writes it in a `TxResponse` (RFC 3339, whole
/// seconds).
fn sdk_time(t: tendermint::Time) -> String {
    let full = t.to_rfc3339();
    match full.split_once('.') {
        Some((secs, _)) => format!("{secs}Z"),
        None => full,
    }
}

/// The SDK's `TxResponse` for a tx found in the node's index.
fn tx_response(
    tx: Tx,
    hash: Hash,
    height: Height,
    r: tendermint::abci::types::ExecTxResult,
    time: tendermint::Time,
) -> TxResponse {
    TxResponse {
        height: height.into(),
        txhash: hash.to_string(),
        codespace: r.codespace,
        code: r.code.value(),
        data: hex::encode_upper(&r.data),
        raw_log: r.log,
        logs: Vec::new(),
        info: r.info,
        gas_wanted: r.gas_wanted,
        gas_used: r.gas_used,
        tx: Some(cosmos_sdk_proto::Any {
            type_url: TX_TYPE_URL.into(),
            value: tx.encode_to_vec(),
        }),
        timestamp: sdk_time(time),
        events: r.events.into_iter().map(Into::into).collect(),
    }
}

/// The time of the block at `height`.
async fn block_time(api: &Api, height: Height) -> Result<tendermint::Time, ApiError> {
    Ok(api.node.header(height).await?.header.time)
}

async fn get_tx(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: GetTxRequest = decode(request)?;
    let hash = tx_hash_arg(&req.hash)?;
    let found = match api.node.tx(hash, false).await {
        Ok(found) => found,
        Err(e) => {
            let text = e.to_string();
            if text.contains("not found") {
                return Err(ApiError::NotFound(format!("tx not found: {}", req.hash)));
            }
            return Err(e.into());
        }
    };
    let tx = decode_tx(&found.tx)?;
    let time = block_time(api, found.height).await?;
    reply(GetTxResponse {
        tx: Some(tx.clone()),
        tx_response: Some(tx_response(
            tx,
            found.hash,
            found.height,
            found.tx_result,
            time,
        )),
    })
}

#[allow(deprecated)] // `events` and `pagination` are deprecated in the SDK but still sent
async fn get_txs_event(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: GetTxsEventRequest = decode(request)?;
    let text = if req.query.is_empty() {
        req.events.join(" AND ")
    } else {
        req.query.clone()
    };
    if text.trim().is_empty() {
        return Err(ApiError::InvalidArgument("query cannot be empty".into()));
    }
    let query: Query = text
        .parse()
        .map_err(|e| ApiError::InvalidArgument(format!("query {text:?}: {e}")))?;
    let limit = match req.limit {
        0 => req
            .pagination
            .as_ref()
            .map_or(MAX_TX_PAGE, |p| p.limit)
            .clamp(1, MAX_TX_PAGE),
        n => n.min(MAX_TX_PAGE),
    };
    let page = req.page.max(1);
    let page = u32::try_from(page)
        .map_err(|_| ApiError::InvalidArgument(format!("page {page} is too large")))?;
    let order = if req.order_by == OrderBy::Desc as i32 {
        Order::Descending
    } else {
        Order::Ascending
    };
    let found = api
        .node
        .tx_search(query, false, page, limit as u8, order)
        .await?;
    let mut txs = Vec::with_capacity(found.txs.len());
    let mut responses = Vec::with_capacity(found.txs.len());
    // A page's txs often share blocks: fetch each block's time once.
    let mut times = std::collections::BTreeMap::new();
    for t in found.txs {
        let tx = decode_tx(&t.tx)?;
        let time = match times.get(&t.height) {
            Some(time) => *time,
            None => {
                let time = block_time(api, t.height).await?;
                times.insert(t.height, time);
                time
            }
        };
        txs.push(tx.clone());
        responses.push(tx_response(tx, t.hash, t.height, t.tx_result, time));
    }
    reply(GetTxsEventResponse {
        txs,
        tx_responses: responses,
        pagination: None,
        total: u64::from(found.total_count),
    })
}

/// The SDK's block (header with a bech32 proposer) from a CometBFT block.
fn sdk_block(api: &Api, block: &tendermint_proto::types::Block) -> tm_svc::Block {
    let header = block.header.clone().map(|h| tm_svc::Header {
        version: h.version,
        chain_id: h.chain_id,
        height: h.height,
        time: h.time,
        last_block_id: h.last_block_id,
        last_commit_hash: h.last_commit_hash,
        data_hash: h.data_hash,
        validators_hash: h.validators_hash,
        next_validators_hash: h.next_validators_hash,
        consensus_hash: h.consensus_hash,
        app_hash: h.app_hash,
        last_results_hash: h.last_results_hash,
        evidence_hash: h.evidence_hash,
        proposer_address: valcons(api, &h.proposer_address),
    });
    tm_svc::Block {
        header,
        data: block.data.clone(),
        evidence: block.evidence.clone(),
        last_commit: block.last_commit.clone(),
    }
}

/// A consensus address in bech32 (`deaivalcons1…`), as the SDK shows them.
fn valcons(api: &Api, bytes: &[u8]) -> String {
    let hrp = bech32::Hrp::parse(&format!("{}valcons", api.bech32_prefix))
        .expect("the valcons prefix is a valid bech32 prefix");
    bech32::encode::<bech32::Bech32>(hrp, bytes).unwrap_or_default()
}

/// A block from the node, as the tendermint service returns it.
async fn block_at(
    api: &Api,
    height: Option<Height>,
) -> Result<
    (
        tendermint_proto::types::BlockId,
        tendermint_proto::types::Block,
    ),
    ApiError,
> {
    let r = match height {
        Some(h) => {
            let latest = api.node.status().await?.sync_info.latest_block_height;
            if h > latest {
                return Err(ApiError::InvalidArgument(format!(
                    "requested block height {h} is beyond the latest height {latest}"
                )));
            }
            api.node.block(h).await?
        }
        None => api.node.latest_block().await?,
    };
    Ok((r.block_id.into(), r.block.into()))
}

async fn latest_block(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let _: tm_svc::GetLatestBlockRequest = decode(request)?;
    let (id, block) = block_at(api, None).await?;
    reply(tm_svc::GetLatestBlockResponse {
        block_id: Some(id),
        sdk_block: Some(sdk_block(api, &block)),
        block: Some(block),
    })
}

async fn block_by_height(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: tm_svc::GetBlockByHeightRequest = decode(request)?;
    let (id, block) = block_at(api, Some(height_arg(req.height)?)).await?;
    reply(tm_svc::GetBlockByHeightResponse {
        block_id: Some(id),
        sdk_block: Some(sdk_block(api, &block)),
        block: Some(block),
    })
}

/// A page of a list of `total` entries: (offset, limit).
fn page_bounds(p: Option<&PageRequest>, total: usize) -> Result<(usize, usize), ApiError> {
    let (offset, limit) = p.map_or((0, 0), |p| (p.offset, p.limit));
    if p.is_some_and(|p| !p.key.is_empty()) {
        return Err(ApiError::InvalidArgument(
            "this list pages by offset: leave pagination.key empty".into(),
        ));
    }
    let limit = if limit == 0 {
        deai_types::query::DEFAULT_PAGE as u64
    } else {
        limit.min(deai_types::query::MAX_PAGE as u64)
    };
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    if offset > total {
        return Err(ApiError::InvalidArgument(format!(
            "pagination offset {offset} is beyond the {total} entries"
        )));
    }
    Ok((offset, limit as usize))
}

async fn get_block_with_txs(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: GetBlockWithTxsRequest = decode(request)?;
    let (id, block) = block_at(api, Some(height_arg(req.height)?)).await?;
    let raw_txs = block
        .data
        .as_ref()
        .map(|d| d.txs.clone())
        .unwrap_or_default();
    let (offset, limit) = page_bounds(req.pagination.as_ref(), raw_txs.len())?;
    let txs = raw_txs
        .iter()
        .skip(offset)
        .take(limit)
        .map(|t| decode_tx(t))
        .collect::<Result<Vec<_>, _>>()?;
    reply(GetBlockWithTxsResponse {
        txs,
        block_id: Some(id),
        block: Some(block),
        pagination: Some(PageResponse {
            next_key: Vec::new(),
            total: raw_txs.len() as u64,
        }),
    })
}

fn tx_decode(request: &[u8]) -> Result<Answer, ApiError> {
    let req: TxDecodeRequest = decode(request)?;
    if req.tx_bytes.is_empty() {
        return Err(ApiError::InvalidArgument("invalid empty tx bytes".into()));
    }
    reply(TxDecodeResponse {
        tx: Some(decode_tx(&req.tx_bytes)?),
    })
}

fn tx_encode(request: &[u8]) -> Result<Answer, ApiError> {
    let req: TxEncodeRequest = decode(request)?;
    let tx = req
        .tx
        .ok_or_else(|| ApiError::InvalidArgument("invalid empty tx".into()))?;
    reply(TxEncodeResponse {
        tx_bytes: TxRaw {
            body_bytes: tx.body.map(|b| b.encode_to_vec()).unwrap_or_default(),
            auth_info_bytes: tx.auth_info.map(|a| a.encode_to_vec()).unwrap_or_default(),
            signatures: tx.signatures,
        }
        .encode_to_vec(),
    })
}

async fn node_info(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let _: tm_svc::GetNodeInfoRequest = decode(request)?;
    let info = api.node.status().await?.node_info;
    reply(tm_svc::GetNodeInfoResponse {
        default_node_info: Some(tendermint_proto::p2p::DefaultNodeInfo {
            protocol_version: Some(tendermint_proto::p2p::ProtocolVersion {
                p2p: info.protocol_version.p2p,
                block: info.protocol_version.block,
                app: info.protocol_version.app,
            }),
            default_node_id: info.id.to_string(),
            listen_addr: info.listen_addr.to_string(),
            network: info.network.to_string(),
            version: info.version.to_string(),
            channels: hex::decode(info.channels.to_string()).unwrap_or_default(),
            moniker: info.moniker.to_string(),
            other: Some(tendermint_proto::p2p::DefaultNodeInfoOther {
                tx_index: match info.other.tx_index {
                    tendermint::node::info::TxIndexStatus::On => "on".into(),
                    tendermint::node::info::TxIndexStatus::Off => "off".into(),
                },
                rpc_address: info.other.rpc_address,
            }),
        }),
        application_version: Some(tm_svc::VersionInfo {
            name: "deai".into(),
            app_name: "deaid".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: String::new(),
            build_tags: String::new(),
            go_version: String::new(),
            build_deps: Vec::new(),
            cosmos_sdk_version: String::new(),
        }),
    })
}

async fn syncing(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let _: tm_svc::GetSyncingRequest = decode(request)?;
    let status = api.node.status().await?;
    reply(tm_svc::GetSyncingResponse {
        syncing: status.sync_info.catching_up,
    })
}

/// The validator set at `height` (the latest when `None`), paged.
async fn validators(
    api: &Api,
    height: Option<Height>,
    page: Option<&PageRequest>,
) -> Result<(i64, Vec<tm_svc::Validator>, PageResponse), ApiError> {
    let height = match height {
        Some(h) => h,
        None => api.node.status().await?.sync_info.latest_block_height,
    };
    let r = api.node.validators(height, Paging::All).await?;
    let (offset, limit) = page_bounds(page, r.validators.len())?;
    let total = r.validators.len() as u64;
    let list = r
        .validators
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|v| tm_svc::Validator {
            address: valcons(api, v.address.as_bytes()),
            pub_key: Some(cosmos_sdk_proto::Any {
                type_url: ED25519_TYPE_URL.into(),
                value: Ed25519PubKey {
                    key: v.pub_key.to_bytes(),
                }
                .encode_to_vec(),
            }),
            voting_power: v.power.into(),
            proposer_priority: v.proposer_priority.value(),
        })
        .collect();
    Ok((
        r.block_height.into(),
        list,
        PageResponse {
            next_key: Vec::new(),
            total,
        },
    ))
}

async fn latest_validators(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: tm_svc::GetLatestValidatorSetRequest = decode(request)?;
    let (block_height, validators, page) = validators(api, None, req.pagination.as_ref()).await?;
    reply(tm_svc::GetLatestValidatorSetResponse {
        block_height,
        validators,
        pagination: Some(page),
    })
}

async fn validators_by_height(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let req: tm_svc::GetValidatorSetByHeightRequest = decode(request)?;
    let height = height_arg(req.height)?;
    let latest = api.node.status().await?.sync_info.latest_block_height;
    if height > latest {
        return Err(ApiError::InvalidArgument(format!(
            "requested height {height} is beyond the latest height {latest}"
        )));
    }
    let (block_height, validators, page) =
        validators(api, Some(height), req.pagination.as_ref()).await?;
    reply(tm_svc::GetValidatorSetByHeightResponse {
        block_height,
        validators,
        pagination: Some(page),
    })
}

async fn abci_query(api: &Api, request: &[u8], height: Option<u64>) -> Result<Answer, ApiError> {
    let req: tm_svc::AbciQueryRequest = decode(request)?;
    let at = match req.height {
        0 => height.unwrap_or(0),
        h => u64::try_from(h)
            .map_err(|_| ApiError::InvalidArgument(format!("height must not be negative: {h}")))?,
    };
    let querier = api.querier.clone();
    let a = tokio::task::spawn_blocking(move || querier.query(&req.path, &req.data, at, req.prove))
        .await
        .map_err(|e| ApiError::Internal(format!("query task: {e}")))?;
    let height = a.height;
    reply(tm_svc::AbciQueryResponse {
        code: a.code,
        log: a.log,
        info: String::new(),
        index: 0,
        key: a.key,
        value: a.value,
        proof_ops: (!a.proof_ops.is_empty()).then(|| tm_svc::ProofOps {
            ops: a
                .proof_ops
                .into_iter()
                .map(|(r#type, key, data)| tm_svc::ProofOp { r#type, key, data })
                .collect(),
        }),
        height: i64::try_from(height).unwrap_or(i64::MAX),
        codespace: a.codespace,
    })
    .map(|mut answer| {
        answer.height = height;
        answer
    })
}

/// `cosmos.consensus.v1.QueryParamsResponse` (cosmos-sdk-proto does not
/// build that package).
#[derive(Clone, PartialEq, Message)]
struct ConsensusParamsResponse {
    #[prost(message, optional, tag = "1")]
    params: Option<tendermint_proto::types::ConsensusParams>,
}

async fn consensus_params(api: &Api, _request: &[u8]) -> Result<Answer, ApiError> {
    // The request message has no fields.
    let latest = api.node.status().await?.sync_info.latest_block_height;
    let params = api.node.consensus_params(latest).await?.consensus_params;
    reply(ConsensusParamsResponse {
        params: Some(params.into()),
    })
}

async fn config(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let _: ConfigRequest = decode(request)?;
    let querier = api.querier.clone();
    let price = tokio::task::spawn_blocking(move || querier.min_gas_price())
        .await
        .map_err(|e| ApiError::Internal(format!("query task: {e}")))?
        .map_err(ApiError::Internal)?;
    reply(ConfigResponse {
        minimum_gas_price: price,
        pruning_keep_recent: String::new(),
        pruning_interval: String::new(),
        halt_height: 0,
    })
}

async fn status(api: &Api, request: &[u8]) -> Result<Answer, ApiError> {
    let _: StatusRequest = decode(request)?;
    let sync = api.node.status().await?.sync_info;
    let header = api.node.header(sync.latest_block_height).await?.header;
    reply(StatusResponse {
        earliest_store_height: sync.earliest_block_height.value(),
        height: sync.latest_block_height.value(),
        timestamp: Some(header.time.into()),
        app_hash: sync.latest_app_hash.as_bytes().to_vec(),
        validator_hash: header.validators_hash.as_bytes().to_vec(),
    })
}
