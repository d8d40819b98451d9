//! The events a committed block fires, in CometBFT v0.38's shape: what
//! websocket subscribers receive (`NewBlock`, `NewBlockHeader`,
//! `NewBlockEvents`, one `Tx` per transaction) and the composite-key map
//! (`transfer.recipient` → values) that queries match and the tx and block
//! indexes store.

use std::collections::BTreeMap;

use anyhow::Context;
use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::{json, Value};
use tendermint::abci;
use tendermint_proto::v0_38::abci as pb;

use crate::StoredBlock;

/// Composite event keys (`type.attribute`) to their values, in emission order.
pub type EventMap = BTreeMap<String, Vec<String>>;

/// One event fired by a block.
#[derive(Debug, Clone, PartialEq)]
pub struct FiredEvent {
    /// The value of `tm.event`: `NewBlock`, `NewBlockHeader`, `NewBlockEvents` or `Tx`.
    pub kind: &'static str,
    /// `{"type": "tendermint/event/…", "value": …}`, as CometBFT's `data`.
    pub data: Value,
    /// The composite-key map queries are matched against.
    pub events: EventMap,
}

/// Adds the attributes of `events` to `map` under `type.key`.
pub fn flatten(map: &mut EventMap, events: &[pb::Event]) {
    for e in events {
        if e.r#type.is_empty() {
            continue;
        }
        for a in &e.attributes {
            if a.key.is_empty() {
                continue;
            }
            map.entry(format!("{}.{}", e.r#type, a.key))
                .or_default()
                .push(a.value.clone());
        }
    }
}

/// The map a tx's queries see: its result events plus CometBFT's reserved
/// `tx.hash` (upper-case hex) and `tx.height`.
pub fn tx_event_map(result: &pb::ExecTxResult, tx: &[u8], height: u64) -> EventMap {
    let mut map = EventMap::new();
    flatten(&mut map, &result.events);
    map.insert(
        "tx.hash".into(),
        vec![hex::encode_upper(deai_app::tx::tx_hash(tx))],
    );
    map.insert("tx.height".into(), vec![height.to_string()]);
    map
}

/// The map a block's queries see (`block_search`): its FinalizeBlock
/// events plus CometBFT's reserved `block.height`.
pub fn block_event_map(b: &StoredBlock) -> EventMap {
    let mut map = EventMap::new();
    flatten(&mut map, &b.results.events);
    map.insert(
        "block.height".into(),
        vec![b.block.header.height.value().to_string()],
    );
    map
}

fn tagged(kind: &str, mut value: Value) -> Value {
    zero_block_ids(&mut value);
    json!({"type": format!("tendermint/event/{kind}"), "value": value})
}

/// Writes the first block's absent `last_block_id` and `last_commit` as
/// CometBFT does, as an empty block id and an empty commit, where
/// tendermint-rs writes `null` — which CosmJS's decoders cannot read.
pub fn zero_block_ids(v: &mut Value) {
    let empty_id = || json!({"hash": "", "parts": {"total": 0, "hash": ""}});
    match v {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if key == "last_block_id" && field.is_null() {
                    *field = empty_id();
                } else if key == "last_commit" && field.is_null() {
                    *field = json!({
                        "height": "0",
                        "round": 0,
                        "block_id": empty_id(),
                        "signatures": [],
                    });
                } else {
                    zero_block_ids(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(zero_block_ids),
        _ => {}
    }
}

fn with_kind(mut map: EventMap, kind: &str) -> EventMap {
    map.insert("tm.event".into(), vec![kind.to_string()]);
    map
}

/// Every event `b` fires, in CometBFT's order: NewBlock, NewBlockHeader,
/// NewBlockEvents, then one Tx per transaction in block order.
pub fn fired(b: &StoredBlock) -> anyhow::Result<Vec<FiredEvent>> {
    let height = b.block.header.height.value();
    let finalize = abci::response::FinalizeBlock::try_from(b.results.clone())
        .context("decoding a stored FinalizeBlock response")?;
    let mut block_events = EventMap::new();
    flatten(&mut block_events, &b.results.events);

    let mut out = vec![
        FiredEvent {
            kind: "NewBlock",
            data: tagged(
                "NewBlock",
                json!({
                    "block": serde_json::to_value(&b.block)?,
                    "block_id": serde_json::to_value(b.commit.block_id)?,
                    "result_finalize_block": serde_json::to_value(&finalize)?,
                }),
            ),
            events: with_kind(block_events.clone(), "NewBlock"),
        },
        FiredEvent {
            kind: "NewBlockHeader",
            data: tagged(
                "NewBlockHeader",
                json!({"header": serde_json::to_value(&b.block.header)?}),
            ),
            events: with_kind(EventMap::new(), "NewBlockHeader"),
        },
        FiredEvent {
            kind: "NewBlockEvents",
            data: tagged(
                "NewBlockEvents",
                json!({
                    "height": height.to_string(),
                    "events": serde_json::to_value(&finalize.events)?,
                    "num_txs": b.block.data.len().to_string(),
                }),
            ),
            events: with_kind(block_events, "NewBlockEvents"),
        },
    ];
    for (i, (tx, result)) in b.block.data.iter().zip(&b.results.tx_results).enumerate() {
        let exec = abci::types::ExecTxResult::try_from(result.clone())
            .context("decoding a stored tx result")?;
        out.push(FiredEvent {
            kind: "Tx",
            data: tagged(
                "Tx",
                json!({"TxResult": {
                    "height": height.to_string(),
                    "index": i,
                    "tx": B64.encode(tx),
                    "result": serde_json::to_value(&exec)?,
                }}),
            ),
            events: with_kind(tx_event_map(result, tx, height), "Tx"),
        });
    }
    Ok(out)
}
