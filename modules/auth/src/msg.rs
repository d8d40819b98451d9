//! The auth module's one message, `deai.auth.v1.MsgUpdateParams`: new auth
//! parameters, which only the governance account may set.

use deai_types::{GovernedParams, MsgError, StateWrite};

use crate::{AuthParams, AuthWrite};

/// A checked `deai.auth.v1.MsgUpdateParams` (governance only).
pub type UpdateParams = deai_types::UpdateParams<AuthParams>;

impl GovernedParams for AuthParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::auth::v1::EventAuthParamsUpdated;

    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        Ok(state.put_auth_params(self)?)
    }
}

/// Stateless checks of a `deai.auth.v1.MsgUpdateParams`: the parameters are
/// present and valid, the authority an address.
pub fn update_params(m: deai_proto::auth::v1::MsgUpdateParams) -> Result<UpdateParams, MsgError> {
    UpdateParams::checked(&m.authority, m.params.map(AuthParams::from_proto), |p| {
        Ok(p.validate()?)
    })
}

#[cfg(test)]
mod tests {
    use deai_types::{
        Address, Coin, Event, MemState, ModuleMsg, MsgCtx, MsgError, MsgHistory, MsgHost,
        StateWrite,
    };

    use super::update_params;
    use crate::{AuthParams, AuthRead};

    /// The app's glue, as far as a params update needs it.
    struct Host(Address);

    impl MsgHost for Host {
        fn gov_authority(&self) -> Address {
            self.0
        }
        fn is_genesis_validator_key(
            &self,
            _: &dyn deai_types::StateRead,
            _: &[u8; 32],
        ) -> Result<bool, MsgError> {
            Ok(false)
        }
        fn ensure_account(&self, _: &mut dyn StateWrite, _: &Address) -> Result<(), MsgError> {
            Ok(())
        }
        fn is_module_account(&self, _: &Address) -> bool {
            false
        }
        fn record_treasury_spend(
            &self,
            _: &mut dyn StateWrite,
            _: u64,
            _: &Address,
            _: &[Coin],
            _: &str,
            _: u64,
        ) -> Result<Event, MsgError> {
            unreachable!("a params update spends nothing")
        }
    }

    fn msg(
        authority: &Address,
        params: Option<AuthParams>,
    ) -> deai_proto::auth::v1::MsgUpdateParams {
        deai_proto::auth::v1::MsgUpdateParams {
            authority: authority.to_bech32(),
            params: params.map(|p| p.to_proto()),
        }
    }

    #[test]
    fn only_governance_sets_valid_params() {
        let gov = Address::module("gov");
        let host = Host(gov);
        let history: &MsgHistory = &|_| Ok(None);
        let ctx = MsgCtx {
            height: 5,
            time: Default::default(),
            prev_app_hash: &[],
            history,
            host: &host,
        };
        let new = AuthParams {
            max_memo_characters: 100,
            ..AuthParams::default()
        };

        // Stateless checks.
        assert!(matches!(
            update_params(msg(&gov, None)),
            Err(MsgError::InvalidRequest(_))
        ));
        let mut bad = new.clone();
        bad.min_gas_price_den = 0;
        assert!(update_params(msg(&gov, Some(bad))).is_err());
        let mut m = msg(&gov, Some(new.clone()));
        m.authority = "nope".into();
        assert!(
            matches!(update_params(m), Err(MsgError::InvalidRequest(e)) if e.starts_with("authority"))
        );

        // Anyone else is refused and nothing is written.
        let mut state = MemState::default();
        let other = Address::module("someone");
        let e = update_params(msg(&other, Some(new.clone())))
            .unwrap()
            .execute(&mut state, &ctx)
            .unwrap_err();
        assert!(matches!(e, MsgError::Unauthorized(_)), "{e:?}");
        assert!(state.0.is_empty());

        // Governance sets them, with the module's event.
        let m = update_params(msg(&gov, Some(new.clone()))).unwrap();
        assert_eq!(
            (m.type_url(), m.module(), m.signer()),
            (crate::MSG_UPDATE_PARAMS_TYPE_URL, "auth", gov)
        );
        assert!(m.is_governance_action());
        let events = m.execute(&mut state, &ctx).unwrap();
        assert_eq!(events, vec![Event::new("auth_params_updated")]);
        assert_eq!(state.auth_params().unwrap(), new);
    }
}
