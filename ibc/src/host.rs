//! ibc-rs hosted on the chain's state: [`IbcHost`] implements ibc-rs's
//! validation and execution contexts (ICS-02 clients with the 07-tendermint
//! light client, ICS-03 connections, ICS-04 channels and packets) over a
//! [`StateRead`]/[`StateWrite`], in the block being executed.
//!
//! Encodings are ibc-go's, because a counterparty proves these bytes:
//! client and consensus states as `Any`, connection and channel ends as
//! their protobufs, packet and acknowledgement commitments as their hashes,
//! a receipt as the byte `1`, next sequences as 8 big-endian bytes, a
//! client's connections as `ClientPaths`.

use std::{sync::OnceLock, time::Duration};

use deai_staking::StakingRead;
use deai_types::{module::BlockTime, Address, StateRead, StateWrite};
use ibc::{
    clients::tendermint::{
        client_state::ClientState as TmClientState,
        consensus_state::ConsensusState as TmConsensusState,
    },
    core::{
        channel::types::{
            channel::ChannelEnd,
            commitment::{AcknowledgementCommitment, PacketCommitment},
            packet::Receipt,
        },
        client::{
            context::{
                ClientExecutionContext, ClientValidationContext, ExtClientValidationContext,
            },
            types::Height,
        },
        commitment_types::{
            commitment::{CommitmentPrefix, CommitmentRoot},
            specs::ProofSpecs,
        },
        connection::types::ConnectionEnd,
        handler::types::events::IbcEvent,
        host::{
            types::{
                error::HostError,
                identifiers::{ChainId, ClientId, ConnectionId, Sequence},
                path::{
                    AckPath, ChannelEndPath, ClientConnectionPath, ClientConsensusStatePath,
                    ClientStatePath, CommitmentPath, ConnectionPath, ReceiptPath, SeqAckPath,
                    SeqRecvPath, SeqSendPath,
                },
            },
            ExecutionContext, ValidationContext,
        },
    },
    primitives::{proto::Protobuf, Signer, Timestamp},
};
use ibc_core_host_cosmos::ValidateSelfClientContext;
use prost::Message;

use crate::state_key as key;

/// The commitment prefix: the main tree's key holding the IBC substore's root.
pub const COMMITMENT_PREFIX: &[u8] = b"ibc";

/// The most blocks a counterparty should expect between two of ours
/// (ibc-go's default `max_expected_time_per_block`).
pub const MAX_EXPECTED_TIME_PER_BLOCK: Duration = Duration::from_secs(30);

/// The most consensus-state heights one call lists (the oldest first):
/// pruning expired states walks them oldest first and stops at the first
/// live one, so a bound keeps each update's cost fixed.
pub const MAX_HEIGHTS_LISTED: usize = 256;

/// Where an upgraded client and consensus state would be kept (ibc-go's).
const UPGRADE_PATH: [&str; 2] = ["upgrade", "upgradedIBCState"];

/// The proof specs a counterparty's client of this chain must hold: the
/// IBC substore's JMT, then the main tree's.
pub fn proof_specs() -> &'static ProofSpecs {
    static SPECS: OnceLock<ProofSpecs> = OnceLock::new();
    SPECS.get_or_init(|| {
        let spec = jmt::ics23_spec();
        ProofSpecs::try_from(vec![spec.clone(), spec])
            .expect("two JMT specs are a valid, non-empty list")
    })
}

/// The block IBC messages are executed in.
#[derive(Debug, Clone)]
pub struct HostBlock {
    /// Its height.
    pub height: u64,
    /// Its time.
    pub time: BlockTime,
    /// The chain id (its `-N` suffix is the IBC revision number).
    pub chain_id: ChainId,
}

/// ibc-rs's contexts over `state` in `block`; collects the IBC events and
/// logs the handlers emit.
pub struct IbcHost<S> {
    /// The state read and written.
    pub state: S,
    /// The block.
    pub block: HostBlock,
    /// Events emitted so far.
    pub events: Vec<IbcEvent>,
    /// Log lines emitted so far.
    pub logs: Vec<String>,
    upgrade_path: Vec<String>,
}

