//! The auth module's gRPC query methods, answered over ABCI `Query`.

use cosmos_sdk_proto::{
    cosmos::auth::v1beta1::{QueryAccountRequest, QueryAccountResponse},
    Any,
};
use deai_types::{
    query::{address, decode},
    QueryError, StateRead,
};
use prost::Message;

use crate::{AuthRead, BASE_ACCOUNT_TYPE_URL};

/// Answers `method` if it is one of auth's; `None` if it is not.
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        "/cosmos.auth.v1beta1.Query/Account" => (|| {
            let req: QueryAccountRequest = decode(data)?;
            let addr = address(&req.address)?;
            let acc = state
                .account(&addr)
                .map_err(|e| QueryError::from_module(&e))?
                .ok_or_else(|| QueryError::not_found(format!("account {addr} not found")))?;
            Ok(QueryAccountResponse {
                account: Some(Any {
                    type_url: BASE_ACCOUNT_TYPE_URL.to_string(),
                    value: acc.to_proto().encode_to_vec(),
                }),
            }
            .encode_to_vec())
        })(),
        "/deai.auth.v1.Query/Params" => (|| {
            let _: deai_proto::auth::v1::QueryParamsRequest = decode(data)?;
            let params = state
                .auth_params()
                .map_err(|e| QueryError::from_module(&e))?;
            Ok(deai_proto::auth::v1::QueryParamsResponse {
                params: Some(params.to_proto()),
            }
            .encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
