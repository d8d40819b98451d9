//! Every instruction set this machine has (each forced in turn, single- and
//! multi-threaded) against the plain product, byte for byte: edge shapes around the
//! tiles, the vector widths and the k block, the extreme byte values, and products big
//! enough to be split over threads. `scripts/test-neon.sh` runs the same tests for AArch64
//! under an emulator, which covers the NEON kernels on an x86 machine.

use deai_cpu_gemm::{
    gemm, gemm_packed, gemm_reference, Isa, PackedB, PACK_MIN_ROWS, PARALLEL_MIN_MACS,
};

/// SplitMix64, for reproducible inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `len` bytes drawn from `-128`, `127` and uniform int8 in turn.
    fn bytes(&mut self, len: usize) -> Vec<i8> {
        (0..len)
            .map(|_| match self.next() % 4 {
                0 => -128,
                1 => 127,
                _ => self.next() as u8 as i8,
            })
            .collect()
    }
}

fn check(m: usize, n: usize, k: usize, a: &[i8], bt: &[i8]) {
    let mut want = vec![0i32; m * n];
    gemm_reference(a, bt, m, n, k, &mut want);
    let packed = PackedB::new(bt, n, k);
    assert_eq!(packed.shape(), (n, k));
    let isas = Isa::available();
    assert!(isas.contains(&Isa::Scalar));
    for isa in isas {
        for threads in [false, true] {
            // Garbage in C first: the kernels must overwrite, not add to, what is there.
            let mut got = vec![0x5a5a_5a5a; m * n];
            gemm(isa, threads, a, bt, m, n, k, &mut got);
            assert!(
                got == want,
                "{m}×{n}×{k} on {isa} (threads: {threads}) differs from the plain product"
            );
            // The same with Bt packed beforehand (the broadcast kernel on AVX-512 VNNI).
            let mut got = vec![0x5a5a_5a5a; m * n];
            gemm_packed(isa, threads, a, bt, &packed, m, &mut got);
            assert!(
                got == want,
                "{m}×{n}×{k} on {isa} (threads: {threads}), Bt packed, differs from the plain product"
            );
        }
    }
}

#[test]
fn the_instruction_sets_of_this_machine_are_detected_and_named() {
    let isas = Isa::available();
    eprintln!("instruction sets on this machine: {isas:?}");
    assert!(Isa::best().is_available());
    assert_eq!(isas.last(), Some(&Isa::best()));
    #[cfg(target_arch = "aarch64")]
    assert!(isas.contains(&Isa::Neon), "every AArch64 CPU has NEON");
    #[cfg(not(target_arch = "aarch64"))]
    assert!(!isas.contains(&Isa::Neon) && !isas.contains(&Isa::NeonDot));
    #[cfg(not(target_arch = "x86_64"))]
    assert!(!isas.contains(&Isa::Avx2) && !isas.contains(&Isa::Avx512Vnni));
    for isa in Isa::ALL {
        assert_eq!(isa.name().parse::<Isa>(), Ok(isa));
        assert_eq!(isa.to_string(), isa.name());
    }
    let err = "sve"
        .parse::<Isa>()
        .expect_err("not an instruction set we have");
    assert!(
        err.contains("neon-dot") && err.contains("avx512-vnni"),
        "{err}"
    );
}

#[test]
fn every_isa_equals_the_plain_product_at_edge_shapes() {
    let mut rng = Rng(7);
    // Below, at and past the tiles (4×4, 2×4), the vector widths (16, 32, 64 bytes)
    // and the k block (4096).
    let dims = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17];
    let depths = [
        1, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 384, 4095, 4096, 4097,
    ];
    for &m in &dims {
        for &n in &dims {
            for &k in &depths {
                if m * n * k > 200_000 {
                    continue;
                }
                let a = rng.bytes(m * k);
                let bt = rng.bytes(n * k);
                check(m, n, k, &a, &bt);
            }
        }
    }
}

#[test]
fn every_isa_equals_the_plain_product_on_the_extreme_values() {
    // -128 · -128 summed over a deep k: the largest positive partial sums, which a
    // kernel that added two byte products in 16 bits would overflow.
    for k in [16, 48, 4100] {
        for (x, y) in [(-128i8, -128i8), (-128, 127), (127, 127)] {
            let (m, n) = (5, 6);
            check(m, n, k, &vec![x; m * k], &vec![y; n * k]);
        }
    }
}

#[test]
fn products_split_over_threads_equal_the_plain_product() {
    let mut rng = Rng(11);
    // Many rows (split by rows) and few rows (split by columns), both over the
    // threading threshold.
    for (m, n, k) in [(160, 96, 384), (6, 1536, 384), (70, 33, 1100)] {
        assert!(m * n * k >= PARALLEL_MIN_MACS);
        let a = rng.bytes(m * k);
        let bt = rng.bytes(n * k);
        check(m, n, k, &a, &bt);
    }
}

#[test]
fn products_with_many_rows_equal_the_plain_product() {
    // From PACK_MIN_ROWS rows gemm packs Bt itself on AVX-512 VNNI: column counts below,
    // at and past the 16-column blocks and 64-column groups, depths that are not a
    // multiple of 4 and that span several 512-byte slabs, row counts past the 6-row tiles.
    let mut rng = Rng(13);
    for (m, n, k) in [
        (PACK_MIN_ROWS, 1, 1),
        (PACK_MIN_ROWS + 1, 17, 3),
        (67, 64, 64),
        (70, 65, 513),
        (71, 80, 1030),
        (64, 130, 2049),
        (133, 47, 4100),
    ] {
        let a = rng.bytes(m * k);
        let bt = rng.bytes(n * k);
        check(m, n, k, &a, &bt);
    }
    for (x, y) in [(-128i8, -128i8), (-128, 127), (127, -128)] {
        let (m, n, k) = (PACK_MIN_ROWS + 2, 20, 4100);
        check(m, n, k, &vec![x; m * k], &vec![y; n * k]);
    }
}

#[test]
#[should_panic(expected = "do not match")]
fn a_packed_bt_of_another_shape_is_refused() {
    let packed = PackedB::new(&[1; 6], 2, 3);
    let mut c = vec![0i32; 4];
    gemm_packed(Isa::best(), false, &[1; 6], &[1; 8], &packed, 2, &mut c);
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "not the one")]
fn a_packed_bt_of_other_bytes_is_refused_in_debug_builds() {
    let packed = PackedB::new(&[1, 2, 3, 4, 5, 6], 2, 3);
    let mut c = vec![0i32; 4];
    gemm_packed(
        Isa::best(),
        false,
        &[1; 6],
        &[1, 2, 3, 4, 5, 7],
        &packed,
        2,
        &mut c,
    );
}

#[test]
fn empty_products_are_empty_or_zero() {
    check(0, 3, 5, &[], &[0; 15]);
    check(3, 0, 5, &[0; 15], &[]);
    check(3, 4, 0, &[], &[]);
}

#[test]
#[should_panic(expected = "do not match")]
fn slices_that_do_not_match_the_shape_are_refused() {
    let mut c = vec![0i32; 4];
    gemm(
        Isa::Scalar,
        false,
        &[1, 2, 3],
        &[1, 2, 3, 4],
        2,
        2,
        2,
        &mut c,
    );
}
