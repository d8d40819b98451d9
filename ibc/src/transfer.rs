//! ICS-20 fungible token transfer on port `transfer`, version `ics20-1`,
//! over the bank, as ibc-go keeps it:
//!
//! - a token leaving from the chain where it is not a voucher is escrowed
//!   in the channel's escrow account ([`escrow_address`], ibc-go's
//!   derivation) and released when it comes back;
//! - a token arriving from its source is minted as the voucher
//!   `ibc/<HASH>`, HASH the upper-case hex SHA-256 of its full trace path
//!   (`transfer/channel-0/uatom`), whose trace is recorded so the voucher
//!   can be sent on; a voucher going back towards its source is burned;
//! - a timeout or an error acknowledgement refunds the sender.
//!
//! The packet logic is ibc-rs's; this file supplies its contexts
//! ([`TransferCtx`]) and the port's [`Module`] ([`TransferModule`]).
//! Receiving runs on a scratch layer kept only when the acknowledgement is
//! a success, so an error acknowledgement leaves nothing behind.

use deai_bank::{BankRead, BankWrite};
use deai_types::{
    Address, Coin, Event, MsgHost, Overlay, StateError, StateRead, StateWrite, BASE_DENOM,
};
use ibc::{
    apps::transfer::{
        context::{TokenTransferExecutionContext, TokenTransferValidationContext},
        module as ics20,
        types::{
            error::TokenTransferError, Memo, PrefixedCoin, PrefixedDenom, MODULE_ID_STR, VERSION,
        },
    },
    core::{
        channel::types::{
            acknowledgement::{Acknowledgement, AcknowledgementStatus},
            channel::{Counterparty, Order},
            error::ChannelError,
            packet::Packet,
            Version,
        },
        host::types::{
            error::HostError,
            identifiers::{ChannelId, ConnectionId, PortId},
        },
        router::{
            module::Module,
            types::{event::ModuleEvent, module::ModuleExtras},
        },
    },
    primitives::Signer,
};
use sha2::{Digest, Sha256};

use crate::{shared::SharedState, state_key as key};

/// The transfer application's port (and ibc-rs module id).
pub const PORT: &str = MODULE_ID_STR;

/// The longest receiver a packet or `MsgTransfer` may name (ibc-go's bound).
pub const MAX_RECEIVER_LEN: usize = 2048;

/// The longest memo (ibc-go's bound).
pub const MAX_MEMO_LEN: usize = 32_768;

/// The longest full trace path of a received token. A longer one is
/// refused with an error acknowledgement, so no one can make the chain
/// store unbounded denom traces.
pub const MAX_DENOM_PATH_LEN: usize = 1024;

/// The escrow account of `port`/`channel`: the first 20 bytes of
/// SHA-256(`ics20-1` ‖ 0x00 ‖ `port/channel`), as in ibc-go.
pub fn escrow_address(port: &PortId, channel: &ChannelId) -> Address {
    let mut h = Sha256::new();
    h.update(VERSION.as_bytes());
    h.update([0u8]);
    h.update(format!("{port}/{channel}").as_bytes());
    let digest = h.finalize();
    let mut a = [0u8; 20];
    a.copy_from_slice(&digest[..20]);
    Address(a)
}

/// The upper-case hex SHA-256 of a full trace path: `ibc/<this>` is the
/// voucher's bank denom.
pub fn denom_hash(full_path: &str) -> String {
    hex::encode_upper(Sha256::digest(full_path.as_bytes()))
}

/// The bank denom of an ICS-20 denom: the base denom itself when it has no
/// trace (a native token), else the voucher denom `ibc/<HASH>`.
pub fn bank_denom(denom: &PrefixedDenom) -> String {
    if denom.trace_path.is_empty() {
        denom.base_denom.to_string()
    } else {
        format!("ibc/{}", denom_hash(&denom.to_string()))
    }
}

/// The full trace path recorded for voucher denom `ibc/<hash>`, if any.
pub fn denom_trace(state: &impl StateRead, hash: &str) -> Result<Option<String>, HostError> {
    state
        .get_raw(&key::denom_trace(hash))
        .map_err(HostError::failed_to_retrieve)?
        .map(|b| String::from_utf8(b).map_err(|_| HostError::invalid_state("denom trace")))
        .transpose()
}

