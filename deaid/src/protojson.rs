//! The command line's JSON, from the protobuf definitions alone: query
//! answers are rendered as the REST gateway renders them
//! ([`deai_proto::to_lcd_json`] of the method's response message), and the
//! messages of a proposal file are read as the proto3 JSON of the message
//! their `@type` names, with no code per message type.

use anyhow::{anyhow, bail, Context};
use cosmos_sdk_proto::Any;
use deai_client::NodeClient;
use prost::Message;
use prost_reflect::{DynamicMessage, Kind, MessageDescriptor};
use serde_json::Value;

use crate::print_out;

/// The response message of gRPC method `path` (`/package.Service/Method`).
fn response_descriptor(path: &str) -> anyhow::Result<MessageDescriptor> {
    let (service, method) = path
        .trim_start_matches('/')
        .split_once('/')
        .ok_or_else(|| anyhow!("{path:?} is not a gRPC method path"))?;
    deai_proto::descriptor_pool()
        .get_service_by_name(service)
        .and_then(|s| s.methods().find(|m| m.name() == method))
        .map(|m| m.output())
        .ok_or_else(|| anyhow!("no method {path} in the chain's protobuf definitions"))
}

/// The REST gateway's JSON for `bytes`, an answer of gRPC method `path`.
pub fn response_json(path: &str, bytes: &[u8]) -> anyhow::Result<Value> {
    let msg = DynamicMessage::decode(response_descriptor(path)?, bytes)
        .with_context(|| format!("decoding the answer to {path}"))?;
    deai_proto::to_lcd_json(&msg).with_context(|| format!("rendering the answer to {path}"))
}

/// `any` as the SDK writes it: `"@type"` beside the fields of the message
/// it carries, in proto JSON.
pub fn any_json(any: &Any) -> anyhow::Result<Value> {
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name("google.protobuf.Any")
        .ok_or_else(|| anyhow!("google.protobuf.Any is not in the descriptor pool"))?;
    let msg = DynamicMessage::decode(desc, any.encode_to_vec().as_slice())?;
    // serde_json's map is ordered by key, and "@" sorts before every proto
    // field name (which starts with a letter), so "@type" comes first.
    deai_proto::to_lcd_json(&msg).with_context(|| format!("rendering a {}", any.type_url))
}

/// A signed transaction (`TxRaw` bytes) as the SDK's JSON of a
/// `cosmos.tx.v1beta1.Tx`, as genesis transactions are written.
pub fn tx_json(bytes: &[u8]) -> anyhow::Result<Value> {
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{AuthInfo, Tx, TxBody, TxRaw};
    let raw = TxRaw::decode(bytes).context("decoding the signed transaction")?;
    let tx = Tx {
        body: Some(TxBody::decode(raw.body_bytes.as_slice())?),
        auth_info: Some(AuthInfo::decode(raw.auth_info_bytes.as_slice())?),
        signatures: raw.signatures,
    };
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name("cosmos.tx.v1beta1.Tx")
        .ok_or_else(|| anyhow!("cosmos.tx.v1beta1.Tx is not in the descriptor pool"))?;
    let msg = DynamicMessage::decode(desc, tx.encode_to_vec().as_slice())?;
    deai_proto::to_lcd_json(&msg).context("rendering the transaction")
}

/// A query's typed answer, with its bytes kept for the JSON output.
pub struct Answer<T> {
    /// The decoded response.
    pub msg: T,
    path: String,
    bytes: Vec<u8>,
}

impl<T> Answer<T> {
    /// Prints the answer: with `--output json` the response message in the
    /// REST gateway's JSON, with `--output text` the given `text`.
    pub fn print(&self, output: &str, text: &str) -> anyhow::Result<()> {
        let json = if output == "json" {
            response_json(&self.path, &self.bytes)?
        } else {
            Value::Null
        };
        print_out(output, &json, text)
    }
}

/// Asks the node gRPC method `path` with `req` (an ABCI query) and decodes
/// its answer.
pub async fn ask<Req: Message, Resp: Message + Default>(
    client: &NodeClient,
    path: &str,
    req: &Req,
) -> anyhow::Result<Answer<Resp>> {
    let bytes = client.query(path, req.encode_to_vec()).await?;
    let msg =
        Resp::decode(bytes.as_slice()).with_context(|| format!("decoding the answer to {path}"))?;
    Ok(Answer {
        msg,
        path: path.to_string(),
        bytes,
    })
}

/// Reads `messages[index]` of a proposal file: the proto JSON of the message
/// its `"@type"` names (`/full.Name`), as the Cosmos SDK's `submit-proposal`
/// takes it, into an `Any`. Unknown fields are refused. A message with an
/// `authority` field the file leaves out acts for governance: the field is
/// set to the governance account. Which messages a proposal may carry is the
/// chain's to check.
pub fn message_from_json(v: &Value, index: usize) -> anyhow::Result<Any> {
    let ctx = format!("messages[{index}]");
    let Value::Object(fields) = v else {
        bail!("{ctx} must be a JSON object with an \"@type\"");
    };
    let mut fields = fields.clone();
    let type_url = match fields.remove("@type") {
        Some(Value::String(t)) => t,
        Some(_) => bail!("{ctx}: \"@type\" must be a string"),
        None => bail!("{ctx} has no \"@type\", e.g. \"/deai.treasury.v1.MsgSpend\""),
    };
    let name = type_url.strip_prefix('/').ok_or_else(|| {
        anyhow!("{ctx}: \"@type\" {type_url:?} must be \"/\" and a message's full name, e.g. \"/deai.treasury.v1.MsgSpend\"")
    })?;
    let desc = deai_proto::descriptor_pool()
        .get_message_by_name(name)
        .ok_or_else(|| {
            anyhow!("{ctx}: unknown message type {type_url:?} (not in the chain's protobuf definitions)")
        })?;
    let authority = desc
        .get_field_by_name("authority")
        .filter(|f| matches!(f.kind(), Kind::String) && !f.is_list())
        .filter(|f| !fields.contains_key(f.name()) && !fields.contains_key(f.json_name()));
    // Decimals (`cosmos.Dec` fields) are written as the SDK writes them,
    // "0.05"; the message holds their 10^-18 units.
    let mut fields = Value::Object(fields);
    deai_proto::decimals_to_atomics(&mut fields, &desc);
    let mut track = serde_path_to_error::Track::new();
    let de = serde_path_to_error::Deserializer::new(fields, &mut track);
    let mut msg = DynamicMessage::deserialize(desc, de).map_err(|e| {
        let at = match track.path().to_string() {
            p if p == "." => String::new(),
            p => format!(".{p}"),
        };
        anyhow!("{ctx}{at} ({type_url}): {e}")
    })?;
    if let Some(field) = authority {
        msg.set_field(
            &field,
            prost_reflect::Value::String(deai_gov::authority().to_bech32()),
        );
    }
    Ok(Any {
        type_url,
        value: msg.encode_to_vec(),
    })
}
