//! Compute jobs from other chains: an IBC application on port `compute`
//! (channel version `deai-compute-1`, unordered) whose packets ask this
//! chain's compute market for a job.
//!
//! **Receiving a job.** The packet data is JSON ([`JobPacketData`]). The
//! job is paid from the sender's *remote account* on this chain
//! ([`remote_account`]: derived from this chain's port, channel and the
//! sender's address, as interchain accounts are), which the sender funds
//! beforehand with an ICS-20 transfer to it. The job is submitted to the
//! market exactly as a local `MsgSubmitJob` would be, with the deadline
//! `deadline_blocks` after the receiving block; if the market refuses it
//! (no funds, bad input, too few providers) the packet is acknowledged at
//! once with the error and nothing else changes. Otherwise the
//! acknowledgement waits: it is written in the end block where the job is
//! final — a success `{"result": base64(JobOutcome JSON)}` carrying the
//! result hash and the output when it is at most [`MAX_OUTPUT_IN_ACK`]
//! bytes, or an error for a disputed or expired job, whose escrow the
//! market has already refunded to the remote account.
//!
//! **Sending a job** (`MsgSendComputeJob`, for a DeAI chain asking another):
//! the packet goes out and the sending chain records the job as pending;
//! the acknowledgement or a timeout settles the record (queried with
//! `RemoteJob`). Nothing is escrowed on the sending side, so a timeout
//! has nothing to refund: payment happens on the receiving chain only
//! once the job is accepted there.
//!
//! The acknowledgement queue is bounded per block ([`MAX_ACKS_PER_BLOCK`])
//! and walked from a stored cursor, so an end block costs the acks due,
//! not the history.

use base64::Engine;
use deai_compute_module::{msg::SubmitJob, BlockCtx as ComputeBlock, ComputeRead, JobStatus};
use deai_proto::{compute::v1 as compute_pb, ibccompute::v1 as pb};
use deai_types::{Address, Event, Overlay, StateRead, StateReadExt, StateWrite};
use ibc::core::host::types::path::AckPath;
use ibc::core::host::ValidationContext;
use ibc::core::{
    channel::{
        handler::{commit_packet_acknowledgment, emit_packet_acknowledgement_event},
        types::{
            acknowledgement::Acknowledgement,
            channel::{Counterparty, Order},
            error::ChannelError,
            packet::Packet,
            Version,
        },
    },
    host::types::identifiers::{ChannelId, ConnectionId, PortId},
    router::{
        module::Module,
        types::{event::ModuleEvent, module::ModuleExtras},
    },
};
use ibc::primitives::Signer;
use prost::Message;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    host::{HostBlock, IbcHost},
    shared::SharedState,
    state_key as key,
};

/// The application's port.
pub const PORT: &str = "compute";

/// The channel version.
pub const VERSION: &str = "deai-compute-1";

/// The longest sender address a packet may name.
pub const MAX_SENDER_LEN: usize = 2048;

/// Outputs up to this size travel in the acknowledgement; a larger one is
/// left out (its hash is there, and the job can be queried).
pub const MAX_OUTPUT_IN_ACK: usize = 1024;

/// The most acknowledgements one end block writes (the rest wait a block).
pub const MAX_ACKS_PER_BLOCK: usize = 100;

/// A job request, as the packet carries it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPacketData {
    /// The sender's address on its own chain.
    pub sender: String,
    /// Workload kind (`embed`, `gemm-i8`).
    pub kind: String,
    /// The registered model, for kinds that need one.
    #[serde(default)]
    pub model_id: String,
    /// The input, base64.
    pub input: String,
    /// Replication factor R.
    pub replication: u32,
    /// udeai per agreeing replica (decimal string).
    pub price_per_replica: String,
    /// The job must settle within this many blocks of its arrival.
    pub deadline_blocks: u64,
}

/// A settled job, as a success acknowledgement carries it (JSON, base64
/// inside `{"result": …}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// The job's id on this chain.
    pub job_id: u64,
    /// `finalized`.
    pub status: String,
    /// The agreed result hash, hex.
    pub result_hash: String,
    /// The output, base64, when at most [`MAX_OUTPUT_IN_ACK`] bytes.
    #[serde(default)]
    pub output: String,
    /// The output's full length.
    pub output_len: u64,
}

