//! State sync: snapshots of the committed state that a new node restores
//! instead of replaying every block (CometBFT's ListSnapshots,
//! LoadSnapshotChunk, OfferSnapshot and ApplySnapshotChunk).
//!
//! # Format 1
//! A snapshot of height `H` is every live key-value pair of the state at the
//! end of block `H`, in ascending key order, cut into chunks of about
//! [`CHUNK_TARGET_BYTES`]. A chunk is a run of entries, each
//! `key length (u32 BE) | key | value length (u32 BE) | value`. The
//! snapshot's metadata is the SHA-256 of every chunk, in order, and its hash
//! is the SHA-256 of `"deai-snapshot/1" | H (u64 BE) | metadata`.
//!
//! # What a restoring node checks
//! - when offered: the format, the chunk count and the hash against the
//!   metadata (so every peer that serves the same hash serves the same chunks);
//! - each chunk, as it arrives: its SHA-256 against the metadata (a wrong one
//!   is fetched again from another peer), then its entries: within the size
//!   bounds, keys strictly ascending across the whole snapshot;
//! - at the end: the Merkle root of the restored entries against the app hash
//!   CometBFT's light client verified for `H`. Only then is anything written,
//!   in one commit, so a rejected snapshot leaves the node empty and CometBFT
//!   tries another.
//!
//! The restored store holds version `H` only. Governance tallies read the
//! state at a vote's start height, so snapshots are taken (and accepted) only
//! at heights where no open vote started earlier; during such a vote a new
//! node restores an older snapshot or syncs blocks.
//!
//! A restore holds the snapshot's entries in memory until the root check, at
//! most [`MAX_RESTORE_BYTES`].

use std::{
    fs,
    io::Write,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

use anyhow::{bail, Context};
use deai_store::{Entries, Storage};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tracing::{info, warn};

/// The only snapshot format this version writes and reads.
pub const FORMAT: u32 = 1;
/// A chunk is closed once it holds at least this many bytes.
pub const CHUNK_TARGET_BYTES: usize = 4 << 20;
/// No chunk may be larger (CometBFT's p2p chunk message is at most 16 MB).
pub const MAX_CHUNK_BYTES: usize = 12 << 20;
/// The most chunks a snapshot may have.
pub const MAX_CHUNKS: u32 = 1024;
/// The most entry bytes a restore keeps in memory before its root check.
pub const MAX_RESTORE_BYTES: u64 = 4 << 30;
/// The longest key a snapshot may carry.
pub const MAX_KEY_BYTES: usize = 64 << 10;
/// Chunks that fail their hash check before a snapshot is given up.
pub const MAX_BAD_CHUNKS: u32 = 8;

/// A snapshot as CometBFT lists and offers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The height whose state it holds.
    pub height: u64,
    /// Always [`FORMAT`].
    pub format: u32,
    /// How many chunks.
    pub chunks: u32,
    /// Identifies the snapshot (see the module docs).
    pub hash: Vec<u8>,
    /// The chunks' SHA-256 hashes, concatenated.
    pub metadata: Vec<u8>,
}

impl SnapshotInfo {
    /// Builds the listing of a snapshot from its chunk hashes.
    fn new(height: u64, metadata: Vec<u8>) -> Result<Self, SnapshotError> {
        let chunks = u32::try_from(metadata.len() / 32)
            .ok()
            .filter(|n| metadata.len() % 32 == 0 && *n > 0 && *n <= MAX_CHUNKS)
            .ok_or(SnapshotError::Metadata)?;
        Ok(SnapshotInfo {
            height,
            format: FORMAT,
            chunks,
            hash: snapshot_hash(height, &metadata).to_vec(),
            metadata,
        })
    }

