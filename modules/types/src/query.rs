//! Shared pieces of gRPC-style ABCI queries: request decoding, errors and
//! key-based pagination.

use cosmos_sdk_proto::cosmos::base::query::v1beta1::{PageRequest, PageResponse};

/// Most entries one page returns, whatever the request asks.
pub const MAX_PAGE: usize = 1_000;
/// Entries per page when the request names no limit.
pub const DEFAULT_PAGE: usize = 100;

/// A query that could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{log}")]
pub struct QueryError {
    /// The codespace.
    pub codespace: &'static str,
    /// Non-zero code.
    pub code: u32,
    /// What was wrong.
    pub log: String,
}

impl QueryError {
    /// The request was malformed (SDK code 18, invalid request).
    pub fn invalid(log: impl Into<String>) -> Self {
        QueryError {
            codespace: "sdk",
            code: 18,
            log: log.into(),
        }
    }

    /// The thing asked for does not exist (SDK code 22, not found). The log
    /// reads as the Cosmos SDK's gRPC status text, which CosmJS matches to
    /// tell "no such account" from a failure.
    pub fn not_found(log: impl std::fmt::Display) -> Self {
        QueryError {
            codespace: "sdk",
            code: 22,
            log: format!("rpc error: code = NotFound desc = {log}: key not found"),
        }
    }

    /// Converts any module error.
    pub fn from_module(e: &dyn crate::ModuleError) -> Self {
        QueryError {
            codespace: e.codespace(),
            code: e.code(),
            log: e.to_string(),
        }
    }
}

/// Decodes a protobuf request.
pub fn decode<M: prost::Message + Default>(data: &[u8]) -> Result<M, QueryError> {
    M::decode(data).map_err(|e| QueryError::invalid(format!("request does not decode: {e}")))
}

/// Parses a `deai…` address field of a request.
pub fn address(s: &str) -> Result<crate::Address, QueryError> {
    s.parse()
        .map_err(|e| QueryError::invalid(format!("address: {e}")))
}

/// A page to read: resume after `after` (the last key of the previous page),
/// at most `limit` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The resume key, as handed out in `next_key`.
    pub after: Option<Vec<u8>>,
    /// Entries to return.
    pub limit: usize,
}

impl Page {
    /// Reads a `PageRequest`; offsets are not supported (keys are).
    pub fn from_request(p: Option<&PageRequest>) -> Result<Self, QueryError> {
        let Some(p) = p else {
            return Ok(Page {
                after: None,
                limit: DEFAULT_PAGE,
            });
        };
        if p.offset != 0 {
            return Err(QueryError::invalid(
                "offset pagination is not supported; use pagination.key",
            ));
        }
        let limit = match p.limit {
            0 => DEFAULT_PAGE,
            n => usize::try_from(n).unwrap_or(MAX_PAGE).min(MAX_PAGE),
        };
        Ok(Page {
            after: (!p.key.is_empty()).then(|| p.key.clone()),
            limit,
        })
    }

    /// The resume key read as a big-endian `u64` id (queries keyed by id).
    pub fn after_u64(&self) -> Result<Option<u64>, QueryError> {
        self.after
            .as_deref()
            .map(|k| {
                <[u8; 8]>::try_from(k).map(u64::from_be_bytes).map_err(|_| {
                    QueryError::invalid("pagination.key is not one this query handed out")
                })
            })
            .transpose()
    }

    /// The response for a page that returned `returned` entries, the last with resume key `last`.
    pub fn response(&self, returned: usize, last: Option<Vec<u8>>) -> PageResponse {
        PageResponse {
            next_key: if returned >= self.limit {
                last.unwrap_or_default()
            } else {
                Vec::new()
            },
            total: 0,
        }
    }
}