/// The denom a sender names in `MsgTransfer`, as the packet carries it: a
/// voucher `ibc/<HASH>` becomes its full trace path; a native denom stays
/// as it is. A bare trace path is refused (ibc-go refuses it too: the
/// sender names the voucher it holds).
pub fn packet_denom(state: &impl StateRead, denom: &str) -> Result<String, String> {
    Coin::validate_denom(denom).map_err(|e| e.to_string())?;
    if let Some(hash) = denom.strip_prefix("ibc/") {
        let hash = hash.to_ascii_uppercase();
        return denom_trace(state, &hash)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no denom trace for {denom}"));
    }
    let parsed: PrefixedDenom = denom.parse().map_err(|e| format!("denom {denom}: {e}"))?;
    if !parsed.trace_path.is_empty() {
        return Err(format!(
            "denom {denom} is a trace path: send the voucher ibc/{} instead",
            denom_hash(denom)
        ));
    }
    Ok(denom.to_string())
}

fn invalid(e: impl std::fmt::Display) -> HostError {
    HostError::invalid_state(e)
}

/// A received or sent token as a bank coin: a positive amount that fits
/// the bank's 128 bits, and the bank denom.
fn bank_coin(coin: &PrefixedCoin) -> Result<Coin, HostError> {
    let amount = *coin.amount.as_ref();
    if amount.is_zero() {
        return Err(invalid("amount must be positive"));
    }
    if amount.bits() > 128 {
        return Err(invalid(format!(
            "amount {amount} is more than this chain's 128-bit balances hold"
        )));
    }
    let denom = bank_denom(&coin.denom);
    Coin::validate_denom(&denom).map_err(invalid)?;
    Ok(Coin::new(amount.low_u128(), denom))
}

/// Refuses trace paths this chain will not record: too long, or a base
/// denom outside printable ASCII (no spaces, no control characters).
fn check_trace(denom: &PrefixedDenom) -> Result<(), HostError> {
    let full = denom.to_string();
    if full.len() > MAX_DENOM_PATH_LEN {
        return Err(invalid(format!(
            "denom trace is {} bytes, more than {MAX_DENOM_PATH_LEN}",
            full.len()
        )));
    }
    if !denom
        .base_denom
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_graphic())
    {
        return Err(invalid("base denom has characters outside printable ASCII"));
    }
    Ok(())
}

/// ibc-rs's token-transfer contexts over `state`; collects the bank's events.
pub struct TransferCtx<'h, S> {
    /// The state read and written.
    pub state: S,
    /// The app's glue (accounts, module accounts).
    pub host: &'h dyn MsgHost,
    /// The bank's events so far.
    pub events: Vec<Event>,
}

impl<S> std::fmt::Debug for TransferCtx<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferCtx").finish_non_exhaustive()
    }
}

impl<'h, S> TransferCtx<'h, S> {
    /// Contexts over `state`.
    pub fn new(state: S, host: &'h dyn MsgHost) -> Self {
        TransferCtx {
            state,
            host,
            events: Vec::new(),
        }
    }
}

impl<S: StateRead> TransferCtx<'_, S> {
    fn parse_account(&self, who: &str, signer: &Signer) -> Result<Address, HostError> {
        if signer.as_ref().len() > MAX_RECEIVER_LEN {
            return Err(invalid(format!(
                "{who} is longer than {MAX_RECEIVER_LEN} bytes"
            )));
        }
        signer
            .as_ref()
            .parse::<Address>()
            .map_err(|e| invalid(format!("{who} {signer}: {e}")))
    }

    fn sends_enabled(&self) -> Result<(), HostError> {
        if self.state.bank_params().map_err(invalid)?.send_enabled {
            Ok(())
        } else {
            Err(invalid(
                "transfers are disabled (bank send_enabled is false)",
            ))
        }
    }

    fn require_balance(&self, holder: &Address, coin: &Coin) -> Result<(), HostError> {
        let have = self.state.balance(holder, &coin.denom).map_err(invalid)?;
        if have < coin.amount {
            return Err(invalid(format!(
                "{holder} holds {have}{}, less than {}",
                coin.denom, coin
            )));
        }
        Ok(())
    }

    fn escrow_total(&self, denom: &str) -> Result<u128, HostError> {
        match self
            .state
            .get_raw(&key::escrow_total(denom))
            .map_err(HostError::failed_to_retrieve)?
        {
            None => Ok(0),
            Some(b) => std::str::from_utf8(&b)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| invalid("escrow total")),
        }
    }
}

