//! The REST gateway (the Cosmos SDK's "LCD", port 1317): each method's
//! `google.api.http` rule in the descriptor set becomes a route. A request
//! is turned into the method's protobuf request (path parameters, query
//! parameters, and the JSON body where the rule takes one), answered by
//! [`Api::call`], and the response is written as the SDK writes it: proto3
//! JSON with the proto field names, default values included, 64-bit
//! integers as strings and `Any` values expanded with their `@type`.
//! `/swagger/openapi.json` describes every route, from the same rules.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    body::{to_bytes, Body},
    http::{header, HeaderMap, Method, Request, Response, StatusCode},
    Router,
};
use bytes::Bytes;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage, Value,
};

use crate::{Api, ApiError, HEIGHT_HEADER, MAX_REQUEST_BYTES};

mod openapi;

/// One REST route: an HTTP method and path template for a gRPC method.
#[derive(Debug, Clone)]
pub struct Route {
    /// GET, POST, ….
    pub method: Method,
    /// The template as written in the rule, e.g. `/cosmos/bank/v1beta1/balances/{address}`.
    pub template: String,
    segments: Vec<Segment>,
    /// The gRPC method path, e.g. `/cosmos.bank.v1beta1.Query/Balance`.
    pub grpc_path: String,
    /// The request message.
    pub input: MessageDescriptor,
    /// The response message.
    pub output: MessageDescriptor,
    /// The rule's `body`: `*` (the whole request), a field name, or empty.
    pub body: String,
}

/// A piece of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Literal(String),
    /// Sets this (dotted) field from one segment.
    Field(String),
    /// Sets this field from the rest of the path (`{name=**}`).
    Rest(String),
}

impl Route {
    /// The path's parameters if `path` matches this route.
    fn matches(&self, path: &[&str]) -> Option<Vec<(String, String)>> {
        match_segments(&self.segments, path)
    }

    /// How specific the template is: more literal segments win a tie.
    fn literals(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }
}

/// The path's parameters if `path` matches the template `segments`.
fn match_segments(segments: &[Segment], path: &[&str]) -> Option<Vec<(String, String)>> {
    let mut params = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Literal(l) => {
                if path.get(i) != Some(&l.as_str()) {
                    return None;
                }
            }
            Segment::Field(f) => {
                let v = path.get(i).filter(|v| !v.is_empty())?;
                params.push((f.clone(), percent_decode(v)?));
            }
            Segment::Rest(f) => {
                // `{name=**}` takes every segment up to those the rest
                // of the template names (ibc-go's
                // `denoms/{denom=**}/total_escrow`).
                let tail = &segments[i + 1..];
                let end = path.len().checked_sub(tail.len())?;
                if end <= i {
                    return None;
                }
                params.push((f.clone(), percent_decode(&path[i..end].join("/"))?));
                for (seg, p) in tail.iter().zip(&path[end..]) {
                    match seg {
                        Segment::Literal(l) if p == l => {}
                        Segment::Field(f) if !p.is_empty() => {
                            params.push((f.clone(), percent_decode(p)?));
                        }
                        _ => return None,
                    }
                }
                return Some(params);
            }
        }
    }
    (path.len() == segments.len()).then_some(params)
}

/// Parses a template such as `/cosmos/gov/v1/proposals/{proposal_id}/votes`.
fn parse_template(t: &str) -> Result<Vec<Segment>, String> {
    let body = t
        .strip_prefix('/')
        .ok_or_else(|| format!("template {t:?} does not start with /"))?;
    // A `:verb` suffix is not used by the services served here.
    body.split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => match var.split_once('=') {
                    None => Ok(Segment::Field(var.to_string())),
                    Some((name, "**")) => Ok(Segment::Rest(name.to_string())),
                    Some((name, "*")) => Ok(Segment::Field(name.to_string())),
                    Some(_) => Err(format!("template {t:?}: unsupported variable {s:?}")),
                },
                None if s.contains(['{', '}']) => Err(format!("template {t:?}: bad segment {s:?}")),
                None => Ok(Segment::Literal(s.to_string())),
            },
        )
        .collect()
}