/// The account on this chain that pays for the jobs `sender` sends over
/// `port`/`channel` (this chain's end): the first 20 bytes of
/// SHA-256(`deai-compute-1` ‖ 0x00 ‖ `port/channel/sender`).
pub fn remote_account(port: &str, channel: &str, sender: &str) -> Address {
    let mut h = Sha256::new();
    h.update(VERSION.as_bytes());
    h.update([0u8]);
    h.update(format!("{port}/{channel}/{sender}").as_bytes());
    let digest = h.finalize();
    let mut a = [0u8; 20];
    a.copy_from_slice(&digest[..20]);
    Address(a)
}

fn ack(value: &serde_json::Value) -> Acknowledgement {
    Acknowledgement::try_from(serde_json::to_vec(value).expect("JSON values serialize"))
        .expect("a JSON object is not empty")
}

/// An error acknowledgement, valid JSON whatever `reason` holds.
pub fn error_ack(reason: &str) -> Acknowledgement {
    ack(&serde_json::json!({ "error": reason }))
}

/// The acknowledgement of a job that is final, or `None` while it runs.
pub fn job_ack(job: &deai_compute_module::Job) -> Option<Acknowledgement> {
    match job.status {
        JobStatus::Finalized => {
            let outcome = JobOutcome {
                job_id: job.id,
                status: "finalized".into(),
                result_hash: job.result_hash.map(hex::encode).unwrap_or_default(),
                output: if job.output.len() <= MAX_OUTPUT_IN_ACK {
                    base64::engine::general_purpose::STANDARD.encode(&job.output)
                } else {
                    String::new()
                },
                output_len: u64::try_from(job.output.len()).unwrap_or(u64::MAX),
            };
            let json = serde_json::to_vec(&outcome).expect("the outcome serializes");
            Some(ack(&serde_json::json!({
                "result": base64::engine::general_purpose::STANDARD.encode(json)
            })))
        }
        JobStatus::Disputed => Some(error_ack(&format!(
            "job {} disputed: no strict majority agreed; the escrow was refunded to {}",
            job.id, job.requester
        ))),
        JobStatus::Expired => Some(error_ack(&format!(
            "job {} expired; the escrow was refunded to {}",
            job.id, job.requester
        ))),
        _ => None,
    }
}

fn app_error(description: impl Into<String>) -> ChannelError {
    ChannelError::AppSpecific {
        description: description.into(),
    }
}

fn check_version(version: &Version) -> Result<(), ChannelError> {
    if version.as_str() != VERSION {
        return Err(app_error(format!(
            "channel version {version}: the compute port speaks {VERSION}"
        )));
    }
    Ok(())
}

fn check_order(order: Order) -> Result<(), ChannelError> {
    if order != Order::Unordered {
        return Err(app_error("compute channels are unordered"));
    }
    Ok(())
}

/// The block a packet is received in, as the market needs it.
#[derive(Debug, Clone)]
pub struct JobBlock {
    /// Its height.
    pub height: u64,
    /// The app hash after the block before.
    pub prev_app_hash: Vec<u8>,
}

/// The compute port's application, over the shared state of the message
/// being executed.
pub struct ComputeApp<'a> {
    state: SharedState<'a>,
    block: JobBlock,
    events: Vec<Event>,
}

impl std::fmt::Debug for ComputeApp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeApp").finish_non_exhaustive()
    }
}

impl<'a> ComputeApp<'a> {
    /// The application over `state`, in `block`.
    pub fn new(state: SharedState<'a>, block: JobBlock) -> Self {
        ComputeApp {
            state,
            block,
            events: Vec::new(),
        }
    }

    /// The market's and bank's events so far, taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Submits the packet's job on a scratch layer; keeps it, and queues
    /// its acknowledgement, only if the market accepts it.
    fn submit(&mut self, packet: &Packet) -> Result<(u64, Address), String> {
        let data: JobPacketData =
            serde_json::from_slice(&packet.data).map_err(|e| format!("packet data: {e}"))?;
        if data.sender.is_empty() || data.sender.len() > MAX_SENDER_LEN {
            return Err(format!("sender must be 1 to {MAX_SENDER_LEN} bytes"));
        }
        let input = base64::engine::general_purpose::STANDARD
            .decode(&data.input)
            .map_err(|e| format!("input is not base64: {e}"))?;
        let requester = remote_account(
            packet.port_id_on_b.as_str(),
            packet.chan_id_on_b.as_str(),
            &data.sender,
        );
        let deadline = self.block.height.saturating_add(data.deadline_blocks);
        let msg = compute_pb::MsgSubmitJob {
            requester: requester.to_bech32(),
            kind: data.kind,
            model_id: data.model_id,
            input_hash: sha3::Sha3_256::digest(&input).to_vec(),
            input,
            replication: data.replication,
            price_per_replica: data.price_per_replica,
            deadline,
        };
        let job = SubmitJob::from_proto(&msg).map_err(|e| e.to_string())?;
        let mut layer = Overlay::new(self.state.clone());
        let id = layer.next_job_id().map_err(|e| e.to_string())?;
        let ctx = ComputeBlock {
            height: self.block.height,
            prev_app_hash: self.block.prev_app_hash.clone(),
        };
        let events = job.execute(&mut layer, &ctx).map_err(|e| e.to_string())?;
        let raw = ibc_proto::ibc::core::channel::v1::Packet::from(packet.clone());
        layer
            .put_raw(key::received_job(id), raw.encode_to_vec())
            .map_err(|e| e.to_string())?;
        // The market settles a job by its deadline (or the first block
        // after it with room), so that is when to look.
        layer
            .put_raw(key::due(deadline, id), Vec::new())
            .map_err(|e| e.to_string())?;
        // A failure here (out of gas) is recorded by the shared state,
        // which fails the whole message.
        if crate::shared::apply(&mut self.state, layer.into_changes()).is_ok() {
            self.events.extend(events);
        }
        Ok((id, requester))
    }

