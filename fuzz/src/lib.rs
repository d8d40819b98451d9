//! Shared harness of the fuzz targets: a bounded allocator, a chain on a
//! temporary RocksDB with funded accounts, the split of one fuzz input into
//! a list of txs, and the seed inputs each target starts from.
//!
//! The ABCI targets sign txs themselves: an input chunk may name a genesis
//! key and carry only a `TxBody`, which the harness signs with that key's
//! current account number and sequence. Random bytes never carry a valid
//! signature, so without this the fuzzer would stop at signature checks and
//! never execute a message.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    path::Path,
    sync::OnceLock,
};

use bytes::Bytes;
use cosmos_sdk_proto::{
    cosmos::{
        base::v1beta1::Coin as ProtoCoin,
        gov::v1::MsgSubmitProposal,
        tx::v1beta1::{TxBody, TxRaw},
    },
    Any,
};
use deai_app::App;
use deai_auth::AuthRead;
use deai_client::tx::{any, msg_send, msg_vote, sign_tx, Key, TxParams};
use deai_genesis::AppState;
use deai_types::{Address, Coin, BASE_DENOM};
use prost::Message;

/// Largest single allocation a target may make. Nothing the chain does with
/// one tx or one block (at most a few MiB) comes near it, so an allocation
/// past it is an input that sizes memory from untrusted numbers. libFuzzer's
/// own `-malloc_limit_mb` needs a sanitizer runtime, which stable Rust does
/// not have, so the bound is enforced here.
pub const MAX_ALLOCATION: usize = 256 << 20;

/// The system allocator, refusing any single allocation over
/// [`MAX_ALLOCATION`]. A refusal makes Rust print "memory allocation of N
/// bytes failed" and abort, which libFuzzer reports as a crash with the input.
pub struct BoundedAlloc;

// SAFETY: every call is forwarded unchanged to `System`, except that
// oversized requests return null, which the `GlobalAlloc` contract allows.
unsafe impl GlobalAlloc for BoundedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOCATION {
            return std::ptr::null_mut();
        }
        // SAFETY: as in `dealloc`; `new_size` is non-zero by the caller's contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: BoundedAlloc = BoundedAlloc;

/// The chain id of the fuzzed chain.
pub const CHAIN_ID: &str = "deai-fuzz";

/// How many funded genesis accounts there are; a signed chunk picks one.
pub const KEYS: usize = 4;

/// Each genesis account's opening balance: enough that fees never run out
/// however many blocks a run executes.
pub const START_BALANCE: u128 = 1_000_000_000_000_000_000;

/// Gas limit of the txs the harness signs, and the fee that pays for it
/// (0.01udeai per gas, as the end-to-end tests pay).
pub const GAS_LIMIT: u64 = 2_000_000;
/// See [`GAS_LIMIT`].
pub const FEE: u128 = 20_000;
/// The gas limit of a signed chunk whose tag asks for little gas, so that
/// messages also run out of gas half-way.
pub const LOW_GAS_LIMIT: u64 = 25_000;

/// Most txs taken from one input: bounds the time of one run.
pub const MAX_TXS: usize = 32;

/// The model registered in genesis, so that embed jobs can name one.
pub const MODEL_ID: &str = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";

/// The genesis keys, derived from fixed labels.
pub fn keys() -> &'static [Key] {
    static KEYS_CELL: OnceLock<Vec<Key>> = OnceLock::new();
    KEYS_CELL.get_or_init(|| {
        (0..KEYS)
            .map(|i| Key::from_label(&format!("fuzz-{i}")))
            .collect()
    })
}

