//! `classify` jobs: texts embedded by a registered encoder and classified by a head
//! carried in the input, as a private data round's head is evaluated and served. The
//! output is one class byte per text, the rule a round's chain code and device code
//! use (`deai_rounds_client::feature`, `deai_rounds::head::predict`), on every backend.
//! Needs all-MiniLM-L6-v2 (`DEAI_MINILM_DIR`, as `scripts/test.sh` sets); without it
//! the test says why and passes, unless `DEAI_REQUIRE_MODEL=1`.

mod common;

use common::{minilm_dir, MINILM_ID as MODEL_ID};
use deai_compute::workload::{
    answer, decode_embeddings, encode_embed_input, sha3_256, Answer, JobSpec, ModelStore, Workload,
};
use deai_compute_module::input::{encode_classify_input, CLASSIFY_HIDDEN};

fn model_store() -> Option<ModelStore> {
    Some(ModelStore::load(&minilm_dir()?).expect("indexing DEAI_MINILM_DIR"))
}

const TEXTS: [&str; 4] = [
    "The striker scored twice in the second half.",
    "Simmer the onions in butter until golden.",
    "The goalkeeper saved a penalty in extra time.",
    "Whisk the eggs with sugar and a pinch of salt.",
];

#[test]
fn a_classify_job_gives_each_text_the_class_its_embedding_feature_gets_from_the_head() {
    let Some(store) = model_store() else { return };
    let best = Workload::new(store.clone());
    let reference = Workload::reference(store);
    // A head whose class 1 row is the first sports text's feature and class 2 row the
    // first cooking text's: the other two texts go to their topic's class.
    let embed = best
        .run(
            "embed",
            Some(MODEL_ID),
            &encode_embed_input(&TEXTS).unwrap(),
        )
        .unwrap();
    let rows = decode_embeddings(&embed.output).unwrap();
    let features: Vec<Vec<i8>> = rows
        .iter()
        .map(|r| deai_rounds_client::feature(r))
        .collect();
    let mut head = vec![0i32; 3 * CLASSIFY_HIDDEN];
    for (class, text) in [(1usize, 0usize), (2, 1)] {
        for (w, &x) in head[class * CLASSIFY_HIDDEN..][..CLASSIFY_HIDDEN]
            .iter_mut()
            .zip(&features[text])
        {
            *w = i32::from(x);
        }
    }
    let input = encode_classify_input(3, &head, &TEXTS).unwrap();
    let out = best.run("classify", Some(MODEL_ID), &input).unwrap();
    assert_eq!(out.output, vec![1, 2, 1, 2]);
    let want: Vec<u8> = features
        .iter()
        .map(|x| deai_rounds::head::predict(&head, x) as u8)
        .collect();
    assert_eq!(out.output, want);
    assert_eq!(out.result_hash, sha3_256(&out.output));
    // The reference backend and a run among other jobs give the same bytes.
    let on_reference = reference.run("classify", Some(MODEL_ID), &input).unwrap();
    assert_eq!(on_reference.output, out.output);
    let together = best.run_many(&[
        JobSpec {
            kind: "embed",
            model_id: Some(MODEL_ID),
            input: TEXTS[0].as_bytes(),
        },
        JobSpec {
            kind: "classify",
            model_id: Some(MODEL_ID),
            input: &input,
        },
    ]);
    assert_eq!(together[1].as_ref().unwrap().output, out.output);
    // One text alone: its class.
    let one = encode_classify_input(3, &head, &[TEXTS[3]]).unwrap();
    let alone = best.run("classify", Some(MODEL_ID), &one).unwrap();
    assert_eq!(alone.output, vec![2]);
}

#[test]
fn a_malformed_classify_input_gets_the_invalid_input_answer_on_every_node() {
    let Some(store) = model_store() else { return };
    let best = Workload::new(store);
    let head = vec![0i32; 2 * CLASSIFY_HIDDEN];
    let good = encode_classify_input(2, &head, &["a text"]).unwrap();
    for bad in [
        &good[..40],
        &good[..8 + 2 * CLASSIFY_HIDDEN * 4],
        b"DCL1\x01\0\0\0",
    ] {
        let outcome = best.run("classify", Some(MODEL_ID), bad);
        assert!(
            matches!(outcome, Err(ref e) if e.is_invalid_input()),
            "{outcome:?}"
        );
        assert!(matches!(
            answer("classify", bad, outcome),
            Answer::InvalidInput(_)
        ));
    }
    // A model this node does not hold: this node's own problem, skipped.
    let other = "00".repeat(32);
    let outcome = best.run("classify", Some(&other), &good);
    assert!(matches!(
        answer("classify", &good, outcome),
        Answer::Skip(_)
    ));
}
