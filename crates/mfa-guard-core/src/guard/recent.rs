//! The first level of the verified-token cache: the last few tokens each thread
//! admitted, recognised by their exact bytes (constant-time; see [`crate::recent`]).
//!
//! Entries hold the same [`VerifiedToken`] as the shared cache, so expiry and key
//! retirement are checked on every hit; route policy runs on every request as always.

use std::cell::RefCell;
use std::sync::Arc;

use crate::principal::VerifiedToken;
use crate::recent::Slots;

thread_local! {
    static RECENT: RefCell<Slots<Arc<VerifiedToken>>> = RefCell::default();
}

/// The remembered entry for exactly these bytes, if this thread has one.
pub(crate) fn lookup(owner: usize, token: &[u8]) -> Option<(Arc<[u8]>, Arc<VerifiedToken>)> {
    RECENT.with(|recent| recent.borrow().lookup(owner, token))
}

/// Remembers a token this thread admitted, replacing the oldest slot.
pub(crate) fn remember(owner: usize, token: Arc<[u8]>, verified: Arc<VerifiedToken>) {
    RECENT.with(|recent| recent.borrow_mut().remember(owner, token, verified));
}

/// Forgets a token (expired, or its key retired).
pub(crate) fn forget(owner: usize, token: &[u8]) {
    RECENT.with(|recent| recent.borrow_mut().forget(owner, token));
}