/// The `app_state` of the fuzzed chain: funded accounts (account numbers
/// 0..KEYS in key order), a registered model and governance periods of a
/// few blocks, so proposals are tallied and executed within a short run.
pub fn app_state() -> AppState {
    let mut s = AppState::default();
    for k in keys() {
        s.add_account(k.address(), &[Coin::new(START_BALANCE, BASE_DENOM)])
            .expect("genesis accounts are well formed");
    }
    let mut compute = deai_compute_module::ComputeGenesis::default();
    compute.models.push(deai_compute_module::Model {
        id: MODEL_ID.to_string(),
        name: "fuzz-model".into(),
        architecture: "bert".into(),
        quantization: "int8".into(),
        license: "apache-2.0".into(),
        size_bytes: 1,
    });
    let mut gov = deai_gov::GovGenesis::default();
    gov.params.min_deposit = vec![Coin::new(1_000, BASE_DENOM)];
    gov.params.max_deposit_period_blocks = 4;
    gov.params.voting_period_blocks = 4;
    gov.params.expedited_voting_period_blocks = 2;
    s.sections.insert(
        "compute".into(),
        serde_json::to_value(&compute).expect("a genesis section serialises"),
    );
    s.sections.insert(
        "gov".into(),
        serde_json::to_value(&gov).expect("a genesis section serialises"),
    );
    s
}

/// An app on a temporary RocksDB, past genesis and its first block.
pub struct Chain {
    /// The application.
    pub app: App,
    // Dropped after `app`, which holds the database open inside it.
    _dir: tempfile::TempDir,
}

impl Chain {
    /// A fresh chain: genesis, then an empty first block, committed, so the
    /// mempool and proposals see committed accounts.
    pub fn new() -> Self {
        let root = std::env::temp_dir().join("deai-fuzz");
        remove_dead_chains(&root);
        std::fs::create_dir_all(&root).expect("creating the chains' directory");
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", std::process::id()))
            .tempdir_in(&root)
            .expect("a temporary directory");
        let mut app = App::open(dir.path()).expect("opening a fresh app");
        let genesis = serde_json::to_vec(&app_state()).expect("app_state serializes");
        app.init_chain(CHAIN_ID, 1, &genesis)
            .expect("the fuzz genesis is valid");
        app.finalize_block(&deai_app::BlockInfo::at(1), &[])
            .expect("an empty first block");
        app.commit().expect("committing the first block");
        Chain { app, _dir: dir }
    }

    /// The height the next block must have.
    pub fn next_height(&self) -> u64 {
        self.app.last_height() + 1
    }

    /// Account number and committed sequence of genesis key `i`.
    pub fn account(&self, i: usize) -> (u64, u64) {
        let snapshot = self.app.storage().latest_snapshot();
        match snapshot.account(&keys()[i].address()) {
            Ok(Some(a)) => (a.account_number, a.sequence),
            // Genesis creates every key's account; a missing one is a bug
            // the targets will report through failing txs, not here.
            _ => (i as u64, 0),
        }
    }
}

/// Removes the chain directories of fuzzer processes that have exited.
/// libFuzzer ends a run with `exit`, which drops no static, so each run
/// leaves its last chain's database behind.
fn remove_dead_chains(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.split('-').next());
        if let Some(pid) = pid.filter(|p| p.bytes().all(|b| b.is_ascii_digit())) {
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

/// One tx of a fuzz input.
#[derive(Debug, Clone, Copy)]
pub enum Chunk<'a> {
    /// Bytes sent as they are.
    Raw(&'a [u8]),
    /// A `TxBody` the harness signs with genesis key `signer`.
    Signed {
        /// Index into [`keys`].
        signer: usize,
        /// Sign with the next sequence instead of the expected one.
        skip_sequence: bool,
        /// Use [`LOW_GAS_LIMIT`].
        low_gas: bool,
        /// The `TxBody` bytes.
        body: &'a [u8],
    },
}

/// Tag bit of a signed chunk.
pub const TAG_SIGNED: u8 = 0x80;
/// Tag bit: sign with a sequence one too high.
pub const TAG_SKIP_SEQUENCE: u8 = 0x40;
/// Tag bit: a low gas limit.
pub const TAG_LOW_GAS: u8 = 0x20;

/// Splits a fuzz input into at most [`MAX_TXS`] chunks. Each chunk is a
/// little-endian u16 length and that many bytes (the last may be short);
/// its first byte is a tag: without [`TAG_SIGNED`] the rest is a raw tx,
/// with it the low bits pick the signer and the rest is a `TxBody`.
pub fn split(mut data: &[u8]) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    while data.len() >= 2 && out.len() < MAX_TXS {
        let len = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let (chunk, next) = rest.split_at(len.min(rest.len()));
        data = next;
        let Some((&tag, payload)) = chunk.split_first() else {
            continue;
        };
        out.push(if tag & TAG_SIGNED == 0 {
            Chunk::Raw(payload)
        } else {
            Chunk::Signed {
                signer: usize::from(tag & 0x0f) % KEYS,
                skip_sequence: tag & TAG_SKIP_SEQUENCE != 0,
                low_gas: tag & TAG_LOW_GAS != 0,
                body: payload,
            }
        });
    }
    out
}

