//! IBC messages in the chain's transactions: ibc-go's type URLs, decoded
//! by ibc-rs into a [`MsgEnvelope`] and executed by ibc-rs's handlers over
//! [`IbcHost`] (validate, then execute, as ibc-rs's `dispatch` does).

use cosmos_sdk_proto::Any;
use deai_types::{Address, Coin, Event, GasConfig, ModuleMsg, MsgCtx, MsgError, StateWrite};
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
/// ICS-20's `MsgTransfer` ([`TRANSFER_TYPE_URL`], decoded by [`TransferMsg`]),
/// `MsgSendComputeJob` ([`SendJobMsg`]) and `MsgReclaimRemoteFunds`
/// ([`ReclaimMsg`]).
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
    SEND_COMPUTE_JOB_TYPE_URL,
    RECLAIM_REMOTE_FUNDS_TYPE_URL,
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
            .filter(|u| {
                ![
                    TRANSFER_TYPE_URL,
                    SEND_COMPUTE_JOB_TYPE_URL,
                    RECLAIM_REMOTE_FUNDS_TYPE_URL,
                ]
                .contains(u)
            })
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

    /// A client update or misbehaviour carries headers whose commit
    /// signatures the 07-tendermint client verifies; each is charged twice
    /// (a header may be checked against the trusted and its own validators),
    /// so a header of thousands of signatures costs what it makes every
    /// validator do, not only its bytes.
    fn execution_gas(&self, gas: &GasConfig) -> u64 {
        let message = match &self.envelope {
            MsgEnvelope::Client(ClientMsg::UpdateClient(m)) => &m.client_message,
            #[allow(deprecated)]
            MsgEnvelope::Client(ClientMsg::Misbehaviour(m)) => &m.misbehaviour,
            _ => return 0,
        };
        let signatures = header_signatures(message);
        gas.sig_verify_ed25519
            .saturating_mul(2)
            .saturating_mul(u64::try_from(signatures).unwrap_or(u64::MAX))
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

/// The commit signatures in a 07-tendermint header or misbehaviour (0 for
/// anything else, which the client refuses anyway).
fn header_signatures(message: &ibc_proto::google::protobuf::Any) -> usize {
    use ibc_proto::ibc::lightclients::tendermint::v1::{Header, Misbehaviour};
    use prost::Message;
    let in_header = |h: &Header| {
        h.signed_header
            .as_ref()
            .and_then(|s| s.commit.as_ref())
            .map_or(0, |c| c.signatures.len())
    };
    match message.type_url.as_str() {
        "/ibc.lightclients.tendermint.v1.Header" => {
            Header::decode(message.value.as_slice()).map_or(0, |h| in_header(&h))
        }
        "/ibc.lightclients.tendermint.v1.Misbehaviour" => {
            Misbehaviour::decode(message.value.as_slice()).map_or(0, |m| {
                m.header_1.as_ref().map_or(0, in_header) + m.header_2.as_ref().map_or(0, in_header)
            })
        }
        _ => 0,
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
    let job_block = crate::compute::JobBlock {
        height: ctx.height,
        prev_app_hash: ctx.prev_app_hash.to_vec(),
    };
    let mut router = IbcRouter::new(shared.clone(), ctx.host, job_block);
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

/// `MsgSendComputeJob`'s type URL.
pub const SEND_COMPUTE_JOB_TYPE_URL: &str = "/deai.ibccompute.v1.MsgSendComputeJob";

/// `MsgSendComputeJob`: sends a compute job over a channel on port
/// `compute` to another DeAI chain (see [`crate::compute`]).
#[derive(Debug)]
pub struct SendJobMsg {
    signer: Address,
    channel: ibc::core::host::types::identifiers::ChannelId,
    data: Vec<u8>,
    timeout_height: ibc::core::channel::types::timeout::TimeoutHeight,
    timeout_timestamp: ibc::core::channel::types::timeout::TimeoutTimestamp,
}

impl SendJobMsg {
    /// Stateless checks: a `deai1…` sender, a channel id, a kind, a
    /// positive replication, price and deadline, and a timeout. The
    /// receiving chain checks the job itself.
    pub fn decode(any: &Any) -> Result<Self, MsgError> {
        use base64::Engine;
        let m: deai_proto::ibccompute::v1::MsgSendComputeJob = deai_types::module::decode_any(any)?;
        let bad = |e: String| MsgError::InvalidRequest(format!("MsgSendComputeJob: {e}"));
        let signer = m
            .sender
            .parse::<Address>()
            .map_err(|e| bad(format!("sender: {e}")))?;
        let channel = m
            .source_channel
            .parse()
            .map_err(|e| bad(format!("source_channel: {e}")))?;
        if m.kind.is_empty() || m.kind.len() > 32 || m.model_id.len() > 128 {
            return Err(bad(
                "kind must be 1 to 32 bytes, model_id at most 128".into()
            ));
        }
        if m.replication == 0 || m.deadline_blocks == 0 {
            return Err(bad(
                "replication and deadline_blocks must be positive".into()
            ));
        }
        if Coin::parse_amount(&m.price_per_replica).map_err(|e| bad(format!("price: {e}")))? == 0 {
            return Err(bad("price_per_replica must be positive".into()));
        }
        let timeout_height = ibc_proto::ibc::core::client::v1::Height {
            revision_number: m.timeout_revision_number,
            revision_height: m.timeout_revision_height,
        };
        let timeout_height = if timeout_height.revision_height == 0 {
            ibc::core::channel::types::timeout::TimeoutHeight::Never
        } else {
            Some(timeout_height)
                .try_into()
                .map_err(|e| bad(format!("timeout height: {e}")))?
        };
        if m.timeout_revision_height == 0 && m.timeout_timestamp == 0 {
            return Err(bad("set a timeout height or a timeout timestamp".into()));
        }
        let data = serde_json::to_vec(&crate::compute::JobPacketData {
            sender: m.sender.clone(),
            kind: m.kind,
            model_id: m.model_id,
            input: base64::engine::general_purpose::STANDARD.encode(&m.input),
            replication: m.replication,
            price_per_replica: m.price_per_replica,
            deadline_blocks: m.deadline_blocks,
        })
        .map_err(|e| bad(e.to_string()))?;
        Ok(SendJobMsg {
            signer,
            channel,
            data,
            timeout_height,
            timeout_timestamp: m.timeout_timestamp.into(),
        })
    }
}

impl ModuleMsg for SendJobMsg {
    fn type_url(&self) -> &'static str {
        SEND_COMPUTE_JOB_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.signer
    }

    fn module(&self) -> &'static str {
        crate::compute::PORT
    }

    /// Sends the packet (ibc-rs's `send_packet`) and records the job as
    /// pending.
    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        use ibc::core::{
            channel::{
                handler::{send_packet_execute, send_packet_validate},
                types::packet::Packet,
            },
            host::{
                types::{
                    identifiers::PortId,
                    path::{ChannelEndPath, SeqSendPath},
                },
                ValidationContext,
            },
        };
        let port = PortId::new(crate::compute::PORT.into())
            .map_err(|e| MsgError::Internal(e.to_string()))?;
        run(state, ctx, |host, _| {
            let end = host
                .channel_end(&ChannelEndPath::new(&port, &self.channel))
                .map_err(|e| e.to_string())?;
            let chan_on_b = end
                .counterparty()
                .channel_id()
                .ok_or_else(|| format!("channel {} has no counterparty channel yet", self.channel))?
                .clone();
            let seq = host
                .get_next_sequence_send(&SeqSendPath::new(&port, &self.channel))
                .map_err(|e| e.to_string())?;
            let packet = Packet {
                seq_on_a: seq,
                port_id_on_a: port.clone(),
                chan_id_on_a: self.channel.clone(),
                port_id_on_b: end.counterparty().port_id().clone(),
                chan_id_on_b: chan_on_b,
                data: self.data.clone(),
                timeout_height_on_b: self.timeout_height,
                timeout_timestamp_on_b: self.timeout_timestamp,
            };
            send_packet_validate(host, &packet).map_err(|e| e.to_string())?;
            send_packet_execute(host, packet).map_err(|e| e.to_string())?;
            crate::compute::record_sent_job(
                &mut host.state,
                self.channel.as_str(),
                seq.value(),
                &self.signer,
            )
            .map_err(|e| e.to_string())
        })
    }
}

