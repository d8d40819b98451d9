//! Checking a job's on-chain result without trusting whoever reported it (a gateway, a
//! provider, the RPC node's query answers): `deai-compute verify --job ID`.
//!
//! 1. The job record is read with `abci_query` at `store/compute/key` (its state key
//!    [`deai_compute_module::state_key::job`]) with `prove = true`, at some height `H`.
//! 2. Its ICS-23 proof (a Jellyfish Merkle tree proof, op type `ics23:jmt`) must show the
//!    record's exact bytes under the app hash of the header at `H + 1` (CometBFT puts the
//!    state after block `H` in header `H + 1`). [`check_proof`] does this.
//! 3. The job must be finalized by a strict majority of its providers, and its result hash
//!    must be the SHA3-256 of what this machine computes from the job's input and model
//!    (and of the revealed output, if the chain holds one). [`check_result`] does this.
//!
//! What is still trusted: the header. It comes from the RPC node asked; a verifier that
//! trusts no node checks that header's commit signatures with a light client (or asks
//! several nodes), which this command does not do yet.

use deai_proto::compute::v1 as pb;
use ics23::{CommitmentProof, HostFunctionsManager};
use prost::Message;
use sha3::{Digest, Sha3_256};
use tendermint_rpc::{Client, HttpClient};
use thiserror::Error;

use crate::workload::JobOutput;

/// The proof op type the app answers `store/<module>/key` queries with.
pub const PROOF_OP_TYPE: &str = "ics23:jmt";

/// The ICS-23 spec of the chain's Jellyfish Merkle tree: `jmt::ics23_spec()` written
/// out, so the node links no tree crate (a test keeps the two equal). SHA-256 leaves
/// and inner nodes, keys hashed before comparison, binary inner nodes whose empty child
/// is JMT's placeholder hash.
pub fn jmt_proof_spec() -> ics23::ProofSpec {
    /// JMT's domain separators and empty-subtree hash.
    const LEAF: &[u8] = b"JMT::LeafNode";
    const INTERNAL: &[u8] = b"JMT::IntrnalNode";
    const INTERNAL_LEN: i32 = INTERNAL.len() as i32;
    const PLACEHOLDER: &[u8; 32] = b"SPARSE_MERKLE_PLACEHOLDER_HASH__";
    ics23::ProofSpec {
        leaf_spec: Some(ics23::LeafOp {
            hash: ics23::HashOp::Sha256.into(),
            prehash_key: ics23::HashOp::Sha256.into(),
            prehash_value: ics23::HashOp::Sha256.into(),
            length: ics23::LengthOp::NoPrefix.into(),
            prefix: LEAF.to_vec(),
        }),
        inner_spec: Some(ics23::InnerSpec {
            hash: ics23::HashOp::Sha256.into(),
            child_order: vec![0, 1],
            min_prefix_length: INTERNAL_LEN,
            max_prefix_length: INTERNAL_LEN,
            child_size: 32,
            empty_child: PLACEHOLDER.to_vec(),
        }),
        min_depth: 0,
        max_depth: 64,
        prehash_key_before_comparison: true,
    }
}

/// The ABCI query path of the compute module's raw state.
pub const COMPUTE_STORE_PATH: &str = "store/compute/key";

/// Why a job did not verify.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The node could not be asked, or did not answer.
    #[error("asking the node: {0}")]
    Rpc(String),
    /// The node answered the query without the proof asked for.
    #[error("the node's answer has no {PROOF_OP_TYPE} proof")]
    NoProof,
    /// The proof bytes do not decode.
    #[error("the proof does not decode: {0}")]
    BadProof(String),
    /// The proof does not show the record under the header's app hash.
    #[error("the proof does not show job {job}'s record under the app hash {app_hash} of header {height}")]
    ProofMismatch {
        /// The job.
        job: u64,
        /// The header's height (the query's height + 1).
        height: u64,
        /// The app hash, hex.
        app_hash: String,
    },
    /// The record is absent or does not decode as a job.
    #[error("job {0}: {1}")]
    BadRecord(u64, String),
    /// The job has not been finalized (still open, disputed or expired).
    #[error("job {job} is {status}, not finalized")]
    NotFinal {
        /// The job.
        job: u64,
        /// Its status.
        status: String,
    },
    /// Fewer than a strict majority of the job's providers revealed its result.
    #[error("job {job}: only {agreeing} of {replication} providers revealed the final result")]
    NoMajority {
        /// The job.
        job: u64,
        /// Providers that revealed the final result.
        agreeing: usize,
        /// The job's replication.
        replication: u32,
    },
    /// The revealed output on chain does not hash to the result hash.
    #[error("job {job}: the output on chain hashes to {got}, not the result hash {want}")]
    OutputMismatch {
        /// The job.
        job: u64,
        /// The output's SHA3-256.
        got: String,
        /// The result hash.
        want: String,
    },
    /// This machine computed a different result.
    #[error("job {job}: recomputed here the result hash is {ours}, the chain's is {chain}")]
    ResultMismatch {
        /// The job.
        job: u64,
        /// The recomputed hash.
        ours: String,
        /// The chain's.
        chain: String,
    },
}