/// The inverse of [`split`], for building seeds.
pub fn join(chunks: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, payload) in chunks {
        let len = u16::try_from(payload.len() + 1).expect("seed chunks are small");
        out.extend_from_slice(&len.to_le_bytes());
        out.push(*tag);
        out.extend_from_slice(payload);
    }
    out
}

/// Parameters of a tx on the fuzzed chain, paying the minimum fee for `gas_limit`.
pub fn tx_params(account_number: u64, sequence: u64, gas_limit: u64, memo: String) -> TxParams {
    TxParams {
        chain_id: CHAIN_ID.into(),
        account_number,
        sequence,
        fee: Some(Coin::new(
            u128::from(gas_limit) * FEE / u128::from(GAS_LIMIT),
            BASE_DENOM,
        )),
        gas_limit,
        memo,
    }
}

/// The tx bytes of `chunk`. A signed chunk is signed with `account_number`
/// and `sequence` (plus one if its tag says so); a body that does not
/// decode is sent raw, so no input is wasted.
pub fn tx_bytes(chunk: Chunk<'_>, account_number: u64, sequence: u64) -> Bytes {
    match chunk {
        Chunk::Raw(b) => Bytes::copy_from_slice(b),
        Chunk::Signed {
            signer,
            skip_sequence,
            low_gas,
            body,
        } => match TxBody::decode(body) {
            Err(_) => Bytes::copy_from_slice(body),
            Ok(body) => {
                let gas = if low_gas { LOW_GAS_LIMIT } else { GAS_LIMIT };
                let seq = sequence.wrapping_add(u64::from(skip_sequence));
                let p = tx_params(account_number, seq, gas, body.memo);
                let msgs = body.messages.into_iter().map(hash_job_input).collect();
                Bytes::from(sign_tx(&keys()[signer], msgs, &p))
            }
        },
    }
}

/// Fills in the input hash of a `MsgSubmitJob` that has none, as a client
/// does: a mutated input would otherwise never match its hash, and the
/// fuzzer would not get past that check to the job's execution. A job
/// that carries a hash keeps it, so mismatches are still tried.
fn hash_job_input(msg: Any) -> Any {
    if msg.type_url != deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL {
        return msg;
    }
    match deai_proto::compute::v1::MsgSubmitJob::decode(msg.value.as_slice()) {
        Ok(mut job) if job.input_hash.is_empty() => {
            job.input_hash = deai_compute_module::record::sha3(&[&job.input]).to_vec();
            any(&msg.type_url, &job)
        }
        _ => msg,
    }
}

/// The account numbers and sequences the harness signs with, one entry per
/// genesis key.
#[derive(Debug, Clone)]
pub struct Sequences(Vec<(u64, u64)>);

impl Sequences {
    /// As committed in `chain`.
    pub fn committed(chain: &Chain) -> Self {
        Sequences((0..KEYS).map(|i| chain.account(i)).collect())
    }