    /// Checks an offered snapshot's fields against each other.
    pub fn check(&self) -> Result<(), SnapshotError> {
        if self.format != FORMAT {
            return Err(SnapshotError::Format(self.format));
        }
        if self.height == 0 {
            return Err(SnapshotError::Height);
        }
        let expected = SnapshotInfo::new(self.height, self.metadata.clone())?;
        if expected.chunks != self.chunks {
            return Err(SnapshotError::Metadata);
        }
        if expected.hash != self.hash {
            return Err(SnapshotError::Hash);
        }
        Ok(())
    }

    /// The hash of chunk `index`.
    fn chunk_hash(&self, index: u32) -> Option<&[u8]> {
        let start = usize::try_from(index).ok()?.checked_mul(32)?;
        self.metadata.get(start..start.checked_add(32)?)
    }
}

/// Why a snapshot or chunk was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SnapshotError {
    /// Not format 1.
    #[error("snapshot format {0} is not supported (this node reads format {FORMAT})")]
    Format(u32),
    /// Height 0.
    #[error("a snapshot cannot be of height 0")]
    Height,
    /// The metadata is not 1 to MAX_CHUNKS hashes, or disagrees with the chunk count.
    #[error("snapshot metadata must be 1 to {MAX_CHUNKS} chunk hashes matching the chunk count")]
    Metadata,
    /// The hash does not match the metadata.
    #[error("snapshot hash does not match its metadata")]
    Hash,
    /// A chunk's bytes are malformed.
    #[error("malformed chunk: {0}")]
    Chunk(String),
}

/// SHA-256 of the domain, the height and the metadata.
fn snapshot_hash(height: u64, metadata: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"deai-snapshot/1");
    h.update(height.to_be_bytes());
    h.update(metadata);
    h.finalize().into()
}

/// Appends one entry to a chunk.
fn encode_entry(chunk: &mut Vec<u8>, key: &[u8], value: &[u8]) -> Result<(), SnapshotError> {
    let klen = u32::try_from(key.len()).map_err(|_| SnapshotError::Chunk("key too long".into()))?;
    let vlen =
        u32::try_from(value.len()).map_err(|_| SnapshotError::Chunk("value too long".into()))?;
    chunk.extend_from_slice(&klen.to_be_bytes());
    chunk.extend_from_slice(key);
    chunk.extend_from_slice(&vlen.to_be_bytes());
    chunk.extend_from_slice(value);
    Ok(())
}

/// Decodes a chunk, checking its size and that every key is longer than
/// nothing, at most [`MAX_KEY_BYTES`], and above `after` and the key before
/// it. Lengths are checked against what is left before anything is copied.
pub fn decode_chunk(bytes: &[u8], after: Option<&[u8]>) -> Result<Entries, SnapshotError> {
    if bytes.len() > MAX_CHUNK_BYTES {
        return Err(SnapshotError::Chunk(format!(
            "{} bytes, more than {MAX_CHUNK_BYTES}",
            bytes.len()
        )));
    }
    if bytes.is_empty() {
        return Err(SnapshotError::Chunk("empty".into()));
    }
    fn take<'a>(rest: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], SnapshotError> {
        if rest.len() < n {
            return Err(SnapshotError::Chunk(format!("truncated {what}")));
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Ok(head)
    }
    fn take_len(rest: &mut &[u8], what: &str) -> Result<usize, SnapshotError> {
        let b = take(rest, 4, what)?;
        let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        usize::try_from(n).map_err(|_| SnapshotError::Chunk(format!("{what} too long")))
    }
    let mut rest = bytes;
    let mut entries: Entries = Vec::new();
    while !rest.is_empty() {
        let klen = take_len(&mut rest, "key length")?;
        if klen == 0 || klen > MAX_KEY_BYTES {
            return Err(SnapshotError::Chunk(format!(
                "key of {klen} bytes (1 to {MAX_KEY_BYTES})"
            )));
        }
        let key = take(&mut rest, klen, "key")?;
        let previous = entries.last().map(|(k, _)| k.as_slice()).or(after);
        if previous.is_some_and(|p| key <= p) {
            return Err(SnapshotError::Chunk("keys out of order".into()));
        }
        let vlen = take_len(&mut rest, "value length")?;
        let value = take(&mut rest, vlen, "value")?;
        entries.push((key.to_vec(), value.to_vec()));
    }
    Ok(entries)
}

