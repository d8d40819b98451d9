//! The I-BERT-style integer kernels on Vulkan, checked byte-for-byte against the references.
//!
//! These tests FAIL when no Vulkan device exists, unless `DEAI_SKIP_VULKAN=1` is set.

use deai_compute::{
    ibert::{
        gelu_reference, layernorm_reference, requantize_reference, softmax_reference, GeluParams,
        Requant, SoftmaxParams,
    },
    result_hash, Executor, ExecutorOptions, Matrix, SplitMix64,
};

fn executor() -> Option<Executor> {
    match Executor::new(ExecutorOptions::default()) {
        Ok(e) => Some(e),
        Err(e) if std::env::var("DEAI_SKIP_VULKAN").as_deref() == Ok("1") => {
            eprintln!("DEAI_SKIP_VULKAN=1: skipping a Vulkan test ({e})");
            None
        }
        Err(e) => panic!("no usable Vulkan device ({e}); set DEAI_SKIP_VULKAN=1 to skip"),
    }
}

/// A matrix of i32 uniform in `lo..=hi`.
fn random_i32(rows: usize, cols: usize, lo: i32, hi: i32, seed: u64) -> Matrix<i32> {
    let mut rng = SplitMix64::new(seed);
    let span = (i64::from(hi) - i64::from(lo) + 1) as u64;
    let data = (0..rows * cols)
        .map(|_| (i64::from(lo) + (rng.next_u64() % span) as i64) as i32)
        .collect();
    Matrix::new(rows, cols, data).expect("the shape matches the data")
}

const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 3), (3, 65), (17, 33), (70, 130), (2, 1000)];

#[test]
fn requantization_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (i, &(rows, cols)) in SHAPES.iter().enumerate() {
        let mut x = random_i32(rows, cols, i32::MIN, i32::MAX, i as u64);
        if i == 0 {
            x = Matrix::new(1, 1, vec![i32::MIN]).unwrap();
        }
        let mut rng = SplitMix64::new(1000 + i as u64);
        let params: Vec<Requant> = (0..cols)
            .map(|c| Requant {
                multiplier: (rng.next_u64() >> 33) as i32,
                // Cover small shifts, the 32-bit boundary and the largest shift.
                shift: [1, 2, 31, 32, 33, 40, 47, 62][c % 8],
            })
            .collect();
        let want = requantize_reference(&x, &params).unwrap();
        assert_eq!(exec.requantize(&x, &params).unwrap(), want, "{rows}x{cols}");
    }
}

#[test]
fn requantization_of_a_small_range_hits_every_rounding_case() {
    let Some(exec) = executor() else { return };
    let x = Matrix::new(1, 513, (-256..=256).collect()).unwrap();
    let params = vec![
        Requant {
            multiplier: 1 << 30,
            shift: 31,
        };
        513
    ];
    let want = requantize_reference(&x, &params).unwrap();
    assert_eq!(exec.requantize(&x, &params).unwrap(), want);
}

#[test]
fn integer_gelu_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (scale, seed) in [(0.01, 1u64), (0.05, 2), (0.002, 3)] {
        let (p, _) = GeluParams::for_scale(scale).unwrap();
        let e = i64::from(p.q_b).pow(2) + i64::from(p.q_c).abs() + i64::from(p.q_1).abs();
        let lim = (i64::from(i32::MAX) / e) as i32;
        for &(rows, cols) in SHAPES {
            let x = random_i32(rows, cols, -lim, lim, seed);
            let want = gelu_reference(&x, &p).unwrap();
            assert_eq!(
                exec.gelu(&x, &p).unwrap(),
                want,
                "scale {scale}, {rows}x{cols}"
            );
        }
    }
}

#[test]
fn integer_softmax_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (scale, bits, spread) in [(0.01, 16, 2000), (0.05, 8, 100_000), (0.002, 24, 40_000)] {
        let p = SoftmaxParams::for_scale(scale, bits).unwrap();
        for (i, &(rows, cols)) in SHAPES.iter().enumerate() {
            let x = random_i32(rows, cols, -spread, spread, i as u64);
            let want = softmax_reference(&x, &p).unwrap();
            let got = exec.softmax(&x, &p).unwrap();
            assert_eq!(
                result_hash(&got),
                result_hash(&want),
                "scale {scale}, {rows}x{cols}"
            );
        }
    }
}

#[test]
fn integer_layernorm_matches_the_reference_byte_for_byte() {
    let Some(exec) = executor() else { return };
    for (bits, spread) in [(8, 1000), (0, 1_000_000), (12, 100), (2, 50_000_000)] {
        for (i, &(rows, cols)) in SHAPES.iter().enumerate() {
            let x = random_i32(rows, cols, -spread, spread / 2, 50 + i as u64);
            let want = layernorm_reference(&x, bits).unwrap();
            assert_eq!(
                exec.layernorm(&x, bits).unwrap(),
                want,
                "{bits} bits, {rows}x{cols}"
            );
        }
    }
}

#[test]
fn out_of_bound_inputs_are_rejected_before_dispatch() {
    let Some(exec) = executor() else { return };
    let (g, _) = GeluParams::for_scale(0.01).unwrap();
    assert!(exec
        .gelu(&Matrix::new(1, 1, vec![i32::MAX]).unwrap(), &g)
        .is_err());
    let wide = Matrix::new(1, 2, vec![i32::MIN, i32::MAX]).unwrap();
    let p = SoftmaxParams::for_scale(0.01, 16).unwrap();
    assert!(exec.softmax(&wide, &p).is_err());
    assert!(exec.layernorm(&wide, 8).is_err());
    let x = Matrix::new(1, 2, vec![1, 2]).unwrap();
    let one = Requant {
        multiplier: 1,
        shift: 1,
    };
    assert!(exec.requantize(&x, &[one]).is_err());
}
