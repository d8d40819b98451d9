//! Staking messages, with the Cosmos SDK's type URLs and semantics:
//! stateless checks when decoded ([`StakingMsg`]), then executed with the
//! listener to stake changes the app gave the module ([`HookedMsg`]).

use cosmos_sdk_proto::cosmos::{base::v1beta1::Coin as ProtoCoin, staking::v1beta1 as sdk};
use deai_types::{
    Address, Event, GovernedParams, ModuleMsg, MsgCtx, MsgError, StateWrite, UpdateParams,
};

use crate::{
    dec::Dec,
    event,
    hooks::{Notify, StakingHooks},
    ops,
    ops::{add_delegation, move_tokens, pool_of},
    types::{pubkey_from_any, BondStatus, Commission, Validator},
    StakingError, StakingParams, StakingRead, StakingWrite, ValoperAddress,
};

/// The SDK's limits on a validator's description, in bytes.
const MAX_MONIKER: usize = 70;
const MAX_IDENTITY: usize = 3_000;
const MAX_WEBSITE: usize = 140;
const MAX_SECURITY_CONTACT: usize = 140;
const MAX_DETAILS: usize = 280;

/// What `MsgEditValidator` writes in a description field it leaves alone.
pub const DO_NOT_MODIFY: &str = "[do-not-modify]";

/// How often a validator may change its commission rate: once a day.
pub const COMMISSION_CHANGE_SECONDS: i64 = 24 * 3600;

fn account(field: &str, s: &str) -> Result<Address, StakingError> {
    s.parse()
        .map_err(|e| StakingError::Invalid(format!("{field}: {e}")))
}

fn valoper(field: &str, s: &str) -> Result<Address, StakingError> {
    crate::parse_valoper(s).map_err(|e| StakingError::Invalid(format!("{field}: {e}")))
}

/// A positive amount of the bond denom (checked against the params on execution).
fn amount(field: &str, c: Option<&ProtoCoin>) -> Result<(u128, String), StakingError> {
    let c = c.ok_or_else(|| StakingError::Invalid(format!("{field} missing")))?;
    let n: u128 = c.amount.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        StakingError::Invalid(format!("{field} must be a positive integer amount"))
    })?;
    Ok((n, c.denom.clone()))
}

fn check_denom(params: &StakingParams, denom: &str) -> Result<(), StakingError> {
    if denom != params.bond_denom {
        return Err(StakingError::Invalid(format!(
            "only {} can be staked, not {denom:?}",
            params.bond_denom
        )));
    }
    Ok(())
}

fn rate(field: &str, s: &str) -> Result<Dec, StakingError> {
    Dec::from_proto(s).map_err(|e| StakingError::Invalid(format!("{field}: {e}")))
}

fn check_description(d: &sdk::Description) -> Result<(), StakingError> {
    for (name, value, max) in [
        ("moniker", &d.moniker, MAX_MONIKER),
        ("identity", &d.identity, MAX_IDENTITY),
        ("website", &d.website, MAX_WEBSITE),
        (
            "security_contact",
            &d.security_contact,
            MAX_SECURITY_CONTACT,
        ),
        ("details", &d.details, MAX_DETAILS),
    ] {
        if value.len() > max {
            return Err(StakingError::Invalid(format!(
                "description.{name} is longer than {max} bytes"
            )));
        }
    }
    Ok(())
}

/// A checked staking message.
#[derive(Debug, Clone, PartialEq)]
pub enum StakingMsg {
    /// A new validator, with its operator's first stake.
    CreateValidator {
        /// The operator.
        operator: Address,
        /// Its consensus key.
        pubkey: [u8; 32],
        /// Its description.
        description: sdk::Description,
        /// Its commission (update time set on execution).
        commission: Commission,
        /// The least self-delegation it promises.
        min_self_delegation: u128,
        /// The first stake.
        amount: u128,
        /// Its denom.
        denom: String,
    },
    /// A change of description, commission rate or minimum self-delegation.
    EditValidator {
        /// The operator.
        operator: Address,
        /// The new description (fields [`DO_NOT_MODIFY`] keep theirs).
        description: Option<sdk::Description>,
        /// The new rate.
        rate: Option<Dec>,
        /// The new minimum.
        min_self_delegation: Option<u128>,
    },
    /// Stake from a delegator's balance.
    Delegate {
        /// The delegator.
        delegator: Address,
        /// The validator.
        validator: Address,
        /// The tokens.
        amount: u128,
        /// Their denom.
        denom: String,
    },
    /// Stake returned after the unbonding time.
    Undelegate {
        /// The delegator.
        delegator: Address,
        /// The validator.
        validator: Address,
        /// The tokens.
        amount: u128,
        /// Their denom.
        denom: String,
    },
    /// Stake moved to another validator.
    Redelegate {
        /// The delegator.
        delegator: Address,
        /// From.
        src: Address,
        /// To.
        dst: Address,
        /// The tokens.
        amount: u128,
        /// Their denom.
        denom: String,
    },
    /// Unbonding stake put back.
    CancelUnbonding {
        /// The delegator.
        delegator: Address,
        /// The validator.
        validator: Address,
        /// The tokens.
        amount: u128,
        /// Their denom.
        denom: String,
        /// The height the unbonding began.
        creation_height: u64,
    },
}

