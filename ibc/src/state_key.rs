//! IBC state keys. Everything a counterparty must be able to prove lives
//! under [`PROVABLE`] (`ibc/`): the store keeps those keys in the IBC
//! substore, whose keys are the ICS-24 paths after the prefix
//! (`ibc/clients/07-tendermint-0/clientState` is path
//! `clients/07-tendermint-0/clientState`), committed under the main tree's
//! key `ibc`. The host's own bookkeeping (counters, when each client update
//! was processed, consensus-state height indexes) lives under
//! [`PRIVATE`] (`ibchost/`), in the main tree.

use ibc::core::{
    client::types::Height,
    host::types::{
        identifiers::{ChannelId, ClientId, PortId},
        path::{
            CHANNEL_END_PREFIX, CHANNEL_PREFIX, CLIENT_PREFIX, CONNECTION_PREFIX,
            PACKET_ACK_PREFIX, PACKET_COMMITMENT_PREFIX, PORT_PREFIX, SEQUENCE_PREFIX,
        },
    },
};

/// Prefix of the provable IBC state (the substore).
pub const PROVABLE: &[u8] = b"ibc/";
/// Prefix of the host's own bookkeeping.
pub const PRIVATE: &[u8] = b"ibchost/";

/// The raw key of ICS-24 path `path`.
pub fn provable(path: &impl std::fmt::Display) -> Vec<u8> {
    let mut k = PROVABLE.to_vec();
    k.extend_from_slice(path.to_string().as_bytes());
    k
}

/// The counter of created clients, connections or channels.
pub fn counter(what: &str) -> Vec<u8> {
    let mut k = PRIVATE.to_vec();
    k.extend_from_slice(b"counter/");
    k.extend_from_slice(what.as_bytes());
    k
}

fn height_bytes(h: &Height) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&h.revision_number().to_be_bytes());
    b[8..].copy_from_slice(&h.revision_height().to_be_bytes());
    b
}

/// Reads the height at the end of an index key.
pub fn parse_height(key: &[u8]) -> Option<Height> {
    let tail = key.len().checked_sub(16).and_then(|i| key.get(i..))?;
    let rev = u64::from_be_bytes(tail.get(..8)?.try_into().ok()?);
    let h = u64::from_be_bytes(tail.get(8..)?.try_into().ok()?);
    Height::new(rev, h).ok()
}

/// When (host time and height) the update of `client` to `height` was processed.
pub fn update_meta(client: &ClientId, height: &Height) -> Vec<u8> {
    let mut k = PRIVATE.to_vec();
    k.extend_from_slice(b"update/");
    k.extend_from_slice(client.as_str().as_bytes());
    k.push(b'/');
    k.extend_from_slice(&height_bytes(height));
    k
}

/// Prefix of `client`'s consensus-state heights, ascending.
pub fn heights_prefix(client: &ClientId) -> Vec<u8> {
    let mut k = PRIVATE.to_vec();
    k.extend_from_slice(b"heights/");
    k.extend_from_slice(client.as_str().as_bytes());
    k.push(b'/');
    k
}

/// `client`'s consensus state at `height`, in the ascending index.
pub fn height_entry(client: &ClientId, height: &Height) -> Vec<u8> {
    let mut k = heights_prefix(client);
    k.extend_from_slice(&height_bytes(height));
    k
}

/// Prefix of `client`'s consensus-state heights, descending (each height's
/// bytes inverted, so an ascending scan walks down).
pub fn heights_desc_prefix(client: &ClientId) -> Vec<u8> {
    let mut k = PRIVATE.to_vec();
    k.extend_from_slice(b"heights_desc/");
    k.extend_from_slice(client.as_str().as_bytes());
    k.push(b'/');
    k
}

/// `client`'s consensus state at `height`, in the descending index.
pub fn height_entry_desc(client: &ClientId, height: &Height) -> Vec<u8> {
    let mut k = heights_desc_prefix(client);
    k.extend(height_bytes(height).iter().map(|b| !b));
    k
}

/// Reads the height at the end of a descending-index key.
pub fn parse_height_desc(key: &[u8]) -> Option<Height> {
    let tail = key.len().checked_sub(16).and_then(|i| key.get(i..))?;
    let inverted: Vec<u8> = tail.iter().map(|b| !b).collect();
    parse_height(&inverted)
}

/// Prefix of the ICS-20 transfer application's state.
pub const TRANSFER: &[u8] = b"ibchost/transfer/";