/// Every route the descriptor pool's `google.api.http` rules declare.
pub fn routes(pool: &DescriptorPool) -> Result<Vec<Route>, String> {
    let ext = pool
        .get_extension_by_name("google.api.http")
        .ok_or("the descriptor set has no google.api.http extension")?;
    let mut out = Vec::new();
    for service in pool.services() {
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&ext) {
                continue;
            }
            let rule = options.get_extension(&ext);
            let Value::Message(rule) = rule.as_ref() else {
                continue;
            };
            let grpc_path = format!("/{}/{}", service.full_name(), method.name());
            let mut rules = vec![rule.clone()];
            if let Some(Value::List(more)) = rule
                .get_field_by_name("additional_bindings")
                .as_deref()
                .cloned()
            {
                rules.extend(more.into_iter().filter_map(|v| match v {
                    Value::Message(m) => Some(m),
                    _ => None,
                }));
            }
            for r in rules {
                for (verb, m) in [
                    ("get", Method::GET),
                    ("post", Method::POST),
                    ("put", Method::PUT),
                    ("delete", Method::DELETE),
                    ("patch", Method::PATCH),
                ] {
                    let Some(Value::String(template)) =
                        r.get_field_by_name(verb).as_deref().cloned()
                    else {
                        continue;
                    };
                    if template.is_empty() {
                        continue;
                    }
                    let body = match r.get_field_by_name("body").as_deref() {
                        Some(Value::String(b)) => b.clone(),
                        _ => String::new(),
                    };
                    out.push(Route {
                        method: m,
                        segments: parse_template(&template)?,
                        template,
                        grpc_path: grpc_path.clone(),
                        input: method.input(),
                        output: method.output(),
                        body,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or non-UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Decodes a query-string component (`+` is a space).
fn query_decode(s: &str) -> Option<String> {
    percent_decode(&s.replace('+', " "))
}

/// The gateway's state: the API and the routes.
struct Gateway {
    api: Arc<Api>,
    routes: Vec<Route>,
    openapi: Bytes,
}

/// Serves the REST gateway on `listener` until the task is dropped, with
/// `cors` (see [`cors`]) when given.
pub async fn serve(
    api: Arc<Api>,
    listener: tokio::net::TcpListener,
    cors: Option<tower_http::cors::CorsLayer>,
) -> Result<(), ApiError> {
    let mut router = router(api)?.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        crate::REQUEST_TIMEOUT,
    ));
    if let Some(cors) = cors {
        router = router.layer(cors);
    }
    let listener = crate::conn::LimitedListener::new(listener, crate::conn::MAX_CONNECTIONS);
    serve_http1(listener, router, HEADER_READ_TIMEOUT).await;
    Ok(())
}

/// How long a client may take to send a request's head. The request
/// timeout starts only once the head is read; without this, a client that
/// never finishes its head would hold a connection slot for as long as it
/// stays connected. It also closes a kept-alive connection idle that long.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `router` over HTTP/1.1 on every connection `listener` lets in,
/// each with `header_timeout`, until the task is dropped.
async fn serve_http1(
    mut listener: crate::conn::LimitedListener,
    router: Router,
    header_timeout: std::time::Duration,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true);
    loop {
        let (io, peer) = listener.next().await;
        let conn = http.serve_connection(
            hyper_util::rt::TokioIo::new(io),
            hyper_util::service::TowerToHyperService::new(router.clone()),
        );
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, error = %e, "REST connection ended");
            }
        });
    }
}

