//! A few credentials each thread saw last, recognised by their exact bytes: the
//! first level of the verified-token cache (`guard/recent.rs`) and of the browser's
//! opened sessions (`browser/opened.rs`) are each a thread-local [`Slots`].
//!
//! A client sends the same credential request after request (a bearer token for up
//! to an hour, a session cookie until it is rewritten), so comparing it with a few
//! remembered ones is cheaper than any shared cache. Exact equality makes this as
//! safe as no cache at all: only bytes that were checked are recognised.
//!
//! The comparison is constant-time in the bytes compared ([`same_bytes`]): a
//! remembered credential may be another caller's, and a `memcmp` that stops at the
//! first difference would let a client time its way, byte by byte, towards it.
//! Lengths are compared first and openly; a credential's length is no secret.
//! Entries of different owners (guards) never mix.

use std::sync::Arc;

/// Credentials remembered per thread and per kind.
pub(crate) const SLOTS: usize = 4;

struct Slot<V> {
    owner: usize,
    key: Arc<[u8]>,
    value: V,
}

/// The remembered credentials of one thread, replaced round-robin.
pub(crate) struct Slots<V> {
    slots: [Option<Slot<V>>; SLOTS],
    next: usize,
}

impl<V> Default for Slots<V> {
    fn default() -> Self {
        Self { slots: std::array::from_fn(|_| None), next: 0 }
    }
}

impl<V: Clone> Slots<V> {
    /// The entry for exactly these bytes, with the bytes as remembered.
    pub(crate) fn lookup(&self, owner: usize, key: &[u8]) -> Option<(Arc<[u8]>, V)> {
        self.slots
            .iter()
            .flatten()
            .find(|s| s.owner == owner && same_bytes(&s.key, key))
            .map(|s| (Arc::clone(&s.key), s.value.clone()))
    }

    /// Remembers an entry, replacing the oldest slot.
    pub(crate) fn remember(&mut self, owner: usize, key: Arc<[u8]>, value: V) {
        let at = self.next;
        self.slots[at] = Some(Slot { owner, key, value });
        self.next = (at + 1) % SLOTS;
    }

    /// Forgets the entry of these bytes.
    pub(crate) fn forget(&mut self, owner: usize, key: &[u8]) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.owner == owner && same_bytes(&s.key, key)) {
                *slot = None;
            }
        }
    }
}

/// Whether presented bytes are remembered ones, in time that does not depend on
/// where they first differ.
fn same_bytes(remembered: &[u8], presented: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(remembered, presented).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bytes_of_the_same_owner_are_recognised() {
        let token = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let mut slots = Slots::default();
        slots.remember(7, Arc::from(&token[..]), 1u8);
        assert_eq!(slots.lookup(7, token).map(|(_, v)| v), Some(1));
        assert!(slots.lookup(8, token).is_none(), "another owner's entry");
        let mut last = token.to_vec();
        *last.last_mut().unwrap() ^= 1;
        assert!(slots.lookup(7, &last).is_none(), "same length, last byte differs");
        let mut first = token.to_vec();
        first[0] ^= 1;
        assert!(slots.lookup(7, &first).is_none(), "same length, first byte differs");
        assert!(slots.lookup(7, &token[..token.len() - 1]).is_none(), "a prefix");
        assert!(slots.lookup(7, b"").is_none());
        slots.forget(7, token);
        assert!(slots.lookup(7, token).is_none());
        slots.remember(7, Arc::from(&token[..]), 1);
        for i in 0..SLOTS {
            slots.remember(7, Arc::from(format!("other{i}").as_bytes()), 2);
        }
        assert!(slots.lookup(7, token).is_none(), "bounded: pushed out round-robin");
    }
}
