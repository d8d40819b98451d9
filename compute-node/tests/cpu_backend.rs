//! The native CPU backend against the reference, byte for byte, on every instruction set
//! this machine has (each forced in turn, single- and multi-threaded): gemm-i8 at edge
//! shapes, extreme values and `k` at the overflow bound, batched gemm-i8, and whole
//! forward passes of a random-weight encoder and of all-MiniLM-L6-v2 (with
//! `DEAI_MINILM_DIR`). Needs no Vulkan device.

mod common;

use common::{random_i32, tokens, SMALL};
use deai_compute::{
    bench::BENCH_SENTENCES,
    cpu::{CpuBackend, Isa},
    encoder::{BackendKind, FloatWeights, IntEncoder, Reference, Tokens},
    gemm::gemm_i8_batched_reference,
    gemm_i8_reference,
    model::SentenceModel,
    random_i8_matrix, result_hash, ComputeError, Matrix, SplitMix64, K_MAX,
};
use proptest::prelude::*;

/// Every backend variant this machine can run: each available ISA, threaded or not.
fn backends() -> Vec<CpuBackend> {
    let isas = Isa::available();
    eprintln!("instruction sets on this machine: {isas:?}");
    isas.into_iter()
        .flat_map(|isa| {
            let b = CpuBackend::with_isa(isa).expect("available");
            [b, b.single_threaded()]
        })
        .collect()
}

fn assert_gemm_matches(a: &Matrix<i8>, bt: &Matrix<i8>, what: &str) {
    let want = gemm_i8_reference(a, bt).expect("the reference runs");
    for b in backends() {
        let got = b.gemm_i8(a, bt).expect("the CPU backend runs");
        assert!(
            got == want,
            "{what}: {:?} (threads: {}) differs from the reference",
            b.isa(),
            b.is_multi_threaded()
        );
    }
}

/// A matrix whose entries are drawn from `-128`, `127` and uniform int8.
fn extreme_i8(rows: usize, cols: usize, seed: u64) -> Matrix<i8> {
    let mut rng = SplitMix64::new(seed);
    let data = (0..rows * cols)
        .map(|_| match rng.next_u64() % 4 {
            0 => -128,
            1 => 127,
            _ => (rng.next_u64() & 0xff) as u8 as i8,
        })
        .collect();
    Matrix::new(rows, cols, data).expect("shape matches")
}

#[test]
fn this_machine_always_has_the_scalar_path_and_the_best_isa_is_available() {
    assert!(Isa::Scalar.is_available());
    assert!(Isa::best().is_available());
    assert!(CpuBackend::new().isa() == Isa::best());
    for isa in Isa::ALL {
        assert_eq!(isa.name().parse::<Isa>(), Ok(isa));
        assert_eq!(CpuBackend::with_isa(isa).is_ok(), isa.is_available());
    }
    assert_eq!("cpu".parse::<BackendKind>(), Ok(BackendKind::Cpu));
    assert_eq!("Vulkan".parse::<BackendKind>(), Ok(BackendKind::Vulkan));
    assert_eq!(
        "reference".parse::<BackendKind>(),
        Ok(BackendKind::Reference)
    );
    assert!("tpu".parse::<BackendKind>().is_err());
}

#[test]
fn gemm_equals_the_reference_at_edge_shapes_on_every_isa() {
    // Sizes below, at and past the tile (4×4, 2×4), the vector width (16, 64 bytes), the
    // k block (4096) and the row/column split between threads.
    let shapes = [
        (1, 1, 1),
        (1, 1, 3),
        (2, 3, 5),
        (4, 4, 64),
        (5, 5, 63),
        (5, 5, 65),
        (3, 7, 129),
        (17, 33, 65),
        (130, 9, 31),
        (70, 200, 100),
        (3, 300, 257),
        (34, 1536, 384),
        (9, 131, 4097),
        (64, 64, 8193),
    ];
    for (i, &(m, n, k)) in shapes.iter().enumerate() {
        let a = random_i8_matrix(m, k, 2 * i as u64 + 1);
        let bt = random_i8_matrix(n, k, 2 * i as u64 + 2);
        assert_gemm_matches(&a, &bt, &format!("{m}x{n}x{k}"));
        let a = extreme_i8(m, k, 100 + i as u64);
        let bt = extreme_i8(n, k, 200 + i as u64);
        assert_gemm_matches(&a, &bt, &format!("{m}x{n}x{k} extreme"));
    }
}

