//! The RPC's methods and their typed arguments, converted from a JSON-RPC
//! `params` (an object or an array) or from a URI query as CometBFT v0.38's
//! `rpc/jsonrpc/server` converts them, with its messages:
//!
//! - in JSON, integers are strings (`"5"`; the number `5` is refused, as Go's
//!   `cmtjson` refuses it), booleans are `true`/`false`, `[]byte` arguments
//!   are base64 and `HexBytes` ones hex;
//! - in a URI, an integer is bare (`height=5`) or quoted, a string is quoted
//!   (`query="tx.height>5"`) or `0x`-hex, bytes are `0x`-hex or a quoted
//!   string's bytes; anything else must be the argument's JSON;
//! - an array of parameters must hold exactly one per argument.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

/// How an argument is typed (its Go type in CometBFT's `rpc/core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgType {
    /// `int64`: 0 when absent.
    I64,
    /// `*int64`: absent stays absent.
    I64Opt,
    /// `*int`: absent stays absent.
    IntOpt,
    /// `uint`.
    Uint,
    /// `bool`.
    Bool,
    /// `string`.
    Str,
    /// `[]byte` (base64 in JSON).
    Bytes,
    /// `bytes.HexBytes` (hex in JSON).
    HexBytes,
}

impl ArgType {
    /// The Go type's name, as Go's messages print it.
    fn go_name(self) -> &'static str {
        match self {
            ArgType::I64 | ArgType::I64Opt => "int64",
            ArgType::IntOpt => "int",
            ArgType::Uint => "uint",
            ArgType::Bool => "bool",
            ArgType::Str => "string",
            ArgType::Bytes | ArgType::HexBytes => "[]uint8",
        }
    }

    fn is_int(self) -> bool {
        matches!(
            self,
            ArgType::I64 | ArgType::I64Opt | ArgType::IntOpt | ArgType::Uint
        )
    }

    fn is_bytes(self) -> bool {
        matches!(self, ArgType::Bytes | ArgType::HexBytes)
    }
}

/// One RPC method: its arguments in CometBFT's order, and whether only the
/// websocket serves it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route {
    /// The method's name.
    pub name: &'static str,
    /// Its arguments.
    pub args: &'static [(&'static str, ArgType)],
    /// Whether only the websocket serves it (`subscribe` and the like).
    pub ws_only: bool,
}

use ArgType::*;

/// Every method the devnet serves, as CometBFT's `rpc/core/routes.go` lists them.
pub(crate) const ROUTES: &[Route] = &[
    route("subscribe", &[("query", Str)], true),
    route("unsubscribe", &[("query", Str)], true),
    route("unsubscribe_all", &[], true),
    route("health", &[], false),
    route("status", &[], false),
    route("net_info", &[], false),
    route(
        "blockchain",
        &[("minHeight", I64), ("maxHeight", I64)],
        false,
    ),
    route("genesis", &[], false),
    route("genesis_chunked", &[("chunk", Uint)], false),
    route("block", &[("height", I64Opt)], false),
    route("block_by_hash", &[("hash", Bytes)], false),
    route("block_results", &[("height", I64Opt)], false),
    route("commit", &[("height", I64Opt)], false),
    route("header", &[("height", I64Opt)], false),
    route("header_by_hash", &[("hash", HexBytes)], false),
    route("check_tx", &[("tx", Bytes)], false),
    route("tx", &[("hash", Bytes), ("prove", Bool)], false),
    route(
        "tx_search",
        &[
            ("query", Str),
            ("prove", Bool),
            ("page", IntOpt),
            ("per_page", IntOpt),
            ("order_by", Str),
        ],
        false,
    ),
    route(
        "block_search",
        &[
            ("query", Str),
            ("page", IntOpt),
            ("per_page", IntOpt),
            ("order_by", Str),
        ],
        false,
    ),
    route(
        "validators",
        &[("height", I64Opt), ("page", IntOpt), ("per_page", IntOpt)],
        false,
    ),
    route("consensus_params", &[("height", I64Opt)], false),
    route("unconfirmed_txs", &[("limit", IntOpt)], false),
    route("num_unconfirmed_txs", &[], false),
    route("broadcast_tx_commit", &[("tx", Bytes)], false),
    route("broadcast_tx_sync", &[("tx", Bytes)], false),
    route("broadcast_tx_async", &[("tx", Bytes)], false),
    route(
        "abci_query",
        &[
            ("path", Str),
            ("data", HexBytes),
            ("height", I64),
            ("prove", Bool),
        ],
        false,
    ),
    route("abci_info", &[], false),
];

