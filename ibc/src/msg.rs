//! IBC messages in the chain's transactions: ibc-go's type URLs, decoded
//! by ibc-rs into a [`MsgEnvelope`] and executed by ibc-rs's handlers over
//! [`IbcHost`] (validate, then execute, as ibc-rs's `dispatch` does).

use cosmos_sdk_proto::Any;
use deai_types::{Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, StateWrite};
use ibc::apps::transfer::{
    handler::send_transfer, types::msgs::transfer::MsgTransfer as IbcTransfer,
};
use ibc::core::{
    channel::types::msgs::{ChannelMsg, PacketMsg},
    client::types::msgs::ClientMsg,
    connection::types::msgs::ConnectionMsg,
    entrypoint::dispatch,
    handler::types::msgs::MsgEnvelope,
    host::types::identifiers::ChainId,
};
use ibc_proto::ibc::apps::transfer::v1::MsgTransfer as RawMsgTransfer;

use crate::{
    host::{HostBlock, IbcHost},
    router::IbcRouter,
    shared::SharedState,
    transfer,
};

/// ICS-20's `MsgTransfer` type URL.
pub const TRANSFER_TYPE_URL: &str = "/ibc.applications.transfer.v1.MsgTransfer";

/// The IBC messages' type URLs (ibc-go's): the core messages, then
/// ICS-20's `MsgTransfer` ([`TRANSFER_TYPE_URL`], decoded by [`TransferMsg`]).
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
    TRANSFER_TYPE_URL,
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
            .filter(|u| **u != TRANSFER_TYPE_URL)
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
        run(state, ctx, |host, router| {
            dispatch(host, router, self.envelope.clone()).map_err(|e| e.to_string())
        })
    }
}

/// Runs `f` with ibc-rs's host contexts and the router's applications over
/// `state` in the block of `ctx`, and returns the events both emitted.
/// A storage error any of them met (out of gas) fails the message, even
/// where ibc-rs had no way to report it (an application's receive).
fn run(
    state: &mut dyn StateWrite,
    ctx: &MsgCtx<'_>,
    f: impl FnOnce(&mut IbcHost<SharedState<'_>>, &mut IbcRouter<'_>) -> Result<(), String>,
) -> Result<Vec<Event>, MsgError> {
    let chain_id = ChainId::new(&ctx.host.chain_id(&*state)?)
        .map_err(|e| MsgError::Internal(format!("chain id: {e}")))?;
    let block = HostBlock {
        height: ctx.height,
        time: ctx.time,
        chain_id,
    };
    let shared = SharedState::new(state);
    let mut host = IbcHost::new(shared.clone(), block);
    let mut router = IbcRouter::new(shared.clone(), ctx.host);
    let result = f(&mut host, &mut router);
    if let Some(fault) = shared.fault() {
        return Err(fault.into());
    }
    result.map_err(|e| MsgError::module(crate::IbcError::Handler(e)))?;
    let mut out = events(std::mem::take(&mut host.events));
    out.extend(router.take_events());
    Ok(out)
}

/// ICS-20's `MsgTransfer` (`/ibc.applications.transfer.v1.MsgTransfer`):
/// sends `token` from the signer over a transfer channel.
#[derive(Debug)]
pub struct TransferMsg {
    signer: Address,
    raw: RawMsgTransfer,
}

impl TransferMsg {
    /// Stateless checks: a `deai1…` sender, a receiver and memo within
    /// ibc-go's bounds, a positive amount of a valid denom, valid port and
    /// channel ids, and a timeout.
    pub fn decode(any: &Any) -> Result<Self, MsgError> {
        let raw: RawMsgTransfer = deai_types::module::decode_any(any)?;
        let bad = |m: String| MsgError::InvalidRequest(format!("MsgTransfer: {m}"));
        let signer = raw
            .sender
            .parse::<Address>()
            .map_err(|e| bad(format!("sender: {e}")))?;
        if raw.receiver.trim().is_empty() || raw.receiver.len() > transfer::MAX_RECEIVER_LEN {
            return Err(bad(format!(
                "receiver must be 1 to {} bytes",
                transfer::MAX_RECEIVER_LEN
            )));
        }
        if raw.memo.len() > transfer::MAX_MEMO_LEN {
            return Err(bad(format!(
                "memo is longer than {} bytes",
                transfer::MAX_MEMO_LEN
            )));
        }
        let token = raw.token.as_ref().ok_or_else(|| bad("no token".into()))?;
        let coin = Coin::from_parts(&token.denom, &token.amount).map_err(|e| bad(e.to_string()))?;
        if coin.amount == 0 {
            return Err(bad("amount must be positive".into()));
        }
        let no_height = raw
            .timeout_height
            .as_ref()
            .is_none_or(|h| h.revision_number == 0 && h.revision_height == 0);
        if no_height && raw.timeout_timestamp == 0 {
            return Err(bad("set a timeout height or a timeout timestamp".into()));
        }
        IbcTransfer::try_from(raw.clone()).map_err(|e| bad(e.to_string()))?;
        Ok(TransferMsg { signer, raw })
    }
}

impl ModuleMsg for TransferMsg {
    fn type_url(&self) -> &'static str {
        TRANSFER_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.signer
    }

    fn module(&self) -> &'static str {
        "transfer"
    }

    /// Resolves a voucher denom `ibc/<HASH>` to its trace path, then runs
    /// ibc-rs's `send_transfer`: escrow or burn, then the packet.
    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let mut raw = self.raw.clone();
        if let Some(token) = raw.token.as_mut() {
            token.denom = transfer::packet_denom(&state, &token.denom)
                .map_err(|e| MsgError::InvalidRequest(format!("MsgTransfer: {e}")))?;
        }
        let msg = IbcTransfer::try_from(raw)
            .map_err(|e| MsgError::InvalidRequest(format!("MsgTransfer: {e}")))?;
        let host_api = ctx.host;
        let mut bank_events = Vec::new();
        let mut out = run(state, ctx, |host, _| {
            let mut token_ctx = transfer::TransferCtx::new(host.state.clone(), host_api);
            send_transfer(host, &mut token_ctx, msg).map_err(|e| e.to_string())?;
            bank_events = token_ctx.events;
            Ok(())
        })?;
        out.extend(bank_events);
        Ok(out)
    }
}
