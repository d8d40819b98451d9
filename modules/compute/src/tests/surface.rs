//! The surface the app integrates: message decoding, queries, genesis, errors.

use deai_proto::compute::v1 as pb;
use deai_types::ModuleError;

use super::*;
use crate::{
    gov_address, module_address,
    query::{self, JOBS_PATH},
    ComputeGenesis, JobStatus, Model, Provider,
};

fn q<Resp: Message + Default>(c: &Chain, path: &str, req: &impl Message) -> Resp {
    let bytes = query::query(&c.state, path, &req.encode_to_vec())
        .expect("a compute path")
        .unwrap();
    Resp::decode(bytes.as_slice()).unwrap()
}

#[test]
fn every_message_type_url_round_trips_and_names_its_signer() {
    let p = addr(1);
    let cases: Vec<(Any, Address)> = vec![
        (
            pack(
                crate::MSG_REGISTER_PROVIDER_TYPE_URL,
                &pb::MsgRegisterProvider {
                    provider: p.to_bech32(),
                    bond: "5".into(),
                    device: "gpu".into(),
                },
            ),
            p,
        ),
        (
            pack(
                crate::MSG_BOND_TYPE_URL,
                &pb::MsgBond {
                    provider: p.to_bech32(),
                    amount: "5".into(),
                },
            ),
            p,
        ),
        (
            pack(
                crate::MSG_UNBOND_TYPE_URL,
                &pb::MsgUnbond {
                    provider: p.to_bech32(),
                    amount: "5".into(),
                },
            ),
            p,
        ),
        (submit_any(addr(2), 1, 3, &gemm(b"in")), addr(2)),
        (
            pack(
                crate::MSG_COMMIT_RESULT_TYPE_URL,
                &pb::MsgCommitResult {
                    provider: p.to_bech32(),
                    job_id: 1,
                    commitment: vec![0; 32],
                },
            ),
            p,
        ),
        (reveal_any(p, 1, b"out", b"salt"), p),
        (
            pack(
                crate::MSG_REMOVE_MODEL_TYPE_URL,
                &pb::MsgRemoveModel {
                    authority: gov_address().to_bech32(),
                    model_id: hex::encode([0u8; 32]),
                },
            ),
            gov_address(),
        ),
        (
            pack(
                crate::MSG_UPDATE_PARAMS_TYPE_URL,
                &pb::MsgUpdateParams {
                    authority: gov_address().to_bech32(),
                    params: Some(params().to_proto()),
                },
            ),
            gov_address(),
        ),
    ];
    for (a, signer) in cases {
        let m = Msg::from_any(&a).unwrap();
        assert_eq!(m.type_url(), a.type_url);
        assert_eq!(m.signer(), signer);
        assert!(Msg::handles(&a.type_url));
    }
    let unknown = Any {
        type_url: "/cosmos.bank.v1beta1.MsgSend".into(),
        value: vec![],
    };
    assert!(!Msg::handles(&unknown.type_url));
    assert!(matches!(
        Msg::from_any(&unknown),
        Err(ComputeError::Decode(_))
    ));
    let garbage = Any {
        type_url: crate::MSG_BOND_TYPE_URL.into(),
        value: vec![0xff, 0xff],
    };
    assert!(matches!(
        Msg::from_any(&garbage),
        Err(ComputeError::Decode(_))
    ));
    let bad_addr = pack(
        crate::MSG_BOND_TYPE_URL,
        &pb::MsgBond {
            provider: "cosmos1xyz".into(),
            amount: "5".into(),
        },
    );
    assert!(matches!(
        Msg::from_any(&bad_addr),
        Err(ComputeError::InvalidAddress(_))
    ));
}

#[test]
fn errors_carry_the_compute_codespace_and_distinct_codes() {
    let e = ComputeError::JobNotFound(3);
    assert_eq!(e.codespace(), "compute");
    let e2 = ComputeError::CommitmentMismatch {
        job_id: 1,
        provider: String::new(),
    };
    assert_ne!(e.code(), e2.code());
    assert!(e2.code() > 1);
    let bank = ComputeError::Bank(deai_bank::BankError::InsufficientFunds {
        address: String::new(),
        denom: D.into(),
        available: 0,
        needed: 1,
    });
    assert_eq!((bank.codespace(), bank.code()), ("sdk", 5));
}

