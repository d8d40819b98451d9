//! API errors, and how they read as gRPC statuses and HTTP statuses.

use bytes::Bytes;
use deai_app::query::QueryAnswer;

use crate::Answer;

/// Why a method could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed or asks for something impossible.
    #[error("{0}")]
    InvalidArgument(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No such method.
    #[error("{0}")]
    Unimplemented(String),
    /// The node's RPC did not answer.
    #[error("{0}")]
    Unavailable(String),
    /// A fault on our side.
    #[error("{0}")]
    Internal(String),
    /// The API was configured wrongly.
    #[error("{0}")]
    Config(String),
    /// A module refused the request with an SDK-style error.
    #[error("{log}")]
    Module {
        /// The module's codespace.
        codespace: String,
        /// Its error code.
        code: u32,
        /// What went wrong.
        log: String,
    },
}

impl ApiError {
    /// The gRPC status code, as the Cosmos SDK maps its errors.
    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            ApiError::InvalidArgument(_) => tonic::Code::InvalidArgument,
            ApiError::NotFound(_) => tonic::Code::NotFound,
            ApiError::Unimplemented(_) => tonic::Code::Unimplemented,
            ApiError::Unavailable(_) => tonic::Code::Unavailable,
            ApiError::Internal(_) | ApiError::Config(_) => tonic::Code::Internal,
            ApiError::Module { .. } => tonic::Code::Unknown,
        }
    }

    /// The HTTP status the REST gateway answers with (grpc-gateway's map).
    pub fn http_status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self.grpc_code() {
            tonic::Code::InvalidArgument => S::BAD_REQUEST,
            tonic::Code::NotFound => S::NOT_FOUND,
            tonic::Code::Unimplemented => S::NOT_IMPLEMENTED,
            tonic::Code::Unavailable => S::SERVICE_UNAVAILABLE,
            _ => S::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        tonic::Status::new(e.grpc_code(), e.to_string())
    }
}

impl From<tendermint_rpc::Error> for ApiError {
    fn from(e: tendermint_rpc::Error) -> Self {
        use tendermint_rpc::error::ErrorDetail;
        // The error's Display spans lines (and may carry a backtrace):
        // keep its first line.
        let text = e.to_string();
        let line = text.lines().next().unwrap_or_default().to_string();
        match e.detail() {
            ErrorDetail::Response(r) => ApiError::InvalidArgument(format!(
                "the node refused the request: {}",
                r.source.data().unwrap_or(r.source.message())
            )),
            _ => ApiError::Unavailable(format!("the node's RPC did not answer: {line}")),
        }
    }
}

/// The text the app's not-found errors begin with (the SDK's gRPC status
/// wording, kept for CosmJS over `abci_query`); a gRPC status says it itself.
const NOT_FOUND_PREFIX: &str = "rpc error: code = NotFound desc = ";

/// Turns the app router's answer to `path` into an [`Answer`] or an error.
pub(crate) fn module_answer(path: &str, a: QueryAnswer) -> Result<Answer, ApiError> {
    match (a.codespace.as_str(), a.code) {
        (_, 0) => Ok(Answer {
            bytes: Bytes::from(a.value),
            height: a.height,
        }),
        ("sdk", 6) => Err(ApiError::Unimplemented(format!("unknown method {path}"))),
        ("sdk", 7 | 18) => Err(ApiError::InvalidArgument(a.log)),
        ("sdk", 22 | 38) => Err(ApiError::NotFound(
            a.log
                .strip_prefix(NOT_FOUND_PREFIX)
                .unwrap_or(&a.log)
                .to_string(),
        )),
        _ => Err(ApiError::Module {
            codespace: a.codespace,
            code: a.code,
            log: a.log,
        }),
    }
}
