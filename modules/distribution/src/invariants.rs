//! The books balance: the module account holds, in every denom, exactly
//! the validators' outstanding rewards plus the dust owed to the treasury.

use deai_bank::BankRead;
use deai_types::StateRead;

use crate::{dec_coins::DecCoins, state_key as key, DistributionError, DistributionRead};

/// Checks the books (reads every validator's outstanding rewards: for
/// genesis checks and tests, not blocks).
pub fn check_books<S: StateRead + ?Sized>(state: &S) -> Result<(), DistributionError> {
    let mut owed = state.dust()?;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = state.prefix_raw(key::OUTSTANDING, after.as_deref(), 256)?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        for (k, _) in &page {
            let op = deai_types::Address::from_slice(&k[key::OUTSTANDING.len()..])
                .map_err(|e| DistributionError::Corrupt(e.to_string()))?;
            owed = owed
                .checked_add(&state.outstanding_rewards(&op)?)
                .ok_or_else(|| DistributionError::Corrupt("outstanding overflow".into()))?;
        }
    }
    let held = state.balances(&crate::address(), None, 1_000)?;
    let held = DecCoins::from_coins(&held)
        .ok_or_else(|| DistributionError::Corrupt("module balance overflow".into()))?;
    if held != owed {
        return Err(DistributionError::Corrupt(format!(
            "the module holds {} but owes {}",
            crate::event::dec_coins_text(&held),
            crate::event::dec_coins_text(&owed)
        )));
    }
    Ok(())
}
