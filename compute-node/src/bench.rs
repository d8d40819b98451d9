//! Throughput of gemm-i8 and of whole sentence embeddings: the Vulkan executor against the
//! single-threaded Rust reference.

use std::{fmt, str::FromStr, time::Instant};

use crate::{
    encoder::{IntEncoder, Reference, Tokens},
    gemm::{check_output, K_MAX},
    gemm_i8_reference, random_i8_matrix, result_hash, ComputeError, Executor, GemmPath, Matrix,
    VulkanEncoder,
};

/// Most int8 of `A` and `Bt` together that a bench or `gemm` size may generate: 1 GiB,
/// far above the default sizes (66 MB) and below what would exhaust a node's memory.
pub const MAX_OPERAND_BYTES: usize = 1 << 30;

/// One gemm-i8 problem size, written `MxNxK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmSize {
    /// Rows of A and C.
    pub m: usize,
    /// Columns of C (rows of Bt).
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
}

impl GemmSize {
    /// Checks that this size can be generated and run: every dimension at least 1,
    /// `k <=` [`K_MAX`], the result within [`crate::gemm::MAX_OUTPUT_ELEMENTS`] and the
    /// operands within [`MAX_OPERAND_BYTES`], so nothing is sized beyond those bounds.
    pub fn check(&self) -> Result<(), ComputeError> {
        let Self { m, n, k } = *self;
        if m == 0 || n == 0 || k == 0 {
            return Err(ComputeError::Shape(format!(
                "size {self}: every dimension must be at least 1"
            )));
        }
        if k > K_MAX {
            return Err(ComputeError::KTooLarge { k, max: K_MAX });
        }
        check_output(m, n)?;
        let operands = m
            .checked_add(n)
            .and_then(|rows| rows.checked_mul(k))
            .filter(|&bytes| bytes <= MAX_OPERAND_BYTES);
        if operands.is_none() {
            return Err(ComputeError::Shape(format!(
                "size {self}: A and Bt would exceed {MAX_OPERAND_BYTES} bytes"
            )));
        }
        Ok(())
    }

    /// Integer operations of one product, counting a multiply-add as two: `2 m n k`.
    pub fn ops(&self) -> f64 {
        2.0 * self.m as f64 * self.n as f64 * self.k as f64
    }
}

impl fmt::Display for GemmSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.m, self.n, self.k)
    }
}

impl FromStr for GemmSize {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('x').collect();
        let [m, n, k] = parts.as_slice() else {
            return Err(format!("size `{s}` is not of the form MxNxK"));
        };
        let p = |v: &str| match v.trim().parse::<usize>() {
            Ok(0) => Err(format!("size `{s}`: every dimension must be at least 1")),
            Ok(n) => Ok(n),
            Err(e) => Err(format!("size `{s}`: `{v}` is not a count ({e})")),
        };
        let size = Self {
            m: p(m)?,
            n: p(n)?,
            k: p(k)?,
        };
        size.check().map_err(|e| format!("size `{s}`: {e}"))?;
        Ok(size)
    }
}

/// The default bench sizes; the last is one projection of a 7B-class model's MLP
/// (4096 tokens, 512 outputs, k = 14336).
pub const DEFAULT_SIZES: &[GemmSize] = &[
    GemmSize {
        m: 256,
        n: 256,
        k: 256,
    },
    GemmSize {
        m: 1024,
        n: 512,
        k: 2048,
    },
    GemmSize {
        m: 4096,
        n: 512,
        k: 14336,
    },
];

/// Sizes of `bench --quick`.
pub const QUICK_SIZES: &[GemmSize] = &[
    GemmSize {
        m: 256,
        n: 256,
        k: 256,
    },
    GemmSize {
        m: 512,
        n: 512,
        k: 1024,
    },
];

/// Measured throughput at one size.
#[derive(Clone, Debug)]
pub struct BenchRow {
    /// The problem size.
    pub size: GemmSize,
    /// The shader variant that ran.
    pub path: GemmPath,
    /// Best wall time of one Vulkan gemm-i8 call (packing, upload, dispatch, readback), s.
    pub vulkan_secs: f64,
    /// Best wall time of one reference call, s.
    pub reference_secs: f64,
    /// Whether both produced the same result hash.
    pub hashes_match: bool,
    /// Mean CPU time of this process (all threads, so lavapipe's workers too) per Vulkan
    /// call, s; `None` where `/proc/self/stat` is unavailable.
    pub vulkan_cpu_secs: Option<f64>,
    /// Mean CPU time per reference call, s.
    pub reference_cpu_secs: Option<f64>,
}

