//! Treasury messages: stateless checks in `from_proto`, then `execute`.
//! Every message but `MsgFund` must come from the governance module account.

use deai_bank::msg::parse_coins;
use deai_proto::treasury::v1 as pb;
use deai_types::{Address, Coin, Event, ModuleMsg, MsgCtx, MsgError, StateWrite};

use crate::{
    event,
    params::{MAX_DENOMS, MAX_STREAM_PAYMENTS},
    TreasuryError, TreasuryParams, TreasuryRead, TreasuryWrite,
};

fn addr(field: &str, s: &str) -> Result<Address, TreasuryError> {
    s.parse()
        .map_err(|e| TreasuryError::InvalidAddress(format!("{field}: {e}")))
}

fn coins(
    field: &str,
    list: &[cosmos_sdk_proto::cosmos::base::v1beta1::Coin],
) -> Result<Vec<Coin>, TreasuryError> {
    let coins = parse_coins(list).map_err(|e| TreasuryError::Invalid(format!("{field}: {e}")))?;
    if coins.len() > MAX_DENOMS {
        return Err(TreasuryError::Invalid(format!(
            "{field}: at most {MAX_DENOMS} denoms"
        )));
    }
    Ok(coins)
}

fn check_authority(authority: &Address) -> Result<(), TreasuryError> {
    if *authority != crate::authority() {
        return Err(TreasuryError::Unauthorized {
            expected: crate::authority().to_bech32(),
            got: authority.to_bech32(),
        });
    }
    Ok(())
}

/// A checked treasury message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreasuryMsg {
    /// Anyone adds funds.
    Fund {
        /// Who pays (and signs).
        funder: Address,
        /// What they give.
        amount: Vec<Coin>,
    },
    /// A one-shot payment (governance only).
    Spend {
        /// Must be the governance module account.
        authority: Address,
        /// Who is paid.
        recipient: Address,
        /// What is paid.
        amount: Vec<Coin>,
    },
    /// A new stream (governance only).
    CreateStream {
        /// Must be the governance module account.
        authority: Address,
        /// Who is paid.
        recipient: Address,
        /// Paid per block.
        per_block: Vec<Coin>,
        /// Number of payments.
        payments: u64,
    },
    /// Stops a stream (governance only).
    CancelStream {
        /// Must be the governance module account.
        authority: Address,
        /// The stream.
        id: u64,
    },
    /// New parameters (governance only).
    UpdateParams {
        /// Must be the governance module account.
        authority: Address,
        /// The parameters.
        params: TreasuryParams,
    },
}

impl TreasuryMsg {
    /// Stateless checks of `MsgFund`.
    pub fn fund(m: &pb::MsgFund) -> Result<Self, TreasuryError> {
        Ok(TreasuryMsg::Fund {
            funder: addr("funder", &m.funder)?,
            amount: coins("amount", &m.amount)?,
        })
    }

    /// Stateless checks of `MsgSpend`.
    pub fn spend(m: &pb::MsgSpend) -> Result<Self, TreasuryError> {
        Ok(TreasuryMsg::Spend {
            authority: addr("authority", &m.authority)?,
            recipient: addr("recipient", &m.recipient)?,
            amount: coins("amount", &m.amount)?,
        })
    }

    /// Stateless checks of `MsgCreateStream`.
    pub fn create_stream(m: &pb::MsgCreateStream) -> Result<Self, TreasuryError> {
        if m.payments == 0 || m.payments > MAX_STREAM_PAYMENTS {
            return Err(TreasuryError::Invalid(format!(
                "payments must be between 1 and {MAX_STREAM_PAYMENTS}"
            )));
        }
        Ok(TreasuryMsg::CreateStream {
            authority: addr("authority", &m.authority)?,
            recipient: addr("recipient", &m.recipient)?,
            per_block: coins("amount_per_block", &m.amount_per_block)?,
            payments: m.payments,
        })
    }

    /// Stateless checks of `MsgCancelStream`.
    pub fn cancel_stream(m: &pb::MsgCancelStream) -> Result<Self, TreasuryError> {
        Ok(TreasuryMsg::CancelStream {
            authority: addr("authority", &m.authority)?,
            id: m.stream_id,
        })
    }

