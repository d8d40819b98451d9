//! The batched Vulkan encoder (`VulkanEncoder::forward_batch`: one command buffer per
//! batch, weights resident) against the Rust reference forward pass, byte for byte: a
//! random-weight encoder on batches of different lengths, masks and sizes, the bad inputs it
//! must refuse, and all-MiniLM-L6-v2 when `DEAI_MINILM_DIR` is set (its pinned hash too).
//!
//! These tests FAIL when no Vulkan device exists, unless `DEAI_SKIP_VULKAN=1` is set.

mod common;

use std::path::PathBuf;

use common::{executor, tokens, SMALL};
use deai_compute::{
    encoder::{FloatWeights, IntEncoder, Reference, Tokens},
    model::SentenceModel,
    result_hash, ComputeError, Matrix, VulkanEncoder, VulkanEncoderOptions, WorkgroupConfig,
};

fn reference(enc: &IntEncoder, batch: &[Tokens]) -> Vec<Matrix<i32>> {
    batch
        .iter()
        .map(|t| {
            enc.forward(&Reference, t)
                .expect("the reference runs every test input")
        })
        .collect()
}

fn small_encoder(seed: u64) -> IntEncoder {
    IntEncoder::quantize(&FloatWeights::random(SMALL, seed)).expect("random weights quantize")
}

/// Sentences of many lengths (the longest SMALL allows), repeats of one length, and a
/// padded sentence whose length another unpadded one shares.
fn mixed_batch() -> Vec<Tokens> {
    let mut batch: Vec<Tokens> = [
        (13, 1u64),
        (1, 2),
        (40, 3),
        (13, 4),
        (7, 5),
        (64, 6),
        (2, 7),
    ]
    .iter()
    .map(|&(n, seed)| tokens(n, seed))
    .collect();
    let mut padded = tokens(9, 8);
    padded.ids.extend([0, 0, 0, 0]);
    padded.type_ids.extend([0, 1, 0, 1]);
    padded.mask.extend([0; 4]);
    batch.push(padded);
    let mut segments = tokens(13, 9);
    segments.type_ids = (0..13).map(|i| u32::from(i >= 6)).collect();
    batch.push(segments);
    batch
}

#[test]
fn a_batch_of_sentences_of_different_lengths_equals_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(21);
    let vk = VulkanEncoder::new(&exec, &enc).unwrap();
    let batch = mixed_batch();
    let got = vk.forward_batch(&batch).unwrap();
    let want = reference(&enc, &batch);
    assert_eq!(got.len(), batch.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "sentence {i} ({} tokens)", batch[i].ids.len());
        assert_eq!(result_hash(g), result_hash(w));
    }
}

#[test]
fn a_batch_of_one_equals_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(22);
    let vk = VulkanEncoder::new(&exec, &enc).unwrap();
    for (n, seed) in [(1, 1u64), (17, 2), (64, 3)] {
        let batch = [tokens(n, seed)];
        assert_eq!(
            vk.forward_batch(&batch).unwrap(),
            reference(&enc, &batch),
            "{n} tokens"
        );
    }
    assert!(vk.forward_batch(&[]).unwrap().is_empty());
}

#[test]
fn a_second_batch_of_the_same_shape_reuses_the_plan_and_stays_exact() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(23);
    let vk = VulkanEncoder::new(&exec, &enc).unwrap();
    // Same lengths and masks, other tokens: only the embedding rows are uploaded again.
    for seeds in [[1u64, 2, 3], [4, 5, 6], [1, 2, 3]] {
        let batch: Vec<Tokens> = [5usize, 30, 5]
            .iter()
            .zip(seeds)
            .map(|(&n, s)| tokens(n, s))
            .collect();
        assert_eq!(vk.forward_batch(&batch).unwrap(), reference(&enc, &batch));
    }
}

#[test]
fn a_batch_longer_than_one_pass_runs_in_several_and_stays_exact() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(24);
    let vk = VulkanEncoder::with_options(
        &exec,
        &enc,
        VulkanEncoderOptions {
            max_pass_tokens: 256,
            ..Default::default()
        },
    )
    .unwrap();
    let batch: Vec<Tokens> = (0..20).map(|i| tokens(30 + i, 100 + i as u64)).collect();
    assert!(batch.iter().map(|t| t.ids.len()).sum::<usize>() > 2 * 256);
    assert_eq!(vk.forward_batch(&batch).unwrap(), reference(&enc, &batch));
}

#[test]
fn other_workgroup_shapes_give_the_same_bytes() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(25);
    let batch = mixed_batch();
    let want = reference(&enc, &batch);
    for (linear, attention) in [((16, 16, 64), (16, 2, 64)), ((4, 8, 16), (8, 4, 32))] {
        let wg = |(x, y, k_tile)| WorkgroupConfig { x, y, k_tile };
        let vk = VulkanEncoder::with_options(
            &exec,
            &enc,
            VulkanEncoderOptions {
                linear: wg(linear),
                attention: wg(attention),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            vk.forward_batch(&batch).unwrap(),
            want,
            "{linear:?} {attention:?}"
        );
    }
}

#[test]
fn a_bad_token_id_or_a_too_long_sentence_is_refused_before_anything_runs() {
    let Some(exec) = executor() else { return };
    let enc = small_encoder(26);
    let vk = VulkanEncoder::new(&exec, &enc).unwrap();
    let good = tokens(5, 1);
    let mut bad_id = tokens(5, 2);
    bad_id.ids[3] = SMALL.vocab as u32;
    let too_long = tokens(SMALL.max_positions + 1, 3);
    let mut bad_type = tokens(4, 4);
    bad_type.type_ids[0] = SMALL.type_vocab as u32;
    let mut ragged = tokens(4, 5);
    ragged.mask.pop();
    let empty = Tokens::default();
    for (bad, what) in [
        (bad_id, "outside the vocabulary"),
        (too_long, "tokens: need"),
        (bad_type, "type vocabulary"),
        (ragged, "differ in length"),
        (empty, "0 tokens"),
    ] {
        let err = vk.forward_batch(&[good.clone(), bad]).unwrap_err();
        assert!(matches!(err, ComputeError::Shape(_)), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("sentence 1") && msg.contains(what), "{msg}");
    }
    // Nothing was left half-done: the encoder still runs.
    assert_eq!(
        vk.forward_batch(std::slice::from_ref(&good)).unwrap(),
        reference(&enc, std::slice::from_ref(&good))
    );
}

#[test]
fn minilm_batched_on_vulkan_equals_the_reference_and_keeps_the_pinned_hash() {
    let Some(dir) = std::env::var_os("DEAI_MINILM_DIR").map(PathBuf::from) else {
        assert!(
            std::env::var("DEAI_REQUIRE_MODEL").as_deref() != Ok("1"),
            "DEAI_REQUIRE_MODEL=1 but DEAI_MINILM_DIR is not set"
        );
        eprintln!("skipping: DEAI_MINILM_DIR is not set");
        return;
    };
    let Some(exec) = executor() else { return };
    let model = SentenceModel::load(&dir).unwrap();
    let enc = model.encoder();
    let batch: Vec<Tokens> = deai_compute::bench::BENCH_SENTENCES
        .iter()
        .map(|s| model.tokenize(s).unwrap())
        .collect();
    let vk = VulkanEncoder::new(&exec, enc).unwrap();
    let got = vk.forward_batch(&batch).unwrap();
    assert_eq!(got, reference(enc, &batch));
    assert_eq!(
        hex::encode(result_hash(&got[0])),
        "cdec03be6fd35985b01b51fd0c37dd81dd2a4a0ab366feede194bb1e2b325f4e"
    );
}
