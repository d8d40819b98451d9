//! The rounds module's messages: stateless checks when decoded, then
//! stateful checks and execution.

use deai_bank::BankWrite;
use deai_proto::rounds::v1 as pb;
use deai_types::{Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, StateWrite};

use crate::{
    event, mask,
    params::{self, HIDDEN, MAX_CONTRIBUTORS, MAX_OPEN_ROUNDS},
    state_key, Providers, RoundsError, RoundsRead, RoundsWrite, STATUS_JOINING, STATUS_REVEALING,
    STATUS_SUBMITTING,
};

fn addr(field: &str, s: &str) -> Result<Address, RoundsError> {
    s.parse()
        .map_err(|e| RoundsError::Invalid(format!("{field}: {e}")))
}

fn round_of<S: RoundsRead + ?Sized>(state: &S, id: u64) -> Result<pb::Round, RoundsError> {
    state
        .round(id)?
        .ok_or_else(|| RoundsError::NotFound(format!("round {id}")))
}

/// Round `id`, if it is in phase `status` and `height` is not past that
/// phase's last height `end_of(round)`; else why not (`taking` names what
/// the phase takes).
fn round_in_phase<S: RoundsRead + ?Sized>(
    state: &S,
    id: u64,
    status: &str,
    end_of: fn(&pb::Round) -> u64,
    height: u64,
    taking: &str,
) -> Result<pb::Round, RoundsError> {
    let round = round_of(state, id)?;
    if round.status != status || height > end_of(&round) {
        return Err(RoundsError::WrongPhase(format!(
            "round {id} is not taking {taking}"
        )));
    }
    Ok(round)
}

/// `MsgOpenRound`, checked: a valid configuration and an evaluation set
/// whose hash is the one the configuration names.
#[derive(Clone)]
pub struct OpenRound {
    /// Must be the governance account.
    pub authority: Address,
    /// The configuration.
    pub config: pb::RoundConfig,
    /// The evaluation set.
    pub eval_set: pb::EvalSet,
    /// The reward pool.
    pub pool: Coin,
    /// For an evaluation set of texts, its checked market terms.
    pub market: Option<params::MarketEval>,
    /// The compute module's providers and models, as the app wires them.
    pub providers: &'static dyn Providers,
}