    /// Stateless checks of `MsgUpdateParams`.
    pub fn update_params(m: &pb::MsgUpdateParams) -> Result<Self, TreasuryError> {
        let params = TreasuryParams::from_proto(
            m.params
                .clone()
                .ok_or_else(|| TreasuryError::InvalidParams("params missing".into()))?,
        )?;
        params.validate()?;
        Ok(TreasuryMsg::UpdateParams {
            authority: addr("authority", &m.authority)?,
            params,
        })
    }

    /// Who must sign (for governance messages: the governance account,
    /// which only a passed proposal can sign for).
    pub fn signer(&self) -> Address {
        match self {
            TreasuryMsg::Fund { funder, .. } => *funder,
            TreasuryMsg::Spend { authority, .. }
            | TreasuryMsg::CreateStream { authority, .. }
            | TreasuryMsg::CancelStream { authority, .. }
            | TreasuryMsg::UpdateParams { authority, .. } => *authority,
        }
    }

    /// The type URL.
    pub fn type_url(&self) -> &'static str {
        match self {
            TreasuryMsg::Fund { .. } => crate::MSG_FUND_TYPE_URL,
            TreasuryMsg::Spend { .. } => crate::MSG_SPEND_TYPE_URL,
            TreasuryMsg::CreateStream { .. } => crate::MSG_CREATE_STREAM_TYPE_URL,
            TreasuryMsg::CancelStream { .. } => crate::MSG_CANCEL_STREAM_TYPE_URL,
            TreasuryMsg::UpdateParams { .. } => crate::MSG_UPDATE_PARAMS_TYPE_URL,
        }
    }

    /// Executes the message at block `height`.
    pub fn execute<S: StateWrite>(
        &self,
        state: &mut S,
        height: u64,
    ) -> Result<Vec<Event>, TreasuryError> {
        if !matches!(self, TreasuryMsg::Fund { .. }) {
            check_authority(&self.signer())?;
        }
        match self {
            TreasuryMsg::Fund { funder, amount } => state.fund(funder, amount),
            TreasuryMsg::Spend {
                recipient, amount, ..
            } => state.pay(height, recipient, amount, "spend", 0),
            TreasuryMsg::CreateStream {
                recipient,
                per_block,
                payments,
                ..
            } => Ok(vec![
                state
                    .create_stream(height, recipient, per_block, *payments)?
                    .1,
            ]),
            TreasuryMsg::CancelStream { id, .. } => Ok(vec![state.cancel_stream(*id)?]),
            TreasuryMsg::UpdateParams { params, .. } => {
                // Streams past the limit would never be paid: refuse to lower it below
                // the number active (a later proposal may cancel some first).
                let active = state.active_stream_count()?;
                if active > params.max_active_streams {
                    return Err(TreasuryError::InvalidParams(format!(
                        "more than {} streams are active; cancel some before lowering \
                         max_active_streams to {}",
                        params.max_active_streams, params.max_active_streams
                    )));
                }
                state.put_treasury_params(params)?;
                Ok(vec![event::params_updated()])
            }
        }
    }
}

impl ModuleMsg for TreasuryMsg {
    fn type_url(&self) -> &'static str {
        TreasuryMsg::type_url(self)
    }

    fn signer(&self) -> Address {
        TreasuryMsg::signer(self)
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    /// Everything but `MsgFund`: spending and parameters are governance's.
    fn is_governance_action(&self) -> bool {
        !matches!(self, TreasuryMsg::Fund { .. })
    }

    fn recipients(&self) -> Vec<Address> {
        match self {
            TreasuryMsg::Spend { recipient, .. } | TreasuryMsg::CreateStream { recipient, .. } => {
                vec![*recipient]
            }
            _ => Vec::new(),
        }
    }

    /// Executes the message; a spend's recipient then gets an account.
    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let events = TreasuryMsg::execute(self, &mut state, ctx.height)?;
        if let TreasuryMsg::Spend { recipient, .. } = self {
            ctx.host.ensure_account(state, recipient)?;
        }
        Ok(events)
    }
}
