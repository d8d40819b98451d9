//! Exported state: every key and value the modules hold at one committed
//! height, in the `exported` field of `app_state`, so that a new chain
//! started from that genesis (`deaid export`, then `deaid init` or
//! CometBFT's InitChain) holds exactly the same module state.
//!
//! The entries are the store's own bytes (keys in hex, values in base64),
//! not each module's typed genesis form: that form covers what a chain
//! starts with (parameters, balances, models, providers), while a running
//! chain also holds proposals, votes, jobs, commitments, streams, queues
//! and their cursors, and copying the bytes carries all of them without a
//! second encoding per record that could drift from the first. What the
//! modules check of a hand-written section, they check of exported state
//! through [`deai_types::GenesisHandler::check_state`] (the bank's supply
//! equals its balances, and so on).
//!
//! The app's own key (`app/chain_info`: chain id, initial height,
//! validators) is not exported: InitChain writes it from the new genesis
//! document, whose initial height follows the exported one.
//!
//! A new chain has no earlier heights, yet pending work may read them (an
//! open vote's tally reads voting power at its start height). Each module
//! names what it will read ([`deai_types::GenesisHandler::history_needed`]);
//! the export carries those parts of those heights in `history`, and the
//! app serves them as the state of those heights.

use std::collections::{BTreeMap, BTreeSet};

use deai_types::{Entries, Module, StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::GenesisError;

/// The `app_state` field that holds exported state.
pub const EXPORTED_KEY: &str = "exported";

/// Keys the app itself owns; InitChain writes them from the genesis document.
const APP_PREFIX: &[u8] = b"app/";

/// Entries read from the store per page while exporting.
const PAGE: usize = 1024;

/// Longest key an entry may have (the store's keys are far shorter).
const MAX_KEY_BYTES: usize = 1024;

/// The module state of one committed height.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedState {
    /// The height it was read at, as a decimal string.
    pub height: String,
    /// The app hash of that height, hex (for the operator's reference: the
    /// new chain's hash differs, its `app/chain_info` names a new initial height).
    pub app_hash: String,
    /// Every module entry, in ascending key order.
    pub entries: Vec<ExportedEntry>,
    /// The parts of earlier heights that pending work will still read
    /// ([`deai_types::GenesisHandler::history_needed`]), ascending by height.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<ExportedHistory>,
}

/// One key and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedEntry {
    /// The key, hex.
    pub key: String,
    /// The value, base64.
    pub value: String,
}

/// Part of the state of an earlier height.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedHistory {
    /// The height, as a decimal string.
    pub height: String,
    /// The key prefixes exported (hex): reads outside them are refused.
    pub prefixes: Vec<String>,
    /// Every entry under those prefixes at that height, in ascending key order.
    pub entries: Vec<ExportedEntry>,
}

/// Decoded [`ExportedHistory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPart {
    /// The height.
    pub height: u64,
    /// The key prefixes it holds.
    pub prefixes: Vec<Vec<u8>>,
    /// Its entries.
    pub entries: Entries,
}

/// The state committed at an earlier height, or why it cannot be read.
pub type HistoryReader<'a> = dyn Fn(u64) -> Result<Box<dyn StateRead + 'a>, String> + 'a;

