//! Evaluation suites: governance registers them, anyone runs one (a
//! classify job paid like any other), a settled run with an agreed answer
//! is the model's latest evaluation, and a required suite gates the market.

use deai_proto::compute::v1 as pb;

use super::*;
use crate::{
    gov_address,
    input::{encode_embed_input, CLASSIFY_HIDDEN},
    query::EVALUATIONS_PATH,
    JobStatus, MSG_REGISTER_EVAL_SUITE_TYPE_URL, MSG_REGISTER_MODEL_TYPE_URL,
    MSG_RUN_EVAL_SUITE_TYPE_URL,
};

fn model_id() -> String {
    "ab".repeat(32)
}

fn chain() -> Chain {
    let mut c = setup_with(params(), 3);
    c.exec_any(&pack(
        MSG_REGISTER_MODEL_TYPE_URL,
        &pb::MsgRegisterModel {
            authority: gov_address().to_bech32(),
            model: Some(pb::Model {
                id: model_id(),
                name: "encoder".into(),
                architecture: "bert".into(),
                quantization: "int8".into(),
                license: "apache-2.0".into(),
                size_bytes: 1,
            }),
        },
    ))
    .unwrap();
    c
}

/// Four texts labelled 0, 1, 0, 1 and a zero probe of two classes; passing
/// takes half right.
fn a_suite(required: bool) -> pb::EvalSuite {
    pb::EvalSuite {
        name: "topics".into(),
        model_id: model_id(),
        classes: 2,
        head: vec![0; 2 * CLASSIFY_HIDDEN * 4],
        texts: encode_embed_input(&["one", "two", "three", "four"]).unwrap(),
        labels: vec![0, 1, 0, 1],
        pass_ppm: 500_000,
        required,
        ..Default::default()
    }
}

fn register(
    c: &mut Chain,
    authority: Address,
    s: pb::EvalSuite,
) -> Result<Vec<Event>, ComputeError> {
    c.exec_any(&pack(
        MSG_REGISTER_EVAL_SUITE_TYPE_URL,
        &pb::MsgRegisterEvalSuite {
            authority: authority.to_bech32(),
            suite: Some(s),
        },
    ))
}

fn embed_job(c: &mut Chain) -> Result<Vec<Event>, ComputeError> {
    c.exec_any(&pack(
        crate::MSG_SUBMIT_JOB_TYPE_URL,
        &pb::MsgSubmitJob {
            requester: REQ.to_bech32(),
            kind: "embed".into(),
            model_id: model_id(),
            input: b"hello".to_vec(),
            input_hash: sha3(&[b"hello"]).to_vec(),
            replication: 1,
            price_per_replica: "100".into(),
            deadline: 0,
        },
    ))
}

/// Runs suite `id` with three providers that all answer `output`; returns the job.
fn run(c: &mut Chain, id: u64, output: &[u8]) -> Job {
    let ev = c
        .exec_any(&pack(
            MSG_RUN_EVAL_SUITE_TYPE_URL,
            &pb::MsgRunEvalSuite {
                requester: REQ.to_bech32(),
                suite_id: id,
                replication: 3,
                price_per_replica: "100".into(),
            },
        ))
        .unwrap();
    let job_id: u64 = attr(of_kind(&ev, "compute_job_submitted")[0], "job_id")
        .parse()
        .unwrap();
    c.advance();
    for p in assigned(c, job_id) {
        c.commit(p, job_id, output).unwrap();
    }
    for p in assigned(c, job_id) {
        c.reveal(p, job_id, output).unwrap();
    }
    let deadline = c.job(job_id).reveal_deadline;
    c.advance_to(deadline + 1);
    c.job(job_id)
}

fn evaluations(c: &Chain) -> pb::QueryEvaluationsResponse {
    let req = pb::QueryEvaluationsRequest {
        model_id: model_id(),
        pagination: None,
    };
    let bytes = crate::query::query(&c.state, EVALUATIONS_PATH, &req.encode_to_vec())
        .unwrap()
        .unwrap();
    pb::QueryEvaluationsResponse::decode(bytes.as_slice()).unwrap()
}