    fn record_sent(&mut self, packet: &Packet, update: impl FnOnce(&mut pb::RemoteJob)) {
        let k = key::sent_job(packet.chan_id_on_a.as_str(), packet.seq_on_a.value());
        let Ok(Some(mut job)) = self.state.get_proto::<pb::RemoteJob>(&k) else {
            return;
        };
        update(&mut job);
        let event = Event::new("compute_ibc_job_result")
            .attr("packet_src_channel", job.channel.clone())
            .attr("packet_sequence", job.sequence.to_string())
            .attr(
                "status",
                pb::RemoteJobStatus::try_from(job.status)
                    .map(|s| s.as_str_name())
                    .unwrap_or("unknown"),
            )
            .attr("job_id", job.job_id.to_string())
            .attr("result_hash", job.result_hash.clone())
            .attr("error", job.error.clone());
        if self.state.put_raw(k, job.encode_to_vec()).is_ok() {
            self.events.push(event);
        }
    }
}

/// Reads an acknowledgement this chain got for a job it sent into its record.
fn read_ack(ack: &Acknowledgement, job: &mut pb::RemoteJob) {
    let parsed: Result<serde_json::Value, _> = serde_json::from_slice(ack.as_bytes());
    let fail = |job: &mut pb::RemoteJob, e: String| {
        job.status = pb::RemoteJobStatus::Failed as i32;
        job.error = e;
    };
    let Ok(value) = parsed else {
        return fail(job, "the acknowledgement is not JSON".into());
    };
    if let Some(e) = value.get("error").and_then(|e| e.as_str()) {
        return fail(job, e.chars().take(1024).collect());
    }
    let outcome = value
        .get("result")
        .and_then(|r| r.as_str())
        .and_then(|r| base64::engine::general_purpose::STANDARD.decode(r).ok())
        .and_then(|b| serde_json::from_slice::<JobOutcome>(&b).ok());
    let Some(outcome) = outcome else {
        return fail(job, "the acknowledgement carries no job outcome".into());
    };
    job.status = pb::RemoteJobStatus::Done as i32;
    job.job_id = outcome.job_id;
    job.job_status = outcome.status.chars().take(64).collect();
    job.result_hash = outcome.result_hash.chars().take(64).collect();
    job.output = base64::engine::general_purpose::STANDARD
        .decode(outcome.output)
        .unwrap_or_default()
        .into_iter()
        .take(MAX_OUTPUT_IN_ACK)
        .collect();
}

