//! The library's error type.

use thiserror::Error;

/// Everything that can go wrong in the compute node's library.
#[derive(Debug, Error)]
pub enum ComputeError {
    /// The Vulkan loader (`libvulkan.so.1`) could not be loaded.
    #[error("could not load the Vulkan library: {0}")]
    Loading(String),
    /// No Vulkan physical device with a compute-capable queue family exists.
    #[error("no Vulkan device with a compute queue was found (is mesa-vulkan-drivers installed?)")]
    NoDevice,
    /// The requested device index is out of range.
    #[error("device index {index} out of range: {count} compute-capable device(s)")]
    DeviceIndex {
        /// The requested index.
        index: usize,
        /// How many compute-capable devices exist.
        count: usize,
    },
    /// A Vulkan call or vulkano validation failed.
    #[error("Vulkan error while {context}: {message}")]
    Vulkan {
        /// What the executor was doing.
        context: &'static str,
        /// The driver's or vulkano's message.
        message: String,
    },
    /// An embedded SPIR-V module is malformed (a build problem, not a runtime one).
    #[error("embedded SPIR-V module {0} is malformed")]
    BadSpirv(&'static str),
    /// Operand shapes do not agree, or a matrix's data does not match its shape.
    #[error("shape error: {0}")]
    Shape(String),
    /// `k` is so large that an int32 accumulator could overflow.
    #[error("k = {k} exceeds the int32 accumulation bound k <= {max}")]
    KTooLarge {
        /// The requested inner dimension.
        k: usize,
        /// The largest inner dimension that cannot overflow.
        max: usize,
    },
    /// A result would hold more elements than any product may (see [`crate::gemm`]).
    #[error("a {rows} x {cols} result exceeds the bound of {max} elements")]
    OutputTooLarge {
        /// Its rows.
        rows: usize,
        /// Its columns.
        cols: usize,
        /// The most elements allowed.
        max: usize,
    },
    /// A buffer or dispatch exceeds a device limit.
    #[error("{what} = {value} exceeds the device limit {limit}")]
    DeviceLimit {
        /// Which quantity.
        what: &'static str,
        /// Its requested value.
        value: u64,
        /// The device's limit.
        limit: u64,
    },
    /// The integer dot-product path was requested but the device lacks it.
    #[error("the device does not support shaderIntegerDotProduct")]
    DotProductUnsupported,
    /// A model's files are missing, unreadable or not the expected BERT checkpoint.
    #[error("model: {0}")]
    Model(String),
    /// The tokenizer failed to load or to encode a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A workgroup configuration is invalid for the kernel or the device.
    #[error("invalid workgroup configuration: {0}")]
    Workgroup(String),
}

impl ComputeError {
    /// Wraps a Vulkan/vulkano error with what the executor was doing.
    pub(crate) fn vulkan(context: &'static str) -> impl FnOnce(String) -> ComputeError {
        move |message| ComputeError::Vulkan { context, message }
    }
}

/// Converts any displayable vulkano error into [`ComputeError::Vulkan`].
pub(crate) trait VkContext<T> {
    /// Attaches `context` to the error.
    fn vk(self, context: &'static str) -> Result<T, ComputeError>;
}

impl<T, E: std::fmt::Display> VkContext<T> for Result<T, E> {
    fn vk(self, context: &'static str) -> Result<T, ComputeError> {
        self.map_err(|e| ComputeError::vulkan(context)(e.to_string()))
    }
}
