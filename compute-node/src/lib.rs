//! The DeAI compute node's kernels: integer-only Vulkan compute shaders, the plain Rust
//! references that define their results, and the result hashes nodes compare.
//!
//! Everything is integer arithmetic whose int32 accumulators provably cannot overflow, so a
//! kernel's output — and its [`result_hash`] — is bit-identical on every driver and on the
//! reference. The crate owns the [`Executor`] (device selection and dispatch), the kernels
//! (`gemm-i8` in [`gemm`]) and the canonical result encoding ([`hash`]).

pub mod bench;
pub mod cpu;
pub mod encoder;
mod error;
pub mod executor;
pub mod gemm;
pub mod hash;
pub mod ibert;
mod matrix;
pub mod model;
pub mod ops;
pub mod shaders;
pub mod verify;
pub mod vulkan;
pub mod workload;

pub use error::ComputeError;
pub use executor::{
    list_devices, DeviceReport, Executor, ExecutorOptions, GemmPath, WorkgroupConfig,
};
pub use gemm::{gemm_i8_reference, K_MAX};
pub use hash::{result_hash, ResultHash};
pub use matrix::{random_i8_matrix, Matrix, SplitMix64};
pub use vulkan::{VulkanEncoder, VulkanEncoderOptions};