impl StakingMsg {
    /// Stateless checks of `MsgCreateValidator`. The operator signs: the
    /// validator address is its account's bytes.
    pub fn create_validator(m: &sdk::MsgCreateValidator) -> Result<Self, StakingError> {
        let operator = valoper("validator_address", &m.validator_address)?;
        #[allow(deprecated)] // the SDK still fills it; it must agree when it does
        if !m.delegator_address.is_empty()
            && account("delegator_address", &m.delegator_address)? != operator
        {
            return Err(StakingError::Invalid(
                "delegator_address must be the operator's account".into(),
            ));
        }
        let pubkey = pubkey_from_any(m.pubkey.as_ref())?;
        let description = m
            .description
            .clone()
            .ok_or_else(|| StakingError::Invalid("description missing".into()))?;
        check_description(&description)?;
        if description.moniker.trim().is_empty() {
            return Err(StakingError::Invalid(
                "description.moniker must not be empty".into(),
            ));
        }
        let rates = m
            .commission
            .as_ref()
            .ok_or_else(|| StakingError::Invalid("commission missing".into()))?;
        let commission = Commission {
            rate: rate("commission.rate", &rates.rate)?,
            max_rate: rate("commission.max_rate", &rates.max_rate)?,
            max_change_rate: rate("commission.max_change_rate", &rates.max_change_rate)?,
            update_time: Default::default(),
        };
        commission.validate()?;
        let (amount, denom) = amount("value", m.value.as_ref())?;
        let min_self_delegation: u128 = m
            .min_self_delegation
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                StakingError::Invalid("min_self_delegation must be a positive integer".into())
            })?;
        if min_self_delegation > amount {
            return Err(StakingError::Invalid(
                "the self-delegation must be at least min_self_delegation".into(),
            ));
        }
        Ok(StakingMsg::CreateValidator {
            operator,
            pubkey,
            description,
            commission,
            min_self_delegation,
            amount,
            denom,
        })
    }

    /// Stateless checks of `MsgEditValidator`.
    pub fn edit_validator(m: &sdk::MsgEditValidator) -> Result<Self, StakingError> {
        if let Some(d) = &m.description {
            check_description(d)?;
        }
        Ok(StakingMsg::EditValidator {
            operator: valoper("validator_address", &m.validator_address)?,
            description: m.description.clone(),
            rate: (!m.commission_rate.is_empty())
                .then(|| rate("commission_rate", &m.commission_rate))
                .transpose()?,
            min_self_delegation: (!m.min_self_delegation.is_empty())
                .then(|| {
                    m.min_self_delegation
                        .parse::<u128>()
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| {
                            StakingError::Invalid(
                                "min_self_delegation must be a positive integer".into(),
                            )
                        })
                })
                .transpose()?,
        })
    }

    /// Stateless checks of `MsgDelegate`.
    pub fn delegate(m: &sdk::MsgDelegate) -> Result<Self, StakingError> {
        let (amount, denom) = amount("amount", m.amount.as_ref())?;
        Ok(StakingMsg::Delegate {
            delegator: account("delegator_address", &m.delegator_address)?,
            validator: valoper("validator_address", &m.validator_address)?,
            amount,
            denom,
        })
    }

    /// Stateless checks of `MsgUndelegate`.
    pub fn undelegate(m: &sdk::MsgUndelegate) -> Result<Self, StakingError> {
        let (amount, denom) = amount("amount", m.amount.as_ref())?;
        Ok(StakingMsg::Undelegate {
            delegator: account("delegator_address", &m.delegator_address)?,
            validator: valoper("validator_address", &m.validator_address)?,
            amount,
            denom,
        })
    }

    /// Stateless checks of `MsgBeginRedelegate`.
    pub fn redelegate(m: &sdk::MsgBeginRedelegate) -> Result<Self, StakingError> {
        let (amount, denom) = amount("amount", m.amount.as_ref())?;
        let src = valoper("validator_src_address", &m.validator_src_address)?;
        let dst = valoper("validator_dst_address", &m.validator_dst_address)?;
        if src == dst {
            return Err(StakingError::Invalid(
                "cannot redelegate to the same validator".into(),
            ));
        }
        Ok(StakingMsg::Redelegate {
            delegator: account("delegator_address", &m.delegator_address)?,
            src,
            dst,
            amount,
            denom,
        })
    }

    /// Stateless checks of `MsgCancelUnbondingDelegation`.
    pub fn cancel_unbonding(m: &sdk::MsgCancelUnbondingDelegation) -> Result<Self, StakingError> {
        let (amount, denom) = amount("amount", m.amount.as_ref())?;
        Ok(StakingMsg::CancelUnbonding {
            delegator: account("delegator_address", &m.delegator_address)?,
            validator: valoper("validator_address", &m.validator_address)?,
            amount,
            denom,
            creation_height: u64::try_from(m.creation_height)
                .ok()
                .filter(|h| *h > 0)
                .ok_or_else(|| StakingError::Invalid("creation_height must be positive".into()))?,
        })
    }

    fn run(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
        n: &mut Notify<'_>,
    ) -> Result<Vec<Event>, StakingError> {
        let params = state.staking_params()?;
        let at = (ctx.height, ctx.time);
        match self {
            StakingMsg::CreateValidator {
                operator,
                pubkey,
                description,
                commission,
                min_self_delegation,
                amount,
                denom,
            } => {
                check_denom(&params, denom)?;
                if state.validator(operator)?.is_some() {
                    return Err(StakingError::ValidatorExists(operator.to_valoper()));
                }
                // A key once used is never used again, even after its
                // validator was removed (see `remove_validator`).
                let cons = crate::types::consensus_address(pubkey);
                if let Some(other) = state.validator_by_consensus(&cons)? {
                    return Err(StakingError::PubKeyTaken(other.to_valoper()));
                }
                if commission.rate < params.min_commission()? {
                    return Err(StakingError::Commission(format!(
                        "rate must be at least the chain's minimum {}",
                        params.min_commission_rate
                    )));
                }
                let mut v = Validator {
                    operator: *operator,
                    pubkey: *pubkey,
                    jailed: false,
                    status: BondStatus::Unbonded,
                    tokens: 0,
                    shares: Dec::ZERO,
                    description: description.clone(),
                    unbonding_height: 0,
                    unbonding_time: Default::default(),
                    commission: Commission {
                        update_time: ctx.time,
                        ..*commission
                    },
                    min_self_delegation: *min_self_delegation,
                };
                state.put_validator(&v, None)?;
                let mut events = move_tokens(
                    state,
                    operator,
                    &pool_of(v.status),
                    *amount,
                    &params.bond_denom,
                )?;
                let shares = add_delegation(state, operator, &mut v, *amount, n)?;
                events.push(event::create_validator(operator, *amount));
                events.push(event::delegate(operator, operator, *amount, shares));
                Ok(events)
            }
            StakingMsg::EditValidator {
                operator,
                description,
                rate,
                min_self_delegation,
            } => {
                let mut v = state
                    .validator(operator)?
                    .ok_or_else(|| StakingError::NoValidator(operator.to_valoper()))?;
                let before = v.clone();
                if let Some(d) = description {
                    let keep = |new: &String, old: &String| {
                        if new == DO_NOT_MODIFY {
                            old.clone()
                        } else {
                            new.clone()
                        }
                    };
                    v.description = sdk::Description {
                        moniker: keep(&d.moniker, &v.description.moniker),
                        identity: keep(&d.identity, &v.description.identity),
                        website: keep(&d.website, &v.description.website),
                        security_contact: keep(
                            &d.security_contact,
                            &v.description.security_contact,
                        ),
                        details: keep(&d.details, &v.description.details),
                    };
                    if v.description.moniker.trim().is_empty() {
                        return Err(StakingError::Invalid(
                            "description.moniker must not be empty".into(),
                        ));
                    }
                }
                if let Some(r) = rate {
                    let c = &mut v.commission;
                    if ctx.time.seconds
                        < c.update_time
                            .seconds
                            .saturating_add(COMMISSION_CHANGE_SECONDS)
                    {
                        return Err(StakingError::Commission(
                            "the rate may change at most once every 24 hours".into(),
                        ));
                    }
                    if *r > c.max_rate {
                        return Err(StakingError::Commission(
                            "rate must not exceed max_rate".into(),
                        ));
                    }
                    if r.abs_diff(c.rate) > c.max_change_rate {
                        return Err(StakingError::Commission(
                            "the change exceeds max_change_rate".into(),
                        ));
                    }
                    if *r < params.min_commission()? {
                        return Err(StakingError::Commission(format!(
                            "rate must be at least the chain's minimum {}",
                            params.min_commission_rate
                        )));
                    }
                    c.rate = *r;
                    c.update_time = ctx.time;
                }
                if let Some(m) = min_self_delegation {
                    if *m <= v.min_self_delegation {
                        return Err(StakingError::Invalid(
                            "min_self_delegation may only increase".into(),
                        ));
                    }
                    if *m > v.tokens {
                        return Err(StakingError::Invalid(
                            "min_self_delegation may not exceed the validator's tokens".into(),
                        ));
                    }
                    v.min_self_delegation = *m;
                }
                state.put_validator(&v, Some(&before))?;
                Ok(vec![event::edit_validator(
                    v.commission.rate,
                    v.min_self_delegation,
                )])
            }
            StakingMsg::Delegate {
                delegator,
                validator,
                amount,
                denom,
            } => {
                check_denom(&params, denom)?;
                let mut v = state
                    .validator(validator)?
                    .ok_or_else(|| StakingError::NoValidator(validator.to_valoper()))?;
                let mut events = move_tokens(
                    state,
                    delegator,
                    &pool_of(v.status),
                    *amount,
                    &params.bond_denom,
                )?;
                let shares = add_delegation(state, delegator, &mut v, *amount, n)?;
                events.push(event::delegate(validator, delegator, *amount, shares));
                Ok(events)
            }
            StakingMsg::Undelegate {
                delegator,
                validator,
                amount,
                denom,
            } => {
                check_denom(&params, denom)?;
                Ok(ops::undelegate(state, delegator, validator, *amount, at, n)?.1)
            }
            StakingMsg::Redelegate {
                delegator,
                src,
                dst,
                amount,
                denom,
            } => {
                check_denom(&params, denom)?;
                Ok(ops::redelegate(state, delegator, (src, dst), *amount, at, n)?.1)
            }
            StakingMsg::CancelUnbonding {
                delegator,
                validator,
                amount,
                denom,
                creation_height,
            } => {
                check_denom(&params, denom)?;
                ops::cancel_unbonding(state, delegator, validator, *amount, *creation_height, n)
            }
        }
    }
}

