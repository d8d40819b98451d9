//! The contract between a module's errors and ABCI results.

/// An error a module returns for a rejected message. Each becomes a non-zero
/// ABCI result code within the module's codespace, plus its log text.
pub trait ModuleError: std::error::Error {
    /// The module's codespace, such as `bank`.
    fn codespace(&self) -> &'static str;
    /// A stable non-zero code for this kind of error within the codespace.
    fn code(&self) -> u32;
}