/// The base denom escrowed by every transfer channel, read from `state`:
/// tokens whose owners now hold vouchers on other chains, so no one's
/// voting power here (see [`deai_types::HeldElsewhere`]).
pub fn escrowed_base_denom(state: &dyn StateRead) -> Result<u128, StateError> {
    match state.get_raw(&key::escrow_total(BASE_DENOM))? {
        None => Ok(0),
        Some(b) => std::str::from_utf8(&b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| StateError::Storage("the escrow total is not a number".into())),
    }
}

impl<S: StateWrite> TransferCtx<'_, S> {
    fn set_escrow_total(&mut self, denom: &str, total: u128) -> Result<(), HostError> {
        let k = key::escrow_total(denom);
        if total == 0 {
            self.state.delete_raw(k)
        } else {
            self.state.put_raw(k, total.to_string().into_bytes())
        }
        .map_err(HostError::failed_to_store)
    }
}

impl<S: StateRead> TokenTransferValidationContext for TransferCtx<'_, S> {
    type AccountId = Address;

    fn sender_account(&self, sender: &Signer) -> Result<Address, HostError> {
        self.parse_account("sender", sender)
    }

    /// A `deai1…` account that is not a module account: module accounts
    /// hold exactly what their module accounts for.
    fn receiver_account(&self, receiver: &Signer) -> Result<Address, HostError> {
        let addr = self.parse_account("receiver", receiver)?;
        if self.host.is_module_account(&addr) {
            return Err(invalid(format!(
                "receiver {addr} is a module account, which may not receive transfers"
            )));
        }
        Ok(addr)
    }

    fn get_port(&self) -> Result<PortId, HostError> {
        Ok(PortId::transfer())
    }

    fn can_send_coins(&self) -> Result<(), HostError> {
        self.sends_enabled()
    }

    fn can_receive_coins(&self) -> Result<(), HostError> {
        self.sends_enabled()
    }

    fn escrow_coins_validate(
        &self,
        from: &Address,
        _port: &PortId,
        _channel: &ChannelId,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        self.require_balance(from, &bank_coin(coin)?)
    }

    fn unescrow_coins_validate(
        &self,
        _to: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
    ) -> Result<(), HostError> {
        let coin = bank_coin(coin)?;
        self.require_balance(&escrow_address(port, channel), &coin)?;
        if self.escrow_total(&coin.denom)? < coin.amount {
            return Err(invalid(format!("less than {coin} is escrowed")));
        }
        Ok(())
    }

    fn mint_coins_validate(&self, _to: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        check_trace(&coin.denom)?;
        let c = bank_coin(coin)?;
        self.state
            .supply(&c.denom)
            .map_err(invalid)?
            .checked_add(c.amount)
            .map(|_| ())
            .ok_or_else(|| invalid(format!("the supply of {} would overflow", c.denom)))
    }

    fn burn_coins_validate(
        &self,
        from: &Address,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        self.require_balance(from, &bank_coin(coin)?)
    }

    fn denom_hash_string(&self, denom: &PrefixedDenom) -> Option<String> {
        Some(denom_hash(&denom.to_string()))
    }
}