/// A staking message with the listener its execution notifies of stake
/// changes (see [`crate::hooks`]); what the module decodes a message into.
pub struct HookedMsg {
    /// The message.
    pub msg: StakingMsg,
    hooks: &'static dyn StakingHooks,
}

impl HookedMsg {
    /// `msg`, notifying `hooks`.
    pub fn new(msg: StakingMsg, hooks: &'static dyn StakingHooks) -> Self {
        HookedMsg { msg, hooks }
    }
}

impl std::fmt::Debug for HookedMsg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.msg.fmt(f)
    }
}

impl StakingMsg {
    /// Its type URL.
    pub fn type_url(&self) -> &'static str {
        match self {
            StakingMsg::CreateValidator { .. } => crate::MSG_CREATE_VALIDATOR_TYPE_URL,
            StakingMsg::EditValidator { .. } => crate::MSG_EDIT_VALIDATOR_TYPE_URL,
            StakingMsg::Delegate { .. } => crate::MSG_DELEGATE_TYPE_URL,
            StakingMsg::Undelegate { .. } => crate::MSG_UNDELEGATE_TYPE_URL,
            StakingMsg::Redelegate { .. } => crate::MSG_BEGIN_REDELEGATE_TYPE_URL,
            StakingMsg::CancelUnbonding { .. } => crate::MSG_CANCEL_UNBONDING_TYPE_URL,
        }
    }

    /// The account that must sign it.
    pub fn signer(&self) -> Address {
        match self {
            StakingMsg::CreateValidator { operator, .. }
            | StakingMsg::EditValidator { operator, .. } => *operator,
            StakingMsg::Delegate { delegator, .. }
            | StakingMsg::Undelegate { delegator, .. }
            | StakingMsg::Redelegate { delegator, .. }
            | StakingMsg::CancelUnbonding { delegator, .. } => *delegator,
        }
    }
}

impl ModuleMsg for HookedMsg {
    fn type_url(&self) -> &'static str {
        self.msg.type_url()
    }

    fn signer(&self) -> Address {
        self.msg.signer()
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        if let StakingMsg::CreateValidator { pubkey, .. } = &self.msg {
            if ctx.host.is_genesis_validator_key(&*state, pubkey)? {
                return Err(StakingError::PubKeyTaken("a validator genesis named".into()).into());
            }
        }
        let mut n = Notify::new(self.hooks, ctx.height);
        let mut events = self.msg.run(state, ctx, &mut n)?;
        events.extend(n.events);
        Ok(events)
    }
}

impl GovernedParams for StakingParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::staking::v1::EventStakingParamsUpdated;

    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        Ok(state.put_staking_params(self)?)
    }
}

/// Stateless checks of a `cosmos.staking.v1beta1.MsgUpdateParams`.
pub fn update_params(m: &sdk::MsgUpdateParams) -> Result<UpdateParams<StakingParams>, MsgError> {
    let params = m
        .params
        .as_ref()
        .map(StakingParams::from_proto)
        .transpose()?;
    UpdateParams::checked(&m.authority, params, |p| Ok(p.validate()?))
}