impl BenchRow {
    /// Vulkan throughput, GOP/s.
    pub fn vulkan_gops(&self) -> f64 {
        self.size.ops() / self.vulkan_secs / 1e9
    }

    /// Reference throughput, GOP/s.
    pub fn reference_gops(&self) -> f64 {
        self.size.ops() / self.reference_secs / 1e9
    }

    /// Vulkan speed over reference speed.
    pub fn ratio(&self) -> f64 {
        self.reference_secs / self.vulkan_secs
    }

    /// Vulkan operations per CPU-second, GOP: throughput per busy core, which other load on
    /// the machine disturbs far less than wall-clock throughput.
    pub fn vulkan_gop_per_cpu_s(&self) -> Option<f64> {
        self.vulkan_cpu_secs.map(|c| self.size.ops() / c / 1e9)
    }

    /// Reference operations per CPU-second, GOP.
    pub fn reference_gop_per_cpu_s(&self) -> Option<f64> {
        self.reference_cpu_secs.map(|c| self.size.ops() / c / 1e9)
    }
}

/// CPU time (user + system) this process has used, s, from `/proc/self/stat` (Linux),
/// assuming the usual 100 clock ticks per second.
pub fn process_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_ascii_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Runs `f` until `min_secs` have passed (at least once, at most `max_runs` times) and
/// returns the last result, the best wall time and the mean CPU time per run.
fn best_of<T>(
    min_secs: f64,
    max_runs: usize,
    mut f: impl FnMut() -> Result<T, ComputeError>,
) -> Result<(T, f64, Option<f64>), ComputeError> {
    let started = Instant::now();
    let cpu_start = process_cpu_secs();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    loop {
        let t = Instant::now();
        let out = f()?;
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
        if runs >= max_runs || started.elapsed().as_secs_f64() >= min_secs {
            let cpu = cpu_start
                .zip(process_cpu_secs())
                .map(|(a, b)| (b - a) / runs as f64)
                .filter(|c| *c > 0.0);
            return Ok((out, best, cpu));
        }
    }
}

/// Benchmarks gemm-i8 at `size` on `exec` (variant `path`) and on the reference.
pub fn bench_gemm(
    exec: &Executor,
    size: GemmSize,
    path: GemmPath,
) -> Result<BenchRow, ComputeError> {
    // The fields are public, so a size need not have come through `from_str`.
    size.check()?;
    let path = exec.resolve(path)?;
    let a = random_i8_matrix(size.m, size.k, 0xA);
    let bt = random_i8_matrix(size.n, size.k, 0xB);
    let (gpu, vulkan_secs, vulkan_cpu_secs) = best_of(1.0, 5, || exec.gemm_i8(&a, &bt, path))?;
    let (cpu, reference_secs, reference_cpu_secs) = best_of(1.0, 5, || gemm_i8_reference(&a, &bt))?;
    Ok(BenchRow {
        size,
        path,
        vulkan_secs,
        reference_secs,
        hashes_match: result_hash(&gpu) == result_hash(&cpu),
        vulkan_cpu_secs,
        reference_cpu_secs,
    })
}

/// Runs one small product so that one-time costs (lazy shader compilation, first
/// allocations) stay out of the timings.
pub fn warm_up(exec: &Executor, path: GemmPath) -> Result<(), ComputeError> {
    let a = random_i8_matrix(64, 64, 1);
    let _: Matrix<i32> = exec.gemm_i8(&a, &a, path)?;
    Ok(())
}

/// Sentences `bench` embeds (8 to 40-odd tokens each with MiniLM's tokenizer).
pub const BENCH_SENTENCES: &[&str] = &[
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "Integer-only inference makes every node compute the same bytes.",
    "Validators compare the SHA3-256 of the embedding instead of trusting a single provider.",
    "The quick brown fox jumps over the lazy dog, and then it runs away into the forest \
     while the farmer shouts after it.",
    "Sentence embeddings map a text to a unit vector so that texts with similar meanings \
     lie close together, which makes them useful for search, clustering and deduplication.",
];