const fn route(
    name: &'static str,
    args: &'static [(&'static str, ArgType)],
    ws_only: bool,
) -> Route {
    Route {
        name,
        args,
        ws_only,
    }
}

/// The route of `method`, if the devnet serves it.
pub(crate) fn route_of(method: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.name == method)
}

/// A converted argument.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ArgValue {
    Int(i64),
    Uint(u64),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
}

/// A method's converted arguments; absent ones read as Go's zero values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Args {
    values: BTreeMap<&'static str, ArgValue>,
}

/// Why arguments did not convert: the text after CometBFT's
/// `error converting … params to arguments: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ArgError(pub String);

impl Args {
    /// An integer argument, if given (`*int64`, `*int`).
    pub(crate) fn opt_int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(ArgValue::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// An `int64` argument (0 when absent).
    pub(crate) fn int(&self, name: &str) -> i64 {
        self.opt_int(name).unwrap_or(0)
    }

    /// A `uint` argument (0 when absent).
    pub(crate) fn uint(&self, name: &str) -> u64 {
        match self.values.get(name) {
            Some(ArgValue::Uint(n)) => *n,
            _ => 0,
        }
    }

    /// A `bool` argument (false when absent).
    pub(crate) fn bool(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(ArgValue::Bool(true)))
    }

    /// A `string` argument ("" when absent).
    pub(crate) fn string(&self, name: &str) -> String {
        match self.values.get(name) {
            Some(ArgValue::Str(s)) => s.clone(),
            _ => String::new(),
        }
    }

    /// A byte argument (empty when absent).
    pub(crate) fn bytes(&self, name: &str) -> Vec<u8> {
        match self.values.get(name) {
            Some(ArgValue::Bytes(b)) => b.clone(),
            _ => Vec::new(),
        }
    }

    /// The arguments of a JSON-RPC request's `params`: an object by name
    /// (missing or null ones absent), or an array of exactly one per argument.
    pub(crate) fn from_json(route: &Route, params: &Value) -> Result<Args, ArgError> {
        let mut args = Args::default();
        match params {
            Value::Null => {}
            Value::Object(map) => {
                for (name, ty) in route.args {
                    if let Some(v) = map.get(*name).filter(|v| !v.is_null()) {
                        args.values.insert(name, from_json_value(*ty, v)?);
                    }
                }
            }
            Value::Array(list) => {
                if list.len() != route.args.len() {
                    let names: Vec<&str> = route.args.iter().map(|(n, _)| *n).collect();
                    return Err(ArgError(format!(
                        "expected {} parameters ([{}]), got {} ({})",
                        route.args.len(),
                        names.join(" "),
                        list.len(),
                        go_raw_messages(list)
                    )));
                }
                for ((name, ty), v) in route.args.iter().zip(list) {
                    if !v.is_null() {
                        args.values.insert(name, from_json_value(*ty, v)?);
                    }
                }
            }
            other => {
                return Err(ArgError(format!(
                    "unknown type for JSON params: json: cannot unmarshal {} into Go value of type []json.RawMessage. Expected map or array",
                    json_kind(other)
                )))
            }
        }
        Ok(args)
    }

    /// The arguments of a URI request, from its decoded query parameters
    /// (the first value of each name counts; an empty one is absent).
    pub(crate) fn from_uri(route: &Route, query: &[(String, String)]) -> Result<Args, ArgError> {
        let mut args = Args::default();
        for (name, ty) in route.args {
            let Some((_, raw)) = query.iter().find(|(k, _)| k == name) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            args.values.insert(name, from_uri_value(*ty, raw)?);
        }
        Ok(args)
    }
}