/// The CORS policy for `origins` (`*` for any), or `None` for no CORS
/// headers at all. Only GET and POST with a JSON body and the height header
/// are allowed, which is all the gateway serves.
pub fn cors(origins: &[String]) -> Result<Option<tower_http::cors::CorsLayer>, ApiError> {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        let list = origins
            .iter()
            .map(|o| {
                o.parse::<http::HeaderValue>().map_err(|_| {
                    ApiError::Config(format!("CORS origin {o:?} is not a header value"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::ACCEPT,
                http::HeaderName::from_static(HEIGHT_HEADER),
            ])
            .expose_headers([http::HeaderName::from_static(HEIGHT_HEADER)]),
    ))
}

/// The gateway as an axum router (every path goes to one handler, which
/// matches the rules itself).
pub fn router(api: Arc<Api>) -> Result<Router, ApiError> {
    let pool = deai_proto::descriptor_pool();
    let routes = routes(pool).map_err(ApiError::Config)?;
    let openapi = Bytes::from(
        serde_json::to_vec(&openapi::document(&routes))
            .map_err(|e| ApiError::Config(format!("OpenAPI document: {e}")))?,
    );
    let gateway = Arc::new(Gateway {
        api,
        routes,
        openapi,
    });
    Ok(Router::new().fallback(move |req: Request<Body>| {
        let gateway = gateway.clone();
        async move { handle(&gateway, req).await }
    }))
}

/// Answers one request.
async fn handle(gw: &Gateway, req: Request<Body>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    if method == Method::GET && path == "/swagger/openapi.json" {
        return json_response(StatusCode::OK, gw.openapi.clone(), None);
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let body = match to_bytes(req.into_body(), MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error_response(&ApiError::InvalidArgument(format!(
                "request body is larger than {MAX_REQUEST_BYTES} bytes"
            )))
        }
    };
    match answer(gw, &method, &path, &query, &headers, &body).await {
        Ok((json, height)) => json_response(StatusCode::OK, json, Some(height)),
        Err(e) => error_response(&e),
    }
}

async fn answer(
    gw: &Gateway,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Bytes, u64), ApiError> {
    let parts: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let mut best: Option<(&Route, Vec<(String, String)>)> = None;
    let mut path_known = false;
    for r in &gw.routes {
        if let Some(params) = r.matches(&parts) {
            path_known = true;
            if r.method == method
                && best
                    .as_ref()
                    .is_none_or(|(b, _)| r.literals() > b.literals())
            {
                best = Some((r, params));
            }
        }
    }
    let Some((route, params)) = best else {
        return Err(if path_known {
            ApiError::Unimplemented(format!("{method} is not allowed on {path}"))
        } else {
            ApiError::NotFound(format!("no route for {path}"))
        });
    };
    let request = build_request(route, &params, query, body)?;
    let height = match headers.get(HEIGHT_HEADER) {
        Some(v) => crate::parse_height(v.to_str().unwrap_or(""))?,
        None => None,
    };
    let answer = gw
        .api
        .call(
            &route.grpc_path,
            Bytes::from(request.encode_to_vec()),
            height,
        )
        .await?;
    let response = DynamicMessage::decode(route.output.clone(), answer.bytes)
        .map_err(|e| ApiError::Internal(format!("answer does not decode: {e}")))?;
    Ok((Bytes::from(to_json(&response)?), answer.height))
}

/// The SDK's JSON for a message (see [`deai_proto::to_lcd_json`]).
pub fn to_json(m: &DynamicMessage) -> Result<Vec<u8>, ApiError> {
    deai_proto::to_lcd_json(m)
        .and_then(|v| serde_json::to_vec(&v))
        .map_err(|e| ApiError::Internal(format!("answer does not render as JSON: {e}")))
}

/// The request message from the path parameters, the query string and the
/// body.
fn build_request(
    route: &Route,
    params: &[(String, String)],
    query: &str,
    body: &[u8],
) -> Result<DynamicMessage, ApiError> {
    let mut msg = if route.body == "*" && !body.is_empty() {
        let mut de = serde_json::Deserializer::from_slice(body);
        let m = DynamicMessage::deserialize(route.input.clone(), &mut de)
            .map_err(|e| ApiError::InvalidArgument(format!("request body: {e}")))?;
        de.end()
            .map_err(|e| ApiError::InvalidArgument(format!("request body: {e}")))?;
        m
    } else {
        DynamicMessage::new(route.input.clone())
    };
    for (field, value) in params {
        set_path(&mut msg, field, value, ListParam::Split)?;
    }
    if route.body != "*" {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(k), Some(v)) = (query_decode(k), query_decode(v)) else {
                return Err(ApiError::InvalidArgument(format!(
                    "malformed query parameter {pair:?}"
                )));
            };
            set_path(&mut msg, &k, &v, ListParam::Append)?;
        }
    }
    Ok(msg)
}

/// Most nested fields a parameter name may name (`pagination.limit` is 2).
const MAX_FIELD_DEPTH: usize = 8;

/// How a parameter's text sets a list field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListParam {
    /// A path parameter: the list is the comma-separated values, as
    /// grpc-gateway reads it (ibc-go's `.../packet_commitments/1,2,3/...`).
    Split,
    /// A query parameter, which may repeat: each adds one value.
    Append,
}