impl std::fmt::Debug for OpenRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenRound")
            .field("authority", &self.authority)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpenRound {
    /// Stateless checks.
    pub fn from_proto(
        m: pb::MsgOpenRound,
        providers: &'static dyn Providers,
    ) -> Result<Self, RoundsError> {
        let config = m
            .config
            .ok_or_else(|| RoundsError::Invalid("config missing".into()))?;
        let pool = params::validate_config(&config)?;
        let eval_set = m
            .eval_set
            .ok_or_else(|| RoundsError::Invalid("eval_set missing".into()))?;
        let market = params::validate_eval_set(&eval_set, &config, pool.amount, providers)?;
        if mask::eval_set_hash(&eval_set).as_slice() != config.eval_set_hash.as_slice() {
            return Err(RoundsError::Invalid(
                "eval_set does not hash to eval_set_hash".into(),
            ));
        }
        Ok(OpenRound {
            authority: addr("authority", &m.authority)?,
            config,
            eval_set,
            pool,
            market,
            providers,
        })
    }

    fn run(&self, state: &mut dyn StateWrite, ctx: &MsgCtx<'_>) -> Result<Vec<Event>, RoundsError> {
        let c = &self.config;
        // `&state` (a sized `&mut dyn StateWrite`, which reads) rather than a
        // trait upcast, which needs Rust 1.86.
        if !self.providers.model_registered(&state, &c.base_model_id)? {
            return Err(RoundsError::NotFound(format!(
                "model {} is not registered",
                c.base_model_id
            )));
        }
        if c.parent_version != 0 {
            let parent = state
                .version(c.parent_version)?
                .ok_or_else(|| RoundsError::NotFound(format!("version {}", c.parent_version)))?;
            if parent.base_model_id != c.base_model_id || parent.classes != c.classes {
                return Err(RoundsError::Invalid(
                    "parent_version has another base model or class count".into(),
                ));
            }
        }
        let open = state.open_count()?;
        if open >= MAX_OPEN_ROUNDS {
            return Err(RoundsError::Invalid(format!(
                "{MAX_OPEN_ROUNDS} rounds are already open"
            )));
        }
        let h = ctx.height;
        let join_end = h.saturating_add(c.join_blocks);
        let submit_end = join_end.saturating_add(c.submit_blocks);
        let reveal_end = submit_end.saturating_add(c.reveal_blocks);
        let id = state.take_id(state_key::next_round_id())?;
        let round = pb::Round {
            id,
            config: Some(c.clone()),
            hidden: HIDDEN,
            noise_lambda: params::noise_lambda(c),
            opened_height: h,
            join_end,
            submit_end,
            reveal_end,
            status: STATUS_JOINING.into(),
            eval_count: u32::try_from(self.eval_set.labels.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        let mut events = vec![ctx
            .host
            .record_treasury_spend(
                state,
                h,
                &crate::module_address(),
                std::slice::from_ref(&self.pool),
                "round",
                0,
            )
            .map_err(|e| RoundsError::Funds(e.to_string()))?];
        let s = &mut *state;
        events.extend(
            s.send(
                &crate::treasury_address(),
                &crate::module_address(),
                std::slice::from_ref(&self.pool),
            )
            .map_err(|e| RoundsError::Funds(format!("reward pool from the treasury: {e}")))?,
        );
        if let Some(market) = &self.market {
            self.check_market_takes_the_evaluation(&*s, ctx.height, market)?;
        }
        s.put_round(&round)?;
        s.put_raw(
            state_key::eval_set(id),
            prost::Message::encode_to_vec(&self.eval_set),
        )?;
        s.put_raw(state_key::due(join_end, id), Vec::new())?;
        s.put_open_count(open.saturating_add(1))?;
        events.push(event::opened(&round, &self.pool.to_string()));
        Ok(events)
    }
}

impl OpenRound {
    /// Submits one evaluation job (the zero head's) on a scratch layer that
    /// is then dropped: a round whose evaluation the compute market would
    /// refuse now (a replication above its maximum or the providers
    /// eligible, a price below its minimum for the texts' work units, an
    /// input over its size limit) is refused at opening, before anyone
    /// contributes, rather than failing at the end. The market can still
    /// change before the round finishes (the round then fails, pool back).
    fn check_market_takes_the_evaluation(
        &self,
        state: &dyn StateWrite,
        height: u64,
        market: &params::MarketEval,
    ) -> Result<(), RoundsError> {
        let c = &self.config;
        let requester = crate::module_address();
        let mut scratch = deai_types::Overlay::new(state);
        let job = crate::ClassifyJob {
            requester: &requester,
            model_id: &c.base_model_id,
            input: &market.zero_head_input,
            replication: c.eval_replication,
            price_per_replica: market.price_per_replica,
            height,
            prev_app_hash: &[],
        };
        match self.providers.submit_classify(&mut scratch, job)? {
            Ok(_) => Ok(()),
            Err(why) => Err(RoundsError::Invalid(format!(
                "the compute market would refuse the evaluation jobs: {why}"
            ))),
        }
    }
}

/// `MsgJoinRound`, checked: a 32-byte X25519 public key, not all zeros.
#[derive(Clone)]
pub struct JoinRound {
    /// The joining provider.
    pub contributor: Address,
    /// The round.
    pub round_id: u64,
    /// Its X25519 public key for this round.
    pub public_key: [u8; 32],
    /// The compute module's providers.
    pub providers: &'static dyn Providers,
}

impl std::fmt::Debug for JoinRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRound")
            .field("contributor", &self.contributor)
            .field("round_id", &self.round_id)
            .finish_non_exhaustive()
    }
}

