//! Tests of the compute module on an in-memory state with bank balances:
//! a small chain harness (`Chain`) drives blocks through `begin_block`,
//! messages (each on a scratch overlay, as the app runs them) and `end_block`.

#![allow(clippy::arithmetic_side_effects)]

mod flows;
mod props;
mod security;
mod suites;
mod surface;

use cosmos_sdk_proto::Any;
use deai_bank::{BankRead, BankWrite};
use deai_proto::compute::v1 as pb;
use deai_types::{Address, Coin, Event, MemState, Overlay, StateRead};
use prost::Message;

use crate::{
    record::{commitment, sha3, Hash},
    BlockCtx, ComputeError, ComputeParams, ComputeRead, ComputeWrite, Job, Msg,
};

/// The base denom.
pub const D: &str = "udeai";

/// Test parameters: small numbers so arithmetic is easy to follow.
pub fn params() -> ComputeParams {
    ComputeParams {
        min_provider_bond: 1_000_000,
        unbonding_period: 10,
        jail_period: 5,
        max_input_bytes: 4096,
        max_output_bytes: 256,
        max_replication: 5,
        commit_window: 3,
        reveal_window: 3,
        slash_fraction_wrong_ppm: 100_000,
        slash_fraction_missed_ppm: 20_000,
        reward_per_work_unit: 7,
        max_settlements_per_block: 10,
        max_assignments_per_block: 10,
        max_pending_blocks: 4,
        min_phase_window: 1,
        epoch_blocks: 100,
        max_minted_per_epoch: 1_000_000,
        min_price_per_work_unit: 1,
    }
}

