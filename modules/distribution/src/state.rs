//! Distribution state as typed reads and writes over the store, in the
//! Cosmos SDK's record formats (`ValidatorCurrentRewards`,
//! `ValidatorHistoricalRewards`, `DelegatorStartingInfo`, …).

use cosmos_sdk_proto::cosmos::distribution::v1beta1 as sdk;
use deai_staking::dec::Dec;
use deai_types::{Address, StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{dec_coins::DecCoins, state_key as key, DistributionError, DistributionParams};

/// Where a delegation began earning: the validator period before its
/// first, and its stake then (in tokens, 18 decimals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartingInfo {
    /// The last period that ended before the delegation began.
    pub previous_period: u64,
    /// Its tokens then.
    pub stake: Dec,
    /// The block height it began.
    pub height: u64,
}

/// A slash of a validator: the period it ended and the fraction of every
/// delegation's stake it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashEvent {
    /// The period the slash ended.
    pub period: u64,
    /// The fraction of the validator's tokens taken.
    pub fraction: Dec,
    /// The block height of the slash.
    pub height: u64,
}

impl SlashEvent {
    /// The SDK's record.
    pub fn to_proto(&self) -> sdk::ValidatorSlashEvent {
        sdk::ValidatorSlashEvent {
            validator_period: self.period,
            fraction: self.fraction.to_proto(),
        }
    }
}

fn corrupt(what: &str) -> impl Fn(String) -> DistributionError + '_ {
    move |e| DistributionError::Corrupt(format!("{what}: {e}"))
}

/// Reads of distribution state.
pub trait DistributionRead: StateRead {
    /// The parameters (the defaults before genesis has set them).
    fn distribution_params(&self) -> Result<DistributionParams, DistributionError> {
        match self.get_proto::<sdk::Params>(&key::params())? {
            Some(p) => DistributionParams::from_proto(&p),
            None => Ok(DistributionParams::default()),
        }
    }

    /// `op`'s current period and the rewards gathered in it (none before
    /// the validator first earned or was delegated to).
    fn current_rewards(&self, op: &Address) -> Result<Option<(u64, DecCoins)>, DistributionError> {
        self.get_proto::<sdk::ValidatorCurrentRewards>(&key::current(op))?
            .map(|c| {
                let r = DecCoins::from_proto(&c.rewards).map_err(corrupt("current rewards"))?;
                Ok((c.period, r))
            })
            .transpose()
    }

    /// What `op` and its delegators are owed, commission included.
    fn outstanding_rewards(&self, op: &Address) -> Result<DecCoins, DistributionError> {
        match self.get_proto::<sdk::ValidatorOutstandingRewards>(&key::outstanding(op))? {
            Some(o) => DecCoins::from_proto(&o.rewards).map_err(corrupt("outstanding rewards")),
            None => Ok(DecCoins::new()),
        }
    }

    /// `op`'s commission not yet withdrawn.
    fn accumulated_commission(&self, op: &Address) -> Result<DecCoins, DistributionError> {
        match self.get_proto::<sdk::ValidatorAccumulatedCommission>(&key::commission(op))? {
            Some(c) => DecCoins::from_proto(&c.commission).map_err(corrupt("commission")),
            None => Ok(DecCoins::new()),
        }
    }

    /// `op`'s cumulative reward ratio at the end of `period`, and how many
    /// records refer to it.
    fn historical_rewards(
        &self,
        op: &Address,
        period: u64,
    ) -> Result<Option<(DecCoins, u32)>, DistributionError> {
        self.get_proto::<sdk::ValidatorHistoricalRewards>(&key::historical(op, period))?
            .map(|h| {
                let r = DecCoins::from_proto(&h.cumulative_reward_ratio)
                    .map_err(corrupt("historical rewards"))?;
                Ok((r, h.reference_count))
            })
            .transpose()
    }

    /// Where `delegator`'s delegation to `op` began earning.
    fn starting_info(
        &self,
        delegator: &Address,
        op: &Address,
    ) -> Result<Option<StartingInfo>, DistributionError> {
        self.get_proto::<sdk::DelegatorStartingInfo>(&key::starting_info(delegator, op))?
            .map(|s| {
                Ok(StartingInfo {
                    previous_period: s.previous_period,
                    stake: Dec::from_proto(&s.stake)
                        .map_err(|e| corrupt("starting info")(e.to_string()))?,
                    height: s.height,
                })
            })
            .transpose()
    }

    /// Where `delegator`'s rewards are paid: itself unless it set another.
    fn withdraw_address(&self, delegator: &Address) -> Result<Address, DistributionError> {
        match self.get_raw(&key::withdraw_address(delegator))? {
            Some(b) => {
                Address::from_slice(&b).map_err(|e| corrupt("withdraw address")(e.to_string()))
            }
            None => Ok(*delegator),
        }
    }

    /// Fractions of coins owed to the treasury.
    fn dust(&self) -> Result<DecCoins, DistributionError> {
        match self.get_proto::<sdk::FeePool>(&key::dust())? {
            Some(f) => DecCoins::from_proto(&f.community_pool).map_err(corrupt("dust")),
            None => Ok(DecCoins::new()),
        }
    }

    /// Up to `limit` slashes of `op` that ended a period after `after`, in order.
    fn slashes_after(
        &self,
        op: &Address,
        after: u64,
        limit: usize,
    ) -> Result<Vec<SlashEvent>, DistributionError> {
        let prefix = key::slashes_prefix(op);
        let from = key::slash(op, after);
        self.prefix_raw(&prefix, Some(&from), limit)?
            .into_iter()
            .map(|(_, v)| decode_slash(&v))
            .collect()
    }
}