impl<S> IbcHost<S> {
    /// A host over `state` in `block`.
    pub fn new(state: S, block: HostBlock) -> Self {
        IbcHost {
            state,
            block,
            events: Vec::new(),
            logs: Vec::new(),
            upgrade_path: UPGRADE_PATH.iter().map(|s| s.to_string()).collect(),
        }
    }
}

fn retrieve(e: impl std::fmt::Display) -> HostError {
    HostError::failed_to_retrieve(e)
}

fn store(e: impl std::fmt::Display) -> HostError {
    HostError::failed_to_store(e)
}

fn u64_of(bytes: &[u8], what: &str) -> Result<u64, HostError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| HostError::invalid_state(format!("{what} is not 8 bytes")))
}

/// A block time as an IBC timestamp.
pub fn timestamp(t: BlockTime) -> Result<Timestamp, HostError> {
    let secs =
        u64::try_from(t.seconds).map_err(|_| HostError::invalid_state("time before 1970"))?;
    Timestamp::from_unix_timestamp(secs, t.nanos).map_err(HostError::invalid_state)
}

impl<S: StateRead> IbcHost<S> {
    fn raw(&self, k: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        self.state.get_raw(k).map_err(retrieve)
    }

    fn need(&self, k: &[u8], what: impl std::fmt::Display) -> Result<Vec<u8>, HostError> {
        self.raw(k)?
            .ok_or_else(|| HostError::missing_state(format!("{what} not found")))
    }

    fn counter(&self, what: &str) -> Result<u64, HostError> {
        match self.raw(&key::counter(what))? {
            Some(b) => u64_of(&b, "counter"),
            None => Ok(0),
        }
    }

    fn sequence(&self, path: &impl std::fmt::Display) -> Result<Sequence, HostError> {
        let b = self.need(&key::provable(path), path)?;
        Ok(Sequence::from(u64_of(&b, "sequence")?))
    }

    fn revision(&self) -> u64 {
        self.block.chain_id.revision_number()
    }

    /// The consensus state at the first index entry after `from` under `prefix`.
    fn first_after(
        &self,
        client: &ClientId,
        prefix: &[u8],
        from: &[u8],
        parse: fn(&[u8]) -> Option<Height>,
    ) -> Result<Option<TmConsensusState>, HostError> {
        let Some((k, _)) = self
            .state
            .prefix_raw(prefix, Some(from), 1)
            .map_err(retrieve)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let h = parse(&k).ok_or_else(|| HostError::invalid_state("height index key"))?;
        let path =
            ClientConsensusStatePath::new(client.clone(), h.revision_number(), h.revision_height());
        self.consensus_state(&path).map(Some)
    }
}

impl<S: StateRead> ClientValidationContext for IbcHost<S> {
    type ClientStateRef = TmClientState;
    type ConsensusStateRef = TmConsensusState;

    fn client_state(&self, client_id: &ClientId) -> Result<TmClientState, HostError> {
        let path = ClientStatePath::new(client_id.clone());
        let b = self.need(&key::provable(&path), format!("client {client_id}"))?;
        <TmClientState as Protobuf<ibc::primitives::proto::Any>>::decode_vec(&b)
            .map_err(|e| HostError::invalid_state(format!("client {client_id}: {e}")))
    }

    fn consensus_state(
        &self,
        path: &ClientConsensusStatePath,
    ) -> Result<TmConsensusState, HostError> {
        let b = self.need(&key::provable(path), path)?;
        <TmConsensusState as Protobuf<ibc::primitives::proto::Any>>::decode_vec(&b)
            .map_err(|e| HostError::invalid_state(format!("{path}: {e}")))
    }

    fn client_update_meta(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<(Timestamp, Height), HostError> {
        let b = self.need(
            &key::update_meta(client_id, height),
            format!("update of {client_id} to {height}"),
        )?;
        if b.len() != 24 {
            return Err(HostError::invalid_state("update record"));
        }
        let time = Timestamp::from_nanoseconds(u64_of(&b[..8], "time")?);
        let rev = u64_of(&b[8..16], "revision")?;
        let h = u64_of(&b[16..], "height")?;
        let height = Height::new(rev, h).map_err(HostError::invalid_state)?;
        Ok((time, height))
    }
}

impl<S: StateRead> ExtClientValidationContext for IbcHost<S> {
    fn host_timestamp(&self) -> Result<Timestamp, HostError> {
        timestamp(self.block.time)
    }