#[test]
fn the_overflow_bound_holds_on_every_isa() {
    // All -128 at k = K_MAX: every product is 2^14, the sum 2^31 - 2^14, the largest
    // value a product can reach; all 127 against all -128 gives the most negative.
    let k = K_MAX;
    let lo = Matrix::filled(5, k, -128i8).expect("shape");
    let hi = Matrix::filled(6, k, 127i8).expect("shape");
    for b in backends() {
        let c = b.gemm_i8(&lo, &lo).expect("runs");
        assert!(c.data().iter().all(|&v| v == i32::MAX - 16383), "{:?}", b);
        let c = b.gemm_i8(&lo, &hi).expect("runs");
        assert!(c.data().iter().all(|&v| v == -16256 * k as i32), "{:?}", b);
    }
    // Extreme and random values near the bound, ragged sizes.
    for (i, &k) in [K_MAX, K_MAX - 1, K_MAX - 63].iter().enumerate() {
        let a = extreme_i8(3, k, 300 + i as u64);
        let bt = extreme_i8(5, k, 400 + i as u64);
        assert_gemm_matches(&a, &bt, &format!("3x5x{k}"));
    }
}

#[test]
fn invalid_shapes_get_the_references_errors() {
    let b = CpuBackend::new();
    let a = Matrix::filled(1, K_MAX + 1, 0i8).expect("shape");
    assert!(matches!(
        b.gemm_i8(&a, &a),
        Err(ComputeError::KTooLarge { .. })
    ));
    let a = Matrix::<i8>::new(u32::MAX as usize, 0, Vec::new()).expect("empty");
    assert!(matches!(b.gemm_i8(&a, &a), Err(ComputeError::Shape(_))));
    let x = random_i8_matrix(3, 4, 1);
    let y = random_i8_matrix(3, 5, 2);
    assert!(matches!(b.gemm_i8(&x, &y), Err(ComputeError::Shape(_))));
    let big = Matrix::filled((1 << 12) + 1, 1, 1i8).expect("shape");
    assert!(matches!(
        b.gemm_i8(&big, &big),
        Err(ComputeError::OutputTooLarge { .. })
    ));
    assert!(b.gemm_i8_batched(&x, &x, 2).is_err());
}