impl Module for ComputeApp<'_> {
    fn on_chan_open_init_validate(
        &self,
        order: Order,
        _hops: &[ConnectionId],
        port: &PortId,
        _channel: &ChannelId,
        _counterparty: &Counterparty,
        version: &Version,
    ) -> Result<Version, ChannelError> {
        check_order(order)?;
        if port.as_str() != PORT {
            return Err(app_error(format!("port {port} is not {PORT}")));
        }
        if !version.is_empty() {
            check_version(version)?;
        }
        Ok(Version::new(VERSION.into()))
    }

    fn on_chan_open_init_execute(
        &mut self,
        _order: Order,
        _hops: &[ConnectionId],
        _port: &PortId,
        _channel: &ChannelId,
        _counterparty: &Counterparty,
        _version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        Ok((ModuleExtras::empty(), Version::new(VERSION.into())))
    }

    fn on_chan_open_try_validate(
        &self,
        order: Order,
        _hops: &[ConnectionId],
        _port: &PortId,
        _channel: &ChannelId,
        _counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<Version, ChannelError> {
        check_order(order)?;
        check_version(counterparty_version)?;
        Ok(Version::new(VERSION.into()))
    }

    fn on_chan_open_try_execute(
        &mut self,
        _order: Order,
        _hops: &[ConnectionId],
        _port: &PortId,
        _channel: &ChannelId,
        _counterparty: &Counterparty,
        _counterparty_version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        Ok((ModuleExtras::empty(), Version::new(VERSION.into())))
    }

    fn on_chan_open_ack_validate(
        &self,
        _port: &PortId,
        _channel: &ChannelId,
        counterparty_version: &Version,
    ) -> Result<(), ChannelError> {
        check_version(counterparty_version)
    }

    /// A compute channel stays open: jobs in flight still need it for
    /// their acknowledgements.
    fn on_chan_close_init_validate(
        &self,
        _port: &PortId,
        _channel: &ChannelId,
    ) -> Result<(), ChannelError> {
        Err(app_error("compute channels cannot be closed"))
    }

    fn on_recv_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Option<Acknowledgement>) {
        match self.submit(packet) {
            Ok((id, requester)) => {
                let event = ModuleEvent {
                    kind: "compute_ibc_job_received".into(),
                    attributes: vec![
                        ("module", PORT).into(),
                        ("job_id", id).into(),
                        ("requester", requester).into(),
                        ("packet_dst_channel", &packet.chan_id_on_b).into(),
                        ("packet_sequence", packet.seq_on_a).into(),
                    ],
                };
                (
                    ModuleExtras {
                        events: vec![event],
                        log: Vec::new(),
                    },
                    None,
                )
            }
            Err(reason) => {
                let event = ModuleEvent {
                    kind: "compute_ibc_job_refused".into(),
                    attributes: vec![("module", PORT).into(), ("error", &reason).into()],
                };
                (
                    ModuleExtras {
                        events: vec![event],
                        log: Vec::new(),
                    },
                    Some(error_ack(&reason)),
                )
            }
        }
    }

    fn on_acknowledgement_packet_validate(
        &self,
        _packet: &Packet,
        _acknowledgement: &Acknowledgement,
        _relayer: &Signer,
    ) -> Result<(), ChannelError> {
        Ok(())
    }

    /// Records the outcome; an acknowledgement this chain cannot read is
    /// recorded as a failure rather than refused, so the packet is done.
    fn on_acknowledgement_packet_execute(
        &mut self,
        packet: &Packet,
        acknowledgement: &Acknowledgement,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        self.record_sent(packet, |job| read_ack(acknowledgement, job));
        (ModuleExtras::empty(), Ok(()))
    }

    fn on_timeout_packet_validate(
        &self,
        _packet: &Packet,
        _relayer: &Signer,
    ) -> Result<(), ChannelError> {
        Ok(())
    }

    fn on_timeout_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        self.record_sent(packet, |job| {
            job.status = pb::RemoteJobStatus::TimedOut as i32;
        });
        (ModuleExtras::empty(), Ok(()))
    }
}

