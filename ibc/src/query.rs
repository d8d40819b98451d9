//! ibc-go's core query services, as relayers (Hermes) call them:
//! `ibc.core.client.v1.Query`, `ibc.core.connection.v1.Query` and
//! `ibc.core.channel.v1.Query`, read from the provable IBC state the host
//! writes (see [`crate::host`] for the encodings).
//!
//! Every answer that ibc-go gives a `proof_height` (or a `height`) carries
//! the queried height, with the chain id's revision (`deai-1` is revision
//! 1). Proofs are left empty: relayers prove the same keys through
//! `abci_query` on `store/ibc/key` with `prove`, which answers with an
//! ICS-23 proof against the app hash.
//!
//! Bounds: a page holds at most [`deai_types::query::MAX_PAGE`] entries
//! (100 when the request names no limit); a list of sequences in a request
//! holds at most [`MAX_SEQUENCES`]; a listing that filters what it scans
//! (a connection's channels) reads at most [`MAX_SCANNED`] entries per call
//! and hands out a resume key where it stopped; identifiers are checked
//! (ICS-24 characters, at most [`MAX_ID_LEN`] bytes) before any key is
//! built from them.
//!
//! Order: clients, connections and channels list in the order of their
//! identifiers as text (`connection-10` before `connection-2`), as ibc-go's
//! store iterates them; consensus states list by height, ascending. Packet
//! commitments and acknowledgements are stored under decimal sequences, so
//! pages follow the text order (`10` before `2`); each page is sorted by
//! sequence before it is returned, and a relayer (Hermes) sorts what it
//! collects itself.

use std::{fmt::Display, str::FromStr};

use cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest;
use deai_types::{
    query::{decode, Page},
    QueryError, StateRead,
};
use ibc::{
    clients::tendermint::client_state::ClientState as TmClientState,
    core::{
        client::context::{client_state::ClientStateValidation, ClientValidationContext},
        host::types::{
            identifiers::{ChainId, ChannelId, ClientId, ConnectionId, PortId, Sequence},
            path::{
                AckPath, ChannelEndPath, ClientConnectionPath, ClientConsensusStatePath,
                ClientStatePath, CommitmentPath, ConnectionPath, ReceiptPath, SeqRecvPath,
                SeqSendPath,
            },
        },
    },
};
use ibc_proto::{
    cosmos::base::query::v1beta1::{PageRequest as IbcPageRequest, PageResponse},
    google::protobuf::Any,
    ibc::core::{channel::v1 as chan, client::v1 as client, connection::v1 as conn},
};
use prost::Message;

use crate::{
    host::{HostBlock, IbcHost, MAX_EXPECTED_TIME_PER_BLOCK},
    state_key as key,
};

/// Most sequences one `UnreceivedPackets`, `UnreceivedAcks` or filtered
/// `PacketAcknowledgements` request may name: each costs a state read.
pub const MAX_SEQUENCES: usize = 10_000;

/// Most entries a filtering listing (`ConnectionChannels`) reads in one
/// call; where it stops short, its `next_key` resumes the scan.
pub const MAX_SCANNED: usize = 10_000;

/// Longest identifier accepted (ICS-24's bound, that of port ids).
pub const MAX_ID_LEN: usize = 128;

/// The client types this chain hosts light clients of.
pub const ALLOWED_CLIENTS: &[&str] = &["07-tendermint"];

/// How many entries a filtering scan reads from the store at a time.
const SCAN_BATCH: usize = 100;

/// The height an answer reads, and the chain it is of.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// The height of the state read.
    pub height: u64,
    /// The chain id (its `-N` suffix is the IBC revision number).
    pub chain_id: &'a str,
}

/// Answers `method` if it is one of ibc-go's core query methods served
/// here; `None` if it is not (so another router may answer it).
pub fn query<S: StateRead + ?Sized>(
    state: &S,
    method: &str,
    data: &[u8],
    at: At<'_>,
) -> Option<Result<Vec<u8>, QueryError>> {
    let q = Q {
        state,
        at,
        revision: ChainId::new(at.chain_id)
            .map(|c| c.revision_number())
            .unwrap_or(0),
    };
    if let Some(name) = method.strip_prefix("/ibc.core.client.v1.Query/") {
        return q.client(name, data);
    }
    if let Some(name) = method.strip_prefix("/ibc.core.connection.v1.Query/") {
        return q.connection(name, data);
    }
    if let Some(name) = method.strip_prefix("/ibc.core.channel.v1.Query/") {
        return q.channel(name, data);
    }
    None
}

