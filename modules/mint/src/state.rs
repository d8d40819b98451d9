//! Mint state: the parameters and the minter, each one record stored as
//! the SDK's protobuf. All keys start with `mint/`.

use cosmos_sdk_proto::cosmos::mint::v1beta1 as sdk;
use deai_types::{StateRead, StateReadExt, StateWrite, StateWriteExt};

use crate::{MintError, MintParams, Minter};

/// The parameters' key.
pub fn params_key() -> Vec<u8> {
    b"mint/params".to_vec()
}

/// The minter's key.
pub fn minter_key() -> Vec<u8> {
    b"mint/minter".to_vec()
}

/// Reads of mint state.
pub trait MintRead: StateRead {
    /// The parameters (the defaults before genesis has set them).
    fn mint_params(&self) -> Result<MintParams, MintError> {
        match self.get_proto::<sdk::Params>(&params_key())? {
            Some(p) => MintParams::from_proto(&p).map_err(|e| MintError::Corrupt(e.to_string())),
            None => Ok(MintParams::default()),
        }
    }

    /// The minter (the SDK's starting one before genesis has set it).
    fn minter(&self) -> Result<Minter, MintError> {
        match self.get_proto::<sdk::Minter>(&minter_key())? {
            Some(m) => Minter::from_proto(&m),
            None => Ok(Minter::default()),
        }
    }
}

impl<T: StateRead + ?Sized> MintRead for T {}

/// Writes of mint state.
pub trait MintWrite: StateWrite {
    /// Stores validated parameters.
    fn put_mint_params(&mut self, params: &MintParams) -> Result<(), MintError> {
        params.validate()?;
        self.put_proto(params_key(), &params.to_proto())?;
        Ok(())
    }

    /// Stores the minter.
    fn put_minter(&mut self, minter: &Minter) -> Result<(), MintError> {
        self.put_proto(minter_key(), &minter.to_proto())?;
        Ok(())
    }
}

impl<T: StateWrite + ?Sized> MintWrite for T {}
