//! ICS-26 routing: which application owns which port. No application is
//! bound yet (ICS-20 transfer comes next), so channel handshakes to any
//! port are refused with "unknown port".

use ibc::core::{
    host::types::identifiers::PortId,
    router::{module::Module, router::Router, types::module::ModuleId},
};

/// The chain's IBC applications, by port.
#[derive(Debug, Default)]
pub struct IbcRouter;

impl Router for IbcRouter {
    fn get_route(&self, _: &ModuleId) -> Option<&dyn Module> {
        None
    }

    fn get_route_mut(&mut self, _: &ModuleId) -> Option<&mut dyn Module> {
        None
    }

    fn lookup_module(&self, _: &PortId) -> Option<ModuleId> {
        None
    }
}