    /// The bytes of `chunk`, and the key that signed it with its expected
    /// sequence (not for a skipped sequence or a body sent raw).
    pub fn tx(&self, chunk: Chunk<'_>) -> (Bytes, Option<usize>) {
        match chunk {
            Chunk::Raw(_) => (tx_bytes(chunk, 0, 0), None),
            Chunk::Signed {
                signer,
                skip_sequence,
                body,
                ..
            } => {
                let (number, sequence) = self.0[signer];
                let expected = !skip_sequence && TxBody::decode(body).is_ok();
                (
                    tx_bytes(chunk, number, sequence),
                    expected.then_some(signer),
                )
            }
        }
    }

    /// Moves `signer` to its next sequence, once a tx of it was accepted.
    pub fn advance(&mut self, signer: usize) {
        self.0[signer].1 = self.0[signer].1.wrapping_add(1);
    }

    /// The txs of a block: each signed chunk takes its signer's next
    /// sequence, as if every earlier one passed its checks.
    pub fn block(&mut self, data: &[u8]) -> Vec<Bytes> {
        split(data)
            .into_iter()
            .map(|chunk| {
                let (tx, signer) = self.tx(chunk);
                if let Some(s) = signer {
                    self.advance(s);
                }
                tx
            })
            .collect()
    }
}

// ---- Seeds -------------------------------------------------------------

fn coins(amount: u128) -> Vec<ProtoCoin> {
    vec![ProtoCoin {
        denom: BASE_DENOM.into(),
        amount: amount.to_string(),
    }]
}

fn body(msgs: Vec<Any>) -> Vec<u8> {
    TxBody {
        messages: msgs,
        memo: String::new(),
        timeout_height: 0,
        extension_options: Vec::new(),
        non_critical_extension_options: Vec::new(),
    }
    .encode_to_vec()
}

fn addr(i: usize) -> Address {
    keys()[i].address()
}

