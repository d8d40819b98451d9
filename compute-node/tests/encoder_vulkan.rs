//! The integer encoder on Vulkan against the Rust reference forward pass, byte for byte,
//! on a small random-weight encoder; its accuracy against the f32 forward pass; and the
//! encoder's small kernels (affine, add, dynquant, pool) against their references.
//!
//! These tests FAIL when no Vulkan device exists, unless `DEAI_SKIP_VULKAN=1` is set.

mod common;

use common::{cosine, executor, executor_with, float_embedding, random_i32, tokens, SMALL};
use deai_compute::{
    encoder::{dequantize, FloatWeights, IntEncoder, Reference},
    ops::{
        add_reference, affine_reference, affine_sum_reference, dynquant_reference,
        dynquant_split_reference, pool_reference, Affine,
    },
    result_hash, ExecutorOptions, Matrix, SplitMix64, WorkgroupConfig,
};

#[test]
fn the_vulkan_forward_pass_equals_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    let enc = IntEncoder::quantize(&FloatWeights::random(SMALL, 7)).unwrap();
    for (n, seed) in [(1, 1u64), (13, 2), (40, 3)] {
        let t = tokens(n, seed);
        let want = enc.forward(&Reference, &t).unwrap();
        let got = enc.forward(&exec, &t).unwrap();
        assert_eq!(got, want, "{n} tokens");
        assert_eq!(result_hash(&got), result_hash(&want));
    }
}

#[test]
fn executors_with_different_workgroup_sizes_give_the_same_result_hash() {
    let enc = IntEncoder::quantize(&FloatWeights::random(SMALL, 8)).unwrap();
    let t = tokens(21, 9);
    let mut hashes = Vec::new();
    for (x, y, k_tile) in [(16, 16, 64), (8, 4, 32), (4, 8, 16)] {
        let Some(exec) = executor_with(ExecutorOptions {
            device_index: None,
            workgroup: WorkgroupConfig { x, y, k_tile },
        }) else {
            return;
        };
        hashes.push(result_hash(&enc.forward(&exec, &t).unwrap()));
    }
    hashes.push(result_hash(&enc.forward(&Reference, &t).unwrap()));
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
}

#[test]
fn the_integer_encoder_tracks_the_float_encoder_on_random_weights() {
    let w = FloatWeights::random(SMALL, 11);
    let enc = IntEncoder::quantize(&w).unwrap();
    for (n, seed) in [(5, 1u64), (17, 2), (48, 3)] {
        let t = tokens(n, seed);
        let int = dequantize(&enc.forward(&Reference, &t).unwrap());
        let float = float_embedding(&w, &t);
        let cos = cosine(&int, &float);
        eprintln!("{n} tokens: cosine {cos}");
        assert!(cos >= 0.99, "{n} tokens: cosine {cos}");
    }
}

#[test]
fn padding_is_masked_in_attention_and_pooling() {
    let w = FloatWeights::random(SMALL, 13);
    let enc = IntEncoder::quantize(&w).unwrap();
    let plain = tokens(9, 4);
    let mut padded = plain.clone();
    padded.ids.extend([0, 0, 0, 0]);
    padded.type_ids.extend([0; 4]);
    padded.mask.extend([0; 4]);
    let a = dequantize(&enc.forward(&Reference, &plain).unwrap());
    let b = dequantize(&enc.forward(&Reference, &padded).unwrap());
    // Not byte-equal: K and V are quantized per head over all rows, padding included.
    let cos = cosine(&a, &b);
    assert!(cos > 0.999, "padded vs plain: {cos}");
    let float = float_embedding(&w, &padded);
    assert!(cosine(&b, &float) >= 0.99);
    let Some(exec) = executor() else { return };
    assert_eq!(
        enc.forward(&exec, &padded).unwrap(),
        enc.forward(&Reference, &padded).unwrap()
    );
}

#[test]
fn quantization_is_a_pure_function_of_the_weights() {
    let w = FloatWeights::random(SMALL, 12);
    assert_eq!(
        IntEncoder::quantize(&w).unwrap(),
        IntEncoder::quantize(&w).unwrap()
    );
}