impl<S: StateWrite> TokenTransferExecutionContext for TransferCtx<'_, S> {
    fn escrow_coins_execute(
        &mut self,
        from: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        let coin = bank_coin(coin)?;
        let total = self
            .escrow_total(&coin.denom)?
            .checked_add(coin.amount)
            .ok_or_else(|| invalid("escrow total overflow"))?;
        let events = self
            .state
            .send(
                from,
                &escrow_address(port, channel),
                std::slice::from_ref(&coin),
            )
            .map_err(invalid)?;
        self.events.extend(events);
        self.set_escrow_total(&coin.denom, total)
    }

    fn unescrow_coins_execute(
        &mut self,
        to: &Address,
        port: &PortId,
        channel: &ChannelId,
        coin: &PrefixedCoin,
    ) -> Result<(), HostError> {
        let coin = bank_coin(coin)?;
        let total = self
            .escrow_total(&coin.denom)?
            .checked_sub(coin.amount)
            .ok_or_else(|| invalid(format!("less than {coin} is escrowed")))?;
        self.host
            .ensure_account(&mut self.state, to)
            .map_err(invalid)?;
        let events = self
            .state
            .send(
                &escrow_address(port, channel),
                to,
                std::slice::from_ref(&coin),
            )
            .map_err(invalid)?;
        self.events.extend(events);
        self.set_escrow_total(&coin.denom, total)
    }

    fn mint_coins_execute(&mut self, to: &Address, coin: &PrefixedCoin) -> Result<(), HostError> {
        check_trace(&coin.denom)?;
        let c = bank_coin(coin)?;
        if !coin.denom.trace_path.is_empty() {
            let full = coin.denom.to_string();
            self.state
                .put_raw(key::denom_trace(&denom_hash(&full)), full.into_bytes())
                .map_err(HostError::failed_to_store)?;
        }
        self.host
            .ensure_account(&mut self.state, to)
            .map_err(invalid)?;
        let events = self.state.mint(to, &[c]).map_err(invalid)?;
        self.events.extend(events);
        Ok(())
    }

    fn burn_coins_execute(
        &mut self,
        from: &Address,
        coin: &PrefixedCoin,
        _memo: &Memo,
    ) -> Result<(), HostError> {
        let events = self
            .state
            .burn(from, &[bank_coin(coin)?])
            .map_err(invalid)?;
        self.events.extend(events);
        Ok(())
    }
}

fn app_error(e: TokenTransferError) -> ChannelError {
    ChannelError::AppSpecific {
        description: e.to_string(),
    }
}

fn is_success(ack: &Acknowledgement) -> bool {
    serde_json::from_slice::<AcknowledgementStatus>(ack.as_bytes())
        .map(|s| s.is_successful())
        .unwrap_or(false)
}

/// The error acknowledgement this chain writes: one constant, valid JSON
/// text. ibc-rs would write its error message between quotes unescaped,
/// so a receiver or denom with a `"` in it would make an acknowledgement
/// the sending chain cannot parse (and its tokens could never be
/// refunded); the reason goes into an event instead.
pub const ERROR_ACK: &[u8] =
    br#"{"error":"error handling packet: see the fungible_token_packet event for the reason"}"#;

