//! Evaluation suites: governance registers labelled texts and a probe head
//! for a registered model ([`RegisterEvalSuite`]); anyone runs a suite
//! ([`RunEvalSuite`]), which submits a `classify` job of the suite's head
//! over its texts on the model, paid by the runner like any job; when the
//! job settles with an agreed answer of one class per text, the share of
//! texts it classifies as labelled is the model's latest evaluation on the
//! suite ([`record`], called by settlement). A suite marked `required`
//! gates the market: a job may name the model only while its latest
//! evaluation on every required suite passed ([`check_usable`]).
//!
//! Bounds: at most [`MAX_SUITES_PER_MODEL`] suites a model, so the gate
//! reads at most that many index entries and evaluations per job; a suite's
//! texts are an `embed` input (at most 256 texts, 64 KiB); everything is
//! checked when governance registers it, so a suite always makes a job
//! input the chain accepts (unless governance lowers `max_input_bytes`
//! below it, which makes running it fail with a clear error).

use deai_proto::compute::v1 as pb;
use deai_types::{Event, StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{
    input::{classify_input, CLASSIFY_MAX_CLASSES},
    msg::SubmitJob,
    record::{sha3, validate_model_id},
    state_key, BlockCtx, ComputeError, ComputeRead, Kind,
};

/// Most suites one model may have.
pub const MAX_SUITES_PER_MODEL: usize = 8;

/// Fewest providers a suite's run may have: its score changes whether the
/// model may take jobs, so it takes independent agreement (a strict
/// majority of at least 3), never one provider's word.
pub const MIN_SUITE_REPLICATION: u32 = 3;

/// Longest suite name.
pub const MAX_SUITE_NAME: usize = 128;

/// A suite's `classify` input: its head over its texts.
pub fn suite_input(s: &pb::EvalSuite) -> Result<Vec<u8>, ComputeError> {
    Ok(classify_input(s.classes, &s.head, &s.texts)
        .map_err(|e| invalid(e.to_string()))?
        .0)
}

/// A suite's hash: SHA3-256 of its classify input and its labels.
pub fn suite_hash(s: &pb::EvalSuite) -> Result<[u8; 32], ComputeError> {
    Ok(sha3(&[&suite_input(s)?, &s.labels]))
}

fn invalid(reason: impl Into<String>) -> ComputeError {
    ComputeError::InvalidJob(format!("evaluation suite: {}", reason.into()))
}

/// Stateless checks of a suite as governance proposes it.
pub fn validate(s: &pb::EvalSuite) -> Result<(), ComputeError> {
    if s.name.is_empty() || s.name.len() > MAX_SUITE_NAME {
        return Err(invalid(format!("name must be 1 to {MAX_SUITE_NAME} bytes")));
    }
    validate_model_id(&s.model_id)?;
    if !(2..=CLASSIFY_MAX_CLASSES).contains(&s.classes) {
        return Err(invalid("classes must be 2 to 16"));
    }
    let (_, texts) =
        classify_input(s.classes, &s.head, &s.texts).map_err(|e| invalid(e.to_string()))?;
    if s.labels.len() != texts {
        return Err(invalid(format!(
            "{texts} texts but {} labels",
            s.labels.len()
        )));
    }
    if s.labels.iter().any(|&l| u32::from(l) >= s.classes) {
        return Err(invalid("a label >= classes"));
    }
    if s.pass_ppm > 1_000_000 {
        return Err(invalid("pass_ppm must be at most 1000000"));
    }
    Ok(())
}

/// Suite `id`.
pub fn suite<S: StateRead + ?Sized>(
    state: &S,
    id: u64,
) -> Result<Option<pb::EvalSuite>, ComputeError> {
    Ok(state.get_proto(&state_key::suite(id))?)
}

/// A model's suites: (id, required), in id order.
pub fn model_suites<S: StateRead + ?Sized>(
    state: &S,
    model_id: &str,
) -> Result<Vec<(u64, bool)>, ComputeError> {
    let prefix = state_key::model_suites_prefix(model_id);
    state
        .prefix_raw(&prefix, None, MAX_SUITES_PER_MODEL)?
        .into_iter()
        .map(|(k, v)| {
            let id = k
                .get(prefix.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| {
                    ComputeError::State(deai_types::StateError::Storage("a model suite key".into()))
                })?;
            Ok((id, v.first() == Some(&1)))
        })
        .collect()
}

/// The latest evaluation of `model_id` on suite `id`.
pub fn evaluation<S: StateRead + ?Sized>(
    state: &S,
    model_id: &str,
    id: u64,
) -> Result<Option<pb::Evaluation>, ComputeError> {
    Ok(state.get_proto(&state_key::evaluation(model_id, id))?)
}

/// Refuses a job naming `model_id` unless its latest evaluation on every
/// suite governance requires for it passed.
pub fn check_usable<S: StateRead + ?Sized>(state: &S, model_id: &str) -> Result<(), ComputeError> {
    for (id, required) in model_suites(state, model_id)? {
        if !required {
            continue;
        }
        let passed = evaluation(state, model_id, id)?.is_some_and(|e| e.passed);
        if !passed {
            return Err(ComputeError::InvalidJob(format!(
                "model {model_id} has not passed evaluation suite {id}, which governance \
                 requires before jobs may use it; anyone can run it (MsgRunEvalSuite)"
            )));
        }
    }
    Ok(())
}

/// Records the evaluation a settled suite job gives: only a job whose
/// strict majority agreed on an output of one class below the suite's
/// class count per text counts; anything else leaves the model's record as
/// it was. Never fails on data users put in state.
pub fn record<S: StateWrite + ?Sized>(
    state: &mut S,
    job: &crate::Job,
    height: u64,
) -> Result<Vec<Event>, ComputeError> {
    let Some(s) = suite(state, job.eval_suite_id)? else {
        return Ok(Vec::new());
    };
    let Some(output) = job.agreed_output() else {
        return Ok(Vec::new());
    };
    if output.len() != s.labels.len() || output.iter().any(|&c| u32::from(c) >= s.classes) {
        return Ok(Vec::new());
    }
    let correct = output.iter().zip(&s.labels).filter(|(a, b)| a == b).count();
    let count = s.labels.len();
    // At most 256 texts: no overflow.
    let passed = (correct as u64).saturating_mul(1_000_000)
        >= u64::from(s.pass_ppm).saturating_mul(count as u64);
    let e = pb::Evaluation {
        suite_id: s.id,
        suite_hash: s.hash.clone(),
        model_id: s.model_id.clone(),
        job_id: job.id,
        height,
        correct: u32::try_from(correct).unwrap_or(u32::MAX),
        count: u32::try_from(count).unwrap_or(u32::MAX),
        passed,
    };
    state.put_proto(state_key::evaluation(&s.model_id, s.id), &e)?;
    state.put_proto(state_key::evaluation_log(&s.model_id, job.id), &e)?;
    Ok(vec![crate::event::model_evaluated(&e)])
}

/// A checked `MsgRegisterEvalSuite`.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterEvalSuite {
    /// Must be the gov module account.
    pub authority: deai_types::Address,
    /// The suite (id and hash are set on execution).
    pub suite: pb::EvalSuite,
}