/// `MsgReclaimRemoteFunds`'s type URL.
pub const RECLAIM_REMOTE_FUNDS_TYPE_URL: &str = "/deai.ibccompute.v1.MsgReclaimRemoteFunds";

/// `MsgReclaimRemoteFunds`: moves what is left in a remote account (see
/// [`crate::compute::remote_account`]) to the `deai1…` account of the same
/// 20 bytes as its sender, who signs.
#[derive(Debug)]
pub struct ReclaimMsg {
    signer: Address,
    remote: Address,
    amount: Vec<Coin>,
}

impl ReclaimMsg {
    /// Stateless checks: a `deai1…` signer, a channel id, a sender of at
    /// most [`crate::compute::MAX_SENDER_LEN`] bytes whose address bytes
    /// are the signer's, and a valid coin list.
    pub fn decode(any: &Any) -> Result<Self, MsgError> {
        use ibc::core::host::types::identifiers::ChannelId;
        let m: deai_proto::ibccompute::v1::MsgReclaimRemoteFunds =
            deai_types::module::decode_any(any)?;
        let bad = |e: String| MsgError::InvalidRequest(format!("MsgReclaimRemoteFunds: {e}"));
        let signer = m
            .signer
            .parse::<Address>()
            .map_err(|e| bad(format!("signer: {e}")))?;
        let channel: ChannelId = m
            .channel
            .parse()
            .map_err(|e| bad(format!("channel: {e}")))?;
        if m.sender.len() > crate::compute::MAX_SENDER_LEN {
            return Err(bad(format!(
                "sender is longer than {} bytes",
                crate::compute::MAX_SENDER_LEN
            )));
        }
        let owner = Address::from_any_bech32(&m.sender).map_err(|e| bad(format!("sender: {e}")))?;
        if owner != signer {
            return Err(MsgError::Unauthorized(format!(
                "{} is not the account of {}: only the key that sent the jobs may reclaim what is left",
                m.signer, m.sender
            )));
        }
        let amount = deai_bank::msg::parse_coins(&m.amount).map_err(|e| bad(e.to_string()))?;
        Ok(ReclaimMsg {
            signer,
            remote: crate::compute::remote_account(
                crate::compute::PORT,
                channel.as_str(),
                &m.sender,
            ),
            amount,
        })
    }
}

impl ModuleMsg for ReclaimMsg {
    fn type_url(&self) -> &'static str {
        RECLAIM_REMOTE_FUNDS_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.signer
    }

    fn module(&self) -> &'static str {
        crate::compute::PORT
    }

    fn recipients(&self) -> Vec<Address> {
        vec![self.signer]
    }

    /// A bank send from the remote account to the signer.
    fn execute(
        &self,
        state: &mut dyn StateWrite,
        _ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        use deai_bank::BankWrite;
        Ok(state.send(&self.remote, &self.signer, &self.amount)?)
    }
}
