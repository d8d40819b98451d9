//! The chain's own recent headers and validator sets, answered by the
//! SDK's `HistoricalInfo` query (and read by IBC for the host's consensus
//! states): for each of the last `historical_entries` heights, the header
//! as the SDK builds it from `FinalizeBlock` (chain id, height, time,
//! proposer, next validators hash, and the app hash of the block before)
//! and the bonded set at the start of the block, most powerful first.
//!
//! Storage: a header per height, and a set only at the heights where it
//! changed (each header names the height of the set in force), so a chain
//! whose set stays the same stores one set, not one per block. Each begin
//! block prunes what fell out of the window, at most [`PRUNE_PER_BLOCK`]
//! records of each kind (so lowering the parameter catches up over a few
//! blocks instead of in one).

use cosmos_sdk_proto::cosmos::staking::v1beta1 as sdk;
use deai_types::{module::BlockTime, BlockCtx, StateRead, StateWrite};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::{StakingError, StakingRead};

/// Most header and set records one block prunes.
pub const PRUNE_PER_BLOCK: usize = 100;

/// Prefix of the headers, by height.
pub const HEADERS: &[u8] = b"staking/historical/header/";
/// Prefix of the sets, by the height they took effect.
pub const SETS: &[u8] = b"staking/historical/set/";
/// The height and SHA-256 of the newest set stored.
pub const NEWEST_SET: &[u8] = b"staking/historical/newest_set";

fn at(prefix: &[u8], height: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&height.to_be_bytes());
    k
}

fn height_of(prefix: &[u8], key: &[u8]) -> Result<u64, StakingError> {
    key.get(prefix.len()..)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StakingError::Corrupt("historical info key".into()))
}

fn timestamp(t: BlockTime) -> tendermint_proto::google::protobuf::Timestamp {
    tendermint_proto::google::protobuf::Timestamp {
        seconds: t.seconds,
        nanos: i32::try_from(t.nanos).unwrap_or(0),
    }
}

/// The bonded set now, most powerful first (ties by operator address), as
/// the SDK's records.
fn bonded_set<S: StateRead + ?Sized>(state: &S) -> Result<Vec<sdk::Validator>, StakingError> {
    let mut set = Vec::new();
    for (op, power) in state.last_powers()? {
        let v = state.validator(&op)?.ok_or_else(|| {
            StakingError::Corrupt("a member of the last set has no record".into())
        })?;
        set.push((power, op, v.to_proto()));
    }
    set.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(set.into_iter().map(|(_, _, v)| v).collect())
}

/// Records this block's header and (if it changed) set, and prunes what
/// fell out of the last `historical_entries` heights.
pub fn track<S: StateWrite + ?Sized>(
    state: &mut S,
    ctx: &BlockCtx<'_>,
) -> Result<(), StakingError> {
    let entries = u64::from(state.staking_params()?.historical_entries);
    let height = ctx.height();
    // Heights at or below `cutoff` are out of the window.
    let cutoff = height.saturating_sub(entries);
    prune(state, cutoff)?;
    if entries == 0 {
        return Ok(());
    }
    let set = sdk::HistoricalInfo {
        header: None,
        valset: bonded_set(state)?,
    }
    .encode_to_vec();
    let digest: [u8; 32] = Sha256::digest(&set).into();
    let newest = state.get_raw(NEWEST_SET)?;
    let set_height = match newest.as_deref() {
        Some(n) if n.len() == 40 && n[8..] == digest => height_of(&[], &n[..8])?,
        _ => {
            state.put_raw(at(SETS, height), set)?;
            let mut n = height.to_be_bytes().to_vec();
            n.extend_from_slice(&digest);
            state.put_raw(NEWEST_SET.to_vec(), n)?;
            height
        }
    };
    let header = tendermint_proto::types::Header {
        chain_id: ctx.host.chain_id(),
        height: i64::try_from(height).unwrap_or(i64::MAX),
        time: Some(timestamp(ctx.info.time)),
        next_validators_hash: ctx.info.next_validators_hash.clone(),
        app_hash: ctx.prev_app_hash.to_vec(),
        proposer_address: ctx.info.proposer.clone(),
        ..Default::default()
    };
    let mut record = set_height.to_be_bytes().to_vec();
    record.extend_from_slice(&header.encode_to_vec());
    state.put_raw(at(HEADERS, height), record)?;
    Ok(())
}

/// Deletes headers at or below `cutoff`, then sets older than the one the
/// oldest remaining header uses; at most [`PRUNE_PER_BLOCK`] of each.
fn prune<S: StateWrite + ?Sized>(state: &mut S, cutoff: u64) -> Result<(), StakingError> {
    for (k, _) in state.prefix_raw(HEADERS, None, PRUNE_PER_BLOCK)? {
        if height_of(HEADERS, &k)? > cutoff {
            break;
        }
        state.delete_raw(k)?;
    }
    let oldest_in_use = match state.prefix_raw(HEADERS, None, 1)?.first() {
        Some((_, v)) => height_of(&[], v.get(..8).unwrap_or_default())?,
        // No header left: only the newest set may still be needed.
        None => match state.get_raw(NEWEST_SET)? {
            Some(n) => height_of(&[], n.get(..8).unwrap_or_default())?,
            None => return Ok(()),
        },
    };
    for (k, _) in state.prefix_raw(SETS, None, PRUNE_PER_BLOCK)? {
        if height_of(SETS, &k)? >= oldest_in_use {
            break;
        }
        state.delete_raw(k)?;
    }
    Ok(())
}

/// The header and set of `height`, if still kept.
pub fn historical_info<S: StateRead + ?Sized>(
    state: &S,
    height: u64,
) -> Result<Option<sdk::HistoricalInfo>, StakingError> {
    let Some(record) = state.get_raw(&at(HEADERS, height))? else {
        return Ok(None);
    };
    let corrupt = |e: prost::DecodeError| StakingError::Corrupt(format!("historical info: {e}"));
    let set_height = height_of(&[], record.get(..8).unwrap_or_default())?;
    let header = tendermint_proto::types::Header::decode(record.get(8..).unwrap_or_default())
        .map_err(corrupt)?;
    let set = state
        .get_raw(&at(SETS, set_height))?
        .ok_or_else(|| StakingError::Corrupt(format!("no set at height {set_height}")))?;
    let set = sdk::HistoricalInfo::decode(set.as_slice()).map_err(corrupt)?;
    Ok(Some(sdk::HistoricalInfo {
        header: Some(header),
        valset: set.valset,
    }))
}
