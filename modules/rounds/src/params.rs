//! The bounds every round's configuration must respect. They are constants,
//! not governable parameters: each one bounds block work or message size,
//! so a proposal cannot make an end block loop or allocate without bound.

use deai_proto::rounds::v1 as pb;
use deai_types::{Coin, BASE_DENOM};

use crate::{Providers, RoundsError};

/// Width of the frozen encoder's embedding (all-MiniLM-L6-v2).
pub const HIDDEN: u32 = 384;
/// Fewest classes a head may have.
pub const MIN_CLASSES: u32 = 2;
/// Most classes a head may have (a head is at most 16 x 384 words, 24 KiB).
pub const MAX_CLASSES: u32 = 16;
/// Most contributors a round may admit: bounds the seed commitments each
/// submission carries (32 bytes per peer) and the end block's unmasking
/// (one vector per submitter, one mask expansion per revealed seed).
pub const MAX_CONTRIBUTORS: u32 = 128;
/// Most rounds open at once: bounds the rounds one end block can finish.
pub const MAX_OPEN_ROUNDS: u64 = 4;
/// Longest phase, in blocks.
pub const MAX_PHASE_BLOCKS: u64 = 1_000_000;
/// Most evaluation examples.
pub const MAX_EVAL_EXAMPLES: u32 = 1024;
/// Most multiply-adds of one evaluation (examples x hidden x classes); the
/// end block evaluates twice (parent and new head).
pub const MAX_EVAL_OPS: u64 = 1 << 23;
/// Largest clipping bound (squared L2 norm of one contributor's update).
pub const MAX_CLIP_L2_SQUARED: u64 = 1 << 60;
/// Largest target noise variance: a contributor samples O(lambda) per
/// coordinate, so this also bounds an honest device's work.
pub const MAX_NOISE_VARIANCE: u64 = 1 << 32;
/// Largest learning-rate numerator and denominator.
pub const MAX_LR: u32 = 1 << 20;

/// Checks a round's configuration against the bounds (stateless).
pub fn validate_config(c: &pb::RoundConfig) -> Result<Coin, RoundsError> {
    let bad = |s: &str| Err(RoundsError::Invalid(s.to_string()));
    if c.base_model_id.len() != 64
        || !c
            .base_model_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return bad("base_model_id must be 64 lowercase hex digits");
    }
    if !(MIN_CLASSES..=MAX_CLASSES).contains(&c.classes) {
        return bad("classes must be between 2 and 16");
    }
    if c.lr_den == 0 || c.lr_den > MAX_LR || c.lr_num == 0 || c.lr_num > MAX_LR {
        return bad("lr_num and lr_den must be between 1 and 2^20");
    }
    if c.clip_l2_squared == 0 || c.clip_l2_squared > MAX_CLIP_L2_SQUARED {
        return bad("clip_l2_squared must be between 1 and 2^60");
    }
    if c.noise_variance == 0 || c.noise_variance > MAX_NOISE_VARIANCE {
        return bad("noise_variance must be between 1 and 2^32");
    }
    if c.min_contributors < 2
        || c.max_contributors < c.min_contributors
        || c.max_contributors > MAX_CONTRIBUTORS
    {
        return bad("need 2 <= min_contributors <= max_contributors <= 128");
    }
    for (name, v) in [
        ("join_blocks", c.join_blocks),
        ("submit_blocks", c.submit_blocks),
        ("reveal_blocks", c.reveal_blocks),
    ] {
        if v == 0 || v > MAX_PHASE_BLOCKS {
            return Err(RoundsError::Invalid(format!(
                "{name} must be between 1 and {MAX_PHASE_BLOCKS}"
            )));
        }
    }
    Coin::parse_amount(&c.min_provider_bond)
        .map_err(|e| RoundsError::Invalid(format!("min_provider_bond: {e}")))?;
    let pool = c
        .reward_pool
        .as_ref()
        .ok_or_else(|| RoundsError::Invalid("reward_pool missing".into()))?;
    if pool.denom != BASE_DENOM {
        return bad("reward_pool must be in udeai");
    }
    let amount = Coin::parse_amount(&pool.amount)
        .map_err(|e| RoundsError::Invalid(format!("reward_pool: {e}")))?;
    if amount == 0 {
        return bad("reward_pool must be positive");
    }
    if c.eval_set_hash.len() != 32 {
        return bad("eval_set_hash must be 32 bytes");
    }
    Ok(Coin::new(amount, BASE_DENOM))
}

