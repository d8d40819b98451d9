//! `deaid tx compute …` and `deaid query compute …`: registering and bonding
//! compute providers, submitting jobs, committing and revealing results
//! (with the commitment's salt kept under `<home>/compute/salts/` between
//! the two), and the queries that show jobs, results, providers, models and
//! parameters.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use cosmos_sdk_proto::Any;
use deai_app::home::Home;
use deai_client::{salt_store, tx::any, NodeClient};
use deai_compute_module::{
    record::{commitment, sha3, Hash},
    ComputeParams, JobStatus, Kind, Msg,
};
use deai_proto::compute::v1 as pb;
use deai_types::{Address, Coin, BASE_DENOM};
use prost::Message;
use rand::RngCore;

use crate::{
    govcli::{list_text, params_text},
    protojson::{ask, Answer},
    txcli::{sign_and_broadcast, Included, TxFlags},
    NodeArgs,
};

/// Compute-market transactions.
#[derive(Subcommand)]
pub enum ComputeTxCmd {
    /// Register the signer as a compute provider, bonding BOND (e.g. 1000000000udeai).
    RegisterProvider {
        /// The opening bond, udeai (at least the min_provider_bond parameter).
        bond: String,
        /// A free-text description of the device, e.g. "RTX 4090, 24 GiB".
        #[arg(long, default_value = "")]
        device: String,
        /// The provider's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Add AMOUNT udeai to the signer's provider bond.
    Bond {
        /// udeai to add, e.g. 500000000udeai.
        amount: String,
        /// The provider's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Run evaluation suite SUITE on its model: a classify job of the suite's probe
    /// head over its texts, paid by the signer like any job; when it settles with an
    /// agreed answer, its score becomes the model's latest evaluation on the suite
    /// (see `query compute model`).
    RunSuite {
        /// The suite's id (see `query compute suites`).
        suite: u64,
        /// How many providers run it (at least 3; a strict majority must agree).
        #[arg(long, default_value_t = 3)]
        replication: u32,
        /// udeai paid to each provider whose result is final: at least
        /// min_price_per_work_unit per work unit of the suite's texts.
        #[arg(long)]
        price: String,
        /// The requester's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Start withdrawing AMOUNT udeai of the signer's bond (paid after the unbonding period).
    Unbond {
        /// udeai to withdraw.
        amount: String,
        /// The provider's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Submit a job; price × replication udeai are escrowed until it settles.
    /// The chain refuses an input no provider can run, a price below
    /// min_price_per_work_unit × the job's work units, and a replication
    /// above the providers eligible now.
    SubmitJob {
        /// The workload: gemm-i8 (built-in kernel; the input is a DGM1 header,
        /// then A and B as int8), embed (needs --model; non-empty UTF-8 text)
        /// or classify (needs --model; a DCL1 header, a head, then texts as
        /// for embed). infer jobs are refused: no compute node runs them yet.
        #[arg(long)]
        kind: String,
        /// The registered model's id (64 hex digits), for embed and classify.
        #[arg(long)]
        model: Option<String>,
        /// Read the input bytes from this file.
        #[arg(long, conflicts_with = "input_hex")]
        input_file: Option<PathBuf>,
        /// The input bytes as hex.
        #[arg(long)]
        input_hex: Option<String>,
        /// How many providers run it (a strict majority must agree). Rewards
        /// are minted to the providers only for R ≥ 3; with R = 1 or 2 they
        /// are paid the price alone.
        #[arg(long, default_value_t = 1)]
        replication: u32,
        /// udeai paid to each provider whose result is final, e.g. 1000udeai:
        /// at least min_price_per_work_unit per work unit (a gemm-i8 unit is
        /// 2^20 multiply-adds, an embed unit 512 bytes of text up to 4096).
        #[arg(long)]
        price: String,
        /// The height by which the job must settle, or be refused at
        /// submission or refunded: it shortens the job's windows, never
        /// lengthens them past the params' (see `query compute params`).
        #[arg(long, value_name = "HEIGHT", value_parser = clap::value_parser!(u64).range(1..))]
        deadline: Option<u64>,
        /// The requester's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Embed texts with a registered model: one embed job for all of them, paid by the
    /// signer; waits for the providers' quorum and prints the embeddings (the verified
    /// integers times 2^-15), checked against the result hash the majority revealed.
    Embed {
        /// The texts (at most 256, 64 KiB in all).
        #[arg(required = true)]
        texts: Vec<String>,
        /// The registered model's id (64 hex digits).
        #[arg(long)]
        model: String,
        /// How many providers run it (a strict majority must agree).
        #[arg(long, default_value_t = 3)]
        replication: u32,
        /// udeai per provider (default: min_price_per_work_unit × the job's work units).
        #[arg(long)]
        price: Option<String>,
        /// The height by which the job must settle, or be refunded.
        #[arg(long, value_name = "HEIGHT", value_parser = clap::value_parser!(u64).range(1..))]
        deadline: Option<u64>,
        /// Longest wait for the job to settle, in seconds.
        #[arg(long, default_value_t = 300)]
        wait: u64,
        /// The requester's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Commit to a result of an assigned job. A random salt is drawn and
    /// saved under <home>/compute/salts/ for `reveal`.
    Commit {
        /// The job id.
        job_id: u64,
        /// The result's SHA3-256, 64 hex digits.
        #[arg(long, required_unless_present = "output_file")]
        result_hash: Option<String>,
        /// The output file: its SHA3-256 is the result hash, and `reveal`
        /// publishes its bytes with the result.
        #[arg(long, conflicts_with = "result_hash")]
        output_file: Option<PathBuf>,
        /// Use this salt (hex, 1 to 64 bytes) instead of a random one.
        #[arg(long)]
        salt: Option<String>,
        /// The provider's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Reveal the result committed to with `commit` (read back from
    /// <home>/compute/salts/, or given with --result-hash and --salt).
    Reveal {
        /// The job id.
        job_id: u64,
        /// The result hash, when it was not committed from this home.
        #[arg(long, requires = "salt")]
        result_hash: Option<String>,
        /// The commitment's salt (hex), when it was not committed from this home.
        #[arg(long, requires = "result_hash")]
        salt: Option<String>,
        /// Publish these output bytes with the result (their SHA3-256 must be the result hash).
        #[arg(long)]
        output_file: Option<PathBuf>,
        /// The provider's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Compute-market queries.
#[derive(Subcommand)]
pub enum ComputeQueryCmd {
    /// Jobs in id order, optionally of one status.
    Jobs {
        /// pending, assigned, finalized, disputed or expired.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// One job, with its assignments.
    Job {
        /// The job id.
        id: u64,
    },
    /// A job's final result.
    Result {
        /// The job id.
        id: u64,
    },
    /// Registered providers.
    Providers,
    /// One provider.
    Provider {
        /// A deai1… address.
        address: Address,
    },
    /// Registered models.
    Models,
    /// One registered model and its lineage: the private data rounds run on
    /// it (ε at δ = 10⁻⁶, evaluations, heights) and the versions they made,
    /// each with its parent back to the base.
    Model {
        /// The model's id (64 hex digits).
        id: String,
    },
    /// The evaluation suites governance registered.
    Suites,
    /// The compute parameters.
    Params,
}

/// Parses an amount of udeai: `1000` or `1000udeai`.
pub fn parse_udeai(s: &str, what: &str) -> anyhow::Result<u128> {
    let digits = s.trim().strip_suffix(BASE_DENOM).unwrap_or(s.trim());
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{what} {s:?}: give an amount of {BASE_DENOM}, e.g. 1000{BASE_DENOM}");
    }
    let v = Coin::parse_amount(digits).with_context(|| format!("{what} {s:?}"))?;
    if v == 0 {
        bail!("{what} must be positive");
    }
    Ok(v)
}

/// Parses hex (an optional `0x` prefix allowed).
pub fn parse_hex(s: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(s.trim().trim_start_matches("0x"))
        .map_err(|e| anyhow!("{what} {s:?} is not valid hex: {e}"))
}

/// Parses a 32-byte hash written as 64 hex digits.
pub fn parse_hash(s: &str, what: &str) -> anyhow::Result<Hash> {
    let bytes = parse_hex(s, what)?;
    Hash::try_from(bytes.as_slice()).map_err(|_| {
        anyhow!(
            "{what} must be 32 bytes (64 hex digits), got {}",
            bytes.len()
        )
    })
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading the {what} {}", path.display()))
}

/// Packs a compute message and runs the module's stateless checks on it, so
/// malformed input is refused before anything is signed or broadcast.
fn checked<M: Message>(type_url: &str, m: &M) -> anyhow::Result<Any> {
    let a = any(type_url, m);
    Msg::from_any(&a).map_err(|e| anyhow!("{e}"))?;
    Ok(a)
}

/// What `commit` saves for `reveal`: the result, the salt, and the output
/// bytes if the result came from a file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedCommitment {
    /// The job id.
    pub job_id: u64,
    /// The provider (bech32).
    pub provider: String,
    /// The result hash, hex.
    pub result_hash: String,
    /// The salt, hex.
    pub salt: String,
    /// The commitment published, hex.
    pub commitment: String,
    /// The output bytes to reveal, hex (empty: none).
    #[serde(default)]
    pub output: String,
}

/// Where the commitment of `provider` to job `job_id` is kept.
pub fn salt_path(home: &Home, job_id: u64, provider: &Address) -> PathBuf {
    home.0
        .join("compute")
        .join("salts")
        .join(format!("{job_id}-{provider}.json"))
}

fn load_saved(path: &Path) -> anyhow::Result<Option<SavedCommitment>> {
    Ok(salt_store::load(path, salt_store::MAX_BYTES)?)
}

/// Saved through the client's salt store: owner-only from creation, replaced atomically.
fn save(path: &Path, saved: &SavedCommitment) -> anyhow::Result<()> {
    Ok(salt_store::save(path, saved)?)
}

fn kind_of(s: &str) -> anyhow::Result<Kind> {
    Kind::parse(s).map_err(|e| anyhow!("--kind: {e}"))
}

fn text_mode(flags: &TxFlags) -> bool {
    flags.node.output == "text"
}

fn say(text: bool, r: &Option<Included>, line: impl FnOnce(&Included) -> String) {
    if let (true, Some(r)) = (text, r) {
        println!("{}", line(r));
    }
}

/// Runs a compute transaction command.
pub async fn compute_tx(home: &Home, cmd: ComputeTxCmd) -> anyhow::Result<()> {
    match cmd {
        ComputeTxCmd::RegisterProvider {
            bond,
            device,
            from,
            flags,
        } => {
            let bond = parse_udeai(&bond, "bond")?;
            let text = text_mode(&flags);
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("register as a compute provider bonding {bond}{BASE_DENOM}"),
                |a| {
                    Ok(vec![checked(
                        deai_compute_module::MSG_REGISTER_PROVIDER_TYPE_URL,
                        &pb::MsgRegisterProvider {
                            provider: a.to_bech32(),
                            bond: bond.to_string(),
                            device: device.clone(),
                        },
                    )?])
                },
            )
            .await?;
            say(text, &r, |r| {
                format!(
                    "provider {} registered with bond {}{BASE_DENOM}",
                    r.attr("compute_provider_registered", "provider")
                        .unwrap_or_default(),
                    r.attr("compute_provider_registered", "bond")
                        .unwrap_or_default()
                )
            });
        }
        ComputeTxCmd::Bond {
            amount,
            from,
            flags,
        } => {
            let amount = parse_udeai(&amount, "amount")?;
            let text = text_mode(&flags);
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("add {amount}{BASE_DENOM} to the provider bond"),
                |a| {
                    Ok(vec![checked(
                        deai_compute_module::MSG_BOND_TYPE_URL,
                        &pb::MsgBond {
                            provider: a.to_bech32(),
                            amount: amount.to_string(),
                        },
                    )?])
                },
            )
            .await?;
            say(text, &r, |r| {
                format!(
                    "bond is now {}{BASE_DENOM}",
                    r.attr("compute_provider_bonded", "bond")
                        .unwrap_or_default()
                )
            });
        }
        ComputeTxCmd::RunSuite {
            suite,
            replication,
            price,
            from,
            flags,
        } => {
            let price = parse_udeai(&price, "--price")?;
            let text = text_mode(&flags);
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("run evaluation suite {suite}"),
                |a| {
                    Ok(vec![checked(
                        deai_compute_module::MSG_RUN_EVAL_SUITE_TYPE_URL,
                        &pb::MsgRunEvalSuite {
                            requester: a.to_bech32(),
                            suite_id: suite,
                            replication,
                            price_per_replica: price.to_string(),
                        },
                    )?])
                },
            )
            .await?;
            say(text, &r, |r| {
                format!(
                    "suite {suite} runs as job {}; its score is recorded when the job settles",
                    r.attr("compute_job_submitted", "job_id")
                        .unwrap_or_default()
                )
            });
        }
        ComputeTxCmd::Unbond {
            amount,
            from,
            flags,
        } => {
            let amount = parse_udeai(&amount, "amount")?;
            let text = text_mode(&flags);
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("withdraw {amount}{BASE_DENOM} of the provider bond"),
                |a| {
                    Ok(vec![checked(
                        deai_compute_module::MSG_UNBOND_TYPE_URL,
                        &pb::MsgUnbond {
                            provider: a.to_bech32(),
                            amount: amount.to_string(),
                        },
                    )?])
                },
            )
            .await?;
            say(text, &r, |r| {
                format!(
                    "unbonding {amount}{BASE_DENOM}, paid out at height {}",
                    r.attr("compute_provider_unbonding", "completion_height")
                        .unwrap_or_default()
                )
            });
        }
        ComputeTxCmd::SubmitJob {
            kind,
            model,
            input_file,
            input_hex,
            replication,
            price,
            deadline,
            from,
            flags,
        } => {
            let kind = kind_of(&kind)?;
            let input = match (&input_file, &input_hex) {
                (Some(f), None) => read_file(f, "input file")?,
                (None, Some(h)) => parse_hex(h, "--input-hex")?,
                (None, None) => bail!("give the input with --input-file FILE or --input-hex HEX"),
                (Some(_), Some(_)) => bail!("give --input-file or --input-hex, not both"),
            };
            let price = parse_udeai(&price, "--price")?;
            let escrow = price
                .checked_mul(u128::from(replication))
                .ok_or_else(|| anyhow!("--price × --replication overflows"))?;
            let input_hash = sha3(&[&input]);
            let text = text_mode(&flags);
            let describe = format!(
                "submit a {} job on {} input bytes (SHA3-256 {}), {replication} replicas at {price}{BASE_DENOM}, escrowing {escrow}{BASE_DENOM}{}",
                kind.as_str(),
                input.len(),
                hex::encode(input_hash),
                deadline
                    .map(|d| format!(", to settle by height {d}"))
                    .unwrap_or_default()
            );
            let r = sign_and_broadcast(home, &from, flags, &describe, |a| {
                Ok(vec![checked(
                    deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
                    &pb::MsgSubmitJob {
                        requester: a.to_bech32(),
                        kind: kind.as_str().to_string(),
                        model_id: model.clone().unwrap_or_default(),
                        input,
                        input_hash: input_hash.to_vec(),
                        replication,
                        price_per_replica: price.to_string(),
                        deadline: deadline.unwrap_or(0),
                    },
                )?])
            })
            .await?;
            say(text, &r, |r| {
                format!(
                    "job {}  {} R={replication}  escrow {}{BASE_DENOM}  input {}{}",
                    r.attr("compute_job_submitted", "job_id")
                        .unwrap_or_default(),
                    kind.as_str(),
                    r.attr("compute_job_submitted", "escrow")
                        .unwrap_or_default(),
                    hex::encode(input_hash),
                    deadline
                        .map(|d| format!("  deadline {d}"))
                        .unwrap_or_default()
                )
            });
        }
        ComputeTxCmd::Embed {
            texts,
            model,
            replication,
            price,
            deadline,
            wait,
            from,
            flags,
        } => {
            embed(
                home,
                texts,
                model,
                replication,
                price,
                deadline,
                wait,
                from,
                flags,
            )
            .await?
        }
        ComputeTxCmd::Commit {
            job_id,
            result_hash,
            output_file,
            salt,
            from,
            flags,
        } => {
            let (result_hash, output) = match (&result_hash, &output_file) {
                (Some(h), None) => (parse_hash(h, "--result-hash")?, Vec::new()),
                (None, Some(f)) => {
                    let out = read_file(f, "output file")?;
                    (sha3(&[&out]), out)
                }
                _ => bail!("give --result-hash HEX or --output-file FILE"),
            };
            let given_salt = salt
                .as_deref()
                .map(|s| parse_hex(s, "--salt"))
                .transpose()?;
            if let Some(s) = &given_salt {
                if s.is_empty() || s.len() > deai_compute_module::msg::MAX_SALT_BYTES {
                    bail!(
                        "--salt must be 1 to {} bytes",
                        deai_compute_module::msg::MAX_SALT_BYTES
                    );
                }
            }
            let text = text_mode(&flags);
            let mut saved_at = None;
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!(
                    "commit to result {} for job {job_id}",
                    hex::encode(result_hash)
                ),
                |a| {
                    let path = salt_path(home, job_id, a);
                    // A retry of the same result reuses the saved salt; a
                    // different result must not overwrite the salt of a
                    // commitment that may already be on chain.
                    let salt = match load_saved(&path)? {
                        Some(prev) if prev.result_hash == hex::encode(result_hash) => {
                            parse_hex(&prev.salt, "the saved salt")?
                        }
                        Some(prev) => bail!(
                            "{} holds a commitment to result {} for job {job_id}; \
                             remove it to commit to another result",
                            path.display(),
                            prev.result_hash
                        ),
                        None => given_salt.clone().unwrap_or_else(|| {
                            let mut s = vec![0u8; 32];
                            rand::rngs::OsRng.fill_bytes(&mut s);
                            s
                        }),
                    };
                    let c = commitment(&result_hash, a, &salt);
                    let msg = checked(
                        deai_compute_module::MSG_COMMIT_RESULT_TYPE_URL,
                        &pb::MsgCommitResult {
                            provider: a.to_bech32(),
                            job_id,
                            commitment: c.to_vec(),
                        },
                    )?;
                    // Saved before broadcasting: a commitment whose salt
                    // were lost could never be revealed.
                    save(
                        &path,
                        &SavedCommitment {
                            job_id,
                            provider: a.to_bech32(),
                            result_hash: hex::encode(result_hash),
                            salt: hex::encode(&salt),
                            commitment: hex::encode(c),
                            output: hex::encode(&output),
                        },
                    )?;
                    saved_at = Some(path);
                    Ok(vec![msg])
                },
            )
            .await?;
            if let (true, Some(_), Some(p)) = (text, &r, &saved_at) {
                println!(
                    "committed to result {} for job {job_id}; salt saved in {}",
                    hex::encode(result_hash),
                    p.display()
                );
            }
        }
        ComputeTxCmd::Reveal {
            job_id,
            result_hash,
            salt,
            output_file,
            from,
            flags,
        } => {
            let given = match (&result_hash, &salt) {
                (Some(h), Some(s)) => {
                    Some((parse_hash(h, "--result-hash")?, parse_hex(s, "--salt")?))
                }
                _ => None,
            };
            let file_output = output_file
                .as_deref()
                .map(|f| read_file(f, "output file"))
                .transpose()?;
            let text = text_mode(&flags);
            let mut revealed = None;
            let r = sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("reveal the result of job {job_id}"),
                |a| {
                    let (hash, salt, saved_output) = match &given {
                        Some((h, s)) => (*h, s.clone(), Vec::new()),
                        None => {
                            let path = salt_path(home, job_id, a);
                            let saved = load_saved(&path)?.ok_or_else(|| {
                                anyhow!(
                                    "no commitment to job {job_id} by {a} is saved in {}; \
                                     give --result-hash and --salt",
                                    path.display()
                                )
                            })?;
                            (
                                parse_hash(&saved.result_hash, "the saved result hash")?,
                                parse_hex(&saved.salt, "the saved salt")?,
                                parse_hex(&saved.output, "the saved output")?,
                            )
                        }
                    };
                    let output = file_output.clone().unwrap_or(saved_output);
                    revealed = Some(hash);
                    Ok(vec![checked(
                        deai_compute_module::MSG_REVEAL_RESULT_TYPE_URL,
                        &pb::MsgRevealResult {
                            provider: a.to_bech32(),
                            job_id,
                            result_hash: hash.to_vec(),
                            salt,
                            output,
                        },
                    )?])
                },
            )
            .await?;
            if let (true, Some(r), Some(h)) = (text, &r, revealed) {
                println!("revealed result {} for job {job_id}", hex::encode(h));
                if let Some(status) = r.attr("compute_job_settled", "status") {
                    println!("job {job_id} settled: {status}");
                }
            }
        }
    }
    Ok(())
}

/// The canonical tensor encoding's domain tag (`deai_compute::hash::HASH_DOMAIN`): an
/// embed job's output is this, the element tag 0x04 (int32), rows and columns as u64
/// little-endian, then the int32 elements little-endian, row-major.
const TENSOR_DOMAIN: &[u8; 16] = b"deai-tensor-v1\0\0";

/// The rows of an embed job's output, or `None` if the bytes are not an int32 matrix.
pub fn embedding_rows(output: &[u8]) -> Option<Vec<Vec<i32>>> {
    let rest = output.strip_prefix(TENSOR_DOMAIN.as_slice())?;
    let rest = rest.strip_prefix(&[0x04u8][..])?;
    let (rows, rest) = rest.split_at_checked(8)?;
    let (cols, data) = rest.split_at_checked(8)?;
    let rows = usize::try_from(u64::from_le_bytes(rows.try_into().ok()?)).ok()?;
    let cols = usize::try_from(u64::from_le_bytes(cols.try_into().ok()?)).ok()?;
    if cols == 0 || data.len() != rows.checked_mul(cols)?.checked_mul(4)? {
        return None;
    }
    Some(
        data.chunks_exact(cols.checked_mul(4)?)
            .map(|row| {
                row.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect(),
    )
}

#[allow(clippy::too_many_arguments)]
async fn embed(
    home: &Home,
    texts: Vec<String>,
    model: String,
    replication: u32,
    price: Option<String>,
    deadline: Option<u64>,
    wait: u64,
    from: String,
    flags: TxFlags,
) -> anyhow::Result<()> {
    use deai_compute_module::input::{embed_input_work_units, encode_embed_input};
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let input = encode_embed_input(&refs).map_err(|e| anyhow!("the texts: {e}"))?;
    let work_units = embed_input_work_units(&input).map_err(|e| anyhow!("the texts: {e}"))?;
    let client = NodeClient::new(&flags.node.node)?;
    let price = match price {
        Some(p) => parse_udeai(&p, "--price")?,
        None => {
            let params = client
                .ask::<_, pb::QueryParamsResponse>(
                    deai_compute_module::query::PARAMS_PATH,
                    &pb::QueryParamsRequest {},
                )
                .await?
                .params
                .unwrap_or_default();
            let min: u128 = params.min_price_per_work_unit.parse().unwrap_or(0);
            min.max(1).saturating_mul(u128::from(work_units))
        }
    };
    let input_hash = sha3(&[&input]);
    let json = !text_mode(&flags);
    let describe = format!(
        "embed {} text(s) with model {model} ({work_units} work units), {replication} replicas at {price}{BASE_DENOM}",
        texts.len()
    );
    let r = sign_and_broadcast(home, &from, flags, &describe, |a| {
        Ok(vec![checked(
            deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
            &pb::MsgSubmitJob {
                requester: a.to_bech32(),
                kind: Kind::Embed.as_str().to_string(),
                model_id: model.clone(),
                input,
                input_hash: input_hash.to_vec(),
                replication,
                price_per_replica: price.to_string(),
                deadline: deadline.unwrap_or(0),
            },
        )?])
    })
    .await?;
    let Some(r) = r else { return Ok(()) };
    let job_id: u64 = r
        .attr("compute_job_submitted", "job_id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("the submission landed without a job id"))?;
    if !json {
        eprintln!(
            "job {job_id} submitted at height {}; waiting for the providers' quorum",
            r.height
        );
    }
    let start = std::time::Instant::now();
    let job = loop {
        let job = client
            .ask::<_, pb::QueryJobResponse>(
                deai_compute_module::query::JOB_PATH,
                &pb::QueryJobRequest { job_id },
            )
            .await?
            .job
            .ok_or_else(|| anyhow!("the node returned no job {job_id}"))?;
        let open =
            job.status == JobStatus::Pending as i32 || job.status == JobStatus::Assigned as i32;
        if !open {
            break job;
        }
        if start.elapsed() > std::time::Duration::from_secs(wait) {
            bail!("job {job_id} has not settled after {wait} s; `deaid query compute job {job_id}` shows it");
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    if job.status != JobStatus::Finalized as i32 {
        bail!(
            "job {job_id} ended {} without a quorum of providers: its escrow was refunded",
            status_name(job.status)
        );
    }
    let agreeing: Vec<&str> = job
        .assignments
        .iter()
        .filter(|a| !a.result_hash.is_empty() && a.result_hash == job.result_hash)
        .map(|a| a.provider.as_str())
        .collect();
    if agreeing.len().saturating_mul(2) <= job.replication as usize {
        bail!(
            "job {job_id}: only {} of {} providers revealed the final result",
            agreeing.len(),
            job.replication
        );
    }
    if job.result_hash.as_slice()
        == deai_compute_module::input::invalid_input_result_hash().as_slice()
    {
        bail!("job {job_id}: the providers found the input invalid (the model's tokenizer refused it)");
    }
    let result = hex::encode(&job.result_hash);
    let rows = if job.output.is_empty() {
        None
    } else {
        if sha3(&[&job.output]).as_slice() != job.result_hash.as_slice() {
            bail!("job {job_id}: the output on chain does not hash to its result {result}");
        }
        Some(
            embedding_rows(&job.output)
                .ok_or_else(|| anyhow!("job {job_id}: the output is not an embedding matrix"))?,
        )
    };
    let scale = f64::from(1u32 << 15);
    if json {
        let embeddings: Option<Vec<Vec<f64>>> = rows.as_ref().map(|rows| {
            rows.iter()
                .map(|r| r.iter().map(|&v| f64::from(v) / scale).collect())
                .collect()
        });
        println!(
            "{}",
            serde_json::json!({
                "job_id": job_id,
                "result_hash": result,
                "height": job.settled_height,
                "providers": agreeing,
                "price_per_replica": job.price_per_replica,
                "embeddings": embeddings,
                "embeddings_int": rows,
            })
        );
        return Ok(());
    }
    println!(
        "job {job_id}  finalized at height {}  result {result}",
        job.settled_height
    );
    println!(
        "providers agreeing: {} of {}: {}",
        agreeing.len(),
        job.replication,
        agreeing.join(", ")
    );
    match rows {
        Some(rows) => {
            for (text, row) in texts.iter().zip(&rows) {
                let shown: Vec<String> = row.iter().map(|&v| format!("{}", f64::from(v) / scale)).collect();
                println!("{text:?}: [{}]", shown.join(", "));
            }
            println!("checked: the output's SHA3-256 is the result the majority revealed; `deai-compute verify --job {job_id}` also recomputes it and checks its proof");
        }
        None => println!(
            "the chain holds no output for a batch this large: `deai-compute verify --job {job_id} --models DIR --print` recomputes, checks and prints it"
        ),
    }
    Ok(())
}

fn status_name(status: i32) -> String {
    JobStatus::try_from(status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("JOB_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| format!("unknown({status})"))
}

/// Parses a `--status` name into the query's status number.
pub fn parse_status(s: &str) -> anyhow::Result<i32> {
    JobStatus::from_str_name(&format!("JOB_STATUS_{}", s.to_ascii_uppercase()))
        .filter(|s| *s != JobStatus::Unspecified)
        .map(|s| s as i32)
        .ok_or_else(|| {
            anyhow!("--status {s:?}: use pending, assigned, finalized, disputed or expired")
        })
}

fn job_text(j: &pb::Job) -> String {
    let mut s = format!(
        "job {}  {}  {}{}  R={}  price {}{BASE_DENOM}  escrow {}{BASE_DENOM}  submitted {}",
        j.id,
        status_name(j.status),
        j.kind,
        if j.model_id.is_empty() {
            String::new()
        } else {
            format!(" model {}", j.model_id)
        },
        j.replication,
        j.price_per_replica,
        j.escrow,
        j.submitted_height
    );
    if j.deadline > 0 {
        s.push_str(&format!("  deadline {}", j.deadline));
    }
    if j.assigned_height > 0 {
        s.push_str(&format!(
            "  assigned {}  commit until {}  reveal until {}",
            j.assigned_height, j.commit_deadline, j.reveal_deadline
        ));
    }
    if j.settled_height > 0 {
        s.push_str(&format!("  settled {}", j.settled_height));
    }
    if !j.result_hash.is_empty() {
        s.push_str(&format!("  result {}", hex::encode(&j.result_hash)));
    }
    s
}

fn provider_text(p: &pb::Provider) -> String {
    let mut s = format!(
        "{}  bond {}{BASE_DENOM}  open jobs {}  unbonding {}{BASE_DENOM}",
        p.address, p.bond, p.open_jobs, p.unbonding
    );
    if p.jailed_until > 0 {
        s.push_str(&format!("  jailed until {}", p.jailed_until));
    }
    if !p.device.is_empty() {
        s.push_str(&format!("  {:?}", p.device));
    }
    s
}

/// Runs a compute query.
pub async fn compute_query(node: &NodeArgs, cmd: ComputeQueryCmd) -> anyhow::Result<()> {
    use deai_compute_module::query as q;
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        ComputeQueryCmd::Jobs { status, limit } => {
            let status = status.as_deref().map(parse_status).transpose()?;
            let r: Answer<pb::QueryJobsResponse> = ask(
                &client,
                q::JOBS_PATH,
                &pb::QueryJobsRequest {
                    status: status.unwrap_or(0),
                    pagination: Some(pb::PageRequest {
                        key: Vec::new(),
                        limit,
                    }),
                },
            )
            .await?;
            let text = list_text(r.msg.jobs.iter().map(job_text).collect(), "(no jobs)");
            r.print(out, &text)
        }
        ComputeQueryCmd::Job { id } => {
            let r: Answer<pb::QueryJobResponse> =
                ask(&client, q::JOB_PATH, &pb::QueryJobRequest { job_id: id }).await?;
            let j = r
                .msg
                .job
                .as_ref()
                .ok_or_else(|| anyhow!("job {id} not found"))?;
            let mut text = job_text(j);
            for a in &j.assignments {
                text.push_str(&format!(
                    "\n  {}  {}",
                    a.provider,
                    match (a.commitment.is_empty(), a.result_hash.is_empty()) {
                        (true, _) => "not committed".to_string(),
                        (false, true) => "committed".to_string(),
                        (false, false) => format!("revealed {}", hex::encode(&a.result_hash)),
                    }
                ));
            }
            r.print(out, &text)
        }
        ComputeQueryCmd::Result { id } => {
            // The answer does not repeat the job id; only the text shows it.
            let r: Answer<pb::QueryResultResponse> = ask(
                &client,
                q::RESULT_PATH,
                &pb::QueryResultRequest { job_id: id },
            )
            .await?;
            let status = status_name(r.msg.status);
            let text = if r.msg.result_hash.is_empty() {
                format!("job {id}  {status}  (no final result)")
            } else {
                format!(
                    "job {id}  {status}  result {}{}",
                    hex::encode(&r.msg.result_hash),
                    if r.msg.output.is_empty() {
                        String::new()
                    } else {
                        format!("  output {}", hex::encode(&r.msg.output))
                    }
                )
            };
            r.print(out, &text)
        }
        ComputeQueryCmd::Providers => {
            let r: Answer<pb::QueryProvidersResponse> = ask(
                &client,
                q::PROVIDERS_PATH,
                &pb::QueryProvidersRequest { pagination: None },
            )
            .await?;
            let text = list_text(
                r.msg.providers.iter().map(provider_text).collect(),
                "(no providers)",
            );
            r.print(out, &text)
        }
        ComputeQueryCmd::Provider { address } => {
            let r: Answer<pb::QueryProviderResponse> = ask(
                &client,
                q::PROVIDER_PATH,
                &pb::QueryProviderRequest {
                    address: address.to_bech32(),
                },
            )
            .await?;
            let p = r
                .msg
                .provider
                .as_ref()
                .ok_or_else(|| anyhow!("{address} is not a provider"))?;
            r.print(out, &provider_text(p))
        }
        ComputeQueryCmd::Model { id } => crate::roundscli::model_query(node, &id).await,
        ComputeQueryCmd::Models => {
            let r: Answer<pb::QueryModelsResponse> = ask(
                &client,
                q::MODELS_PATH,
                &pb::QueryModelsRequest { pagination: None },
            )
            .await?;
            let text = list_text(
                r.msg
                    .models
                    .iter()
                    .map(|m| {
                        format!(
                            "{}  {}  {} {}  {}  {} bytes",
                            m.id, m.name, m.architecture, m.quantization, m.license, m.size_bytes
                        )
                    })
                    .collect(),
                "(no models)",
            );
            r.print(out, &text)
        }
        ComputeQueryCmd::Suites => {
            let r: Answer<pb::QueryEvalSuitesResponse> = ask(
                &client,
                q::EVAL_SUITES_PATH,
                &pb::QueryEvalSuitesRequest { pagination: None },
            )
            .await?;
            let text = list_text(
                r.msg
                    .suites
                    .iter()
                    .map(|s| {
                        format!(
                            "suite {}  {}  model {}  {} texts, {} classes  pass {}%  {}  hash {}",
                            s.id,
                            s.name,
                            s.model_id,
                            s.labels.len(),
                            s.classes,
                            f64::from(s.pass_ppm) / 10_000.0,
                            if s.required { "required" } else { "optional" },
                            hex::encode(&s.hash)
                        )
                    })
                    .collect(),
                "(no evaluation suites)",
            );
            r.print(out, &text)
        }
        ComputeQueryCmd::Params => {
            let r: Answer<pb::QueryParamsResponse> =
                ask(&client, q::PARAMS_PATH, &pb::QueryParamsRequest {}).await?;
            let p = ComputeParams::from_proto(&r.msg.params.clone().unwrap_or_default())
                .map_err(|e| anyhow!("the node's compute params: {e}"))?;
            r.print(out, &params_text(&p)?)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn amounts_parse_with_or_without_the_denom_and_must_be_positive() {
        assert_eq!(parse_udeai("1000", "x").unwrap(), 1000);
        assert_eq!(parse_udeai("1000udeai", "x").unwrap(), 1000);
        assert!(parse_udeai("0udeai", "x").is_err());
        assert!(parse_udeai("10uatom", "x").is_err());
        assert!(parse_udeai("-5", "x").is_err());
    }

    #[test]
    fn hashes_must_be_64_hex_digits() {
        assert!(parse_hash(&"ab".repeat(32), "h").is_ok());
        assert!(parse_hash(&format!("0x{}", "ab".repeat(32)), "h").is_ok());
        let e = parse_hash("abcd", "--result-hash").unwrap_err().to_string();
        assert!(e.contains("32 bytes"), "{e}");
        let e = parse_hash("zz", "--result-hash").unwrap_err().to_string();
        assert!(e.contains("not valid hex"), "{e}");
    }

    #[test]
    fn status_names_map_to_job_statuses() {
        assert_eq!(
            parse_status("finalized").unwrap(),
            JobStatus::Finalized as i32
        );
        assert_eq!(parse_status("PENDING").unwrap(), JobStatus::Pending as i32);
        assert!(parse_status("unspecified").is_err());
        assert!(parse_status("done").is_err());
    }

    #[test]
    fn a_saved_commitment_is_found_again_and_its_salt_opens_the_commitment() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::new(dir.path());
        let provider = deai_client::tx::Key::from_label("p").address();
        let path = salt_path(&home, 7, &provider);
        let hash = sha3(&[b"out"]);
        let salt = vec![9u8; 32];
        let saved = SavedCommitment {
            job_id: 7,
            provider: provider.to_bech32(),
            result_hash: hex::encode(hash),
            salt: hex::encode(&salt),
            commitment: hex::encode(commitment(&hash, &provider, &salt)),
            output: String::new(),
        };
        save(&path, &saved).unwrap();
        let back = load_saved(&path).unwrap().unwrap();
        assert_eq!(back, saved);
        assert_eq!(
            hex::encode(commitment(
                &parse_hash(&back.result_hash, "h").unwrap(),
                &provider,
                &parse_hex(&back.salt, "s").unwrap()
            )),
            back.commitment
        );
        assert!(load_saved(&salt_path(&home, 8, &provider))
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_embed_output_decodes_to_its_rows_and_anything_else_does_not() {
        let mut out = TENSOR_DOMAIN.to_vec();
        out.push(0x04);
        out.extend_from_slice(&2u64.to_le_bytes());
        out.extend_from_slice(&2u64.to_le_bytes());
        for v in [1i32, -2, 32768, i32::MIN] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        assert_eq!(
            embedding_rows(&out).unwrap(),
            vec![vec![1, -2], vec![32768, i32::MIN]]
        );
        assert!(embedding_rows(&out[..out.len() - 1]).is_none());
        let mut int8 = out.clone();
        int8[16] = 0x01;
        assert!(embedding_rows(&int8).is_none());
        assert!(embedding_rows(deai_compute_module::input::INVALID_INPUT_OUTPUT).is_none());
        // Rows that would overflow the length are refused, not allocated.
        let mut huge = out[..17].to_vec();
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(embedding_rows(&huge).is_none());
    }
}