    fn host_height(&self) -> Result<Height, HostError> {
        Height::new(self.revision(), self.block.height).map_err(HostError::invalid_state)
    }

    /// The oldest [`MAX_HEIGHTS_LISTED`] heights, ascending.
    fn consensus_state_heights(&self, client_id: &ClientId) -> Result<Vec<Height>, HostError> {
        self.state
            .prefix_raw(&key::heights_prefix(client_id), None, MAX_HEIGHTS_LISTED)
            .map_err(retrieve)?
            .iter()
            .map(|(k, _)| {
                key::parse_height(k).ok_or_else(|| HostError::invalid_state("height index key"))
            })
            .collect()
    }

    fn next_consensus_state(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<Option<TmConsensusState>, HostError> {
        self.first_after(
            client_id,
            &key::heights_prefix(client_id),
            &key::height_entry(client_id, height),
            key::parse_height,
        )
    }

    fn prev_consensus_state(
        &self,
        client_id: &ClientId,
        height: &Height,
    ) -> Result<Option<TmConsensusState>, HostError> {
        self.first_after(
            client_id,
            &key::heights_desc_prefix(client_id),
            &key::height_entry_desc(client_id, height),
            key::parse_height_desc,
        )
    }
}

impl<S: StateWrite> ClientExecutionContext for IbcHost<S> {
    type ClientStateMut = TmClientState;

    fn store_client_state(
        &mut self,
        path: ClientStatePath,
        client_state: TmClientState,
    ) -> Result<(), HostError> {
        let bytes =
            <TmClientState as Protobuf<ibc::primitives::proto::Any>>::encode_vec(client_state);
        self.state
            .put_raw(key::provable(&path), bytes)
            .map_err(store)
    }

    fn store_consensus_state(
        &mut self,
        path: ClientConsensusStatePath,
        consensus_state: TmConsensusState,
    ) -> Result<(), HostError> {
        let height = Height::new(path.revision_number, path.revision_height)
            .map_err(HostError::invalid_state)?;
        let bytes = <TmConsensusState as Protobuf<ibc::primitives::proto::Any>>::encode_vec(
            consensus_state,
        );
        self.state
            .put_raw(key::provable(&path), bytes)
            .map_err(store)?;
        self.state
            .put_raw(key::height_entry(&path.client_id, &height), Vec::new())
            .map_err(store)?;
        self.state
            .put_raw(key::height_entry_desc(&path.client_id, &height), Vec::new())
            .map_err(store)
    }

    fn delete_consensus_state(&mut self, path: ClientConsensusStatePath) -> Result<(), HostError> {
        let height = Height::new(path.revision_number, path.revision_height)
            .map_err(HostError::invalid_state)?;
        self.state.delete_raw(key::provable(&path)).map_err(store)?;
        self.state
            .delete_raw(key::height_entry(&path.client_id, &height))
            .map_err(store)?;
        self.state
            .delete_raw(key::height_entry_desc(&path.client_id, &height))
            .map_err(store)
    }

    fn store_update_meta(
        &mut self,
        client_id: ClientId,
        height: Height,
        host_timestamp: Timestamp,
        host_height: Height,
    ) -> Result<(), HostError> {
        let mut v = host_timestamp.nanoseconds().to_be_bytes().to_vec();
        v.extend_from_slice(&host_height.revision_number().to_be_bytes());
        v.extend_from_slice(&host_height.revision_height().to_be_bytes());
        self.state
            .put_raw(key::update_meta(&client_id, &height), v)
            .map_err(store)
    }

    fn delete_update_meta(&mut self, client_id: ClientId, height: Height) -> Result<(), HostError> {
        self.state
            .delete_raw(key::update_meta(&client_id, &height))
            .map_err(store)
    }
}

impl<S: StateRead> ValidateSelfClientContext for IbcHost<S> {
    fn chain_id(&self) -> &ChainId {
        &self.block.chain_id
    }

    fn host_current_height(&self) -> Height {
        Height::new(self.revision(), self.block.height.max(1))
            .unwrap_or_else(|_| Height::min(self.revision()))
    }

    fn proof_specs(&self) -> &ProofSpecs {
        proof_specs()
    }

