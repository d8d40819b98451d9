//! The rounds module's view of the compute module, wired here so that
//! neither module depends on the other: a round's contributors must be
//! bonded, unjailed compute providers, and its base model must be in
//! compute's registry.

use deai_compute_module::ComputeRead;
use deai_rounds::{Providers, RoundsError};
use deai_types::{Address, StateError, StateRead};

/// Reads compute's provider records and model registry.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComputeProviders;

fn compute_error(e: deai_compute_module::ComputeError) -> RoundsError {
    match e {
        deai_compute_module::ComputeError::State(s) => RoundsError::State(s),
        other => RoundsError::State(StateError::Storage(format!("compute records: {other}"))),
    }
}

impl Providers for ComputeProviders {
    fn eligible_bond(
        &self,
        state: &dyn StateRead,
        addr: &Address,
        height: u64,
    ) -> Result<Option<u128>, RoundsError> {
        Ok(state
            .provider(addr)
            .map_err(compute_error)?
            .filter(|p| !p.is_jailed(height))
            .map(|p| p.bond))
    }

    fn model_registered(&self, state: &dyn StateRead, model_id: &str) -> Result<bool, RoundsError> {
        Ok(state.model(model_id).map_err(compute_error)?.is_some())
    }
}