/// Sets the (dotted) field `name` of `msg` from the text `value`; a list
/// field is set as `list` says.
fn set_path(
    msg: &mut DynamicMessage,
    name: &str,
    value: &str,
    list: ListParam,
) -> Result<(), ApiError> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() > MAX_FIELD_DEPTH {
        return Err(ApiError::InvalidArgument(format!(
            "parameter {name:?} is nested too deeply"
        )));
    }
    let unknown = || ApiError::InvalidArgument(format!("unknown parameter {name:?}"));
    let mut current = msg;
    for (i, part) in parts.iter().enumerate() {
        let desc = current.descriptor();
        let field = desc
            .get_field_by_name(part)
            .or_else(|| desc.get_field_by_json_name(part))
            .ok_or_else(unknown)?;
        if i + 1 == parts.len() {
            let read = |text: &str| {
                scalar(&field, text)
                    .map_err(|e| ApiError::InvalidArgument(format!("parameter {name:?}: {e}")))
            };
            if !field.is_list() {
                current.set_field(&field, read(value)?);
                return Ok(());
            }
            match list {
                ListParam::Split => {
                    let values = value.split(',').map(read).collect::<Result<_, _>>()?;
                    current.set_field(&field, Value::List(values));
                }
                ListParam::Append => {
                    let v = read(value)?;
                    match current.get_field_mut(&field) {
                        Value::List(list) => list.push(v),
                        slot => *slot = Value::List(vec![v]),
                    }
                }
            }
            return Ok(());
        }
        if field.is_list() || field.is_map() {
            return Err(unknown());
        }
        current = match current.get_field_mut(&field) {
            Value::Message(m) => m,
            _ => return Err(unknown()),
        };
    }
    Err(unknown())
}

