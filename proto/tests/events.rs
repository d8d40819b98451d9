//! Every event message in the descriptor set follows the convention of
//! [`deai_proto::events`], and events convert to attributes and back.

use std::collections::{BTreeMap, BTreeSet};

use deai_proto::{
    app::v1::EventTx,
    compute::v1::{EventComputeJobAssigned, EventComputeJobSettled},
    descriptor_pool,
    events::{self, EventError},
};
use prost_reflect::Kind;

fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_event_message_in_the_descriptor_set_follows_the_convention() {
    let mut kinds: BTreeMap<String, String> = BTreeMap::new();
    let mut packages = BTreeSet::new();
    for desc in descriptor_pool().all_messages() {
        if !desc.package_name().starts_with("deai.") || !desc.name().starts_with("Event") {
            continue;
        }
        let kind = events::check(&desc).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            desc.package_name().ends_with(".v1")
                && desc.parent_file().name().ends_with("/v1/events.proto"),
            "{} belongs in its package's events.proto",
            desc.full_name()
        );
        assert_eq!(events::message_name_of(&kind), desc.name());
        for field in desc.fields() {
            assert_eq!(field.kind(), Kind::String, "{}", field.full_name());
        }
        if let Some(other) = kinds.insert(kind.clone(), desc.full_name().to_owned()) {
            panic!("{other} and {} both have kind {kind}", desc.full_name());
        }
        packages.insert(desc.package_name().to_owned());
    }
    // Every module has its events in proto, and the index finds them all.
    for module in ["app", "auth", "bank", "compute", "gov", "treasury"] {
        assert!(packages.contains(&format!("deai.{module}.v1")), "{module}");
    }
    let indexed: BTreeMap<String, String> = events::event_messages()
        .iter()
        .map(|(k, d)| (k.clone(), d.full_name().to_owned()))
        .collect();
    assert_eq!(indexed, kinds);
}

#[test]
fn kinds_and_message_names_convert_both_ways() {
    assert_eq!(
        events::kind_of("EventComputeJobSubmitted").as_deref(),
        Some("compute_job_submitted")
    );
    assert_eq!(events::kind_of("EventTx").as_deref(), Some("tx"));
    assert_eq!(events::message_name_of("coin_spent"), "EventCoinSpent");
    // Names that no kind converts back to are no event names.
    for name in ["Event", "Params", "EventFoo_bar", "Eventfoo", "Event1x"] {
        assert_eq!(events::kind_of(name), None, "{name}");
    }
}

#[test]
fn a_typed_event_gives_its_attributes_in_field_order_with_one_per_repeated_value() {
    let e = EventComputeJobAssigned {
        job_id: "7".into(),
        kind: "gemm-i8".into(),
        model_id: String::new(),
        input_hash: "ab".into(),
        commit_deadline: "10".into(),
        reveal_deadline: "20".into(),
        provider: vec!["deai1a".into(), "deai1b".into()],
    };
    let (kind, attributes) = events::encode(&e).unwrap();
    assert_eq!(kind, "compute_job_assigned");
    let expected = attrs(&[
        ("job_id", "7"),
        ("kind", "gemm-i8"),
        ("model_id", ""),
        ("input_hash", "ab"),
        ("commit_deadline", "10"),
        ("reveal_deadline", "20"),
        ("provider", "deai1a"),
        ("provider", "deai1b"),
    ]);
    assert_eq!(attributes, expected);
    assert_eq!(
        events::decode::<EventComputeJobAssigned>(&kind, &attributes).unwrap(),
        e
    );
}

#[test]
fn unset_optional_fields_give_no_attribute_and_come_back_unset() {
    let fee = EventTx {
        fee: Some("5udeai".into()),
        fee_payer: Some("deai1p".into()),
        ..Default::default()
    };
    let (kind, attributes) = events::encode(&fee).unwrap();
    assert_eq!(kind, "tx");
    assert_eq!(
        attributes,
        attrs(&[("fee", "5udeai"), ("fee_payer", "deai1p")])
    );
    assert_eq!(events::decode::<EventTx>(&kind, &attributes).unwrap(), fee);
    // An optional field set to the empty string is still written.
    let empty = EventTx {
        signature: Some(String::new()),
        ..Default::default()
    };
    let (_, attributes) = events::encode(&empty).unwrap();
    assert_eq!(attributes, attrs(&[("signature", "")]));
    assert_eq!(events::decode::<EventTx>("tx", &attributes).unwrap(), empty);
}

#[test]
fn attributes_that_do_not_fit_the_message_are_refused() {
    let settled = |pairs: &[(&str, &str)]| {
        events::decode::<EventComputeJobSettled>("compute_job_settled", &attrs(pairs))
    };
    let full = [
        ("job_id", "1"),
        ("requester", "deai1r"),
        ("status", "finalized"),
        ("result_hash", ""),
        ("refund", "0"),
        ("outcome", "result"),
    ];
    assert!(settled(&full).is_ok());
    let mut swapped = full;
    swapped.swap(0, 1);
    assert!(matches!(
        settled(&swapped),
        Err(EventError::OutOfOrder { .. })
    ));
    let mut twice = full.to_vec();
    twice.insert(1, ("job_id", "2"));
    assert!(matches!(
        settled(&twice),
        Err(EventError::OutOfOrder { .. })
    ));
    assert!(matches!(
        settled(&full[..5]),
        Err(EventError::Missing { key, .. }) if key == "outcome"
    ));
    let mut unknown = full.to_vec();
    unknown.push(("extra", "x"));
    assert!(matches!(
        settled(&unknown),
        Err(EventError::UnknownAttribute { .. })
    ));
    assert!(matches!(
        events::decode::<EventComputeJobSettled>(
            "compute_job_waiting",
            &attrs(&[("job_id", "1"), ("next_try", "3")])
        ),
        Err(EventError::WrongKind { .. })
    ));
    assert!(matches!(
        events::from_attributes("no_such_event", &[]),
        Err(EventError::UnknownKind(_))
    ));
}
