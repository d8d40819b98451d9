//! `deaid query rounds round | rounds | lineage`: private data rounds (their
//! configuration, phase, contributors and outcome) and the lineage of the
//! model versions they produced (parents, privacy parameters, evaluations).

use clap::Subcommand;
use deai_client::NodeClient;
use deai_proto::rounds::v1 as pb;
use prost::Message;

use crate::{print_out, protojson::response_json, NodeArgs};

/// Private data round queries.
#[derive(Subcommand)]
pub enum RoundsQueryCmd {
    /// Round ID: its configuration, phase and windows, contributors and outcome.
    Round {
        /// The round's id.
        id: u64,
    },
    /// Every round, a page at a time.
    Rounds {
        /// Rounds after this many (paging).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// Rounds on the page (the chain caps it).
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// Model version VERSION and its parents back to the first round: each
    /// one's round, contributors, privacy (ε for the round and cumulative)
    /// and evaluation.
    Lineage {
        /// The version's number.
        version: u64,
    },
}

/// Runs a rounds query; the answer is printed as the REST gateway's JSON
/// (also with `--output text`, where it is indented).
pub async fn rounds_query(node: &NodeArgs, cmd: RoundsQueryCmd) -> anyhow::Result<()> {
    let (path, request) = match cmd {
        RoundsQueryCmd::Round { id } => (
            "/deai.rounds.v1.Query/Round",
            pb::QueryRoundRequest { round_id: id }.encode_to_vec(),
        ),
        RoundsQueryCmd::Rounds { offset, limit } => (
            "/deai.rounds.v1.Query/Rounds",
            pb::QueryRoundsRequest {
                pagination: Some(
                    cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest {
                        offset,
                        limit,
                        ..Default::default()
                    },
                ),
            }
            .encode_to_vec(),
        ),
        RoundsQueryCmd::Lineage { version } => (
            "/deai.rounds.v1.Query/Lineage",
            pb::QueryLineageRequest { version }.encode_to_vec(),
        ),
    };
    let bytes = NodeClient::new(&node.node)?.query(path, request).await?;
    let json = response_json(path, &bytes)?;
    print_out(&node.output, &json, &serde_json::to_string_pretty(&json)?)
}

/// Most pages of 100 rounds `query compute model` reads.
const MAX_ROUND_PAGES: u64 = 1_000;

/// ε × 10^6 as a decimal.
fn epsilon(micro: u64) -> String {
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

/// `deaid query compute model ID`: the registered model, and what private
/// data rounds made of it: each round on it (its ε at δ = 10^-6 and its
/// evaluation: correct answers of the parent and the new head on the
/// round's evaluation set), and each version (the height it was made at)
/// with its parent chain back to the registered base (version 0).
pub async fn model_query(node: &NodeArgs, id: &str) -> anyhow::Result<()> {
    use deai_proto::compute::v1 as cpb;
    let client = NodeClient::new(&node.node)?;
    let models: cpb::QueryModelsResponse = client
        .ask(
            deai_compute_module::query::MODELS_PATH,
            &cpb::QueryModelsRequest { pagination: None },
        )
        .await?;
    let model = models
        .models
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| {
            anyhow::anyhow!("model {id} is not registered (see `query compute models`)")
        })?;
    let mut rounds = Vec::new();
    for page in 0..MAX_ROUND_PAGES {
        let r: pb::QueryRoundsResponse = client
            .ask(
                "/deai.rounds.v1.Query/Rounds",
                &pb::QueryRoundsRequest {
                    pagination: Some(
                        cosmos_sdk_proto::cosmos::base::query::v1beta1::PageRequest {
                            offset: page * 100,
                            limit: 100,
                            ..Default::default()
                        },
                    ),
                },
            )
            .await?;
        let n = r.rounds.len();
        rounds.extend(
            r.rounds
                .into_iter()
                .filter(|r| r.config.as_ref().is_some_and(|c| c.base_model_id == id)),
        );
        if n < 100 {
            break;
        }
    }
    let mut versions = Vec::new();
    for v in rounds.iter().map(|r| r.new_version).filter(|&v| v != 0) {
        let l: pb::QueryLineageResponse = client
            .ask(
                "/deai.rounds.v1.Query/Lineage",
                &pb::QueryLineageRequest { version: v },
            )
            .await?;
        versions.extend(l.versions.into_iter().take(1));
    }
    let evaluations: cpb::QueryEvaluationsResponse = client
        .ask(
            deai_compute_module::query::EVALUATIONS_PATH,
            &cpb::QueryEvaluationsRequest {
                model_id: id.to_string(),
                // The first page of the history: the 100 oldest runs.
                pagination: Some(cpb::PageRequest {
                    key: Vec::new(),
                    limit: 100,
                }),
            },
        )
        .await?;
    let json = serde_json::json!({
        "evaluations": response_json(
            deai_compute_module::query::EVALUATIONS_PATH,
            &evaluations.encode_to_vec(),
        )?,
        "model": response_json(
            deai_compute_module::query::MODELS_PATH,
            &cpb::QueryModelsResponse { models: vec![model.clone()], pagination: None }.encode_to_vec(),
        )?["models"][0],
        "rounds": response_json(
            "/deai.rounds.v1.Query/Rounds",
            &pb::QueryRoundsResponse { rounds: rounds.clone(), pagination: None }.encode_to_vec(),
        )?["rounds"],
        "versions": response_json(
            "/deai.rounds.v1.Query/Lineage",
            &pb::QueryLineageResponse { versions: versions.clone(), head: Vec::new() }.encode_to_vec(),
        )?["versions"],
    });
    let mut text = vec![format!(
        "model {}  {}  {} {}  {}  {} bytes  (version 0: registered by governance)",
        model.id,
        model.name,
        model.architecture,
        model.quantization,
        model.license,
        model.size_bytes
    )];
    for e in &evaluations.evaluations {
        let required = evaluations.required_suites.contains(&e.suite_id);
        text.push(format!(
            "evaluation suite {} ({})  {}/{}  {}  by classify job {} at height {}  suite hash {}",
            e.suite_id,
            if required { "required" } else { "optional" },
            e.correct,
            e.count,
            if e.passed { "passed" } else { "FAILED" },
            e.job_id,
            e.height,
            hex::encode(&e.suite_hash)
        ));
    }
    if evaluations.history.len() > evaluations.evaluations.len() {
        text.push(format!(
            "evaluation history ({} runs{}):",
            evaluations.history.len(),
            if evaluations
                .pagination
                .as_ref()
                .is_some_and(|p| !p.next_key.is_empty())
            {
                ", the oldest 100 shown"
            } else {
                ""
            }
        ));
        for e in &evaluations.history {
            text.push(format!(
                "  suite {}  {}/{}  {}  job {}  height {}",
                e.suite_id,
                e.correct,
                e.count,
                if e.passed { "passed" } else { "failed" },
                e.job_id,
                e.height
            ));
        }
    }
    for s in &evaluations.required_suites {
        if !evaluations
            .evaluations
            .iter()
            .any(|e| e.suite_id == *s && e.passed)
        {
            text.push(format!(
                "not usable in the market: required evaluation suite {s} not passed (`deaid tx compute run-suite {s}`)"
            ));
        }
    }
    if rounds.is_empty() {
        text.push("no private data rounds on this model".into());
    }
    for r in &rounds {
        let parent = r.config.as_ref().map_or(0, |c| c.parent_version);
        text.push(format!(
            "round {}  from version {parent}  {}  {} of {} joined submitted  epsilon {} (delta 1e-6)  eval {}/{} (parent {}/{})  opened at height {}{}",
            r.id,
            r.status,
            r.submitted,
            r.joined,
            epsilon(r.epsilon_micro),
            r.new_correct,
            r.eval_count,
            r.parent_correct,
            r.eval_count,
            r.opened_height,
            if r.reason.is_empty() { String::new() } else { format!("  ({})", r.reason) }
        ));
        if r.new_eval_job != 0 {
            text.push(format!(
                "  evaluated in the compute market: classify jobs {} (parent) and {} (new), {}udeai of the pool",
                r.parent_eval_job,
                r.new_eval_job,
                if r.eval_spent.is_empty() { "0" } else { &r.eval_spent }
            ));
        }
    }
    for v in &versions {
        let by = match v.eval_job {
            0 => "on chain".to_string(),
            job => format!("by classify job {job}"),
        };
        let set = hex::encode(&v.eval_set_hash);
        text.push(format!(
            "version {}  parent {}  round {}  {} contributors  epsilon {} (cumulative {})  eval {}/{} (parent {}/{}) on set {} {by}  height {}",
            v.id,
            v.parent,
            v.round_id,
            v.contributors,
            epsilon(v.epsilon_micro),
            epsilon(v.cumulative_epsilon_micro),
            v.eval_correct,
            v.eval_count,
            v.parent_eval_correct,
            v.eval_count,
            if set.is_empty() { "-" } else { &set[..set.len().min(16)] },
            v.height
        ));
    }
    print_out(&node.output, &json, &text.join("\n"))
}