#[test]
fn batched_gemm_equals_the_batched_reference_on_every_isa() {
    for (i, &(batch, m, n, k)) in [
        (1, 1, 1, 1),
        (12, 17, 17, 32),
        (12, 34, 32, 17),
        (3, 5, 9, 200),
    ]
    .iter()
    .enumerate()
    {
        let a = extreme_i8(batch * m, k, 500 + i as u64);
        let bt = extreme_i8(batch * n, k, 600 + i as u64);
        let want = gemm_i8_batched_reference(&a, &bt, batch).expect("reference");
        for b in backends() {
            assert!(
                b.gemm_i8_batched(&a, &bt, batch).expect("runs") == want,
                "{batch}x{m}x{n}x{k} on {b:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn gemm_equals_the_reference_on_random_shapes(
        m in 1usize..40, n in 1usize..40, k in 1usize..300, seed in any::<u64>(), extreme in any::<bool>()
    ) {
        let (a, bt) = if extreme {
            (extreme_i8(m, k, seed), extreme_i8(n, k, seed ^ 1))
        } else {
            (random_i8_matrix(m, k, seed), random_i8_matrix(n, k, seed ^ 1))
        };
        let want = gemm_i8_reference(&a, &bt).expect("reference");
        for b in backends() {
            prop_assert!(b.gemm_i8(&a, &bt).expect("runs") == want, "{:?}", b);
        }
    }
}

#[test]
fn the_cpu_forward_pass_equals_the_reference_on_every_isa() {
    let enc = IntEncoder::quantize(&FloatWeights::random(SMALL, 7)).expect("quantizes");
    let mut inputs: Vec<Tokens> = [1, 2, 13, 40, 64]
        .iter()
        .map(|&n| tokens(n, n as u64))
        .collect();
    let mut padded = tokens(20, 9);
    padded.mask[15..].fill(0);
    inputs.push(padded);
    for t in &inputs {
        let want = enc.forward(&Reference, t).expect("reference");
        for b in backends() {
            assert!(
                enc.forward(&b, t).expect("cpu") == want,
                "{} tokens on {b:?}",
                t.ids.len()
            );
        }
    }
    let batch = enc
        .forward_batch(&CpuBackend::new().single_threaded(), &inputs)
        .expect("batch");
    for (t, got) in inputs.iter().zip(batch) {
        assert!(got == enc.forward(&Reference, t).expect("reference"));
    }
}

/// The MiniLM model, or `None` (skip, printed) without `DEAI_MINILM_DIR`; with
/// `DEAI_REQUIRE_MODEL=1` an absent model fails.
fn minilm() -> Option<SentenceModel> {
    Some(SentenceModel::load(&common::minilm_dir()?).expect("the model loads"))
}

#[test]
fn minilm_embeddings_on_the_cpu_backend_are_the_references_bytes_on_every_isa() {
    let Some(model) = minilm() else { return };
    let enc = model.encoder();
    let inputs: Vec<Tokens> = BENCH_SENTENCES
        .iter()
        .map(|s| model.tokenize(s).expect("tokenizes"))
        .collect();
    let want: Vec<_> = inputs
        .iter()
        .map(|t| result_hash(&enc.forward(&Reference, t).expect("reference")))
        .collect();
    // The pinned hash of "A man is eating food." (tests/minilm.rs, README).
    assert_eq!(
        hex::encode(want[0]),
        "cdec03be6fd35985b01b51fd0c37dd81dd2a4a0ab366feede194bb1e2b325f4e"
    );
    for b in backends() {
        let got: Vec<_> = inputs
            .iter()
            .map(|t| result_hash(&enc.forward(&b, t).expect("cpu")))
            .collect();
        assert_eq!(got, want, "{b:?}");
    }
    let batch: Vec<_> = enc
        .forward_batch(&CpuBackend::new().single_threaded(), &inputs)
        .expect("batch")
        .iter()
        .map(result_hash)
        .collect();
    assert_eq!(batch, want);
}

#[test]
fn the_cpu_element_wise_kernels_are_the_references_bytes() {
    use deai_compute::{encoder::Backend, ops::Affine};
    let be = CpuBackend::new();
    for (i, &(rows, cols)) in [(1, 1), (3, 17), (34, 384), (5, 1536)].iter().enumerate() {
        let seed = 900 + 10 * i as u64;
        let x = random_i32(rows, cols, i32::MIN, i32::MAX, seed);
        let y = random_i32(rows, cols, i32::MIN, i32::MAX, seed + 1);
        let mut rng = SplitMix64::new(seed + 2);
        let p = Affine {
            mult: (0..cols).map(|_| rng.next_u64() as i32).collect(),
            shift: (0..cols)
                .map(|_| 20 + (rng.next_u64() % 43) as u32)
                .collect(),
            bias: (0..cols).map(|_| rng.next_u64() as i32 >> 4).collect(),
            lo: -(1 << 24),
            hi: 1 << 24,
        };
        let rs: Vec<u32> = (0..rows).map(|_| (rng.next_u64() % 19) as u32).collect();
        assert_eq!(
            be.affine(&x, &p, &rs).ok(),
            Reference.affine(&x, &p, &rs).ok()
        );
        assert_eq!(
            be.affine_sum(&x, &y, 128, 1, &p, &rs).ok(),
            Reference.affine_sum(&x, &y, 128, 1, &p, &rs).ok()
        );
        let bad: Vec<u32> = vec![40; rows];
        assert!(be.affine(&x, &p, &bad).is_err() == Reference.affine(&x, &p, &bad).is_err());
        let mut z = x.clone().into_data();
        z[0] = i32::MIN;
        let z = Matrix::new(rows, cols, z).expect("shape");
        for bits in [8, 11, 14, 16] {
            assert_eq!(
                be.dynquant(&z, bits).ok(),
                Reference.dynquant(&z, bits).ok()
            );
            assert_eq!(
                be.dynquant_split(&z, bits).ok(),
                Reference.dynquant_split(&z, bits).ok(),
                "{bits}"
            );
        }
        // Halves exactly (±8, ±24 at a shift of 4 for 8 bits), either side of them, and
        // the clamp, where a rounding that differs from the reference's would show.
        let ties = Matrix::new(
            1,
            12,
            vec![1024, -1024, 8, -8, 24, -24, 7, -7, 9, -9, 1023, -1025],
        )
        .expect("shape");
        for bits in [8, 9] {
            assert_eq!(
                be.dynquant(&ties, bits).ok(),
                Reference.dynquant(&ties, bits).ok()
            );
            assert_eq!(
                be.dynquant_split(&ties, bits).ok(),
                Reference.dynquant_split(&ties, bits).ok()
            );
        }
        let small = random_i32(rows, cols, -3, 3, seed + 3);
        assert_eq!(
            be.dynquant(&small, 8).ok(),
            Reference.dynquant(&small, 8).ok()
        );
        assert_eq!(
            be.dynquant_split(&small, 14).ok(),
            Reference.dynquant_split(&small, 14).ok()
        );
    }
}

#[test]
fn any_backend_runs_batches_and_says_what_it_is() {
    use deai_compute::encoder::AnyBackend;
    let enc = IntEncoder::quantize(&FloatWeights::random(SMALL, 3)).expect("quantizes");
    let inputs: Vec<Tokens> = [3, 9, 17].iter().map(|&n| tokens(n, n as u64)).collect();
    let want: Vec<_> = inputs
        .iter()
        .map(|t| enc.forward(&Reference, t).expect("reference"))
        .collect();
    for be in [
        AnyBackend::Reference(Reference),
        AnyBackend::Cpu(CpuBackend::new().single_threaded()),
    ] {
        assert!(
            enc.forward_batch(&be, &inputs).expect("batch") == want,
            "{}",
            be.describe()
        );
    }
    assert!(AnyBackend::Cpu(CpuBackend::new())
        .describe()
        .starts_with("cpu ("));
}