#[test]
fn queries_list_jobs_by_status_with_pagination_and_answer_the_rest() {
    let req = addr(100);
    let mut c = Chain::new(params(), &[addr(1), addr(2), req], 10_000_000);
    c.register(addr(1), 2_000_000);
    c.register(addr(2), 2_000_000);
    for _ in 0..3 {
        c.submit(req, 1, 10).unwrap();
    }
    c.submit(req, 2, 10).unwrap();
    // addr(2) drops below the minimum bond: the R = 2 job stays pending.
    c.exec_any(&pack(
        crate::MSG_UNBOND_TYPE_URL,
        &pb::MsgUnbond {
            provider: addr(2).to_bech32(),
            amount: "1500000".into(),
        },
    ))
    .unwrap();
    c.advance();

    let all: pb::QueryJobsResponse = q(&c, JOBS_PATH, &pb::QueryJobsRequest::default());
    assert_eq!(all.jobs.len(), 4);
    assert!(all.pagination.unwrap().next_key.is_empty());

    let pending: pb::QueryJobsResponse = q(
        &c,
        JOBS_PATH,
        &pb::QueryJobsRequest {
            status: JobStatus::Pending as i32,
            pagination: None,
        },
    );
    assert_eq!(
        pending.jobs.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![4]
    );

    let mut ids = Vec::new();
    let mut key = Vec::new();
    loop {
        let page: pb::QueryJobsResponse = q(
            &c,
            JOBS_PATH,
            &pb::QueryJobsRequest {
                status: JobStatus::Assigned as i32,
                pagination: Some(pb::PageRequest { key, limit: 2 }),
            },
        );
        ids.extend(page.jobs.iter().map(|j| j.id));
        key = page.pagination.unwrap().next_key;
        if key.is_empty() {
            break;
        }
    }
    assert_eq!(ids, vec![1, 2, 3]);

    let job: pb::QueryJobResponse = q(&c, query::JOB_PATH, &pb::QueryJobRequest { job_id: 2 });
    assert_eq!(job.job.unwrap().status, JobStatus::Assigned as i32);
    let missing = query::query(
        &c.state,
        query::JOB_PATH,
        &pb::QueryJobRequest { job_id: 99 }.encode_to_vec(),
    )
    .unwrap()
    .unwrap_err();
    assert_eq!(missing.code, 22);

    // Finish job 1 and read its result.
    let p = c.job(1).assignments[0].provider;
    c.commit(p, 1, b"result").unwrap();
    c.reveal(p, 1, b"result").unwrap();
    let res: pb::QueryResultResponse = q(
        &c,
        query::RESULT_PATH,
        &pb::QueryResultRequest { job_id: 1 },
    );
    assert_eq!(res.status, JobStatus::Finalized as i32);
    assert_eq!(res.result_hash, sha3(&[b"result"]).to_vec());
    assert_eq!(res.output, b"result");

    let provs: pb::QueryProvidersResponse = q(
        &c,
        query::PROVIDERS_PATH,
        &pb::QueryProvidersRequest {
            pagination: Some(pb::PageRequest {
                key: vec![],
                limit: 1,
            }),
        },
    );
    assert_eq!(provs.providers.len(), 1);
    let next: pb::QueryProvidersResponse = q(
        &c,
        query::PROVIDERS_PATH,
        &pb::QueryProvidersRequest {
            pagination: Some(pb::PageRequest {
                key: provs.pagination.unwrap().next_key,
                limit: 1,
            }),
        },
    );
    assert_eq!(next.providers[0].address, addr(2).to_bech32());
    let one: pb::QueryProviderResponse = q(
        &c,
        query::PROVIDER_PATH,
        &pb::QueryProviderRequest {
            address: addr(1).to_bech32(),
        },
    );
    assert_eq!(one.provider.unwrap().bond, "2000000");
    let params_resp: pb::QueryParamsResponse =
        q(&c, query::PARAMS_PATH, &pb::QueryParamsRequest {});
    assert_eq!(params_resp.params.unwrap(), params().to_proto());
    let models: pb::QueryModelsResponse =
        q(&c, query::MODELS_PATH, &pb::QueryModelsRequest::default());
    assert!(models.models.is_empty());
    assert!(query::query(&c.state, "/deai.bank.v1.Query/Params", &[]).is_none());
    let bad_status = query::query(
        &c.state,
        JOBS_PATH,
        &pb::QueryJobsRequest {
            status: 42,
            pagination: None,
        }
        .encode_to_vec(),
    )
    .unwrap()
    .unwrap_err();
    assert_eq!(bad_status.code, 18);
}

fn genesis_with_provider(bond: u128) -> ComputeGenesis {
    ComputeGenesis {
        params: params(),
        models: vec![Model {
            id: hex::encode(sha3(&[b"weights"])),
            name: "minilm".into(),
            architecture: "bert".into(),
            quantization: "int8".into(),
            license: "Apache-2.0".into(),
            size_bytes: 1,
        }],
        providers: vec![Provider {
            address: addr(1),
            bond,
            device: "lavapipe".into(),
            jailed_until: 0,
            open_jobs: 0,
            registered_height: 0,
            unbonding: 0,
        }],
    }
}

#[test]
fn genesis_reads_from_json_and_requires_the_bonds_in_the_module_account() {
    let g = genesis_with_provider(2_000_000);
    let json = serde_json::to_string(&g).unwrap();
    assert!(json.contains("\"bond\":\"2000000\""));
    let back: ComputeGenesis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, g);
    let minimal: ComputeGenesis = serde_json::from_str("{}").unwrap();
    assert_eq!(minimal, ComputeGenesis::default());

    let mut unfunded = MemState::default();
    assert!(matches!(
        g.init(&mut unfunded),
        Err(ComputeError::InvalidParams(_))
    ));
    let mut s = MemState::default();
    s.mint(&module_address(), &[Coin::new(2_000_000, D)])
        .unwrap();
    g.init(&mut s).unwrap();
    assert_eq!(s.compute_params().unwrap(), params());
    assert_eq!(s.provider(&addr(1)).unwrap().unwrap().bond, 2_000_000);
    assert_eq!(s.models(None, 10).unwrap().len(), 1);
}

#[test]
fn genesis_validation_rejects_duplicates_small_bonds_and_open_state() {
    assert!(matches!(
        genesis_with_provider(1).validate(),
        Err(ComputeError::BondTooSmall { .. })
    ));
    let mut g = genesis_with_provider(2_000_000);
    g.providers.push(g.providers[0].clone());
    assert!(matches!(g.validate(), Err(ComputeError::ProviderExists(_))));
    let mut g = genesis_with_provider(2_000_000);
    g.models.push(g.models[0].clone());
    assert!(matches!(g.validate(), Err(ComputeError::ModelExists(_))));
    let mut g = genesis_with_provider(2_000_000);
    g.providers[0].open_jobs = 1;
    assert!(g.validate().is_err());
    let mut g = genesis_with_provider(2_000_000);
    g.models[0].id = "nothex".into();
    assert!(matches!(g.validate(), Err(ComputeError::InvalidModel(_))));
}
