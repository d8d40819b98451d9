//! Events the bank module emits, named and shaped as the Cosmos SDK's so
//! explorers and CosmJS read them. Each is a message of
//! `proto/deai/bank/v1/events.proto`, built here and turned into its ABCI
//! form by [`Event::typed`].

use deai_proto::bank::v1::{
    EventBurn, EventCoinReceived, EventCoinSpent, EventCoinbase, EventTransfer,
};
use deai_types::{Address, Coin, Event};

/// Formats coins as `10udeai,5uatom`.
pub fn coins_string(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `coin_spent`: coins left `spender`.
pub fn coin_spent(spender: &Address, coins: &[Coin]) -> Event {
    Event::typed(&EventCoinSpent {
        spender: spender.to_bech32(),
        amount: coins_string(coins),
    })
}

/// `coin_received`: coins reached `receiver`.
pub fn coin_received(receiver: &Address, coins: &[Coin]) -> Event {
    Event::typed(&EventCoinReceived {
        receiver: receiver.to_bech32(),
        amount: coins_string(coins),
    })
}

/// `transfer`: a send from `sender` to `recipient`.
pub fn transfer(sender: &Address, recipient: &Address, coins: &[Coin]) -> Event {
    Event::typed(&EventTransfer {
        recipient: recipient.to_bech32(),
        sender: sender.to_bech32(),
        amount: coins_string(coins),
    })
}

/// `coinbase`: coins minted to `minter`.
pub fn coinbase(minter: &Address, coins: &[Coin]) -> Event {
    Event::typed(&EventCoinbase {
        minter: minter.to_bech32(),
        amount: coins_string(coins),
    })
}

/// `burn`: coins destroyed from `burner`.
pub fn burn(burner: &Address, coins: &[Coin]) -> Event {
    Event::typed(&EventBurn {
        burner: burner.to_bech32(),
        amount: coins_string(coins),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDK's shapes, which CosmJS and explorers read, spelled out.
    #[test]
    fn bank_events_keep_the_sdk_kinds_and_attributes() {
        let a = Address::module("a");
        let b = Address::module("b");
        let coins = [Coin::new(10, "udeai"), Coin::new(5, "uatom")];
        let shape = |e: &Event| -> (String, Vec<String>) {
            let attributes = e.attributes.iter().map(|(k, v)| format!("{k}={v}"));
            (e.kind.clone(), attributes.collect())
        };
        let (a32, b32) = (a.to_bech32(), b.to_bech32());
        let amount = || "amount=10udeai,5uatom".to_string();
        let expected = |kind: &str, attributes: Vec<String>| (kind.to_string(), attributes);
        assert_eq!(
            shape(&transfer(&a, &b, &coins)),
            expected(
                "transfer",
                vec![
                    format!("recipient={b32}"),
                    format!("sender={a32}"),
                    amount()
                ]
            )
        );
        assert_eq!(
            shape(&coin_spent(&a, &coins)),
            expected("coin_spent", vec![format!("spender={a32}"), amount()])
        );
        assert_eq!(
            shape(&coin_received(&b, &coins)),
            expected("coin_received", vec![format!("receiver={b32}"), amount()])
        );
        assert_eq!(
            shape(&coinbase(&a, &coins)),
            expected("coinbase", vec![format!("minter={a32}"), amount()])
        );
        assert_eq!(
            shape(&burn(&a, &coins)),
            expected("burn", vec![format!("burner={a32}"), amount()])
        );
    }

    #[test]
    fn a_transfer_event_reads_back_as_its_message() {
        let (a, b) = (Address::module("a"), Address::module("b"));
        let e = transfer(&a, &b, &[Coin::new(3, "udeai")]);
        let typed: EventTransfer = e.to_typed().unwrap();
        assert_eq!(typed.sender, a.to_bech32());
        assert_eq!(typed.recipient, b.to_bech32());
        assert_eq!(typed.amount, "3udeai");
        assert_eq!(Event::typed(&typed), e);
    }
}