// Every field of a suite is an integer, a string or bytes: equality is total.
impl Eq for RegisterEvalSuite {}

impl RegisterEvalSuite {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgRegisterEvalSuite) -> Result<Self, ComputeError> {
        let suite = m.suite.clone().ok_or_else(|| invalid("no suite given"))?;
        validate(&suite)?;
        Ok(RegisterEvalSuite {
            authority: crate::msg::parse_address("authority", &m.authority)?,
            suite,
        })
    }

    /// Registers the suite; only governance may. The model must be
    /// registered and have fewer than [`MAX_SUITES_PER_MODEL`] suites.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        crate::msg::check_gov(&self.authority)?;
        let model = &self.suite.model_id;
        if state.model(model)?.is_none() {
            return Err(ComputeError::ModelNotFound(model.clone()));
        }
        if model_suites(state, model)?.len() >= MAX_SUITES_PER_MODEL {
            return Err(invalid(format!(
                "model {model} already has {MAX_SUITES_PER_MODEL} suites"
            )));
        }
        let id = read_next_id(state)?;
        state.put_raw(
            state_key::next_suite_id(),
            id.checked_add(1)
                .ok_or_else(|| invalid("suite id overflow"))?
                .to_be_bytes()
                .to_vec(),
        )?;
        let mut s = self.suite.clone();
        s.id = id;
        s.hash = suite_hash(&s)?.to_vec();
        state.put_proto(state_key::suite(id), &s)?;
        state.put_raw(
            state_key::model_suite(model, id),
            vec![u8::from(s.required)],
        )?;
        Ok(vec![crate::event::suite_registered(&s)])
    }
}

