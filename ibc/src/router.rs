//! ICS-26 routing: which application owns which port. The ICS-20 transfer
//! application owns port `transfer`, compute jobs over IBC port `compute`;
//! a channel handshake to any other port is refused with "unknown port".

use deai_types::{Event, MsgHost};
use ibc::core::{
    host::types::identifiers::PortId,
    router::{module::Module, router::Router, types::module::ModuleId},
};

use crate::{
    compute::{ComputeApp, JobBlock, PORT as COMPUTE_PORT},
    shared::SharedState,
    transfer::{TransferModule, PORT as TRANSFER_PORT},
};

/// The chain's IBC applications, by port, over the shared state of the
/// message being executed.
#[derive(Debug)]
pub struct IbcRouter<'a> {
    transfer: TransferModule<'a>,
    compute: ComputeApp<'a>,
}

impl<'a> IbcRouter<'a> {
    /// The applications over `state`, in `block`.
    pub fn new(state: SharedState<'a>, host: &'a dyn MsgHost, block: JobBlock) -> Self {
        IbcRouter {
            transfer: TransferModule::new(state.clone(), host),
            compute: ComputeApp::new(state, block),
        }
    }

    /// The applications' own events (the bank's, the market's) so far, taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        let mut events = self.transfer.take_events();
        events.extend(self.compute.take_events());
        events
    }
}

impl Router for IbcRouter<'_> {
    fn get_route(&self, id: &ModuleId) -> Option<&dyn Module> {
        match id.to_string().as_str() {
            TRANSFER_PORT => Some(&self.transfer),
            COMPUTE_PORT => Some(&self.compute),
            _ => None,
        }
    }

    fn get_route_mut(&mut self, id: &ModuleId) -> Option<&mut dyn Module> {
        match id.to_string().as_str() {
            TRANSFER_PORT => Some(&mut self.transfer),
            COMPUTE_PORT => Some(&mut self.compute),
            _ => None,
        }
    }

    /// Each application's module id is its port.
    fn lookup_module(&self, port: &PortId) -> Option<ModuleId> {
        [TRANSFER_PORT, COMPUTE_PORT]
            .contains(&port.as_str())
            .then(|| ModuleId::new(port.to_string()))
    }
}
