//! ibc-go's `ibc.applications.transfer.v1.Query` service: denom traces,
//! denom hashes, escrow addresses and totals, params.

use deai_bank::BankRead;
use deai_types::{query::decode, Coin, QueryError, StateRead};
use ibc::apps::transfer::types::PrefixedDenom;
use ibc_proto::{cosmos::base::v1beta1::Coin as ProtoCoin, ibc::apps::transfer::v1 as q};
use prost::Message;

use crate::{
    query::{internal, page, page_response, port_channel},
    state_key as key,
    transfer::{denom_hash, denom_trace, escrow_address, MAX_DENOM_PATH_LEN},
};

/// ibc-go's `DenomTrace` of a full trace path.
fn trace_of(full: &str) -> Result<q::DenomTrace, QueryError> {
    let d: PrefixedDenom = full
        .parse()
        .map_err(|e| QueryError::invalid(format!("denom trace {full}: {e}")))?;
    Ok(q::DenomTrace {
        path: d.trace_path.to_string(),
        base_denom: d.base_denom.to_string(),
    })
}

/// Answers `method` if it is one of `ibc.applications.transfer.v1.Query`'s.
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let name = method.strip_prefix("/ibc.applications.transfer.v1.Query/")?;
    Some(match name {
        "DenomTrace" => (|| {
            let r: q::QueryDenomTraceRequest = decode(data)?;
            let hash = r.hash.strip_prefix("ibc/").unwrap_or(&r.hash);
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(QueryError::invalid(
                    "hash: expected 64 hex digits, or ibc/ and 64 hex digits",
                ));
            }
            let hash = hash.to_ascii_uppercase();
            let full = denom_trace(state, &hash)
                .map_err(internal)?
                .ok_or_else(|| QueryError::not_found(format!("denom trace ibc/{hash}")))?;
            Ok(q::QueryDenomTraceResponse {
                denom_trace: Some(trace_of(&full)?),
            }
            .encode_to_vec())
        })(),
        "DenomTraces" => (|| {
            let r: q::QueryDenomTracesRequest = decode(data)?;
            let page = page(r.pagination.as_ref())?;
            let prefix = key::denom_traces_prefix();
            let after = page.after.as_ref().map(|a| {
                let mut k = prefix.clone();
                k.extend_from_slice(a);
                k
            });
            let rows = state
                .prefix_raw(&prefix, after.as_deref(), page.limit)
                .map_err(internal)?;
            let last = rows.last().map(|(k, _)| k[prefix.len()..].to_vec());
            let denom_traces = rows
                .iter()
                .map(|(_, v)| trace_of(&String::from_utf8_lossy(v)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(q::QueryDenomTracesResponse {
                denom_traces,
                pagination: page_response(page.response(rows.len(), last).next_key),
            }
            .encode_to_vec())
        })(),
        "DenomHash" => (|| {
            let r: q::QueryDenomHashRequest = decode(data)?;
            if r.trace.is_empty() || r.trace.len() > MAX_DENOM_PATH_LEN {
                return Err(QueryError::invalid(format!(
                    "trace: 1 to {MAX_DENOM_PATH_LEN} bytes"
                )));
            }
            let hash = denom_hash(&r.trace);
            if denom_trace(state, &hash).map_err(internal)?.is_none() {
                return Err(QueryError::not_found(format!("denom trace {}", r.trace)));
            }
            Ok(q::QueryDenomHashResponse { hash }.encode_to_vec())
        })(),
        "EscrowAddress" => (|| {
            let r: q::QueryEscrowAddressRequest = decode(data)?;
            let (port, channel) = port_channel(&r.port_id, &r.channel_id)?;
            Ok(q::QueryEscrowAddressResponse {
                escrow_address: escrow_address(&port, &channel).to_bech32(),
            }
            .encode_to_vec())
        })(),
        "TotalEscrowForDenom" => (|| {
            let r: q::QueryTotalEscrowForDenomRequest = decode(data)?;
            Coin::validate_denom(&r.denom).map_err(|e| QueryError::invalid(e.to_string()))?;
            let amount = match state
                .get_raw(&key::escrow_total(&r.denom))
                .map_err(internal)?
            {
                None => 0,
                Some(b) => String::from_utf8_lossy(&b)
                    .parse::<u128>()
                    .map_err(internal)?,
            };
            Ok(q::QueryTotalEscrowForDenomResponse {
                amount: Some(ProtoCoin {
                    denom: r.denom,
                    amount: amount.to_string(),
                }),
            }
            .encode_to_vec())
        })(),
        "Params" => (|| {
            let _: q::QueryParamsRequest = decode(data)?;
            let enabled = state.bank_params().map_err(internal)?.send_enabled;
            Ok(q::QueryParamsResponse {
                params: Some(q::Params {
                    send_enabled: enabled,
                    receive_enabled: enabled,
                }),
            }
            .encode_to_vec())
        })(),
        other => Err(QueryError::invalid(format!(
            "unknown method ibc.applications.transfer.v1.Query/{other}"
        ))),
    })
}