/// Refuses `who` unless it is a provider eligible now with at least the round's bond.
fn check_bonded(
    providers: &dyn Providers,
    state: &dyn deai_types::StateRead,
    round: &pb::Round,
    who: &Address,
    height: u64,
) -> Result<(), RoundsError> {
    let min = Coin::parse_amount(
        &round
            .config
            .as_ref()
            .map(|c| c.min_provider_bond.clone())
            .unwrap_or_default(),
    )
    .map_err(|e| RoundsError::Corrupt(format!("round {}: bond: {e}", round.id)))?;
    match providers.eligible_bond(state, who, height)? {
        Some(bond) if bond >= min => Ok(()),
        Some(bond) => Err(RoundsError::Unauthorized(format!(
            "{who} bonds {bond}udeai, the round needs {min}udeai"
        ))),
        None => Err(RoundsError::Unauthorized(format!(
            "{who} is not an eligible (registered, unjailed) compute provider"
        ))),
    }
}

impl JoinRound {
    /// Stateless checks.
    pub fn from_proto(
        m: pb::MsgJoinRound,
        providers: &'static dyn Providers,
    ) -> Result<Self, RoundsError> {
        let public_key = <[u8; 32]>::try_from(m.public_key.as_slice())
            .map_err(|_| RoundsError::Invalid("public_key must be 32 bytes".into()))?;
        if public_key == [0u8; 32] {
            return Err(RoundsError::Invalid("public_key is zero".into()));
        }
        Ok(JoinRound {
            contributor: addr("contributor", &m.contributor)?,
            round_id: m.round_id,
            public_key,
            providers,
        })
    }

    fn run(&self, state: &mut dyn StateWrite, ctx: &MsgCtx<'_>) -> Result<Vec<Event>, RoundsError> {
        let mut round = round_in_phase(
            state,
            self.round_id,
            STATUS_JOINING,
            |r| r.join_end,
            ctx.height,
            "contributors",
        )?;
        if state.member_index(round.id, &self.contributor)?.is_some() {
            return Err(RoundsError::Duplicate(format!(
                "{} already joined round {}",
                self.contributor, round.id
            )));
        }
        let max = round
            .config
            .as_ref()
            .map_or(0, |c| c.max_contributors)
            .min(MAX_CONTRIBUTORS);
        if round.joined >= max {
            return Err(RoundsError::Invalid(format!("round {} is full", round.id)));
        }
        let pk_key = state_key::public_key(round.id, &self.public_key);
        if state.get_raw(&pk_key)?.is_some() {
            return Err(RoundsError::Duplicate(
                "another contributor posted this public key".into(),
            ));
        }
        check_bonded(
            self.providers,
            &state,
            &round,
            &self.contributor,
            ctx.height,
        )?;
        let index = round.joined;
        state.put_contributor(
            round.id,
            &pb::Contributor {
                address: self.contributor.to_bech32(),
                public_key: self.public_key.to_vec(),
                index,
                submitted: false,
                seed_commitments: Vec::new(),
            },
        )?;
        state.put_raw(
            state_key::member(round.id, &self.contributor),
            index.to_be_bytes().to_vec(),
        )?;
        state.put_raw(pk_key, Vec::new())?;
        round.joined = index.saturating_add(1);
        state.put_round(&round)?;
        Ok(vec![event::joined(round.id, &self.contributor, index)])
    }
}

/// `MsgSubmitUpdate`, checked: whole words and whole commitments, within the
/// largest sizes any round allows (each round's exact sizes are checked on execution).
#[derive(Debug, Clone)]
pub struct SubmitUpdate {
    /// The contributor.
    pub contributor: Address,
    /// The round.
    pub round_id: u64,
    /// The masked update, as words.
    pub masked: Vec<u32>,
    /// 32-byte seed commitments, one per other joined contributor, in join order.
    pub commitments: Vec<u8>,
    /// The compute module's providers.
    pub providers: &'static dyn Providers,
}

impl std::fmt::Debug for dyn Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Providers")
    }
}

