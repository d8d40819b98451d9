//! The OpenAI embeddings API's shapes: the request as OpenAI's clients send it, the
//! response they expect (with DeAI's `deai` fields beside), and OpenAI's error JSON.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use deai_compute_module::input::{EMBED_MAX_BATCH, EMBED_MAX_INPUT_BYTES};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use deai_compute::encoder::EMBED_BITS;

/// An error in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub message: String,
    /// OpenAI's error type, such as `invalid_request_error`.
    pub kind: &'static str,
    /// The request field at fault, if one is.
    pub param: Option<&'static str>,
    /// A machine-readable code.
    pub code: Option<&'static str>,
}

impl ApiError {
    /// 400: the request is malformed or asks for what this gateway does not do.
    pub fn bad_request(param: Option<&'static str>, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "invalid_request_error",
            param,
            code: None,
        }
    }

    /// Sets the code.
    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// An error of `status`, `kind` and `code`.
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            message: message.into(),
            kind,
            param: None,
            code: Some(code),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({"error": {
            "message": self.message,
            "type": self.kind,
            "param": self.param,
            "code": self.code,
        }})
    }
}

impl IntoResponse for ApiError {
    /// The body, and `x-should-retry: false` (which OpenAI's clients obey) on every error
    /// but a full gateway: their default is to retry 429 and 5xx, and a retried request
    /// whose job was already submitted would pay for a second job.
    fn into_response(self) -> Response {
        let retry = if self.kind == "rate_limit_error" {
            "true"
        } else {
            "false"
        };
        (self.status, [("x-should-retry", retry)], Json(self.body())).into_response()
    }
}

/// `POST /v1/embeddings`'s body. Unknown fields (`user`, say) are ignored, as OpenAI does.
#[derive(Debug, Deserialize)]
pub struct EmbeddingsRequest {
    /// A registered model: its id (64 hex digits) or its name.
    pub model: String,
    /// A string or a list of strings (token arrays are refused).
    pub input: Value,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Accepted only when it is the model's width.
    #[serde(default)]
    pub dimensions: Option<u64>,
}

/// How embeddings are written in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JSON numbers.
    Float,
    /// Base64 of little-endian f32, as OpenAI writes it.
    Base64,
}

/// Parses a request body: bounded by the router before it gets here.
pub fn parse_request(body: &[u8]) -> Result<EmbeddingsRequest, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            None,
            format!("the body is not a valid embeddings request: {e}"),
        )
    })
}

impl EmbeddingsRequest {
    /// The texts, checked: one string or 1 to [`EMBED_MAX_BATCH`] strings, each non-empty,
    /// [`EMBED_MAX_INPUT_BYTES`] in all.
    pub fn texts(&self) -> Result<Vec<&str>, ApiError> {
        let bad = |m: String| ApiError::bad_request(Some("input"), m);
        let texts: Vec<&str> = match &self.input {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => {
                if items.len() > EMBED_MAX_BATCH {
                    return Err(bad(format!(
                        "input has {} items; at most {EMBED_MAX_BATCH} per request",
                        items.len()
                    )));
                }
                items
                    .iter()
                    .map(|v| {
                        v.as_str().ok_or_else(|| {
                            bad("input must be a string or a list of strings (token arrays are not supported)".into())
                        })
                    })
                    .collect::<Result<_, _>>()?
            }
            _ => return Err(bad("input must be a string or a list of strings".into())),
        };
        if texts.is_empty() {
            return Err(bad("input is an empty list".into()));
        }
        if let Some(i) = texts.iter().position(|t| t.is_empty()) {
            return Err(bad(format!("input[{i}] is empty")));
        }
        let total: usize = texts.iter().map(|t| t.len()).sum();
        // The batch header and lengths count too; the chain's check is exact.
        if total > EMBED_MAX_INPUT_BYTES {
            return Err(bad(format!(
                "input is {total} bytes; at most {EMBED_MAX_INPUT_BYTES} per request"
            ))
            .code("input_too_large"));
        }
        Ok(texts)
    }

    /// The requested encoding.
    pub fn encoding(&self) -> Result<Encoding, ApiError> {
        match self.encoding_format.as_deref() {
            None | Some("float") => Ok(Encoding::Float),
            Some("base64") => Ok(Encoding::Base64),
            Some(other) => Err(ApiError::bad_request(
                Some("encoding_format"),
                format!("encoding_format {other:?}: use float or base64"),
            )),
        }
    }
}

/// The float a verified integer component stands for: `v × 2^-EMBED_BITS` (the encoder's
/// output is a unit vector times 2^15), exact in an f64.
pub fn component(v: i32) -> f64 {
    f64::from(v) / f64::from(1u32 << EMBED_BITS)
}

