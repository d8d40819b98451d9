//! `Workload::run_many`, which a provider uses to run the jobs assigned to it in one block
//! together (the texts of `embed` and `classify` jobs in one batch): every job's result is the one it gets when run alone, and a bad job fails
//! alone. Needs all-MiniLM-L6-v2 (`DEAI_MINILM_DIR`, as `scripts/test.sh` sets); without
//! it the test says why and passes, unless `DEAI_REQUIRE_MODEL=1`.

mod common;

use common::{minilm_dir, MINILM_ID as MODEL_ID};
use deai_compute::{
    random_i8_matrix,
    workload::{encode_embed_input, GemmI8Input, JobSpec, ModelStore, Workload},
};
use deai_compute_module::input::{classify_input, CLASSIFY_HIDDEN};

fn model_store() -> Option<ModelStore> {
    let dir = minilm_dir()?;
    let store = ModelStore::load(&dir).expect("indexing DEAI_MINILM_DIR");
    assert!(
        store.ids().any(|id| id == MODEL_ID),
        "all-MiniLM-L6-v2 under {dir:?}"
    );
    Some(store)
}

#[test]
fn jobs_run_together_give_each_job_the_result_it_gets_alone_and_a_bad_job_fails_alone() {
    let Some(store) = model_store() else { return };
    let batch = encode_embed_input(&[
        "The girl is carrying a baby.",
        "A man is eating a piece of bread.",
        "Integer-only inference makes every node compute the same bytes.",
    ])
    .unwrap();
    let gemm =
        GemmI8Input::encode(&random_i8_matrix(3, 20, 1), &random_i8_matrix(20, 5, 2)).unwrap();
    // A 3-class head over the same texts.
    let head: Vec<u8> = (0..3 * CLASSIFY_HIDDEN)
        .flat_map(|i| ((i as i32 * 7919) % 201 - 100).to_le_bytes())
        .collect();
    let classify = classify_input(3, &head, &batch).unwrap().0;
    let other_model = "00".repeat(32);
    let jobs = [
        JobSpec {
            kind: "embed",
            model_id: Some(MODEL_ID),
            input: b"A man is eating food.",
        },
        JobSpec {
            kind: "gemm-i8",
            model_id: None,
            input: &gemm,
        },
        JobSpec {
            kind: "embed",
            model_id: Some(MODEL_ID),
            input: &batch,
        },
        // Not UTF-8: invalid on every node.
        JobSpec {
            kind: "embed",
            model_id: Some(MODEL_ID),
            input: &[0xff, 0xfe],
        },
        // A model this node does not hold: skipped by this node only.
        JobSpec {
            kind: "embed",
            model_id: Some(&other_model),
            input: b"hello",
        },
        JobSpec {
            kind: "no-such-kind",
            model_id: None,
            input: b"x",
        },
        JobSpec {
            kind: "embed",
            model_id: Some(MODEL_ID),
            input: b"A man is eating food.",
        },
        // Classify jobs share the embed jobs' batch.
        JobSpec {
            kind: "classify",
            model_id: Some(MODEL_ID),
            input: &classify,
        },
        // A classify input that is not one (a head of the wrong size).
        JobSpec {
            kind: "classify",
            model_id: Some(MODEL_ID),
            input: &classify[..classify.len() - 1],
        },
    ];
    // The CPU backend (this machine's default) and the reference, each against itself
    // job by job, and the two against each other.
    let best = Workload::new(store.clone());
    let reference = Workload::reference(store);
    let together = best.run_many(&jobs);
    assert_eq!(together.len(), jobs.len());
    let reference_together = reference.run_many(&jobs);
    for (i, job) in jobs.iter().enumerate() {
        let alone = best.run(job.kind, job.model_id, job.input);
        match (&together[i], &alone, &reference_together[i]) {
            (Ok(t), Ok(a), Ok(r)) => {
                assert_eq!(t.output, a.output, "job {i}");
                assert_eq!(t.result_hash, a.result_hash, "job {i}");
                assert_eq!(t.output, r.output, "job {i} on the reference");
            }
            (Err(t), Err(a), Err(r)) => {
                assert_eq!(t.to_string(), a.to_string(), "job {i}");
                assert_eq!(t.is_invalid_input(), a.is_invalid_input(), "job {i}");
                assert_eq!(t.is_unsupported(), r.is_unsupported(), "job {i}");
            }
            (t, a, r) => panic!("job {i}: together {t:?}, alone {a:?}, reference {r:?}"),
        }
    }
    assert!(together[0].is_ok() && together[2].is_ok() && together[6].is_ok());
    assert!(together[3].as_ref().unwrap_err().is_invalid_input());
    assert!(together[4].as_ref().unwrap_err().is_unsupported());
    assert!(together[5].as_ref().unwrap_err().is_unsupported());
    assert!(together[8].as_ref().unwrap_err().is_invalid_input());
    // One class byte per text of the batch.
    assert_eq!(together[7].as_ref().unwrap().output.len(), 3);
    // The same text in two jobs of one batch: the same bytes.
    assert_eq!(
        together[0].as_ref().unwrap().output,
        together[6].as_ref().unwrap().output
    );
    // No jobs: no results.
    assert!(best.run_many(&[]).is_empty());
}