impl SubmitUpdate {
    /// Stateless checks: sizes first, then decoding.
    pub fn from_proto(
        m: pb::MsgSubmitUpdate,
        providers: &'static dyn Providers,
    ) -> Result<Self, RoundsError> {
        let max_words = params::words(params::MAX_CLASSES);
        if m.masked_update.len() > max_words.saturating_mul(4) {
            return Err(RoundsError::Invalid("masked_update too long".into()));
        }
        let max_commitments = usize::try_from(MAX_CONTRIBUTORS).unwrap_or(usize::MAX);
        if m.seed_commitments.len() % 32 != 0
            || m.seed_commitments.len() > max_commitments.saturating_mul(32)
        {
            return Err(RoundsError::Invalid(
                "seed_commitments must be whole 32-byte hashes, at most 128".into(),
            ));
        }
        let masked = mask::decode_words(&m.masked_update)
            .ok_or_else(|| RoundsError::Invalid("masked_update is not whole words".into()))?;
        Ok(SubmitUpdate {
            contributor: addr("contributor", &m.contributor)?,
            round_id: m.round_id,
            masked,
            commitments: m.seed_commitments,
            providers,
        })
    }

    fn run(&self, state: &mut dyn StateWrite, ctx: &MsgCtx<'_>) -> Result<Vec<Event>, RoundsError> {
        let mut round = round_in_phase(
            state,
            self.round_id,
            STATUS_SUBMITTING,
            |r| r.submit_end,
            ctx.height,
            "updates",
        )?;
        let index = state
            .member_index(round.id, &self.contributor)?
            .ok_or_else(|| {
                RoundsError::Unauthorized(format!(
                    "{} did not join round {}",
                    self.contributor, round.id
                ))
            })?;
        let mut me = state
            .contributor(round.id, index)?
            .ok_or_else(|| RoundsError::Corrupt("a member without a record".into()))?;
        if me.submitted {
            return Err(RoundsError::Duplicate(format!(
                "{} already submitted to round {}",
                self.contributor, round.id
            )));
        }
        let classes = round.config.as_ref().map_or(0, |c| c.classes);
        if self.masked.len() != params::words(classes) {
            return Err(RoundsError::Invalid(format!(
                "masked_update must be {} words",
                params::words(classes)
            )));
        }
        let peers = usize::try_from(round.joined.saturating_sub(1)).unwrap_or(usize::MAX);
        if self.commitments.len() != peers.saturating_mul(32) {
            return Err(RoundsError::Invalid(format!(
                "seed_commitments must hold one 32-byte hash per other contributor ({peers})"
            )));
        }
        check_bonded(
            self.providers,
            &state,
            &round,
            &self.contributor,
            ctx.height,
        )?;
        me.submitted = true;
        me.seed_commitments = self.commitments.clone();
        state.put_contributor(round.id, &me)?;
        state.put_raw(
            state_key::update(round.id, index),
            mask::encode_words(&self.masked),
        )?;
        round.submitted = round.submitted.saturating_add(1);
        state.put_round(&round)?;
        Ok(vec![event::submitted(round.id, &self.contributor)])
    }
}

/// `MsgRevealSeeds`, checked: at most one seed per possible peer, 32 bytes each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealSeeds {
    /// The contributor revealing (it submitted).
    pub contributor: Address,
    /// The round.
    pub round_id: u64,
    /// (peer that did not submit, the seed shared with it).
    pub seeds: Vec<(Address, [u8; 32])>,
}

impl RevealSeeds {
    /// Stateless checks.
    pub fn from_proto(m: pb::MsgRevealSeeds) -> Result<Self, RoundsError> {
        if m.seeds.is_empty()
            || m.seeds.len() > usize::try_from(MAX_CONTRIBUTORS).unwrap_or(usize::MAX)
        {
            return Err(RoundsError::Invalid("between 1 and 128 seeds".into()));
        }
        let seeds = m
            .seeds
            .iter()
            .map(|s| {
                let seed = <[u8; 32]>::try_from(s.seed.as_slice())
                    .map_err(|_| RoundsError::Invalid("a seed must be 32 bytes".into()))?;
                Ok((addr("peer", &s.peer)?, seed))
            })
            .collect::<Result<Vec<_>, RoundsError>>()?;
        Ok(RevealSeeds {
            contributor: addr("contributor", &m.contributor)?,
            round_id: m.round_id,
            seeds,
        })
    }

