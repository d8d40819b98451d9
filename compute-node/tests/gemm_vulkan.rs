//! gemm-i8 on Vulkan (lavapipe in CI) checked byte-for-byte against the Rust reference.
//!
//! These tests FAIL when no Vulkan device exists, unless `DEAI_SKIP_VULKAN=1` is set.

use deai_compute::{
    gemm::K_MAX, gemm_i8_reference, random_i8_matrix, result_hash, ComputeError, Executor,
    ExecutorOptions, GemmPath, Matrix, WorkgroupConfig,
};
use proptest::prelude::*;

fn executor(workgroup: WorkgroupConfig) -> Option<Executor> {
    match Executor::new(ExecutorOptions {
        device_index: None,
        workgroup,
    }) {
        Ok(e) => Some(e),
        Err(e) if std::env::var("DEAI_SKIP_VULKAN").as_deref() == Ok("1") => {
            eprintln!("DEAI_SKIP_VULKAN=1: skipping a Vulkan test ({e})");
            None
        }
        Err(e) => panic!("no usable Vulkan device ({e}); set DEAI_SKIP_VULKAN=1 to skip"),
    }
}

fn small() -> WorkgroupConfig {
    WorkgroupConfig {
        x: 4,
        y: 8,
        k_tile: 16,
    }
}

fn paths(exec: &Executor) -> Vec<GemmPath> {
    let mut p = vec![GemmPath::Plain];
    if exec.has_dot_product() {
        p.push(GemmPath::DotProduct);
    }
    p
}