/// A job record as read from the chain, with its proof and the app hash to check it against.
#[derive(Debug, Clone)]
pub struct JobProof {
    /// The job id asked for.
    pub job_id: u64,
    /// The height the record was read at.
    pub height: u64,
    /// The record's bytes (a `deai.compute.v1.Job`).
    pub value: Vec<u8>,
    /// The ICS-23 commitment proof's bytes.
    pub proof: Vec<u8>,
    /// The app hash of the header at `height + 1`.
    pub app_hash: Vec<u8>,
}

/// What a verified job showed.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The job.
    pub job: pb::Job,
    /// The height whose state held it.
    pub height: u64,
    /// The providers that revealed the final result.
    pub agreeing: Vec<String>,
}

/// Reads job `id` with its proof at the latest height, and the app hash of the next header
/// (waiting up to `wait` for that block).
pub async fn fetch(
    client: &HttpClient,
    id: u64,
    wait: std::time::Duration,
) -> Result<JobProof, VerifyError> {
    let rpc = |e: tendermint_rpc::Error| VerifyError::Rpc(deai_client::rpc::one_line(&e));
    let key = deai_compute_module::state_key::job(id);
    let r = client
        .abci_query(Some(COMPUTE_STORE_PATH.to_string()), key, None, true)
        .await
        .map_err(rpc)?;
    if r.code.is_err() {
        return Err(VerifyError::Rpc(format!(
            "query failed (code {}): {}",
            r.code.value(),
            r.log
        )));
    }
    let op = r
        .proof
        .as_ref()
        .and_then(|p| p.ops.iter().find(|op| op.field_type == PROOF_OP_TYPE))
        .ok_or(VerifyError::NoProof)?;
    let height = r.height.value();
    let next = height.saturating_add(1);
    let next_h = tendermint::block::Height::try_from(next)
        .map_err(|e| VerifyError::Rpc(format!("height {next}: {e}")))?;
    let start = std::time::Instant::now();
    let header = loop {
        match client.header(next_h).await {
            Ok(h) => break h.header,
            Err(e) if start.elapsed() < wait => {
                tracing::debug!(error = %deai_client::rpc::one_line(&e), "waiting for header {next}");
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => return Err(rpc(e)),
        }
    };
    Ok(JobProof {
        job_id: id,
        height,
        value: r.value,
        proof: op.data.clone(),
        app_hash: header.app_hash.as_bytes().to_vec(),
    })
}

/// Checks that `p.proof` shows `p.value` at job `p.job_id`'s key under `p.app_hash`, and
/// decodes the record.
pub fn check_proof(p: &JobProof) -> Result<pb::Job, VerifyError> {
    let proof = CommitmentProof::decode(p.proof.as_slice())
        .map_err(|e| VerifyError::BadProof(e.to_string()))?;
    let key = deai_compute_module::state_key::job(p.job_id);
    let mismatch = || VerifyError::ProofMismatch {
        job: p.job_id,
        height: p.height.saturating_add(1),
        app_hash: hex::encode(&p.app_hash),
    };
    if p.value.is_empty() {
        // An absent job: the proof must show the absence, and there is nothing to verify.
        let absent = ics23::verify_non_membership::<HostFunctionsManager>(
            &proof,
            &jmt_proof_spec(),
            &p.app_hash,
            &key,
        );
        return Err(if absent {
            VerifyError::BadRecord(p.job_id, "no such job".into())
        } else {
            mismatch()
        });
    }
    if !ics23::verify_membership::<HostFunctionsManager>(
        &proof,
        &jmt_proof_spec(),
        &p.app_hash,
        &key,
        &p.value,
    ) {
        return Err(mismatch());
    }
    let job = pb::Job::decode(p.value.as_slice())
        .map_err(|e| VerifyError::BadRecord(p.job_id, format!("does not decode: {e}")))?;
    if job.id != p.job_id {
        return Err(VerifyError::BadRecord(
            p.job_id,
            format!("the record is job {}", job.id),
        ));
    }
    Ok(job)
}

/// Checks a proven, decoded `job` against `recomputed`, this machine's run of its input:
/// finalized, by a strict majority, on exactly the recomputed result (and, when the chain
/// holds the revealed output, on those bytes too).
pub fn check_result(
    job: &pb::Job,
    height: u64,
    recomputed: &JobOutput,
) -> Result<Verified, VerifyError> {
    if job.status != pb::JobStatus::Finalized as i32 {
        let status = pb::JobStatus::try_from(job.status)
            .map(|s| s.as_str_name().to_string())
            .unwrap_or_else(|_| job.status.to_string());
        return Err(VerifyError::NotFinal {
            job: job.id,
            status,
        });
    }
    let agreeing: Vec<String> = job
        .assignments
        .iter()
        .filter(|a| !a.result_hash.is_empty() && a.result_hash == job.result_hash)
        .map(|a| a.provider.clone())
        .collect();
    let replication = usize::try_from(job.replication).unwrap_or(usize::MAX);
    if agreeing.len().saturating_mul(2) <= replication {
        return Err(VerifyError::NoMajority {
            job: job.id,
            agreeing: agreeing.len(),
            replication: job.replication,
        });
    }
    if !job.output.is_empty() {
        let got: [u8; 32] = Sha3_256::digest(&job.output).into();
        if got.as_slice() != job.result_hash.as_slice() {
            return Err(VerifyError::OutputMismatch {
                job: job.id,
                got: hex::encode(got),
                want: hex::encode(&job.result_hash),
            });
        }
    }
    if recomputed.result_hash.as_slice() != job.result_hash.as_slice() {
        return Err(VerifyError::ResultMismatch {
            job: job.id,
            ours: hex::encode(recomputed.result_hash),
            chain: hex::encode(&job.result_hash),
        });
    }
    Ok(Verified {
        job: job.clone(),
        height,
        agreeing,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use jmt::{mock::MockTreeStore, KeyHash, Sha256Jmt};
    use sha2::Sha256;

    #[test]
    fn the_written_out_proof_spec_is_jmts() {
        assert_eq!(jmt_proof_spec(), jmt::ics23_spec());
    }

    use super::*;
    use crate::workload::{Backend, JobOutput};

    /// A finalized job whose three providers all revealed the output `out`.
    fn job(id: u64, out: &[u8]) -> pb::Job {
        let hash: [u8; 32] = Sha3_256::digest(out).into();
        pb::Job {
            id,
            kind: "embed".into(),
            input: b"hello".to_vec(),
            replication: 3,
            status: pb::JobStatus::Finalized as i32,
            result_hash: hash.to_vec(),
            output: out.to_vec(),
            assignments: (0..3)
                .map(|i| pb::Assignment {
                    provider: format!("deai1p{i}"),
                    result_hash: hash.to_vec(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn output(out: &[u8]) -> JobOutput {
        JobOutput {
            output: out.to_vec(),
            result_hash: Sha3_256::digest(out).into(),
            kernel_time: std::time::Duration::ZERO,
            backend: Backend::Reference,
        }
    }

    /// A tree holding `records` (job id, record) at version 1 and a neighbour key, and a
    /// proof of `id`'s record against its root.
    fn prove(records: &[(u64, Vec<u8>)], id: u64) -> JobProof {
        let store = MockTreeStore::new(true);
        let tree = Sha256Jmt::new(&store);
        let mut set = vec![(KeyHash::with::<Sha256>(b"bank/other"), Some(b"x".to_vec()))];
        store.put_key_preimage(
            KeyHash::with::<Sha256>(b"bank/other"),
            &b"bank/other".to_vec(),
        );
        for (id, v) in records {
            let key = deai_compute_module::state_key::job(*id);
            let kh = KeyHash::with::<Sha256>(&key);
            store.put_key_preimage(kh, &key);
            set.push((kh, Some(v.clone())));
        }
        let (root, batch) = tree.put_value_set(set, 1).unwrap();
        store.write_tree_update_batch(batch).unwrap();
        let key = deai_compute_module::state_key::job(id);
        let (value, proof) = tree.get_with_ics23_proof(key, 1).unwrap();
        JobProof {
            job_id: id,
            height: 1,
            value: value.unwrap_or_default(),
            proof: proof.encode_to_vec(),
            app_hash: root.0.to_vec(),
        }
    }

    #[test]
    fn an_honest_job_verifies() {
        let out = b"embedding bytes";
        let j = job(7, out);
        let p = prove(
            &[
                (7, j.encode_to_vec()),
                (8, job(8, b"other").encode_to_vec()),
            ],
            7,
        );
        let proven = check_proof(&p).unwrap();
        assert_eq!(proven, j);
        let v = check_result(&proven, p.height, &output(out)).unwrap();
        assert_eq!(v.agreeing.len(), 3);
    }

    #[test]
    fn a_tampered_record_or_a_wrong_app_hash_fails_the_proof() {
        let j = job(7, b"honest");
        let p = prove(&[(7, j.encode_to_vec())], 7);
        // A gateway or node that reports another result for the job.
        let mut lie = job(7, b"forged");
        lie.id = 7;
        let tampered = JobProof {
            value: lie.encode_to_vec(),
            ..p.clone()
        };
        assert!(matches!(
            check_proof(&tampered),
            Err(VerifyError::ProofMismatch { .. })
        ));
        // The right record against another state's app hash.
        let other = prove(&[(7, job(7, b"forged").encode_to_vec())], 7);
        let wrong_root = JobProof {
            app_hash: other.app_hash.clone(),
            ..p.clone()
        };
        assert!(matches!(
            check_proof(&wrong_root),
            Err(VerifyError::ProofMismatch { .. })
        ));
        // Another job's proof and record passed off as job 7's.
        let eight = prove(
            &[(7, j.encode_to_vec()), (8, job(8, b"x").encode_to_vec())],
            8,
        );
        let swapped = JobProof { job_id: 7, ..eight };
        assert!(matches!(
            check_proof(&swapped),
            Err(VerifyError::ProofMismatch { .. })
        ));
        // Garbage for a proof.
        let garbage = JobProof {
            proof: vec![1, 2, 3],
            ..p
        };
        assert!(check_proof(&garbage).is_err());
    }

    #[test]
    fn an_absent_job_is_reported_absent_only_with_a_proof_of_absence() {
        let p = prove(&[(7, job(7, b"x").encode_to_vec())], 9);
        assert!(p.value.is_empty());
        assert!(matches!(check_proof(&p), Err(VerifyError::BadRecord(9, _))));
        // Claiming job 7 is absent with job 7's membership proof does not pass as absence.
        let mut lie = prove(&[(7, job(7, b"x").encode_to_vec())], 7);
        lie.value.clear();
        assert!(matches!(
            check_proof(&lie),
            Err(VerifyError::ProofMismatch { .. })
        ));
    }

    #[test]
    fn a_result_that_differs_from_the_recomputation_or_lacks_a_majority_fails() {
        let j = job(7, b"honest");
        assert!(matches!(
            check_result(&j, 1, &output(b"what we compute")),
            Err(VerifyError::ResultMismatch { .. })
        ));
        let mut minority = j.clone();
        minority.assignments[1].result_hash = vec![9; 32];
        minority.assignments[2].result_hash.clear();
        assert!(matches!(
            check_result(&minority, 1, &output(b"honest")),
            Err(VerifyError::NoMajority { agreeing: 1, .. })
        ));
        let mut bad_output = j.clone();
        bad_output.output = b"not it".to_vec();
        assert!(matches!(
            check_result(&bad_output, 1, &output(b"honest")),
            Err(VerifyError::OutputMismatch { .. })
        ));
        let mut open = j;
        open.status = pb::JobStatus::Assigned as i32;
        assert!(matches!(
            check_result(&open, 1, &output(b"honest")),
            Err(VerifyError::NotFinal { .. })
        ));
    }
}
