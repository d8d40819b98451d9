//! The contributor's side of a private data round (`deai-rounds`): what a
//! bonded compute provider's device runs between joining and submitting.
//!
//! * [`local_update`]: the integer update of the head from the device's own
//!   labelled embeddings (a multiclass perceptron step, below);
//! * [`clip_l2`]: scales the update so its squared L2 norm is at most the
//!   round's bound;
//! * [`skellam_noise`]: the device's share of the distributed noise, drawn
//!   from a ChaCha20 stream seeded by the device;
//! * [`Contributor::prepare`]: masks the clipped noised update with one
//!   pairwise mask per other contributor and builds `MsgSubmitUpdate` with
//!   the commitments to the pairwise seeds; [`Contributor::reveal_msg`]
//!   reveals the seeds shared with peers that dropped out;
//! * [`feature`]: a round's example features from the frozen encoder's
//!   integer sentence embedding.
//!
//! # Features
//!
//! The compute node's MiniLM encoder gives a sentence's embedding as 384
//! i32 components of the unit vector times 2^15 (bit-exact on every
//! backend). A round's example is that embedding as i8: each component
//! divided by 2^[`FEATURE_SHIFT`], rounded to nearest (ties away from zero)
//! and clamped to `[-127, 127]`, i.e. the unit vector times 2^9 = 512. A
//! MiniLM component rarely exceeds 0.25 in magnitude, so few clamp; the
//! evaluation set of a proposal is made with the same function
//! (`deai-compute round eval-set`).
//!
//! Pairwise seed of contributors `a` and `b` in round `r`: HKDF-SHA-256
//! with input key material the X25519 shared secret of their round keys,
//! salt `deai/rounds/v1/pairwise-seed`, info `r` (u64 big-endian) then the
//! lower address then the higher address (20 bytes each), 32 bytes out.
//! The mask is the seed's ChaCha20 keystream as u32 words
//! ([`deai_rounds::mask::expand`]); the lower address adds it, the higher
//! subtracts it, so the masks of every pair that both submitted cancel in
//! the sum mod 2^32.

use deai_proto::rounds::v1 as pb;
use deai_rounds::{mask, msg::commitment_slot, params::HIDDEN};
use deai_types::Address;
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroize;

/// Salt of the pairwise seed derivation.
const SEED_SALT: &[u8] = b"deai/rounds/v1/pairwise-seed";

/// Why the client refused to build a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// A peer's public key gives an all-zero shared secret (a low-order point).
    #[error("the public key of {0} is a low-order point")]
    WeakKey(String),
    /// The round as read from the chain is not one this client can work on.
    #[error("round: {0}")]
    Round(String),
    /// The contributor is not among the round's contributors.
    #[error("not a contributor of the round")]
    NotJoined,
    /// Revealing the seed shared with this peer would unmask its update.
    #[error("{0} submitted: the seed shared with it must stay secret")]
    PeerSubmitted(String),
}

/// Right shift from the encoder's embedding (unit vector times 2^15) to a
/// round's i8 feature (unit vector times 2^9).
pub const FEATURE_SHIFT: u32 = 6;

/// A round's i8 feature of an encoder embedding (see the crate docs):
/// `clamp(round(v / 2^FEATURE_SHIFT), -127, 127)` per component, ties away
/// from zero.
pub fn feature(embedding: &[i32]) -> Vec<i8> {
    let half = 1i64 << (FEATURE_SHIFT - 1);
    embedding
        .iter()
        .map(|&v| {
            let v = i64::from(v);
            let q = (v.abs() + half) >> FEATURE_SHIFT;
            let q = if v < 0 { -q } else { q };
            // Clamped to the i8 range just above, so the cast is exact.
            q.clamp(-127, 127) as i8
        })
        .collect()
}

/// One labelled example: an i8 embedding of width 384 and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The frozen encoder's embedding.
    pub embedding: Vec<i8>,
    /// The class.
    pub label: u8,
}

