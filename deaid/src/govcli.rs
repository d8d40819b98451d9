//! `deaid tx gov …`, `deaid tx treasury …`, `deaid query gov …` and
//! `deaid query treasury …`: proposals from JSON files, deposits, votes,
//! delegation, treasury funding, and the queries that show them.

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use cosmos_sdk_proto::{
    cosmos::{base::v1beta1::Coin as ProtoCoin, gov::v1 as sdk},
    Any,
};
use deai_app::home::Home;
use deai_client::{
    tx::{any, msg_vote},
    NodeClient,
};
use deai_proto::{compute::v1 as cpb, gov::v1 as gpb, treasury::v1 as tpb};
use deai_types::{Address, Coin};
use serde_json::{json, Value};

use crate::{
    coins_text,
    protojson::{any_json, ask, message_from_json, Answer},
    txcli::{sign_and_broadcast, TxFlags},
    NodeArgs,
};

/// Governance transactions.
#[derive(Subcommand)]
pub enum GovTxCmd {
    /// Submit a proposal described by a JSON file (see `draft-proposal`).
    SubmitProposal {
        /// The proposal file.
        file: std::path::PathBuf,
        /// The proposer's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Print a proposal template to edit and submit.
    DraftProposal {
        /// text, spend, stream, cancel-stream, gov-params, treasury-params,
        /// bank-params, auth-params, compute-params, register-model,
        /// treasury-job, open-round (a private data round: fill its
        /// eval_set and eval_set_hash from `deai-compute round eval-set --texts`)
        /// or eval-suite (an evaluation suite a model must pass to take jobs).
        #[arg(long, default_value = "spend", value_parser = DRAFT_KINDS)]
        kind: String,
    },
    /// Add to a proposal's deposit.
    Deposit {
        /// The proposal id.
        id: u64,
        /// Coins, e.g. 10000000udeai.
        amount: String,
        /// The depositor's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Vote yes, no, abstain or no_with_veto.
    Vote {
        /// The proposal id.
        id: u64,
        /// yes, no, abstain or no_with_veto.
        option: String,
        /// The voter's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Split a vote, e.g. `yes=0.6,no=0.4` (weights sum to 1).
    WeightedVote {
        /// The proposal id.
        id: u64,
        /// option=weight pairs.
        options: String,
        /// The voter's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Lend your voting power to ADDR (`none` takes it back).
    Delegate {
        /// The delegate's address, or `none`.
        delegate: String,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Accept or refuse voting power lent to you (refusing stops delegations
    /// made to you from counting in votes that start while you refuse).
    DelegationPolicy {
        /// `accept` or `refuse`.
        #[arg(value_parser = ["accept", "refuse"])]
        policy: String,
        /// The delegate's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Withdraw your own proposal (part of your own deposit is burned).
    Cancel {
        /// The proposal id.
        id: u64,
        /// The proposer's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Treasury transactions.
#[derive(Subcommand)]
pub enum TreasuryTxCmd {
    /// Give coins to the treasury.
    Fund {
        /// Coins, e.g. 1000000udeai.
        amount: String,
        /// The funder's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Governance queries.
#[derive(Subcommand)]
pub enum GovQueryCmd {
    /// All proposals, optionally by status.
    Proposals {
        /// deposit_period, voting_period, passed, rejected, failed, vetoed, cancelled or expired.
        #[arg(long)]
        status: Option<String>,
    },
    /// One proposal.
    Proposal {
        /// The id.
        id: u64,
    },
    /// The votes on a proposal.
    Votes {
        /// The id.
        id: u64,
    },
    /// The deposits on a proposal.
    Deposits {
        /// The id.
        id: u64,
    },
    /// The live (or final) tally of a proposal.
    Tally {
        /// The id.
        id: u64,
    },
    /// Whom an address lends its voting power to.
    Delegation {
        /// A deai1… address.
        address: Address,
    },
    /// The governance parameters.
    Params,
}

/// Treasury queries.
#[derive(Subcommand)]
pub enum TreasuryQueryCmd {
    /// What the treasury holds and has paid out this epoch.
    Balance,
    /// Streams, optionally by status (ACTIVE, COMPLETED, CANCELLED).
    Streams {
        /// The status.
        #[arg(long)]
        status: Option<String>,
    },
    /// The history of payments out of the treasury.
    Spends,
    /// The treasury parameters.
    Params,
}

fn proto_coins(s: &str, what: &str) -> anyhow::Result<Vec<ProtoCoin>> {
    let coins = Coin::parse_list(s).with_context(|| format!("{what}: {s:?}"))?;
    Ok(coins
        .iter()
        .map(|c| ProtoCoin {
            denom: c.denom.clone(),
            amount: c.amount.to_string(),
        })
        .collect())
}

/// The proposal file's string field `name`.
fn text_field(v: &Value, name: &str) -> anyhow::Result<String> {
    match v.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => bail!("{name:?} must be a string"),
        None => bail!("the proposal file has no {name:?}"),
    }
}

/// Reads a proposal file into a `MsgSubmitProposal` from `proposer`: a
/// title, a summary, optional metadata, a deposit such as
/// `"10000000udeai"`, `expedited`, and `messages`, each the proto JSON of a
/// message (see [`message_from_json`]). Unknown fields are refused.
pub fn proposal_from_json(
    text: &str,
    proposer: &Address,
) -> anyhow::Result<sdk::MsgSubmitProposal> {
    let v: Value = serde_json::from_str(text).context("the proposal file is not valid JSON")?;
    let obj = v
        .as_object()
        .ok_or_else(|| anyhow!("the proposal file must hold a JSON object"))?;
    const KNOWN: [&str; 6] = [
        "title",
        "summary",
        "metadata",
        "deposit",
        "expedited",
        "messages",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        bail!(
            "unknown field {k:?} in the proposal file (known: {})",
            KNOWN.join(", ")
        );
    }
    let messages = match v.get("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, m)| message_from_json(m, i))
            .collect::<anyhow::Result<_>>()?,
        Some(_) => bail!("\"messages\" must be a list"),
    };
    Ok(sdk::MsgSubmitProposal {
        messages,
        initial_deposit: match v.get("deposit") {
            None => Vec::new(),
            Some(Value::String(s)) => proto_coins(s, "deposit")?,
            Some(_) => bail!("\"deposit\" must be coins like \"10000000udeai\""),
        },
        proposer: proposer.to_bech32(),
        metadata: match v.get("metadata") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => bail!("\"metadata\" must be a string"),
        },
        title: text_field(&v, "title")?,
        summary: text_field(&v, "summary")?,
        expedited: match v.get("expedited") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => bail!("\"expedited\" must be true or false"),
        },
    })
}

/// The message of a proposal template of `kind` (`None` for a text
/// proposal): a real one, built from the module's types (default params,
/// say); placeholders such as `deai1…` are to be replaced.
fn draft_message(kind: &str) -> anyhow::Result<Option<Any>> {
    let gov = deai_gov::authority().to_bech32();
    let coins = |amount: &str| {
        vec![ProtoCoin {
            denom: deai_types::BASE_DENOM.to_string(),
            amount: amount.to_string(),
        }]
    };
    let message = match kind {
        "text" => None,
        "spend" => Some(any(
            deai_treasury::MSG_SPEND_TYPE_URL,
            &tpb::MsgSpend {
                authority: gov,
                recipient: "deai1…".to_string(),
                amount: coins("1000000"),
            },
        )),
        "stream" => Some(any(
            deai_treasury::MSG_CREATE_STREAM_TYPE_URL,
            &tpb::MsgCreateStream {
                authority: gov,
                recipient: "deai1…".to_string(),
                amount_per_block: coins("1000"),
                payments: 1000,
            },
        )),
        "cancel-stream" => Some(any(
            deai_treasury::MSG_CANCEL_STREAM_TYPE_URL,
            &tpb::MsgCancelStream {
                authority: gov,
                stream_id: 1,
            },
        )),
        "gov-params" => Some(any(
            deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
            &gpb::MsgUpdateParams {
                authority: gov,
                params: Some(deai_gov::GovParams::default().to_proto()),
            },
        )),
        "treasury-params" => Some(any(
            deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL,
            &tpb::MsgUpdateParams {
                authority: gov,
                params: Some(deai_treasury::TreasuryParams::default().to_proto()),
            },
        )),
        "bank-params" => Some(any(
            deai_bank::MSG_UPDATE_PARAMS_TYPE_URL,
            &deai_proto::bank::v1::MsgUpdateParams {
                authority: gov,
                params: Some(deai_bank::BankParams::default().to_proto()),
            },
        )),
        "auth-params" => Some(any(
            deai_auth::MSG_UPDATE_PARAMS_TYPE_URL,
            &deai_proto::auth::v1::MsgUpdateParams {
                authority: gov,
                params: Some(deai_auth::AuthParams::default().to_proto()),
            },
        )),
        "compute-params" => Some(any(
            deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL,
            &cpb::MsgUpdateParams {
                authority: gov,
                params: Some(deai_compute_module::ComputeParams::default().to_proto()),
            },
        )),
        "register-model" => Some(any(
            deai_compute_module::MSG_REGISTER_MODEL_TYPE_URL,
            &cpb::MsgRegisterModel {
                authority: gov,
                model: Some(cpb::Model {
                    id: "<64 hex: SHA3-256 of the weight file>".to_string(),
                    name: "all-MiniLM-L6-v2".to_string(),
                    architecture: "bert".to_string(),
                    quantization: "int8".to_string(),
                    license: "Apache-2.0".to_string(),
                    size_bytes: 90_868_376,
                }),
            },
        )),
        "treasury-job" => {
            // A job the treasury pays for: the requester is the treasury.
            // The input is base64 in proto JSON; its hash must match it.
            use sha3::Digest as _;
            let input = b"Public-good compute, paid by the DAO.".to_vec();
            Some(any(
                deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
                &cpb::MsgSubmitJob {
                    requester: deai_treasury::address().to_bech32(),
                    kind: "embed".to_string(),
                    model_id: "<64 hex>".to_string(),
                    input_hash: sha3::Sha3_256::digest(&input).to_vec(),
                    input,
                    replication: 3,
                    price_per_replica: "1000".to_string(),
                    deadline: 0,
                },
            ))
        }
        "open-round" => Some(any(
            deai_rounds::MSG_OPEN_ROUND_TYPE_URL,
            &deai_proto::rounds::v1::MsgOpenRound {
                authority: gov,
                config: Some(deai_proto::rounds::v1::RoundConfig {
                    base_model_id: "<64 hex: a registered model's id>".to_string(),
                    parent_version: 0,
                    classes: 4,
                    lr_num: 1,
                    lr_den: 1,
                    // Clip norm 512 (the features are unit vectors times 512);
                    // summed noise sigma 362, 0.71 of it, once 5 submit.
                    clip_l2_squared: 1 << 18,
                    noise_variance: 1 << 17,
                    min_contributors: 5,
                    max_contributors: 16,
                    min_provider_bond: "1000000".to_string(),
                    reward_pool: Some(ProtoCoin {
                        denom: deai_types::BASE_DENOM.to_string(),
                        amount: "10000000".to_string(),
                    }),
                    join_blocks: 100,
                    submit_blocks: 100,
                    reveal_blocks: 50,
                    eval_set_hash: Vec::new(),
                    // Each head is scored by a classify job of 3 providers
                    // (an evaluation set of texts); the price must cover
                    // the texts' work units at the market's minimum.
                    eval_replication: 3,
                    eval_price_per_replica: "200000".to_string(),
                }),
                eval_set: Some(deai_proto::rounds::v1::EvalSet::default()),
            },
        )),
        "eval-suite" => Some(any(
            deai_compute_module::MSG_REGISTER_EVAL_SUITE_TYPE_URL,
            &cpb::MsgRegisterEvalSuite {
                authority: gov,
                suite: Some(cpb::EvalSuite {
                    name: "Topic accuracy".to_string(),
                    model_id: "<64 hex: a registered model's id>".to_string(),
                    classes: 4,
                    // Fill head (classes x 384 i32, base64: a round version's
                    // `deaid query rounds lineage V --output json` head), and
                    // texts and labels (`deai-compute round eval-set --texts`).
                    head: Vec::new(),
                    texts: Vec::new(),
                    labels: Vec::new(),
                    pass_ppm: 800_000,
                    required: true,
                    ..Default::default()
                }),
            },
        )),
        other => bail!("--kind {other:?}: use {}", DRAFT_KINDS.join(", ")),
    };
    Ok(message)
}

/// A proposal template of `kind`, its message rendered as the proto JSON
/// that [`proposal_from_json`] reads back.
pub fn draft(kind: &str) -> anyhow::Result<Value> {
    let message = draft_message(kind)?;
    Ok(json!({
        "title": "A short title",
        "summary": "What this proposal does and why.",
        "metadata": "",
        "deposit": deai_gov::GovParams::default().min_deposit.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        "expedited": false,
        "messages": message.iter().map(any_json).collect::<anyhow::Result<Vec<_>>>()?,
    }))
}

/// The kinds of proposal `draft-proposal` has templates for.
pub const DRAFT_KINDS: [&str; 13] = [
    "text",
    "spend",
    "stream",
    "cancel-stream",
    "gov-params",
    "treasury-params",
    "bank-params",
    "auth-params",
    "compute-params",
    "register-model",
    "treasury-job",
    "open-round",
    "eval-suite",
];

/// Parses a vote option name.
pub fn parse_option(s: &str) -> anyhow::Result<gpb::VoteOption> {
    Ok(match s.to_ascii_lowercase().as_str() {
        "yes" => gpb::VoteOption::Yes,
        "no" => gpb::VoteOption::No,
        "abstain" => gpb::VoteOption::Abstain,
        "no_with_veto" | "veto" | "nowithveto" => gpb::VoteOption::NoWithVeto,
        other => bail!("vote option {other:?}: use yes, no, abstain or no_with_veto"),
    })
}

/// Runs a governance transaction command.
pub async fn gov_tx(home: &Home, cmd: GovTxCmd) -> anyhow::Result<()> {
    match cmd {
        GovTxCmd::DraftProposal { kind } => {
            println!("{}", serde_json::to_string_pretty(&draft(&kind)?)?);
        }
        GovTxCmd::SubmitProposal { file, from, flags } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let output = flags.node.output.clone();
            let r = sign_and_broadcast(home, &from, flags, "submit a proposal", |addr| {
                let m = proposal_from_json(&text, addr)
                    .with_context(|| format!("in {}", file.display()))?;
                Ok(vec![any(deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL, &m)])
            })
            .await?;
            if let Some(id) = r.and_then(|r| r.attr("submit_proposal", "proposal_id")) {
                if output == "text" {
                    println!("proposal {id}");
                }
            }
        }
        GovTxCmd::Deposit {
            id,
            amount,
            from,
            flags,
        } => {
            let amount = proto_coins(&amount, "amount")?;
            sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("deposit on proposal {id}"),
                |a| {
                    Ok(vec![any(
                        deai_gov::MSG_DEPOSIT_TYPE_URL,
                        &sdk::MsgDeposit {
                            proposal_id: id,
                            depositor: a.to_bech32(),
                            amount,
                        },
                    )])
                },
            )
            .await?;
        }
        GovTxCmd::Vote {
            id,
            option,
            from,
            flags,
        } => {
            let o = parse_option(&option)?;
            sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("vote {option} on proposal {id}"),
                |a| Ok(vec![msg_vote(a, id, o)]),
            )
            .await?;
        }
        GovTxCmd::WeightedVote {
            id,
            options,
            from,
            flags,
        } => {
            let parsed = options
                .split(',')
                .map(|pair| {
                    let (o, w) = pair
                        .split_once('=')
                        .ok_or_else(|| anyhow!("{pair:?}: write option=weight, e.g. yes=0.6"))?;
                    deai_gov::msg::parse_weight(w.trim())?;
                    Ok(sdk::WeightedVoteOption {
                        option: parse_option(o.trim())? as i32,
                        weight: w.trim().to_string(),
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            sign_and_broadcast(
                home,
                &from,
                flags,
                &format!("vote {options} on proposal {id}"),
                |a| {
                    let m = sdk::MsgVoteWeighted {
                        proposal_id: id,
                        voter: a.to_bech32(),
                        options: parsed,
                        metadata: String::new(),
                    };
                    deai_gov::msg::GovMsg::vote_weighted(&m)?;
                    Ok(vec![any(deai_gov::MSG_VOTE_WEIGHTED_TYPE_URL, &m)])
                },
            )
            .await?;
        }
        GovTxCmd::Delegate {
            delegate,
            from,
            flags,
        } => {
            let delegate = if delegate == "none" {
                String::new()
            } else {
                delegate
                    .parse::<Address>()
                    .with_context(|| format!("{delegate:?} is not a deai1… address (or none)"))?
                    .to_bech32()
            };
            sign_and_broadcast(home, &from, flags, "delegate voting power", |a| {
                Ok(vec![any(
                    deai_gov::MSG_DELEGATE_TYPE_URL,
                    &gpb::MsgDelegateVotingPower {
                        delegator: a.to_bech32(),
                        delegate,
                    },
                )])
            })
            .await?;
        }
        GovTxCmd::DelegationPolicy {
            policy,
            from,
            flags,
        } => {
            let accept = policy == "accept";
            sign_and_broadcast(home, &from, flags, &format!("{policy} delegations"), |a| {
                Ok(vec![any(
                    deai_gov::MSG_SET_DELEGATION_POLICY_TYPE_URL,
                    &gpb::MsgSetDelegationPolicy {
                        delegate: a.to_bech32(),
                        accept,
                    },
                )])
            })
            .await?;
        }
        GovTxCmd::Cancel { id, from, flags } => {
            sign_and_broadcast(home, &from, flags, &format!("cancel proposal {id}"), |a| {
                Ok(vec![any(
                    deai_gov::MSG_CANCEL_PROPOSAL_TYPE_URL,
                    &sdk::MsgCancelProposal {
                        proposal_id: id,
                        proposer: a.to_bech32(),
                    },
                )])
            })
            .await?;
        }
    }
    Ok(())
}

/// Runs a treasury transaction command.
pub async fn treasury_tx(home: &Home, cmd: TreasuryTxCmd) -> anyhow::Result<()> {
    match cmd {
        TreasuryTxCmd::Fund {
            amount,
            from,
            flags,
        } => {
            let amount = proto_coins(&amount, "amount")?;
            sign_and_broadcast(home, &from, flags, "fund the treasury", |a| {
                Ok(vec![any(
                    deai_treasury::MSG_FUND_TYPE_URL,
                    &tpb::MsgFund {
                        funder: a.to_bech32(),
                        amount,
                    },
                )])
            })
            .await?;
        }
    }
    Ok(())
}

fn status_name(status: i32) -> String {
    gpb::ProposalStatus::try_from(status)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("PROPOSAL_STATUS_")
                .to_lowercase()
        })
        .unwrap_or_else(|_| format!("unknown({status})"))
}

fn tally_text(t: &gpb::TallyResult) -> String {
    format!(
        "yes {}  no {}  abstain {}  no_with_veto {}  (of {})",
        t.yes, t.no, t.abstain, t.no_with_veto, t.total_power
    )
}

fn proposal_text(p: &gpb::Proposal) -> String {
    let mut s = format!(
        "proposal {}  {}  {:?}  deposit {}  voting {}..{}",
        p.id,
        status_name(p.status),
        p.title,
        coins_text(&p.total_deposit),
        p.voting_start_height,
        p.voting_end_height
    );
    if let Some(t) = &p.final_tally {
        s.push_str(&format!("  tally: {}", tally_text(t)));
    }
    if !p.failed_reason.is_empty() {
        s.push_str(&format!("  ({})", p.failed_reason));
    }
    s
}

/// A vote as `voter  yes=0.7,no=0.3`.
fn vote_text(v: &gpb::Vote) -> String {
    let options = v
        .options
        .iter()
        .map(|o| {
            let option = gpb::VoteOption::try_from(o.option)
                .map(|x| {
                    x.as_str_name()
                        .trim_start_matches("VOTE_OPTION_")
                        .to_lowercase()
                })
                .unwrap_or_else(|_| format!("unknown({})", o.option));
            format!("{option}={}", deai_gov::msg::format_weight(o.weight))
        })
        .collect::<Vec<_>>()
        .join(",");
    format!("{}  {options}", v.voter)
}

/// Rows of text, or `empty` when there are none.
pub fn list_text(rows: Vec<String>, empty: &str) -> String {
    if rows.is_empty() {
        empty.to_string()
    } else {
        rows.join("\n")
    }
}

/// Runs a governance query.
pub async fn gov_query(node: &NodeArgs, cmd: GovQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        GovQueryCmd::Proposals { status } => {
            let status = match status {
                None => 0,
                Some(s) => gpb::ProposalStatus::from_str_name(&format!(
                    "PROPOSAL_STATUS_{}",
                    s.to_ascii_uppercase()
                ))
                .ok_or_else(|| anyhow!("--status {s:?}: use deposit_period, voting_period, passed, rejected, failed, vetoed, cancelled or expired"))?
                    as i32,
            };
            let r: Answer<gpb::QueryProposalsResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Proposals",
                &gpb::QueryProposalsRequest {
                    status,
                    pagination: None,
                },
            )
            .await?;
            let text = list_text(
                r.msg.proposals.iter().map(proposal_text).collect(),
                "(no proposals)",
            );
            r.print(out, &text)
        }
        GovQueryCmd::Proposal { id } => {
            let r: Answer<gpb::QueryProposalResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Proposal",
                &gpb::QueryProposalRequest { proposal_id: id },
            )
            .await?;
            let p = r
                .msg
                .proposal
                .as_ref()
                .ok_or_else(|| anyhow!("proposal {id} not found"))?;
            r.print(out, &proposal_text(p))
        }
        GovQueryCmd::Votes { id } => {
            let r: Answer<gpb::QueryVotesResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Votes",
                &gpb::QueryVotesRequest {
                    proposal_id: id,
                    pagination: None,
                },
            )
            .await?;
            let text = list_text(r.msg.votes.iter().map(vote_text).collect(), "(no votes)");
            r.print(out, &text)
        }
        GovQueryCmd::Deposits { id } => {
            let r: Answer<gpb::QueryDepositsResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Deposits",
                &gpb::QueryDepositsRequest {
                    proposal_id: id,
                    pagination: None,
                },
            )
            .await?;
            let text = list_text(
                r.msg
                    .deposits
                    .iter()
                    .map(|d| format!("{}  {}", d.depositor, coins_text(&d.amount)))
                    .collect(),
                "(no deposits)",
            );
            r.print(out, &text)
        }
        GovQueryCmd::Tally { id } => {
            let r: Answer<gpb::QueryTallyResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Tally",
                &gpb::QueryTallyRequest { proposal_id: id },
            )
            .await?;
            let text = tally_text(&r.msg.tally.clone().unwrap_or_default());
            r.print(out, &text)
        }
        GovQueryCmd::Delegation { address } => {
            let r: Answer<gpb::QueryDelegationResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Delegation",
                &gpb::QueryDelegationRequest {
                    delegator: address.to_bech32(),
                },
            )
            .await?;
            let text = if r.msg.delegate.is_empty() {
                "(none)".to_string()
            } else {
                r.msg.delegate.clone()
            };
            r.print(out, &text)
        }
        GovQueryCmd::Params => {
            let r: Answer<gpb::QueryParamsResponse> = ask(
                &client,
                "/deai.gov.v1.Query/Params",
                &gpb::QueryParamsRequest {},
            )
            .await?;
            let p = deai_gov::GovParams::from_proto(r.msg.params.clone().unwrap_or_default())?;
            r.print(out, &params_text(&p)?)
        }
    }
}

