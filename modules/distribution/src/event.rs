//! Events the distribution module emits, with the Cosmos SDK's kinds and
//! attributes. Each is a message of `proto/deai/distribution/v1/events.proto`.

use deai_proto::distribution::v1 as pb;
use deai_staking::ValoperAddress;
use deai_types::{Address, Coin, Event};

use crate::dec_coins::DecCoins;

/// Coins as the SDK prints them: `100udeai,5uatom`.
pub fn coins_text(coins: &[Coin]) -> String {
    coins
        .iter()
        .map(|c| format!("{}{}", c.amount, c.denom))
        .collect::<Vec<_>>()
        .join(",")
}

/// Decimal coins as the SDK prints them: `1.500000000000000000udeai`.
pub fn dec_coins_text(coins: &DecCoins) -> String {
    coins
        .iter()
        .map(|(d, a)| format!("{a}{d}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `rewards`.
pub fn rewards(amount: &DecCoins, op: &Address) -> Event {
    Event::typed(&pb::EventRewards {
        amount: dec_coins_text(amount),
        validator: op.to_valoper(),
    })
}

/// `commission`.
pub fn commission(amount: &DecCoins, op: &Address) -> Event {
    Event::typed(&pb::EventCommission {
        amount: dec_coins_text(amount),
        validator: op.to_valoper(),
    })
}

/// `withdraw_rewards`.
pub fn withdraw_rewards(amount: &[Coin], op: &Address, delegator: &Address) -> Event {
    Event::typed(&pb::EventWithdrawRewards {
        amount: coins_text(amount),
        validator: op.to_valoper(),
        delegator: delegator.to_bech32(),
    })
}

/// `withdraw_commission`.
pub fn withdraw_commission(amount: &[Coin]) -> Event {
    Event::typed(&pb::EventWithdrawCommission {
        amount: coins_text(amount),
    })
}

/// `set_withdraw_address`.
pub fn set_withdraw_address(to: &Address) -> Event {
    Event::typed(&pb::EventSetWithdrawAddress {
        withdraw_address: to.to_bech32(),
    })
}
