//! The compute module's gRPC query methods, answered over ABCI `Query` at
//! `/deai.compute.v1.Query/<Method>` with the request and response types of
//! `deai.compute.v1`. Lists use key pagination: `next_key` is the store key
//! of the last entry returned, to pass back as `pagination.key`.

use cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest as CosmosPageRequest;
use deai_proto::compute::v1 as pb;
use deai_types::{
    query::{address, decode, Page},
    QueryError, StateRead,
};
use prost::Message;

use crate::{ComputeError, ComputeRead, JobStatus};

/// Path of the jobs query.
pub const JOBS_PATH: &str = "/deai.compute.v1.Query/Jobs";
/// Path of the job query.
pub const JOB_PATH: &str = "/deai.compute.v1.Query/Job";
/// Path of the result query.
pub const RESULT_PATH: &str = "/deai.compute.v1.Query/Result";
/// Path of the providers query.
pub const PROVIDERS_PATH: &str = "/deai.compute.v1.Query/Providers";
/// Path of the provider query.
pub const PROVIDER_PATH: &str = "/deai.compute.v1.Query/Provider";
/// Path of the models query.
pub const MODELS_PATH: &str = "/deai.compute.v1.Query/Models";
/// Path of the params query.
pub const PARAMS_PATH: &str = "/deai.compute.v1.Query/Params";
/// Path of the evaluation suites query.
pub const EVAL_SUITES_PATH: &str = "/deai.compute.v1.Query/EvalSuites";
/// Path of a model's evaluations query.
pub const EVALUATIONS_PATH: &str = "/deai.compute.v1.Query/Evaluations";

/// Most jobs one filtered `Jobs` query reads, matching or not, so a rare
/// status cannot make a query scan every job; `next_key` resumes the scan.
pub const MAX_JOBS_SCANNED: usize = 10_000;

fn err(e: ComputeError) -> QueryError {
    QueryError::from_module(&e)
}

fn page(p: Option<&pb::PageRequest>) -> Result<Page, QueryError> {
    let cosmos = p.map(|p| CosmosPageRequest {
        key: p.key.clone(),
        limit: p.limit,
        ..Default::default()
    });
    Page::from_request(cosmos.as_ref())
}

fn page_response(page: &Page, returned: usize, last: Option<Vec<u8>>) -> pb::PageResponse {
    pb::PageResponse {
        next_key: page.response(returned, last).next_key,
    }
}

fn jobs<S: StateRead>(state: &S, req: &pb::QueryJobsRequest) -> Result<Vec<u8>, QueryError> {
    let page = page(req.pagination.as_ref())?;
    let status = JobStatus::try_from(req.status)
        .map_err(|_| QueryError::invalid(format!("unknown job status {}", req.status)))?;
    let mut out = Vec::new();
    let mut after = page.after.clone();
    let mut scanned = 0usize;
    // Stopping on a full page or an exhausted scan budget hands out the last
    // key read; reaching the end of the jobs hands out none.
    let next_key = loop {
        if out.len() >= page.limit || scanned >= MAX_JOBS_SCANNED {
            break after.unwrap_or_default();
        }
        let chunk = page.limit.min(MAX_JOBS_SCANNED.saturating_sub(scanned));
        let batch = state.jobs(after.as_deref(), chunk).map_err(err)?;
        if batch.is_empty() {
            break Vec::new();
        }
        for (k, j) in batch {
            scanned = scanned.saturating_add(1);
            after = Some(k);
            if status == JobStatus::Unspecified || j.status == status {
                out.push(j.to_proto());
                if out.len() >= page.limit {
                    break;
                }
            }
        }
    };
    Ok(pb::QueryJobsResponse {
        jobs: out,
        pagination: Some(pb::PageResponse { next_key }),
    }
    .encode_to_vec())
}

fn job_id_not_found(id: u64) -> QueryError {
    QueryError::not_found(format!("job {id}"))
}

