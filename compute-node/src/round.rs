//! `deai-compute round contribute` and `deai-compute round eval-set`: a
//! device's side of a private data round (`modules/rounds/README.md`).
//!
//! `contribute` drives one contributor through round `--round` against a
//! node: it waits for the round to be open, embeds its private labelled
//! joins with a fresh X25519 key, embeds its private labelled texts with the
//! round's frozen encoder (the bit-exact MiniLM the compute node runs;
//! features as [`deai_rounds_client::feature`] defines them), waits for the
//! join window to close, computes its update against the parent head, clips it, adds its Skellam
//! noise share, masks it and submits it, then, after the submit window,
//! reveals the seeds it shares with peers that did not submit, and waits
//! for the outcome. It prints one line per phase.
//!
//! The round key and the noise seed are drawn once and kept, with the phase
//! reached, in `<home>/rounds/<address>-round-<id>.json` (mode 0600, atomic
//! replace, through the client's salt store) *before* the join is sent, so
//! a restarted device goes on with the key it joined with; what the chain
//! already holds (its join, its update) is read back, never sent twice.
//!
//! `eval-set` embeds a labelled file the same way and writes the
//! evaluation set of an open-round proposal (`EvalSet` as proto JSON) and
//! prints its hash. With `--texts` it writes the texts instead (an `embed`
//! input): the chain then evaluates each head by a `classify` job in the
//! compute market, and no model is needed here.
//!
//! # Data file (`--data`)
//!
//! JSON lines, one example per line: `{"text": "…", "label": 2}`, the label
//! a class index below the round's class count; blank lines are skipped and
//! other fields refused. Bounded before anything is decoded: at most
//! [`MAX_DATA_BYTES`] in the file, [`MAX_LINE_BYTES`] a line,
//! [`MAX_EXAMPLES`] examples and [`MAX_TEXT_BYTES`] of UTF-8 per text (the
//! encoder reads at most 256 tokens of it).

use std::{
    io::Read,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{anyhow, bail, Context};
use base64::Engine as _;
use deai_client::{salt_store, sign_tx, tx::any, NodeClient};
use deai_compute::workload::{
    decode_embeddings, encode_embed_input, ModelStore, Workload, WorkloadError,
};
use deai_compute_module::input::EMBED_MAX_BATCH;
use deai_proto::rounds::v1 as pb;
use deai_rounds::{mask, params::MAX_CLASSES};
use deai_rounds_client::{embeddings_eval_set, feature, Contributor, Example, RoundView};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::daemon::{chain::Chain, TxArgs, TxSetup};

/// Largest data file read.
pub const MAX_DATA_BYTES: u64 = 8 << 20;
/// Longest line of a data file (a text of [`MAX_TEXT_BYTES`] with every
/// character escaped fits).
pub const MAX_LINE_BYTES: usize = 32 << 10;
/// Most examples in a data file.
pub const MAX_EXAMPLES: usize = 10_000;
/// Longest text, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 4096;

/// How often the node is polled for a new block.
const POLL: Duration = Duration::from_millis(300);
/// Largest state file read back (it holds two 32-byte secrets).
const MAX_STATE_BYTES: u64 = 64 << 10;

const ROUND_PATH: &str = "/deai.rounds.v1.Query/Round";
const LINEAGE_PATH: &str = "/deai.rounds.v1.Query/Lineage";

/// `deai-compute round …`.
#[derive(clap::Subcommand)]
pub enum RoundCmd {
    /// Take part in round ID with private labelled texts: join, embed, submit
    /// the clipped, noised, masked update, reveal seeds for dropped peers.
    Contribute(ContributeArgs),
    /// Embed a labelled file into the evaluation set of an open-round
    /// proposal (proto JSON) and print its hash.
    EvalSet(EvalSetArgs),
}

/// Flags of `round contribute`.
#[derive(clap::Args)]
pub struct ContributeArgs {
    /// The round's id.
    #[arg(long)]
    round: u64,
    /// The private labelled texts: JSON lines `{"text": "…", "label": N}`.
    #[arg(long)]
    data: PathBuf,
    /// Directory holding the round's base model (see `start --models`).
    #[arg(long, env = "DEAI_MINILM_DIR")]
    models: PathBuf,
    /// The node and the contributor's key (a bonded compute provider).
    #[command(flatten)]
    tx: TxArgs,
    /// Longest wait, in seconds, for the round to appear on chain.
    #[arg(long, default_value_t = 600)]
    wait_open: u64,
    /// Also write the clipped, noised update (before masking; JSON list of
    /// integers) here. It is as private as the data: for audits and tests.
    #[arg(long)]
    update_out: Option<PathBuf>,
}

/// Flags of `round eval-set`.
#[derive(clap::Args)]
pub struct EvalSetArgs {
    /// The labelled texts: JSON lines `{"text": "…", "label": N}`.
    #[arg(long)]
    data: PathBuf,
    /// Directory holding the model (not needed with --texts).
    #[arg(long, env = "DEAI_MINILM_DIR", required_unless_present = "texts")]
    models: Option<PathBuf>,
    /// The model's id (64 hex digits); default: the only model in --models.
    #[arg(long)]
    model: Option<String>,
    /// Write the texts (at most 256, 64 KiB in all), for evaluation by classify jobs in
    /// the compute market, instead of their embeddings, for evaluation on chain.
    #[arg(long)]
    texts: bool,
    /// Where to write the evaluation set (proto JSON of `EvalSet`).
    #[arg(long)]
    out: PathBuf,
}

/// Runs a `round` subcommand.
pub fn run(cmd: RoundCmd) -> anyhow::Result<()> {
    match cmd {
        RoundCmd::EvalSet(args) => eval_set(args),
        RoundCmd::Contribute(args) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")?
            .block_on(contribute(args)),
    }
}

/// One line of a data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    text: String,
    label: u32,
}

