//! Typed access to treasury state. All arithmetic on amounts is checked.

use deai_bank::BankError;
use deai_bank::{BankRead, BankWrite};
use deai_proto::treasury::v1::{Params, SpendRecord, Stream};
use deai_types::{
    Address, Coin, Event, Overlay, StateError, StateRead, StateReadExt, StateWrite, StateWriteExt,
};

use crate::{event, params::to_proto_coin, state_key, TreasuryError, TreasuryParams};

/// Stream status: paying.
pub const ACTIVE: &str = "ACTIVE";
/// Stream status: made all its payments.
pub const COMPLETED: &str = "COMPLETED";
/// Stream status: stopped by governance.
pub const CANCELLED: &str = "CANCELLED";

fn read_u64<S: StateRead + ?Sized>(state: &S, key: &[u8]) -> Result<u64, StateError> {
    match state.get_raw(key)? {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] = v
                .as_slice()
                .try_into()
                .map_err(|_| StateError::Storage("treasury counter is not 8 bytes".into()))?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

fn amount(key: &[u8], v: &[u8]) -> Result<u128, StateError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| Coin::parse_amount(s).ok())
        .ok_or_else(|| {
            StateError::Storage(format!(
                "amount under {} is not a decimal integer",
                String::from_utf8_lossy(key)
            ))
        })
}

/// Coins of a stored record.
pub fn coins_of(
    list: &[cosmos_sdk_proto::cosmos::base::v1beta1::Coin],
) -> Result<Vec<Coin>, TreasuryError> {
    list.iter()
        .map(|c| Coin::from_parts(&c.denom, &c.amount))
        .collect::<Result<_, _>>()
        .map_err(|e| TreasuryError::State(StateError::Storage(format!("stored coin: {e}"))))
}

/// Reads of treasury state.
pub trait TreasuryRead: StateRead {
    /// The parameters (defaults before genesis sets them).
    fn treasury_params(&self) -> Result<TreasuryParams, TreasuryError> {
        match self.get_proto::<Params>(&state_key::params())? {
            None => Ok(TreasuryParams::default()),
            Some(p) => TreasuryParams::from_proto(p),
        }
    }

    /// The treasury's balance of `denom`.
    fn treasury_balance(&self, denom: &str) -> Result<u128, TreasuryError> {
        Ok(self.balance(&crate::address(), denom)?)
    }

    /// A stream by id.
    fn stream(&self, id: u64) -> Result<Option<Stream>, TreasuryError> {
        Ok(self.get_proto(&state_key::stream(id))?)
    }

    /// The lowest height the payment queue may hold entries at (0 before
    /// the first end block).
    fn due_cursor(&self) -> Result<u64, TreasuryError> {
        Ok(read_u64(self, &state_key::due_cursor())?)
    }

    /// The payment queue's entries `(height, id)` from the cursor on, at
    /// most `limit`: every active stream, in order of next payment.
    fn due_streams(&self, limit: usize) -> Result<Vec<(u64, u64)>, TreasuryError> {
        let from = state_key::due_at(self.due_cursor()?);
        self.prefix_raw(&state_key::due_prefix(), Some(&from), limit)?
            .into_iter()
            .map(|(k, _)| {
                state_key::parse_due(&k).ok_or_else(|| {
                    TreasuryError::State(StateError::Storage("malformed stream queue key".into()))
                })
            })
            .collect()
    }

    /// Ids of the active streams, in order of next payment (at most
    /// `max_active_streams`).
    fn active_stream_ids(&self) -> Result<Vec<u64>, TreasuryError> {
        let limit =
            usize::try_from(self.treasury_params()?.max_active_streams).unwrap_or(usize::MAX);
        Ok(self
            .due_streams(limit)?
            .into_iter()
            .map(|(_, id)| id)
            .collect())
    }

    /// How many streams are active (one read).
    fn active_stream_count(&self) -> Result<u64, TreasuryError> {
        Ok(read_u64(self, &state_key::active_count())?)
    }

    /// Streams in id order after `after`, at most `limit`.
    fn streams(&self, after: Option<u64>, limit: usize) -> Result<Vec<Stream>, TreasuryError> {
        let after = after.map(state_key::stream);
        self.prefix_raw(&state_key::streams_prefix(), after.as_deref(), limit)?
            .into_iter()
            .map(|(_, v)| {
                <Stream as prost::Message>::decode(v.as_slice())
                    .map_err(|e| TreasuryError::State(StateError::Storage(format!("stream: {e}"))))
            })
            .collect()
    }

