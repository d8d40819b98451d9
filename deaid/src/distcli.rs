//! `deaid tx distribution …`, `deaid query distribution …` and `deaid query
//! mint …`: rewards, commission and inflation, with the Cosmos SDK's
//! messages and queries.

use anyhow::{bail, Context};
use clap::Subcommand;
use cosmos_sdk_proto::cosmos::{base::v1beta1::DecCoin, distribution::v1beta1 as dist};
use deai_app::home::Home;
use deai_client::{keyring, tx::any, NodeClient};
use deai_staking::{dec::Dec, ValoperAddress};
use deai_types::Address;

use crate::{
    protojson,
    txcli::{sign_and_broadcast, TxFlags},
    NodeArgs,
};

/// Distribution transactions.
#[derive(Subcommand)]
pub enum DistributionTxCmd {
    /// Withdraw the rewards of the --from key's delegation to VALIDATOR
    /// (and, with --commission, the validator's commission when --from runs it).
    WithdrawRewards {
        /// The validator, deaivaloper1….
        validator: String,
        /// Also withdraw the validator's commission (--from must be its operator).
        #[arg(long)]
        commission: bool,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Withdraw the rewards of every delegation of the --from key, in one transaction.
    WithdrawAllRewards {
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
    /// Send the --from key's future rewards (and commission) to ADDRESS.
    SetWithdrawAddr {
        /// A deai1… address (the key's own address sends them back to it).
        address: Address,
        /// The delegator's key.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        flags: TxFlags,
    },
}

/// Distribution queries.
#[derive(Subcommand)]
pub enum DistributionQueryCmd {
    /// A delegator's rewards not yet withdrawn: from VALIDATOR, or from each of its validators.
    Rewards {
        /// A deai1… address.
        delegator: Address,
        /// A deaivaloper1… address (default: all its delegations).
        validator: Option<String>,
    },
    /// A validator's commission not yet withdrawn.
    Commission {
        /// The validator, deaivaloper1….
        validator: String,
    },
    /// What a validator and its delegators are owed in all.
    OutstandingRewards {
        /// The validator, deaivaloper1….
        validator: String,
    },
    /// A validator's slashes, as distribution records them.
    Slashes {
        /// The validator, deaivaloper1….
        validator: String,
        /// From this height.
        #[arg(long, default_value_t = 0)]
        start_height: u64,
        /// To this height.
        #[arg(long, default_value_t = u64::MAX)]
        end_height: u64,
    },
    /// Where a delegator's rewards are paid.
    WithdrawAddr {
        /// A deai1… address.
        delegator: Address,
    },
    /// The community pool: the DAO treasury's balance (and fractions owed to it).
    CommunityPool,
    /// The distribution parameters.
    Params,
}

fn valoper(s: &str) -> anyhow::Result<String> {
    deai_staking::parse_valoper(s).context("VALIDATOR")?;
    Ok(s.to_string())
}

/// Decimal coins in the human form: `12.5udeai`.
fn dec_coins(coins: &[DecCoin]) -> String {
    if coins.is_empty() {
        return "nothing".into();
    }
    coins
        .iter()
        .map(|c| {
            let d = Dec::from_proto(&c.amount).unwrap_or_default().to_string();
            let d = d.trim_end_matches('0').trim_end_matches('.');
            format!("{d}{}", c.denom)
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Runs a distribution transaction command.
pub async fn distribution_tx(home: &Home, cmd: DistributionTxCmd) -> anyhow::Result<()> {
    match cmd {
        DistributionTxCmd::WithdrawRewards {
            validator,
            commission,
            from,
            flags,
        } => {
            let validator = valoper(&validator)?;
            sign_and_broadcast(home, &from, flags, "withdraw rewards", |a| {
                let mut msgs = vec![any(
                    deai_distribution::MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
                    &dist::MsgWithdrawDelegatorReward {
                        delegator_address: a.to_bech32(),
                        validator_address: validator.clone(),
                    },
                )];
                if commission {
                    if a.to_valoper() != validator {
                        bail!("--commission: {from} does not run {validator}");
                    }
                    msgs.push(any(
                        deai_distribution::MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL,
                        &dist::MsgWithdrawValidatorCommission {
                            validator_address: validator.clone(),
                        },
                    ));
                }
                Ok(msgs)
            })
            .await?;
        }
        DistributionTxCmd::WithdrawAllRewards { from, flags } => {
            let kr = keyring::open(
                &home.0,
                flags.keyring.keyring_backend,
                flags.keyring.keyring_dir.as_deref(),
            )?;
            let delegator = kr.show(&from)?.address;
            let client = NodeClient::new(&flags.node.node)?;
            let r: dist::QueryDelegatorValidatorsResponse = client
                .ask(
                    "/cosmos.distribution.v1beta1.Query/DelegatorValidators",
                    &dist::QueryDelegatorValidatorsRequest {
                        delegator_address: delegator.to_bech32(),
                    },
                )
                .await?;
            if r.validators.is_empty() {
                bail!("{from} has no delegations");
            }
            sign_and_broadcast(home, &from, flags, "withdraw all rewards", |a| {
                Ok(r.validators
                    .iter()
                    .map(|v| {
                        any(
                            deai_distribution::MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
                            &dist::MsgWithdrawDelegatorReward {
                                delegator_address: a.to_bech32(),
                                validator_address: v.clone(),
                            },
                        )
                    })
                    .collect())
            })
            .await?;
        }
        DistributionTxCmd::SetWithdrawAddr {
            address,
            from,
            flags,
        } => {
            sign_and_broadcast(home, &from, flags, "set the withdraw address", |a| {
                Ok(vec![any(
                    deai_distribution::MSG_SET_WITHDRAW_ADDRESS_TYPE_URL,
                    &dist::MsgSetWithdrawAddress {
                        delegator_address: a.to_bech32(),
                        withdraw_address: address.to_bech32(),
                    },
                )])
            })
            .await?;
        }
    }
    Ok(())
}

/// Runs a distribution query.
pub async fn distribution_query(node: &NodeArgs, cmd: DistributionQueryCmd) -> anyhow::Result<()> {
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        DistributionQueryCmd::Rewards {
            delegator,
            validator: Some(validator),
        } => {
            let r: protojson::Answer<dist::QueryDelegationRewardsResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/DelegationRewards",
                &dist::QueryDelegationRewardsRequest {
                    delegator_address: delegator.to_bech32(),
                    validator_address: valoper(&validator)?,
                },
            )
            .await?;
            r.print(out, &dec_coins(&r.msg.rewards))?;
        }
        DistributionQueryCmd::Rewards {
            delegator,
            validator: None,
        } => {
            let r: protojson::Answer<dist::QueryDelegationTotalRewardsResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/DelegationTotalRewards",
                &dist::QueryDelegationTotalRewardsRequest {
                    delegator_address: delegator.to_bech32(),
                },
            )
            .await?;
            let mut rows: Vec<String> = r
                .msg
                .rewards
                .iter()
                .map(|e| format!("{}  {}", e.validator_address, dec_coins(&e.reward)))
                .collect();
            rows.push(format!("total  {}", dec_coins(&r.msg.total)));
            r.print(out, &rows.join("\n"))?;
        }
        DistributionQueryCmd::Commission { validator } => {
            let r: protojson::Answer<dist::QueryValidatorCommissionResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/ValidatorCommission",
                &dist::QueryValidatorCommissionRequest {
                    validator_address: valoper(&validator)?,
                },
            )
            .await?;
            let text = dec_coins(
                &r.msg
                    .commission
                    .as_ref()
                    .map(|c| c.commission.clone())
                    .unwrap_or_default(),
            );
            r.print(out, &text)?;
        }
        DistributionQueryCmd::OutstandingRewards { validator } => {
            let r: protojson::Answer<dist::QueryValidatorOutstandingRewardsResponse> =
                protojson::ask(
                    &client,
                    "/cosmos.distribution.v1beta1.Query/ValidatorOutstandingRewards",
                    &dist::QueryValidatorOutstandingRewardsRequest {
                        validator_address: valoper(&validator)?,
                    },
                )
                .await?;
            let text = dec_coins(
                &r.msg
                    .rewards
                    .as_ref()
                    .map(|c| c.rewards.clone())
                    .unwrap_or_default(),
            );
            r.print(out, &text)?;
        }
        DistributionQueryCmd::Slashes {
            validator,
            start_height,
            end_height,
        } => {
            let r: protojson::Answer<dist::QueryValidatorSlashesResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/ValidatorSlashes",
                &dist::QueryValidatorSlashesRequest {
                    validator_address: valoper(&validator)?,
                    starting_height: start_height,
                    ending_height: end_height,
                    pagination: None,
                },
            )
            .await?;
            let rows: Vec<String> = r
                .msg
                .slashes
                .iter()
                .map(|s| {
                    format!(
                        "period {}  fraction {}",
                        s.validator_period,
                        Dec::from_proto(&s.fraction).unwrap_or_default()
                    )
                })
                .collect();
            let text = if rows.is_empty() {
                "(no slashes)".to_string()
            } else {
                rows.join("\n")
            };
            r.print(out, &text)?;
        }
        DistributionQueryCmd::WithdrawAddr { delegator } => {
            let r: protojson::Answer<dist::QueryDelegatorWithdrawAddressResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/DelegatorWithdrawAddress",
                &dist::QueryDelegatorWithdrawAddressRequest {
                    delegator_address: delegator.to_bech32(),
                },
            )
            .await?;
            r.print(out, &r.msg.withdraw_address)?;
        }
        DistributionQueryCmd::CommunityPool => {
            let r: protojson::Answer<dist::QueryCommunityPoolResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/CommunityPool",
                &dist::QueryCommunityPoolRequest {},
            )
            .await?;
            r.print(out, &dec_coins(&r.msg.pool))?;
        }
        DistributionQueryCmd::Params => {
            let r: protojson::Answer<dist::QueryParamsResponse> = protojson::ask(
                &client,
                "/cosmos.distribution.v1beta1.Query/Params",
                &dist::QueryParamsRequest {},
            )
            .await?;
            let text = match &r.msg.params {
                Some(p) => serde_json::to_string_pretty(
                    &deai_distribution::DistributionParams::from_proto(p)?,
                )?,
                None => String::new(),
            };
            r.print(out, &text)?;
        }
    }
    Ok(())
}

