//! The compute module's records in typed form (addresses parsed, amounts as
//! `u128`, hashes as arrays), with their stored protobuf form beside them.

use deai_proto::compute::v1 as pb;
pub use deai_proto::compute::v1::JobStatus;
use deai_types::{Address, Coin, StateError};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Sha3_256};

use crate::ComputeError;

/// A 32-byte SHA3-256 digest.
pub type Hash = [u8; 32];

/// SHA3-256 of `parts`, concatenated.
pub fn sha3(parts: &[&[u8]]) -> Hash {
    let mut h = Sha3_256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The commitment a provider publishes: SHA3-256(result_hash || address bytes || salt).
pub fn commitment(result_hash: &Hash, provider: &Address, salt: &[u8]) -> Hash {
    sha3(&[result_hash, provider.as_bytes(), salt])
}

fn corrupt(what: &str) -> ComputeError {
    ComputeError::State(StateError::Storage(format!("stored {what} is malformed")))
}

fn stored_amount(what: &str, s: &str) -> Result<u128, ComputeError> {
    Coin::parse_amount(s).map_err(|_| corrupt(what))
}

fn stored_address(what: &str, s: &str) -> Result<Address, ComputeError> {
    s.parse().map_err(|_| corrupt(what))
}

fn stored_hash(what: &str, b: &[u8]) -> Result<Option<Hash>, ComputeError> {
    if b.is_empty() {
        return Ok(None);
    }
    Hash::try_from(b).map(Some).map_err(|_| corrupt(what))
}

/// A workload kind. Work units, which set the minimum price and the
/// emission reward, come from the work the input asks for
/// ([`crate::msg::SubmitJob::work_units`]). `infer` is known (old jobs may
/// name it) but no longer accepted: no node implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `gemm-i8`: an int8 matrix product (built-in kernel, no model).
    GemmI8,
    /// `embed`: text embedding with a registered model.
    Embed,
    /// `infer`: a forward pass of a registered model.
    Infer,
    /// `classify`: texts classified by a head atop a registered encoder.
    Classify,
}

impl Kind {
    /// Every kind, in name order.
    pub const ALL: [Kind; 4] = [Kind::Classify, Kind::Embed, Kind::GemmI8, Kind::Infer];

    /// The name used in messages and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::GemmI8 => "gemm-i8",
            Kind::Embed => "embed",
            Kind::Infer => "infer",
            Kind::Classify => "classify",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Result<Self, ComputeError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ComputeError::InvalidKind(format!(
                    "unknown kind {s:?}; known kinds are classify, embed, gemm-i8, infer"
                ))
            })
    }

    /// Whether jobs of this kind name a registered model.
    pub fn needs_model(self) -> bool {
        !matches!(self, Kind::GemmI8)
    }
}

/// A registered model, as in genesis JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Lowercase hex SHA3-256 of the canonical weight file.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Architecture, such as `bert`.
    pub architecture: String,
    /// Quantization, such as `int8`.
    pub quantization: String,
    /// License identifier.
    pub license: String,
    /// Weight file size in bytes.
    pub size_bytes: u64,
}

impl Model {
    /// Checks the id is 64 lowercase hex digits and the text fields are sane.
    pub fn validate(&self) -> Result<(), ComputeError> {
        validate_model_id(&self.id)?;
        for (field, v) in [
            ("name", &self.name),
            ("architecture", &self.architecture),
            ("quantization", &self.quantization),
            ("license", &self.license),
        ] {
            if v.is_empty() || v.len() > 128 {
                return Err(ComputeError::InvalidModel(format!(
                    "{field} must be 1 to 128 bytes"
                )));
            }
        }
        if self.size_bytes == 0 {
            return Err(ComputeError::InvalidModel(
                "size_bytes must be positive".into(),
            ));
        }
        Ok(())
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::Model {
        pb::Model {
            id: self.id.clone(),
            name: self.name.clone(),
            architecture: self.architecture.clone(),
            quantization: self.quantization.clone(),
            license: self.license.clone(),
            size_bytes: self.size_bytes,
        }
    }

    /// From the protobuf form (unvalidated).
    pub fn from_proto(m: &pb::Model) -> Self {
        Model {
            id: m.id.clone(),
            name: m.name.clone(),
            architecture: m.architecture.clone(),
            quantization: m.quantization.clone(),
            license: m.license.clone(),
            size_bytes: m.size_bytes,
        }
    }
}

/// Checks a model id: 64 lowercase hex digits (a SHA3-256).
pub fn validate_model_id(id: &str) -> Result<(), ComputeError> {
    if id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(())
    } else {
        Err(ComputeError::InvalidModel(format!(
            "model id {id:?} must be the lowercase hex SHA3-256 of the weight file"
        )))
    }
}