    /// Spend records in order after `after`, at most `limit`.
    fn spends(&self, after: Option<u64>, limit: usize) -> Result<Vec<SpendRecord>, TreasuryError> {
        let after = after.map(state_key::spend);
        self.prefix_raw(&state_key::spends_prefix(), after.as_deref(), limit)?
            .into_iter()
            .map(|(_, v)| {
                <SpendRecord as prost::Message>::decode(v.as_slice())
                    .map_err(|e| TreasuryError::State(StateError::Storage(format!("spend: {e}"))))
            })
            .collect()
    }

    /// What has been paid out in the epoch that `height` falls in.
    fn spent_in_epoch(&self, height: u64) -> Result<Vec<Coin>, TreasuryError> {
        let epoch = height / self.treasury_params()?.epoch_blocks.max(1);
        if read_u64(self, &state_key::spent_epoch())? != epoch {
            return Ok(Vec::new());
        }
        let prefix = state_key::epoch_spent_prefix();
        self.prefix_raw(&prefix, None, usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let denom = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                Ok(Coin::new(amount(&k, &v)?, denom))
            })
            .collect()
    }

    /// Checks that the treasury could pay `coins` at `height`: it holds
    /// them and the epoch's cap allows them.
    fn check_spend(&self, height: u64, coins: &[Coin]) -> Result<(), TreasuryError> {
        let params = self.treasury_params()?;
        let spent = self.spent_in_epoch(height)?;
        for c in coins {
            let available = self.treasury_balance(&c.denom)?;
            if available < c.amount {
                return Err(TreasuryError::InsufficientFunds {
                    denom: c.denom.clone(),
                    available,
                    needed: c.amount,
                });
            }
            if let Some(cap) = params.cap(&c.denom) {
                let already = spent
                    .iter()
                    .find(|s| s.denom == c.denom)
                    .map_or(0, |s| s.amount);
                if already.checked_add(c.amount).is_none_or(|t| t > cap) {
                    return Err(TreasuryError::CapExceeded {
                        denom: c.denom.clone(),
                        spent: already,
                        asked: c.amount,
                        cap,
                    });
                }
            }
        }
        Ok(())
    }
}

impl<T: StateRead + ?Sized> TreasuryRead for T {}

/// Writes of treasury state.
pub trait TreasuryWrite: StateWrite {
    /// Stores validated parameters.
    fn put_treasury_params(&mut self, params: &TreasuryParams) -> Result<(), TreasuryError> {
        params.validate()?;
        self.put_proto(state_key::params(), &params.to_proto())?;
        Ok(())
    }

    /// Moves `coins` from `funder` into the treasury.
    fn fund(&mut self, funder: &Address, coins: &[Coin]) -> Result<Vec<Event>, TreasuryError> {
        let mut events = self.send(funder, &crate::address(), coins)?;
        events.push(event::fund(funder, coins));
        Ok(events)
    }

    /// Counts `coins` against the epoch's cap and writes a history record,
    /// without moving anything: for payments another module makes out of
    /// the treasury's account (a treasury-funded compute job's escrow).
    fn record_spend(
        &mut self,
        height: u64,
        recipient: &Address,
        coins: &[Coin],
        kind: &str,
        stream_id: u64,
    ) -> Result<Event, TreasuryError> {
        self.check_spend(height, coins)?;
        let epoch = height / self.treasury_params()?.epoch_blocks.max(1);
        if read_u64(self, &state_key::spent_epoch())? != epoch {
            let old = self.prefix_raw(&state_key::epoch_spent_prefix(), None, usize::MAX)?;
            for (k, _) in old {
                self.delete_raw(k)?;
            }
            self.put_raw(state_key::spent_epoch(), epoch.to_be_bytes().to_vec())?;
        }
        for c in coins {
            let key = state_key::epoch_spent(&c.denom);
            let before = match self.get_raw(&key)? {
                None => 0,
                Some(v) => amount(&key, &v)?,
            };
            let after = before
                .checked_add(c.amount)
                .ok_or_else(|| TreasuryError::Invalid("epoch spending overflows".into()))?;
            self.put_raw(key, after.to_string().into_bytes())?;
        }
        let seq = read_u64(self, &state_key::next_spend_seq())?;
        self.put_raw(
            state_key::next_spend_seq(),
            seq.saturating_add(1).to_be_bytes().to_vec(),
        )?;
        self.put_proto(
            state_key::spend(seq),
            &SpendRecord {
                seq,
                height,
                recipient: recipient.to_bech32(),
                amount: coins.iter().map(to_proto_coin).collect(),
                kind: kind.to_string(),
                stream_id,
            },
        )?;
        Ok(event::spend(recipient, coins, kind, stream_id))
    }