fn to_bytes(c: &Matrix<i32>) -> Vec<u8> {
    c.data().iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn check(exec: &Executor, m: usize, n: usize, k: usize, seed: u64) {
    let a = random_i8_matrix(m, k, seed);
    let bt = random_i8_matrix(n, k, seed ^ 0x5555);
    let want = gemm_i8_reference(&a, &bt).expect("the reference accepts these shapes");
    for path in paths(exec) {
        let got = exec
            .gemm_i8(&a, &bt, path)
            .expect("the executor runs gemm-i8");
        assert_eq!((got.rows(), got.cols()), (m, n));
        assert!(
            to_bytes(&got) == to_bytes(&want),
            "{m}x{n}x{k} via {path:?} with {:?} differs from the reference",
            exec.workgroup()
        );
    }
}

#[test]
fn the_shader_matches_the_reference_byte_for_byte_at_edge_sizes() {
    let Some(exec) = executor(small()) else {
        return;
    };
    // Block is 64 x 32 with 16 int8 of k per round: these cover 1, partial tiles, exact tiles,
    // several tiles and k not a multiple of 4.
    let sizes = [
        (1, 1, 1),
        (1, 1, 3),
        (2, 3, 5),
        (17, 33, 65),
        (64, 32, 16),
        (65, 33, 17),
        (128, 64, 48),
        (64, 48, 100),
        (5, 70, 257),
    ];
    for (i, &(m, n, k)) in sizes.iter().enumerate() {
        check(&exec, m, n, k, i as u64 + 1);
    }
}

#[test]
fn a_k_split_over_several_dispatches_matches_the_reference() {
    let Some(exec) = executor(small()) else {
        return;
    };
    let per_dispatch = exec.workgroup().k_per_dispatch() as usize;
    // Two whole chunks and a ragged third one.
    check(&exec, 9, 19, 2 * per_dispatch + 37, 42);
}

#[test]
fn the_default_workgroup_matches_the_reference() {
    let Some(exec) = executor(WorkgroupConfig::default()) else {
        return;
    };
    for (i, &(m, n, k)) in [(1, 1, 1), (17, 33, 65), (70, 130, 300)].iter().enumerate() {
        check(&exec, m, n, k, 100 + i as u64);
    }
}

#[test]
fn the_device_report_names_the_device_and_its_limits() {
    let Some(exec) = executor(small()) else {
        return;
    };
    let r = exec.report();
    assert!(!r.name.is_empty());
    assert!(r.max_workgroup_invocations >= 128, "Vulkan guarantees 128");
    assert!(r.max_shared_memory >= 16384, "Vulkan guarantees 16 KiB");
    let text = r.to_string();
    for needle in [
        "device:",
        "driver name:",
        "max workgroup size:",
        "shaderIntegerDotProduct:",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[test]
fn the_deepest_k_tile_fits_the_shared_memory() {
    let wg = WorkgroupConfig::deepest_k_tile(16, 16, 32768);
    assert_eq!(wg.k_tile, 128);
    assert_eq!(WorkgroupConfig::deepest_k_tile(16, 16, 16384).k_tile, 64);
    assert_eq!(WorkgroupConfig::deepest_k_tile(64, 16, 1024).k_tile, 16);
}

#[test]
fn both_paths_are_checked_when_the_device_has_the_dot_product() {
    let Some(exec) = executor(small()) else {
        return;
    };
    let r = exec.report();
    assert_eq!(exec.has_dot_product(), r.shader_integer_dot_product);
    if r.shader_integer_dot_product {
        assert_eq!(exec.resolve(GemmPath::Auto).unwrap(), GemmPath::DotProduct);
    } else {
        assert!(matches!(
            exec.gemm_i8(
                &random_i8_matrix(1, 1, 1),
                &random_i8_matrix(1, 1, 2),
                GemmPath::DotProduct
            ),
            Err(ComputeError::DotProductUnsupported)
        ));
    }
}

#[test]
fn two_executors_with_different_workgroups_give_identical_hashes() {
    let Some(a_exec) = executor(small()) else {
        return;
    };
    let Some(b_exec) = executor(WorkgroupConfig {
        x: 16,
        y: 4,
        k_tile: 32,
    }) else {
        return;
    };
    // The bench's choice on this device: 16 x 16 with the deepest k slab that fits.
    let deep = WorkgroupConfig::deepest_k_tile(16, 16, a_exec.report().max_shared_memory);
    let Some(c_exec) = executor(deep) else {
        return;
    };
    let a = random_i8_matrix(145, 300, 7);
    let bt = random_i8_matrix(139, 300, 8);
    let want = result_hash(&gemm_i8_reference(&a, &bt).unwrap());
    for exec in [&a_exec, &b_exec, &c_exec] {
        for path in paths(exec) {
            assert_eq!(result_hash(&exec.gemm_i8(&a, &bt, path).unwrap()), want);
        }
    }
}

#[test]
fn the_extreme_product_at_the_overflow_bound_is_exact() {
    let Some(exec) = executor(small()) else {
        return;
    };
    // Every product is (-128) * (-128) = 16384, the largest an int8 pair gives.
    let a = Matrix::filled(2, K_MAX, -128i8).unwrap();
    for path in paths(&exec) {
        let c = exec.gemm_i8(&a, &a, path).unwrap();
        assert_eq!(c.data(), &[i32::MAX - 16383; 4]);
    }
}

#[test]
fn k_above_the_overflow_bound_is_rejected_before_dispatch() {
    let Some(exec) = executor(small()) else {
        return;
    };
    let a = Matrix::filled(1, K_MAX + 1, 1i8).unwrap();
    for path in [GemmPath::Auto, GemmPath::Plain] {
        assert!(matches!(
            exec.gemm_i8(&a, &a, path),
            Err(ComputeError::KTooLarge { k, max }) if k == K_MAX + 1 && max == K_MAX
        ));
    }
}

#[test]
fn mismatched_inner_dimensions_are_rejected() {
    let Some(exec) = executor(small()) else {
        return;
    };
    let a = random_i8_matrix(2, 3, 1);
    let bt = random_i8_matrix(2, 4, 1);
    assert!(matches!(
        exec.gemm_i8(&a, &bt, GemmPath::Plain),
        Err(ComputeError::Shape(_))
    ));
}

#[test]
fn an_oversized_workgroup_is_rejected() {
    let err = Executor::new(ExecutorOptions {
        device_index: None,
        workgroup: WorkgroupConfig {
            x: 4096,
            y: 4096,
            k_tile: 16,
        },
    });
    match err {
        Err(ComputeError::Workgroup(_)) => {}
        Err(e) if std::env::var("DEAI_SKIP_VULKAN").as_deref() == Ok("1") => {
            eprintln!("DEAI_SKIP_VULKAN=1: skipping ({e})");
        }
        Err(e) => panic!("expected a workgroup error, got {e}"),
        Ok(_) => panic!("a 4096 x 4096 workgroup was accepted"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_shapes_match_the_reference(m in 1usize..40, n in 1usize..40, k in 1usize..90, seed: u64) {
        let Some(exec) = executor(small()) else { return Ok(()) };
        let a = random_i8_matrix(m, k, seed);
        let bt = random_i8_matrix(n, k, seed.wrapping_add(1));
        let want = gemm_i8_reference(&a, &bt).unwrap();
        for path in paths(&exec) {
            prop_assert_eq!(exec.gemm_i8(&a, &bt, path).unwrap(), want.clone());
        }
    }
}

#[test]
fn batched_products_match_the_reference_byte_for_byte_on_both_paths() {
    for wg in [
        WorkgroupConfig::default(),
        WorkgroupConfig {
            x: 4,
            y: 2,
            k_tile: 16,
        },
    ] {
        batched_products_match(wg);
    }
}

fn batched_products_match(wg: WorkgroupConfig) {
    let Some(exec) = executor(wg) else { return };
    for (batch, m, n, k) in [
        (1usize, 5usize, 7usize, 9usize),
        (3, 17, 33, 65),
        (12, 9, 9, 32),
        (4, 130, 3, 200),
    ] {
        let a = random_i8_matrix(batch * m, k, 40 + batch as u64);
        let bt = random_i8_matrix(batch * n, k, 50 + batch as u64);
        let want = deai_compute::gemm::gemm_i8_batched_reference(&a, &bt, batch)
            .expect("valid batched shapes");
        // Block z is the plain product of block z of each operand.
        let a0 = Matrix::new(m, k, a.data()[..m * k].to_vec()).expect("block 0");
        let b0 = Matrix::new(n, k, bt.data()[..n * k].to_vec()).expect("block 0");
        assert_eq!(
            gemm_i8_reference(&a0, &b0).expect("valid shapes").data(),
            &want.data()[..m * n]
        );
        for path in [GemmPath::Plain, GemmPath::Auto] {
            let got = exec
                .gemm_i8_batched(&a, &bt, batch, path)
                .expect("the device runs the batched product");
            assert_eq!(got, want, "{batch} x {m}x{n}x{k} {path:?} {wg:?}");
        }
    }
    let a = random_i8_matrix(5, 4, 1);
    assert!(exec.gemm_i8_batched(&a, &a, 2, GemmPath::Auto).is_err());
}
