//! `deai-compute gateway`: OpenAI's embeddings API in front of the compute market.
//!
//! `POST /v1/embeddings` turns one request (one text or a list) into one `embed` job for
//! the whole batch, signed and paid by the account of the keyring key the caller's API
//! key maps to (the gateway holds no user funds), waits for the providers' quorum, and
//! answers with the embeddings (floats are the verified integers × 2^-15) and a `deai`
//! receipt: job id, result hash, height, the agreeing providers and what was paid.
//! `GET /v1/models` lists the governance-registered models by id and by name.
//!
//! Every error is OpenAI's JSON shape. Statuses: 400 a malformed request (or an input the
//! providers found invalid), 401 a missing or unknown API key, 402 an account that cannot
//! pay the escrow and fee, 404 an unknown model, 413 a body over `--max-body-bytes`, 429 a
//! key past its daily spend limit (or too many requests in flight), 502 a result that
//! does not check out, 504 no quorum before the job's deadline (the chain refunds the
//! escrow) or the wait ran out.

pub mod api;
pub mod config;
pub mod spend;

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use axum::{
    body::Bytes,
    extract::{rejection::BytesRejection, DefaultBodyLimit, State},
    http::{header::AUTHORIZATION, HeaderMap, StatusCode},
    routing::{get, post},
    Json, Router,
};
use deai_client::{keyring, Gas, NodeClient};
use deai_compute::{
    model as crate_model,
    workload::{
        decode_embeddings, encode_embed_input, invalid_input_result_hash, sha3_256, ModelStore,
        Workload,
    },
};
use deai_compute_module::{
    input::embed_input_work_units,
    query::{JOB_PATH, MODELS_PATH, PARAMS_PATH},
};
use deai_keys::Backend;
use deai_proto::compute::v1 as pb;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

use self::{
    api::{encode_embedding, parse_request, ApiError, Receipt},
    config::{find_key, Config, KeyEntry},
    spend::{today, Ledger},
};
use crate::daemon::chain::Chain;

/// Flags of `deai-compute gateway`.
#[derive(clap::Args)]
pub struct GatewayArgs {
    /// The node's RPC address.
    #[arg(long, default_value = "http://127.0.0.1:26657", env = "DEAI_NODE")]
    node: String,
    /// The configuration file (JSON): API keys (as SHA-256), the keyring key paying for
    /// each, daily limits, replication, price. See compute-node/README.md.
    #[arg(long)]
    config: PathBuf,
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Home directory: the keyring (`keyring-<backend>/`) and the spend ledger
    /// (`compute-gateway/spend.json`). Default: $DEAI_HOME, else ~/.deaid.
    #[arg(long)]
    home: Option<PathBuf>,
    /// `file` (passphrase from DEAI_KEYRING_PASSPHRASE or stdin) or `test`.
    #[arg(long, default_value = "file", env = "DEAI_KEYRING_BACKEND")]
    keyring_backend: Backend,
    /// Models to recompute results with when the chain does not hold the output (a batch
    /// larger than `max_output_bytes`), and to count tokens and widths with.
    #[arg(long)]
    models: Option<PathBuf>,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Most requests waiting for their jobs at once.
    #[arg(long, default_value_t = 64)]
    max_in_flight: usize,
}

/// A registered model, as the gateway names it.
#[derive(Debug, Clone)]
struct ModelInfo {
    id: String,
    name: String,
}

struct Gateway {
    client: NodeClient,
    config: Config,
    keys: Vec<KeyEntry>,
    /// One chain handle per paying keyring key, locked from the balance check to the
    /// submission's block, so checks and spends on one account never interleave.
    payers: BTreeMap<String, Arc<tokio::sync::Mutex<Chain>>>,
    ledger: Mutex<Ledger>,
    workload: Option<Arc<Workload>>,
    models: ModelStore,
    /// The tokenizers of the models held, by id, loaded once (for `usage`).
    tokenizers: BTreeMap<String, tokenizers::Tokenizer>,
    in_flight: Semaphore,
}

