//! Every state key the treasury module owns. All start with `treasury/`.
//! Numbers are big-endian so keys sort in numeric order.

/// The parameters.
pub fn params() -> Vec<u8> {
    b"treasury/params".to_vec()
}

/// The next stream id.
pub fn next_stream_id() -> Vec<u8> {
    b"treasury/next_stream_id".to_vec()
}

/// Prefix of every stream record.
pub fn streams_prefix() -> Vec<u8> {
    b"treasury/stream/".to_vec()
}

/// A stream record.
pub fn stream(id: u64) -> Vec<u8> {
    let mut k = streams_prefix();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of the index of active streams of earlier versions, replaced by
/// the due queue (read once, to move its entries over).
pub fn legacy_active_prefix() -> Vec<u8> {
    b"treasury/active/".to_vec()
}

/// Prefix of the payment queue: every active stream, keyed by the height
/// of its next payment, then its id.
pub fn due_prefix() -> Vec<u8> {
    b"treasury/due/".to_vec()
}

/// Prefix of the queue entries due at `height`; as a scan's start-after
/// key it sorts before every entry at `height`.
pub fn due_at(height: u64) -> Vec<u8> {
    let mut k = due_prefix();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

/// Stream `id`'s next payment, at `height`.
pub fn due(height: u64, id: u64) -> Vec<u8> {
    let mut k = due_at(height);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Reads `(height, id)` back from a queue key.
pub fn parse_due(key: &[u8]) -> Option<(u64, u64)> {
    let rest = key.strip_prefix(due_prefix().as_slice())?;
    let h: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let id: [u8; 8] = rest.get(8..16)?.try_into().ok()?;
    Some((u64::from_be_bytes(h), u64::from_be_bytes(id)))
}

/// The lowest height the payment queue may still hold entries at: end
/// blocks seek here, past the deletion markers of every payment made.
pub fn due_cursor() -> Vec<u8> {
    b"treasury/due_cursor".to_vec()
}

/// How many streams are active (so counting them reads one key).
pub fn active_count() -> Vec<u8> {
    b"treasury/active_count".to_vec()
}

/// The next spend-history sequence number.
pub fn next_spend_seq() -> Vec<u8> {
    b"treasury/next_spend_seq".to_vec()
}

/// Prefix of the spend history.
pub fn spends_prefix() -> Vec<u8> {
    b"treasury/spend/".to_vec()
}

/// One spend record.
pub fn spend(seq: u64) -> Vec<u8> {
    let mut k = spends_prefix();
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The epoch the `epoch_spent` records belong to.
pub fn spent_epoch() -> Vec<u8> {
    b"treasury/spent_epoch".to_vec()
}

/// Prefix of the amounts paid out in the current epoch.
pub fn epoch_spent_prefix() -> Vec<u8> {
    b"treasury/epoch_spent/".to_vec()
}

/// The amount of `denom` paid out in the current epoch.
pub fn epoch_spent(denom: &str) -> Vec<u8> {
    let mut k = epoch_spent_prefix();
    k.extend_from_slice(denom.as_bytes());
    k
}