/// A failure reading state (SDK code 1, internal).
pub(crate) fn internal(e: impl Display) -> QueryError {
    QueryError {
        codespace: "sdk",
        code: 1,
        log: e.to_string(),
    }
}

/// Parses identifier field `field`, refusing a blank or overlong one before
/// ibc-rs (whose errors quote it) sees it.
pub(crate) fn ident<T>(field: &str, s: &str) -> Result<T, QueryError>
where
    T: FromStr,
    T::Err: Display,
{
    if s.is_empty() {
        return Err(QueryError::invalid(format!("{field} cannot be blank")));
    }
    if s.len() > MAX_ID_LEN {
        return Err(QueryError::invalid(format!(
            "{field} is {} bytes long; identifiers are at most {MAX_ID_LEN}",
            s.len()
        )));
    }
    s.parse()
        .map_err(|e| QueryError::invalid(format!("{field}: {e}")))
}

pub(crate) fn port_channel(port: &str, channel: &str) -> Result<(PortId, ChannelId), QueryError> {
    Ok((ident("port_id", port)?, ident("channel_id", channel)?))
}

fn nonzero(seq: u64) -> Result<Sequence, QueryError> {
    if seq == 0 {
        return Err(QueryError::invalid("packet sequence cannot be 0"));
    }
    Ok(Sequence::from(seq))
}

/// Refuses a list of more than [`MAX_SEQUENCES`] sequences.
fn bounded(field: &str, seqs: &[u64]) -> Result<(), QueryError> {
    if seqs.len() > MAX_SEQUENCES {
        return Err(QueryError::invalid(format!(
            "{field} names {} sequences; at most {MAX_SEQUENCES} per request: split the request",
            seqs.len()
        )));
    }
    Ok(())
}

/// The chain's page helper over ibc-proto's `PageRequest` (an older
/// cosmos-sdk-proto's, with the same fields).
pub(crate) fn page(p: Option<&IbcPageRequest>) -> Result<Page, QueryError> {
    let p = p.map(|p| PageRequest {
        key: p.key.clone(),
        offset: p.offset,
        limit: p.limit,
        count_total: p.count_total,
        reverse: p.reverse,
    });
    Page::from_request(p.as_ref())
}

pub(crate) fn page_response(next_key: Vec<u8>) -> Option<PageResponse> {
    Some(PageResponse { next_key, total: 0 })
}

fn decode_stored<M: Message + Default>(bytes: &[u8], what: impl Display) -> Result<M, QueryError> {
    M::decode(bytes).map_err(|e| internal(format!("stored {what} does not decode: {e}")))
}

fn utf8(bytes: &[u8]) -> Result<&str, QueryError> {
    std::str::from_utf8(bytes).map_err(|_| internal("an IBC key is not UTF-8"))
}

/// The key of an identified entry, after its listing's prefix.
type Entry = (Vec<u8>, Vec<u8>);

struct Q<'a, S: ?Sized> {
    state: &'a S,
    at: At<'a>,
    revision: u64,
}

