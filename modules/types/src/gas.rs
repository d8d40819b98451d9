//! Gas metering. Every read, write and byte costs gas, so a transaction pays
//! for the work it makes every validator do; running out of gas reverts the
//! transaction's messages but still charges its fee.

use crate::state::{StateError, StateRead, StateWrite};

/// Gas prices of state operations. The defaults follow the Cosmos SDK's KV
/// store gas config, so `--gas auto` estimates feel familiar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasConfig {
    /// Flat cost of a read.
    pub read_flat: u64,
    /// Cost per byte read (key and value).
    pub read_per_byte: u64,
    /// Flat cost of a write or delete.
    pub write_flat: u64,
    /// Cost per byte written (key and value).
    pub write_per_byte: u64,
    /// Cost per entry returned by a prefix scan.
    pub iter_next: u64,
    /// Cost per byte of transaction.
    pub tx_byte: u64,
    /// Cost of verifying one secp256k1 signature.
    pub sig_verify_secp256k1: u64,
    /// Cost of verifying one ed25519 signature (a CometBFT validator's, in
    /// a light-client header a message carries).
    pub sig_verify_ed25519: u64,
}

impl Default for GasConfig {
    fn default() -> Self {
        GasConfig {
            read_flat: 1_000,
            read_per_byte: 3,
            write_flat: 2_000,
            write_per_byte: 30,
            iter_next: 30,
            tx_byte: 10,
            sig_verify_secp256k1: 1_000,
            sig_verify_ed25519: 590,
        }
    }
}

/// Counts gas used against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasMeter {
    limit: u64,
    used: u64,
}

impl GasMeter {
    /// A meter with `limit` gas.
    pub fn new(limit: u64) -> Self {
        GasMeter { limit, used: 0 }
    }

    /// A meter that never runs out (genesis, block hooks, queries).
    pub fn infinite() -> Self {
        GasMeter::new(u64::MAX)
    }

    /// Gas used so far; never above the limit.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Charges `amount`. On running out, the meter is left full (used ==
    /// limit), as the Cosmos SDK reports gas used for an out-of-gas tx.
    pub fn consume(&mut self, amount: u64) -> Result<(), StateError> {
        let needed = self.used.saturating_add(amount);
        if needed > self.limit {
            self.used = self.limit;
            return Err(StateError::OutOfGas {
                limit: self.limit,
                needed,
            });
        }
        self.used = needed;
        Ok(())
    }
}

/// A state wrapper that charges a [`GasMeter`] for every operation.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    config: GasConfig,
    meter: std::cell::Cell<GasMeter>,
}

impl<S> Metered<S> {
    /// Wraps `inner`, charging `meter` at `config`'s prices.
    pub fn new(inner: S, config: GasConfig, meter: GasMeter) -> Self {
        Metered {
            inner,
            config,
            meter: std::cell::Cell::new(meter),
        }
    }

    /// The meter as it stands.
    pub fn meter(&self) -> GasMeter {
        self.meter.get()
    }

    /// Charges gas for work outside the store (signature checks, tx bytes).
    pub fn consume(&self, amount: u64) -> Result<(), StateError> {
        let mut m = self.meter.get();
        let r = m.consume(amount);
        self.meter.set(m);
        r
    }

    /// The wrapped state.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps, returning the state and the final meter.
    pub fn into_parts(self) -> (S, GasMeter) {
        (self.inner, self.meter.get())
    }

    fn bytes_cost(flat: u64, per_byte: u64, bytes: usize) -> u64 {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        flat.saturating_add(per_byte.saturating_mul(bytes))
    }
}

impl<S: StateRead> StateRead for Metered<S> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.consume(Self::bytes_cost(
            self.config.read_flat,
            self.config.read_per_byte,
            key.len(),
        ))?;
        let v = self.inner.get_raw(key)?;
        if let Some(v) = &v {
            self.consume(Self::bytes_cost(0, self.config.read_per_byte, v.len()))?;
        }
        Ok(v)
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<crate::state::Entries, StateError> {
        self.consume(self.config.read_flat)?;
        let entries = self.inner.prefix_raw(prefix, start_after, limit)?;
        for (k, v) in &entries {
            self.consume(Self::bytes_cost(
                self.config.iter_next,
                self.config.read_per_byte,
                k.len().saturating_add(v.len()),
            ))?;
        }
        Ok(entries)
    }
}

impl<S: StateWrite> StateWrite for Metered<S> {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        self.consume(Self::bytes_cost(
            self.config.write_flat,
            self.config.write_per_byte,
            key.len().saturating_add(value.len()),
        ))?;
        self.inner.put_raw(key, value)
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        self.consume(self.config.write_flat)?;
        self.inner.delete_raw(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::MemState;

    #[test]
    fn writes_cost_gas_and_running_out_is_an_error() {
        let cfg = GasConfig::default();
        let mut m = Metered::new(MemState::default(), cfg, GasMeter::new(2_100));
        m.put_raw(b"k".to_vec(), b"v".to_vec()).unwrap();
        assert_eq!(m.meter().used(), 2_000 + 30 * 2);
        let err = m.put_raw(b"k2".to_vec(), b"v".to_vec()).unwrap_err();
        assert!(matches!(err, StateError::OutOfGas { limit: 2_100, .. }));
        assert_eq!(m.meter().used(), 2_100);
    }

    #[test]
    fn reads_charge_for_the_bytes_returned() {
        let mut base = MemState::default();
        base.put_raw(b"key".to_vec(), vec![0u8; 100]).unwrap();
        let m = Metered::new(base, GasConfig::default(), GasMeter::infinite());
        m.get_raw(b"key").unwrap();
        assert_eq!(m.meter().used(), 1_000 + 3 * 3 + 3 * 100);
    }
}