impl ExportedState {
    /// Reads every module entry of `state` (committed at `height`, with root
    /// `app_hash`). A key outside every module of `modules` and outside the
    /// app's own is an error: it would be lost.
    ///
    /// Each module names the parts of earlier heights its pending work will
    /// read; they are read through `history` and exported beside the state.
    pub fn read(
        modules: &[&dyn Module],
        state: &dyn StateRead,
        height: u64,
        app_hash: &[u8],
        history: &HistoryReader<'_>,
    ) -> Result<Self, GenesisError> {
        let entries = scan(modules, state, b"")?;
        let mut needed = BTreeMap::<u64, BTreeSet<Vec<u8>>>::new();
        // Voting power read at a past height leaves out what modules hold
        // for people elsewhere, so those amounts travel with every height.
        let held_elsewhere: Vec<Vec<u8>> = modules
            .iter()
            .flat_map(|m| m.held_elsewhere())
            .map(|h| h.prefix.to_vec())
            .collect();
        for m in modules {
            let needs = m
                .history_needed(state)
                .map_err(|reason| GenesisError::Section {
                    key: m.genesis_key().unwrap_or(m.name()),
                    reason,
                })?;
            for need in needs {
                // The exported height itself counts: the new chain has no
                // version of it either.
                if need.height > height {
                    return Err(GenesisError::Invalid(format!(
                        "module {} needs the state of height {}, past the exported height {height}",
                        m.name(),
                        need.height
                    )));
                }
                needed
                    .entry(need.height)
                    .or_default()
                    .extend(need.prefixes.into_iter().chain(held_elsewhere.clone()));
            }
        }
        let mut parts = Vec::with_capacity(needed.len());
        for (h, prefixes) in needed {
            let past = history(h).map_err(|e| {
                GenesisError::Invalid(format!(
                    "pending work reads the state of height {h}, which cannot be read: {e}"
                ))
            })?;
            // A prefix inside another adds nothing.
            let prefixes: Vec<Vec<u8>> = prefixes
                .iter()
                .filter(|p| !prefixes.iter().any(|q| q != *p && p.starts_with(q)))
                .cloned()
                .collect();
            let mut entries = Vec::new();
            for p in &prefixes {
                owner(modules, p).map_err(GenesisError::Invalid)?;
                entries.extend(scan(modules, &*past, p)?);
            }
            parts.push(ExportedHistory {
                height: h.to_string(),
                prefixes: prefixes.iter().map(hex::encode).collect(),
                entries,
            });
        }
        Ok(ExportedState {
            height: height.to_string(),
            app_hash: hex::encode(app_hash),
            entries,
            history: parts,
        })
    }

    /// The exported height.
    pub fn height(&self) -> Result<u64, GenesisError> {
        self.height.parse::<u64>().map_err(|_| {
            GenesisError::Invalid(format!(
                "exported.height {:?} is not a non-negative integer",
                self.height
            ))
        })
    }

    /// The decoded entries: each key hex, each value base64, keys strictly
    /// ascending (so none twice) and each owned by a module of `modules`.
    /// Checks the history too.
    pub fn decode(&self, modules: &[&dyn Module]) -> Result<Entries, GenesisError> {
        self.height()?;
        self.decode_history(modules)?;
        decode_entries(modules, &self.entries, "exported.entries")
    }

    /// The decoded history: heights strictly ascending and at most the
    /// exported height, prefixes owned by modules, each entry under one of
    /// its part's prefixes.
    pub fn decode_history(
        &self,
        modules: &[&dyn Module],
    ) -> Result<Vec<HistoryPart>, GenesisError> {
        let height = self.height()?;
        let mut out: Vec<HistoryPart> = Vec::with_capacity(self.history.len());
        for (i, part) in self.history.iter().enumerate() {
            let at = format!("exported.history[{i}]");
            let bad = |what: String| GenesisError::Invalid(format!("{at}: {what}"));
            let h: u64 = part.height.parse().map_err(|_| {
                bad(format!(
                    "height {:?} is not a non-negative integer",
                    part.height
                ))
            })?;
            if h > height || out.last().is_some_and(|p| p.height >= h) {
                return Err(bad(format!(
                    "height {h}: heights must ascend and not pass the exported height {height}"
                )));
            }
            let prefixes = part
                .prefixes
                .iter()
                .map(|p| {
                    let p = hex::decode(p).map_err(|e| bad(format!("prefix is not hex: {e}")))?;
                    owner(modules, &p).map_err(bad)?;
                    Ok(p)
                })
                .collect::<Result<Vec<_>, GenesisError>>()?;
            let entries = decode_entries(modules, &part.entries, &format!("{at}.entries"))?;
            if let Some((k, _)) = entries
                .iter()
                .find(|(k, _)| !prefixes.iter().any(|p| k.starts_with(p)))
            {
                return Err(bad(format!(
                    "key {} is under none of its prefixes",
                    shown_key(k)
                )));
            }
            out.push(HistoryPart {
                height: h,
                prefixes,
                entries,
            });
        }
        Ok(out)
    }