/// Prefix of the denom traces, by hash.
pub fn denom_traces_prefix() -> Vec<u8> {
    let mut k = TRANSFER.to_vec();
    k.extend_from_slice(b"denom/");
    k
}

/// The full trace path (`transfer/channel-0/uatom`) of voucher denom
/// `ibc/<hash>`, by its upper-case hex hash.
pub fn denom_trace(hash: &str) -> Vec<u8> {
    let mut k = denom_traces_prefix();
    k.extend_from_slice(hash.as_bytes());
    k
}

/// Prefix of the escrow totals, [`escrow_total`].
pub const ESCROW_TOTALS: &[u8] = b"ibchost/transfer/escrow/";

/// The total of bank denom `denom` held in escrow by every channel.
pub fn escrow_total(denom: &str) -> Vec<u8> {
    let mut k = ESCROW_TOTALS.to_vec();
    k.extend_from_slice(denom.as_bytes());
    k
}

/// Prefix of the compute-over-IBC application's state.
pub const JOBS: &[u8] = b"ibchost/jobs/";

/// The packet that brought job `job_id`, kept until its acknowledgement
/// is written.
pub fn received_job(job_id: u64) -> Vec<u8> {
    let mut k = JOBS.to_vec();
    k.extend_from_slice(b"received/");
    k.extend_from_slice(&job_id.to_be_bytes());
    k
}

/// Prefix of the queue of received jobs by the height their
/// acknowledgement is due to be checked.
pub fn due_prefix() -> Vec<u8> {
    let mut k = JOBS.to_vec();
    k.extend_from_slice(b"due/");
    k
}

/// Job `job_id` in the due queue at `height`.
pub fn due(height: u64, job_id: u64) -> Vec<u8> {
    let mut k = due_prefix();
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&job_id.to_be_bytes());
    k
}

/// Reads (height, job id) from a due-queue key.
pub fn parse_due(key: &[u8]) -> Option<(u64, u64)> {
    let rest = key.strip_prefix(due_prefix().as_slice())?;
    if rest.len() != 16 {
        return None;
    }
    let h = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let id = u64::from_be_bytes(rest.get(8..)?.try_into().ok()?);
    Some((h, id))
}

/// The lowest height the due queue may still hold entries at.
pub fn due_cursor() -> Vec<u8> {
    let mut k = JOBS.to_vec();
    k.extend_from_slice(b"due_cursor");
    k
}

/// What this chain knows of the job it sent as packet `sequence` on `channel`.
pub fn sent_job(channel: &str, sequence: u64) -> Vec<u8> {
    let mut k = JOBS.to_vec();
    k.extend_from_slice(b"sent/");
    k.extend_from_slice(channel.as_bytes());
    k.push(b'/');
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// Prefix of every client's provable state (`ibc/clients/`): each client's
/// keys sit under `<client id>/`, so a scan that skips past
/// `<client id>/\xff` reaches the next client.
pub fn clients_prefix() -> Vec<u8> {
    provable(&format_args!("{CLIENT_PREFIX}/"))
}

/// Prefix of the connection ends (`ibc/connections/`), by connection id.
pub fn connections_prefix() -> Vec<u8> {
    provable(&format_args!("{CONNECTION_PREFIX}/"))
}

/// Prefix of the channel ends (`ibc/channelEnds/ports/`), followed by
/// `<port>/channels/<channel>`.
pub fn channels_prefix() -> Vec<u8> {
    provable(&format_args!("{CHANNEL_END_PREFIX}/{PORT_PREFIX}/"))
}

/// Prefix of the packet commitments of `port`/`channel`, followed by the
/// sequence in decimal (so they sort as text: 1, 10, 2).
pub fn commitments_prefix(port: &PortId, channel: &ChannelId) -> Vec<u8> {
    sequences_prefix(PACKET_COMMITMENT_PREFIX, port, channel)
}

/// Prefix of the acknowledgement commitments of `port`/`channel`, followed
/// by the sequence in decimal.
pub fn acks_prefix(port: &PortId, channel: &ChannelId) -> Vec<u8> {
    sequences_prefix(PACKET_ACK_PREFIX, port, channel)
}

fn sequences_prefix(kind: &str, port: &PortId, channel: &ChannelId) -> Vec<u8> {
    provable(&format_args!(
        "{kind}/{PORT_PREFIX}/{port}/{CHANNEL_PREFIX}/{channel}/{SEQUENCE_PREFIX}/"
    ))
}