/// Writes the acknowledgements of received jobs that are final, at most
/// [`MAX_ACKS_PER_BLOCK`], in the end block of `block`; a job still
/// running is looked at again next block. Returns the events (ibc-go's
/// `write_acknowledgement`, which relayers watch for).
pub fn write_due_acks(state: &mut dyn StateWrite, block: HostBlock) -> Result<Vec<Event>, String> {
    let height = block.height;
    let prefix = key::due_prefix();
    let cursor = match state
        .get_raw(&key::due_cursor())
        .map_err(|e| e.to_string())?
    {
        Some(b) => u64::from_be_bytes(b.as_slice().try_into().map_err(|_| "due cursor")?),
        None => 0,
    };
    if cursor > height {
        return Ok(Vec::new());
    }
    let start_after = cursor.checked_sub(1).map(|below| key::due(below, u64::MAX));
    let rows = state
        .prefix_raw(&prefix, start_after.as_deref(), MAX_ACKS_PER_BLOCK + 1)
        .map_err(|e| e.to_string())?;
    let mut due = Vec::new();
    let mut next_cursor = height.saturating_add(1);
    for (k, _) in rows {
        let (h, id) = key::parse_due(&k).ok_or("due queue key")?;
        if h > height {
            break;
        }
        if due.len() == MAX_ACKS_PER_BLOCK {
            next_cursor = h;
            break;
        }
        due.push((k, id));
    }
    let took = !due.is_empty();
    let mut host = IbcHost::new(&mut *state, block);
    let mut out = Vec::new();
    for (k, id) in due {
        host.state.delete_raw(k).map_err(|e| e.to_string())?;
        let job = host.state.job(id).map_err(|e| e.to_string())?;
        let Some(ack) = job.as_ref().and_then(job_ack) else {
            if job.is_some() {
                // Still running (its settlement was carried over): next block.
                host.state
                    .put_raw(key::due(height.saturating_add(1), id), Vec::new())
                    .map_err(|e| e.to_string())?;
            }
            continue;
        };
        let Some(raw) = host
            .state
            .get_raw(&key::received_job(id))
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        host.state
            .delete_raw(key::received_job(id))
            .map_err(|e| e.to_string())?;
        let packet = ibc_proto::ibc::core::channel::v1::Packet::decode(raw.as_slice())
            .ok()
            .and_then(|p| Packet::try_from(p).ok());
        let Some(packet) = packet else {
            out.push(Event::new("compute_ibc_ack_skipped").attr("job_id", id.to_string()));
            continue;
        };
        let path = AckPath::new(&packet.port_id_on_b, &packet.chan_id_on_b, packet.seq_on_a);
        if host.get_packet_acknowledgement(&path).is_ok() {
            continue;
        }
        // The channel's state is the counterparty's to change too (it may
        // have closed it): a failure here skips this job's acknowledgement,
        // never the block.
        let written = commit_packet_acknowledgment(&mut host, &packet, &ack)
            .and_then(|()| emit_packet_acknowledgement_event(&mut host, packet, ack));
        if let Err(e) = written {
            out.push(
                Event::new("compute_ibc_ack_skipped")
                    .attr("job_id", id.to_string())
                    .attr("error", e.to_string()),
            );
        }
    }
    // Only taking entries leaves deleted markers to skip, so the cursor
    // moves only then: an idle block writes nothing.
    if took && next_cursor != cursor {
        host.state
            .put_raw(key::due_cursor(), next_cursor.to_be_bytes().to_vec())
            .map_err(|e| e.to_string())?;
    }
    out.extend(crate::msg::events(host.events));
    Ok(out)
}

/// What a sending chain records of a job it sent.
pub fn record_sent_job(
    state: &mut impl StateWrite,
    channel: &str,
    sequence: u64,
    sender: &Address,
) -> Result<(), deai_types::StateError> {
    let job = pb::RemoteJob {
        channel: channel.into(),
        sequence,
        sender: sender.to_bech32(),
        status: pb::RemoteJobStatus::Pending as i32,
        ..Default::default()
    };
    state.put_raw(key::sent_job(channel, sequence), job.encode_to_vec())
}

/// A job this chain sent, if it sent one as packet `sequence` on `channel`.
pub fn sent_job(
    state: &impl StateRead,
    channel: &str,
    sequence: u64,
) -> Result<Option<pb::RemoteJob>, deai_types::StateError> {
    state.get_proto(&key::sent_job(channel, sequence))
}

/// Answers `method` if it is one of `deai.ibccompute.v1.Query`'s.
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, deai_types::QueryError>> {
    use deai_types::{query::decode, QueryError};

    use crate::query::{ident, internal};
    let name = method.strip_prefix("/deai.ibccompute.v1.Query/")?;
    Some(match name {
        "RemoteJob" => (|| {
            let r: pb::QueryRemoteJobRequest = decode(data)?;
            let channel: ChannelId = ident("channel", &r.channel)?;
            let job = sent_job(state, channel.as_str(), r.sequence)
                .map_err(internal)?
                .ok_or_else(|| {
                    QueryError::not_found(format!("remote job {channel}/{}", r.sequence))
                })?;
            Ok(pb::QueryRemoteJobResponse { job: Some(job) }.encode_to_vec())
        })(),
        "RemoteAccount" => (|| {
            let r: pb::QueryRemoteAccountRequest = decode(data)?;
            let port: PortId = ident("port", &r.port)?;
            let channel: ChannelId = ident("channel", &r.channel)?;
            if r.sender.is_empty() || r.sender.len() > MAX_SENDER_LEN {
                return Err(QueryError::invalid(format!(
                    "sender must be 1 to {MAX_SENDER_LEN} bytes"
                )));
            }
            Ok(pb::QueryRemoteAccountResponse {
                account: remote_account(port.as_str(), channel.as_str(), &r.sender).to_bech32(),
            }
            .encode_to_vec())
        })(),
        other => Err(QueryError::invalid(format!(
            "unknown method deai.ibccompute.v1.Query/{other}"
        ))),
    })
}