/// Reads a stored slash.
pub fn decode_slash(bytes: &[u8]) -> Result<SlashEvent, DistributionError> {
    use prost::Message;
    let r = sdk::ValidatorSlashEventRecord::decode(bytes)
        .map_err(|e| corrupt("slash event")(e.to_string()))?;
    let e = r.validator_slash_event.unwrap_or_default();
    Ok(SlashEvent {
        period: e.validator_period,
        fraction: Dec::from_proto(&e.fraction)
            .map_err(|e| corrupt("slash event")(e.to_string()))?,
        height: r.height,
    })
}

impl<T: StateRead + ?Sized> DistributionRead for T {}

/// Writes of distribution state.
pub trait DistributionWrite: StateWrite {
    /// Stores validated parameters.
    fn put_distribution_params(
        &mut self,
        params: &DistributionParams,
    ) -> Result<(), DistributionError> {
        params.validate()?;
        self.put_proto(key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Stores `op`'s current period and its rewards.
    fn put_current_rewards(
        &mut self,
        op: &Address,
        period: u64,
        rewards: &DecCoins,
    ) -> Result<(), DistributionError> {
        self.put_proto(
            key::current(op),
            &sdk::ValidatorCurrentRewards {
                rewards: rewards.to_proto(),
                period,
            },
        )?;
        Ok(())
    }

    /// Stores `op`'s outstanding rewards (removed when nothing).
    fn put_outstanding_rewards(
        &mut self,
        op: &Address,
        rewards: &DecCoins,
    ) -> Result<(), DistributionError> {
        if rewards.is_empty() {
            self.delete_raw(key::outstanding(op))?;
        } else {
            self.put_proto(
                key::outstanding(op),
                &sdk::ValidatorOutstandingRewards {
                    rewards: rewards.to_proto(),
                },
            )?;
        }
        Ok(())
    }

    /// Stores `op`'s commission (removed when nothing).
    fn put_accumulated_commission(
        &mut self,
        op: &Address,
        commission: &DecCoins,
    ) -> Result<(), DistributionError> {
        if commission.is_empty() {
            self.delete_raw(key::commission(op))?;
        } else {
            self.put_proto(
                key::commission(op),
                &sdk::ValidatorAccumulatedCommission {
                    commission: commission.to_proto(),
                },
            )?;
        }
        Ok(())
    }

    /// Stores `op`'s ratio at the end of `period` with its reference count
    /// (removed at zero references).
    fn put_historical_rewards(
        &mut self,
        op: &Address,
        period: u64,
        ratio: &DecCoins,
        references: u32,
    ) -> Result<(), DistributionError> {
        if references == 0 {
            self.delete_raw(key::historical(op, period))?;
        } else {
            self.put_proto(
                key::historical(op, period),
                &sdk::ValidatorHistoricalRewards {
                    cumulative_reward_ratio: ratio.to_proto(),
                    reference_count: references,
                },
            )?;
        }
        Ok(())
    }

    /// Stores (or, with `None`, removes) a starting info.
    fn put_starting_info(
        &mut self,
        delegator: &Address,
        op: &Address,
        info: Option<&StartingInfo>,
    ) -> Result<(), DistributionError> {
        let k = key::starting_info(delegator, op);
        match info {
            None => self.delete_raw(k)?,
            Some(s) => self.put_proto(
                k,
                &sdk::DelegatorStartingInfo {
                    previous_period: s.previous_period,
                    stake: s.stake.to_proto(),
                    height: s.height,
                },
            )?,
        }
        Ok(())
    }

    /// Stores a slash of `op`.
    fn put_slash(&mut self, op: &Address, e: &SlashEvent) -> Result<(), DistributionError> {
        self.put_proto(
            key::slash(op, e.period),
            &sdk::ValidatorSlashEventRecord {
                validator_address: String::new(),
                height: e.height,
                period: e.period,
                validator_slash_event: Some(e.to_proto()),
            },
        )?;
        Ok(())
    }

    /// Sets (or, when it is the delegator itself, clears) its withdraw address.
    fn put_withdraw_address(
        &mut self,
        delegator: &Address,
        to: &Address,
    ) -> Result<(), DistributionError> {
        if to == delegator {
            self.delete_raw(key::withdraw_address(delegator))?;
        } else {
            self.put_raw(key::withdraw_address(delegator), to.as_bytes().to_vec())?;
        }
        Ok(())
    }

    /// Stores the dust.
    fn put_dust(&mut self, dust: &DecCoins) -> Result<(), DistributionError> {
        if dust.is_empty() {
            self.delete_raw(key::dust())?;
        } else {
            self.put_proto(
                key::dust(),
                &sdk::FeePool {
                    community_pool: dust.to_proto(),
                },
            )?;
        }
        Ok(())
    }

    /// Removes every record under `prefix`, a page at a time.
    fn delete_prefix(&mut self, prefix: &[u8]) -> Result<(), DistributionError> {
        loop {
            let page = self.prefix_raw(prefix, None, 256)?;
            if page.is_empty() {
                return Ok(());
            }
            for (k, _) in page {
                self.delete_raw(k)?;
            }
        }
    }
}

impl<T: StateWrite + ?Sized> DistributionWrite for T {}