/// Embedding throughput of one encoder: the batched Vulkan pass against the reference on
/// the same inputs.
#[derive(Clone, Debug)]
pub struct EmbedBench {
    /// Sequences embedded per pass.
    pub sequences: usize,
    /// Tokens over all sequences.
    pub tokens: usize,
    /// Best wall time of one batched Vulkan pass over all sequences, s.
    pub vulkan_secs: f64,
    /// Best wall time of one reference pass, s.
    pub reference_secs: f64,
    /// Mean CPU time of one Vulkan pass, s (lavapipe runs on the CPU, multithreaded).
    pub vulkan_cpu_secs: Option<f64>,
    /// Mean CPU time of one reference pass, s.
    pub reference_cpu_secs: Option<f64>,
    /// Whether every Vulkan embedding's result hash equals the reference's.
    pub hashes_match: bool,
}

impl EmbedBench {
    /// Embeddings per second on Vulkan.
    pub fn vulkan_per_sec(&self) -> f64 {
        self.sequences as f64 / self.vulkan_secs
    }

    /// Embeddings per second on the reference.
    pub fn reference_per_sec(&self) -> f64 {
        self.sequences as f64 / self.reference_secs
    }
}

/// Embeds a batch of [`EMBED_BATCH`] sequences (`inputs` repeated) with the batched Vulkan
/// pass ([`VulkanEncoder::forward_batch`]: weights resident, one submit per batch) and on
/// the reference, one sequence after another (best of up to 3 passes, at least 2 s each
/// side), after one warm-up batch on the device (which records the batch's command buffer).
pub fn bench_embeddings(
    exec: &Executor,
    encoder: &IntEncoder,
    inputs: &[Tokens],
) -> Result<EmbedBench, ComputeError> {
    let inputs: Vec<Tokens> = inputs.iter().cycle().take(EMBED_BATCH).cloned().collect();
    let vk = VulkanEncoder::new(exec, encoder)?;
    vk.forward_batch(&inputs)?;
    let hashes = |out: Vec<Matrix<i32>>| out.iter().map(result_hash).collect::<Vec<_>>();
    let (gpu, vulkan_secs, vulkan_cpu_secs) =
        best_of(2.0, 3, || vk.forward_batch(&inputs).map(hashes))?;
    let (cpu, reference_secs, reference_cpu_secs) = best_of(2.0, 3, || {
        inputs
            .iter()
            .map(|t| encoder.forward(&Reference, t))
            .collect::<Result<Vec<_>, _>>()
            .map(hashes)
    })?;
    Ok(EmbedBench {
        sequences: inputs.len(),
        tokens: inputs.iter().map(|t| t.ids.len()).sum(),
        vulkan_secs,
        reference_secs,
        vulkan_cpu_secs,
        reference_cpu_secs,
        hashes_match: gpu == cpu,
    })
}

/// Sequences per pass of [`compare_backends`]' embedding figures.
pub const EMBED_BATCH: usize = 32;

/// One backend's line in [`compare_backends`].
#[derive(Clone, Debug)]
pub struct BackendRow {
    /// What ran (backend, instruction set or device, threads).
    pub name: String,
    /// Best wall time of one call or pass, s.
    pub secs: f64,
    /// Mean CPU time (all threads of the process) of one call or pass, s.
    pub cpu_secs: Option<f64>,
    /// Whether every result hash equals the reference's.
    pub same: bool,
}

/// gemm-i8 and embedding throughput of every backend, from one run.
#[derive(Clone, Debug)]
pub struct BackendComparison {
    /// The gemm-i8 size.
    pub size: GemmSize,
    /// gemm-i8 rows, the reference first.
    pub gemm: Vec<BackendRow>,
    /// What the encoder is (model id, or random weights).
    pub model: String,
    /// Sequences and tokens per embedding pass.
    pub sequences: usize,
    /// Tokens over all sequences of a pass.
    pub tokens: usize,
    /// Embedding rows, the reference first.
    pub embed: Vec<BackendRow>,
}

