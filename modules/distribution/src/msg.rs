//! Distribution messages, with the Cosmos SDK's type URLs: a delegator
//! withdraws a delegation's rewards or chooses where they go, an operator
//! withdraws its commission, governance sets the parameters.

use cosmos_sdk_proto::cosmos::distribution::v1beta1 as sdk;
use deai_staking::{parse_valoper, StakingRead, ValoperAddress};
use deai_types::{
    Address, Event, GovernedParams, ModuleMsg, MsgCtx, MsgError, StateWrite, UpdateParams,
};

use crate::{
    event, rewards, DistributionError, DistributionParams, DistributionRead, DistributionWrite,
};

fn account(field: &str, s: &str) -> Result<Address, DistributionError> {
    s.parse()
        .map_err(|e| DistributionError::Invalid(format!("{field}: {e}")))
}

fn valoper(field: &str, s: &str) -> Result<Address, DistributionError> {
    parse_valoper(s).map_err(|e| DistributionError::Invalid(format!("{field}: {e}")))
}

/// A checked distribution message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DistributionMsg {
    /// `MsgSetWithdrawAddress`: where the delegator's rewards go.
    SetWithdrawAddress {
        /// The delegator (signs).
        delegator: Address,
        /// Where its rewards and commission go.
        to: Address,
    },
    /// `MsgWithdrawDelegatorReward`: pay out one delegation's rewards.
    WithdrawReward {
        /// The delegator (signs).
        delegator: Address,
        /// The validator.
        validator: Address,
    },
    /// `MsgWithdrawValidatorCommission`: pay out the commission.
    WithdrawCommission {
        /// The operator (signs).
        operator: Address,
    },
}

impl DistributionMsg {
    /// Stateless checks of `MsgSetWithdrawAddress`.
    pub fn set_withdraw_address(m: &sdk::MsgSetWithdrawAddress) -> Result<Self, DistributionError> {
        Ok(DistributionMsg::SetWithdrawAddress {
            delegator: account("delegator_address", &m.delegator_address)?,
            to: account("withdraw_address", &m.withdraw_address)?,
        })
    }

    /// Stateless checks of `MsgWithdrawDelegatorReward`.
    pub fn withdraw_reward(m: &sdk::MsgWithdrawDelegatorReward) -> Result<Self, DistributionError> {
        Ok(DistributionMsg::WithdrawReward {
            delegator: account("delegator_address", &m.delegator_address)?,
            validator: valoper("validator_address", &m.validator_address)?,
        })
    }

    /// Stateless checks of `MsgWithdrawValidatorCommission`.
    pub fn withdraw_commission(
        m: &sdk::MsgWithdrawValidatorCommission,
    ) -> Result<Self, DistributionError> {
        Ok(DistributionMsg::WithdrawCommission {
            operator: valoper("validator_address", &m.validator_address)?,
        })
    }

    fn run(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, DistributionError> {
        match self {
            DistributionMsg::SetWithdrawAddress { delegator, to } => {
                if !state.distribution_params()?.withdraw_addr_enabled {
                    return Err(DistributionError::WithdrawAddressDisabled);
                }
                state.put_withdraw_address(delegator, to)?;
                Ok(vec![event::set_withdraw_address(to)])
            }
            DistributionMsg::WithdrawReward {
                delegator,
                validator,
            } => {
                if state.validator(validator)?.is_none() {
                    return Err(DistributionError::NoValidator(validator.to_valoper()));
                }
                if state.delegation(delegator, validator)?.is_none() {
                    return Err(DistributionError::NoDelegation {
                        delegator: delegator.to_bech32(),
                        validator: validator.to_valoper(),
                    });
                }
                let (_, events) = rewards::withdraw(state, delegator, validator)?;
                rewards::begin_delegation(state, delegator, validator, ctx.height)?;
                Ok(events)
            }
            DistributionMsg::WithdrawCommission { operator } => {
                Ok(rewards::withdraw_commission(state, operator)?.1)
            }
        }
    }
}

impl ModuleMsg for DistributionMsg {
    fn type_url(&self) -> &'static str {
        match self {
            DistributionMsg::SetWithdrawAddress { .. } => crate::MSG_SET_WITHDRAW_ADDRESS_TYPE_URL,
            DistributionMsg::WithdrawReward { .. } => crate::MSG_WITHDRAW_DELEGATOR_REWARD_TYPE_URL,
            DistributionMsg::WithdrawCommission { .. } => {
                crate::MSG_WITHDRAW_VALIDATOR_COMMISSION_TYPE_URL
            }
        }
    }

    fn signer(&self) -> Address {
        match self {
            DistributionMsg::SetWithdrawAddress { delegator, .. }
            | DistributionMsg::WithdrawReward { delegator, .. } => *delegator,
            DistributionMsg::WithdrawCommission { operator } => *operator,
        }
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// A withdraw address is paid later, by every withdrawal: a module
    /// account (which holds exactly what its module accounts for) is refused.
    fn recipients(&self) -> Vec<Address> {
        match self {
            DistributionMsg::SetWithdrawAddress { to, .. } => vec![*to],
            _ => Vec::new(),
        }
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        Ok(self.run(state, ctx)?)
    }
}

impl GovernedParams for DistributionParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::distribution::v1::EventDistributionParamsUpdated;

    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        Ok(state.put_distribution_params(self)?)
    }
}

/// Stateless checks of a `cosmos.distribution.v1beta1.MsgUpdateParams`.
pub fn update_params(
    m: &sdk::MsgUpdateParams,
) -> Result<UpdateParams<DistributionParams>, MsgError> {
    let params = m
        .params
        .as_ref()
        .map(DistributionParams::from_proto)
        .transpose()?;
    UpdateParams::checked(&m.authority, params, |p| Ok(p.validate()?))
}
