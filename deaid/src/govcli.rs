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
    coins_json, coins_text, print_out,
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
        /// register-model, compute-params or treasury-job.
        #[arg(long, default_value = "spend")]
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

fn field<'a>(v: &'a Value, name: &str, ctx: &str) -> anyhow::Result<&'a Value> {
    v.get(name)
        .ok_or_else(|| anyhow!("{ctx}: missing field {name:?}"))
}

fn str_field(v: &Value, name: &str, ctx: &str) -> anyhow::Result<String> {
    field(v, name, ctx)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{ctx}: {name:?} must be a string"))
}

fn coins_field(v: &Value, name: &str, ctx: &str) -> anyhow::Result<Vec<ProtoCoin>> {
    match field(v, name, ctx)? {
        Value::String(s) => proto_coins(s, &format!("{ctx}.{name}")),
        Value::Array(items) => items
            .iter()
            .map(|c| {
                Ok(ProtoCoin {
                    denom: str_field(c, "denom", ctx)?,
                    amount: str_field(c, "amount", ctx)?,
                })
            })
            .collect(),
        _ => bail!("{ctx}: {name:?} must be coins like \"100udeai\" or [{{\"denom\",\"amount\"}}]"),
    }
}

fn u64_field(v: &Value, name: &str, ctx: &str) -> anyhow::Result<u64> {
    match field(v, name, ctx)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| anyhow!("{ctx}: {name:?} must be a non-negative integer"))
}

