//! Typed access to the bank module's state. All arithmetic is checked.

use deai_types::{
    Address, Coin, Event, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt,
    BASE_DENOM,
};

use crate::{event, state_key, BankError, BankParams};

fn decode_amount(key: &[u8], bytes: &[u8]) -> Result<u128, BankError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| Coin::parse_amount(s).ok())
        .ok_or_else(|| {
            BankError::State(StateError::Storage(format!(
                "amount under {} is not a decimal integer",
                String::from_utf8_lossy(key)
            )))
        })
}

/// Reads of bank state.
pub trait BankRead: StateRead {
    /// The amount of `denom` held by `addr` (zero if none).
    fn balance(&self, addr: &Address, denom: &str) -> Result<u128, BankError> {
        let key = state_key::balance(addr, denom);
        match self.get_raw(&key)? {
            None => Ok(0),
            Some(v) => decode_amount(&key, &v),
        }
    }

    /// Non-zero balances of `addr` in denom order, after `start_after`, at most `limit`.
    fn balances(
        &self,
        addr: &Address,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Coin>, BankError> {
        let after = start_after.map(|d| state_key::balance(addr, d));
        self.prefix_raw(&state_key::balances_of(addr), after.as_deref(), limit)?
            .into_iter()
            .map(|(k, v)| {
                let (_, denom) = state_key::parse_balance(&k).ok_or_else(|| {
                    BankError::State(StateError::Storage("malformed balance key".into()))
                })?;
                Ok(Coin::new(decode_amount(&k, &v)?, denom))
            })
            .collect()
    }

    /// The total supply of `denom`.
    fn supply(&self, denom: &str) -> Result<u128, BankError> {
        let key = state_key::supply(denom);
        match self.get_raw(&key)? {
            None => Ok(0),
            Some(v) => decode_amount(&key, &v),
        }
    }

    /// Supplies in denom order, after `start_after`, at most `limit`.
    fn total_supply(
        &self,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Coin>, BankError> {
        let after = start_after.map(state_key::supply);
        let prefix = state_key::supply_prefix();
        self.prefix_raw(&prefix, after.as_deref(), limit)?
            .into_iter()
            .map(|(k, v)| {
                let denom = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                Ok(Coin::new(decode_amount(&k, &v)?, denom))
            })
            .collect()
    }

    /// The address whose linked total `addr`'s base-denom balance counts
    /// toward, if any (see [`BankWrite::set_link`]).
    fn linked_to(&self, addr: &Address) -> Result<Option<Address>, BankError> {
        match self.get_raw(&state_key::link(addr))? {
            None => Ok(None),
            Some(b) => Address::from_slice(&b).map(Some).map_err(|_| {
                BankError::State(StateError::Storage(format!("malformed link of {addr}")))
            }),
        }
    }

    /// The sum of the base-denom balances of every address linked to
    /// `collector`: one read, however many are linked.
    fn linked_total(&self, collector: &Address) -> Result<u128, BankError> {
        let key = state_key::linked_total(collector);
        match self.get_raw(&key)? {
            None => Ok(0),
            Some(v) => decode_amount(&key, &v),
        }
    }

    /// The bank parameters (defaults before genesis has set them).
    fn bank_params(&self) -> Result<BankParams, BankError> {
        Ok(self
            .get_proto::<deai_proto::bank::v1::Params>(&state_key::params())?
            .map(BankParams::from_proto)
            .unwrap_or_default())
    }

    /// Checks that every denom's supply equals the sum of its balances.
    /// Scans all balances: for tests and operator checks, never for blocks.
    fn check_supply_invariant(&self) -> Result<(), String> {
        let mut sums = std::collections::BTreeMap::<String, u128>::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .prefix_raw(&state_key::balances_prefix(), after.as_deref(), 1024)
                .map_err(|e| e.to_string())?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (k, v) in &page {
                let (_, denom) = state_key::parse_balance(k).ok_or("malformed balance key")?;
                let amount = decode_amount(k, v).map_err(|e| e.to_string())?;
                let sum = sums.entry(denom).or_insert(0);
                *sum = sum.checked_add(amount).ok_or("balance sum overflows")?;
            }
        }
        let supplies = self
            .total_supply(None, usize::MAX)
            .map_err(|e| e.to_string())?;
        let supply_map: std::collections::BTreeMap<String, u128> =
            supplies.into_iter().map(|c| (c.denom, c.amount)).collect();
        if supply_map != sums {
            return Err(format!(
                "supply {supply_map:?} differs from the sum of balances {sums:?}"
            ));
        }
        Ok(())
    }
}

impl<T: StateRead + ?Sized> BankRead for T {}

/// Writes of bank state.
pub trait BankWrite: StateWrite {
    /// Stores validated parameters.
    fn put_bank_params(&mut self, params: &BankParams) -> Result<(), BankError> {
        params.validate()?;
        self.put_proto(state_key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Sets a balance; zero removes the key so state holds no empty records.
    /// A linked address's base-denom change moves its collector's total too.
    fn set_balance(&mut self, addr: &Address, denom: &str, amount: u128) -> Result<(), BankError> {
        if denom == BASE_DENOM {
            if let Some(collector) = self.linked_to(addr)? {
                let before = self.balance(addr, denom)?;
                self.move_linked(&collector, before, amount)?;
            }
        }
        let key = state_key::balance(addr, denom);
        if amount == 0 {
            self.delete_raw(key)?;
        } else {
            self.put_raw(key, amount.to_string().into_bytes())?;
        }
        Ok(())
    }

    /// Replaces `collector`'s linked total `t` by `t - before + after`.
    fn move_linked(
        &mut self,
        collector: &Address,
        before: u128,
        after: u128,
    ) -> Result<(), BankError> {
        let total = self.linked_total(collector)?;
        let total = total
            .checked_sub(before)
            .ok_or_else(|| {
                BankError::State(StateError::Storage(format!(
                    "linked total of {collector} is below a linked balance"
                )))
            })?
            .checked_add(after)
            .ok_or_else(|| BankError::Overflow(format!("linked total of {collector}")))?;
        let key = state_key::linked_total(collector);
        if total == 0 {
            self.delete_raw(key)?;
        } else {
            self.put_raw(key, total.to_string().into_bytes())?;
        }
        Ok(())
    }

    /// Links (or with `None` unlinks) `addr`'s base-denom balance to
    /// `collector`'s linked total, moving it from the old collector's.
    /// Governance uses this for delegated voting power: the total each
    /// delegate is lent is kept up to date on every balance change, so
    /// reading it costs one read however many delegators there are.
    fn set_link(&mut self, addr: &Address, collector: Option<&Address>) -> Result<(), BankError> {
        let balance = self.balance(addr, BASE_DENOM)?;
        if let Some(old) = self.linked_to(addr)? {
            self.move_linked(&old, balance, 0)?;
        }
        match collector {
            None => self.delete_raw(state_key::link(addr))?,
            Some(c) => {
                self.move_linked(c, 0, balance)?;
                self.put_raw(state_key::link(addr), c.as_bytes().to_vec())?;
            }
        }
        Ok(())
    }

    /// Takes `coins` from `addr`, failing without change if any is short.
    fn sub_coins(&mut self, addr: &Address, coins: &[Coin]) -> Result<(), BankError> {
        for c in coins {
            let have = self.balance(addr, &c.denom)?;
            let left = have
                .checked_sub(c.amount)
                .ok_or_else(|| BankError::InsufficientFunds {
                    address: addr.to_bech32(),
                    denom: c.denom.clone(),
                    available: have,
                    needed: c.amount,
                })?;
            self.set_balance(addr, &c.denom, left)?;
        }
        Ok(())
    }

    /// Gives `coins` to `addr`.
    fn add_coins(&mut self, addr: &Address, coins: &[Coin]) -> Result<(), BankError> {
        for c in coins {
            let have = self.balance(addr, &c.denom)?;
            let total = have
                .checked_add(c.amount)
                .ok_or_else(|| BankError::Overflow(format!("balance of {addr}")))?;
            self.set_balance(addr, &c.denom, total)?;
        }
        Ok(())
    }

    /// Moves `coins` from `from` to `to`; supply is unchanged.
    fn send(
        &mut self,
        from: &Address,
        to: &Address,
        coins: &[Coin],
    ) -> Result<Vec<Event>, BankError> {
        self.sub_coins(from, coins)?;
        self.add_coins(to, coins)?;
        Ok(vec![
            event::coin_spent(from, coins),
            event::coin_received(to, coins),
            event::transfer(from, to, coins),
        ])
    }

    /// Creates `coins` in `to`'s balance, raising the supply.
    fn mint(&mut self, to: &Address, coins: &[Coin]) -> Result<Vec<Event>, BankError> {
        for c in coins {
            let supply = self
                .supply(&c.denom)?
                .checked_add(c.amount)
                .ok_or_else(|| BankError::Overflow(format!("supply of {}", c.denom)))?;
            self.put_raw(state_key::supply(&c.denom), supply.to_string().into_bytes())?;
        }
        self.add_coins(to, coins)?;
        Ok(vec![
            event::coin_received(to, coins),
            event::coinbase(to, coins),
        ])
    }

    /// Destroys `coins` from `from`'s balance, lowering the supply.
    fn burn(&mut self, from: &Address, coins: &[Coin]) -> Result<Vec<Event>, BankError> {
        self.sub_coins(from, coins)?;
        for c in coins {
            let supply = self
                .supply(&c.denom)?
                .checked_sub(c.amount)
                .ok_or_else(|| {
                    BankError::State(StateError::Storage(format!(
                        "supply of {} below a balance",
                        c.denom
                    )))
                })?;
            let key = state_key::supply(&c.denom);
            if supply == 0 {
                self.delete_raw(key)?;
            } else {
                self.put_raw(key, supply.to_string().into_bytes())?;
            }
        }
        Ok(vec![
            event::coin_spent(from, coins),
            event::burn(from, coins),
        ])
    }
}

impl<T: StateWrite + ?Sized> BankWrite for T {}

#[cfg(test)]
mod tests {
    use deai_types::MemState;
    use proptest::prelude::*;

    use super::*;

    fn a(i: u8) -> Address {
        Address([i; 20])
    }

    fn udeai(n: u128) -> Vec<Coin> {
        vec![Coin::new(n, BASE_DENOM)]
    }

    #[test]
    fn a_linked_total_follows_mints_sends_burns_and_relinks() {
        let mut s = MemState::default();
        s.mint(&a(1), &udeai(100)).unwrap();
        s.set_link(&a(1), Some(&a(9))).unwrap();
        assert_eq!(s.linked_total(&a(9)).unwrap(), 100);
        s.send(&a(1), &a(2), &udeai(30)).unwrap();
        assert_eq!(s.linked_total(&a(9)).unwrap(), 70);
        s.mint(&a(1), &udeai(5)).unwrap();
        s.burn(&a(1), &udeai(15)).unwrap();
        assert_eq!(s.linked_total(&a(9)).unwrap(), 60);
        // Other denoms are not voting power and do not count.
        s.mint(&a(1), &[Coin::new(7, "uxyz")]).unwrap();
        assert_eq!(s.linked_total(&a(9)).unwrap(), 60);
        s.set_link(&a(1), Some(&a(8))).unwrap();
        assert_eq!(s.linked_total(&a(9)).unwrap(), 0);
        assert_eq!(s.linked_total(&a(8)).unwrap(), 60);
        s.set_link(&a(1), None).unwrap();
        assert_eq!(s.linked_total(&a(8)).unwrap(), 0);
        assert_eq!(s.linked_to(&a(1)).unwrap(), None);
    }

    proptest! {
        #[test]
        fn every_linked_total_is_the_sum_of_the_balances_linked_to_it(
            ops in proptest::collection::vec((0u8..6, 0u8..6, 0u128..300, 0u8..8), 1..60)
        ) {
            let mut s = MemState::default();
            for i in 0..6 {
                s.mint(&a(i), &udeai(500)).unwrap();
            }
            for (from, to, amount, link) in ops {
                // Links to 6 or 7 stand for "no link" to exercise unlinking.
                let collector = (link < 6).then(|| a(link));
                s.set_link(&a(from), collector.as_ref()).unwrap();
                let mut scratch = deai_types::Overlay::new(&s);
                if scratch.send(&a(from), &a(to), &udeai(amount)).is_ok() {
                    let changes = scratch.into_changes();
                    for (k, v) in changes {
                        match v { Some(v) => s.0.insert(k, v), None => s.0.remove(&k) };
                    }
                }
                for c in 0..6 {
                    let want: u128 = (0..6)
                        .filter(|i| s.linked_to(&a(*i)).unwrap() == Some(a(c)))
                        .map(|i| s.balance(&a(i), BASE_DENOM).unwrap())
                        .sum();
                    prop_assert_eq!(s.linked_total(&a(c)).unwrap(), want);
                }
            }
        }
    }
}