/// Where a node keeps its snapshots, and when it takes them.
#[derive(Debug)]
pub struct SnapshotStore {
    dir: PathBuf,
    interval: u64,
    keep_recent: usize,
    chunk_target: usize,
    /// Set while a snapshot is being written, so two never run at once.
    busy: Arc<AtomicBool>,
}

impl SnapshotStore {
    /// Snapshots in `dir`, one every `interval` heights (0: never), keeping
    /// the `keep_recent` newest (at least 1).
    pub fn new(dir: PathBuf, interval: u64, keep_recent: usize) -> anyhow::Result<Self> {
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(SnapshotStore {
            dir,
            interval,
            keep_recent: keep_recent.max(1),
            chunk_target: CHUNK_TARGET_BYTES,
            busy: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Closes chunks at `bytes` instead of [`CHUNK_TARGET_BYTES`] (at most
    /// [`MAX_CHUNK_BYTES`]), so tests can cut small states into many chunks.
    pub fn set_chunk_target(&mut self, bytes: usize) {
        self.chunk_target = bytes.clamp(1, MAX_CHUNK_BYTES);
    }

    /// The directory of the snapshot of `height`.
    fn height_dir(&self, height: u64) -> PathBuf {
        self.dir.join(height.to_string())
    }

    /// The complete snapshots held, newest first.
    pub fn list(&self) -> anyhow::Result<Vec<SnapshotInfo>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).with_context(|| format!("{}", self.dir.display()))? {
            let entry = entry?;
            // Unfinished snapshots end in ".partial" and do not parse.
            let Some(height) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            match fs::read(entry.path().join("metadata"))
                .map_err(anyhow::Error::from)
                .and_then(|m| Ok(SnapshotInfo::new(height, m)?))
            {
                Ok(info) => out.push(info),
                Err(e) => warn!(height, error = %e, "skipping an unreadable snapshot"),
            }
        }
        out.sort_by_key(|s| std::cmp::Reverse(s.height));
        Ok(out)
    }

    /// Chunk `chunk` of the snapshot of `height`; empty if there is none.
    pub fn load_chunk(&self, height: u64, format: u32, chunk: u32) -> Vec<u8> {
        if format != FORMAT {
            return Vec::new();
        }
        fs::read(self.height_dir(height).join(chunk.to_string())).unwrap_or_default()
    }

    /// Whether a snapshot is being written now.
    pub fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst)
    }

    /// Whether a snapshot is due after committing `height`.
    pub fn due(&self, height: u64) -> bool {
        self.interval > 0 && height % self.interval == 0
    }

    /// Writes the snapshot of `height` on a thread of its own, unless one is
    /// being written already.
    pub fn spawn_take(self: &Arc<Self>, storage: Storage, height: u64) {
        if self.busy.swap(true, Ordering::SeqCst) {
            warn!(
                height,
                "skipping a snapshot: the previous one is still being written"
            );
            return;
        }
        let store = self.clone();
        std::thread::spawn(move || {
            let result = store.take(&storage, height);
            store.busy.store(false, Ordering::SeqCst);
            match result {
                Ok(info) => info!(height, chunks = info.chunks, "snapshot written"),
                Err(e) => warn!(height, error = format!("{e:#}"), "snapshot failed"),
            }
        });
    }