/// Runs the gateway until the process is stopped.
pub fn start(args: GatewayArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(args: GatewayArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let keys = config.entries()?;
    let home = args.home.clone().unwrap_or_else(keyring::default_home);
    let kr = keyring::open(&home, args.keyring_backend, None)?;
    let mut payers = BTreeMap::new();
    for k in &keys {
        if payers.contains_key(&k.from) {
            continue;
        }
        let key = keyring::signer(&kr, &k.from)?;
        let chain = Chain::connect(&args.node, key, None, Gas::parse("auto", "1.3")?)
            .await
            .with_context(|| format!("connecting to {} for key {}", args.node, k.from))?;
        payers.insert(k.from.clone(), Arc::new(tokio::sync::Mutex::new(chain)));
    }
    let ledger = Ledger::open(&home.join("compute-gateway").join("spend.json"))?;
    let models = match &args.models {
        Some(dir) => ModelStore::load(dir).context("--models")?,
        None => ModelStore::default(),
    };
    let workload = if args.models.is_some() {
        let m = models.clone();
        Some(Arc::new(
            tokio::task::spawn_blocking(move || {
                let w = Workload::new(m);
                w.preload();
                w
            })
            .await
            .context("loading models")?,
        ))
    } else {
        None
    };
    let tokenizers = models
        .ids()
        .filter_map(|id| {
            let path = models.path(id)?.with_file_name("tokenizer.json");
            match crate_model::load_tokenizer(&path) {
                Ok(t) => Some((id.to_string(), t)),
                Err(e) => {
                    tracing::warn!(model = id, error = %e, "no tokenizer: usage will count 0 tokens");
                    None
                }
            }
        })
        .collect();
    let gw = Arc::new(Gateway {
        client: NodeClient::new(&args.node)?,
        config,
        keys,
        payers,
        ledger: Mutex::new(ledger),
        workload,
        models,
        tokenizers,
        in_flight: Semaphore::new(args.max_in_flight),
    });
    let app = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/models", get(list_models))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "unknown_url",
                "no such endpoint: this gateway serves POST /v1/embeddings and GET /v1/models",
            )
        })
        .layer(DefaultBodyLimit::max(args.max_body_bytes))
        .with_state(gw);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, node = %args.node, "compute gateway serving /v1/embeddings and /v1/models");
    eprintln!("deai-compute gateway listening on http://{bound}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("serving HTTP")
}

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "api_error",
        "chain_unavailable",
        format!("talking to the chain: {e}"),
    )
}

impl Gateway {
    async fn models(&self) -> Result<Vec<ModelInfo>, ApiError> {
        let r: pb::QueryModelsResponse = self
            .client
            .ask(MODELS_PATH, &pb::QueryModelsRequest { pagination: None })
            .await
            .map_err(|e| internal(format!("{e:#}")))?;
        Ok(r.models
            .into_iter()
            .map(|m| ModelInfo {
                id: m.id,
                name: m.name,
            })
            .collect())
    }

    /// The model `asked` names: a registered id, or a registered name (case-insensitive,
    /// with or without an `org/` prefix) that only one model has.
    async fn resolve(&self, asked: &str) -> Result<ModelInfo, ApiError> {
        let models = self.models().await?;
        if let Some(m) = models.iter().find(|m| m.id == asked) {
            return Ok(m.clone());
        }
        let short = asked.rsplit('/').next().unwrap_or(asked);
        let named: Vec<&ModelInfo> = models
            .iter()
            .filter(|m| m.name.eq_ignore_ascii_case(asked) || m.name.eq_ignore_ascii_case(short))
            .collect();
        match named.as_slice() {
            [one] => Ok((*one).clone()),
            _ => Err(ApiError {
                status: StatusCode::NOT_FOUND,
                message: format!(
                    "the model {asked:?} is not registered on this chain{} (GET /v1/models lists them)",
                    if named.len() > 1 { " under one name: use its id" } else { "" }
                ),
                kind: "invalid_request_error",
                param: Some("model"),
                code: Some("model_not_found"),
            }),
        }
    }

    /// The width of model `id`'s embeddings, from its config.json, when this gateway holds it.
    fn width(&self, id: &str) -> Option<u64> {
        let weights = self.models.path(id)?;
        let config = std::fs::read(weights.parent()?.join("config.json")).ok()?;
        serde_json::from_slice::<Value>(&config).ok()?["hidden_size"].as_u64()
    }

    /// Tokens in `texts` after truncation, when this gateway holds the model's tokenizer.
    fn count_tokens(&self, id: &str, texts: &[&str]) -> u64 {
        let Some(tok) = self.tokenizers.get(id) else {
            return 0;
        };
        texts
            .iter()
            .filter_map(|t| crate_model::tokenize(tok, t).ok())
            .map(|t| t.ids.len() as u64)
            .sum()
    }