impl fmt::Display for BackendComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = |f: &mut fmt::Formatter<'_>, rows: &[BackendRow], unit: &str, work: f64| {
            let base = rows.first().map_or(f64::NAN, |r| r.secs);
            writeln!(
                f,
                "| backend | s | {unit} | × reference | {unit} per CPU-s | result |"
            )?;
            writeln!(f, "| --- | ---: | ---: | ---: | ---: | --- |")?;
            for r in rows {
                writeln!(
                    f,
                    "| {} | {:.4} | {:.2} | {:.2}× | {} | {} |",
                    r.name,
                    r.secs,
                    work / r.secs,
                    base / r.secs,
                    r.cpu_secs
                        .map_or_else(|| "n/a".to_owned(), |c| format!("{:.2}", work / c)),
                    if r.same { "same" } else { "DIFFERS" }
                )?;
            }
            Ok(())
        };
        writeln!(f, "gemm-i8 {} (GOP/s counts 2·m·n·k):", self.size)?;
        table(f, &self.gemm, "GOP/s", self.size.ops() / 1e9)?;
        writeln!(f)?;
        writeln!(
            f,
            "sentence embeddings, {}: batch of {} sequences, {} tokens:",
            self.model, self.sequences, self.tokens
        )?;
        table(f, &self.embed, "emb/s", self.sequences as f64)
    }
}

impl BackendComparison {
    /// Whether every backend gave the reference's bytes.
    pub fn all_same(&self) -> bool {
        self.gemm.iter().chain(&self.embed).all(|r| r.same)
    }
}

/// An encoder of all-MiniLM-L6-v2's shape with random weights, and eight random token
/// sequences of the bench sentences' lengths: what the benches run without a model.
pub fn random_minilm() -> Result<(IntEncoder, Vec<Tokens>), ComputeError> {
    let c = crate::encoder::EncoderConfig::MINILM_L6;
    let enc = IntEncoder::quantize(&crate::encoder::FloatWeights::random(c, 1))?;
    let mut rng = crate::SplitMix64::new(2);
    let inputs = [8usize, 11, 9, 9, 14, 20, 27, 38]
        .iter()
        .map(|&n| {
            Tokens::single(
                (0..n)
                    .map(|_| (rng.next_u64() % c.vocab as u64) as u32)
                    .collect(),
            )
        })
        .collect();
    Ok((enc, inputs))
}

/// The encoder and inputs of the embedding figures: MiniLM from `model` (a directory or
/// weight file) and [`BENCH_SENTENCES`], or random weights of MiniLM's shape and random
/// tokens of the same lengths; repeated to `batch` sequences. Returns a description too.
pub fn embed_inputs(
    model: Option<&std::path::Path>,
    batch: usize,
) -> Result<(IntEncoder, Vec<Tokens>, String), ComputeError> {
    let (encoder, base, what) = match model {
        Some(path) => {
            let m = crate::model::SentenceModel::load(path)?;
            let inputs = BENCH_SENTENCES
                .iter()
                .map(|s| m.tokenize(s))
                .collect::<Result<Vec<_>, _>>()?;
            let what = format!("all-MiniLM-L6-v2 {}", hex::encode(m.id()));
            (m.encoder().clone(), inputs, what)
        }
        None => {
            let (enc, inputs) = random_minilm()?;
            (
                enc,
                inputs,
                "random weights of all-MiniLM-L6-v2's shape".to_owned(),
            )
        }
    };
    let inputs = base.iter().cycle().take(batch).cloned().collect();
    Ok((encoder, inputs, what))
}

/// Times `f` like the other benches (best of up to `runs`, at least `min_secs`) and
/// compares the result hashes of its last outputs with `want` (hashed after timing, so
/// SHA3 is not part of any backend's time).
fn row(
    name: String,
    min_secs: f64,
    runs: usize,
    want: &[crate::ResultHash],
    mut f: impl FnMut() -> Result<Vec<Matrix<i32>>, ComputeError>,
) -> Result<BackendRow, ComputeError> {
    f()?; // warm-up: thread pool, lazy pipelines, first allocations
    let (got, secs, cpu_secs) = best_of(min_secs, runs, &mut f)?;
    let got: Vec<_> = got.iter().map(result_hash).collect();
    Ok(BackendRow {
        name,
        secs,
        cpu_secs,
        same: got == want,
    })
}

