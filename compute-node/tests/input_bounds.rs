//! Issue 10, item 3: a `gemm-i8` job whose header names a huge result (`m` and `n` in the
//! millions, `k = 0`, so no body bytes at all) is refused by the decoder, by
//! [`Workload::run`] and by the reference before anything is sized by that header.
//!
//! A counting global allocator records the largest single allocation each thread asks
//! for, and refuses (rather than forwards) any request over 1 GiB, so code that still
//! sized the result from the header fails this test instead of asking the OS for terabytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// The allocator below must be `unsafe impl GlobalAlloc`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    time::{Duration, Instant},
};

use deai_compute::{
    gemm_i8_reference,
    workload::{GemmI8Input, ModelStore, Workload},
    Matrix,
};

/// Requests above this are refused: no test here needs anywhere near it.
const REFUSE_ABOVE: usize = 1 << 30;

/// Forwards to [`System`], remembering the largest request of the current thread.
struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) -> bool {
    // `try_with`: a thread being torn down still frees memory after its TLS is gone.
    let _ = LARGEST.try_with(|c| c.set(c.get().max(size)));
    size <= REFUSE_ABOVE
}

// SAFETY: every call forwards to `System` with the caller's own arguments, or returns
// null, which `GlobalAlloc` allows for any request.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            unsafe { System.alloc(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if note(layout.size()) {
            unsafe { System.alloc_zeroed(layout) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if note(new_size) {
            unsafe { System.realloc(ptr, layout, new_size) }
        } else {
            std::ptr::null_mut()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns the largest single allocation it made on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|c| c.set(0));
    f();
    LARGEST.with(Cell::get)
}

/// A version-1 gemm-i8 header with no body.
fn header(m: u32, n: u32, k: u32) -> Vec<u8> {
    let mut v = b"DGM1".to_vec();
    for d in [m, n, k] {
        v.extend_from_slice(&d.to_le_bytes());
    }
    v
}

#[test]
fn a_huge_gemm_header_with_k_zero_is_refused_quickly_without_sizing_its_result() {
    let workload = Workload::reference(ModelStore::default());
    for (m, n) in [(1u32 << 20, 1u32 << 20), (u32::MAX, u32::MAX), (1 << 24, 2)] {
        let input = header(m, n, 0);
        let start = Instant::now();
        let largest = largest_allocation(|| {
            assert!(GemmI8Input::decode(&input).is_err(), "{m}x{n}x0 decoded");
            let e = workload.run("gemm-i8", None, &input).unwrap_err();
            assert!(e.to_string().contains("gemm-i8"), "{e}");
        });
        assert!(
            largest < 1 << 20,
            "{m}x{n}x0 made a {largest}-byte allocation"
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{m}x{n}x0 took {:?}",
            start.elapsed()
        );
    }
}

#[test]
fn the_reference_refuses_a_huge_result_before_allocating_it() {
    // k = 0 matrices hold no elements, so these cost nothing to build.
    let a = Matrix::<i8>::new(1 << 20, 0, Vec::new()).unwrap();
    let bt = Matrix::<i8>::new(1 << 20, 0, Vec::new()).unwrap();
    let largest = largest_allocation(|| {
        assert!(gemm_i8_reference(&a, &bt).is_err());
    });
    assert!(largest < 1 << 20, "a {largest}-byte allocation");
    // k = 1: 2^24 + 2^12 results, one past the bound; the operands are 8 KiB.
    let a = Matrix::filled(1 << 12, 1, 1i8).unwrap();
    let bt = Matrix::filled((1 << 12) + 1, 1, 1i8).unwrap();
    let largest = largest_allocation(|| {
        assert!(gemm_i8_reference(&a, &bt).is_err());
    });
    assert!(largest < 1 << 20, "a {largest}-byte allocation");
}
