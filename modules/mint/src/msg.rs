//! Mint messages: governance's `MsgUpdateParams`, with the Cosmos SDK's
//! type URL.

use cosmos_sdk_proto::cosmos::mint::v1beta1 as sdk;
use deai_types::{GovernedParams, MsgError, StateWrite, UpdateParams};

use crate::{MintParams, MintWrite};

impl GovernedParams for MintParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::mint::v1::EventMintParamsUpdated;

    /// Stores the parameters; the minter carries on from where it is (the
    /// next block clamps its inflation into new bounds).
    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        Ok(state.put_mint_params(self)?)
    }
}

/// Stateless checks of a `cosmos.mint.v1beta1.MsgUpdateParams`.
pub fn update_params(m: &sdk::MsgUpdateParams) -> Result<UpdateParams<MintParams>, MsgError> {
    let params = m.params.as_ref().map(MintParams::from_proto).transpose()?;
    UpdateParams::checked(&m.authority, params, |p| Ok(p.validate()?))
}