fn read_next_id<S: StateRead + ?Sized>(state: &S) -> Result<u64, ComputeError> {
    Ok(match state.get_raw(&state_key::next_suite_id())? {
        None => 1,
        Some(b) => <[u8; 8]>::try_from(b.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| {
                ComputeError::State(deai_types::StateError::Storage("the next suite id".into()))
            })?,
    })
}

/// A checked `MsgRemoveEvalSuite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveEvalSuite {
    /// Must be the gov module account.
    pub authority: deai_types::Address,
    /// The suite.
    pub suite_id: u64,
}

impl RemoveEvalSuite {
    /// Stateless checks.
    pub fn from_proto(m: &pb::MsgRemoveEvalSuite) -> Result<Self, ComputeError> {
        Ok(RemoveEvalSuite {
            authority: crate::msg::parse_address("authority", &m.authority)?,
            suite_id: m.suite_id,
        })
    }

    /// Removes the suite, its index entry and the model's latest evaluation
    /// on it (the history keeps its past runs); only governance may. A run of it still in the market settles as a
    /// plain classify job (its score is recorded nowhere).
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, ComputeError> {
        crate::msg::check_gov(&self.authority)?;
        let s = suite(state, self.suite_id)?
            .ok_or_else(|| invalid(format!("no suite {}", self.suite_id)))?;
        state.delete_raw(state_key::suite(s.id))?;
        state.delete_raw(state_key::model_suite(&s.model_id, s.id))?;
        state.delete_raw(state_key::evaluation(&s.model_id, s.id))?;
        Ok(vec![crate::event::suite_removed(&s)])
    }
}

/// A checked `MsgRunEvalSuite`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvalSuite {
    /// Who pays, and signer.
    pub requester: deai_types::Address,
    /// The suite.
    pub suite_id: u64,
    /// Replication of the job.
    pub replication: u32,
    /// udeai per replica.
    pub price_per_replica: u128,
}

impl RunEvalSuite {
    /// Stateless checks: at least [`MIN_SUITE_REPLICATION`] providers.
    pub fn from_proto(m: &pb::MsgRunEvalSuite) -> Result<Self, ComputeError> {
        if m.replication < MIN_SUITE_REPLICATION {
            return Err(ComputeError::InvalidJob(format!(
                "a suite runs on at least {MIN_SUITE_REPLICATION} providers, so that its score \
                 takes independent agreement"
            )));
        }
        Ok(RunEvalSuite {
            requester: crate::msg::parse_address("requester", &m.requester)?,
            suite_id: m.suite_id,
            replication: m.replication,
            price_per_replica: deai_types::Coin::parse_amount(&m.price_per_replica)
                .map_err(|e| ComputeError::InvalidAmount(format!("price_per_replica: {e}")))?,
        })
    }

    /// Submits the suite's classify job (as [`SubmitJob`] does, every check
    /// and price rule included, but past the suites' gate: a model must be
    /// able to take the job that lets it pass).
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        ctx: &BlockCtx,
    ) -> Result<Vec<Event>, ComputeError> {
        let s = suite(state, self.suite_id)?
            .ok_or_else(|| invalid(format!("no suite {}", self.suite_id)))?;
        let input = suite_input(&s)?;
        let job = SubmitJob {
            requester: self.requester,
            kind: Kind::Classify,
            model_id: Some(s.model_id.clone()),
            input_hash: sha3(&[&input]),
            input,
            replication: self.replication,
            price_per_replica: self.price_per_replica,
            deadline: None,
        };
        job.execute_as(state, ctx, s.id)
    }
}