    /// Pays `coins` from the treasury to `recipient`, within the cap, and
    /// records it. Fails without change when the treasury is short.
    fn pay(
        &mut self,
        height: u64,
        recipient: &Address,
        coins: &[Coin],
        kind: &str,
        stream_id: u64,
    ) -> Result<Vec<Event>, TreasuryError> {
        let record = self.record_spend(height, recipient, coins, kind, stream_id)?;
        let mut events = self.send(&crate::address(), recipient, coins)?;
        events.push(record);
        Ok(events)
    }

    /// Creates an active stream and returns its id.
    fn create_stream(
        &mut self,
        height: u64,
        recipient: &Address,
        per_block: &[Coin],
        payments: u64,
    ) -> Result<(u64, Event), TreasuryError> {
        let max = self.treasury_params()?.max_active_streams;
        let active = self.active_stream_count()?;
        if active >= max {
            return Err(TreasuryError::TooManyStreams(max));
        }
        let id = read_u64(self, &state_key::next_stream_id())?.max(1);
        // First paid in this block's end block, as before; never before
        // the queue's cursor, which the end block seeks to.
        let first = height.max(self.due_cursor()?);
        self.put_raw(
            state_key::next_stream_id(),
            id.saturating_add(1).to_be_bytes().to_vec(),
        )?;
        self.put_proto(
            state_key::stream(id),
            &Stream {
                id,
                recipient: recipient.to_bech32(),
                amount_per_block: per_block.iter().map(to_proto_coin).collect(),
                total_payments: payments,
                payments_made: 0,
                created_height: height,
                status: crate::state::ACTIVE.into(),
                last_paid_height: 0,
                queued_at: first,
            },
        )?;
        self.put_raw(state_key::due(first, id), Vec::new())?;
        self.put_raw(
            state_key::active_count(),
            active.saturating_add(1).to_be_bytes().to_vec(),
        )?;
        Ok((
            id,
            event::stream_created(id, recipient, per_block, payments),
        ))
    }

    /// Takes the queue entry at `due` for stream `id` out of the queue.
    fn unqueue(&mut self, due: u64, id: u64) -> Result<(), TreasuryError> {
        self.delete_raw(state_key::due(due, id))?;
        let active = self.active_stream_count()?.saturating_sub(1);
        self.put_raw(state_key::active_count(), active.to_be_bytes().to_vec())?;
        Ok(())
    }

    /// Ends stream `id` with `status`.
    fn end_stream(&mut self, mut stream: Stream, status: &str) -> Result<Event, TreasuryError> {
        if stream.status == ACTIVE {
            self.unqueue(stream.queued_at, stream.id)?;
        }
        stream.status = status.to_string();
        self.put_proto(state_key::stream(stream.id), &stream)?;
        Ok(event::stream_ended(stream.id, status))
    }

    /// Cancels an active stream.
    fn cancel_stream(&mut self, id: u64) -> Result<Event, TreasuryError> {
        let stream = self.stream(id)?.ok_or(TreasuryError::StreamNotFound(id))?;
        if stream.status != ACTIVE {
            return Err(TreasuryError::StreamNotActive {
                id,
                status: stream.status,
            });
        }
        self.end_stream(stream, CANCELLED)
    }