    /// Writes the entries into `state`, then has every module check what it
    /// now holds. (The history is the app's to keep: see [`HistoryPart`].)
    pub fn init(
        &self,
        modules: &[&dyn Module],
        state: &mut dyn StateWrite,
    ) -> Result<(), GenesisError> {
        for (key, value) in self.decode(modules)? {
            state
                .put_raw(key, value)
                .map_err(|e| GenesisError::Invalid(format!("writing exported state: {e}")))?;
        }
        for m in modules {
            m.check_state(&*state)
                .map_err(|reason| GenesisError::Section {
                    key: m.genesis_key().unwrap_or(m.name()),
                    reason,
                })?;
        }
        Ok(())
    }
}

/// Every entry of `state` under `prefix` but the app's own, each owned by a module.
fn scan(
    modules: &[&dyn Module],
    state: &dyn StateRead,
    prefix: &[u8],
) -> Result<Vec<ExportedEntry>, GenesisError> {
    let mut entries = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = state
            .prefix_raw(prefix, after.as_deref(), PAGE)
            .map_err(|e| GenesisError::Invalid(format!("reading state: {e}")))?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (key, value) in page {
            if key.starts_with(APP_PREFIX) {
                continue;
            }
            owner(modules, &key).map_err(GenesisError::Invalid)?;
            entries.push(ExportedEntry {
                key: hex::encode(&key),
                value: base64_encode(&value),
            });
        }
    }
    Ok(entries)
}

/// Decodes entries: each key hex, each value base64, keys strictly
/// ascending (so none twice) and each owned by a module of `modules`.
fn decode_entries(
    modules: &[&dyn Module],
    entries: &[ExportedEntry],
    at: &str,
) -> Result<Entries, GenesisError> {
    let mut out: Entries = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let bad = |what: String| GenesisError::Invalid(format!("{at}[{i}]: {what}"));
        if e.key.len() > 2 * MAX_KEY_BYTES {
            return Err(bad(format!("key longer than {MAX_KEY_BYTES} bytes")));
        }
        let key = hex::decode(&e.key).map_err(|err| bad(format!("key is not hex: {err}")))?;
        let value = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &e.value)
            .map_err(|err| bad(format!("value is not base64: {err}")))?;
        if key.starts_with(APP_PREFIX) {
            return Err(bad(
                "keys under app/ come from the genesis document, not from exported state".into(),
            ));
        }
        owner(modules, &key).map_err(bad)?;
        if out.last().is_some_and(|(prev, _)| *prev >= key) {
            return Err(bad("keys must be in strictly ascending order".into()));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// The module whose keys start with `<name>/` (or one of its
/// [`Module::other_key_prefixes`]) and hold `key`.
fn owner<'m>(modules: &[&'m dyn Module], key: &[u8]) -> Result<&'m dyn Module, String> {
    modules
        .iter()
        .find(|m| {
            key.strip_prefix(m.name().as_bytes())
                .is_some_and(|rest| rest.starts_with(b"/"))
                || m.other_key_prefixes()
                    .iter()
                    .any(|p| key.starts_with(p.as_bytes()))
        })
        .copied()
        .ok_or_else(|| format!("state key {} belongs to no module", shown_key(key)))
}

/// A key for an error message: its printable start, then `\x..` escapes.
fn shown_key(key: &[u8]) -> String {
    let text: String = key
        .iter()
        .take(64)
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect();
    if key.len() > 64 {
        format!("{text}…")
    } else {
        text
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}