/// One embedding as OpenAI writes it: a list of numbers, or base64 of little-endian f32
/// (each `v × 2^-15` rounded to f32, exact while |v| < 2^24).
pub fn encode_embedding(row: &[i32], encoding: Encoding) -> Value {
    match encoding {
        Encoding::Float => Value::Array(row.iter().map(|&v| json!(component(v))).collect()),
        Encoding::Base64 => {
            let mut bytes = Vec::with_capacity(row.len() * 4);
            for &v in row {
                // Deliberate rounding to OpenAI's f32 wire format.
                #[allow(clippy::cast_possible_truncation)]
                let f = component(v) as f32;
                bytes.extend_from_slice(&f.to_le_bytes());
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
    }
}

/// DeAI's account of the job behind a response.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// The job id.
    pub job_id: u64,
    /// The model id (64 hex digits).
    pub model_id: String,
    /// The final result hash (SHA3-256 of the canonical `count × hidden` int32 output).
    pub result_hash: String,
    /// The height at which the job settled.
    pub height: u64,
    /// The height of the submission.
    pub submitted_height: u64,
    /// The submission's tx hash.
    pub tx_hash: String,
    /// The providers whose revealed result is the final one.
    pub providers: Vec<String>,
    /// Providers asked (`R`).
    pub replication: u32,
    /// Work units of the batch.
    pub work_units: u64,
    /// udeai per agreeing provider.
    pub price_per_replica_udeai: String,
    /// udeai paid to the providers (price × agreeing providers).
    pub price_paid_udeai: String,
    /// udeai paid as the submission's fee.
    pub fee_udeai: String,
    /// udeai of escrow returned to the account.
    pub refunded_udeai: String,
    /// Embedding floats are the verified integers times `2^-embedding_scale_bits`.
    pub embedding_scale_bits: u32,
    /// How the result was checked: `chain-output` (the revealed bytes, whose hash the
    /// chain checked) or `recomputed` (this gateway ran the model and got the same hash).
    pub checked_by: &'static str,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(body: Value) -> Result<EmbeddingsRequest, ApiError> {
        parse_request(body.to_string().as_bytes())
    }

    #[test]
    fn a_string_or_a_list_of_strings_is_accepted_and_anything_else_is_a_400() {
        let r = req(json!({"model": "m", "input": "hello"})).unwrap();
        assert_eq!(r.texts().unwrap(), vec!["hello"]);
        let r = req(json!({"model": "m", "input": ["a", "b"], "user": "x"})).unwrap();
        assert_eq!(r.texts().unwrap(), vec!["a", "b"]);
        for input in [
            json!(""),
            json!([]),
            json!(["a", ""]),
            json!([1, 2]),
            json!(7),
        ] {
            let e = req(json!({"model": "m", "input": input}))
                .unwrap()
                .texts()
                .unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{input}");
            assert_eq!(e.param, Some("input"));
        }
        let e = req(json!({"input": "x"})).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(parse_request(b"{not json").is_err());
    }

    #[test]
    fn too_many_texts_or_bytes_are_refused_before_any_job_is_built() {
        let many = vec!["a"; EMBED_MAX_BATCH + 1];
        let e = req(json!({"model": "m", "input": many}))
            .unwrap()
            .texts()
            .unwrap_err();
        assert!(e.message.contains("at most"), "{}", e.message);
        let big = "x".repeat(EMBED_MAX_INPUT_BYTES + 1);
        let e = req(json!({"model": "m", "input": big}))
            .unwrap()
            .texts()
            .unwrap_err();
        assert_eq!(e.code, Some("input_too_large"));
    }

    #[test]
    fn the_error_body_has_openais_shape() {
        let e = ApiError::bad_request(Some("input"), "no").code("c");
        assert_eq!(
            e.body(),
            json!({"error": {"message": "no", "type": "invalid_request_error", "param": "input", "code": "c"}})
        );
    }

    #[test]
    fn floats_are_the_integers_over_2_to_the_15_and_base64_is_their_le_f32() {
        assert_eq!(component(32768), 1.0);
        assert_eq!(component(-16384), -0.5);
        assert_eq!(
            encode_embedding(&[32768, -1], Encoding::Float),
            json!([1.0, -1.0 / 32768.0])
        );
        let b = encode_embedding(&[32768, -16384], Encoding::Base64);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b.as_str().unwrap())
            .unwrap();
        assert_eq!(
            bytes,
            [1.0f32.to_le_bytes(), (-0.5f32).to_le_bytes()].concat()
        );
    }

    #[test]
    fn unknown_encodings_are_refused() {
        let r = req(json!({"model": "m", "input": "x", "encoding_format": "int8"})).unwrap();
        assert!(r.encoding().is_err());
        let r = req(json!({"model": "m", "input": "x", "encoding_format": "base64"})).unwrap();
        assert_eq!(r.encoding().unwrap(), Encoding::Base64);
    }
}