/// A valid gemm-i8 input: `m × k` times `k × n`, all ones.
pub fn gemm_input(m: u32, n: u32, k: u32) -> Vec<u8> {
    let mut v = deai_compute_module::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [m, n, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    let body = (m * k + k * n) as usize;
    v.extend(std::iter::repeat_n(1u8, body));
    v
}

fn submit_job(requester: usize, kind: &str, input: Vec<u8>, replication: u32) -> Any {
    // gemm-i8 is a built-in kernel and names no model.
    let model_id = if kind == "embed" { MODEL_ID } else { "" };
    any(
        deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
        &deai_proto::compute::v1::MsgSubmitJob {
            requester: addr(requester).to_bech32(),
            kind: kind.into(),
            model_id: model_id.into(),
            input_hash: deai_compute_module::record::sha3(&[&input]).to_vec(),
            input,
            replication,
            price_per_replica: "1000".into(),
            ..Default::default()
        },
    )
}

fn register_provider(i: usize) -> Any {
    any(
        deai_compute_module::MSG_REGISTER_PROVIDER_TYPE_URL,
        &deai_proto::compute::v1::MsgRegisterProvider {
            provider: addr(i).to_bech32(),
            bond: "1000000000".into(),
            device: "fuzz".into(),
        },
    )
}

fn proposal(proposer: usize, msgs: Vec<Any>) -> MsgSubmitProposal {
    MsgSubmitProposal {
        messages: msgs,
        initial_deposit: coins(1_000),
        proposer: addr(proposer).to_bech32(),
        metadata: String::new(),
        title: "fuzz".into(),
        summary: "a proposal from the fuzz seeds".into(),
        expedited: false,
    }
}

fn submit_proposal(proposer: usize, msgs: Vec<Any>) -> Any {
    any(
        deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
        &proposal(proposer, msgs),
    )
}

fn treasury_fund(i: usize) -> Any {
    any(
        deai_treasury::MSG_FUND_TYPE_URL,
        &deai_proto::treasury::v1::MsgFund {
            funder: addr(i).to_bech32(),
            amount: coins(5_000_000),
        },
    )
}

fn treasury_spend(to: usize) -> Any {
    any(
        deai_treasury::MSG_SPEND_TYPE_URL,
        &deai_proto::treasury::v1::MsgSpend {
            authority: deai_gov::authority().to_bech32(),
            recipient: addr(to).to_bech32(),
            amount: coins(1_000),
        },
    )
}

/// A proposal nested `depth` times inside proposals: the shape of the
/// decoder stack overflow of issue 10, item 1.
pub fn nested_proposal(depth: usize) -> Any {
    let mut inner = msg_send(
        &deai_gov::authority(),
        &addr(0),
        &[Coin::new(1, BASE_DENOM)],
    );
    for level in 0..depth {
        // Only the outermost proposal is complete; inner levels carry just
        // their message, which keeps a deep seed small.
        inner = if level + 1 == depth {
            submit_proposal(0, vec![inner])
        } else {
            any(
                deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL,
                &MsgSubmitProposal {
                    messages: vec![inner],
                    ..Default::default()
                },
            )
        };
    }
    inner
}

/// The seed txs: name, signing key and messages.
fn seed_bodies() -> Vec<(&'static str, usize, Vec<Any>)> {
    let one = |amount| vec![Coin::new(amount, BASE_DENOM)];
    vec![
        ("send", 0, vec![msg_send(&addr(0), &addr(1), &one(5))]),
        (
            "proposal_spend",
            0,
            vec![submit_proposal(0, vec![treasury_spend(2)])],
        ),
        (
            "send_vote",
            1,
            vec![
                msg_send(&addr(1), &addr(2), &one(7)),
                msg_vote(&addr(1), 1, deai_proto::gov::v1::VoteOption::Yes),
            ],
        ),
        ("register_provider", 2, vec![register_provider(2)]),
        ("register_provider_1", 1, vec![register_provider(1)]),
        (
            "submit_job_gemm",
            3,
            vec![submit_job(3, "gemm-i8", gemm_input(2, 3, 4), 1)],
        ),
        (
            "submit_job_embed",
            3,
            vec![submit_job(3, "embed", b"hello fuzzer".to_vec(), 2)],
        ),
        ("treasury_fund", 1, vec![treasury_fund(1)]),
        (
            "vote_yes",
            2,
            vec![msg_vote(&addr(2), 1, deai_proto::gov::v1::VoteOption::Yes)],
        ),
        ("nested_proposal_3", 0, vec![nested_proposal(3)]),
    ]
}

/// Seed inputs of `target`, by file name. Deterministic (RFC 6979
/// signatures), so writing them again leaves the committed corpus unchanged.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    match target {
        "tx_decode" => {
            for (name, signer, msgs) in seed_bodies() {
                let p = tx_params(signer as u64, 0, GAS_LIMIT, String::new());
                out.push((format!("{name}.tx"), sign_tx(&keys()[signer], msgs, &p)));
            }
            // As a wallet sends a tx to simulate: no signature, no fee.
            let unsigned = TxRaw::decode(
                sign_tx(
                    &keys()[0],
                    vec![msg_send(&addr(0), &addr(1), &[Coin::new(1, BASE_DENOM)])],
                    &TxParams {
                        fee: None,
                        gas_limit: 0,
                        ..tx_params(0, 0, 0, String::new())
                    },
                )
                .as_slice(),
            )
            .map(|mut raw| {
                raw.signatures = vec![Vec::new()];
                raw.encode_to_vec()
            })
            .expect("a signed tx decodes");
            out.push(("simulate_unsigned.tx".into(), unsigned));
            // Issue 10, item 1: must be refused, not overflow the stack.
            let p = tx_params(0, 0, GAS_LIMIT, String::new());
            out.push((
                "nested_proposal_2000.tx".into(),
                sign_tx(&keys()[0], vec![nested_proposal(2000)], &p),
            ));
        }
        "abci_check_tx" | "abci_process_proposal" | "abci_finalize_block" => {
            let bodies = seed_bodies();
            // Every seed tx alone, signed by the harness.
            for (name, signer, msgs) in &bodies {
                out.push((
                    format!("{name}.txs"),
                    join(&[(TAG_SIGNED | *signer as u8, body(msgs.clone()))]),
                ));
            }
            // All of them in one block, and each again from a raw,
            // pre-signed tx at sequence 0 (valid only while unused).
            let all: Vec<_> = bodies
                .iter()
                .map(|(_, signer, msgs)| (TAG_SIGNED | *signer as u8, body(msgs.clone())))
                .collect();
            out.push(("all_signed.txs".into(), join(&all)));
            let raw: Vec<_> = bodies
                .iter()
                .take(4)
                .scan([0u64; KEYS], |next, (_, signer, msgs)| {
                    let p = tx_params(*signer as u64, next[*signer], GAS_LIMIT, String::new());
                    next[*signer] += 1;
                    Some((0u8, sign_tx(&keys()[*signer], msgs.clone(), &p)))
                })
                .collect();
            out.push(("raw_presigned.txs".into(), join(&raw)));
            // Out of gas, a skipped sequence, and junk between good txs.
            out.push((
                "mixed.txs".into(),
                join(&[
                    (TAG_SIGNED | TAG_LOW_GAS | 3, body(bodies[5].2.clone())),
                    (0, b"not a tx".to_vec()),
                    (TAG_SIGNED | TAG_SKIP_SEQUENCE, body(bodies[0].2.clone())),
                    (TAG_SIGNED, body(bodies[0].2.clone())),
                ]),
            ));
        }
        "genesis" => {
            let mut doc = deai_genesis::GenesisDoc::new(CHAIN_ID, "2026-01-01T00:00:00Z")
                .expect("a valid chain id");
            doc.app_state = app_state();
            doc.app_state
                .validators
                .push(deai_genesis::GenesisValidator {
                    name: "val-0".into(),
                    pub_key: "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".into(),
                    power: 10,
                });
            out.push((
                "doc.json".into(),
                serde_json::to_vec_pretty(&doc).expect("the document serializes"),
            ));
            out.push((
                "app_state.json".into(),
                serde_json::to_vec(&app_state()).expect("app_state serializes"),
            ));
        }
        "compute_input" => {
            out.push(("gemm_2x3x4".into(), gemm_input(2, 3, 4)));
            out.push(("gemm_1x1x1".into(), gemm_input(1, 1, 1)));
            out.push((
                "gemm_header_only".into(),
                gemm_input(4096, 4096, 1)[..16].to_vec(),
            ));
            out.push((
                "embed".into(),
                "an embedding input, ünïcode".as_bytes().to_vec(),
            ));
            let head = vec![0i32; 2 * deai_compute_module::input::CLASSIFY_HIDDEN];
            out.push((
                "classify".into(),
                deai_compute_module::input::encode_classify_input(2, &head, &["a text", "another"])
                    .expect("a valid classify input"),
            ));
        }
        _ => {}
    }
    out
}

/// Writes `target`'s seeds into `$DEAI_FUZZ_WRITE_SEEDS/<target>/` when that
/// variable is set, then exits: how the committed corpus is (re)generated
/// (`scripts/fuzz.sh --seeds`). Called from each target's `init`.
pub fn write_seeds_if_asked(target: &str) {
    let Some(root) = std::env::var_os("DEAI_FUZZ_WRITE_SEEDS") else {
        return;
    };
    let dir = Path::new(&root).join(target);
    std::fs::create_dir_all(&dir).expect("creating the seed directory");
    for (name, bytes) in seeds(target) {
        std::fs::write(dir.join(name), bytes).expect("writing a seed");
    }
    std::process::exit(0);
}
