//! ICS-26 routing: which application owns which port. The ICS-20 transfer
//! application owns port `transfer`; a channel handshake to any other port
//! is refused with "unknown port".

use deai_types::{Event, MsgHost};
use ibc::core::{
    host::types::identifiers::PortId,
    router::{module::Module, router::Router, types::module::ModuleId},
};

use crate::{
    shared::SharedState,
    transfer::{TransferModule, PORT as TRANSFER_PORT},
};

/// The chain's IBC applications, by port, over the shared state of the
/// message being executed.
#[derive(Debug)]
pub struct IbcRouter<'a> {
    transfer: TransferModule<'a>,
}

impl<'a> IbcRouter<'a> {
    /// The applications over `state`.
    pub fn new(state: SharedState<'a>, host: &'a dyn MsgHost) -> Self {
        IbcRouter {
            transfer: TransferModule::new(state, host),
        }
    }

    /// The applications' own events (the bank's) so far, taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.transfer.take_events()
    }
}

impl Router for IbcRouter<'_> {
    fn get_route(&self, id: &ModuleId) -> Option<&dyn Module> {
        (id.to_string() == TRANSFER_PORT).then_some(&self.transfer as &dyn Module)
    }

    fn get_route_mut(&mut self, id: &ModuleId) -> Option<&mut dyn Module> {
        (id.to_string() == TRANSFER_PORT).then_some(&mut self.transfer as &mut dyn Module)
    }

    fn lookup_module(&self, port: &PortId) -> Option<ModuleId> {
        (port.as_str() == TRANSFER_PORT).then(|| ModuleId::new(TRANSFER_PORT.to_string()))
    }
}