#[test]
fn affine_requantization_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (i, &(rows, cols)) in [(1usize, 1usize), (3, 65), (17, 33), (70, 130)]
        .iter()
        .enumerate()
    {
        let x = random_i32(rows, cols, i32::MIN, i32::MAX, i as u64);
        let mut rng = SplitMix64::new(100 + i as u64);
        let p = Affine {
            mult: (0..cols).map(|_| rng.next_u64() as i32).collect(),
            shift: (0..cols)
                .map(|c| [30u32, 31, 32, 33, 40, 47, 62][c % 7])
                .collect(),
            bias: (0..cols).map(|_| rng.next_u64() as i32).collect(),
            lo: -(1 << 20),
            hi: 1 << 24,
        };
        let rs: Vec<u32> = (0..rows).map(|r| (r % 30) as u32).collect();
        let want = affine_reference(&x, &p, &rs).unwrap();
        assert_eq!(exec.affine(&x, &p, &rs).unwrap(), want, "{rows}x{cols}");
        let b = random_i32(rows, cols, -(1 << 20), 1 << 20, 7 + i as u64);
        let want = affine_sum_reference(&x, &b, 128, -3, &p, &rs).unwrap();
        assert_eq!(
            exec.affine_sum(&x, &b, 128, -3, &p, &rs).unwrap(),
            want,
            "{rows}x{cols} sum"
        );
        let wide = Affine {
            lo: i32::MIN,
            hi: i32::MAX,
            ..p
        };
        let want = affine_reference(&x, &wide, &rs).unwrap();
        assert_eq!(
            exec.affine(&x, &wide, &rs).unwrap(),
            want,
            "{rows}x{cols} unclamped"
        );
    }
}

#[test]
fn scaled_sums_match_the_reference_byte_for_byte_even_when_they_wrap() {
    let Some(exec) = executor() else { return };
    let a = random_i32(37, 41, i32::MIN, i32::MAX, 1);
    let b = random_i32(37, 41, i32::MIN, i32::MAX, 2);
    for (ma, mb) in [(1, 1), (128, 1), (1, -128), (-7, 3)] {
        let want = add_reference(&a, &b, ma, mb).unwrap();
        assert_eq!(exec.add(&a, &b, ma, mb).unwrap(), want, "{ma} {mb}");
    }
}

#[test]
fn dynamic_quantization_plain_and_split_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (i, &(rows, cols, lim)) in [
        (1usize, 1usize, 0i32),
        (5, 7, 127),
        (9, 64, 255),
        (17, 130, 1 << 20),
        (3, 5000, i32::MAX),
    ]
    .iter()
    .enumerate()
    {
        let mut x = random_i32(rows, cols, -lim, lim, i as u64);
        if i == 4 {
            let mut d = x.into_data();
            d[0] = i32::MIN;
            x = Matrix::new(rows, cols, d).unwrap();
        }
        for bits in [8, 14, 16] {
            let want = dynquant_reference(&x, bits).unwrap();
            assert_eq!(
                exec.dynquant(&x, bits).unwrap(),
                want,
                "{rows}x{cols}, {bits} bits"
            );
        }
        for bits in [8, 11, 14] {
            let want = dynquant_split_reference(&x, bits).unwrap();
            let got = exec.dynquant_split(&x, bits).unwrap();
            assert_eq!(got, want, "{rows}x{cols}, {bits} bits split");
        }
    }
}

#[test]
fn pooling_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (i, &(rows, cols, lim)) in [
        (1usize, 1usize, 5i32),
        (7, 64, 1 << 20),
        (256, 384, 1 << 22),
        (3, 1000, 1000),
    ]
    .iter()
    .enumerate()
    {
        let x = random_i32(rows, cols, -lim, lim, i as u64);
        let mask: Vec<u32> = (0..rows).map(|r| u32::from(r % 5 != 3)).collect();
        for bits in [0, 15, 30] {
            let want = pool_reference(&x, &mask, bits).unwrap();
            assert_eq!(
                exec.pool(&x, &mask, bits).unwrap(),
                want,
                "{rows}x{cols} F={bits}"
            );
        }
    }
}
