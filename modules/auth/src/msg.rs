//! The auth module's one message, `deai.auth.v1.MsgUpdateParams`: new auth
//! parameters, which only the governance account may set.

use deai_types::{Address, Event, ModuleMsg, MsgCtx, MsgError, StateWrite};

use crate::{AuthParams, AuthWrite};

/// A checked `deai.auth.v1.MsgUpdateParams` (governance only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateParams {
    /// Must be the governance account (checked on execution).
    pub authority: Address,
    /// The new parameters, already validated.
    pub params: AuthParams,
}

impl UpdateParams {
    /// Stateless checks: the parameters are present and valid, the authority an address.
    pub fn from_proto(m: deai_proto::auth::v1::MsgUpdateParams) -> Result<Self, MsgError> {
        let params = AuthParams::from_proto(
            m.params
                .ok_or_else(|| MsgError::InvalidRequest("params missing".into()))?,
        );
        params.validate()?;
        let authority = m
            .authority
            .parse()
            .map_err(|e| MsgError::InvalidRequest(format!("authority: {e}")))?;
        Ok(UpdateParams { authority, params })
    }
}

impl ModuleMsg for UpdateParams {
    fn type_url(&self) -> &'static str {
        crate::MSG_UPDATE_PARAMS_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.authority
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn is_governance_action(&self) -> bool {
        true
    }

    fn execute(
        &self,
        state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        ctx.require_governance(self)?;
        state.put_auth_params(&self.params)?;
        Ok(vec![Event::new("auth_params_updated")])
    }
}
