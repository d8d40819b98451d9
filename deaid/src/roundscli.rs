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