/// Runs gemm-i8 at `size` and a batch of [`EMBED_BATCH`] embeddings on the reference,
/// on the CPU backend (every instruction set this CPU has; embeddings with threads over
/// sequences and with threads inside each product) and on each Vulkan executor given
/// (`gemm_exec` for the product, `embed_exec` for the encoder), all in one run.
pub fn compare_backends(
    size: GemmSize,
    gemm_exec: Option<&Executor>,
    embed_exec: Option<&Executor>,
    model: Option<&std::path::Path>,
) -> Result<BackendComparison, ComputeError> {
    use crate::cpu::{CpuBackend, Isa};
    size.check()?;
    let threads = rayon::current_num_threads();
    let a = random_i8_matrix(size.m, size.k, 0xA);
    let bt = random_i8_matrix(size.n, size.k, 0xB);
    let want = vec![result_hash(&gemm_i8_reference(&a, &bt)?)];
    let one = |c: Result<Matrix<i32>, ComputeError>| c.map(|c| vec![c]);
    let mut gemm = vec![row(
        "reference (1 thread)".into(),
        1.0,
        1000,
        &want,
        || one(gemm_i8_reference(&a, &bt)),
    )?];
    for isa in Isa::available() {
        let be = CpuBackend::with_isa(isa)?;
        gemm.push(row(
            format!("cpu {isa} ({threads} threads)"),
            1.0,
            1000,
            &want,
            || one(be.gemm_i8(&a, &bt)),
        )?);
    }
    if let Some(e) = gemm_exec {
        gemm.push(row(
            format!("vulkan {} ({})", e.report().name, e.report().device_type),
            1.0,
            1000,
            &want,
            || one(e.gemm_i8(&a, &bt, GemmPath::Auto)),
        )?);
    }

    let (encoder, inputs, model) = embed_inputs(model, EMBED_BATCH)?;
    let each = |be: &dyn Fn(&Tokens) -> Result<Matrix<i32>, ComputeError>| {
        inputs.iter().map(be).collect::<Result<Vec<_>, _>>()
    };
    let want: Vec<_> = each(&|t| encoder.forward(&Reference, t))?
        .iter()
        .map(result_hash)
        .collect();
    let mut embed = vec![row("reference (1 thread)".into(), 2.0, 3, &want, || {
        each(&|t| encoder.forward(&Reference, t))
    })?];
    let best = CpuBackend::new();
    let single = best.single_threaded();
    embed.push(row(
        format!("cpu {} ({threads} threads over sequences)", best.isa()),
        2.0,
        5,
        &want,
        || encoder.forward_batch(&single, &inputs),
    )?);
    embed.push(row(
        format!("cpu {} ({threads} threads in each product)", best.isa()),
        2.0,
        5,
        &want,
        || each(&|t| encoder.forward(&best, t)),
    )?);
    for isa in Isa::available().into_iter().filter(|&i| i != best.isa()) {
        let be = CpuBackend::with_isa(isa)?.single_threaded();
        embed.push(row(
            format!("cpu {isa} ({threads} threads over sequences)"),
            2.0,
            3,
            &want,
            || encoder.forward_batch(&be, &inputs),
        )?);
    }
    if let Some(e) = embed_exec {
        let vk = VulkanEncoder::new(e, &encoder)?;
        let o = vk.options();
        embed.push(row(
            format!(
                "vulkan {} ({}, batched: one submit per {} sequences, workgroups {}x{} / {}x{})",
                e.report().name,
                e.report().device_type,
                inputs.len(),
                o.linear.x,
                o.linear.y,
                o.attention.x,
                o.attention.y
            ),
            2.0,
            3,
            &want,
            || vk.forward_batch(&inputs),
        )?);
    }
    Ok(BackendComparison {
        size,
        gemm,
        model,
        sequences: inputs.len(),
        tokens: inputs.iter().map(|t| t.ids.len()).sum(),
        embed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_beyond_the_gemm_bounds_are_refused_when_parsed() {
        // Issue 10 item 3, CLI side: none of these may reach `random_i8_matrix`.
        for bad in [
            "4294967295x4294967295x1",
            "65536x65536x1",
            "1x1x131072",
            "16777216x1x4096",
            "18446744073709551615x2x2",
        ] {
            assert!(bad.parse::<GemmSize>().is_err(), "{bad} was accepted");
        }
        let e = "1x1x0".parse::<GemmSize>().unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        for good in DEFAULT_SIZES.iter().chain(QUICK_SIZES) {
            assert_eq!(good.check().map_err(|e| e.to_string()), Ok(()), "{good}");
            assert_eq!(good.to_string().parse::<GemmSize>(), Ok(*good));
        }
        assert!("4096x4096x1".parse::<GemmSize>().is_ok());
    }
}