/// A module's params for people: as the genesis file writes them, the
/// names and values `deaid genesis set-param` takes.
pub fn params_text(params: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(params)?)
}

/// Runs a treasury query.
pub async fn treasury_query(node: &NodeArgs, cmd: TreasuryQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        TreasuryQueryCmd::Balance => {
            let r: Answer<tpb::QueryBalanceResponse> = ask(
                &client,
                "/deai.treasury.v1.Query/Balance",
                &tpb::QueryBalanceRequest {},
            )
            .await?;
            let text = format!(
                "{}  holds {}  spent this epoch {}",
                r.msg.address,
                coins_text(&r.msg.balance),
                coins_text(&r.msg.spent_this_epoch)
            );
            r.print(out, &text)
        }
        TreasuryQueryCmd::Streams { status } => {
            let r: Answer<tpb::QueryStreamsResponse> = ask(
                &client,
                "/deai.treasury.v1.Query/Streams",
                &tpb::QueryStreamsRequest {
                    status: status.unwrap_or_default().to_ascii_uppercase(),
                    pagination: None,
                },
            )
            .await?;
            let text = list_text(
                r.msg
                    .streams
                    .iter()
                    .map(|s| {
                        format!(
                            "stream {}  {}  {} per block to {}  paid {}/{}",
                            s.id,
                            s.status,
                            coins_text(&s.amount_per_block),
                            s.recipient,
                            s.payments_made,
                            s.total_payments
                        )
                    })
                    .collect(),
                "(no streams)",
            );
            r.print(out, &text)
        }
        TreasuryQueryCmd::Spends => {
            let r: Answer<tpb::QuerySpendsResponse> = ask(
                &client,
                "/deai.treasury.v1.Query/Spends",
                &tpb::QuerySpendsRequest { pagination: None },
            )
            .await?;
            let text = list_text(
                r.msg
                    .spends
                    .iter()
                    .map(|s| {
                        format!(
                            "block {}  {}  {} to {}",
                            s.height,
                            s.kind,
                            coins_text(&s.amount),
                            s.recipient
                        )
                    })
                    .collect(),
                "(no spends)",
            );
            r.print(out, &text)
        }
        TreasuryQueryCmd::Params => {
            let r: Answer<tpb::QueryParamsResponse> = ask(
                &client,
                "/deai.treasury.v1.Query/Params",
                &tpb::QueryParamsRequest {},
            )
            .await?;
            let p = deai_treasury::TreasuryParams::from_proto(
                r.msg.params.clone().unwrap_or_default(),
            )?;
            r.print(out, &params_text(&p)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposer() -> Address {
        deai_client::tx::Key::from_label("p").address()
    }

    /// A proposal file carrying `message`.
    fn file_with(message: Value) -> String {
        json!({"title": "t", "summary": "s", "deposit": "1000udeai", "messages": [message]})
            .to_string()
    }

    #[test]
    fn every_template_reads_back_as_the_message_it_was_drafted_from() {
        for kind in DRAFT_KINDS {
            let file = draft(kind).unwrap();
            let submit = proposal_from_json(&file.to_string(), &proposer())
                .unwrap_or_else(|e| panic!("{kind}: {e:#}"));
            let want: Vec<Any> = draft_message(kind).unwrap().into_iter().collect();
            assert_eq!(submit.messages, want, "{kind}");
            if let Some(m) = file["messages"].get(0) {
                let first = m.as_object().unwrap().keys().next().unwrap();
                assert_eq!(first, "@type", "{kind}");
            }
        }
    }

    #[test]
    fn every_template_but_text_builds_messages_the_app_accepts_in_a_proposal() {
        let model_id = "ab".repeat(32);
        for kind in DRAFT_KINDS.into_iter().filter(|k| *k != "text") {
            let mut v = draft(kind).unwrap();
            let m = &mut v["messages"][0];
            if m.get("recipient").is_some() {
                // Any account but a module account, which may not receive.
                let to = deai_client::tx::Key::from_label("recipient").address();
                m["recipient"] = json!(to.to_bech32());
            }
            if m.get("model_id").is_some() {
                m["model_id"] = json!(model_id);
            }
            if m.get("model").is_some() {
                m["model"]["id"] = json!(model_id);
            }
            if m.get("suite").is_some() {
                // A suite: texts and labels as `round eval-set --texts`
                // writes them, a zero probe head of the template's classes.
                use base64::Engine as _;
                let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
                m["suite"]["model_id"] = json!(model_id);
                m["suite"]["head"] = json!(b64(&vec![0u8; 4 * 384 * 4]));
                m["suite"]["texts"] = json!(b64(b"A labelled text."));
                m["suite"]["labels"] = json!(b64(&[3]));
            }
            if m.get("config").is_some() {
                // A round: a registered model and a one-example evaluation
                // set, as `deai-compute round eval-set` would give.
                let eval_set = deai_proto::rounds::v1::EvalSet {
                    texts: b"A labelled text.".to_vec(),
                    labels: vec![0],
                    ..Default::default()
                };
                use base64::Engine as _;
                let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
                let hash = deai_rounds::mask::eval_set_hash(&eval_set);
                m["config"]["base_model_id"] = json!(model_id);
                m["config"]["eval_set_hash"] = json!(b64(&hash));
                m["eval_set"] = json!({
                    "texts": b64(&eval_set.texts),
                    "labels": b64(&eval_set.labels),
                });
            }
            let submit = proposal_from_json(&v.to_string(), &proposer()).unwrap();
            let msg = any(deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL, &submit);
            deai_app::tx::Msg::from_any(&msg)
                .unwrap_or_else(|e| panic!("{kind}: the app refused the proposal: {e}"));
        }
        let text = draft("text").unwrap();
        assert!(text["messages"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_nested_message_in_proto_json_reads_as_its_prost_encoding() {
        let mut params = deai_gov::GovParams::default().to_proto();
        params.voting_period_blocks = 8;
        params.max_title_len = 150;
        params.min_deposit = vec![ProtoCoin {
            denom: "udeai".to_string(),
            amount: "1000".to_string(),
        }];
        let want = any(
            deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
            &gpb::MsgUpdateParams {
                authority: deai_gov::authority().to_bech32(),
                params: Some(params.clone()),
            },
        );
        // Written as a person would: 64-bit integers as strings or numbers,
        // defaults left out, the authority left to the CLI.
        let file = file_with(json!({
            "@type": "/deai.gov.v1.MsgUpdateParams",
            "params": {
                "min_deposit": [{"denom": "udeai", "amount": "1000"}],
                "expedited_min_deposit": [{"denom": "udeai", "amount": params.expedited_min_deposit[0].amount}],
                "max_deposit_period_blocks": params.max_deposit_period_blocks.to_string(),
                "voting_period_blocks": "8",
                "expedited_voting_period_blocks": params.expedited_voting_period_blocks,
                "quorum_ppm": params.quorum_ppm,
                "threshold_ppm": params.threshold_ppm,
                "expedited_threshold_ppm": params.expedited_threshold_ppm,
                "veto_threshold_ppm": params.veto_threshold_ppm,
                "cancel_burn_ppm": params.cancel_burn_ppm,
                "min_initial_deposit_ppm": params.min_initial_deposit_ppm,
                "max_proposals_per_block": params.max_proposals_per_block,
                "max_messages": params.max_messages,
                "maxTitleLen": 150,
                "max_summary_len": params.max_summary_len,
                "max_metadata_len": params.max_metadata_len
            }
        }));
        let submit = proposal_from_json(&file, &proposer()).unwrap();
        assert_eq!(submit.messages, vec![want.clone()]);
        // And the CLI's rendering of it reads back the same.
        let rendered = any_json(&want).unwrap();
        let again = proposal_from_json(&file_with(rendered), &proposer()).unwrap();
        assert_eq!(again.messages, vec![want]);
    }

    #[test]
    fn only_an_authority_the_file_leaves_out_is_the_governance_account() {
        let read = |m: Value| -> tpb::MsgCancelStream {
            let submit = proposal_from_json(&file_with(m), &proposer()).unwrap();
            prost::Message::decode(submit.messages[0].value.as_slice()).unwrap()
        };
        let m = read(json!({"@type": deai_treasury::MSG_CANCEL_STREAM_TYPE_URL, "stream_id": "4"}));
        assert_eq!(m.authority, deai_gov::authority().to_bech32());
        assert_eq!(m.stream_id, 4);
        let other = proposer().to_bech32();
        let m =
            read(json!({"@type": deai_treasury::MSG_CANCEL_STREAM_TYPE_URL, "authority": other}));
        assert_eq!(m.authority, other);
        // A message without an authority field gets none.
        let submit = proposal_from_json(
            &file_with(json!({"@type": deai_bank::MSG_SEND_TYPE_URL, "from_address": other})),
            &proposer(),
        )
        .unwrap();
        let send: cosmos_sdk_proto::cosmos::bank::v1beta1::MsgSend =
            prost::Message::decode(submit.messages[0].value.as_slice()).unwrap();
        assert_eq!(send.from_address, other);
        assert!(send.to_address.is_empty());
    }

    #[test]
    fn bad_messages_are_one_line_errors_naming_the_message() {
        let spend = |extra: (&str, Value)| {
            let mut m = json!({
                "@type": deai_treasury::MSG_SPEND_TYPE_URL,
                "recipient": proposer().to_bech32(),
                "amount": [{"denom": "udeai", "amount": "5"}]
            });
            m[extra.0] = extra.1;
            m
        };
        let text = json!({"@type": deai_treasury::MSG_CANCEL_STREAM_TYPE_URL});
        for (message, want) in [
            (
                json!({"@type": "/deai.treasury.v1.MsgSteal"}),
                "messages[1]: unknown message type \"/deai.treasury.v1.MsgSteal\"",
            ),
            (
                json!({"@type": "deai.treasury.v1.MsgSpend"}),
                "messages[1]: \"@type\" \"deai.treasury.v1.MsgSpend\" must be \"/\"",
            ),
            (json!({"recipient": "x"}), "messages[1] has no \"@type\""),
            (
                spend(("amout", json!("5udeai"))),
                "messages[1] (/deai.treasury.v1.MsgSpend): unrecognized field name 'amout'",
            ),
            (
                spend(("amount", json!([{"denom": "udeai", "amount": "5", "extra": 1}]))),
                "messages[1].amount[0] (/deai.treasury.v1.MsgSpend): unrecognized field name 'extra'",
            ),
            (
                spend(("amount", json!("5udeai"))),
                "messages[1].amount (/deai.treasury.v1.MsgSpend): invalid type: string \"5udeai\", expected a list",
            ),
            (
                json!({"@type": deai_treasury::MSG_CANCEL_STREAM_TYPE_URL, "stream_id": "one"}),
                "messages[1].stream_id (/deai.treasury.v1.MsgCancelStream): ",
            ),
        ] {
            let file = json!({"title": "t", "summary": "s", "messages": [text, message]});
            let e = proposal_from_json(&file.to_string(), &proposer()).unwrap_err();
            let e = format!("{e:#}");
            assert!(e.starts_with(want), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn proposal_files_with_unknown_fields_are_refused() {
        let p = proposer();
        let e = proposal_from_json(r#"{"title":"t","summary":"s","extra":1}"#, &p).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = proposal_from_json(r#"{"title":"t","summary":"s","metadata":1}"#, &p).unwrap_err();
        assert!(
            e.to_string().contains("\"metadata\" must be a string"),
            "{e}"
        );
    }
}
