//! The first level of the verified-token cache: the last few tokens each thread
//! admitted, recognised by their exact bytes.
//!
//! A client reuses its access token for up to an hour, so the same bytes come back
//! request after request; comparing them with a few remembered tokens costs a pass
//! over their bytes where the shared cache costs a SHA-256 of the token and a moka lookup
//! in memory shared by all threads. Exact equality makes this level as safe as no
//! cache at all: only bytes that were verified are recognised. Entries hold the same
//! [`VerifiedToken`] as the shared cache, so expiry and key retirement are checked on
//! every hit; route policy runs on every request as always.
//!
//! Bounded: [`SLOTS`] tokens per thread (a few KiB), replaced round-robin.
//!
//! The comparison is constant-time in the bytes compared ([`same_token`]): a
//! remembered token may be another caller's, and a `memcmp` that stops at the first
//! difference would let a client time its way, byte by byte, towards it. Lengths
//! are compared first and openly; a token's length is no secret.

use std::cell::RefCell;
use std::sync::Arc;

use crate::principal::VerifiedToken;

/// Tokens remembered per thread.
pub(crate) const SLOTS: usize = 4;

struct Slot {
    /// Which token cache (guard) the entry belongs to: guards never share entries.
    owner: usize,
    token: Arc<[u8]>,
    verified: Arc<VerifiedToken>,
}

#[derive(Default)]
struct Recent {
    slots: [Option<Slot>; SLOTS],
    next: usize,
}

thread_local! {
    static RECENT: RefCell<Recent> = RefCell::default();
}

/// The remembered entry for exactly these bytes, if this thread has one.
pub(crate) fn lookup(owner: usize, token: &[u8]) -> Option<(Arc<[u8]>, Arc<VerifiedToken>)> {
    RECENT.with(|recent| {
        let recent = recent.borrow();
        recent
            .slots
            .iter()
            .flatten()
            .find(|s| s.owner == owner && same_token(&s.token, token))
            .map(|s| (Arc::clone(&s.token), Arc::clone(&s.verified)))
    })
}

/// Remembers a token this thread admitted, replacing the oldest slot.
pub(crate) fn remember(owner: usize, token: Arc<[u8]>, verified: Arc<VerifiedToken>) {
    RECENT.with(|recent| {
        let mut recent = recent.borrow_mut();
        let at = recent.next;
        recent.slots[at] = Some(Slot { owner, token, verified });
        recent.next = (at + 1) % SLOTS;
    });
}

/// Forgets a token (expired, or its key retired).
pub(crate) fn forget(owner: usize, token: &[u8]) {
    RECENT.with(|recent| {
        for slot in recent.borrow_mut().slots.iter_mut() {
            if slot.as_ref().is_some_and(|s| s.owner == owner && same_token(&s.token, token)) {
                *slot = None;
            }
        }
    });
}

/// Whether a presented token is a remembered one, in time that does not depend on
/// where they first differ.
fn same_token(remembered: &[u8], presented: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(remembered, presented).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bytes_are_the_same_token() {
        let token = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        assert!(same_token(token, token));
        let mut last = token.to_vec();
        *last.last_mut().unwrap() ^= 1;
        assert!(!same_token(token, &last), "same length, last byte differs");
        let mut first = token.to_vec();
        first[0] ^= 1;
        assert!(!same_token(token, &first), "same length, first byte differs");
        assert!(!same_token(token, &token[..token.len() - 1]), "a prefix");
        assert!(!same_token(token, b""));
    }
}