/// A field's value from text, as grpc-gateway reads path and query
/// parameters.
fn scalar(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    fn num<T: std::str::FromStr>(text: &str) -> Result<T, String> {
        text.parse()
            .map_err(|_| format!("{text:?} is not a number of the right size"))
    }
    Ok(match field.kind() {
        Kind::String => Value::String(text.to_string()),
        Kind::Bool => Value::Bool(match text {
            "true" | "1" => true,
            "false" | "0" | "" => false,
            _ => return Err(format!("{text:?} is not true or false")),
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(num(text)?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(num(text)?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(num(text)?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(num(text)?),
        Kind::Bytes => {
            use base64::Engine as _;
            let e = base64::engine::general_purpose::STANDARD;
            let url = base64::engine::general_purpose::URL_SAFE;
            Value::Bytes(
                e.decode(text)
                    .or_else(|_| url.decode(text))
                    .map_err(|_| format!("{text:?} is not base64"))?
                    .into(),
            )
        }
        Kind::Enum(en) => Value::EnumNumber(match en.get_value_by_name(text) {
            Some(v) => v.number(),
            None => num(text)?,
        }),
        Kind::Float | Kind::Double | Kind::Message(_) => {
            return Err("cannot be set from text".into())
        }
    })
}

/// A JSON answer.
fn json_response(status: StatusCode, body: Bytes, height: Option<u64>) -> Response<Body> {
    let mut r = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(h) = height.filter(|h| *h > 0) {
        r = r.header(HEIGHT_HEADER, h);
    }
    r.body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// grpc-gateway's error body: `{"code": <gRPC code>, "message": …, "details": []}`.
fn error_response(e: &ApiError) -> Response<Body> {
    let body = serde_json::json!({
        "code": e.grpc_code() as i32,
        "message": e.to_string(),
        "details": [],
    });
    json_response(e.http_status(), Bytes::from(body.to_string()), None)
}

/// The routes by template, for tests and documentation.
pub fn route_table(routes: &[Route]) -> BTreeMap<String, Vec<String>> {
    let mut t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in routes {
        t.entry(r.template.clone())
            .or_default()
            .push(format!("{} {}", r.method, r.grpc_path));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_match() {
        let segs = parse_template("/cosmos/bank/v1beta1/balances/{address}/by_denom").unwrap();
        assert_eq!(segs.len(), 6);
        assert!(parse_template("cosmos/x").is_err());
        assert!(parse_template("/a/{b=c/*}").is_err());
        let rest = parse_template("/cosmos/bank/v1beta1/denoms_metadata/{denom=**}").unwrap();
        assert_eq!(rest[4], Segment::Rest("denom".into()));
        let m = |t: &str, p: &str| {
            let path: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            match_segments(&parse_template(t).unwrap(), &path)
        };
        let want = |v: &str| Some(vec![("denom".to_string(), v.to_string())]);
        assert_eq!(
            m("/b/denoms/{denom=**}", "/b/denoms/ibc/AB"),
            want("ibc/AB")
        );
        // A `**` variable stops where the rest of the template begins.
        let t = "/ibc/apps/transfer/v1/denoms/{denom=**}/total_escrow";
        assert_eq!(
            m(t, "/ibc/apps/transfer/v1/denoms/udeai/total_escrow"),
            want("udeai")
        );
        assert_eq!(
            m(t, "/ibc/apps/transfer/v1/denoms/ibc/AB/total_escrow"),
            want("ibc/AB")
        );
        assert_eq!(m(t, "/ibc/apps/transfer/v1/denoms/total_escrow"), None);
        assert_eq!(m(t, "/ibc/apps/transfer/v1/denoms/udeai/other"), None);
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_head_is_let_go() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limited = crate::conn::LimitedListener::new(listener, 1);
        let server = tokio::spawn(serve_http1(
            limited,
            Router::new().fallback(|| async { "ok" }),
            std::time::Duration::from_millis(300),
        ));
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // The server closes it (with a 408 or nothing) once the head is late.
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            slow.read_to_end(&mut buf),
        )
        .await;
        assert!(closed.is_ok(), "the slow client still holds its connection");
        // Its slot is free again: the next client is answered.
        let mut next = tokio::net::TcpStream::connect(addr).await.unwrap();
        next.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(5),
            next.read_to_string(&mut answer),
        )
        .await
        .expect("answered in time")
        .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        server.abort();
    }

    #[test]
    fn ibc_routes_take_comma_separated_sequences_in_the_path() {
        let routes = routes(deai_proto::descriptor_pool()).unwrap();
        let route = routes
            .iter()
            .find(|r| r.grpc_path == "/ibc.core.channel.v1.Query/UnreceivedPackets")
            .expect("ibc-go's UnreceivedPackets has a route");
        let path = "/ibc/core/channel/v1/channels/channel-0/ports/transfer/packet_commitments/1,2,30/unreceived_packets";
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let params = route
            .matches(&segments)
            .expect("the path matches its route");
        let msg = build_request(route, &params, "", b"").unwrap();
        let seqs = msg
            .get_field_by_name("packet_commitment_sequences")
            .unwrap()
            .into_owned();
        assert_eq!(
            seqs,
            Value::List(vec![Value::U64(1), Value::U64(2), Value::U64(30)])
        );
        assert_eq!(
            msg.get_field_by_name("port_id").unwrap().as_str(),
            Some("transfer")
        );
        // A number that is not one is refused, naming the parameter.
        let bad: Vec<(String, String)> = params
            .into_iter()
            .map(|(k, v)| {
                if v.contains(',') {
                    (k, "1,x".into())
                } else {
                    (k, v)
                }
            })
            .collect();
        let e = build_request(route, &bad, "", b"").unwrap_err();
        assert!(e.to_string().contains("packet_commitment_sequences"), "{e}");
        // A query parameter naming a list still adds one value per use.
        let acks = routes
            .iter()
            .find(|r| r.grpc_path == "/ibc.core.channel.v1.Query/PacketAcknowledgements")
            .unwrap();
        let path = "/ibc/core/channel/v1/channels/channel-0/ports/transfer/packet_acknowledgements";
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let params = acks.matches(&segments).unwrap();
        let msg = build_request(
            acks,
            &params,
            "packet_commitment_sequences=4&packet_commitment_sequences=5",
            b"",
        )
        .unwrap();
        assert_eq!(
            msg.get_field_by_name("packet_commitment_sequences")
                .unwrap()
                .into_owned(),
            Value::List(vec![Value::U64(4), Value::U64(5)])
        );
    }

    #[test]
    fn percent_decoding_rejects_bad_escapes() {
        assert_eq!(percent_decode("a%2Fb").as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(query_decode("a+b").as_deref(), Some("a b"));
    }
}