/// A labelled text of a data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    /// The text.
    pub text: String,
    /// Its class.
    pub label: u8,
}

/// Reads a data file (see the module docs), bounded before decoding.
pub fn read_data(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    if len > MAX_DATA_BYTES {
        bail!(
            "{} is {len} bytes; a data file may hold at most {MAX_DATA_BYTES}",
            path.display()
        );
    }
    let mut bytes = Vec::new();
    file.take(MAX_DATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    parse_data(&bytes).with_context(|| format!("{}", path.display()))
}

/// Parses the bytes of a data file (see the module docs).
pub fn parse_data(bytes: &[u8]) -> anyhow::Result<Vec<Labelled>> {
    if bytes.len() as u64 > MAX_DATA_BYTES {
        bail!("more than {MAX_DATA_BYTES} bytes");
    }
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if line.len() > MAX_LINE_BYTES {
            bail!("line {n} is longer than {MAX_LINE_BYTES} bytes");
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.len() == MAX_EXAMPLES {
            bail!("more than {MAX_EXAMPLES} examples");
        }
        let l: Line = serde_json::from_slice(line)
            .with_context(|| format!("line {n}: expected {{\"text\": \"…\", \"label\": N}}"))?;
        if l.text.trim().is_empty() {
            bail!("line {n}: the text is empty");
        }
        if l.text.len() > MAX_TEXT_BYTES {
            bail!(
                "line {n}: the text is {} bytes, more than {MAX_TEXT_BYTES}",
                l.text.len()
            );
        }
        let label = u8::try_from(l.label)
            .ok()
            .filter(|&y| u32::from(y) < MAX_CLASSES)
            .ok_or_else(|| {
                anyhow!(
                    "line {n}: label {} is not a class (0 to {})",
                    l.label,
                    MAX_CLASSES - 1
                )
            })?;
        out.push(Labelled {
            text: l.text,
            label,
        });
    }
    if out.is_empty() {
        bail!("no examples");
    }
    Ok(out)
}

/// The round features of `data` through model `model_id` of `workload`,
/// in batches the chain's embed format allows.
fn embed(workload: &Workload, model_id: &str, data: &[Labelled]) -> anyhow::Result<Vec<Example>> {
    let mut out = Vec::with_capacity(data.len());
    for chunk in data.chunks(EMBED_MAX_BATCH) {
        let texts: Vec<&str> = chunk.iter().map(|l| l.text.as_str()).collect();
        let rows = match encode_embed_input(&texts) {
            Ok(input) => {
                let output = workload.run_embed(model_id, &input)?;
                decode_embeddings(&output.output)
                    .ok_or_else(|| anyhow!("the encoder's output is not a matrix of embeddings"))?
            }
            // A batch over the embed input's size bound: one text at a time.
            Err(_) => chunk
                .iter()
                .map(|l| {
                    let output = workload.run_embed(model_id, l.text.as_bytes())?;
                    decode_embeddings(&output.output)
                        .and_then(|mut r| r.pop())
                        .ok_or_else(|| anyhow!("the encoder's output is not an embedding"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?,
        };
        if rows.len() != chunk.len() {
            bail!(
                "the encoder returned {} embeddings for {} texts",
                rows.len(),
                chunk.len()
            );
        }
        out.extend(chunk.iter().zip(rows).map(|(l, row)| Example {
            embedding: feature(&row),
            label: l.label,
        }));
    }
    Ok(out)
}

/// Maps "the model is not in --models" to a sentence that names the flag.
fn model_error(e: WorkloadError, id: &str, dir: &Path) -> anyhow::Error {
    if e.is_unsupported() {
        anyhow!(
            "model {id} cannot be run from --models {}: {e}",
            dir.display()
        )
    } else {
        anyhow::Error::new(e).context("embedding the texts")
    }
}

fn eval_set(args: EvalSetArgs) -> anyhow::Result<()> {
    let data = read_data(&args.data)?;
    if args.texts {
        let texts: Vec<&str> = data.iter().map(|l| l.text.as_str()).collect();
        let set = pb::EvalSet {
            texts: encode_embed_input(&texts).map_err(|e| {
                anyhow!(
                    "{}: as an evaluation set of texts: {e}",
                    args.data.display()
                )
            })?,
            labels: data.iter().map(|l| l.label).collect(),
            ..Default::default()
        };
        let json = serde_json::json!({
            "texts": base64::engine::general_purpose::STANDARD.encode(&set.texts),
            "labels": base64::engine::general_purpose::STANDARD.encode(&set.labels),
        });
        return write_eval_set(&args.out, &json, &set, "texts".into());
    }
    let models = args
        .models
        .ok_or_else(|| anyhow!("--models is needed to embed the evaluation set"))?;
    let store = ModelStore::load(&models).context("--models")?;
    let model = match args.model {
        Some(m) => m,
        None => {
            let ids: Vec<&str> = store.ids().collect();
            match ids.as_slice() {
                [one] => (*one).to_string(),
                [] => bail!("no model in --models {}", models.display()),
                _ => bail!(
                    "{} models in --models {}: name one with --model",
                    ids.len(),
                    models.display()
                ),
            }
        }
    };
    let workload = Workload::new(store);
    let examples = embed(&workload, &model, &data).map_err(|e| match e.downcast() {
        Ok(w) => model_error(w, &model, &models),
        Err(e) => e,
    })?;
    let set = embeddings_eval_set(&examples);
    let b64 = base64::engine::general_purpose::STANDARD;
    let json = serde_json::json!({
        "embeddings": b64.encode(&set.embeddings),
        "labels": b64.encode(&set.labels),
    });
    write_eval_set(
        &args.out,
        &json,
        &set,
        format!("embeddings of model {model}"),
    )
}

/// Writes an evaluation set's proto JSON to `out` and prints its hash.
fn write_eval_set(
    out: &Path,
    json: &serde_json::Value,
    set: &pb::EvalSet,
    what: String,
) -> anyhow::Result<()> {
    let hash = mask::eval_set_hash(set);
    let b64 = base64::engine::general_purpose::STANDARD;
    std::fs::write(out, serde_json::to_vec_pretty(json)?)
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "eval set: {} examples ({what}) written to {}; eval_set_hash {} (hex {})",
        set.labels.len(),
        out.display(),
        b64.encode(hash),
        hex::encode(hash)
    );
    Ok(())
}

/// How far this device got in a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    /// Key drawn; the join may or may not be on chain.
    Keyed,
    /// The chain lists this device with its key.
    Joined,
    /// The chain holds its masked update.
    Submitted,
    /// Its reveal is on chain (or there was nothing to reveal).
    Revealed,
}

/// The round state kept on disk.
#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    round_id: u64,
    address: String,
    /// X25519 secret, hex.
    key: String,
    /// Seed of the noise share, hex.
    noise_seed: String,
    phase: Phase,
}

impl Drop for State {
    fn drop(&mut self) {
        self.key.zeroize();
        self.noise_seed.zeroize();
    }
}

fn secret32(hex_str: &str, what: &str) -> anyhow::Result<[u8; 32]> {
    let mut v = hex::decode(hex_str).with_context(|| format!("the state's {what}"))?;
    let out: [u8; 32] = v
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("the state's {what} is not 32 bytes"))?;
    v.zeroize();
    Ok(out)
}

struct Device {
    chain: Chain,
    client: NodeClient,
    key: deai_client::Key,
    state: State,
    state_path: PathBuf,
    round_id: u64,
}

impl Device {
    fn save(&self) -> anyhow::Result<()> {
        salt_store::save(&self.state_path, &self.state)
            .with_context(|| format!("saving the round state {}", self.state_path.display()))
    }

    async fn height(&self) -> anyhow::Result<u64> {
        Ok(self.client.status().await?.1)
    }

    /// The round with its contributors; `None` while it does not exist.
    async fn round(&self) -> anyhow::Result<Option<pb::QueryRoundResponse>> {
        match self
            .client
            .ask::<_, pb::QueryRoundResponse>(
                ROUND_PATH,
                &pb::QueryRoundRequest {
                    round_id: self.round_id,
                },
            )
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.to_string().contains("NotFound") || e.to_string().contains("not found") => {
                Ok(None)
            }
            Err(e) => Err(e.context(format!("reading round {}", self.round_id))),
        }
    }

    async fn round_now(&self) -> anyhow::Result<pb::QueryRoundResponse> {
        self.round()
            .await?
            .ok_or_else(|| anyhow!("round {} is not on chain", self.round_id))
    }

    /// Waits until the chain is past `height`, then reads the round.
    async fn after(&self, height: u64) -> anyhow::Result<pb::QueryRoundResponse> {
        while self.height().await? <= height {
            tokio::time::sleep(POLL).await;
        }
        self.round_now().await
    }

    /// This device's entry among the round's contributors.
    fn me<'a>(&self, r: &'a pb::QueryRoundResponse) -> Option<&'a pb::Contributor> {
        r.contributors
            .iter()
            .find(|c| c.address == self.state.address)
    }

    /// Signs and sends `msg`; returns the tx's height, gas used and size.
    async fn send(
        &self,
        msg: cosmos_sdk_proto::Any,
        what: &str,
    ) -> anyhow::Result<(u64, u64, usize)> {
        let params = self.chain.prepare(&msg, what).await?;
        let bytes = sign_tx(&self.key, vec![msg.clone()], &params).len();
        let landed = self.chain.send_prepared(msg, params, what).await?;
        Ok((landed.height, landed.gas_used, bytes))
    }
}

