//! Events the bank module emits, named and shaped as the Cosmos SDK's so
//! explorers and CosmJS read them.

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
    Event::new("coin_spent")
        .attr("spender", spender.to_bech32())
        .attr("amount", coins_string(coins))
}

/// `coin_received`: coins reached `receiver`.
pub fn coin_received(receiver: &Address, coins: &[Coin]) -> Event {
    Event::new("coin_received")
        .attr("receiver", receiver.to_bech32())
        .attr("amount", coins_string(coins))
}

/// `transfer`: a send from `sender` to `recipient`.
pub fn transfer(sender: &Address, recipient: &Address, coins: &[Coin]) -> Event {
    Event::new("transfer")
        .attr("recipient", recipient.to_bech32())
        .attr("sender", sender.to_bech32())
        .attr("amount", coins_string(coins))
}

/// `coinbase`: coins minted to `minter`.
pub fn coinbase(minter: &Address, coins: &[Coin]) -> Event {
    Event::new("coinbase")
        .attr("minter", minter.to_bech32())
        .attr("amount", coins_string(coins))
}

/// `burn`: coins destroyed from `burner`.
pub fn burn(burner: &Address, coins: &[Coin]) -> Event {
    Event::new("burn")
        .attr("burner", burner.to_bech32())
        .attr("amount", coins_string(coins))
}