/// Turns one message of a proposal file into its protobuf `Any`. The
/// `authority` field may be left out: it is the governance account.
pub fn message_from_json(v: &Value, index: usize) -> anyhow::Result<Any> {
    let ctx = format!("messages[{index}]");
    let type_url = str_field(v, "@type", &ctx)?;
    let authority = match v.get("authority") {
        Some(a) => a
            .as_str()
            .ok_or_else(|| anyhow!("{ctx}: authority must be a string"))?
            .to_string(),
        None => deai_gov::authority().to_bech32(),
    };
    let params = |ctx: &str| -> anyhow::Result<Value> { Ok(field(v, "params", ctx)?.clone()) };
    Ok(match type_url.as_str() {
        deai_treasury::MSG_SPEND_TYPE_URL => any(
            &type_url,
            &tpb::MsgSpend {
                authority,
                recipient: str_field(v, "recipient", &ctx)?,
                amount: coins_field(v, "amount", &ctx)?,
            },
        ),
        deai_treasury::MSG_CREATE_STREAM_TYPE_URL => any(
            &type_url,
            &tpb::MsgCreateStream {
                authority,
                recipient: str_field(v, "recipient", &ctx)?,
                amount_per_block: coins_field(v, "amount_per_block", &ctx)?,
                payments: u64_field(v, "payments", &ctx)?,
            },
        ),
        deai_treasury::MSG_CANCEL_STREAM_TYPE_URL => any(
            &type_url,
            &tpb::MsgCancelStream {
                authority,
                stream_id: u64_field(v, "stream_id", &ctx)?,
            },
        ),
        deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL => {
            let p: deai_treasury::TreasuryParams =
                serde_json::from_value(params(&ctx)?).with_context(|| format!("{ctx}.params"))?;
            any(
                &type_url,
                &tpb::MsgUpdateParams {
                    authority,
                    params: Some(p.to_proto()),
                },
            )
        }
        deai_gov::MSG_UPDATE_PARAMS_TYPE_URL => {
            let p: deai_gov::GovParams =
                serde_json::from_value(params(&ctx)?).with_context(|| format!("{ctx}.params"))?;
            any(
                &type_url,
                &gpb::MsgUpdateParams {
                    authority,
                    params: Some(p.to_proto()),
                },
            )
        }
        deai_bank::MSG_UPDATE_PARAMS_TYPE_URL => {
            let p: deai_bank::BankParams =
                serde_json::from_value(params(&ctx)?).with_context(|| format!("{ctx}.params"))?;
            any(
                &type_url,
                &deai_proto::bank::v1::MsgUpdateParams {
                    authority,
                    params: Some(p.to_proto()),
                },
            )
        }
        deai_auth::MSG_UPDATE_PARAMS_TYPE_URL => {
            let p: deai_auth::AuthParams =
                serde_json::from_value(params(&ctx)?).with_context(|| format!("{ctx}.params"))?;
            any(
                &type_url,
                &deai_proto::auth::v1::MsgUpdateParams {
                    authority,
                    params: Some(p.to_proto()),
                },
            )
        }
        deai_compute_module::MSG_REGISTER_MODEL_TYPE_URL => {
            let m = field(v, "model", &ctx)?;
            let mctx = format!("{ctx}.model");
            any(
                &type_url,
                &cpb::MsgRegisterModel {
                    authority,
                    model: Some(cpb::Model {
                        id: str_field(m, "id", &mctx)?,
                        name: str_field(m, "name", &mctx)?,
                        architecture: str_field(m, "architecture", &mctx)?,
                        quantization: str_field(m, "quantization", &mctx)?,
                        license: str_field(m, "license", &mctx)?,
                        size_bytes: u64_field(m, "size_bytes", &mctx)?,
                    }),
                },
            )
        }
        deai_compute_module::MSG_REMOVE_MODEL_TYPE_URL => any(
            &type_url,
            &cpb::MsgRemoveModel {
                authority,
                model_id: str_field(v, "model_id", &ctx)?,
            },
        ),
        deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL => {
            let p: deai_compute_module::ComputeParams =
                serde_json::from_value(params(&ctx)?).with_context(|| format!("{ctx}.params"))?;
            any(
                &type_url,
                &cpb::MsgUpdateParams {
                    authority,
                    params: Some(p.to_proto()),
                },
            )
        }
        deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL => {
            // A job the treasury pays for: the requester is the treasury.
            let input = hex::decode(str_field(v, "input_hex", &ctx)?)
                .with_context(|| format!("{ctx}.input_hex is not hex"))?;
            let price = Coin::parse_list(&str_field(v, "price_per_replica", &ctx)?)
                .with_context(|| format!("{ctx}.price_per_replica"))?;
            let [price] = price.as_slice() else {
                bail!("{ctx}.price_per_replica must be one amount of udeai, e.g. \"1000udeai\"");
            };
            if price.denom != deai_types::BASE_DENOM {
                bail!("{ctx}.price_per_replica must be in udeai");
            }
            use sha3::Digest as _;
            any(
                &type_url,
                &cpb::MsgSubmitJob {
                    requester: deai_treasury::address().to_bech32(),
                    kind: str_field(v, "kind", &ctx)?,
                    model_id: v
                        .get("model_id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    input_hash: sha3::Sha3_256::digest(&input).to_vec(),
                    input,
                    replication: u32::try_from(u64_field(v, "replication", &ctx)?)
                        .with_context(|| format!("{ctx}.replication is too large"))?,
                    price_per_replica: price.amount.to_string(),
                    deadline: 0,
                },
            )
        }
        other => bail!(
            "{ctx}: a proposal cannot carry {other:?}; it may carry {}",
            [
                deai_treasury::MSG_SPEND_TYPE_URL,
                deai_treasury::MSG_CREATE_STREAM_TYPE_URL,
                deai_treasury::MSG_CANCEL_STREAM_TYPE_URL,
                deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL,
                deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
                deai_bank::MSG_UPDATE_PARAMS_TYPE_URL,
                deai_auth::MSG_UPDATE_PARAMS_TYPE_URL,
                deai_compute_module::MSG_REGISTER_MODEL_TYPE_URL,
                deai_compute_module::MSG_REMOVE_MODEL_TYPE_URL,
                deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL,
                deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
            ]
            .join(", ")
        ),
    })
}

/// Reads a proposal file into a `MsgSubmitProposal` from `proposer`.
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
        metadata: v
            .get("metadata")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        title: str_field(&v, "title", "proposal")?,
        summary: str_field(&v, "summary", "proposal")?,
        expedited: match v.get("expedited") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => bail!("\"expedited\" must be true or false"),
        },
    })
}