    /// Staking's unbonding time (a counterparty's client of this chain must
    /// trust it for less).
    fn unbonding_period(&self) -> Duration {
        let seconds = self
            .state
            .staking_params()
            .map(|p| p.unbonding_time_seconds)
            .unwrap_or(0);
        Duration::from_secs(seconds)
    }

    fn upgrade_path(&self) -> &[String] {
        &self.upgrade_path
    }
}

impl<S: StateRead> ValidationContext for IbcHost<S> {
    type V = Self;
    type HostClientState = TmClientState;
    type HostConsensusState = TmConsensusState;

    fn get_client_validation_context(&self) -> &Self {
        self
    }

    fn host_height(&self) -> Result<Height, HostError> {
        ExtClientValidationContext::host_height(self)
    }

    fn host_timestamp(&self) -> Result<Timestamp, HostError> {
        ExtClientValidationContext::host_timestamp(self)
    }

    /// The consensus state a counterparty's client holds for our header at
    /// `height`: the app hash of the block before as its root, the block's
    /// time and next validators hash (from staking's historical info).
    fn host_consensus_state(&self, height: &Height) -> Result<TmConsensusState, HostError> {
        let info = deai_staking::historical::historical_info(&self.state, height.revision_height())
            .map_err(retrieve)?
            .ok_or_else(|| {
                HostError::missing_state(format!(
                    "no historical info for height {height} (kept for staking's historical_entries heights)"
                ))
            })?;
        let header = info
            .header
            .ok_or_else(|| HostError::invalid_state("historical info without a header"))?;
        let time = header
            .time
            .ok_or_else(|| HostError::invalid_state("header without a time"))?;
        let time = tendermint::Time::from_unix_timestamp(
            time.seconds,
            u32::try_from(time.nanos).unwrap_or(0),
        )
        .map_err(HostError::invalid_state)?;
        let next_vals = tendermint::Hash::try_from(header.next_validators_hash)
            .map_err(HostError::invalid_state)?;
        Ok(TmConsensusState::from(
            ibc::clients::tendermint::types::ConsensusState::new(
                CommitmentRoot::from_bytes(&header.app_hash),
                time,
                next_vals,
            ),
        ))
    }

    fn client_counter(&self) -> Result<u64, HostError> {
        self.counter("clients")
    }

    fn connection_end(&self, conn_id: &ConnectionId) -> Result<ConnectionEnd, HostError> {
        let path = ConnectionPath::new(conn_id);
        let b = self.need(&key::provable(&path), format!("connection {conn_id}"))?;
        ConnectionEnd::decode_vec(&b).map_err(HostError::invalid_state)
    }

    fn validate_self_client(&self, client_state: TmClientState) -> Result<(), HostError> {
        self.validate_self_tendermint_client(client_state.inner().clone())
    }

    fn commitment_prefix(&self) -> CommitmentPrefix {
        CommitmentPrefix::from_bytes(COMMITMENT_PREFIX)
    }

    fn connection_counter(&self) -> Result<u64, HostError> {
        self.counter("connections")
    }

    fn channel_end(&self, path: &ChannelEndPath) -> Result<ChannelEnd, HostError> {
        let b = self.need(&key::provable(path), path)?;
        ChannelEnd::decode_vec(&b).map_err(HostError::invalid_state)
    }

    fn get_next_sequence_send(&self, path: &SeqSendPath) -> Result<Sequence, HostError> {
        self.sequence(path)
    }

    fn get_next_sequence_recv(&self, path: &SeqRecvPath) -> Result<Sequence, HostError> {
        self.sequence(path)
    }

    fn get_next_sequence_ack(&self, path: &SeqAckPath) -> Result<Sequence, HostError> {
        self.sequence(path)
    }

    fn get_packet_commitment(&self, path: &CommitmentPath) -> Result<PacketCommitment, HostError> {
        Ok(PacketCommitment::from(
            self.need(&key::provable(path), path)?,
        ))
    }

    fn get_packet_receipt(&self, path: &ReceiptPath) -> Result<Receipt, HostError> {
        Ok(match self.raw(&key::provable(path))? {
            Some(_) => Receipt::Ok,
            None => Receipt::None,
        })
    }