/// Answers `method` if it is one of the compute module's; `None` if it is not.
pub fn query<S: StateRead>(
    state: &S,
    method: &str,
    data: &[u8],
) -> Option<Result<Vec<u8>, QueryError>> {
    let answer = match method {
        JOBS_PATH => decode::<pb::QueryJobsRequest>(data).and_then(|req| jobs(state, &req)),
        JOB_PATH => (|| {
            let req: pb::QueryJobRequest = decode(data)?;
            let job = state
                .job(req.job_id)
                .map_err(err)?
                .ok_or_else(|| job_id_not_found(req.job_id))?;
            Ok(pb::QueryJobResponse {
                job: Some(job.to_proto()),
            }
            .encode_to_vec())
        })(),
        RESULT_PATH => (|| {
            let req: pb::QueryResultRequest = decode(data)?;
            let job = state
                .job(req.job_id)
                .map_err(err)?
                .ok_or_else(|| job_id_not_found(req.job_id))?;
            Ok(pb::QueryResultResponse {
                status: job.status as i32,
                result_hash: job.result_hash.map(|h| h.to_vec()).unwrap_or_default(),
                output: job.output,
            }
            .encode_to_vec())
        })(),
        PROVIDERS_PATH => (|| {
            let req: pb::QueryProvidersRequest = decode(data)?;
            let page = page(req.pagination.as_ref())?;
            let list = state
                .providers(page.after.as_deref(), page.limit)
                .map_err(err)?;
            let last = list.last().map(|(k, _)| k.clone());
            Ok(pb::QueryProvidersResponse {
                pagination: Some(page_response(&page, list.len(), last)),
                providers: list.iter().map(|(_, p)| p.to_proto()).collect(),
            }
            .encode_to_vec())
        })(),
        PROVIDER_PATH => (|| {
            let req: pb::QueryProviderRequest = decode(data)?;
            let addr = address(&req.address)?;
            let p = state
                .provider(&addr)
                .map_err(err)?
                .ok_or_else(|| QueryError::not_found(format!("provider {addr}")))?;
            Ok(pb::QueryProviderResponse {
                provider: Some(p.to_proto()),
            }
            .encode_to_vec())
        })(),
        MODELS_PATH => (|| {
            let req: pb::QueryModelsRequest = decode(data)?;
            let page = page(req.pagination.as_ref())?;
            let list = state
                .models(page.after.as_deref(), page.limit)
                .map_err(err)?;
            let last = list.last().map(|(k, _)| k.clone());
            Ok(pb::QueryModelsResponse {
                pagination: Some(page_response(&page, list.len(), last)),
                models: list.iter().map(|(_, m)| m.to_proto()).collect(),
            }
            .encode_to_vec())
        })(),
        PARAMS_PATH => (|| {
            let _: pb::QueryParamsRequest = decode(data)?;
            let params = state.compute_params().map_err(err)?;
            Ok(pb::QueryParamsResponse {
                params: Some(params.to_proto()),
            }
            .encode_to_vec())
        })(),
        EVAL_SUITES_PATH => (|| {
            let req: pb::QueryEvalSuitesRequest = decode(data)?;
            let page = page(req.pagination.as_ref())?;
            let list = state
                .prefix_raw(
                    &crate::state_key::suites_prefix(),
                    page.after.as_deref(),
                    page.limit,
                )
                .map_err(|e| err(ComputeError::State(e)))?;
            let last = list.last().map(|(k, _)| k.clone());
            let suites = list
                .iter()
                .map(|(_, v)| {
                    pb::EvalSuite::decode(v.as_slice()).map_err(|_| {
                        err(ComputeError::State(deai_types::StateError::Storage(
                            "a stored suite does not decode".into(),
                        )))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(pb::QueryEvalSuitesResponse {
                pagination: Some(page_response(&page, suites.len(), last)),
                suites,
            }
            .encode_to_vec())
        })(),
        EVALUATIONS_PATH => (|| {
            let req: pb::QueryEvaluationsRequest = decode(data)?;
            crate::record::validate_model_id(&req.model_id)
                .map_err(|e| QueryError::invalid(e.to_string()))?;
            let page = page(req.pagination.as_ref())?;
            let history = state
                .prefix_raw(
                    &crate::state_key::evaluation_log_prefix(&req.model_id),
                    page.after.as_deref(),
                    page.limit,
                )
                .map_err(|e| err(ComputeError::State(e)))?;
            let last = history.last().map(|(k, _)| k.clone());
            let mut out = pb::QueryEvaluationsResponse {
                pagination: Some(page_response(&page, history.len(), last)),
                ..Default::default()
            };
            for (_, v) in &history {
                out.history
                    .push(pb::Evaluation::decode(v.as_slice()).map_err(|_| {
                        err(ComputeError::State(deai_types::StateError::Storage(
                            "a stored evaluation does not decode".into(),
                        )))
                    })?);
            }
            for (id, required) in crate::suite::model_suites(state, &req.model_id).map_err(err)? {
                if required {
                    out.required_suites.push(id);
                }
                if let Some(e) = crate::suite::evaluation(state, &req.model_id, id).map_err(err)? {
                    out.evaluations.push(e);
                }
            }
            Ok(out.encode_to_vec())
        })(),
        _ => return None,
    };
    Some(answer)
}
