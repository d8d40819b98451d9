//! The events every transaction carries, whatever its messages: the Cosmos
//! SDK ante handler's `tx` events and baseapp's `message` event, with the
//! SDK's kinds and attribute names, which explorers and CosmJS read. Like
//! the modules' events they are messages of `proto/deai/app/v1/events.proto`
//! turned into ABCI form by [`Event::typed`]; the SDK emits `tx` with a
//! different attribute set each time, so [`EventTx`]'s fields are optional
//! and each constructor sets only its own.

use base64::Engine;
use deai_bank::event::coins_string;
use deai_proto::app::v1::{EventMessage, EventTx};
use deai_types::{Address, Coin, Event, ModuleMsg};

/// `message`: `msg` is about to execute; its module's events follow.
pub fn message(msg: &dyn ModuleMsg) -> Event {
    Event::typed(&EventMessage {
        action: msg.type_url().to_owned(),
        sender: msg.signer().to_bech32(),
        module: msg.module().to_owned(),
    })
}

/// `tx` with `fee` and `fee_payer`: `payer` paid `fee`.
pub fn tx_fee(fee: &[Coin], payer: &Address) -> Event {
    Event::typed(&EventTx {
        fee: Some(coins_string(fee)),
        fee_payer: Some(payer.to_bech32()),
        ..Default::default()
    })
}

/// `tx` with `acc_seq`: `signer` signed at `sequence`.
pub fn tx_acc_seq(signer: &Address, sequence: u64) -> Event {
    Event::typed(&EventTx {
        acc_seq: Some(format!("{signer}/{sequence}")),
        ..Default::default()
    })
}

/// `tx` with `signature`: one signer's signature, base64.
pub fn tx_signature(signature: &[u8]) -> Event {
    Event::typed(&EventTx {
        signature: Some(base64::engine::general_purpose::STANDARD.encode(signature)),
        ..Default::default()
    })
}