fn config(r: &pb::QueryRoundResponse) -> anyhow::Result<(&pb::Round, &pb::RoundConfig)> {
    let round = r
        .round
        .as_ref()
        .ok_or_else(|| anyhow!("the node returned no round"))?;
    let c = round
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("round {} has no config", round.id))?;
    Ok((round, c))
}

fn is_final(status: &str) -> bool {
    [
        deai_rounds::STATUS_ACCEPTED,
        deai_rounds::STATUS_REJECTED,
        deai_rounds::STATUS_FAILED,
    ]
    .contains(&status)
}

async fn contribute(args: ContributeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let data = read_data(&args.data)?;
    let TxSetup {
        home,
        key,
        fee,
        gas,
    } = args.tx.open()?;
    // The encoder loads (seconds) while the device waits for the round.
    let store = ModelStore::load(&args.models).context("--models")?;
    let held: Vec<String> = store.ids().map(str::to_owned).collect();
    let loading = tokio::task::spawn_blocking(move || {
        let w = Workload::new(store);
        w.preload();
        w
    });
    let chain = Chain::connect(&args.tx.node, key.clone(), fee, gas)
        .await
        .with_context(|| format!("connecting to the node at {}", args.tx.node))?;
    let client = NodeClient::new(&args.tx.node)?;
    let address = chain.bech32().to_string();
    let state_path = home
        .join("rounds")
        .join(format!("{address}-round-{}.json", args.round));
    let state = match salt_store::load::<State>(&state_path, MAX_STATE_BYTES)? {
        Some(s) => {
            if s.round_id != args.round || s.address != address {
                bail!(
                    "{} is for round {} of {}, not round {} of {address}",
                    state_path.display(),
                    s.round_id,
                    s.address,
                    args.round
                );
            }
            println!(
                "resuming round {} from {} ({:?})",
                args.round,
                state_path.display(),
                s.phase
            );
            s
        }
        None => {
            let mut k = [0u8; 32];
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let s = State {
                version: 1,
                round_id: args.round,
                address: address.clone(),
                key: hex::encode(k),
                noise_seed: hex::encode(seed),
                phase: Phase::Keyed,
            };
            k.zeroize();
            seed.zeroize();
            s
        }
    };
    let mut dev = Device {
        chain,
        client,
        key,
        state,
        state_path,
        round_id: args.round,
    };
    dev.save()?;
    let contributor =
        Contributor::new(*dev.chain.address(), secret32(&dev.state.key, "round key")?);

    // Open: wait for governance to open the round.
    let deadline = Instant::now() + Duration::from_secs(args.wait_open);
    let r = loop {
        if let Some(r) = dev.round().await? {
            break r;
        }
        if Instant::now() > deadline {
            bail!(
                "round {} did not open within {} s",
                args.round,
                args.wait_open
            );
        }
        tokio::time::sleep(POLL).await;
    };
    let (round, c) = config(&r)?;
    let (classes, base_model) = (c.classes, c.base_model_id.clone());
    if let Some(bad) = data.iter().find(|l| u32::from(l.label) >= classes) {
        bail!(
            "--data has label {}, but round {} has {classes} classes (0 to {})",
            bad.label,
            args.round,
            classes - 1
        );
    }
    println!(
        "round {}: {} classes on model {base_model}, {} (join until height {}, submit until {}, reveal until {})",
        round.id, classes, round.status, round.join_end, round.submit_end, round.reveal_end
    );

    if !held.contains(&base_model) {
        bail!(
            "round {}'s base model {base_model} is not in --models {}",
            args.round,
            args.models.display()
        );
    }

    // Join.
    let my_key = contributor.public_key();
    if dev.state.phase < Phase::Joined {
        let r = dev.round_now().await?;
        match dev.me(&r) {
            Some(me) if me.public_key == my_key => {}
            Some(_) => bail!(
                "{address} joined round {} with another key than the one in {}",
                args.round,
                dev.state_path.display()
            ),
            None => {
                let (round, _) = config(&r)?;
                if round.status != deai_rounds::STATUS_JOINING {
                    bail!(
                        "round {} is {}: its join window closed at height {}",
                        args.round,
                        round.status,
                        round.join_end
                    );
                }
                let msg = any(
                    deai_rounds::MSG_JOIN_ROUND_TYPE_URL,
                    &contributor.join_msg(args.round),
                );
                dev.send(msg, "joining the round").await?;
            }
        }
        dev.state.phase = Phase::Joined;
        dev.save()?;
    }
    let r = dev.round_now().await?;
    let me = dev
        .me(&r)
        .ok_or_else(|| anyhow!("the chain does not list {address} in round {}", args.round))?;
    let (round, _) = config(&r)?;
    println!(
        "joined round {} as contributor {} ({} joined so far; join window ends at height {})",
        args.round,
        me.index,
        r.contributors.len(),
        round.join_end
    );

    // Embed the private texts with the round's frozen encoder.
    let workload: Arc<Workload> = Arc::new(loading.await.context("loading the encoder")?);
    let t = Instant::now();
    let examples = {
        let (w, data, m) = (workload.clone(), data.clone(), base_model.clone());
        tokio::task::spawn_blocking(move || embed(&w, &m, &data))
            .await
            .context("embedding")?
            .map_err(|e| match e.downcast() {
                Ok(w) => model_error(w, &base_model, &args.models),
                Err(e) => e,
            })?
    };
    println!(
        "embedded {} private examples on {} in {:.1} s",
        examples.len(),
        workload.device(),
        t.elapsed().as_secs_f64()
    );

    // Submit, once the join window has closed.
    let r = dev.after(round.join_end).await?;
    let (round, c) = config(&r)?;
    if is_final(&round.status) {
        bail!("round {} {}: {}", args.round, round.status, round.reason);
    }
    if dev.state.phase < Phase::Submitted {
        let submitted = dev.me(&r).is_some_and(|m| m.submitted);
        if !submitted {
            if round.status != deai_rounds::STATUS_SUBMITTING {
                bail!(
                    "round {} is {}: its submit window closed at height {}",
                    args.round,
                    round.status,
                    round.submit_end
                );
            }
            let head = parent_head(&dev.client, c).await?;
            let view = RoundView::from_query(&r, head)?;
            let mut seed = secret32(&dev.state.noise_seed, "noise seed")?;
            let t = Instant::now();
            let prepared = contributor.prepare(&view, &examples, seed)?;
            seed.zeroize();
            let prep = t.elapsed();
            if let Some(out) = &args.update_out {
                std::fs::write(out, serde_json::to_vec(&prepared.noised)?)
                    .with_context(|| format!("writing {}", out.display()))?;
            }
            let msg = any(deai_rounds::MSG_SUBMIT_UPDATE_TYPE_URL, &prepared.msg);
            let (height, gas_used, bytes) = dev.send(msg, "submitting the update").await?;
            println!(
                "submitted round {}: {} masked words and {} seed commitments (prepared in {} ms), tx {bytes} bytes at height {height}, gas {gas_used}",
                args.round,
                prepared.noised.len(),
                view.contributors.len().saturating_sub(1),
                prep.as_millis()
            );
        } else {
            println!(
                "round {}: the chain already holds this device's update",
                args.round
            );
        }
        dev.state.phase = Phase::Submitted;
        dev.save()?;
    }

    // Reveal, once the submit window has closed, if a peer dropped.
    let r = dev.after(round.submit_end).await?;
    let (round, _) = config(&r)?;
    if dev.state.phase < Phase::Revealed {
        if round.status == deai_rounds::STATUS_REVEALING {
            let view = RoundView::from_query(
                &r,
                vec![0; deai_rounds::params::words(round.config.as_ref().map_or(0, |c| c.classes))],
            )?;
            let msg = contributor.reveal_dropped(&view)?;
            let dropped = msg.seeds.len();
            if dropped > 0 {
                let m = any(deai_rounds::MSG_REVEAL_SEEDS_TYPE_URL, &msg);
                let (height, _, bytes) = dev.send(m, "revealing seeds").await?;
                println!(
                    "revealed the seeds shared with {dropped} dropped peer(s) in round {}: tx {bytes} bytes at height {height}",
                    args.round
                );
            }
        } else {
            println!(
                "round {}: every contributor submitted, nothing to reveal",
                args.round
            );
        }
        dev.state.phase = Phase::Revealed;
        dev.save()?;
    }

    // Outcome.
    let mut r = r;
    let mut said_evaluating = false;
    loop {
        let (round, _) = config(&r)?;
        if is_final(&round.status) {
            break;
        }
        let end = match round.status.as_str() {
            deai_rounds::STATUS_REVEALING => round.reveal_end,
            // The compute market's jobs decide: look again each block.
            deai_rounds::STATUS_EVALUATING => {
                if !said_evaluating {
                    println!(
                        "round {}: evaluating in the compute market (classify jobs {} and {})",
                        round.id, round.parent_eval_job, round.new_eval_job
                    );
                    said_evaluating = true;
                }
                dev.height().await?
            }
            _ => round.submit_end,
        };
        r = dev.after(end).await?;
    }
    let (round, _) = config(&r)?;
    if round.status != deai_rounds::STATUS_ACCEPTED {
        bail!(
            "round {} {}: {} ({} of {} joined submitted)",
            round.id,
            round.status,
            round.reason,
            round.submitted,
            round.joined
        );
    }
    let eps = round.epsilon_micro;
    let evaluated = if round.new_eval_job == 0 {
        "on chain".to_string()
    } else {
        format!("by classify jobs, {}udeai", round.eval_spent)
    };
    println!(
        "round {} ACCEPTED: version {}, eval {}/{} (parent {}/{}, {evaluated}), epsilon {}.{:06} at delta 1e-6, paid {}udeai each to {} contributors, {:.1} s in all",
        round.id,
        round.new_version,
        round.new_correct,
        round.eval_count,
        round.parent_correct,
        round.eval_count,
        eps / 1_000_000,
        eps % 1_000_000,
        round.paid_each,
        round.submitted,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The head the round's update is computed against: zeros for version 0,
/// else the parent version's head from the Lineage query.
async fn parent_head(client: &NodeClient, c: &pb::RoundConfig) -> anyhow::Result<Vec<i32>> {
    let words = deai_rounds::params::words(c.classes);
    if c.parent_version == 0 {
        return Ok(vec![0; words]);
    }
    let l: pb::QueryLineageResponse = client
        .ask(
            LINEAGE_PATH,
            &pb::QueryLineageRequest {
                version: c.parent_version,
            },
        )
        .await
        .with_context(|| format!("reading the parent version {}", c.parent_version))?;
    let head = mask::decode_head(&l.head)
        .filter(|h| h.len() == words)
        .ok_or_else(|| {
            anyhow!(
                "the parent version {}'s head is malformed",
                c.parent_version
            )
        })?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_file_reads_texts_and_labels_and_skips_blank_lines() {
        let d = parse_data(
            b"{\"text\": \"a goal\", \"label\": 1}\n\n{\"label\": 0, \"text\": \"rain\"}\n",
        )
        .unwrap();
        assert_eq!(
            d,
            vec![
                Labelled {
                    text: "a goal".into(),
                    label: 1
                },
                Labelled {
                    text: "rain".into(),
                    label: 0
                }
            ]
        );
    }

    #[test]
    fn a_bad_data_file_is_refused_with_its_line() {
        for (bytes, want) in [
            (&b"{\"text\": \"x\", \"label\": 16}"[..], "line 1: label 16"),
            (b"{\"text\": \"x\", \"label\": -1}", "line 1"),
            (b"\n{\"text\": \"x\"}", "line 2"),
            (b"{\"text\": \"x\", \"label\": 1, \"extra\": 2}", "line 1"),
            (b"{\"text\": \"  \", \"label\": 1}", "empty"),
            (b"", "no examples"),
        ] {
            let e = format!("{:#}", parse_data(bytes).unwrap_err());
            assert!(e.contains(want), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let long = format!(
            "{{\"text\": \"{}\", \"label\": 0}}",
            "a".repeat(MAX_TEXT_BYTES + 1)
        );
        assert!(format!("{:#}", parse_data(long.as_bytes()).unwrap_err()).contains("more than"));
        let huge = vec![b'a'; MAX_LINE_BYTES + 1];
        assert!(format!("{:#}", parse_data(&huge).unwrap_err()).contains("longer than"));
        let many = "{\"text\": \"x\", \"label\": 0}\n".repeat(MAX_EXAMPLES + 1);
        assert!(format!("{:#}", parse_data(many.as_bytes()).unwrap_err())
            .contains("more than 10000 examples"));
    }
}