/// A compute provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provider {
    /// Its account address.
    pub address: Address,
    /// Bonded udeai, held by the compute module account.
    #[serde(with = "crate::params::amount")]
    pub bond: u128,
    /// Device description.
    pub device: String,
    /// Jailed while the height is below this.
    #[serde(default)]
    pub jailed_until: u64,
    /// Assigned jobs not yet settled.
    #[serde(default)]
    pub open_jobs: u64,
    /// Height of registration.
    #[serde(default)]
    pub registered_height: u64,
    /// udeai waiting in the unbonding queue (also held by the module account).
    #[serde(default, with = "crate::params::amount")]
    pub unbonding: u128,
}

impl Provider {
    /// Whether the provider is jailed at `height`.
    pub fn is_jailed(&self, height: u64) -> bool {
        height < self.jailed_until
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::Provider {
        pb::Provider {
            address: self.address.to_bech32(),
            bond: self.bond.to_string(),
            device: self.device.clone(),
            jailed_until: self.jailed_until,
            open_jobs: self.open_jobs,
            registered_height: self.registered_height,
            unbonding: self.unbonding.to_string(),
        }
    }

    /// From the stored form.
    pub fn from_proto(p: &pb::Provider) -> Result<Self, ComputeError> {
        Ok(Provider {
            address: stored_address("provider address", &p.address)?,
            bond: stored_amount("provider bond", &p.bond)?,
            device: p.device.clone(),
            jailed_until: p.jailed_until,
            open_jobs: p.open_jobs,
            registered_height: p.registered_height,
            unbonding: stored_amount("provider unbonding", &p.unbonding)?,
        })
    }
}

/// One provider's part in a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The provider.
    pub provider: Address,
    /// Its commitment, once committed.
    pub commitment: Option<Hash>,
    /// Its revealed result hash, once revealed.
    pub result_hash: Option<Hash>,
    /// Output bytes revealed with the result (moved to the job at settlement).
    pub output: Vec<u8>,
}

/// A job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Sequential id from 1.
    pub id: u64,
    /// Who pays; refunds go back here.
    pub requester: Address,
    /// Workload kind.
    pub kind: Kind,
    /// The registered model, for kinds that need one.
    pub model_id: Option<String>,
    /// Input bytes.
    pub input: Vec<u8>,
    /// SHA3-256 of the input.
    pub input_hash: Hash,
    /// Replication factor.
    pub replication: u32,
    /// udeai per agreeing replica.
    pub price_per_replica: u128,
    /// udeai still escrowed in the module account for this job.
    pub escrow: u128,
    /// Status.
    pub status: JobStatus,
    /// Height of the submitting block.
    pub submitted_height: u64,
    /// Height of the assigning begin_block (0 until then).
    pub assigned_height: u64,
    /// Last height at which commitments are accepted.
    pub commit_deadline: u64,
    /// Last height at which reveals are accepted.
    pub reveal_deadline: u64,
    /// Assigned providers in draw order.
    pub assignments: Vec<Assignment>,
    /// The final result hash.
    pub result_hash: Option<Hash>,
    /// The final output bytes, if revealed.
    pub output: Vec<u8>,
    /// Work units the job is worth.
    pub work_units: u64,
    /// Settlement height (0 until then).
    pub settled_height: u64,
    /// The requester's deadline, if it set one (see [`crate::deadline`]).
    pub deadline: Option<u64>,
    /// The evaluation suite this job runs (0: none; see [`crate::suite`]).
    pub eval_suite_id: u64,
}

impl Job {
    /// The assignment of `provider`, if it is assigned.
    pub fn assignment_mut(&mut self, provider: &Address) -> Option<&mut Assignment> {
        self.assignments
            .iter_mut()
            .find(|a| &a.provider == provider)
    }