/// A proposal template of `kind`.
pub fn draft(kind: &str) -> anyhow::Result<Value> {
    let gov = deai_gov::authority().to_bech32();
    let message = match kind {
        "text" => None,
        "spend" => Some(json!({
            "@type": deai_treasury::MSG_SPEND_TYPE_URL,
            "authority": gov,
            "recipient": "deai1…",
            "amount": "1000000udeai"
        })),
        "stream" => Some(json!({
            "@type": deai_treasury::MSG_CREATE_STREAM_TYPE_URL,
            "authority": gov,
            "recipient": "deai1…",
            "amount_per_block": "1000udeai",
            "payments": 1000
        })),
        "cancel-stream" => Some(json!({
            "@type": deai_treasury::MSG_CANCEL_STREAM_TYPE_URL,
            "authority": gov,
            "stream_id": 1
        })),
        "gov-params" => Some(json!({
            "@type": deai_gov::MSG_UPDATE_PARAMS_TYPE_URL,
            "authority": gov,
            "params": deai_gov::GovParams::default()
        })),
        "register-model" => Some(json!({
            "@type": deai_compute_module::MSG_REGISTER_MODEL_TYPE_URL,
            "authority": gov,
            "model": {
                "id": "<64 hex: SHA3-256 of the weight file>",
                "name": "all-MiniLM-L6-v2",
                "architecture": "bert",
                "quantization": "int8",
                "license": "Apache-2.0",
                "size_bytes": 90868376
            }
        })),
        "treasury-job" => Some(json!({
            "@type": deai_compute_module::MSG_SUBMIT_JOB_TYPE_URL,
            "kind": "embed",
            "model_id": "<64 hex>",
            "input_hex": hex::encode("Public-good compute, paid by the DAO."),
            "replication": 3,
            "price_per_replica": "1000udeai"
        })),
        "compute-params" => Some(json!({
            "@type": deai_compute_module::MSG_UPDATE_PARAMS_TYPE_URL,
            "authority": gov,
            "params": deai_compute_module::ComputeParams::default()
        })),
        "treasury-params" => Some(json!({
            "@type": deai_treasury::MSG_UPDATE_PARAMS_TYPE_URL,
            "authority": gov,
            "params": deai_treasury::TreasuryParams::default()
        })),
        other => bail!(
            "--kind {other:?}: use text, spend, stream, cancel-stream, gov-params, treasury-params, register-model, compute-params or treasury-job"
        ),
    };
    Ok(json!({
        "title": "A short title",
        "summary": "What this proposal does and why.",
        "metadata": "",
        "deposit": deai_gov::GovParams::default().min_deposit.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
        "expedited": false,
        "messages": message.into_iter().collect::<Vec<_>>(),
    }))
}

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

fn tally_json(t: &gpb::TallyResult) -> Value {
    json!({"yes": t.yes, "abstain": t.abstain, "no": t.no, "no_with_veto": t.no_with_veto, "total_power": t.total_power})
}

fn tally_text(t: &gpb::TallyResult) -> String {
    format!(
        "yes {}  no {}  abstain {}  no_with_veto {}  (of {})",
        t.yes, t.no, t.abstain, t.no_with_veto, t.total_power
    )
}