    /// Writes the snapshot of `height` now, then drops old ones.
    pub fn take(&self, storage: &Storage, height: u64) -> anyhow::Result<SnapshotInfo> {
        let state = storage.snapshot(height)?;
        let partial = self.dir.join(format!("{height}.partial"));
        if partial.exists() {
            fs::remove_dir_all(&partial)?;
        }
        fs::create_dir_all(&partial)?;
        let mut metadata = Vec::new();
        let mut chunk = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        let flush = |chunk: &mut Vec<u8>, metadata: &mut Vec<u8>| -> anyhow::Result<()> {
            let index = metadata.len() / 32;
            if index >= MAX_CHUNKS as usize {
                bail!("the state needs more than {MAX_CHUNKS} chunks");
            }
            let mut f = fs::File::create(partial.join(index.to_string()))?;
            f.write_all(chunk)?;
            f.sync_all()?;
            metadata.extend_from_slice(&Sha256::digest(&chunk[..]));
            chunk.clear();
            Ok(())
        };
        loop {
            let page = state.prefix(&[], after.as_deref(), 4096)?;
            let Some((last, _)) = page.last() else { break };
            let last = last.clone();
            for (key, value) in &page {
                if key.len() > MAX_KEY_BYTES || 8 + key.len() + value.len() > MAX_CHUNK_BYTES {
                    bail!(
                        "an entry of {} bytes cannot go in a chunk",
                        key.len() + value.len()
                    );
                }
                if chunk.len() + 8 + key.len() + value.len() > MAX_CHUNK_BYTES {
                    flush(&mut chunk, &mut metadata)?;
                }
                encode_entry(&mut chunk, key, value)?;
                if chunk.len() >= self.chunk_target {
                    flush(&mut chunk, &mut metadata)?;
                }
            }
            after = Some(last);
        }
        if !chunk.is_empty() || metadata.is_empty() {
            if chunk.is_empty() {
                bail!("the state at height {height} is empty");
            }
            flush(&mut chunk, &mut metadata)?;
        }
        let info = SnapshotInfo::new(height, metadata)?;
        fs::write(partial.join("metadata"), &info.metadata)?;
        let done = self.height_dir(height);
        if done.exists() {
            fs::remove_dir_all(&done)?;
        }
        fs::rename(&partial, &done)?;
        for old in self.list()?.iter().skip(self.keep_recent) {
            fs::remove_dir_all(self.height_dir(old.height))
                .with_context(|| format!("removing the snapshot of height {}", old.height))?;
        }
        Ok(info)
    }
}

/// What CometBFT should do after an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Send the chunks.
    Accept,
    /// This snapshot cannot be used; try another.
    Reject,
    /// No snapshot of this format can be used.
    RejectFormat,
    /// State sync cannot run on this node (it has state already).
    Abort,
}

/// What CometBFT should do after a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The chunk was taken; `Some(height)` once the snapshot is restored.
    Accept(Option<u64>),
    /// The chunk failed its hash: fetch it again from another peer.
    Refetch,
    /// The snapshot is bad: try another.
    RejectSnapshot,
    /// State sync cannot go on.
    Abort,
}

/// A restore in progress.
#[derive(Debug)]
pub struct Restore {
    info: SnapshotInfo,
    trusted_root: Vec<u8>,
    next: u32,
    bad_chunks: u32,
    bytes: u64,
    entries: Entries,
}

impl Restore {
    /// Starts restoring `info`, whose state must have root `trusted_root`.
    pub fn new(info: SnapshotInfo, trusted_root: Vec<u8>) -> Result<Self, SnapshotError> {
        info.check()?;
        Ok(Restore {
            info,
            trusted_root,
            next: 0,
            bad_chunks: 0,
            bytes: 0,
            entries: Vec::new(),
        })
    }

    /// The snapshot being restored.
    pub fn info(&self) -> &SnapshotInfo {
        &self.info
    }