    async fn job(&self, id: u64) -> anyhow::Result<pb::Job> {
        self.client
            .ask::<_, pb::QueryJobResponse>(JOB_PATH, &pb::QueryJobRequest { job_id: id })
            .await?
            .job
            .context("the node returned no job")
    }
}

/// The API key entry of the request's `Authorization: Bearer` header.
fn authenticate<'a>(gw: &'a Gateway, headers: &HeaderMap) -> Result<&'a KeyEntry, ApiError> {
    let unauthorized = |m: &str| ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: m.to_string(),
        kind: "invalid_request_error",
        param: None,
        code: Some("invalid_api_key"),
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("no API key: send Authorization: Bearer <key>"))?;
    find_key(&gw.keys, presented.trim())
        .and_then(|i| gw.keys.get(i))
        .ok_or_else(|| unauthorized("incorrect API key provided"))
}

async fn list_models(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    authenticate(&gw, &headers)?;
    let mut data = Vec::new();
    for m in gw.models().await? {
        data.push(
            json!({"id": m.id, "object": "model", "created": 0, "owned_by": "deai-governance",
            "deai": {"model_id": m.id, "name": m.name}}),
        );
        if !m.name.is_empty() {
            data.push(
                json!({"id": m.name, "object": "model", "created": 0, "owned_by": "deai-governance",
                "deai": {"model_id": m.id, "name": m.name, "alias_of": m.id}}),
            );
        }
    }
    Ok(Json(json!({"object": "list", "data": data})))
}

fn amount(s: &str) -> u128 {
    s.parse().unwrap_or(0)
}

async fn embeddings(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let key = authenticate(&gw, &headers)?;
    let body = body.map_err(|e| ApiError {
        status: e.status(),
        message: format!("the request body could not be read: {e}"),
        kind: "invalid_request_error",
        param: None,
        code: Some("request_too_large").filter(|_| e.status() == StatusCode::PAYLOAD_TOO_LARGE),
    })?;
    let req = parse_request(&body)?;
    let texts = req.texts()?;
    let encoding = req.encoding()?;
    let model = gw.resolve(&req.model).await?;
    if let Some(d) = req.dimensions {
        match gw.width(&model.id) {
            Some(w) if w == d => {}
            Some(w) => {
                return Err(ApiError::bad_request(
                    Some("dimensions"),
                    format!(
                        "{} embeddings have {w} dimensions; they cannot be shortened",
                        model.name
                    ),
                ))
            }
            None => {
                return Err(ApiError::bad_request(
                    Some("dimensions"),
                    "this gateway cannot check dimensions for this model: leave it out",
                ))
            }
        }
    }
    let input = encode_embed_input(&texts)
        .map_err(|e| ApiError::bad_request(Some("input"), e.to_string()))?;
    let work_units = embed_input_work_units(&input)
        .map_err(|e| ApiError::bad_request(Some("input"), e.to_string()))?;
    let _permit = gw.in_flight.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "too_many_requests",
            "too many requests in flight at this gateway; retry later",
        )
    })?;
    let params: pb::QueryParamsResponse = gw
        .client
        .ask(PARAMS_PATH, &pb::QueryParamsRequest {})
        .await
        .map_err(|e| internal(format!("{e:#}")))?;
    let params = params.params.unwrap_or_default();
    let per_unit = gw
        .config
        .price_per_work_unit()
        .unwrap_or(0)
        .max(amount(&params.min_price_per_work_unit))
        .max(1);
    let price = per_unit.saturating_mul(u128::from(work_units));
    let replication = gw.config.replication;
    let escrow = price.saturating_mul(u128::from(replication));
    let submitted = submit(&gw, key, &model, input.clone(), price, escrow, &params).await?;
    let job = wait_settled(&gw, submitted.job_id).await?;
    let status = pb::JobStatus::try_from(job.status).unwrap_or(pb::JobStatus::Unspecified);
    let day = submitted.day;
    if status != pb::JobStatus::Finalized {
        let open = matches!(status, pb::JobStatus::Pending | pb::JobStatus::Assigned);
        if !open {
            release(&gw, key, day, escrow);
        }
        return Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            "no_quorum",
            if open {
                format!(
                    "job {} has no quorum yet after {} s; the chain settles it or refunds its {escrow} udeai escrow by its deadline",
                    job.id, gw.config.timeout_secs
                )
            } else {
                format!(
                    "job {} ended {} without a quorum of providers; its {escrow} udeai escrow was refunded (the fee was not)",
                    job.id,
                    status.as_str_name()
                )
            },
        ));
    }
    let agreeing: Vec<String> = job
        .assignments
        .iter()
        .filter(|a| !a.result_hash.is_empty() && a.result_hash == job.result_hash)
        .map(|a| a.provider.clone())
        .collect();
    let paid = price.saturating_mul(agreeing.len() as u128);
    let refunded = escrow.saturating_sub(paid);
    release(&gw, key, day, refunded);
    if job.result_hash.as_slice() == invalid_input_result_hash().as_slice() {
        return Err(ApiError::bad_request(
            Some("input"),
            format!(
                "the providers found the input invalid (job {}): the model's tokenizer refused it",
                job.id
            ),
        ));
    }
    let (rows, checked_by) = embeddings_of(&gw, &job, &model.id, &input).await?;
    if rows.len() != texts.len() {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "api_error",
            "verification_failed",
            format!(
                "job {}: {} embeddings for {} inputs",
                job.id,
                rows.len(),
                texts.len()
            ),
        ));
    }
    let tokens = gw.count_tokens(&model.id, &texts);
    let data: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| json!({"object": "embedding", "index": i, "embedding": encode_embedding(row, encoding)}))
        .collect();
    let receipt = Receipt {
        job_id: job.id,
        model_id: model.id.clone(),
        result_hash: hex::encode(&job.result_hash),
        height: job.settled_height,
        submitted_height: submitted.height,
        tx_hash: submitted.tx_hash,
        providers: agreeing,
        replication: job.replication,
        work_units: job.work_units,
        price_per_replica_udeai: price.to_string(),
        price_paid_udeai: paid.to_string(),
        fee_udeai: submitted.fee.to_string(),
        refunded_udeai: refunded.to_string(),
        embedding_scale_bits: deai_compute::encoder::EMBED_BITS,
        checked_by,
    };
    tracing::info!(key = %key.name, job = job.id, texts = texts.len(), paid = %paid, "embeddings served");
    Ok(Json(json!({
        "object": "list",
        "data": data,
        "model": req.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        "deai": receipt,
    })))
}

