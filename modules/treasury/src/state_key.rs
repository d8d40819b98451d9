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

/// Prefix of the index of active streams.
pub fn active_prefix() -> Vec<u8> {
    b"treasury/active/".to_vec()
}

/// Marks stream `id` active.
pub fn active(id: u64) -> Vec<u8> {
    let mut k = active_prefix();
    k.extend_from_slice(&id.to_be_bytes());
    k
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