    /// Takes chunk `index`. When it was the last, returns the entries to
    /// write (not yet checked against the trusted root).
    pub fn apply(&mut self, index: u32, chunk: &[u8]) -> Result<Step, SnapshotError> {
        if index != self.next {
            return Err(SnapshotError::Chunk(format!(
                "chunk {index} arrived, {} expected",
                self.next
            )));
        }
        let expected = self.info.chunk_hash(index).ok_or(SnapshotError::Metadata)?;
        if Sha256::digest(chunk).as_slice() != expected {
            self.bad_chunks += 1;
            return Ok(if self.bad_chunks > MAX_BAD_CHUNKS {
                Step::GiveUp
            } else {
                Step::Refetch
            });
        }
        let after = self.entries.last().map(|(k, _)| k.as_slice());
        let entries = decode_chunk(chunk, after)?;
        self.bytes = self.bytes.saturating_add(chunk.len() as u64);
        if self.bytes > MAX_RESTORE_BYTES {
            return Err(SnapshotError::Chunk(format!(
                "the snapshot holds more than {MAX_RESTORE_BYTES} bytes"
            )));
        }
        self.entries.extend(entries);
        self.next += 1;
        if self.next < self.info.chunks {
            return Ok(Step::More);
        }
        Ok(Step::Done(std::mem::take(&mut self.entries)))
    }

    /// The app hash the restored state must have.
    pub fn trusted_root(&self) -> &[u8] {
        &self.trusted_root
    }
}

/// The outcome of [`Restore::apply`].
#[derive(Debug)]
pub enum Step {
    /// More chunks to come.
    More,
    /// The chunk failed its hash check; fetch it again.
    Refetch,
    /// Too many chunks failed their hash check.
    GiveUp,
    /// All chunks are in: the snapshot's entries.
    Done(Entries),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_of(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut c = Vec::new();
        for (k, v) in entries {
            encode_entry(&mut c, k, v).unwrap();
        }
        c
    }

    #[test]
    fn chunks_round_trip_and_keep_keys_ascending() {
        let c = chunk_of(&[(b"a", b"1"), (b"b", b""), (b"c", b"3")]);
        let e = decode_chunk(&c, None).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[1], (b"b".to_vec(), Vec::new()));
        assert!(decode_chunk(&c, Some(b"c")).is_err());
        assert!(decode_chunk(&chunk_of(&[(b"b", b"1"), (b"a", b"2")]), None).is_err());
        assert!(decode_chunk(&chunk_of(&[(b"a", b"1"), (b"a", b"2")]), None).is_err());
    }

    #[test]
    fn malformed_chunks_are_refused_before_copying() {
        let c = chunk_of(&[(b"key", b"value")]);
        for cut in 1..c.len() {
            assert!(decode_chunk(&c[..cut], None).is_err(), "cut at {cut}");
        }
        // A length claiming 4 GiB in a tiny chunk.
        let mut huge = vec![0, 0, 0, 1, b'k'];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        assert!(decode_chunk(&huge, None).is_err());
        assert!(decode_chunk(&[], None).is_err());
        assert!(decode_chunk(&[0, 0, 0, 0, 0, 0, 0, 0], None).is_err());
    }

    #[test]
    fn an_offer_must_agree_with_itself() {
        let info = SnapshotInfo::new(7, vec![3; 64]).unwrap();
        assert_eq!(info.chunks, 2);
        info.check().unwrap();
        let mut bad = info.clone();
        bad.hash[0] ^= 1;
        assert_eq!(bad.check(), Err(SnapshotError::Hash));
        let mut bad = info.clone();
        bad.chunks = 3;
        assert_eq!(bad.check(), Err(SnapshotError::Metadata));
        let mut bad = info.clone();
        bad.format = 2;
        assert_eq!(bad.check(), Err(SnapshotError::Format(2)));
        let mut bad = info.clone();
        bad.height = 8; // the hash covers the height
        assert_eq!(bad.check(), Err(SnapshotError::Hash));
        assert!(SnapshotInfo::new(7, vec![3; 33]).is_err());
        assert!(SnapshotInfo::new(7, Vec::new()).is_err());
    }
}
