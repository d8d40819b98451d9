//! Bank messages: decoded from their Cosmos SDK protobuf form with stateless
//! checks (`from_proto`), then executed against state (`execute`); each is a
//! [`ModuleMsg`] the app runs through the module contract. The bank also
//! owns its parameters' message, `deai.bank.v1.MsgUpdateParams`, which only
//! the governance account may send.

use cosmos_sdk_proto::cosmos::{
    bank::v1beta1::{MsgMultiSend, MsgSend},
    base::v1beta1::Coin as ProtoCoin,
};
use deai_types::{Address, Coin, Event, GovernedParams, ModuleMsg, MsgCtx, MsgError, StateWrite};

use crate::{BankError, BankParams, BankRead, BankWrite};

/// Parses and validates a coin list: non-empty, positive amounts, valid
/// denoms, sorted by denom without duplicates (the SDK's `Coins.Validate`).
pub fn parse_coins(coins: &[ProtoCoin]) -> Result<Vec<Coin>, BankError> {
    if coins.is_empty() {
        return Err(BankError::InvalidCoins("no coins given".into()));
    }
    let mut out: Vec<Coin> = Vec::with_capacity(coins.len());
    for c in coins {
        let coin = Coin::from_parts(&c.denom, &c.amount)?;
        if coin.amount == 0 {
            return Err(BankError::InvalidCoins(format!(
                "zero amount of {}",
                coin.denom
            )));
        }
        if let Some(prev) = out.last() {
            if prev.denom >= coin.denom {
                return Err(BankError::InvalidCoins(
                    "denoms must be sorted and unique".into(),
                ));
            }
        }
        out.push(coin);
    }
    Ok(out)
}

fn parse_address(field: &str, s: &str) -> Result<Address, BankError> {
    s.parse()
        .map_err(|e| BankError::InvalidAddress(format!("{field}: {e}")))
}

/// A checked `MsgSend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    /// Sender and signer.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// What moves.
    pub amount: Vec<Coin>,
}

impl Send {
    /// Stateless checks of the protobuf message.
    pub fn from_proto(m: &MsgSend) -> Result<Self, BankError> {
        Ok(Send {
            from: parse_address("from_address", &m.from_address)?,
            to: parse_address("to_address", &m.to_address)?,
            amount: parse_coins(&m.amount)?,
        })
    }

    /// Who must sign.
    pub fn signer(&self) -> Address {
        self.from
    }

    /// Moves the coins.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, BankError> {
        if !state.bank_params()?.send_enabled {
            return Err(BankError::SendDisabled);
        }
        state.send(&self.from, &self.to, &self.amount)
    }
}

/// A checked `MsgMultiSend`: one input, many outputs (the SDK's rule since v0.47).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiSend {
    /// The one input: signer and what it pays.
    pub input: (Address, Vec<Coin>),
    /// Recipients and what each gets.
    pub outputs: Vec<(Address, Vec<Coin>)>,
}

impl MultiSend {
    /// Stateless checks: exactly one input, at least one output, and the
    /// input equals the sum of the outputs denom by denom.
    pub fn from_proto(m: &MsgMultiSend) -> Result<Self, BankError> {
        let [input] = m.inputs.as_slice() else {
            return Err(BankError::InvalidMultiSend(format!(
                "exactly one input is allowed, got {}",
                m.inputs.len()
            )));
        };
        if m.outputs.is_empty() {
            return Err(BankError::InvalidMultiSend("no outputs".into()));
        }
        let input = (
            parse_address("inputs[0].address", &input.address)?,
            parse_coins(&input.coins)?,
        );
        let mut outputs = Vec::with_capacity(m.outputs.len());
        let mut sums = std::collections::BTreeMap::<String, u128>::new();
        for (i, o) in m.outputs.iter().enumerate() {
            let addr = parse_address(&format!("outputs[{i}].address"), &o.address)?;
            let coins = parse_coins(&o.coins)?;
            for c in &coins {
                let s = sums.entry(c.denom.clone()).or_insert(0);
                *s = s
                    .checked_add(c.amount)
                    .ok_or_else(|| BankError::Overflow("multi-send outputs".into()))?;
            }
            outputs.push((addr, coins));
        }
        let ins: std::collections::BTreeMap<String, u128> = input
            .1
            .iter()
            .map(|c| (c.denom.clone(), c.amount))
            .collect();
        if ins != sums {
            return Err(BankError::InvalidMultiSend(
                "the input does not equal the sum of the outputs".into(),
            ));
        }
        Ok(MultiSend { input, outputs })
    }