    /// Moves the active-stream index of earlier versions into the due
    /// queue, once (when the queue has no cursor yet).
    fn migrate_legacy_index(&mut self, height: u64) -> Result<(), TreasuryError> {
        let prefix = state_key::legacy_active_prefix();
        let old = self.prefix_raw(&prefix, None, usize::MAX)?;
        let mut count = self.active_stream_count()?;
        for (k, _) in old {
            let id: [u8; 8] = k
                .get(prefix.len()..)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| StateError::Storage("malformed active stream key".into()))?;
            let id = u64::from_be_bytes(id);
            if let Some(mut stream) = self.stream(id)? {
                stream.queued_at = height;
                self.put_proto(state_key::stream(id), &stream)?;
            }
            self.put_raw(state_key::due(height, id), Vec::new())?;
            self.delete_raw(k)?;
            count = count.saturating_add(1);
        }
        self.put_raw(state_key::active_count(), count.to_be_bytes().to_vec())?;
        Ok(())
    }

    /// Pays each active stream's per-block amount if the treasury can
    /// afford all of it now; a stream that cannot be paid (short funds, the
    /// epoch's cap, or any other refusal) waits, with an event, and is
    /// tried again next block. Reads the queue from its cursor, so a block
    /// walks only the streams due, never the markers of past payments.
    /// Errors only when storage fails.
    fn pay_streams(&mut self, height: u64) -> Result<Vec<Event>, TreasuryError> {
        if self.get_raw(&state_key::due_cursor())?.is_none() {
            self.migrate_legacy_index(height)?;
        }
        let limit =
            usize::try_from(self.treasury_params()?.max_active_streams).unwrap_or(usize::MAX);
        let from = self.due_cursor()?.min(height);
        let entries: Vec<(u64, u64)> = self
            .prefix_raw(
                &state_key::due_prefix(),
                Some(&state_key::due_at(from)),
                limit,
            )?
            .into_iter()
            .map(|(k, _)| {
                state_key::parse_due(&k).ok_or_else(|| {
                    TreasuryError::State(StateError::Storage("malformed stream queue key".into()))
                })
            })
            .collect::<Result<_, _>>()?;
        let full = entries.len() >= limit;
        let next = height.saturating_add(1);
        let mut events = Vec::new();
        for (due, id) in entries {
            if due > height {
                // Not due yet (only a stream created ahead of the cursor).
                continue;
            }
            let stream = match self.stream(id)? {
                Some(s) if s.status == ACTIVE => s,
                _ => {
                    self.unqueue(due, id)?;
                    events.push(event::stream_ended(id, "DROPPED"));
                    continue;
                }
            };
            events.extend(self.pay_one(height, due, next, stream)?);
        }
        // With a full page more may be due: read from the same place again.
        let cursor = if full { from } else { next };
        self.put_raw(state_key::due_cursor(), cursor.to_be_bytes().to_vec())?;
        Ok(events)
    }

    /// Pays one due stream on a scratch layer, keeping the payment only if
    /// all of it went through, and requeues it for `next` unless it is done.
    fn pay_one(
        &mut self,
        height: u64,
        due: u64,
        next: u64,
        mut stream: Stream,
    ) -> Result<Vec<Event>, TreasuryError> {
        let id = stream.id;
        let mut events = Vec::new();
        let paid = {
            let mut layer = Overlay::new(&*self);
            let r = coins_of(&stream.amount_per_block)
                .and_then(|coins| {
                    let recipient: Address = stream.recipient.parse().map_err(|e| {
                        TreasuryError::Invalid(format!("stream {id} recipient: {e}"))
                    })?;
                    layer.pay(height, &recipient, &coins, "stream", id)
                })
                .map(|ev| (ev, layer.into_changes()));
            r
        };
        match paid {
            Ok((ev, changes)) => {
                for (k, v) in changes {
                    match v {
                        Some(v) => self.put_raw(k, v)?,
                        None => self.delete_raw(k)?,
                    }
                }
                events.extend(ev);
                stream.payments_made = stream.payments_made.saturating_add(1);
                stream.last_paid_height = height;
                if stream.payments_made >= stream.total_payments {
                    self.unqueue(due, id)?;
                    stream.status = COMPLETED.to_string();
                    self.put_proto(state_key::stream(id), &stream)?;
                    events.push(event::stream_ended(id, COMPLETED));
                    return Ok(events);
                }
            }
            Err(e @ (TreasuryError::State(_) | TreasuryError::Bank(BankError::State(_)))) => {
                return Err(e)
            }
            Err(e) => events.push(event::stream_waiting(id, &e.to_string())),
        }
        if due != next {
            self.delete_raw(state_key::due(due, id))?;
            self.put_raw(state_key::due(next, id), Vec::new())?;
        }
        stream.queued_at = next;
        self.put_proto(state_key::stream(id), &stream)?;
        Ok(events)
    }
}

impl<T: StateWrite + ?Sized> TreasuryWrite for T {}
