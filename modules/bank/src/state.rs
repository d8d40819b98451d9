//! Typed access to the bank module's state. All arithmetic is checked.

use deai_types::{
    Address, Coin, Event, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt,
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
    fn set_balance(&mut self, addr: &Address, denom: &str, amount: u128) -> Result<(), BankError> {
        let key = state_key::balance(addr, denom);
        if amount == 0 {
            self.delete_raw(key)?;
        } else {
            self.put_raw(key, amount.to_string().into_bytes())?;
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
