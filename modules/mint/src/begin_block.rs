//! Start of block: the minter moves one block along the Cosmos SDK's
//! formula and the block's provision is minted into the fee collector.
//!
//! Cost: constant. It reads the parameters, the minter, the bonded pool's
//! and the fee collector's balances and the supply, and writes the minter,
//! the supply and the fee collector's balance.

use deai_bank::{BankRead, BankWrite};
use deai_types::{Coin, Event, StateWrite};

use crate::{event, MintError, MintRead, MintWrite};

/// Runs the module's start-of-block work, returning its events (none when
/// nothing is bonded). Fails only on storage errors and corrupt records:
/// an overflow skips the block's minting with a `mint_skipped` event.
pub fn begin_block<S: StateWrite + ?Sized>(state: &mut S) -> Result<Vec<Event>, MintError> {
    let params = state.mint_params()?;
    let rates = params
        .rates()
        .map_err(|e| MintError::Corrupt(format!("stored params: {e}")))?;
    let denom = params.mint_denom;
    let bonded = state.balance(&deai_staking::bonded_pool(), &denom)?;
    let supply = state.supply(&denom)?;
    // No stake, nobody to reward: the minter waits for the first bond.
    if bonded == 0 || supply == 0 {
        return Ok(Vec::new());
    }
    let provision = match state.minter()?.next(&rates, bonded, supply) {
        Ok(p) => p,
        Err(overflow) => return Ok(vec![event::mint_skipped(overflow.0)]),
    };
    let collector = crate::fee_collector();
    // The bank would refuse these with an error; a block hook must not fail
    // on amounts users hold, so they skip the block's minting instead.
    if supply.checked_add(provision.amount).is_none() {
        return Ok(vec![event::mint_skipped("supply after minting")]);
    }
    let held = state.balance(&collector, &denom)?;
    if held.checked_add(provision.amount).is_none() {
        return Ok(vec![event::mint_skipped(
            "fee collector balance after minting",
        )]);
    }
    state.put_minter(&provision.minter)?;
    let mut events = Vec::new();
    if provision.amount > 0 {
        events.extend(state.mint(&collector, &[Coin::new(provision.amount, denom)])?);
    }
    events.push(event::mint(&provision));
    Ok(events)
}
