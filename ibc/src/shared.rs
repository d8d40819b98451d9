//! One state written through several handles. ibc-rs's `dispatch` holds
//! the host's contexts and the router's applications mutably at once, and
//! both write the chain's state (the host its channels and commitments, an
//! application its balances), so each gets a [`SharedState`] handle to the
//! same state. Every read or write borrows it only for that call.
//!
//! The handles also remember the first storage error any of them met (out
//! of gas, above all): ibc-rs's application callbacks for a received
//! packet cannot fail, so the message checks [`SharedState::fault`] when
//! dispatch returns and fails as a whole rather than keep half a write.

use std::{cell::RefCell, rc::Rc};

use deai_types::{state::Entries, StateError, StateRead, StateWrite};

/// A cloneable handle to one mutable state.
#[derive(Clone)]
pub struct SharedState<'a> {
    state: Rc<RefCell<&'a mut dyn StateWrite>>,
    fault: Rc<RefCell<Option<StateError>>>,
}

impl<'a> SharedState<'a> {
    /// A handle to `state`.
    pub fn new(state: &'a mut dyn StateWrite) -> Self {
        SharedState {
            state: Rc::new(RefCell::new(state)),
            fault: Rc::default(),
        }
    }

    /// The first storage error any handle met, if one did.
    pub fn fault(&self) -> Option<StateError> {
        self.fault.borrow().clone()
    }

    fn note<T>(&self, r: Result<T, StateError>) -> Result<T, StateError> {
        if let Err(e) = &r {
            self.fault.borrow_mut().get_or_insert_with(|| e.clone());
        }
        r
    }
}

impl std::fmt::Debug for SharedState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedState")
    }
}

impl StateRead for SharedState<'_> {
    fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.note(self.state.borrow().get_raw(key))
    }

    fn prefix_raw(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Entries, StateError> {
        self.note(self.state.borrow().prefix_raw(prefix, start_after, limit))
    }
}

impl StateWrite for SharedState<'_> {
    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<(), StateError> {
        let r = self.state.borrow_mut().put_raw(key, value);
        self.note(r)
    }

    fn delete_raw(&mut self, key: Vec<u8>) -> Result<(), StateError> {
        let r = self.state.borrow_mut().delete_raw(key);
        self.note(r)
    }
}

/// Writes a scratch layer's changes into `state`.
pub fn apply(
    state: &mut impl StateWrite,
    changes: deai_types::state::Changes,
) -> Result<(), StateError> {
    for (k, v) in changes {
        match v {
            Some(v) => state.put_raw(k, v)?,
            None => state.delete_raw(k)?,
        }
    }
    Ok(())
}