    fn run(&self, state: &mut dyn StateWrite, ctx: &MsgCtx<'_>) -> Result<Vec<Event>, RoundsError> {
        let round = round_in_phase(
            state,
            self.round_id,
            STATUS_REVEALING,
            |r| r.reveal_end,
            ctx.height,
            "seed reveals",
        )?;
        let index = state
            .member_index(round.id, &self.contributor)?
            .ok_or_else(|| RoundsError::Unauthorized("not a contributor of the round".into()))?;
        let me = state
            .contributor(round.id, index)?
            .ok_or_else(|| RoundsError::Corrupt("a member without a record".into()))?;
        if !me.submitted {
            return Err(RoundsError::Unauthorized(
                "only a contributor that submitted reveals seeds".into(),
            ));
        }
        for (peer, seed) in &self.seeds {
            let p = state.member_index(round.id, peer)?.ok_or_else(|| {
                RoundsError::Invalid(format!("{peer} is not a contributor of the round"))
            })?;
            let them = state
                .contributor(round.id, p)?
                .ok_or_else(|| RoundsError::Corrupt("a member without a record".into()))?;
            if them.submitted {
                // Revealing this seed would unmask a submitted update.
                return Err(RoundsError::Invalid(format!(
                    "{peer} submitted: its seed must stay secret"
                )));
            }
            let slot = commitment_slot(index, p)
                .ok_or_else(|| RoundsError::Invalid("a seed with oneself".into()))?;
            let posted = me
                .seed_commitments
                .get(slot.saturating_mul(32)..slot.saturating_add(1).saturating_mul(32))
                .ok_or_else(|| RoundsError::Corrupt("seed commitments too short".into()))?;
            let expected = mask::seed_commitment(round.id, &self.contributor, peer, seed);
            if posted != expected.as_slice() {
                return Err(RoundsError::BadSeed(format!(
                    "the seed for {peer} is not the one {} committed to",
                    self.contributor
                )));
            }
            state.put_raw(state_key::reveal(round.id, index, p), seed.to_vec())?;
        }
        Ok(vec![event::revealed(
            round.id,
            &self.contributor,
            self.seeds.len(),
        )])
    }
}

/// Where contributor `me`'s commitment for `peer` sits in its list (join
/// order with itself skipped); `None` when they are the same.
pub fn commitment_slot(me: u32, peer: u32) -> Option<usize> {
    let slot = match peer.cmp(&me) {
        std::cmp::Ordering::Less => peer,
        std::cmp::Ordering::Equal => return None,
        std::cmp::Ordering::Greater => peer.saturating_sub(1),
    };
    usize::try_from(slot).ok()
}

/// A checked rounds message.
#[derive(Debug, Clone)]
pub enum RoundsMsg {
    /// Opens a round (governance).
    Open(Box<OpenRound>),
    /// Joins a round.
    Join(JoinRound),
    /// Submits a masked update.
    Submit(SubmitUpdate),
    /// Reveals seeds shared with dropped peers.
    Reveal(RevealSeeds),
}

impl ModuleMsg for RoundsMsg {
    fn type_url(&self) -> &'static str {
        match self {
            RoundsMsg::Open(_) => crate::MSG_OPEN_ROUND_TYPE_URL,
            RoundsMsg::Join(_) => crate::MSG_JOIN_ROUND_TYPE_URL,
            RoundsMsg::Submit(_) => crate::MSG_SUBMIT_UPDATE_TYPE_URL,
            RoundsMsg::Reveal(_) => crate::MSG_REVEAL_SEEDS_TYPE_URL,
        }
    }

    fn signer(&self) -> Address {
        match self {
            RoundsMsg::Open(m) => m.authority,
            RoundsMsg::Join(m) => m.contributor,
            RoundsMsg::Submit(m) => m.contributor,
            RoundsMsg::Reveal(m) => m.contributor,
        }
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// Opening a round spends from the treasury: governance only.
    fn is_governance_action(&self) -> bool {
        matches!(self, RoundsMsg::Open(_))
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        Ok(match self {
            RoundsMsg::Open(m) => {
                ctx.require_governance(self)?;
                m.run(state, ctx)?
            }
            RoundsMsg::Join(m) => m.run(state, ctx)?,
            RoundsMsg::Submit(m) => m.run(state, ctx)?,
            RoundsMsg::Reveal(m) => m.run(state, ctx)?,
        })
    }
}