    /// Who must sign.
    pub fn signer(&self) -> Address {
        self.input.0
    }

    /// Pays every output from the input.
    pub fn execute<S: StateWrite>(&self, state: &mut S) -> Result<Vec<Event>, BankError> {
        let params = state.bank_params()?;
        if !params.send_enabled {
            return Err(BankError::SendDisabled);
        }
        if self.outputs.len() as u64 > params.max_multi_send_outputs {
            return Err(BankError::InvalidMultiSend(format!(
                "{} outputs, at most {} allowed",
                self.outputs.len(),
                params.max_multi_send_outputs
            )));
        }
        let (from, total) = &self.input;
        state.sub_coins(from, total)?;
        let mut events = vec![crate::event::coin_spent(from, total)];
        for (to, coins) in &self.outputs {
            state.add_coins(to, coins)?;
            events.push(crate::event::coin_received(to, coins));
            events.push(crate::event::transfer(from, to, coins));
        }
        Ok(events)
    }
}

impl ModuleMsg for Send {
    fn type_url(&self) -> &'static str {
        crate::MSG_SEND_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.from
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn recipients(&self) -> Vec<Address> {
        vec![self.to]
    }

    /// Moves the coins, then gives the recipient an account.
    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let events = Send::execute(self, &mut state)?;
        ctx.host.ensure_account(state, &self.to)?;
        Ok(events)
    }
}

impl ModuleMsg for MultiSend {
    fn type_url(&self) -> &'static str {
        crate::MSG_MULTI_SEND_TYPE_URL
    }

    fn signer(&self) -> Address {
        self.input.0
    }

    fn module(&self) -> &'static str {
        crate::MODULE_NAME
    }

    fn recipients(&self) -> Vec<Address> {
        self.outputs.iter().map(|(to, _)| *to).collect()
    }

    /// Pays every output, then gives each recipient an account.
    fn execute(
        &self,
        mut state: &mut dyn StateWrite,
        ctx: &MsgCtx<'_>,
    ) -> Result<Vec<Event>, MsgError> {
        let events = MultiSend::execute(self, &mut state)?;
        for (to, _) in &self.outputs {
            ctx.host.ensure_account(state, to)?;
        }
        Ok(events)
    }
}

/// A checked `deai.bank.v1.MsgUpdateParams` (governance only).
pub type UpdateParams = deai_types::UpdateParams<BankParams>;

impl GovernedParams for BankParams {
    const MODULE: &'static str = crate::MODULE_NAME;
    const TYPE_URL: &'static str = crate::MSG_UPDATE_PARAMS_TYPE_URL;
    type UpdatedEvent = deai_proto::bank::v1::EventBankParamsUpdated;

    fn store(&self, state: &mut dyn StateWrite) -> Result<(), MsgError> {
        Ok(state.put_bank_params(self)?)
    }
}

/// Stateless checks of a `deai.bank.v1.MsgUpdateParams`: the parameters are
/// present and valid, the authority an address.
pub fn update_params(m: deai_proto::bank::v1::MsgUpdateParams) -> Result<UpdateParams, MsgError> {
    UpdateParams::checked(&m.authority, m.params.map(BankParams::from_proto), |p| {
        Ok(p.validate()?)
    })
}

#[cfg(test)]
mod tests {
    use cosmos_sdk_proto::cosmos::bank::v1beta1::{Input, Output};
    use deai_types::{MemState, Overlay, StateRead};
    use proptest::prelude::*;

    use super::*;

    fn pc(amount: u128, denom: &str) -> ProtoCoin {
        ProtoCoin {
            denom: denom.into(),
            amount: amount.to_string(),
        }
    }

    fn funded(addr: Address, amount: u128) -> MemState {
        let mut s = MemState::default();
        s.mint(&addr, &[Coin::new(amount, "udeai")]).unwrap();
        s
    }

