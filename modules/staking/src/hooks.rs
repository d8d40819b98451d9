//! What staking tells other modules when stake changes, so that a module
//! keeping books per delegation (distribution's rewards) can settle them
//! at the moment the stake they were earned on changes.
//!
//! Staking knows nothing of the modules that listen: the app hands the
//! listener to [`crate::StakingModule`] (and to the slashing module, which
//! slashes through [`crate::slash`]), so no module depends on one that
//! depends on it. Every operation that changes a delegation's shares or a
//! validator's tokens takes a [`Notify`], so none can forget to call.
//!
//! Order, as the Cosmos SDK's staking hooks: `before_delegation_modified`
//! runs before a delegation is created or its shares change (the stored
//! validator and delegation still hold the old values), and
//! `after_delegation_modified` after (the delegation may be gone);
//! `before_validator_slashed` before a slash takes a fraction of the
//! validator's tokens without touching shares; `after_validator_removed`
//! once its record is deleted.

use deai_types::{Address, Event, StateWrite};

use crate::{dec::Dec, StakingError};

/// A listener to stake changes. Its errors stop the operation (a message
/// fails whole; a block hook fails only on storage errors and corrupt
/// records, so a listener must not fail on anything users can put in state).
pub trait StakingHooks: Send + Sync {
    /// Before `delegator`'s delegation to `validator` is created or its shares change.
    fn before_delegation_modified(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        delegator: &Address,
        validator: &Address,
    ) -> Result<Vec<Event>, StakingError>;

    /// After it was created or changed (or removed, when no shares are left).
    fn after_delegation_modified(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        delegator: &Address,
        validator: &Address,
    ) -> Result<(), StakingError>;

    /// Before `validator` loses `fraction` of its tokens to a slash (its
    /// shares stay, so every delegation loses that fraction of its value).
    fn before_validator_slashed(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        validator: &Address,
        fraction: Dec,
    ) -> Result<(), StakingError>;

    /// After `validator`'s record was deleted (no shares were left).
    fn after_validator_removed(
        &self,
        state: &mut dyn StateWrite,
        height: u64,
        validator: &Address,
    ) -> Result<Vec<Event>, StakingError>;
}

/// No listener: staking alone (its own unit tests, tools).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl StakingHooks for NoHooks {
    fn before_delegation_modified(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: &Address,
    ) -> Result<Vec<Event>, StakingError> {
        Ok(Vec::new())
    }

    fn after_delegation_modified(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: &Address,
    ) -> Result<(), StakingError> {
        Ok(())
    }

    fn before_validator_slashed(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
        _: Dec,
    ) -> Result<(), StakingError> {
        Ok(())
    }

    fn after_validator_removed(
        &self,
        _: &mut dyn StateWrite,
        _: u64,
        _: &Address,
    ) -> Result<Vec<Event>, StakingError> {
        Ok(Vec::new())
    }
}

/// The listener an operation calls, the block's height, and the events its calls returned
/// (the operation's caller appends them to its own).
pub struct Notify<'a> {
    hooks: &'a dyn StakingHooks,
    height: u64,
    /// Events the listener emitted.
    pub events: Vec<Event>,
}

impl<'a> Notify<'a> {
    /// Calls `hooks`, in the block at `height`.
    pub fn new(hooks: &'a dyn StakingHooks, height: u64) -> Self {
        Notify {
            hooks,
            height,
            events: Vec::new(),
        }
    }

    /// See [`StakingHooks::before_delegation_modified`].
    pub fn before_delegation_modified<S: StateWrite + ?Sized>(
        &mut self,
        state: &mut S,
        delegator: &Address,
        validator: &Address,
    ) -> Result<(), StakingError> {
        let events = self.hooks.before_delegation_modified(
            &mut &mut *state,
            self.height,
            delegator,
            validator,
        )?;
        self.events.extend(events);
        Ok(())
    }

    /// See [`StakingHooks::after_delegation_modified`].
    pub fn after_delegation_modified<S: StateWrite + ?Sized>(
        &mut self,
        state: &mut S,
        delegator: &Address,
        validator: &Address,
    ) -> Result<(), StakingError> {
        self.hooks
            .after_delegation_modified(&mut &mut *state, self.height, delegator, validator)
    }

    /// See [`StakingHooks::before_validator_slashed`].
    pub fn before_validator_slashed<S: StateWrite + ?Sized>(
        &mut self,
        state: &mut S,
        validator: &Address,
        fraction: Dec,
    ) -> Result<(), StakingError> {
        self.hooks
            .before_validator_slashed(&mut &mut *state, self.height, validator, fraction)
    }

    /// See [`StakingHooks::after_validator_removed`].
    pub fn after_validator_removed<S: StateWrite + ?Sized>(
        &mut self,
        state: &mut S,
        validator: &Address,
    ) -> Result<(), StakingError> {
        let events =
            self.hooks
                .after_validator_removed(&mut &mut *state, self.height, validator)?;
        self.events.extend(events);
        Ok(())
    }
}
