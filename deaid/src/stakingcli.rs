//! `deaid tx staking …` and `deaid query staking …`: validators, delegation,
//! unbonding and redelegation, with the Cosmos SDK's messages and queries.

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use clap::Subcommand;
use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin as ProtoCoin, staking::v1beta1 as sdk};
use deai_app::home::Home;
use deai_client::{tx::any, NodeClient};
use deai_staking::{dec::Dec, types::pubkey_any, ValoperAddress};
use deai_types::Coin;

use crate::{
    protojson,
    txcli::{sign_and_broadcast, TxFlags},
    NodeArgs,
};

/// Staking transactions.
#[derive(Subcommand)]
pub enum StakingTxCmd {
    /// Create a validator run by the --from key, with its first self-delegation.
    CreateValidator {
        /// The self-delegation, e.g. 1000000udeai (one unit of power).
        #[arg(long)]
        amount: String,
        /// The consensus public key: ed25519, base64.
        #[arg(
            long,
            conflicts_with = "cometbft_key",
            required_unless_present = "cometbft_key"
        )]
        pubkey: Option<String>,
        /// Read the consensus key from CometBFT's priv_validator_key.json.
        #[arg(long)]
        cometbft_key: Option<std::path::PathBuf>,
        /// The validator's name.
        #[arg(long)]
        moniker: String,
        /// A keybase-style identity.
        #[arg(long, default_value = "")]
        identity: String,
        /// A website.
        #[arg(long, default_value = "")]
        website: String,
        /// A security contact.
        #[arg(long, default_value = "")]
        security_contact: String,
        /// Free text.
        #[arg(long, default_value = "")]
        details: String,
        /// The commission rate, e.g. 0.10.
        #[arg(long, default_value = "0.10")]
        commission_rate: String,
        /// The most the rate may ever be.
        #[arg(long, default_value = "0.20")]
        commission_max_rate: String,
        /// The most the rate may change in a day.
        #[arg(long, default_value = "0.01")]
        commission_max_change_rate: String,
        /// The least self-delegation the operator promises to keep (udeai).
        #[arg(long, default_value = "1")]
        min_self_delegation: String,
        /// The operator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Change a validator's description, commission rate or minimum self-delegation.
    EditValidator {
        /// A new name.
        #[arg(long)]
        moniker: Option<String>,
        /// A new identity.
        #[arg(long)]
        identity: Option<String>,
        /// A new website.
        #[arg(long)]
        website: Option<String>,
        /// A new security contact.
        #[arg(long)]
        security_contact: Option<String>,
        /// New details.
        #[arg(long)]
        details: Option<String>,
        /// A new commission rate (at most once a day, within max_change_rate).
        #[arg(long)]
        commission_rate: Option<String>,
        /// A higher minimum self-delegation (udeai).
        #[arg(long)]
        min_self_delegation: Option<String>,
        /// The operator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Delegate tokens to a validator.
    Delegate {
        /// The validator, deaivaloper1….
        validator: String,
        /// The tokens, e.g. 1000000udeai.
        amount: String,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Undelegate tokens: they return after the unbonding time.
    Unbond {
        /// The validator, deaivaloper1….
        validator: String,
        /// The tokens, e.g. 1000000udeai.
        amount: String,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Move delegated tokens to another validator at once.
    Redelegate {
        /// The validator they leave, deaivaloper1….
        src: String,
        /// The validator they join, deaivaloper1….
        dst: String,
        /// The tokens, e.g. 1000000udeai.
        amount: String,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Put unbonding tokens back to their validator.
    CancelUnbond {
        /// The validator, deaivaloper1….
        validator: String,
        /// The tokens, e.g. 1000000udeai.
        amount: String,
        /// The height the unbonding began (see `query staking unbonding-delegation`).
        creation_height: u64,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Staking queries.
#[derive(Subcommand)]
pub enum StakingQueryCmd {
    /// Validators, optionally by status.
    Validators {
        /// bonded, unbonding or unbonded.
        #[arg(long)]
        status: Option<String>,
    },
    /// One validator.
    Validator {
        /// deaivaloper1….
        validator: String,
    },
    /// A delegation of an account to a validator.
    Delegation {
        /// The delegator, deai1….
        delegator: String,
        /// The validator, deaivaloper1….
        validator: String,
    },
    /// An account's delegations.
    Delegations {
        /// The delegator, deai1….
        delegator: String,
    },
    /// A validator's delegations.
    DelegationsTo {
        /// The validator, deaivaloper1….
        validator: String,
    },
    /// An account's unbonding from a validator.
    UnbondingDelegation {
        /// The delegator, deai1….
        delegator: String,
        /// The validator, deaivaloper1….
        validator: String,
    },
    /// An account's unbondings.
    UnbondingDelegations {
        /// The delegator, deai1….
        delegator: String,
    },
    /// An account's maturing redelegations.
    Redelegations {
        /// The delegator, deai1….
        delegator: String,
    },
    /// The bonded and not-bonded pools.
    Pool,
    /// The staking parameters.
    Params,
    /// The validator operator address of an account address (same bytes).
    Valoper {
        /// deai1….
        address: String,
    },
}

fn coin(s: &str, what: &str) -> anyhow::Result<ProtoCoin> {
    match Coin::parse_list(s)
        .with_context(|| format!("{what}: {s:?}"))?
        .as_slice()
    {
        [c] => Ok(ProtoCoin {
            denom: c.denom.clone(),
            amount: c.amount.to_string(),
        }),
        _ => bail!("{what} must be one amount, e.g. 1000000udeai"),
    }
}

fn valoper(s: &str, what: &str) -> anyhow::Result<String> {
    deai_staking::parse_valoper(s).with_context(|| what.to_string())?;
    Ok(s.to_string())
}

fn rate(s: &str, what: &str) -> anyhow::Result<String> {
    Ok(Dec::parse_human(s)
        .with_context(|| format!("{what} (a decimal such as 0.05)"))?
        .to_proto())
}

/// What a new validator is made of.
pub struct NewValidator {
    /// The operator's account.
    pub operator: deai_types::Address,
    /// The first self-delegation.
    pub amount: Coin,
    /// The consensus key.
    pub pubkey: [u8; 32],
    /// Its name and the rest of its description.
    pub description: sdk::Description,
    /// Rate, max rate, max change rate, as decimals such as 0.10.
    pub commission: [String; 3],
    /// The least self-delegation promised (udeai).
    pub min_self_delegation: String,
}

/// A `MsgCreateValidator`, checked as the chain will check it (so a bad
/// flag is a clear error before anything is signed).
pub fn create_validator_msg(v: NewValidator) -> anyhow::Result<sdk::MsgCreateValidator> {
    let [r, max, change] = &v.commission;
    let m = sdk::MsgCreateValidator {
        description: Some(v.description),
        commission: Some(sdk::CommissionRates {
            rate: rate(r, "--commission-rate")?,
            max_rate: rate(max, "--commission-max-rate")?,
            max_change_rate: rate(change, "--commission-max-change-rate")?,
        }),
        min_self_delegation: v.min_self_delegation,
        #[allow(deprecated)]
        delegator_address: String::new(),
        validator_address: v.operator.to_valoper(),
        pubkey: Some(pubkey_any(&v.pubkey)),
        value: Some(ProtoCoin {
            denom: v.amount.denom.clone(),
            amount: v.amount.amount.to_string(),
        }),
    };
    deai_staking::msg::StakingMsg::create_validator(&m)?;
    Ok(m)
}

/// A consensus key from `--pubkey` (base64) or `--cometbft-key` (a
/// priv_validator_key.json).
pub fn pubkey(
    pubkey: Option<String>,
    cometbft_key: Option<std::path::PathBuf>,
) -> anyhow::Result<[u8; 32]> {
    let b64 = match (pubkey, cometbft_key) {
        (Some(k), _) => k,
        (None, Some(file)) => crate::read_cometbft_key(&file)?,
        (None, None) => bail!("give --pubkey or --cometbft-key"),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .context("--pubkey is not base64")?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow!(
            "--pubkey must be a 32-byte ed25519 key, got {} bytes",
            b.len()
        )
    })
}

/// Runs a staking transaction command.
pub async fn staking_tx(home: &Home, cmd: StakingTxCmd) -> anyhow::Result<()> {
    match cmd {
        StakingTxCmd::CreateValidator {
            amount,
            pubkey: key,
            cometbft_key,
            moniker,
            identity,
            website,
            security_contact,
            details,
            commission_rate,
            commission_max_rate,
            commission_max_change_rate,
            min_self_delegation,
            from,
            flags,
        } => {
            let value =
                Coin::parse_list(&amount).with_context(|| format!("--amount: {amount:?}"))?;
            let [value] = value.as_slice() else {
                bail!("--amount must be one amount, e.g. 1000000udeai");
            };
            let key = pubkey(key, cometbft_key)?;
            let r = sign_and_broadcast(home, &from, flags, "create a validator", |a| {
                let m = create_validator_msg(NewValidator {
                    operator: *a,
                    amount: value.clone(),
                    pubkey: key,
                    description: sdk::Description {
                        moniker,
                        identity,
                        website,
                        security_contact,
                        details,
                    },
                    commission: [
                        commission_rate,
                        commission_max_rate,
                        commission_max_change_rate,
                    ],
                    min_self_delegation,
                })?;
                Ok(vec![any(deai_staking::MSG_CREATE_VALIDATOR_TYPE_URL, &m)])
            })
            .await?;
            if let Some(r) = r {
                if let Some(v) = r.attr("create_validator", "validator") {
                    eprintln!("validator {v}");
                }
            }
        }
        StakingTxCmd::EditValidator {
            moniker,
            identity,
            website,
            security_contact,
            details,
            commission_rate,
            min_self_delegation,
            from,
            flags,
        } => {
            let keep =
                |v: Option<String>| v.unwrap_or_else(|| deai_staking::msg::DO_NOT_MODIFY.into());
            let description = sdk::Description {
                moniker: keep(moniker),
                identity: keep(identity),
                website: keep(website),
                security_contact: keep(security_contact),
                details: keep(details),
            };
            let commission_rate = commission_rate
                .map(|r| rate(&r, "--commission-rate"))
                .transpose()?
                .unwrap_or_default();
            sign_and_broadcast(home, &from, flags, "edit a validator", |a| {
                let m = sdk::MsgEditValidator {
                    description: Some(description),
                    validator_address: a.to_valoper(),
                    commission_rate,
                    min_self_delegation: min_self_delegation.unwrap_or_default(),
                };
                deai_staking::msg::StakingMsg::edit_validator(&m)?;
                Ok(vec![any(deai_staking::MSG_EDIT_VALIDATOR_TYPE_URL, &m)])
            })
            .await?;
        }
        StakingTxCmd::Delegate {
            validator,
            amount,
            from,
            flags,
        } => {
            let (validator, amount) = (valoper(&validator, "VALIDATOR")?, coin(&amount, "AMOUNT")?);
            sign_and_broadcast(home, &from, flags, "delegate", |a| {
                Ok(vec![any(
                    deai_staking::MSG_DELEGATE_TYPE_URL,
                    &sdk::MsgDelegate {
                        delegator_address: a.to_bech32(),
                        validator_address: validator,
                        amount: Some(amount),
                    },
                )])
            })
            .await?;
        }
        StakingTxCmd::Unbond {
            validator,
            amount,
            from,
            flags,
        } => {
            let (validator, amount) = (valoper(&validator, "VALIDATOR")?, coin(&amount, "AMOUNT")?);
            let r = sign_and_broadcast(home, &from, flags, "unbond", |a| {
                Ok(vec![any(
                    deai_staking::MSG_UNDELEGATE_TYPE_URL,
                    &sdk::MsgUndelegate {
                        delegator_address: a.to_bech32(),
                        validator_address: validator,
                        amount: Some(amount),
                    },
                )])
            })
            .await?;
            if let Some(t) = r.and_then(|r| r.attr("unbond", "completion_time")) {
                eprintln!("the tokens return at {t}");
            }
        }
        StakingTxCmd::Redelegate {
            src,
            dst,
            amount,
            from,
            flags,
        } => {
            let (src, dst) = (valoper(&src, "SRC")?, valoper(&dst, "DST")?);
            let amount = coin(&amount, "AMOUNT")?;
            sign_and_broadcast(home, &from, flags, "redelegate", |a| {
                Ok(vec![any(
                    deai_staking::MSG_BEGIN_REDELEGATE_TYPE_URL,
                    &sdk::MsgBeginRedelegate {
                        delegator_address: a.to_bech32(),
                        validator_src_address: src,
                        validator_dst_address: dst,
                        amount: Some(amount),
                    },
                )])
            })
            .await?;
        }
        StakingTxCmd::CancelUnbond {
            validator,
            amount,
            creation_height,
            from,
            flags,
        } => {
            let (validator, amount) = (valoper(&validator, "VALIDATOR")?, coin(&amount, "AMOUNT")?);
            let creation_height =
                i64::try_from(creation_height).context("CREATION_HEIGHT is too large")?;
            sign_and_broadcast(home, &from, flags, "cancel an unbonding", |a| {
                Ok(vec![any(
                    deai_staking::MSG_CANCEL_UNBONDING_TYPE_URL,
                    &sdk::MsgCancelUnbondingDelegation {
                        delegator_address: a.to_bech32(),
                        validator_address: validator,
                        amount: Some(amount),
                        creation_height,
                    },
                )])
            })
            .await?;
        }
    }
    Ok(())
}

fn status_name(status: i32) -> &'static str {
    match sdk::BondStatus::try_from(status) {
        Ok(sdk::BondStatus::Bonded) => "bonded",
        Ok(sdk::BondStatus::Unbonding) => "unbonding",
        Ok(sdk::BondStatus::Unbonded) => "unbonded",
        _ => "unspecified",
    }
}

/// `shares` (protobuf atomics) as a decimal.
fn shares_text(s: &str) -> String {
    Dec::from_proto(s).map_or_else(|_| s.to_string(), |d| d.to_string())
}

fn validator_text(v: &sdk::Validator) -> String {
    format!(
        "{}  {:?}  {}{}  tokens {}  commission {}",
        v.operator_address,
        v.description
            .as_ref()
            .map(|d| d.moniker.as_str())
            .unwrap_or(""),
        status_name(v.status),
        if v.jailed { " (jailed)" } else { "" },
        v.tokens,
        v.commission
            .as_ref()
            .and_then(|c| c.commission_rates.as_ref())
            .map_or_else(String::new, |r| shares_text(&r.rate)),
    )
}

fn delegation_text(d: &sdk::DelegationResponse) -> String {
    let (del, val, shares) = d.delegation.as_ref().map_or(("", "", String::new()), |d| {
        (
            d.delegator_address.as_str(),
            d.validator_address.as_str(),
            shares_text(&d.shares),
        )
    });
    format!(
        "{del} → {val}  {}  ({shares} shares)",
        d.balance
            .as_ref()
            .map_or_else(String::new, |c| format!("{}{}", c.amount, c.denom))
    )
}

fn unbonding_text(u: &sdk::UnbondingDelegation) -> String {
    let mut s = format!("{} ← {}", u.delegator_address, u.validator_address);
    for e in &u.entries {
        let t = e
            .completion_time
            .as_ref()
            .map(|t| {
                deai_staking::event::rfc3339(deai_types::module::BlockTime {
                    seconds: t.seconds,
                    nanos: u32::try_from(t.nanos).unwrap_or(0),
                })
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "\n  {} udeai at {t} (began at height {})",
            e.balance, e.creation_height
        ));
    }
    s
}

fn lines(rows: Vec<String>, empty: &str) -> String {
    if rows.is_empty() {
        empty.to_string()
    } else {
        rows.join("\n")
    }
}

/// Runs a staking query.
pub async fn staking_query(node: &NodeArgs, cmd: StakingQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    const Q: &str = "/cosmos.staking.v1beta1.Query/";
    let path = |m: &str| format!("{Q}{m}");
    match cmd {
        StakingQueryCmd::Validators { status } => {
            let status = match status.as_deref() {
                None => String::new(),
                Some("bonded") => "BOND_STATUS_BONDED".into(),
                Some("unbonding") => "BOND_STATUS_UNBONDING".into(),
                Some("unbonded") => "BOND_STATUS_UNBONDED".into(),
                Some(s) => bail!("--status {s:?}: use bonded, unbonding or unbonded"),
            };
            let r: protojson::Answer<sdk::QueryValidatorsResponse> = protojson::ask(
                &client,
                &path("Validators"),
                &sdk::QueryValidatorsRequest {
                    status,
                    pagination: None,
                },
            )
            .await?;
            let text = lines(
                r.msg.validators.iter().map(validator_text).collect(),
                "(no validators)",
            );
            r.print(out, &text)?;
        }
        StakingQueryCmd::Validator { validator } => {
            let r: protojson::Answer<sdk::QueryValidatorResponse> = protojson::ask(
                &client,
                &path("Validator"),
                &sdk::QueryValidatorRequest {
                    validator_addr: valoper(&validator, "VALIDATOR")?,
                },
            )
            .await?;
            let text = r
                .msg
                .validator
                .as_ref()
                .map(validator_text)
                .unwrap_or_default();
            r.print(out, &text)?;
        }
        StakingQueryCmd::Delegation {
            delegator,
            validator,
        } => {
            let r: protojson::Answer<sdk::QueryDelegationResponse> = protojson::ask(
                &client,
                &path("Delegation"),
                &sdk::QueryDelegationRequest {
                    delegator_addr: delegator,
                    validator_addr: valoper(&validator, "VALIDATOR")?,
                },
            )
            .await?;
            let text = r
                .msg
                .delegation_response
                .as_ref()
                .map(delegation_text)
                .unwrap_or_default();
            r.print(out, &text)?;
        }
        StakingQueryCmd::Delegations { delegator } => {
            let r: protojson::Answer<sdk::QueryDelegatorDelegationsResponse> = protojson::ask(
                &client,
                &path("DelegatorDelegations"),
                &sdk::QueryDelegatorDelegationsRequest {
                    delegator_addr: delegator,
                    pagination: None,
                },
            )
            .await?;
            let text = lines(
                r.msg
                    .delegation_responses
                    .iter()
                    .map(delegation_text)
                    .collect(),
                "(no delegations)",
            );
            r.print(out, &text)?;
        }
        StakingQueryCmd::DelegationsTo { validator } => {
            let r: protojson::Answer<sdk::QueryValidatorDelegationsResponse> = protojson::ask(
                &client,
                &path("ValidatorDelegations"),
                &sdk::QueryValidatorDelegationsRequest {
                    validator_addr: valoper(&validator, "VALIDATOR")?,
                    pagination: None,
                },
            )
            .await?;
            let text = lines(
                r.msg
                    .delegation_responses
                    .iter()
                    .map(delegation_text)
                    .collect(),
                "(no delegations)",
            );
            r.print(out, &text)?;
        }
        StakingQueryCmd::UnbondingDelegation {
            delegator,
            validator,
        } => {
            let r: protojson::Answer<sdk::QueryUnbondingDelegationResponse> = protojson::ask(
                &client,
                &path("UnbondingDelegation"),
                &sdk::QueryUnbondingDelegationRequest {
                    delegator_addr: delegator,
                    validator_addr: valoper(&validator, "VALIDATOR")?,
                },
            )
            .await?;
            let text = r
                .msg
                .unbond
                .as_ref()
                .map(unbonding_text)
                .unwrap_or_default();
            r.print(out, &text)?;
        }
        StakingQueryCmd::UnbondingDelegations { delegator } => {
            let r: protojson::Answer<sdk::QueryDelegatorUnbondingDelegationsResponse> =
                protojson::ask(
                    &client,
                    &path("DelegatorUnbondingDelegations"),
                    &sdk::QueryDelegatorUnbondingDelegationsRequest {
                        delegator_addr: delegator,
                        pagination: None,
                    },
                )
                .await?;
            let text = lines(
                r.msg
                    .unbonding_responses
                    .iter()
                    .map(unbonding_text)
                    .collect(),
                "(no unbonding delegations)",
            );
            r.print(out, &text)?;
        }
        StakingQueryCmd::Redelegations { delegator } => {
            let r: protojson::Answer<sdk::QueryRedelegationsResponse> = protojson::ask(
                &client,
                &path("Redelegations"),
                &sdk::QueryRedelegationsRequest {
                    delegator_addr: delegator,
                    src_validator_addr: String::new(),
                    dst_validator_addr: String::new(),
                    pagination: None,
                },
            )
            .await?;
            let text = lines(
                r.msg
                    .redelegation_responses
                    .iter()
                    .filter_map(|r| r.redelegation.as_ref())
                    .map(|r| {
                        format!(
                            "{}: {} → {}  ({} maturing)",
                            r.delegator_address,
                            r.validator_src_address,
                            r.validator_dst_address,
                            r.entries.len()
                        )
                    })
                    .collect(),
                "(no redelegations)",
            );
            r.print(out, &text)?;
        }
        StakingQueryCmd::Pool => {
            let r: protojson::Answer<sdk::QueryPoolResponse> =
                protojson::ask(&client, &path("Pool"), &sdk::QueryPoolRequest {}).await?;
            let text = r.msg.pool.as_ref().map_or_else(String::new, |p| {
                format!(
                    "bonded {}  not bonded {}",
                    p.bonded_tokens, p.not_bonded_tokens
                )
            });
            r.print(out, &text)?;
        }
        StakingQueryCmd::Params => {
            let r: protojson::Answer<sdk::QueryParamsResponse> =
                protojson::ask(&client, &path("Params"), &sdk::QueryParamsRequest {}).await?;
            let text = match &r.msg.params {
                Some(p) => {
                    serde_json::to_string_pretty(&deai_staking::StakingParams::from_proto(p)?)?
                }
                None => String::new(),
            };
            r.print(out, &text)?;
        }
        StakingQueryCmd::Valoper { address } => {
            let a: deai_types::Address = address.parse().map_err(|e| anyhow!("ADDRESS: {e}"))?;
            crate::print_out(
                out,
                &serde_json::json!({"valoper": a.to_valoper()}),
                &a.to_valoper(),
            )?;
        }
    }
    Ok(())
}

/// Slashing transactions.
#[derive(Subcommand)]
pub enum SlashingTxCmd {
    /// Ask for the --from key's jailed validator to rejoin (after its jail time).
    Unjail {
        /// The operator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Slashing queries.
#[derive(Subcommand)]
pub enum SlashingQueryCmd {
    /// A validator's signing record: missed blocks, jail time, tombstone.
    SigningInfo {
        /// The validator, deaivaloper1… (or its consensus address, deaivalcons1…).
        validator: String,
    },
    /// Every signing record.
    SigningInfos,
    /// The slashing parameters.
    Params,
}

/// Runs a slashing transaction command.
pub async fn slashing_tx(home: &Home, cmd: SlashingTxCmd) -> anyhow::Result<()> {
    match cmd {
        SlashingTxCmd::Unjail { from, flags } => {
            sign_and_broadcast(home, &from, flags, "unjail", |a| {
                Ok(vec![any(
                    deai_slashing::MSG_UNJAIL_TYPE_URL,
                    &cosmos_sdk_proto::cosmos::slashing::v1beta1::MsgUnjail {
                        validator_addr: a.to_valoper(),
                    },
                )])
            })
            .await?;
        }
    }
    Ok(())
}

fn signing_text(i: &cosmos_sdk_proto::cosmos::slashing::v1beta1::ValidatorSigningInfo) -> String {
    let until = i
        .jailed_until
        .as_ref()
        .map(|t| {
            deai_staking::event::rfc3339(deai_types::module::BlockTime {
                seconds: t.seconds,
                nanos: u32::try_from(t.nanos).unwrap_or(0),
            })
        })
        .unwrap_or_default();
    format!(
        "{}  missed {} (since height {})  jailed until {until}{}",
        i.address,
        i.missed_blocks_counter,
        i.start_height,
        if i.tombstoned { "  TOMBSTONED" } else { "" }
    )
}

/// Runs a slashing query.
pub async fn slashing_query(node: &NodeArgs, cmd: SlashingQueryCmd) -> anyhow::Result<()> {
    use cosmos_sdk_proto::cosmos::slashing::v1beta1 as slashing;
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        SlashingQueryCmd::SigningInfo { validator } => {
            let cons_address = if validator.starts_with(deai_slashing::VALCONS_PREFIX) {
                validator
            } else {
                // The validator's consensus key, from its record.
                let op = valoper(&validator, "VALIDATOR")?;
                let v: sdk::QueryValidatorResponse = client
                    .ask(
                        "/cosmos.staking.v1beta1.Query/Validator",
                        &sdk::QueryValidatorRequest { validator_addr: op },
                    )
                    .await?;
                let v = v.validator.ok_or_else(|| anyhow!("no such validator"))?;
                let key = deai_staking::types::pubkey_from_any(v.consensus_pubkey.as_ref())?;
                deai_slashing::to_valcons(&deai_staking::types::consensus_address(&key))
            };
            let r: protojson::Answer<slashing::QuerySigningInfoResponse> = protojson::ask(
                &client,
                "/cosmos.slashing.v1beta1.Query/SigningInfo",
                &slashing::QuerySigningInfoRequest { cons_address },
            )
            .await?;
            let text = r
                .msg
                .val_signing_info
                .as_ref()
                .map(signing_text)
                .unwrap_or_default();
            r.print(out, &text)?;
        }
        SlashingQueryCmd::SigningInfos => {
            let r: protojson::Answer<slashing::QuerySigningInfosResponse> = protojson::ask(
                &client,
                "/cosmos.slashing.v1beta1.Query/SigningInfos",
                &slashing::QuerySigningInfosRequest { pagination: None },
            )
            .await?;
            let text = lines(
                r.msg.info.iter().map(signing_text).collect(),
                "(no signing records)",
            );
            r.print(out, &text)?;
        }
        SlashingQueryCmd::Params => {
            let r: protojson::Answer<slashing::QueryParamsResponse> = protojson::ask(
                &client,
                "/cosmos.slashing.v1beta1.Query/Params",
                &slashing::QueryParamsRequest {},
            )
            .await?;
            let text = match &r.msg.params {
                Some(p) => {
                    serde_json::to_string_pretty(&deai_slashing::SlashingParams::from_proto(p)?)?
                }
                None => String::new(),
            };
            r.print(out, &text)?;
        }
    }
    Ok(())
}