/// Go prints a `[]json.RawMessage` as the bytes of each message.
fn go_raw_messages(list: &[Value]) -> String {
    let each: Vec<String> = list
        .iter()
        .map(|v| {
            let bytes: Vec<String> = v.to_string().bytes().map(|b| b.to_string()).collect();
            format!("[{}]", bytes.join(" "))
        })
        .collect();
    format!("[{}]", each.join(" "))
}

/// The JSON kind Go's "cannot unmarshal" messages name.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn cannot_unmarshal(v: &Value, ty: ArgType) -> ArgError {
    ArgError(format!(
        "json: cannot unmarshal {} into Go value of type {}",
        json_kind(v),
        ty.go_name()
    ))
}

/// An integer in a JSON string as `cmtjson` reads one: the string's content
/// must itself be a JSON integer in range.
fn int_from_text(ty: ArgType, text: &str) -> Result<ArgValue, ArgError> {
    let v = go_json(text)?;
    let Value::Number(n) = &v else {
        return Err(cannot_unmarshal(&v, ty));
    };
    let out_of_range = || {
        ArgError(format!(
            "json: cannot unmarshal number {text} into Go value of type {}",
            ty.go_name()
        ))
    };
    if ty == ArgType::Uint {
        return n.as_u64().map(ArgValue::Uint).ok_or_else(out_of_range);
    }
    n.as_i64().map(ArgValue::Int).ok_or_else(out_of_range)
}

/// One argument from its JSON-RPC value.
fn from_json_value(ty: ArgType, v: &Value) -> Result<ArgValue, ArgError> {
    match ty {
        I64 | I64Opt | IntOpt | Uint => match v {
            Value::String(s) => int_from_text(ty, s),
            Value::Number(n) => Err(ArgError(format!(
                "invalid 64-bit integer encoding \"{n}\", expected string"
            ))),
            other => Err(cannot_unmarshal(other, ty)),
        },
        Bool => v
            .as_bool()
            .map(ArgValue::Bool)
            .ok_or_else(|| cannot_unmarshal(v, ty)),
        Str => v
            .as_str()
            .map(|s| ArgValue::Str(s.to_string()))
            .ok_or_else(|| cannot_unmarshal(v, ty)),
        Bytes => match v {
            Value::String(s) => GO_BASE64
                .decode(s)
                .map(ArgValue::Bytes)
                .map_err(|e| ArgError(go_base64_error(s, &e))),
            other => Err(cannot_unmarshal(other, ty)),
        },
        HexBytes => match v {
            Value::String(s) => go_hex(s).map(ArgValue::Bytes),
            other => Err(ArgError(format!("invalid hex string: {other}"))),
        },
    }
}

/// One argument from its URI text (CometBFT's `httpParamsToArgs`).
fn from_uri_value(ty: ArgType, raw: &str) -> Result<ArgValue, ArgError> {
    let is_int = {
        let digits = raw.strip_prefix('-').unwrap_or(raw);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let quoted = raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"');
    let hex = raw
        .as_bytes()
        .get(..2)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"0x"));
    if is_int && ty.is_int() {
        return int_from_text(ty, raw);
    }
    if ty.is_int() && !hex {
        // `cmtjson` takes an integer only as a JSON string.
        return match go_json(raw) {
            Ok(Value::String(inner)) if quoted => int_from_text(ty, &inner),
            _ => Err(ArgError(format!(
                "invalid 64-bit integer encoding \"{raw}\", expected string"
            ))),
        };
    }
    if hex {
        if !ty.is_bytes() && ty != Str {
            return Err(ArgError(format!(
                "got a hex string arg, but expected '{}'",
                ty.go_name()
            )));
        }
        let bytes = go_hex(&raw[2..])?;
        return Ok(if ty == Str {
            ArgValue::Str(String::from_utf8_lossy(&bytes).into_owned())
        } else {
            ArgValue::Bytes(bytes)
        });
    }
    if quoted && ty.is_bytes() {
        return match go_json(raw)? {
            Value::String(s) => Ok(ArgValue::Bytes(s.into_bytes())),
            other => Err(cannot_unmarshal(&other, Str)),
        };
    }
    if ty == HexBytes {
        // `HexBytes` takes only a quoted string as JSON.
        return Err(ArgError(format!("invalid hex string: {raw}")));
    }
    from_json_value(ty, &go_json(raw)?)
}