    fn get_packet_acknowledgement(
        &self,
        path: &AckPath,
    ) -> Result<AcknowledgementCommitment, HostError> {
        Ok(AcknowledgementCommitment::from(
            self.need(&key::provable(path), path)?,
        ))
    }

    fn channel_counter(&self) -> Result<u64, HostError> {
        self.counter("channels")
    }

    fn max_expected_time_per_block(&self) -> Duration {
        MAX_EXPECTED_TIME_PER_BLOCK
    }

    fn validate_message_signer(&self, signer: &Signer) -> Result<(), HostError> {
        signer
            .as_ref()
            .parse::<Address>()
            .map(|_| ())
            .map_err(|e| HostError::invalid_state(format!("signer {signer}: {e}")))
    }
}

impl<S: StateWrite> IbcHost<S> {
    fn put(&mut self, k: Vec<u8>, v: Vec<u8>) -> Result<(), HostError> {
        self.state.put_raw(k, v).map_err(store)
    }

    fn bump(&mut self, what: &str) -> Result<(), HostError> {
        let next = self
            .counter(what)?
            .checked_add(1)
            .ok_or_else(|| HostError::invalid_state("counter overflow"))?;
        self.put(key::counter(what), next.to_be_bytes().to_vec())
    }
}

impl<S: StateWrite> ExecutionContext for IbcHost<S> {
    type E = Self;

    fn get_client_execution_context(&mut self) -> &mut Self {
        self
    }

    fn increase_client_counter(&mut self) -> Result<(), HostError> {
        self.bump("clients")
    }

    fn store_connection(
        &mut self,
        path: &ConnectionPath,
        connection_end: ConnectionEnd,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), connection_end.encode_vec())
    }

    fn store_connection_to_client(
        &mut self,
        path: &ClientConnectionPath,
        conn_id: ConnectionId,
    ) -> Result<(), HostError> {
        let k = key::provable(path);
        let mut paths = match self.raw(&k)? {
            Some(b) => ibc_proto::ibc::core::connection::v1::ClientPaths::decode(b.as_slice())
                .map_err(HostError::invalid_state)?,
            None => Default::default(),
        };
        paths.paths.push(conn_id.to_string());
        self.put(k, paths.encode_to_vec())
    }

    fn increase_connection_counter(&mut self) -> Result<(), HostError> {
        self.bump("connections")
    }

    fn store_packet_commitment(
        &mut self,
        path: &CommitmentPath,
        commitment: PacketCommitment,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), commitment.into_vec())
    }

    fn delete_packet_commitment(&mut self, path: &CommitmentPath) -> Result<(), HostError> {
        self.state.delete_raw(key::provable(path)).map_err(store)
    }

    fn store_packet_receipt(&mut self, path: &ReceiptPath, _: Receipt) -> Result<(), HostError> {
        self.put(key::provable(path), vec![1])
    }

    fn store_packet_acknowledgement(
        &mut self,
        path: &AckPath,
        ack_commitment: AcknowledgementCommitment,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), ack_commitment.into_vec())
    }

    fn delete_packet_acknowledgement(&mut self, path: &AckPath) -> Result<(), HostError> {
        self.state.delete_raw(key::provable(path)).map_err(store)
    }

    fn store_channel(
        &mut self,
        path: &ChannelEndPath,
        channel_end: ChannelEnd,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), channel_end.encode_vec())
    }

    fn store_next_sequence_send(
        &mut self,
        path: &SeqSendPath,
        seq: Sequence,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), seq.value().to_be_bytes().to_vec())
    }

    fn store_next_sequence_recv(
        &mut self,
        path: &SeqRecvPath,
        seq: Sequence,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), seq.value().to_be_bytes().to_vec())
    }

    fn store_next_sequence_ack(
        &mut self,
        path: &SeqAckPath,
        seq: Sequence,
    ) -> Result<(), HostError> {
        self.put(key::provable(path), seq.value().to_be_bytes().to_vec())
    }

    fn increase_channel_counter(&mut self) -> Result<(), HostError> {
        self.bump("channels")
    }

    fn emit_ibc_event(&mut self, event: IbcEvent) -> Result<(), HostError> {
        self.events.push(event);
        Ok(())
    }

    fn log_message(&mut self, message: String) -> Result<(), HostError> {
        self.logs.push(message);
        Ok(())
    }
}