fn release(gw: &Gateway, key: &KeyEntry, day: u64, amount: u128) {
    let mut ledger = gw.ledger.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = ledger.release(&key.name, day, amount) {
        // The limit stays charged: safe, if stricter than it should be.
        tracing::warn!(key = %key.name, error = %format!("{e:#}"), "could not record a refund in the spend ledger");
    }
}

/// A job on chain.
struct Submitted {
    job_id: u64,
    height: u64,
    tx_hash: String,
    fee: u128,
    day: u64,
}

/// Checks the account can pay and the key's limit allows it, reserves the cost, and
/// submits the job, all under the paying account's lock.
async fn submit(
    gw: &Gateway,
    key: &KeyEntry,
    model: &ModelInfo,
    input: Vec<u8>,
    price: u128,
    escrow: u128,
    params: &pb::Params,
) -> Result<Submitted, ApiError> {
    let payer = gw
        .payers
        .get(&key.from)
        .ok_or_else(|| internal(format!("no keyring key {}", key.from)))?;
    let chain = payer.lock().await;
    let cannot_pay = |have: u128, need: u128| {
        ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_quota",
            "insufficient_funds",
            format!(
                "the account {} paying for this API key holds {have} udeai; this request needs {need} udeai (escrow for {} providers and the fee)",
                chain.bech32(),
                gw.config.replication
            ),
        )
    };
    let balance = chain
        .balance()
        .await
        .map_err(|e| internal(format!("{e:#}")))?;
    if balance < escrow {
        return Err(cannot_pay(balance, escrow));
    }
    let height = chain
        .height()
        .await
        .map_err(|e| internal(format!("{e:#}")))?;
    let deadline = if gw.config.deadline_blocks == 0 {
        0
    } else {
        // The least the chain accepts for a submission landing in the next few blocks.
        let least = params
            .min_phase_window
            .max(1)
            .saturating_mul(2)
            .saturating_add(4);
        height.saturating_add(gw.config.deadline_blocks.max(least))
    };
    let msg = deai_client::tx::any(
        deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
        &pb::MsgSubmitJob {
            requester: chain.bech32().to_string(),
            kind: "embed".into(),
            model_id: model.id.clone(),
            input_hash: sha3_256(&input).to_vec(),
            input,
            replication: gw.config.replication,
            price_per_replica: price.to_string(),
            deadline,
        },
    );
    let tx_params = chain
        .prepare(&msg, "estimating the job's gas")
        .await
        .map_err(|e| {
            let text = format!("{e:#}");
            if text.contains("insufficient") {
                cannot_pay(balance, escrow)
            } else if text.contains("eligible") {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "api_error",
                    "no_providers",
                    format!(
                        "not enough compute providers for {} replicas: {text}",
                        gw.config.replication
                    ),
                )
            } else {
                internal(text)
            }
        })?;
    let fee = tx_params.fee.as_ref().map_or(0, |c| c.amount);
    let cost = escrow.saturating_add(fee);
    if balance < cost {
        return Err(cannot_pay(balance, cost));
    }
    let day = today();
    {
        let mut ledger = gw.ledger.lock().unwrap_or_else(|p| p.into_inner());
        match ledger.reserve(&key.name, day, cost, key.daily_limit) {
            Ok(Ok(())) => {}
            Ok(Err(over)) => {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "insufficient_quota",
                    "daily_limit_exceeded",
                    format!(
                    "this API key has spent {} of its {} udeai today (UTC); this request needs {}",
                    over.spent, over.limit, over.cost
                ),
                ))
            }
            Err(e) => return Err(internal(format!("{e:#}"))),
        }
    }
    let landed = match chain
        .send_prepared(msg, tx_params, "submitting the embed job")
        .await
    {
        Ok(l) => l,
        Err(e) => {
            let text = format!("{e:#}");
            // Refused before a block: nothing was paid. Failed in a block: the fee was.
            let refused = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<deai_client::SendError>(),
                    Some(deai_client::SendError::Refused { .. })
                )
            });
            release(gw, key, day, if refused { cost } else { escrow });
            return Err(internal(text));
        }
    };
    let job_id = landed
        .attr("compute_job_submitted", "job_id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| internal("the submission landed without a job id"))?;
    tracing::info!(key = %key.name, job = job_id, height = landed.height, %escrow, %fee, "embed job submitted");
    Ok(Submitted {
        job_id,
        height: landed.height,
        tx_hash: hex::encode_upper(landed.hash),
        fee,
        day,
    })
}