impl<S: StateRead + ?Sized> Q<'_, S> {
    fn height(&self) -> Option<client::Height> {
        Some(client::Height {
            revision_number: self.revision,
            revision_height: self.at.height,
        })
    }

    fn raw(&self, k: &[u8]) -> Result<Option<Vec<u8>>, QueryError> {
        self.state.get_raw(k).map_err(internal)
    }

    /// The value at ICS-24 path `path`, or NotFound naming `what`.
    fn need(&self, path: &impl Display, what: impl Display) -> Result<Vec<u8>, QueryError> {
        self.raw(&key::provable(path))?
            .ok_or_else(|| QueryError::not_found(what))
    }

    /// One page of the entries under `prefix`, keyed by what follows the
    /// prefix (the resume key handed out is that too).
    fn scan(&self, prefix: &[u8], page: &Page) -> Result<(Vec<Entry>, Vec<u8>), QueryError> {
        let after = page.after.as_ref().map(|a| [prefix, a].concat());
        let entries = self
            .state
            .prefix_raw(prefix, after.as_deref(), page.limit)
            .map_err(internal)?;
        let full = entries.len() >= page.limit;
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|(k, v)| (k.get(prefix.len()..).unwrap_or_default().to_vec(), v))
            .collect();
        let next = match entries.last() {
            Some((k, _)) if full => k.clone(),
            _ => Vec::new(),
        };
        Ok((entries, next))
    }

    /// Like [`Q::scan`], keeping only what `keep` maps to `Some`; reads at
    /// most [`MAX_SCANNED`] entries, and hands out the key it stopped at
    /// when it stops with more to read.
    fn scan_filtered<T>(
        &self,
        prefix: &[u8],
        page: &Page,
        mut keep: impl FnMut(&[u8], &[u8]) -> Result<Option<T>, QueryError>,
    ) -> Result<(Vec<T>, Vec<u8>), QueryError> {
        let mut out = Vec::new();
        let mut last = page.after.clone();
        let mut scanned = 0usize;
        loop {
            let want = SCAN_BATCH.min(MAX_SCANNED.saturating_sub(scanned));
            if want == 0 {
                return Ok((out, last.unwrap_or_default()));
            }
            let after = last.as_ref().map(|a| [prefix, a].concat());
            let batch = self
                .state
                .prefix_raw(prefix, after.as_deref(), want)
                .map_err(internal)?;
            let n = batch.len();
            for (k, v) in batch {
                scanned = scanned.saturating_add(1);
                let suffix = k.get(prefix.len()..).unwrap_or_default().to_vec();
                let kept = keep(&suffix, &v)?;
                last = Some(suffix);
                if let Some(t) = kept {
                    out.push(t);
                    if out.len() >= page.limit {
                        return Ok((out, last.unwrap_or_default()));
                    }
                }
            }
            if n < want {
                return Ok((out, Vec::new()));
            }
        }
    }

    fn client_state_any(&self, id: &ClientId) -> Result<Any, QueryError> {
        let b = self.need(&ClientStatePath::new(id.clone()), format!("client {id}"))?;
        decode_stored(&b, format_args!("client state of {id}"))
    }

    fn consensus_state_any(&self, id: &ClientId, rev: u64, h: u64) -> Result<Any, QueryError> {
        let path = ClientConsensusStatePath::new(id.clone(), rev, h);
        let b = self.need(
            &path,
            format!("consensus state of {id} at height {rev}-{h}"),
        )?;
        decode_stored(&b, &path)
    }

    fn connection_end(&self, id: &ConnectionId) -> Result<conn::ConnectionEnd, QueryError> {
        let b = self.need(&ConnectionPath::new(id), format!("connection {id}"))?;
        decode_stored(&b, format_args!("connection {id}"))
    }

    fn channel_end(&self, port: &PortId, ch: &ChannelId) -> Result<chan::Channel, QueryError> {
        let b = self.need(
            &ChannelEndPath::new(port, ch),
            format!("channel {port}/{ch}"),
        )?;
        decode_stored(&b, format_args!("channel {port}/{ch}"))
    }

    /// The client under a channel's first connection hop.
    fn channel_client(&self, port: &PortId, ch: &ChannelId) -> Result<ClientId, QueryError> {
        let channel = self.channel_end(port, ch)?;
        let hop = channel
            .connection_hops
            .first()
            .ok_or_else(|| internal(format!("channel {port}/{ch} has no connection hop")))?;
        let connection: ConnectionId = hop
            .parse()
            .map_err(|e| internal(format!("channel {port}/{ch}'s connection: {e}")))?;
        self.connection_client(&connection)
    }

    fn connection_client(&self, id: &ConnectionId) -> Result<ClientId, QueryError> {
        self.connection_end(id)?
            .client_id
            .parse()
            .map_err(|e| internal(format!("connection {id}'s client: {e}")))
    }

    fn sequence(&self, path: &impl Display, what: impl Display) -> Result<u64, QueryError> {
        let b = self.need(path, what)?;
        <[u8; 8]>::try_from(b.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| internal(format!("{path} is not 8 bytes")))
    }

    fn has(&self, path: &impl Display) -> Result<bool, QueryError> {
        Ok(self.raw(&key::provable(path))?.is_some())
    }

    /// ibc-go's client status: Frozen, Expired or Active by the light
    /// client's rules at the queried height's block time (from staking's
    /// historical header of that height); Unknown where that time is not
    /// kept.
    fn client_status(&self, id: &ClientId) -> Result<String, QueryError> {
        self.need(&ClientStatePath::new(id.clone()), format!("client {id}"))?;
        let Some(time) = deai_staking::historical::historical_info(self.state, self.at.height)
            .map_err(internal)?
            .and_then(|info| info.header)
            .and_then(|h| h.time)
        else {
            return Ok("Unknown".into());
        };
        let block = HostBlock {
            height: self.at.height,
            time: deai_types::module::BlockTime {
                seconds: time.seconds,
                nanos: u32::try_from(time.nanos).unwrap_or(0),
            },
            chain_id: ChainId::new(self.at.chain_id).map_err(internal)?,
        };
        let host = IbcHost::new(self.state, block);
        let cs: TmClientState = host.client_state(id).map_err(internal)?;
        let status = cs.status(&host, id).map_err(internal)?;
        Ok(status.to_string())
    }

    fn client(&self, name: &str, data: &[u8]) -> Option<Result<Vec<u8>, QueryError>> {
        Some(match name {
            "ClientState" => (|| {
                let r: client::QueryClientStateRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                Ok(client::QueryClientStateResponse {
                    client_state: Some(self.client_state_any(&id)?),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ClientStates" => (|| {
                let r: client::QueryClientStatesRequest = decode(data)?;
                let (client_states, next_key) =
                    self.client_states(&page(r.pagination.as_ref())?)?;
                Ok(client::QueryClientStatesResponse {
                    client_states,
                    pagination: page_response(next_key),
                }
                .encode_to_vec())
            })(),
            "ConsensusState" => (|| {
                let r: client::QueryConsensusStateRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                let (rev, h) = if r.latest_height {
                    let b = self.need(&ClientStatePath::new(id.clone()), format!("client {id}"))?;
                    let cs = <TmClientState as ibc::primitives::proto::Protobuf<
                        ibc::primitives::proto::Any,
                    >>::decode_vec(&b)
                    .map_err(|e| internal(format!("client state of {id}: {e}")))?;
                    let latest = cs.inner().latest_height;
                    (latest.revision_number(), latest.revision_height())
                } else {
                    if r.revision_height == 0 {
                        return Err(QueryError::invalid(
                            "consensus state height cannot be 0 (set latest_height to read the latest)",
                        ));
                    }
                    (r.revision_number, r.revision_height)
                };
                Ok(client::QueryConsensusStateResponse {
                    consensus_state: Some(self.consensus_state_any(&id, rev, h)?),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ConsensusStates" => (|| {
                let r: client::QueryConsensusStatesRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                let (entries, next_key) = self.scan(
                    &key::heights_prefix(&id),
                    &self.height_page(r.pagination.as_ref())?,
                )?;
                let consensus_states = entries
                    .iter()
                    .map(|(k, _)| {
                        let h = key::parse_height(k)
                            .ok_or_else(|| internal("consensus height index key"))?;
                        Ok(client::ConsensusStateWithHeight {
                            height: Some(client::Height {
                                revision_number: h.revision_number(),
                                revision_height: h.revision_height(),
                            }),
                            consensus_state: Some(self.consensus_state_any(
                                &id,
                                h.revision_number(),
                                h.revision_height(),
                            )?),
                        })
                    })
                    .collect::<Result<_, QueryError>>()?;
                Ok(client::QueryConsensusStatesResponse {
                    consensus_states,
                    pagination: page_response(next_key),
                }
                .encode_to_vec())
            })(),
            "ConsensusStateHeights" => (|| {
                let r: client::QueryConsensusStateHeightsRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                let (entries, next_key) = self.scan(
                    &key::heights_prefix(&id),
                    &self.height_page(r.pagination.as_ref())?,
                )?;
                let consensus_state_heights = entries
                    .iter()
                    .map(|(k, _)| {
                        key::parse_height(k)
                            .map(|h| client::Height {
                                revision_number: h.revision_number(),
                                revision_height: h.revision_height(),
                            })
                            .ok_or_else(|| internal("consensus height index key"))
                    })
                    .collect::<Result<_, QueryError>>()?;
                Ok(client::QueryConsensusStateHeightsResponse {
                    consensus_state_heights,
                    pagination: page_response(next_key),
                }
                .encode_to_vec())
            })(),
            "ClientStatus" => (|| {
                let r: client::QueryClientStatusRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                Ok(client::QueryClientStatusResponse {
                    status: self.client_status(&id)?,
                }
                .encode_to_vec())
            })(),
            "ClientParams" => (|| {
                let _: client::QueryClientParamsRequest = decode(data)?;
                Ok(client::QueryClientParamsResponse {
                    params: Some(client::Params {
                        allowed_clients: ALLOWED_CLIENTS.iter().map(|s| s.to_string()).collect(),
                    }),
                }
                .encode_to_vec())
            })(),
            "UpgradedClientState" => (|| {
                let _: client::QueryUpgradedClientStateRequest = decode(data)?;
                Err(QueryError::not_found(
                    "no upgraded client state: no upgrade is planned",
                ))
            })(),
            "UpgradedConsensusState" => (|| {
                let _: client::QueryUpgradedConsensusStateRequest = decode(data)?;
                Err(QueryError::not_found(
                    "no upgraded consensus state: no upgrade is planned",
                ))
            })(),
            _ => return None,
        })
    }

    /// A page over a client's height index, whose resume keys are 16-byte
    /// heights.
    fn height_page(&self, p: Option<&IbcPageRequest>) -> Result<Page, QueryError> {
        let page = page(p)?;
        if page.after.as_ref().is_some_and(|k| k.len() != 16) {
            return Err(QueryError::invalid(
                "pagination.key is not one this query handed out",
            ));
        }
        Ok(page)
    }

    /// One page of client states, in client id order. The clients' keys
    /// (client state, consensus states, connections) share the prefix
    /// `ibc/clients/<id>/`, so each step seeks past one client's keys
    /// rather than reading them: a page costs two reads per client.
    fn client_states(
        &self,
        page: &Page,
    ) -> Result<(Vec<client::IdentifiedClientState>, Vec<u8>), QueryError> {
        let prefix = key::clients_prefix();
        let past = |id: &[u8]| [prefix.as_slice(), id, b"/\xff"].concat();
        let mut after = page.after.as_deref().map(past);
        let mut out = Vec::new();
        let mut last = Vec::new();
        let mut seeks = 0usize;
        while out.len() < page.limit && seeks < MAX_SCANNED {
            seeks = seeks.saturating_add(1);
            let Some((k, _)) = self
                .state
                .prefix_raw(&prefix, after.as_deref(), 1)
                .map_err(internal)?
                .into_iter()
                .next()
            else {
                return Ok((out, Vec::new()));
            };
            let rest = k.get(prefix.len()..).unwrap_or_default();
            let id_bytes = rest.split(|b| *b == b'/').next().unwrap_or_default();
            after = Some(past(id_bytes));
            last = id_bytes.to_vec();
            // Only ibc-rs writes here, with valid ids; anything else is skipped.
            let Ok(id) = utf8(id_bytes)?.parse::<ClientId>() else {
                continue;
            };
            if let Some(b) = self.raw(&key::provable(&ClientStatePath::new(id.clone())))? {
                out.push(client::IdentifiedClientState {
                    client_id: id.to_string(),
                    client_state: Some(decode_stored(&b, format_args!("client state of {id}"))?),
                });
            }
        }
        Ok((out, last))
    }

    fn connection(&self, name: &str, data: &[u8]) -> Option<Result<Vec<u8>, QueryError>> {
        Some(match name {
            "Connection" => (|| {
                let r: conn::QueryConnectionRequest = decode(data)?;
                let id: ConnectionId = ident("connection_id", &r.connection_id)?;
                Ok(conn::QueryConnectionResponse {
                    connection: Some(self.connection_end(&id)?),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "Connections" => (|| {
                let r: conn::QueryConnectionsRequest = decode(data)?;
                let (entries, next_key) =
                    self.scan(&key::connections_prefix(), &page(r.pagination.as_ref())?)?;
                let connections = entries
                    .iter()
                    .map(|(id, v)| {
                        let id = utf8(id)?;
                        let end: conn::ConnectionEnd =
                            decode_stored(v, format_args!("connection {id}"))?;
                        Ok(conn::IdentifiedConnection {
                            id: id.to_string(),
                            client_id: end.client_id,
                            versions: end.versions,
                            state: end.state,
                            counterparty: end.counterparty,
                            delay_period: end.delay_period,
                        })
                    })
                    .collect::<Result<_, QueryError>>()?;
                Ok(conn::QueryConnectionsResponse {
                    connections,
                    pagination: page_response(next_key),
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ClientConnections" => (|| {
                let r: conn::QueryClientConnectionsRequest = decode(data)?;
                let id: ClientId = ident("client_id", &r.client_id)?;
                let b = self.need(
                    &ClientConnectionPath::new(id.clone()),
                    format!("connections of client {id}"),
                )?;
                let paths: conn::ClientPaths =
                    decode_stored(&b, format_args!("connections of {id}"))?;
                Ok(conn::QueryClientConnectionsResponse {
                    connection_paths: paths.paths,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ConnectionClientState" => (|| {
                let r: conn::QueryConnectionClientStateRequest = decode(data)?;
                let id: ConnectionId = ident("connection_id", &r.connection_id)?;
                let client_id = self.connection_client(&id)?;
                Ok(conn::QueryConnectionClientStateResponse {
                    identified_client_state: Some(client::IdentifiedClientState {
                        client_state: Some(self.client_state_any(&client_id)?),
                        client_id: client_id.to_string(),
                    }),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ConnectionConsensusState" => (|| {
                let r: conn::QueryConnectionConsensusStateRequest = decode(data)?;
                let id: ConnectionId = ident("connection_id", &r.connection_id)?;
                let client_id = self.connection_client(&id)?;
                Ok(conn::QueryConnectionConsensusStateResponse {
                    consensus_state: Some(self.consensus_state_any(
                        &client_id,
                        r.revision_number,
                        r.revision_height,
                    )?),
                    client_id: client_id.to_string(),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ConnectionParams" => (|| {
                let _: conn::QueryConnectionParamsRequest = decode(data)?;
                Ok(conn::QueryConnectionParamsResponse {
                    params: Some(conn::Params {
                        max_expected_time_per_block: u64::try_from(
                            MAX_EXPECTED_TIME_PER_BLOCK.as_nanos(),
                        )
                        .unwrap_or(u64::MAX),
                    }),
                }
                .encode_to_vec())
            })(),
            _ => return None,
        })
    }

    /// A channel end listed under `channels_prefix`, by its key there
    /// (`<port>/channels/<channel>`).
    fn identified_channel(
        &self,
        suffix: &[u8],
        v: &[u8],
    ) -> Result<chan::IdentifiedChannel, QueryError> {
        let text = utf8(suffix)?;
        let (port_id, channel_id) = text
            .split_once("/channels/")
            .ok_or_else(|| internal(format!("channel key {text:?}")))?;
        let c: chan::Channel = decode_stored(v, format_args!("channel {text}"))?;
        Ok(chan::IdentifiedChannel {
            state: c.state,
            ordering: c.ordering,
            counterparty: c.counterparty,
            connection_hops: c.connection_hops,
            version: c.version,
            port_id: port_id.to_string(),
            channel_id: channel_id.to_string(),
            upgrade_sequence: c.upgrade_sequence,
        })
    }

    /// One page of packet states (commitments or acknowledgements) under
    /// `prefix`, sorted by sequence.
    fn packet_states(
        &self,
        prefix: &[u8],
        port: &PortId,
        ch: &ChannelId,
        p: Option<&IbcPageRequest>,
    ) -> Result<(Vec<chan::PacketState>, Vec<u8>), QueryError> {
        let (entries, next_key) = self.scan(prefix, &page(p)?)?;
        let mut states = entries
            .into_iter()
            .map(|(seq, data)| {
                let sequence = utf8(&seq)?
                    .parse::<u64>()
                    .map_err(|_| internal("a packet key's sequence is not a number"))?;
                Ok(chan::PacketState {
                    port_id: port.to_string(),
                    channel_id: ch.to_string(),
                    sequence,
                    data,
                })
            })
            .collect::<Result<Vec<_>, QueryError>>()?;
        states.sort_by_key(|s| s.sequence);
        Ok((states, next_key))
    }

    fn channel(&self, name: &str, data: &[u8]) -> Option<Result<Vec<u8>, QueryError>> {
        Some(match name {
            "Channel" => (|| {
                let r: chan::QueryChannelRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                Ok(chan::QueryChannelResponse {
                    channel: Some(self.channel_end(&port, &ch)?),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "Channels" => (|| {
                let r: chan::QueryChannelsRequest = decode(data)?;
                let (entries, next_key) =
                    self.scan(&key::channels_prefix(), &page(r.pagination.as_ref())?)?;
                let channels = entries
                    .iter()
                    .map(|(k, v)| self.identified_channel(k, v))
                    .collect::<Result<_, QueryError>>()?;
                Ok(chan::QueryChannelsResponse {
                    channels,
                    pagination: page_response(next_key),
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ConnectionChannels" => (|| {
                let r: chan::QueryConnectionChannelsRequest = decode(data)?;
                let id: ConnectionId = ident("connection", &r.connection)?;
                let id = id.as_str();
                let (channels, next_key) =
                    self.scan_filtered(
                        &key::channels_prefix(),
                        &page(r.pagination.as_ref())?,
                        |k, v| {
                            let c = self.identified_channel(k, v)?;
                            Ok((c.connection_hops.first().map(String::as_str) == Some(id))
                                .then_some(c))
                        },
                    )?;
                Ok(chan::QueryConnectionChannelsResponse {
                    channels,
                    pagination: page_response(next_key),
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ChannelClientState" => (|| {
                let r: chan::QueryChannelClientStateRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let client_id = self.channel_client(&port, &ch)?;
                Ok(chan::QueryChannelClientStateResponse {
                    identified_client_state: Some(client::IdentifiedClientState {
                        client_state: Some(self.client_state_any(&client_id)?),
                        client_id: client_id.to_string(),
                    }),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "ChannelConsensusState" => (|| {
                let r: chan::QueryChannelConsensusStateRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let client_id = self.channel_client(&port, &ch)?;
                Ok(chan::QueryChannelConsensusStateResponse {
                    consensus_state: Some(self.consensus_state_any(
                        &client_id,
                        r.revision_number,
                        r.revision_height,
                    )?),
                    client_id: client_id.to_string(),
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "PacketCommitment" => (|| {
                let r: chan::QueryPacketCommitmentRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let seq = nonzero(r.sequence)?;
                let commitment = self.need(
                    &CommitmentPath::new(&port, &ch, seq),
                    format!("packet commitment {port}/{ch}/{seq}"),
                )?;
                Ok(chan::QueryPacketCommitmentResponse {
                    commitment,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "PacketCommitments" => (|| {
                let r: chan::QueryPacketCommitmentsRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let (commitments, next_key) = self.packet_states(
                    &key::commitments_prefix(&port, &ch),
                    &port,
                    &ch,
                    r.pagination.as_ref(),
                )?;
                Ok(chan::QueryPacketCommitmentsResponse {
                    commitments,
                    pagination: page_response(next_key),
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "PacketReceipt" => (|| {
                let r: chan::QueryPacketReceiptRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let seq = nonzero(r.sequence)?;
                Ok(chan::QueryPacketReceiptResponse {
                    received: self.has(&ReceiptPath::new(&port, &ch, seq))?,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "PacketAcknowledgement" => (|| {
                let r: chan::QueryPacketAcknowledgementRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                let seq = nonzero(r.sequence)?;
                let acknowledgement = self.need(
                    &AckPath::new(&port, &ch, seq),
                    format!("packet acknowledgement {port}/{ch}/{seq}"),
                )?;
                Ok(chan::QueryPacketAcknowledgementResponse {
                    acknowledgement,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "PacketAcknowledgements" => (|| {
                let r: chan::QueryPacketAcknowledgementsRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                bounded(
                    "packet_commitment_sequences",
                    &r.packet_commitment_sequences,
                )?;
                let (acknowledgements, next_key) = if r.packet_commitment_sequences.is_empty() {
                    self.packet_states(
                        &key::acks_prefix(&port, &ch),
                        &port,
                        &ch,
                        r.pagination.as_ref(),
                    )?
                } else {
                    // As ibc-go: the acknowledgements of the sequences
                    // named that exist, unpaginated.
                    let mut acks = Vec::new();
                    for &sequence in &r.packet_commitment_sequences {
                        if sequence == 0 {
                            continue;
                        }
                        let path = AckPath::new(&port, &ch, Sequence::from(sequence));
                        if let Some(data) = self.raw(&key::provable(&path))? {
                            acks.push(chan::PacketState {
                                port_id: port.to_string(),
                                channel_id: ch.to_string(),
                                sequence,
                                data,
                            });
                        }
                    }
                    (acks, Vec::new())
                };
                Ok(chan::QueryPacketAcknowledgementsResponse {
                    acknowledgements,
                    pagination: page_response(next_key),
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "UnreceivedPackets" => (|| {
                let r: chan::QueryUnreceivedPacketsRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                bounded(
                    "packet_commitment_sequences",
                    &r.packet_commitment_sequences,
                )?;
                let channel = self.channel_end(&port, &ch)?;
                let ordered = channel.ordering == chan::Order::Ordered as i32;
                let next_recv = if ordered {
                    self.sequence(
                        &SeqRecvPath::new(&port, &ch),
                        format!("next sequence receive of {port}/{ch}"),
                    )?
                } else {
                    0
                };
                let mut sequences = Vec::new();
                for &s in &r.packet_commitment_sequences {
                    let seq = nonzero(s)?;
                    let unreceived = if ordered {
                        s >= next_recv
                    } else {
                        !self.has(&ReceiptPath::new(&port, &ch, seq))?
                    };
                    if unreceived {
                        sequences.push(s);
                    }
                }
                Ok(chan::QueryUnreceivedPacketsResponse {
                    sequences,
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "UnreceivedAcks" => (|| {
                let r: chan::QueryUnreceivedAcksRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                bounded("packet_ack_sequences", &r.packet_ack_sequences)?;
                self.channel_end(&port, &ch)?;
                let mut sequences = Vec::new();
                for &s in &r.packet_ack_sequences {
                    let seq = nonzero(s)?;
                    // A commitment still held: its acknowledgement has not
                    // been relayed back.
                    if self.has(&CommitmentPath::new(&port, &ch, seq))? {
                        sequences.push(s);
                    }
                }
                Ok(chan::QueryUnreceivedAcksResponse {
                    sequences,
                    height: self.height(),
                }
                .encode_to_vec())
            })(),
            "NextSequenceReceive" => (|| {
                let r: chan::QueryNextSequenceReceiveRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                Ok(chan::QueryNextSequenceReceiveResponse {
                    next_sequence_receive: self.sequence(
                        &SeqRecvPath::new(&port, &ch),
                        format!("next sequence receive of {port}/{ch}"),
                    )?,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            "NextSequenceSend" => (|| {
                let r: chan::QueryNextSequenceSendRequest = decode(data)?;
                let (port, ch) = port_channel(&r.port_id, &r.channel_id)?;
                Ok(chan::QueryNextSequenceSendResponse {
                    next_sequence_send: self.sequence(
                        &SeqSendPath::new(&port, &ch),
                        format!("next sequence send of {port}/{ch}"),
                    )?,
                    proof: Vec::new(),
                    proof_height: self.height(),
                }
                .encode_to_vec())
            })(),
            _ => return None,
        })
    }
}
