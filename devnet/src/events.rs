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

/// A block as CometBFT writes it: as tendermint-rs does, but with `[]` for
/// an empty tx list and an empty evidence list, where tendermint-rs writes
/// `null`, and the first block's missing last commit filled in
/// ([`zero_block_ids`]).
pub fn block_json(block: &tendermint::Block) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(block)?;
    for pointer in ["/data/txs", "/evidence/evidence"] {
        if let Some(field) = v.pointer_mut(pointer) {
            if field.is_null() {
                *field = Value::Array(Vec::new());
            }
        }
    }
    zero_block_ids(&mut v);
    Ok(v)
}

/// A `FinalizeBlock` response as CometBFT's event bus writes it inside a
/// `NewBlock` event: Go's `omitempty` drops empty events, tx results,
/// consensus param updates and app hash; validator updates stay (`null`
/// when none); each tx result is written whole.
fn finalize_json(r: &pb::ResponseFinalizeBlock) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    if !r.events.is_empty() {
        let events = r
            .events
            .iter()
            .map(|e| abci::Event::try_from(e.clone()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.insert("events".into(), serde_json::to_value(events)?);
    }
    if !r.tx_results.is_empty() {
        let results = r
            .tx_results
            .iter()
            .map(|t| abci::types::ExecTxResult::try_from(t.clone()).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        out.insert("tx_results".into(), serde_json::to_value(results)?);
    }
    let updates = r
        .validator_updates
        .iter()
        .map(|u| tendermint::validator::Update::try_from(u.clone()).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    out.insert(
        "validator_updates".into(),
        if updates.is_empty() {
            Value::Null
        } else {
            serde_json::to_value(updates)?
        },
    );
    if !r.app_hash.is_empty() {
        out.insert("app_hash".into(), Value::String(B64.encode(&r.app_hash)));
    }
    Ok(Value::Object(out))
}

/// A tx result as CometBFT's event bus writes it inside a `Tx` event: Go's
/// `omitempty` drops every zero field (a success has no `code`).
fn tx_result_json(r: &pb::ExecTxResult) -> anyhow::Result<Value> {
    let full = serde_json::to_value(
        abci::types::ExecTxResult::try_from(r.clone()).map_err(anyhow::Error::msg)?,
    )?;
    let Value::Object(fields) = full else {
        anyhow::bail!("a tx result is not a JSON object");
    };
    let zero = |k: &str, v: &Value| match v {
        Value::Null => true,
        Value::Number(n) => n.as_u64() == Some(0),
        // The gas amounts are int64s, which Go writes as strings.
        Value::String(s) => s.is_empty() || (k.starts_with("gas_") && s == "0"),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    Ok(Value::Object(
        fields.into_iter().filter(|(k, v)| !zero(k, v)).collect(),
    ))
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
    let block_event_list = if finalize.events.is_empty() {
        Value::Null
    } else {
        serde_json::to_value(&finalize.events)?
    };
    let mut block_events = EventMap::new();
    flatten(&mut block_events, &b.results.events);

    let mut out = vec![
        FiredEvent {
            kind: "NewBlock",
            data: tagged(
                "NewBlock",
                json!({
                    "block": block_json(&b.block)?,
                    "block_id": serde_json::to_value(b.commit.block_id)?,
                    "result_finalize_block": finalize_json(&b.results)?,
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
                    "events": block_event_list,
                    "num_txs": b.block.data.len().to_string(),
                }),
            ),
            events: with_kind(block_events, "NewBlockEvents"),
        },
    ];
    for (i, (tx, result)) in b.block.data.iter().zip(&b.results.tx_results).enumerate() {
        // Go's `omitempty` drops the index of a block's first tx.
        let mut tx_result = json!({
            "height": height.to_string(),
            "tx": B64.encode(tx),
            "result": tx_result_json(result).context("decoding a stored tx result")?,
        });
        if i > 0 {
            tx_result["index"] = json!(i);
        }
        out.push(FiredEvent {
            kind: "Tx",
            data: tagged("Tx", json!({ "TxResult": tx_result })),
            events: with_kind(tx_event_map(result, tx, height), "Tx"),
        });
    }
    Ok(out)
}