    #[test]
    fn a_send_moves_coins_and_keeps_supply() {
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        let mut s = funded(a, 100);
        let send = Send::from_proto(&MsgSend {
            from_address: a.to_bech32(),
            to_address: b.to_bech32(),
            amount: vec![pc(40, "udeai")],
        })
        .unwrap();
        let events = send.execute(&mut s).unwrap();
        assert_eq!(s.balance(&a, "udeai").unwrap(), 60);
        assert_eq!(s.balance(&b, "udeai").unwrap(), 40);
        assert_eq!(s.supply("udeai").unwrap(), 100);
        assert_eq!(events[2].kind, "transfer");
        s.check_supply_invariant().unwrap();
    }

    #[test]
    fn an_overdraft_is_refused_and_changes_nothing_in_a_scratch_layer() {
        let (a, b) = (Address([1; 20]), Address([2; 20]));
        let s = funded(a, 10);
        let mut scratch = Overlay::new(&s);
        let send = Send {
            from: a,
            to: b,
            amount: vec![Coin::new(11, "udeai")],
        };
        let err = send.execute(&mut scratch).unwrap_err();
        assert!(matches!(
            err,
            BankError::InsufficientFunds {
                available: 10,
                needed: 11,
                ..
            }
        ));
        drop(scratch);
        assert_eq!(s.balance(&a, "udeai").unwrap(), 10);
        assert_eq!(
            s.get_raw(&crate::state_key::balance(&b, "udeai")).unwrap(),
            None
        );
    }

    #[test]
    fn malformed_coin_lists_are_rejected() {
        assert!(parse_coins(&[]).is_err());
        assert!(parse_coins(&[pc(0, "udeai")]).is_err());
        assert!(parse_coins(&[pc(1, "uzzz"), pc(1, "uaaa")]).is_err());
        assert!(parse_coins(&[pc(1, "udeai"), pc(1, "udeai")]).is_err());
        assert!(parse_coins(&[ProtoCoin {
            denom: "udeai".into(),
            amount: "1.5".into()
        }])
        .is_err());
    }

    #[test]
    fn a_multi_send_must_balance() {
        let (a, b, c) = (Address([1; 20]), Address([2; 20]), Address([3; 20]));
        let msg = |input: u128| MsgMultiSend {
            inputs: vec![Input {
                address: a.to_bech32(),
                coins: vec![pc(input, "udeai")],
            }],
            outputs: vec![
                Output {
                    address: b.to_bech32(),
                    coins: vec![pc(3, "udeai")],
                },
                Output {
                    address: c.to_bech32(),
                    coins: vec![pc(4, "udeai")],
                },
            ],
        };
        assert!(MultiSend::from_proto(&msg(8)).is_err());
        let ms = MultiSend::from_proto(&msg(7)).unwrap();
        let mut s = funded(a, 10);
        ms.execute(&mut s).unwrap();
        assert_eq!(s.balance(&a, "udeai").unwrap(), 3);
        assert_eq!(s.balance(&c, "udeai").unwrap(), 4);
        s.check_supply_invariant().unwrap();
    }

    proptest! {
        #[test]
        fn total_supply_is_conserved_by_any_sequence_of_sends(
            ops in proptest::collection::vec((0u8..5, 0u8..5, 0u128..300), 1..60)
        ) {
            let addrs: Vec<Address> = (0..5).map(|i| Address([i; 20])).collect();
            let mut s = MemState::default();
            for a in &addrs {
                s.mint(a, &[Coin::new(500, "udeai"), Coin::new(50, "uxyz")]).unwrap();
            }
            for (from, to, amount) in ops {
                let send = Send { from: addrs[from as usize], to: addrs[to as usize], amount: vec![Coin::new(amount, "udeai")] };
                let mut scratch = Overlay::new(&s);
                if send.execute(&mut scratch).is_ok() {
                    let changes = scratch.into_changes();
                    for (k, v) in changes {
                        match v { Some(v) => s.0.insert(k, v), None => s.0.remove(&k) };
                    }
                }
                prop_assert!(s.check_supply_invariant().is_ok());
            }
            prop_assert_eq!(s.supply("udeai").unwrap(), 2500);
        }
    }
}