fn proposal_json(p: &gpb::Proposal) -> Value {
    json!({
        "id": p.id.to_string(),
        "proposer": p.proposer,
        "title": p.title,
        "summary": p.summary,
        "metadata": p.metadata,
        "messages": p.messages.iter().map(|m| m.type_url.clone()).collect::<Vec<_>>(),
        "status": status_name(p.status),
        "expedited": p.expedited,
        "submit_height": p.submit_height.to_string(),
        "deposit_end_height": p.deposit_end_height.to_string(),
        "voting_start_height": p.voting_start_height.to_string(),
        "voting_end_height": p.voting_end_height.to_string(),
        "total_deposit": coins_json(&p.total_deposit),
        "final_tally": p.final_tally.as_ref().map(tally_json),
        "failed_reason": p.failed_reason,
    })
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
            let r: gpb::QueryProposalsResponse = client
                .ask(
                    "/deai.gov.v1.Query/Proposals",
                    &gpb::QueryProposalsRequest {
                        status,
                        pagination: None,
                    },
                )
                .await?;
            let text = if r.proposals.is_empty() {
                "(no proposals)".to_string()
            } else {
                r.proposals
                    .iter()
                    .map(proposal_text)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print_out(
                out,
                &json!({"proposals": r.proposals.iter().map(proposal_json).collect::<Vec<_>>()}),
                &text,
            )
        }
        GovQueryCmd::Proposal { id } => {
            let r: gpb::QueryProposalResponse = client
                .ask(
                    "/deai.gov.v1.Query/Proposal",
                    &gpb::QueryProposalRequest { proposal_id: id },
                )
                .await?;
            let p = r
                .proposal
                .ok_or_else(|| anyhow!("proposal {id} not found"))?;
            print_out(out, &proposal_json(&p), &proposal_text(&p))
        }
        GovQueryCmd::Votes { id } => {
            let r: gpb::QueryVotesResponse = client
                .ask(
                    "/deai.gov.v1.Query/Votes",
                    &gpb::QueryVotesRequest {
                        proposal_id: id,
                        pagination: None,
                    },
                )
                .await?;
            let row = |v: &gpb::Vote| {
                let opts = v
                    .options
                    .iter()
                    .map(|o| {
                        json!({
                            "option": gpb::VoteOption::try_from(o.option).map(|x| x.as_str_name().trim_start_matches("VOTE_OPTION_").to_lowercase()).unwrap_or_default(),
                            "weight": deai_gov::msg::format_weight(o.weight),
                        })
                    })
                    .collect::<Vec<_>>();
                json!({"voter": v.voter, "options": opts})
            };
            let rows: Vec<Value> = r.votes.iter().map(row).collect();
            let text = rows
                .iter()
                .map(|r| {
                    format!(
                        "{}  {}",
                        r["voter"].as_str().unwrap_or_default(),
                        r["options"]
                            .as_array()
                            .map(|o| o
                                .iter()
                                .map(|x| format!(
                                    "{}={}",
                                    x["option"].as_str().unwrap_or_default(),
                                    x["weight"].as_str().unwrap_or_default()
                                ))
                                .collect::<Vec<_>>()
                                .join(","))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print_out(
                out,
                &json!({"votes": rows}),
                if text.is_empty() { "(no votes)" } else { &text },
            )
        }
        GovQueryCmd::Deposits { id } => {
            let r: gpb::QueryDepositsResponse = client
                .ask(
                    "/deai.gov.v1.Query/Deposits",
                    &gpb::QueryDepositsRequest {
                        proposal_id: id,
                        pagination: None,
                    },
                )
                .await?;
            let rows: Vec<Value> = r
                .deposits
                .iter()
                .map(|d| json!({"depositor": d.depositor, "amount": coins_json(&d.amount)}))
                .collect();
            let text = r
                .deposits
                .iter()
                .map(|d| format!("{}  {}", d.depositor, coins_text(&d.amount)))
                .collect::<Vec<_>>()
                .join("\n");
            print_out(
                out,
                &json!({"deposits": rows}),
                if text.is_empty() {
                    "(no deposits)"
                } else {
                    &text
                },
            )
        }
        GovQueryCmd::Tally { id } => {
            let r: gpb::QueryTallyResponse = client
                .ask(
                    "/deai.gov.v1.Query/Tally",
                    &gpb::QueryTallyRequest { proposal_id: id },
                )
                .await?;
            let t = r.tally.unwrap_or_default();
            print_out(out, &tally_json(&t), &tally_text(&t))
        }
        GovQueryCmd::Delegation { address } => {
            let r: gpb::QueryDelegationResponse = client
                .ask(
                    "/deai.gov.v1.Query/Delegation",
                    &gpb::QueryDelegationRequest {
                        delegator: address.to_bech32(),
                    },
                )
                .await?;
            print_out(
                out,
                &json!({"delegate": r.delegate}),
                if r.delegate.is_empty() {
                    "(none)"
                } else {
                    &r.delegate
                },
            )
        }
        GovQueryCmd::Params => {
            let r: gpb::QueryParamsResponse = client
                .ask("/deai.gov.v1.Query/Params", &gpb::QueryParamsRequest {})
                .await?;
            let p = deai_gov::GovParams::from_proto(r.params.unwrap_or_default())?;
            let v = serde_json::to_value(&p)?;
            print_out(out, &v, &serde_json::to_string_pretty(&v)?)
        }
    }
}

/// Runs a treasury query.
pub async fn treasury_query(node: &NodeArgs, cmd: TreasuryQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        TreasuryQueryCmd::Balance => {
            let r: tpb::QueryBalanceResponse = client
                .ask(
                    "/deai.treasury.v1.Query/Balance",
                    &tpb::QueryBalanceRequest {},
                )
                .await?;
            print_out(
                out,
                &json!({"address": r.address, "balance": coins_json(&r.balance), "spent_this_epoch": coins_json(&r.spent_this_epoch)}),
                &format!(
                    "{}  holds {}  spent this epoch {}",
                    r.address,
                    coins_text(&r.balance),
                    coins_text(&r.spent_this_epoch)
                ),
            )
        }
        TreasuryQueryCmd::Streams { status } => {
            let r: tpb::QueryStreamsResponse = client
                .ask(
                    "/deai.treasury.v1.Query/Streams",
                    &tpb::QueryStreamsRequest {
                        status: status.unwrap_or_default().to_ascii_uppercase(),
                        pagination: None,
                    },
                )
                .await?;
            let rows: Vec<Value> = r
                .streams
                .iter()
                .map(|s| {
                    json!({"id": s.id.to_string(), "recipient": s.recipient, "amount_per_block": coins_json(&s.amount_per_block),
                           "total_payments": s.total_payments.to_string(), "payments_made": s.payments_made.to_string(),
                           "status": s.status, "created_height": s.created_height.to_string(), "last_paid_height": s.last_paid_height.to_string()})
                })
                .collect();
            let text = r
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
                .collect::<Vec<_>>()
                .join("\n");
            print_out(
                out,
                &json!({"streams": rows}),
                if text.is_empty() {
                    "(no streams)"
                } else {
                    &text
                },
            )
        }
        TreasuryQueryCmd::Spends => {
            let r: tpb::QuerySpendsResponse = client
                .ask(
                    "/deai.treasury.v1.Query/Spends",
                    &tpb::QuerySpendsRequest { pagination: None },
                )
                .await?;
            let rows: Vec<Value> = r
                .spends
                .iter()
                .map(|s| json!({"seq": s.seq.to_string(), "height": s.height.to_string(), "recipient": s.recipient, "amount": coins_json(&s.amount), "kind": s.kind, "stream_id": s.stream_id.to_string()}))
                .collect();
            let text = r
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
                .collect::<Vec<_>>()
                .join("\n");
            print_out(
                out,
                &json!({"spends": rows}),
                if text.is_empty() {
                    "(no spends)"
                } else {
                    &text
                },
            )
        }
        TreasuryQueryCmd::Params => {
            let r: tpb::QueryParamsResponse = client
                .ask(
                    "/deai.treasury.v1.Query/Params",
                    &tpb::QueryParamsRequest {},
                )
                .await?;
            let p = deai_treasury::TreasuryParams::from_proto(r.params.unwrap_or_default())?;
            let v = serde_json::to_value(&p)?;
            print_out(out, &v, &serde_json::to_string_pretty(&v)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_but_text_builds_messages_the_app_accepts_in_a_proposal() {
        let model_id = "ab".repeat(32);
        for kind in [
            "spend",
            "stream",
            "cancel-stream",
            "gov-params",
            "treasury-params",
            "register-model",
            "compute-params",
            "treasury-job",
        ] {
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
            let proposer = deai_client::tx::Key::from_label("p").address();
            let submit = proposal_from_json(&v.to_string(), &proposer).unwrap();
            let msg = any(deai_gov::MSG_SUBMIT_PROPOSAL_TYPE_URL, &submit);
            deai_app::tx::Msg::from_any(&msg)
                .unwrap_or_else(|e| panic!("{kind}: the app refused the proposal: {e}"));
        }
        let text = draft("text").unwrap();
        assert!(text["messages"].as_array().unwrap().is_empty());
    }

    #[test]
    fn proposal_files_with_unknown_fields_or_messages_are_refused() {
        let p = deai_client::tx::Key::from_label("p").address();
        let e = proposal_from_json(r#"{"title":"t","summary":"s","extra":1}"#, &p).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = proposal_from_json(
            r#"{"title":"t","summary":"s","messages":[{"@type":"/cosmos.bank.v1beta1.MsgSend"}]}"#,
            &p,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("cannot carry"), "{e:#}");
    }
}