#[test]
fn a_required_suite_gates_the_model_until_a_run_passes_and_again_when_one_fails() {
    let mut c = chain();
    // Before any suite the model takes jobs.
    embed_job(&mut c).unwrap();
    let ev = register(&mut c, gov_address(), a_suite(true)).unwrap();
    let registered = of_kind(&ev, "compute_suite_registered");
    assert_eq!(attr(registered[0], "suite_id"), "1");
    assert_eq!(attr(registered[0], "required"), "true");
    let stored = crate::suite::suite(&c.state, 1).unwrap().unwrap();
    assert_eq!(
        stored.hash,
        crate::suite::suite_hash(&stored).unwrap().to_vec()
    );
    // Required and not yet passed: jobs naming the model are refused.
    let err = embed_job(&mut c).unwrap_err().to_string();
    assert!(err.contains("has not passed evaluation suite 1"), "{err}");
    assert_eq!(evaluations(&c).required_suites, vec![1]);

    // A run whose agreed answer gets 3 of 4 right passes (at least half).
    let job = run(&mut c, 1, &[0, 1, 0, 0]);
    assert_eq!(job.status, JobStatus::Finalized);
    assert_eq!(job.kind, crate::Kind::Classify);
    assert_eq!(job.eval_suite_id, 1);
    let e = &evaluations(&c).evaluations[0];
    assert_eq!(
        (e.suite_id, e.job_id, e.correct, e.count, e.passed),
        (1, job.id, 3, 4, true)
    );
    assert_eq!(e.suite_hash, stored.hash);
    assert!(c
        .events
        .iter()
        .any(|ev| ev.kind == "compute_model_evaluated"));
    embed_job(&mut c).unwrap();

    // A later run that gets 1 of 4 right fails it: the model is gated again.
    run(&mut c, 1, &[1, 1, 1, 1]);
    let e = &evaluations(&c).evaluations[0];
    assert_eq!((e.correct, e.passed), (2, true), "2 of 4 is half: passes");
    run(&mut c, 1, &[1, 0, 1, 0]);
    let e = &evaluations(&c).evaluations[0];
    assert_eq!((e.correct, e.passed), (0, false));
    assert!(embed_job(&mut c).is_err());
    // Every run is kept, oldest first.
    let history: Vec<(u32, bool)> = evaluations(&c)
        .history
        .iter()
        .map(|e| (e.correct, e.passed))
        .collect();
    assert_eq!(history, vec![(3, true), (2, true), (0, false)]);
    c.check_books();

    // Governance removes the suite: the model takes jobs again, and a run of a
    // removed suite is refused.
    let remove = |c: &mut Chain, authority: Address| {
        c.exec_any(&pack(
            crate::MSG_REMOVE_EVAL_SUITE_TYPE_URL,
            &pb::MsgRemoveEvalSuite {
                authority: authority.to_bech32(),
                suite_id: 1,
            },
        ))
    };
    assert!(remove(&mut c, REQ).is_err());
    let ev = remove(&mut c, gov_address()).unwrap();
    assert_eq!(of_kind(&ev, "compute_suite_removed").len(), 1);
    assert!(evaluations(&c).evaluations.is_empty());
    assert!(evaluations(&c).required_suites.is_empty());
    assert_eq!(evaluations(&c).history.len(), 3, "the history stays");
    embed_job(&mut c).unwrap();
    assert!(remove(&mut c, gov_address()).is_err(), "removed once");
}

#[test]
fn a_run_without_an_agreed_well_formed_answer_leaves_the_evaluation_as_it_was() {
    let mut c = chain();
    register(&mut c, gov_address(), a_suite(false)).unwrap();
    // An optional suite does not gate the model.
    embed_job(&mut c).unwrap();
    // Too few classes, a class past the head, the invalid-input answer.
    for output in [
        &[0u8, 1, 0][..],
        &[0, 1, 0, 2],
        crate::input::INVALID_INPUT_OUTPUT,
    ] {
        let job = run(&mut c, 1, output);
        assert_eq!(job.status, JobStatus::Finalized);
        assert!(evaluations(&c).evaluations.is_empty(), "{output:?}");
    }
    let job = run(&mut c, 1, &[0, 1, 0, 1]);
    let e = &evaluations(&c).evaluations[0];
    assert_eq!((e.job_id, e.correct, e.passed), (job.id, 4, true));
    assert!(evaluations(&c).required_suites.is_empty());
}

#[test]
fn only_governance_registers_well_formed_suites_for_registered_models() {
    let mut c = chain();
    let err = register(&mut c, REQ, a_suite(true))
        .unwrap_err()
        .to_string();
    assert!(err.contains("gov") || err.contains("authority"), "{err}");
    let bad = |edit: &dyn Fn(&mut pb::EvalSuite)| {
        let mut s = a_suite(true);
        edit(&mut s);
        s
    };
    for (suite, why) in [
        (bad(&|s| s.labels.pop().map(drop).unwrap_or(())), "3 labels"),
        (bad(&|s| s.labels[0] = 2), "label >= classes"),
        (bad(&|s| s.classes = 1), "classes must be 2 to 16"),
        (bad(&|s| s.head.pop().map(drop).unwrap_or(())), "head is"),
        (bad(&|s| s.pass_ppm = 1_000_001), "pass_ppm"),
        (bad(&|s| s.texts = vec![0xff]), "not UTF-8"),
        (bad(&|s| s.name.clear()), "name"),
    ] {
        let err = register(&mut c, gov_address(), suite)
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{why}: {err}");
    }
    let err = register(
        &mut c,
        gov_address(),
        bad(&|s| s.model_id = "cd".repeat(32)),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("cd"), "{err}");
    for _ in 0..crate::suite::MAX_SUITES_PER_MODEL {
        register(&mut c, gov_address(), a_suite(false)).unwrap();
    }
    let err = register(&mut c, gov_address(), a_suite(false))
        .unwrap_err()
        .to_string();
    assert!(err.contains("already has 8 suites"), "{err}");
    // Running a suite that does not exist is refused.
    let err = c
        .exec_any(&pack(
            MSG_RUN_EVAL_SUITE_TYPE_URL,
            &pb::MsgRunEvalSuite {
                requester: REQ.to_bech32(),
                suite_id: 99,
                replication: 3,
                price_per_replica: "100".into(),
            },
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no suite 99"), "{err}");
    // One provider's word cannot set a model's score.
    let err = c
        .exec_any(&pack(
            MSG_RUN_EVAL_SUITE_TYPE_URL,
            &pb::MsgRunEvalSuite {
                requester: REQ.to_bech32(),
                suite_id: 1,
                replication: 2,
                price_per_replica: "100".into(),
            },
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 3 providers"), "{err}");
}