/// The reason inside ibc-rs's error acknowledgement `{"error":"…"}`.
fn error_reason(ack: &Acknowledgement) -> String {
    let text = String::from_utf8_lossy(ack.as_bytes());
    text.strip_prefix(r#"{"error":""#)
        .and_then(|t| t.strip_suffix(r#""}"#))
        .unwrap_or(&text)
        .to_string()
}

/// The transfer port's application, over the shared state of the message
/// being executed.
#[derive(Debug)]
pub struct TransferModule<'a> {
    ctx: TransferCtx<'a, SharedState<'a>>,
}

impl<'a> TransferModule<'a> {
    /// The application over `state`.
    pub fn new(state: SharedState<'a>, host: &'a dyn MsgHost) -> Self {
        TransferModule {
            ctx: TransferCtx::new(state, host),
        }
    }

    /// The bank's events so far, taken.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.ctx.events)
    }
}

impl Module for TransferModule<'_> {
    fn on_chan_open_init_validate(
        &self,
        order: Order,
        hops: &[ConnectionId],
        port: &PortId,
        channel: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<Version, ChannelError> {
        ics20::on_chan_open_init_validate(
            &self.ctx,
            order,
            hops,
            port,
            channel,
            counterparty,
            version,
        )
        .map_err(app_error)?;
        Ok(Version::new(VERSION.to_string()))
    }

    fn on_chan_open_init_execute(
        &mut self,
        order: Order,
        hops: &[ConnectionId],
        port: &PortId,
        channel: &ChannelId,
        counterparty: &Counterparty,
        version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        ics20::on_chan_open_init_execute(
            &mut self.ctx,
            order,
            hops,
            port,
            channel,
            counterparty,
            version,
        )
        .map_err(app_error)
    }

    fn on_chan_open_try_validate(
        &self,
        order: Order,
        hops: &[ConnectionId],
        port: &PortId,
        channel: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<Version, ChannelError> {
        ics20::on_chan_open_try_validate(
            &self.ctx,
            order,
            hops,
            port,
            channel,
            counterparty,
            counterparty_version,
        )
        .map_err(app_error)?;
        Ok(Version::new(VERSION.to_string()))
    }

    fn on_chan_open_try_execute(
        &mut self,
        order: Order,
        hops: &[ConnectionId],
        port: &PortId,
        channel: &ChannelId,
        counterparty: &Counterparty,
        counterparty_version: &Version,
    ) -> Result<(ModuleExtras, Version), ChannelError> {
        ics20::on_chan_open_try_execute(
            &mut self.ctx,
            order,
            hops,
            port,
            channel,
            counterparty,
            counterparty_version,
        )
        .map_err(app_error)
    }

    fn on_chan_open_ack_validate(
        &self,
        port: &PortId,
        channel: &ChannelId,
        counterparty_version: &Version,
    ) -> Result<(), ChannelError> {
        ics20::on_chan_open_ack_validate(&self.ctx, port, channel, counterparty_version)
            .map_err(app_error)
    }

    /// Transfer channels cannot be closed by a user (escrowed tokens
    /// would be stuck): ibc-go refuses too.
    fn on_chan_close_init_validate(
        &self,
        port: &PortId,
        channel: &ChannelId,
    ) -> Result<(), ChannelError> {
        ics20::on_chan_close_init_validate(&self.ctx, port, channel).map_err(app_error)
    }

    fn on_chan_close_init_execute(
        &mut self,
        port: &PortId,
        channel: &ChannelId,
    ) -> Result<ModuleExtras, ChannelError> {
        ics20::on_chan_close_init_execute(&mut self.ctx, port, channel).map_err(app_error)
    }

    /// Runs ibc-rs's receive on a scratch layer over the state, kept only
    /// when the acknowledgement is a success: an error acknowledgement
    /// (a bad receiver, a denom this chain will not hold) changes nothing
    /// but the packet's receipt and acknowledgement.
    fn on_recv_packet_execute(
        &mut self,
        packet: &Packet,
        _relayer: &Signer,
    ) -> (ModuleExtras, Option<Acknowledgement>) {
        let mut layer = TransferCtx::new(Overlay::new(self.ctx.state.clone()), self.ctx.host);
        let (mut extras, ack) = ics20::on_recv_packet_execute(&mut layer, packet);
        if !is_success(&ack) {
            extras.events.push(ModuleEvent {
                kind: "fungible_token_packet".into(),
                attributes: vec![
                    ("module", PORT).into(),
                    ("error", error_reason(&ack)).into(),
                ],
            });
            let ack = Acknowledgement::try_from(ERROR_ACK.to_vec())
                .expect("the error acknowledgement is not empty");
            return (extras, Some(ack));
        }
        let TransferCtx { state, events, .. } = layer;
        // A failure here (out of gas) is recorded by the shared state,
        // which fails the whole message.
        if crate::shared::apply(&mut self.ctx.state, state.into_changes()).is_ok() {
            self.ctx.events.extend(events);
        }
        (extras, Some(ack))
    }

    fn on_acknowledgement_packet_validate(
        &self,
        packet: &Packet,
        acknowledgement: &Acknowledgement,
        relayer: &Signer,
    ) -> Result<(), ChannelError> {
        ics20::on_acknowledgement_packet_validate(&self.ctx, packet, acknowledgement, relayer)
            .map_err(app_error)
    }

    fn on_acknowledgement_packet_execute(
        &mut self,
        packet: &Packet,
        acknowledgement: &Acknowledgement,
        relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        let (extras, result) = ics20::on_acknowledgement_packet_execute(
            &mut self.ctx,
            packet,
            acknowledgement,
            relayer,
        );
        (extras, result.map_err(app_error))
    }

    fn on_timeout_packet_validate(
        &self,
        packet: &Packet,
        relayer: &Signer,
    ) -> Result<(), ChannelError> {
        ics20::on_timeout_packet_validate(&self.ctx, packet, relayer).map_err(app_error)
    }

    fn on_timeout_packet_execute(
        &mut self,
        packet: &Packet,
        relayer: &Signer,
    ) -> (ModuleExtras, Result<(), ChannelError>) {
        let (extras, result) = ics20::on_timeout_packet_execute(&mut self.ctx, packet, relayer);
        (extras, result.map_err(app_error))
    }
}