/// A valid gemm-i8 input (`1 × tag.len()` times `tag.len() × 1`, both
/// matrices the bytes of `tag`): one work unit, distinct per tag.
pub fn gemm(tag: &[u8]) -> Vec<u8> {
    let k = u32::try_from(tag.len()).unwrap();
    let mut v = crate::input::GEMM_I8_MAGIC_V1.to_vec();
    for d in [1, 1, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v.extend_from_slice(tag);
    v.extend_from_slice(tag);
    v
}

/// An address from one byte.
pub fn addr(i: u8) -> Address {
    Address([i; 20])
}

/// A test chain: state, the current height (whose begin_block has run) and
/// the app hash of the previous block.
pub struct Chain {
    /// The committed state.
    pub state: MemState,
    /// The current height.
    pub height: u64,
    /// Events of every block hook and successful message so far.
    pub events: Vec<Event>,
}

impl Chain {
    /// A chain at height 1 with `params`, and `accounts` funded with `funds` udeai each.
    pub fn new(params: ComputeParams, accounts: &[Address], funds: u128) -> Self {
        let mut state = MemState::default();
        state.put_compute_params(&params).unwrap();
        for a in accounts {
            state.mint(a, &[Coin::new(funds, D)]).unwrap();
        }
        let mut chain = Chain {
            state,
            height: 1,
            events: Vec::new(),
        };
        chain.begin();
        chain
    }

    /// The block context of the current height: the previous app hash is a
    /// hash of the whole state, as a real app hash would be.
    pub fn ctx(&self) -> BlockCtx {
        let mut h = Vec::new();
        for (k, v) in &self.state.0 {
            h.extend_from_slice(&sha3(&[k, v]));
        }
        BlockCtx {
            height: self.height,
            prev_app_hash: sha3(&[&h, &self.height.to_be_bytes()]).to_vec(),
        }
    }

    fn begin(&mut self) {
        let ctx = self.ctx();
        let ev = crate::begin_block(&mut self.state, &ctx).unwrap();
        self.events.extend(ev);
    }

    /// Ends the current block and begins the next; returns the end_block and begin_block events.
    pub fn advance(&mut self) -> Vec<Event> {
        let ctx = self.ctx();
        let mut ev = crate::end_block(&mut self.state, &ctx).unwrap();
        self.height += 1;
        let ctx = self.ctx();
        ev.extend(crate::begin_block(&mut self.state, &ctx).unwrap());
        self.events.extend(ev.clone());
        ev
    }

    /// Advances until the current height is `h` (ends blocks below it).
    pub fn advance_to(&mut self, h: u64) -> Vec<Event> {
        let mut ev = Vec::new();
        while self.height < h {
            ev.extend(self.advance());
        }
        ev
    }

    /// Executes `msg` as the app does: on a scratch layer kept only on success.
    pub fn exec(&mut self, msg: &Msg) -> Result<Vec<Event>, ComputeError> {
        let ctx = self.ctx();
        let mut scratch = Overlay::new(&self.state);
        let ev = msg.execute(&mut scratch, &ctx)?;
        let changes = scratch.into_changes();
        for (k, v) in changes {
            match v {
                Some(v) => self.state.0.insert(k, v),
                None => self.state.0.remove(&k),
            };
        }
        self.events.extend(ev.clone());
        Ok(ev)
    }

    /// Decodes `any` and executes it.
    pub fn exec_any(&mut self, any: &Any) -> Result<Vec<Event>, ComputeError> {
        let msg = Msg::from_any(any)?;
        self.exec(&msg)
    }

    /// The udeai balance of `a`.
    pub fn bal(&self, a: &Address) -> u128 {
        self.state.balance(a, D).unwrap()
    }

    /// The udeai supply.
    pub fn supply(&self) -> u128 {
        self.state.supply(D).unwrap()
    }

    /// Job `id`.
    pub fn job(&self, id: u64) -> Job {
        self.state.job(id).unwrap().unwrap()
    }

    /// Registers `p` with `bond`.
    pub fn register(&mut self, p: Address, bond: u128) {
        self.exec_any(&pack(
            crate::MSG_REGISTER_PROVIDER_TYPE_URL,
            &pb::MsgRegisterProvider {
                provider: p.to_bech32(),
                bond: bond.to_string(),
                device: "lavapipe".into(),
            },
        ))
        .unwrap();
    }

    /// Submits a gemm-i8 job; returns its id.
    pub fn submit(&mut self, requester: Address, r: u32, price: u128) -> Result<u64, ComputeError> {
        self.submit_by(requester, r, price, 0)
    }

    /// Submits a gemm-i8 job that must settle by `deadline` (0: none); returns its id.
    pub fn submit_by(
        &mut self,
        requester: Address,
        r: u32,
        price: u128,
        deadline: u64,
    ) -> Result<u64, ComputeError> {
        let any = submit_by_any(requester, r, price, &gemm(b"input matrix"), deadline);
        let ev = self.exec_any(&any)?;
        let e = ev
            .iter()
            .find(|e| e.kind == "compute_job_submitted")
            .unwrap();
        Ok(attr(e, "job_id").parse().unwrap())
    }

    /// Commits `result` for `p` on job `id`.
    pub fn commit(
        &mut self,
        p: Address,
        id: u64,
        result: &[u8],
    ) -> Result<Vec<Event>, ComputeError> {
        self.exec_any(&pack(
            crate::MSG_COMMIT_RESULT_TYPE_URL,
            &pb::MsgCommitResult {
                provider: p.to_bech32(),
                job_id: id,
                commitment: commitment(&sha3(&[result]), &p, &salt(p)).to_vec(),
            },
        ))
    }

    /// Reveals `result` (with its bytes as output) for `p` on job `id`.
    pub fn reveal(
        &mut self,
        p: Address,
        id: u64,
        result: &[u8],
    ) -> Result<Vec<Event>, ComputeError> {
        self.exec_any(&reveal_any(p, id, result, &salt(p)))
    }

    /// Checks the bank invariant and the compute module account's books:
    /// it holds exactly the bonds, the unbondings and the open escrows.
    pub fn check_books(&self) {
        self.state.check_supply_invariant().unwrap();
        let mut owed = 0u128;
        for (_, p) in self.state.providers(None, usize::MAX).unwrap() {
            owed += p.bond + p.unbonding;
        }
        for (_, j) in self.state.jobs(None, usize::MAX).unwrap() {
            owed += j.escrow;
        }
        assert_eq!(
            self.bal(&crate::module_address()),
            owed,
            "module account books"
        );
    }
}

/// Balance each test account starts with.
pub const FUNDS: u128 = 10_000_000;
/// Bond of each provider [`setup_with`] registers.
pub const BOND: u128 = 2_000_000;
/// The requester of the flow tests.
pub const REQ: Address = Address([100; 20]);

/// A chain at height 1 under `p` with `n` registered providers `addr(1..=n)`
/// bonded `BOND` each, and the requester `REQ`.
pub fn setup_with(p: ComputeParams, n: u8) -> Chain {
    let mut accounts: Vec<Address> = (1..=n).map(addr).collect();
    accounts.push(REQ);
    let mut c = Chain::new(p, &accounts, FUNDS);
    for i in 1..=n {
        c.register(addr(i), BOND);
    }
    c
}

/// The providers assigned to job `id`.
pub fn assigned(c: &Chain, id: u64) -> Vec<Address> {
    c.job(id).assignments.iter().map(|a| a.provider).collect()
}

/// Adds `amount` to `p`'s bond; returns the events.
pub fn bond(c: &mut Chain, p: Address, amount: u128) -> Vec<Event> {
    c.exec_any(&pack(
        crate::MSG_BOND_TYPE_URL,
        &deai_proto::compute::v1::MsgBond {
            provider: p.to_bech32(),
            amount: amount.to_string(),
        },
    ))
    .unwrap()
}

/// Unbonds `amount` of `p`'s bond.
pub fn unbond(c: &mut Chain, p: Address, amount: u128) {
    c.exec_any(&pack(
        crate::MSG_UNBOND_TYPE_URL,
        &deai_proto::compute::v1::MsgUnbond {
            provider: p.to_bech32(),
            amount: amount.to_string(),
        },
    ))
    .unwrap();
}

/// A salt unique to a provider.
pub fn salt(p: Address) -> Vec<u8> {
    let mut s = b"salt-".to_vec();
    s.extend_from_slice(p.as_bytes());
    s
}

/// Packs a message.
pub fn pack<M: Message>(type_url: &str, m: &M) -> Any {
    Any {
        type_url: type_url.into(),
        value: m.encode_to_vec(),
    }
}

/// A gemm-i8 submission.
pub fn submit_any(requester: Address, r: u32, price: u128, input: &[u8]) -> Any {
    submit_by_any(requester, r, price, input, 0)
}

/// A gemm-i8 submission with a deadline (0: none).
pub fn submit_by_any(requester: Address, r: u32, price: u128, input: &[u8], deadline: u64) -> Any {
    pack(
        crate::MSG_SUBMIT_JOB_TYPE_URL,
        &pb::MsgSubmitJob {
            requester: requester.to_bech32(),
            kind: "gemm-i8".into(),
            model_id: String::new(),
            input: input.to_vec(),
            input_hash: sha3(&[input]).to_vec(),
            replication: r,
            price_per_replica: price.to_string(),
            deadline,
        },
    )
}

/// A reveal of `result` with its bytes as output.
pub fn reveal_any(p: Address, id: u64, result: &[u8], salt: &[u8]) -> Any {
    let h: Hash = sha3(&[result]);
    pack(
        crate::MSG_REVEAL_RESULT_TYPE_URL,
        &pb::MsgRevealResult {
            provider: p.to_bech32(),
            job_id: id,
            result_hash: h.to_vec(),
            salt: salt.to_vec(),
            output: result.to_vec(),
        },
    )
}

/// The value of attribute `key` of `e` (the first, if repeated).
pub fn attr<'a>(e: &'a Event, key: &str) -> &'a str {
    e.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{} has no {key}", e.kind))
}

/// Events of `kind` among `events`.
pub fn of_kind<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// Whether state holds any key under `prefix`.
pub fn has_prefix(s: &MemState, prefix: &[u8]) -> bool {
    !s.prefix_raw(prefix, None, 1).unwrap().is_empty()
}
