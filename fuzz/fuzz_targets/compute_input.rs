//! The compute job input decoders, which run on chain at submission and in
//! the daemon before it sizes a kernel: no input may panic, and whatever
//! they accept must be within the bounds the kernels were sized for.

#![no_main]

use deai_compute_module::input::{
    check_embed_input, classify_work_units, ClassifyInput, GemmI8Shape, CLASSIFY_HIDDEN,
    CLASSIFY_MAX_CLASSES, GEMM_I8_HEADER_BYTES, GEMM_I8_MAX_K, GEMM_I8_MAX_OUTPUT_ELEMENTS,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: deai_fuzz::write_seeds_if_asked("compute_input"),
    |data: &[u8]| {
        if let Ok(s) = GemmI8Shape::parse(data) {
            assert!(s.m >= 1 && s.n >= 1 && s.k >= 1 && s.k <= GEMM_I8_MAX_K, "{s:?}");
            assert!(s.output_elements() <= GEMM_I8_MAX_OUTPUT_ELEMENTS, "{s:?}");
            let body = u64::from(s.m) * u64::from(s.k) + u64::from(s.k) * u64::from(s.n);
            assert_eq!(data.len() as u64, GEMM_I8_HEADER_BYTES as u64 + body, "{s:?}");
            let _ = s.multiply_adds();
        }
        let _ = check_embed_input(data);
        if let Ok(c) = ClassifyInput::parse(data) {
            assert!((2..=CLASSIFY_MAX_CLASSES).contains(&c.classes), "{}", c.classes);
            assert_eq!(c.head.len(), c.classes as usize * CLASSIFY_HIDDEN);
            assert!(!c.texts.is_empty());
            assert!(classify_work_units(data).is_ok());
        }
    }
);