/// Mint queries.
#[derive(Subcommand)]
pub enum MintQueryCmd {
    /// The current yearly inflation rate.
    Inflation,
    /// The tokens the current rate mints in a year.
    AnnualProvisions,
    /// The mint parameters.
    Params,
}

/// A `LegacyDec` in a `bytes` field (its atomics as text), shown as a decimal.
fn dec_bytes(b: &[u8]) -> anyhow::Result<String> {
    let d = Dec::from_proto(std::str::from_utf8(b).context("a decimal")?)?.to_string();
    Ok(d.trim_end_matches('0').trim_end_matches('.').to_string())
}

/// Runs a mint query.
pub async fn mint_query(node: &NodeArgs, cmd: MintQueryCmd) -> anyhow::Result<()> {
    use cosmos_sdk_proto::cosmos::mint::v1beta1 as mint;
    let client = NodeClient::new(&node.node)?;
    let out = &node.output;
    match cmd {
        MintQueryCmd::Inflation => {
            let r: protojson::Answer<mint::QueryInflationResponse> = protojson::ask(
                &client,
                "/cosmos.mint.v1beta1.Query/Inflation",
                &mint::QueryInflationRequest {},
            )
            .await?;
            r.print(out, &dec_bytes(&r.msg.inflation)?)?;
        }
        MintQueryCmd::AnnualProvisions => {
            let r: protojson::Answer<mint::QueryAnnualProvisionsResponse> = protojson::ask(
                &client,
                "/cosmos.mint.v1beta1.Query/AnnualProvisions",
                &mint::QueryAnnualProvisionsRequest {},
            )
            .await?;
            r.print(out, &dec_bytes(&r.msg.annual_provisions)?)?;
        }
        MintQueryCmd::Params => {
            let r: protojson::Answer<mint::QueryParamsResponse> = protojson::ask(
                &client,
                "/cosmos.mint.v1beta1.Query/Params",
                &mint::QueryParamsRequest {},
            )
            .await?;
            let text = match &r.msg.params {
                Some(p) => serde_json::to_string_pretty(&deai_mint::MintParams::from_proto(p)?)?,
                None => String::new(),
            };
            r.print(out, &text)?;
        }
    }
    Ok(())
}
