//! IBC messages in the chain's transactions: ibc-go's type URLs, decoded
//! by ibc-rs into a [`MsgEnvelope`] and executed by ibc-rs's handlers over
//! [`IbcHost`] (validate, then execute, as ibc-rs's `dispatch` does).

use cosmos_sdk_proto::Any;
use deai_types::{Address, Event, ModuleMsg, MsgCtx, MsgError, StateWrite};
use ibc::core::{
    channel::types::msgs::{ChannelMsg, PacketMsg},
    client::types::msgs::ClientMsg,
    connection::types::msgs::ConnectionMsg,
    entrypoint::dispatch,
    handler::types::msgs::MsgEnvelope,
    host::types::identifiers::ChainId,
};

use crate::{
    host::{HostBlock, IbcHost},
    router::IbcRouter,
};

/// The core IBC messages' type URLs (ibc-go's).
pub const TYPE_URLS: &[&str] = &[
    "/ibc.core.client.v1.MsgCreateClient",
    "/ibc.core.client.v1.MsgUpdateClient",
    "/ibc.core.client.v1.MsgUpgradeClient",
    "/ibc.core.client.v1.MsgSubmitMisbehaviour",
    "/ibc.core.connection.v1.MsgConnectionOpenInit",
    "/ibc.core.connection.v1.MsgConnectionOpenTry",
    "/ibc.core.connection.v1.MsgConnectionOpenAck",
    "/ibc.core.connection.v1.MsgConnectionOpenConfirm",
    "/ibc.core.channel.v1.MsgChannelOpenInit",
    "/ibc.core.channel.v1.MsgChannelOpenTry",
    "/ibc.core.channel.v1.MsgChannelOpenAck",
    "/ibc.core.channel.v1.MsgChannelOpenConfirm",
    "/ibc.core.channel.v1.MsgChannelCloseInit",
    "/ibc.core.channel.v1.MsgChannelCloseConfirm",
    "/ibc.core.channel.v1.MsgRecvPacket",
    "/ibc.core.channel.v1.MsgAcknowledgement",
    "/ibc.core.channel.v1.MsgTimeout",
    "/ibc.core.channel.v1.MsgTimeoutOnClose",
];

/// A decoded IBC message and the account that signs it (the message's
/// `signer`, a relayer or a user).
#[derive(Debug)]
pub struct IbcMsg {
    type_url: &'static str,
    signer: Address,
    envelope: MsgEnvelope,
}

fn signer_of(envelope: &MsgEnvelope) -> &str {
    use ChannelMsg as Ch;
    use ClientMsg as Cl;
    use ConnectionMsg as Co;
    use PacketMsg as P;
    match envelope {
        MsgEnvelope::Client(m) => match m {
            Cl::CreateClient(m) => m.signer.as_ref(),
            Cl::UpdateClient(m) => m.signer.as_ref(),
            // Deprecated in ibc-rs in favour of MsgUpdateClient, still sent.
            #[allow(deprecated)]
            Cl::Misbehaviour(m) => m.signer.as_ref(),
            Cl::UpgradeClient(m) => m.signer.as_ref(),
            Cl::RecoverClient(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Connection(m) => match m {
            Co::OpenInit(m) => m.signer.as_ref(),
            Co::OpenTry(m) => m.signer.as_ref(),
            Co::OpenAck(m) => m.signer.as_ref(),
            Co::OpenConfirm(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Channel(m) => match m {
            Ch::OpenInit(m) => m.signer.as_ref(),
            Ch::OpenTry(m) => m.signer.as_ref(),
            Ch::OpenAck(m) => m.signer.as_ref(),
            Ch::OpenConfirm(m) => m.signer.as_ref(),
            Ch::CloseInit(m) => m.signer.as_ref(),
            Ch::CloseConfirm(m) => m.signer.as_ref(),
        },
        MsgEnvelope::Packet(m) => match m {
            P::Recv(m) => m.signer.as_ref(),
            P::Ack(m) => m.signer.as_ref(),
            P::Timeout(m) => m.signer.as_ref(),
            P::TimeoutOnClose(m) => m.signer.as_ref(),
        },
    }
}

impl IbcMsg {
    /// Stateless checks: one of [`TYPE_URLS`], decoded by ibc-rs, signed by
    /// a `deai1…` account.
    pub fn decode(any: &Any) -> Result<Self, MsgError> {
        let type_url = TYPE_URLS
            .iter()
            .find(|u| **u == any.type_url)
            .ok_or_else(|| MsgError::UnknownMessage(any.type_url.clone()))?;
        let envelope = MsgEnvelope::try_from(ibc::primitives::proto::Any {
            type_url: any.type_url.clone(),
            value: any.value.clone(),
        })
        .map_err(|e| MsgError::InvalidRequest(format!("{type_url}: {e}")))?;
        let signer = signer_of(&envelope)
            .parse::<Address>()
            .map_err(|e| MsgError::InvalidRequest(format!("signer: {e}")))?;
        Ok(IbcMsg {
            type_url,
            signer,
            envelope,
        })
    }
}

/// ibc-rs's events as ABCI events (the kinds and attributes ibc-go emits,
/// which relayers read).
pub fn events(ibc_events: Vec<ibc::core::handler::types::events::IbcEvent>) -> Vec<Event> {
    ibc_events
        .into_iter()
        .filter_map(|e| tendermint::abci::Event::try_from(e).ok())
        .map(|e| Event {
            kind: e.kind,
            attributes: e
                .attributes
                .iter()
                .map(|a| {
                    (
                        a.key_str().unwrap_or_default().to_string(),
                        a.value_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
        })
        .collect()
}

impl ModuleMsg for IbcMsg {
    fn type_url(&self) -> &'static str {
        self.type_url
    }

    fn signer(&self) -> Address {
        self.signer
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let chain_id = ChainId::new(&ctx.host.chain_id(&*state)?)
            .map_err(|e| MsgError::Internal(format!("chain id: {e}")))?;
        let block = HostBlock {
            height: ctx.height,
            time: ctx.time,
            chain_id,
        };
        let mut host = IbcHost::new(state, block);
        let mut router = IbcRouter;
        dispatch(&mut host, &mut router, self.envelope.clone())
            .map_err(|e| MsgError::module(crate::IbcError::Handler(e.to_string())))?;
        Ok(events(host.events))
    }
}