/// Polls job `id` until it leaves the pending and assigned states or the wait runs out.
async fn wait_settled(gw: &Gateway, id: u64) -> Result<pb::Job, ApiError> {
    let start = Instant::now();
    let limit = Duration::from_secs(gw.config.timeout_secs);
    loop {
        let job = gw.job(id).await.map_err(|e| internal(format!("{e:#}")))?;
        let open = job.status == pb::JobStatus::Pending as i32
            || job.status == pb::JobStatus::Assigned as i32;
        if !open || start.elapsed() >= limit {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The embeddings of a finalized job: the revealed output the chain holds (its hash was
/// checked by the chain and agreed by the majority), or, when the chain holds none (a
/// batch larger than `max_output_bytes`), this gateway's own run of the job, which must
/// hash to the majority's result.
async fn embeddings_of(
    gw: &Gateway,
    job: &pb::Job,
    model_id: &str,
    input: &[u8],
) -> Result<(Vec<Vec<i32>>, &'static str), ApiError> {
    let fail = |m: String| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "api_error",
            "verification_failed",
            m,
        )
    };
    let (output, checked_by) = if !job.output.is_empty() {
        if sha3_256(&job.output).as_slice() != job.result_hash.as_slice() {
            return Err(fail(format!(
                "job {}: the output on chain does not hash to its result",
                job.id
            )));
        }
        (job.output.clone(), "chain-output")
    } else {
        let Some(workload) = gw.workload.clone() else {
            return Err(fail(format!(
                "job {} is final ({}), but the chain holds no output for a batch this large and this gateway has no --models to recompute it",
                job.id,
                hex::encode(&job.result_hash)
            )));
        };
        let (id, input) = (model_id.to_string(), input.to_vec());
        let out = tokio::task::spawn_blocking(move || workload.run_embed(&id, &input))
            .await
            .map_err(|e| fail(format!("recomputing: {e}")))?
            .map_err(|e| fail(format!("recomputing job {}: {e}", job.id)))?;
        if out.result_hash.as_slice() != job.result_hash.as_slice() {
            return Err(fail(format!(
                "job {}: the providers' result {} is not what this gateway computes ({})",
                job.id,
                hex::encode(&job.result_hash),
                hex::encode(out.result_hash)
            )));
        }
        (out.output, "recomputed")
    };
    let rows = decode_embeddings(&output).ok_or_else(|| {
        fail(format!(
            "job {}: the output is not an embedding matrix",
            job.id
        ))
    })?;
    Ok((rows, checked_by))
}