/// An evaluation set of labelled embeddings (evaluated on chain): each example's i8
/// embedding as its bytes, and its label.
pub fn embeddings_eval_set(examples: &[Example]) -> pb::EvalSet {
    pb::EvalSet {
        embeddings: examples
            .iter()
            .flat_map(|e| e.embedding.iter().map(|&v| v as u8))
            .collect(),
        labels: examples.iter().map(|e| e.label).collect(),
        ..Default::default()
    }
}

/// A contributor of a round as the chain lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its account address.
    pub address: Address,
    /// Its X25519 public key for the round.
    pub public_key: [u8; 32],
    /// Whether the chain records its masked update.
    pub submitted: bool,
}

/// What a contributor needs to know of a round (from the `Round` query and
/// the parent's head from the `Lineage` query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundView {
    /// The round id.
    pub id: u64,
    /// Rows of the head.
    pub classes: u32,
    /// Clipping bound (squared L2 norm).
    pub clip_l2_squared: u64,
    /// Poisson mean of each half of the Skellam share.
    pub noise_lambda: u64,
    /// The parent head the update is computed against.
    pub head: Vec<i32>,
    /// Every joined contributor, in join order.
    pub contributors: Vec<Peer>,
}

impl RoundView {
    /// Reads the `Round` query's answer; `head` is the parent version's
    /// (all zeros for version 0).
    pub fn from_query(resp: &pb::QueryRoundResponse, head: Vec<i32>) -> Result<Self, ClientError> {
        let round = resp
            .round
            .as_ref()
            .ok_or_else(|| ClientError::Round("no round".into()))?;
        let c = round
            .config
            .as_ref()
            .ok_or_else(|| ClientError::Round("no config".into()))?;
        if head.len() != deai_rounds::params::words(c.classes) {
            return Err(ClientError::Round("head has the wrong size".into()));
        }
        let contributors = resp
            .contributors
            .iter()
            .map(|p| {
                Ok(Peer {
                    address: p
                        .address
                        .parse()
                        .map_err(|e| ClientError::Round(format!("address: {e}")))?,
                    public_key: p
                        .public_key
                        .as_slice()
                        .try_into()
                        .map_err(|_| ClientError::Round("public key".into()))?,
                    submitted: p.submitted,
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        Ok(RoundView {
            id: round.id,
            classes: c.classes,
            clip_l2_squared: c.clip_l2_squared,
            noise_lambda: round.noise_lambda,
            head,
            contributors,
        })
    }
}

/// What [`Contributor::prepare`] builds.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The message to sign and broadcast.
    pub msg: pb::MsgSubmitUpdate,
    /// The clipped update plus the noise share, before masking (stays on the
    /// device; tests check the chain's unmasked sum against it).
    pub noised: Vec<i64>,
}

/// A contributor's round key and address.
pub struct Contributor {
    address: Address,
    secret: StaticSecret,
}

impl std::fmt::Debug for Contributor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contributor")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Contributor {
    /// The contributor `address` with the X25519 secret `key` (32 bytes from
    /// the device's CSPRNG; use a fresh key per round).
    pub fn new(address: Address, mut key: [u8; 32]) -> Self {
        let secret = StaticSecret::from(key);
        key.zeroize();
        Contributor { address, secret }
    }

    /// Its address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Its X25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        PublicKey::from(&self.secret).to_bytes()
    }

    /// `MsgJoinRound` for round `round_id`.
    pub fn join_msg(&self, round_id: u64) -> pb::MsgJoinRound {
        pb::MsgJoinRound {
            contributor: self.address.to_bech32(),
            round_id,
            public_key: self.public_key().to_vec(),
        }
    }

    /// The seed it shares with `peer` in round `round_id`.
    pub fn pairwise_seed(&self, round_id: u64, peer: &Peer) -> Result<[u8; 32], ClientError> {
        let shared = self
            .secret
            .diffie_hellman(&PublicKey::from(peer.public_key));
        if !shared.was_contributory() {
            return Err(ClientError::WeakKey(peer.address.to_bech32()));
        }
        let (lo, hi) = mask::ordered(&self.address, &peer.address);
        let mut info = Vec::with_capacity(48);
        info.extend_from_slice(&round_id.to_be_bytes());
        info.extend_from_slice(lo.as_bytes());
        info.extend_from_slice(hi.as_bytes());
        let mut seed = [0u8; 32];
        Hkdf::<Sha256>::new(Some(SEED_SALT), shared.as_bytes())
            .expand(&info, &mut seed)
            .map_err(|_| ClientError::Round("HKDF output length".into()))?;
        Ok(seed)
    }

    fn my_index(&self, round: &RoundView) -> Result<u32, ClientError> {
        let i = round
            .contributors
            .iter()
            .position(|p| p.address == self.address)
            .ok_or(ClientError::NotJoined)?;
        u32::try_from(i).map_err(|_| ClientError::Round("too many contributors".into()))
    }

    /// The masked update of `data` for `round` and its seed commitments;
    /// `noise_seed` seeds the noise share (32 bytes from the device's CSPRNG).
    pub fn prepare(
        &self,
        round: &RoundView,
        data: &[Example],
        noise_seed: [u8; 32],
    ) -> Result<Prepared, ClientError> {
        let update = local_update(&round.head, round.classes, data);
        let clipped = clip_l2(&update, round.clip_l2_squared);
        let mut rng = ChaCha20Rng::from_seed(noise_seed);
        let noise = skellam_noise(round.noise_lambda, clipped.len(), &mut rng);
        let noised: Vec<i64> = clipped
            .iter()
            .zip(&noise)
            .map(|(c, n)| c.saturating_add(*n))
            .collect();
        Ok(Prepared {
            msg: self.mask_msg(round, &noised)?,
            noised,
        })
    }

    /// `MsgSubmitUpdate` carrying `plain` (any vector, already clipped and
    /// noised) masked with every pairwise mask, and the seed commitments.
    pub fn mask_msg(
        &self,
        round: &RoundView,
        plain: &[i64],
    ) -> Result<pb::MsgSubmitUpdate, ClientError> {
        let me = self.my_index(round)?;
        let words = plain.len();
        let mut masked: Vec<u32> = plain.iter().map(|&v| v as i32 as u32).collect();
        let mut commitments = vec![0u8; round.contributors.len().saturating_sub(1) * 32];
        for (j, peer) in round.contributors.iter().enumerate() {
            let j = u32::try_from(j).map_err(|_| ClientError::Round("index".into()))?;
            let Some(slot) = commitment_slot(me, j) else {
                continue;
            };
            let mut seed = self.pairwise_seed(round.id, peer)?;
            let m = mask::expand(&seed, words);
            let add = mask::adds(&self.address, &peer.address);
            for (x, w) in masked.iter_mut().zip(&m) {
                *x = if add {
                    x.wrapping_add(*w)
                } else {
                    x.wrapping_sub(*w)
                };
            }
            commitments[slot * 32..slot * 32 + 32].copy_from_slice(&mask::seed_commitment(
                round.id,
                &self.address,
                &peer.address,
                &seed,
            ));
            seed.zeroize();
        }
        Ok(pb::MsgSubmitUpdate {
            contributor: self.address.to_bech32(),
            round_id: round.id,
            masked_update: mask::encode_words(&masked),
            seed_commitments: commitments,
        })
    }

    /// `MsgRevealSeeds` for the peers in `dropped`, checked against `round`
    /// as read from the chain after the submit window closed: a peer the
    /// chain lists as having submitted is refused here, because a refused
    /// transaction still publishes its bytes in the block, and that seed
    /// would unmask the peer's update.
    pub fn reveal_msg(
        &self,
        round: &RoundView,
        dropped: &[Address],
    ) -> Result<pb::MsgRevealSeeds, ClientError> {
        let seeds = round
            .contributors
            .iter()
            .filter(|p| dropped.contains(&p.address) && p.address != self.address)
            .map(|p| {
                if p.submitted {
                    return Err(ClientError::PeerSubmitted(p.address.to_bech32()));
                }
                Ok(pb::RevealedSeed {
                    peer: p.address.to_bech32(),
                    seed: self.pairwise_seed(round.id, p)?.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        Ok(pb::MsgRevealSeeds {
            contributor: self.address.to_bech32(),
            round_id: round.id,
            seeds,
        })
    }

    /// `MsgRevealSeeds` for every peer the chain lists as not having submitted.
    pub fn reveal_dropped(&self, round: &RoundView) -> Result<pb::MsgRevealSeeds, ClientError> {
        let dropped: Vec<Address> = round
            .contributors
            .iter()
            .filter(|p| !p.submitted)
            .map(|p| p.address)
            .collect();
        self.reveal_msg(round, &dropped)
    }
}

/// The integer update of a `classes x 384` head from labelled embeddings:
/// a batch multiclass perceptron step with margin zero. For each example
/// `(x, y)`, let `p` be the best competing class (highest score among
/// classes other than `y`, lowest index on a tie); unless `y` scores
/// strictly above `p`, the update adds `x` to row `y` and subtracts it from
/// row `p`. All scores use the parent head (a batch step).
pub fn local_update(head: &[i32], classes: u32, data: &[Example]) -> Vec<i64> {
    let hidden = HIDDEN as usize;
    let mut u = vec![0i64; deai_rounds::params::words(classes)];
    for ex in data {
        if ex.embedding.len() != hidden || u32::from(ex.label) >= classes {
            continue;
        }
        let scores: Vec<i64> = head
            .chunks_exact(hidden)
            .map(|row| {
                row.iter()
                    .zip(&ex.embedding)
                    .map(|(&w, &v)| i64::from(w) * i64::from(v))
                    .sum()
            })
            .collect();
        let y = usize::from(ex.label);
        let p = (0..scores.len())
            .filter(|&c| c != y)
            .fold(None::<usize>, |best, c| match best {
                Some(b) if scores[b] >= scores[c] => Some(b),
                _ => Some(c),
            })
            .unwrap_or(0);
        if scores[y] > scores[p] {
            continue;
        }
        for (k, &v) in ex.embedding.iter().enumerate() {
            u[y * hidden + k] += i64::from(v);
            u[p * hidden + k] -= i64::from(v);
        }
    }
    u
}

/// Clips `u` to squared L2 norm at most `bound`: if `||u||^2 > bound`, each
/// coordinate becomes `trunc(u_k x r / R)` with `r = floor(sqrt(bound))` and
/// `R = ceil(sqrt(||u||^2))`, so `||u'||^2 <= r^2 <= bound` (truncation
/// toward zero only shrinks).
pub fn clip_l2(u: &[i64], bound: u64) -> Vec<i64> {
    let norm2: u128 = u
        .iter()
        .map(|&v| u128::from(v.unsigned_abs()).pow(2))
        .fold(0u128, u128::saturating_add);
    if norm2 <= u128::from(bound) {
        return u.to_vec();
    }
    let r = i128::from(bound.isqrt());
    let big_r = norm2.isqrt();
    let big_r = i128::try_from(if big_r * big_r < norm2 {
        big_r + 1
    } else {
        big_r
    })
    .unwrap_or(i128::MAX);
    u.iter()
        .map(|&v| i64::try_from(i128::from(v) * r / big_r).unwrap_or(0))
        .collect()
}

/// `e^-1` in Q64, rounded down.
const E_INV_Q64: u128 = 6_786_177_901_268_885_274;

/// The cumulative distribution of Poisson(1) in Q64 at 0, 1, 2, … (up to
/// the point where the remaining mass is below 2^-64).
fn poisson1_cdf() -> Vec<u128> {
    let mut cdf = Vec::with_capacity(24);
    let (mut p, mut acc) = (E_INV_Q64, 0u128);
    for k in 1u128..=24 {
        acc += p;
        cdf.push(acc);
        p /= k;
    }
    cdf
}

/// A Poisson(1) draw: inverse transform of a uniform u64 against the Q64 table.
fn poisson1(rng: &mut impl RngCore, cdf: &[u128]) -> u64 {
    let u = u128::from(rng.next_u64());
    cdf.iter().position(|&c| u < c).unwrap_or(cdf.len()) as u64
}

/// `words` draws of Skellam(lambda, lambda) = Poisson(lambda) - Poisson(lambda):
/// each Poisson(lambda) is the sum of `lambda` Poisson(1) draws (exact
/// composition; each Poisson(1) by a Q64 table, within 2^-60 in total
/// variation of exact). Cost: O(lambda) per coordinate.
pub fn skellam_noise(lambda: u64, words: usize, rng: &mut impl RngCore) -> Vec<i64> {
    let cdf = poisson1_cdf();
    (0..words)
        .map(|_| {
            let mut a = 0i64;
            for _ in 0..lambda {
                a += poisson1(rng, &cdf) as i64;
                a -= poisson1(rng, &cdf) as i64;
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A clipped update is within the bound, keeps every sign and never grows a coordinate.
        #[test]
        fn clipping_never_exceeds_the_bound(
            u in prop::collection::vec(-(1i64 << 31)..(1i64 << 31), 1..64),
            bound in 1u64..(1u64 << 40),
        ) {
            let c = clip_l2(&u, bound);
            let n: u128 = c.iter().map(|&v| u128::from(v.unsigned_abs()).pow(2)).sum();
            prop_assert!(n <= u128::from(bound));
            for (a, b) in u.iter().zip(&c) {
                prop_assert!(b.unsigned_abs() <= a.unsigned_abs());
                prop_assert!(*b == 0 || b.signum() == a.signum());
            }
        }
    }

    #[test]
    fn clipping_brings_the_norm_under_the_bound_and_keeps_small_updates() {
        let u = vec![300, -400, 0, 1200];
        let c = clip_l2(&u, 10_000);
        let n: i64 = c.iter().map(|v| v * v).sum();
        assert!(n <= 10_000, "{c:?}");
        assert!(c[3] > 0 && c[1] < 0);
        assert_eq!(clip_l2(&[3, 4], 25), vec![3, 4]);
    }

    #[test]
    fn a_feature_rounds_half_away_from_zero_and_saturates() {
        assert_eq!(
            feature(&[0, 31, 32, -32, 96, -95, 1 << 15, -(1 << 15), 127 * 64]),
            vec![0, 0, 1, -1, 2, -1, 127, -127, 127]
        );
    }

    #[test]
    fn the_noise_has_mean_zero_and_variance_two_lambda() {
        let mut rng = ChaCha20Rng::from_seed([1; 32]);
        let lambda = 50;
        let n = 20_000;
        let x = skellam_noise(lambda, n, &mut rng);
        let mean: i64 = x.iter().sum();
        let var: i64 = x.iter().map(|v| v * v).sum::<i64>() / n as i64;
        // mean ~ 0 within 5 standard errors (sd 10 / sqrt(20000) x 20000 = 1414 x 5)
        assert!(mean.abs() < 7_100, "{mean}");
        assert!((90..=110).contains(&var), "{var}");
    }

    #[test]
    fn the_poisson_table_holds_all_but_a_negligible_mass() {
        let cdf = poisson1_cdf();
        assert!(
            u128::from(u64::MAX) - cdf[cdf.len() - 1] < 64,
            "{}",
            cdf[cdf.len() - 1]
        );
    }
}