    /// Whether every assigned provider has committed.
    pub fn all_committed(&self) -> bool {
        self.assignments.iter().all(|a| a.commitment.is_some())
    }

    /// The output a strict majority agreed on, once the job is finalized on
    /// a real result whose bytes a provider revealed; `None` otherwise (not
    /// settled, disputed, expired, the invalid-input answer, or no bytes).
    pub fn agreed_output(&self) -> Option<&[u8]> {
        let h = self.result_hash?;
        (self.status == JobStatus::Finalized
            && h != crate::input::invalid_input_result_hash()
            && !self.output.is_empty()
            && sha3(&[&self.output]) == h)
            .then_some(self.output.as_slice())
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::Job {
        pb::Job {
            id: self.id,
            requester: self.requester.to_bech32(),
            kind: self.kind.as_str().to_string(),
            model_id: self.model_id.clone().unwrap_or_default(),
            input: self.input.clone(),
            input_hash: self.input_hash.to_vec(),
            replication: self.replication,
            price_per_replica: self.price_per_replica.to_string(),
            escrow: self.escrow.to_string(),
            status: self.status as i32,
            submitted_height: self.submitted_height,
            assigned_height: self.assigned_height,
            commit_deadline: self.commit_deadline,
            reveal_deadline: self.reveal_deadline,
            assignments: self
                .assignments
                .iter()
                .map(|a| pb::Assignment {
                    provider: a.provider.to_bech32(),
                    commitment: a.commitment.map(|h| h.to_vec()).unwrap_or_default(),
                    result_hash: a.result_hash.map(|h| h.to_vec()).unwrap_or_default(),
                    output: a.output.clone(),
                })
                .collect(),
            result_hash: self.result_hash.map(|h| h.to_vec()).unwrap_or_default(),
            output: self.output.clone(),
            work_units: self.work_units,
            settled_height: self.settled_height,
            deadline: self.deadline.unwrap_or(0),
            eval_suite_id: self.eval_suite_id,
        }
    }

    /// From the stored form.
    pub fn from_proto(j: &pb::Job) -> Result<Self, ComputeError> {
        let assignments = j
            .assignments
            .iter()
            .map(|a| {
                Ok(Assignment {
                    provider: stored_address("assignment provider", &a.provider)?,
                    commitment: stored_hash("commitment", &a.commitment)?,
                    result_hash: stored_hash("result hash", &a.result_hash)?,
                    output: a.output.clone(),
                })
            })
            .collect::<Result<Vec<_>, ComputeError>>()?;
        Ok(Job {
            id: j.id,
            requester: stored_address("requester", &j.requester)?,
            kind: Kind::parse(&j.kind).map_err(|_| corrupt("job kind"))?,
            model_id: (!j.model_id.is_empty()).then(|| j.model_id.clone()),
            input: j.input.clone(),
            input_hash: stored_hash("input hash", &j.input_hash)?
                .ok_or_else(|| corrupt("input hash"))?,
            replication: j.replication,
            price_per_replica: stored_amount("price", &j.price_per_replica)?,
            escrow: stored_amount("escrow", &j.escrow)?,
            status: JobStatus::try_from(j.status).map_err(|_| corrupt("job status"))?,
            submitted_height: j.submitted_height,
            assigned_height: j.assigned_height,
            commit_deadline: j.commit_deadline,
            reveal_deadline: j.reveal_deadline,
            assignments,
            result_hash: stored_hash("job result hash", &j.result_hash)?,
            output: j.output.clone(),
            work_units: j.work_units,
            settled_height: j.settled_height,
            deadline: (j.deadline != 0).then_some(j.deadline),
            eval_suite_id: j.eval_suite_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_name_and_only_built_in_kernels_skip_the_model() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()).unwrap(), k);
        }
        assert!(!Kind::GemmI8.needs_model());
        assert!(Kind::Embed.needs_model());
        assert!(Kind::parse("gemm").is_err());
    }

    #[test]
    fn model_ids_must_be_lowercase_sha3_hex() {
        assert!(validate_model_id(&hex::encode(sha3(&[b"w"]))).is_ok());
        assert!(validate_model_id(&hex::encode(sha3(&[b"w"])).to_uppercase()).is_err());
        assert!(validate_model_id("abc").is_err());
    }
}