/// Decodes hex as Go's `hex.DecodeString` does, with its messages.
fn go_hex(s: &str) -> Result<Vec<u8>, ArgError> {
    if let Some(b) = s.bytes().find(|b| !b.is_ascii_hexdigit()) {
        return Err(ArgError(format!(
            "encoding/hex: invalid byte: U+{b:04X} '{}'",
            char::from(b)
        )));
    }
    if s.len() % 2 == 1 {
        return Err(ArgError("encoding/hex: odd length hex string".into()));
    }
    hex::decode(s).map_err(|e| ArgError(e.to_string()))
}

/// Go's `base64.StdEncoding`: padded, and lenient about the unused bits
/// of the last character.
const GO_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// Go's message for base64 that does not decode: where the bad byte is, or
/// where the incomplete last group starts.
fn go_base64_error(s: &str, e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => *i,
        base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
            s.len() - s.len() % 4
        }
    };
    format!("illegal base64 data at input byte {at}")
}

/// Parses JSON text, failing with Go's `encoding/json` message for the
/// common mistakes (a bare word, junk after a value).
pub(crate) fn go_json(text: &str) -> Result<Value, ArgError> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return Ok(v);
    }
    let trimmed = text.trim_start();
    let Some(first) = trimmed.chars().next() else {
        return Err(ArgError("unexpected end of JSON input".into()));
    };
    for literal in ["true", "false", "null"] {
        if trimmed.starts_with(&literal[..1]) {
            let bad = trimmed
                .chars()
                .zip(literal.chars())
                .skip(1)
                .find(|(got, want)| got != want);
            return Err(ArgError(match bad {
                Some((got, _)) => {
                    let at = trimmed
                        .chars()
                        .zip(literal.chars())
                        .position(|(g, w)| g != w);
                    let expecting = at.and_then(|i| literal.chars().nth(i)).unwrap_or(' ');
                    format!(
                        "invalid character '{got}' in literal {literal} (expecting '{expecting}')"
                    )
                }
                None if trimmed.len() < literal.len() => "unexpected end of JSON input".into(),
                None => match trimmed[literal.len()..].trim_start().chars().next() {
                    Some(c) => format!("invalid character '{c}' after top-level value"),
                    None => "unexpected end of JSON input".into(),
                },
            }));
        }
    }
    if first == '-' || first.is_ascii_digit() {
        let end = trimmed
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(trimmed.len());
        if serde_json::from_str::<Value>(&trimmed[..end]).is_ok() {
            if let Some(c) = trimmed[end..].trim_start().chars().next() {
                return Err(ArgError(format!(
                    "invalid character '{c}' after top-level value"
                )));
            }
        }
    }
    if !"{[\"".contains(first) && !first.is_ascii_digit() && first != '-' {
        return Err(ArgError(format!(
            "invalid character '{first}' looking for beginning of value"
        )));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) => Ok(v),
        Err(e) => Err(ArgError(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn r(name: &str) -> &'static Route {
        route_of(name).unwrap()
    }

    fn uri(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn json_integers_are_strings_and_other_kinds_are_refused_with_gos_messages() {
        let block = r("block");
        assert_eq!(
            Args::from_json(block, &json!({"height": "5"}))
                .unwrap()
                .opt_int("height"),
            Some(5)
        );
        assert_eq!(
            Args::from_json(block, &json!({"height": 5})).unwrap_err().0,
            "invalid 64-bit integer encoding \"5\", expected string"
        );
        assert_eq!(
            Args::from_json(block, &json!({"height": "abc"}))
                .unwrap_err()
                .0,
            "invalid character 'a' looking for beginning of value"
        );
        assert_eq!(
            Args::from_json(block, &json!({"height": "99999999999999999999"}))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number 99999999999999999999 into Go value of type int64"
        );
        assert_eq!(
            Args::from_json(block, &json!({"height": null})).unwrap(),
            Args::default()
        );
        assert_eq!(
            Args::from_json(r("tx"), &json!({"hash": "AAAA", "prove": "true"}))
                .unwrap_err()
                .0,
            "json: cannot unmarshal string into Go value of type bool"
        );
        assert_eq!(
            Args::from_json(r("tx_search"), &json!({"query": 5}))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number into Go value of type string"
        );
        assert_eq!(
            Args::from_json(r("header_by_hash"), &json!({"hash": "0xab"}))
                .unwrap_err()
                .0,
            "encoding/hex: invalid byte: U+0078 'x'"
        );
        assert_eq!(
            Args::from_json(r("genesis_chunked"), &json!({"chunk": "-1"}))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number -1 into Go value of type uint"
        );
        assert_eq!(
            Args::from_json(r("tx"), &json!({"hash": "C9sUs4"}))
                .unwrap_err()
                .0,
            "illegal base64 data at input byte 4"
        );
        assert_eq!(
            Args::from_json(block, &json!(["5", "6"])).unwrap_err().0,
            "expected 1 parameters ([height]), got 2 ([[34 53 34] [34 54 34]])"
        );
        assert_eq!(
            Args::from_json(block, &json!("x")).unwrap_err().0,
            "unknown type for JSON params: json: cannot unmarshal string into Go value of type []json.RawMessage. Expected map or array"
        );
    }

    #[test]
    fn uri_arguments_are_bare_integers_quoted_strings_or_hex() {
        let block = r("block");
        assert_eq!(
            Args::from_uri(block, &uri(&[("height", "7")]))
                .unwrap()
                .opt_int("height"),
            Some(7)
        );
        assert_eq!(
            Args::from_uri(block, &uri(&[("height", "\"7\"")]))
                .unwrap()
                .opt_int("height"),
            Some(7)
        );
        assert_eq!(
            Args::from_uri(block, &uri(&[("height", "0x10")]))
                .unwrap_err()
                .0,
            "got a hex string arg, but expected 'int64'"
        );
        assert!(Args::from_uri(block, &uri(&[("height", "%€")])).is_err());
        assert_eq!(
            Args::from_uri(block, &uri(&[("height", "abc")]))
                .unwrap_err()
                .0,
            "invalid 64-bit integer encoding \"abc\", expected string"
        );
        let search = r("tx_search");
        assert_eq!(
            Args::from_uri(search, &uri(&[("query", "\"tx.height>0\"")]))
                .unwrap()
                .string("query"),
            "tx.height>0"
        );
        assert_eq!(
            Args::from_uri(search, &uri(&[("query", "tx.height>0")]))
                .unwrap_err()
                .0,
            "invalid character 'x' in literal true (expecting 'r')"
        );
        assert_eq!(
            Args::from_uri(search, &uri(&[("query", "5")]))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number into Go value of type string"
        );
        let tx = r("tx");
        assert_eq!(
            Args::from_uri(tx, &uri(&[("hash", "0xABcd")]))
                .unwrap()
                .bytes("hash"),
            vec![0xab, 0xcd]
        );
        assert_eq!(
            Args::from_uri(tx, &uri(&[("hash", "\"ab\"")]))
                .unwrap()
                .bytes("hash"),
            b"ab".to_vec()
        );
        assert_eq!(
            Args::from_uri(tx, &uri(&[("hash", "abcd")])).unwrap_err().0,
            "invalid character 'a' looking for beginning of value"
        );
        assert_eq!(
            Args::from_uri(tx, &uri(&[("hash", "0xab"), ("prove", "1")]))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number into Go value of type bool"
        );
        assert!(
            Args::from_uri(tx, &uri(&[("hash", "0xab"), ("prove", "true")]))
                .unwrap()
                .bool("prove")
        );
        assert_eq!(
            Args::from_uri(r("abci_query"), &uri(&[("data", "abc")]))
                .unwrap_err()
                .0,
            "invalid hex string: abc"
        );
        assert_eq!(
            Args::from_uri(r("genesis_chunked"), &uri(&[("chunk", "-1")]))
                .unwrap_err()
                .0,
            "json: cannot unmarshal number -1 into Go value of type uint"
        );
    }
}
