//! What each API key has spent today, persisted so a restart does not reset it.
//!
//! Days are UTC days of the gateway's wall clock (this is off-chain bookkeeping; nothing on
//! chain depends on it). An amount is reserved before a job is submitted (its escrow and
//! fee), and what the chain refunds is released again, so concurrent requests cannot
//! together pass the limit: the caller holds the paying account's lock from the check to
//! the submission, and every change is written (atomically) before it is acted on.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::Context;
use deai_client::salt_store;
use serde::{Deserialize, Serialize};

/// Largest ledger file read.
const MAX_LEDGER_BYTES: u64 = 16 << 20;

/// The UTC day (days since 1970-01-01) of the wall clock now.
pub fn today() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// One key's spending on one day.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Day {
    day: u64,
    /// udeai, decimal (JSON numbers cannot hold every u128).
    spent: String,
}

/// A refused reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverLimit {
    /// Spent (and reserved) today already.
    pub spent: u128,
    /// The daily limit.
    pub limit: u128,
    /// What the request would cost.
    pub cost: u128,
}

/// The spend ledger, by API key name.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    days: BTreeMap<String, Day>,
}

impl Ledger {
    /// Opens the ledger at `path` (empty if the file does not exist yet).
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let days = salt_store::load(path, MAX_LEDGER_BYTES)
            .with_context(|| format!("reading the spend ledger {}", path.display()))?
            .unwrap_or_default();
        Ok(Ledger {
            path: path.to_path_buf(),
            days,
        })
    }

    /// What `name` has spent on `day`.
    pub fn spent(&self, name: &str, day: u64) -> u128 {
        match self.days.get(name) {
            Some(d) if d.day == day => d.spent.parse().unwrap_or(u128::MAX),
            _ => 0,
        }
    }

    fn set(&mut self, name: &str, day: u64, spent: u128) -> anyhow::Result<()> {
        let before = self.days.insert(
            name.to_string(),
            Day {
                day,
                spent: spent.to_string(),
            },
        );
        if let Err(e) = salt_store::save(&self.path, &self.days) {
            // Not written: not reserved either.
            match before {
                Some(b) => self.days.insert(name.to_string(), b),
                None => self.days.remove(name),
            };
            return Err(e).with_context(|| format!("writing {}", self.path.display()));
        }
        Ok(())
    }

    /// Reserves `cost` for `name` on `day` if that stays within `limit`; written to disk
    /// before it returns.
    pub fn reserve(
        &mut self,
        name: &str,
        day: u64,
        cost: u128,
        limit: u128,
    ) -> anyhow::Result<Result<(), OverLimit>> {
        let spent = self.spent(name, day);
        match spent.checked_add(cost) {
            Some(total) if total <= limit => {
                self.set(name, day, total)?;
                Ok(Ok(()))
            }
            _ => Ok(Err(OverLimit { spent, limit, cost })),
        }
    }

    /// Gives back `amount` reserved for `name` on `day` (a refund, or a submission that
    /// never reached the chain). A reservation of an earlier day is not given back today.
    pub fn release(&mut self, name: &str, day: u64, amount: u128) -> anyhow::Result<()> {
        if amount == 0 {
            return Ok(());
        }
        let spent = self.spent(name, day);
        self.set(name, day, spent.saturating_sub(amount))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_keeps_what_was_spent_today_and_a_new_day_starts_at_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spend.json");
        let mut l = Ledger::open(&path).unwrap();
        assert_eq!(l.reserve("a", 10, 600, 1000).unwrap(), Ok(()));
        drop(l);
        let mut l = Ledger::open(&path).unwrap();
        assert_eq!(l.spent("a", 10), 600);
        assert_eq!(
            l.reserve("a", 10, 401, 1000).unwrap(),
            Err(OverLimit {
                spent: 600,
                limit: 1000,
                cost: 401
            })
        );
        assert_eq!(l.reserve("a", 10, 400, 1000).unwrap(), Ok(()));
        assert_eq!(l.spent("a", 10), 1000);
        // A refund frees its share of the limit.
        l.release("a", 10, 300).unwrap();
        assert_eq!(l.spent("a", 10), 700);
        // Tomorrow starts from zero; other keys are separate.
        assert_eq!(l.spent("a", 11), 0);
        assert_eq!(l.reserve("a", 11, 1000, 1000).unwrap(), Ok(()));
        assert_eq!(l.spent("b", 11), 0);
    }

    #[test]
    fn a_cost_that_overflows_is_over_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::open(&dir.path().join("spend.json")).unwrap();
        l.reserve("a", 1, 5, u128::MAX).unwrap().unwrap();
        assert!(l.reserve("a", 1, u128::MAX, u128::MAX).unwrap().is_err());
    }
}