/// Most providers of each evaluation job (an evaluation set of texts).
pub const MAX_EVAL_REPLICATION: u32 = 16;

/// The checked market terms of an evaluation set of texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketEval {
    /// The `classify` input of the zero head over the set's texts: one of
    /// the jobs the round will submit, the same size as the other.
    pub zero_head_input: Vec<u8>,
    /// udeai per replica of each job.
    pub price_per_replica: u128,
}

/// Checks an evaluation set against the round's configuration `c` (whose
/// pool is `pool` udeai) and the bounds. A set of embeddings is evaluated
/// on chain, so its size bounds the end block's work (`None`); a set of
/// texts must be a `classify` input compute accepts, and its two evaluation
/// jobs may cost at most half the pool (its terms).
pub fn validate_eval_set(
    e: &pb::EvalSet,
    c: &pb::RoundConfig,
    pool: u128,
    providers: &dyn Providers,
) -> Result<Option<MarketEval>, RoundsError> {
    let bad = |s: String| Err(RoundsError::Invalid(format!("eval set: {s}")));
    let count = u32::try_from(e.labels.len())
        .ok()
        .filter(|n| (1..=MAX_EVAL_EXAMPLES).contains(n))
        .ok_or_else(|| RoundsError::Invalid("eval set: 1 to 1024 examples".into()))?;
    if e.labels.iter().any(|&l| u32::from(l) >= c.classes) {
        return bad("a label >= classes".into());
    }
    let price = if c.eval_price_per_replica.is_empty() {
        0
    } else {
        Coin::parse_amount(&c.eval_price_per_replica)
            .map_err(|e| RoundsError::Invalid(format!("eval_price_per_replica: {e}")))?
    };
    if e.texts.is_empty() {
        if c.eval_replication != 0 || price != 0 {
            return bad(
                "eval_replication and eval_price_per_replica are for an evaluation set of texts"
                    .into(),
            );
        }
        let hidden = usize::try_from(HIDDEN).unwrap_or(usize::MAX);
        if Some(e.embeddings.len()) != e.labels.len().checked_mul(hidden) {
            return bad("embeddings must be examples x 384 bytes".into());
        }
        let ops = u64::from(count)
            .saturating_mul(u64::from(HIDDEN))
            .saturating_mul(u64::from(c.classes));
        if ops > MAX_EVAL_OPS {
            return bad(format!(
                "examples x hidden x classes exceeds {MAX_EVAL_OPS}"
            ));
        }
        return Ok(None);
    }
    if !e.embeddings.is_empty() {
        return bad("either embeddings or texts, not both".into());
    }
    let zero = vec![0; words(c.classes)];
    let (zero_head_input, texts) = providers
        .classify_input(c.classes, &zero, &e.texts)
        .map_err(|why| RoundsError::Invalid(format!("eval set: texts: {why}")))?;
    if texts != count {
        return bad(format!("{texts} texts but {count} labels"));
    }
    if !(1..=MAX_EVAL_REPLICATION).contains(&c.eval_replication) {
        return bad(format!(
            "eval_replication must be between 1 and {MAX_EVAL_REPLICATION} for a set of texts"
        ));
    }
    if price == 0 {
        return bad("eval_price_per_replica must be positive for a set of texts".into());
    }
    let cost = price
        .checked_mul(u128::from(c.eval_replication))
        .and_then(|v| v.checked_mul(2));
    if cost.is_none_or(|cost| cost > pool.checked_div(2).unwrap_or(0)) {
        return bad(
            "the two evaluation jobs (2 x eval_replication x eval_price_per_replica) may take at \
             most half the reward pool"
                .into(),
        );
    }
    Ok(Some(MarketEval {
        zero_head_input,
        price_per_replica: price,
    }))
}

/// Poisson mean of each half of a contributor's Skellam share:
/// `ceil(noise_variance / (2 min_contributors))`, so that when at least
/// `min_contributors` submit the summed noise has variance >= the target.
pub fn noise_lambda(c: &pb::RoundConfig) -> u64 {
    let per = u64::from(c.min_contributors).saturating_mul(2).max(1);
    c.noise_variance.div_ceil(per)
}

/// Words of a round's head and updates: classes x hidden.
pub fn words(classes: u32) -> usize {
    usize::try_from(classes.saturating_mul(HIDDEN)).unwrap_or(usize::MAX)
}
