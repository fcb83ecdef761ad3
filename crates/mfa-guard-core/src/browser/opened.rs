//! The sessions each thread opened last, recognised by their exact cookie bytes —
//! the browser's counterpart of the verified-token cache's first level.
//!
//! A browser sends the same session cookie with every navigation until it is
//! rewritten (at most once a minute), so a thread that opened it keeps what opening
//! it produced: the session, the caller it makes under the guard's policy, and its
//! claims. Only bytes that opened are recognised (compared in constant time: a
//! remembered cookie may be another user's), the session's expiry is checked on
//! every hit, and route policy runs on every request as always. Bounded and kept
//! apart per guard as [`crate::recent`] says.
//!
//! Two kinds of bytes, kept in two sets so that one kind is never taken for the
//! other: a request's single `Cookie` header as received ([`Key::Header`]), which
//! HTTP/1.1 browsers send the same with every navigation, so a hit reads no cookie
//! at all; and the session cookie's value ([`Key::Value`]), for requests whose
//! cookies come in several headers (HTTP/2 sends one per cookie), after the
//! `cookie` crate found it. The same header bytes always hold the same session
//! cookie, so the first kind adds no second reading of the header.

use std::cell::RefCell;
use std::sync::Arc;

use super::session::Session;
use crate::claims::Claims;
use crate::principal::VerifiedToken;
use crate::recent::Slots;

/// An opened session: what the cookie held, and the caller it makes.
pub(crate) struct Opened {
    pub(crate) session: Session,
    pub(crate) token: Arc<VerifiedToken>,
    pub(crate) claims: Arc<Claims>,
}

/// The bytes a session was opened from.
#[derive(Clone, Copy)]
pub(crate) enum Key<'a> {
    /// The request's only `Cookie` header, whole.
    Header(&'a [u8]),
    /// The session cookie's value.
    Value(&'a [u8]),
}

thread_local! {
    static BY_HEADER: RefCell<Slots<Arc<Opened>>> = RefCell::default();
    static BY_VALUE: RefCell<Slots<Arc<Opened>>> = RefCell::default();
}

/// The session this thread opened from exactly these bytes, if any.
pub(crate) fn lookup(owner: usize, key: Key<'_>) -> Option<Arc<Opened>> {
    let (slots, bytes) = match key {
        Key::Header(bytes) => (&BY_HEADER, bytes),
        Key::Value(bytes) => (&BY_VALUE, bytes),
    };
    slots.with(|recent| recent.borrow().lookup(owner, bytes)).map(|(_, opened)| opened)
}

/// Remembers a session this thread opened, replacing the oldest slot of its kind.
pub(crate) fn remember(owner: usize, key: Key<'_>, opened: Arc<Opened>) {
    let (slots, bytes) = match key {
        Key::Header(bytes) => (&BY_HEADER, bytes),
        Key::Value(bytes) => (&BY_VALUE, bytes),
    };
    slots.with(|recent| recent.borrow_mut().remember(owner, Arc::from(bytes), opened));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opened() -> Arc<Opened> {
        let claims = Claims::default();
        let policy = crate::Policy::partner_center().compile().unwrap();
        let token =
            VerifiedToken::of(&claims, (crate::CallerKind::User, crate::KindRule::Session), None, &policy);
        Arc::new(Opened { session: Session::default(), token: Arc::new(token), claims: Arc::new(claims) })
    }

    #[test]
    fn only_the_exact_bytes_of_the_same_guard_and_kind_are_recognised() {
        let value = b"v1.k1.AAAABBBBCCCC";
        remember(7, Key::Value(value), opened());
        assert!(lookup(7, Key::Value(value)).is_some());
        assert!(lookup(8, Key::Value(value)).is_none(), "another guard's entry");
        assert!(lookup(7, Key::Header(value)).is_none(), "the other kind");
        assert!(lookup(7, Key::Value(&value[..value.len() - 1])).is_none(), "a prefix");
        let mut changed = value.to_vec();
        changed[0] ^= 1;
        assert!(lookup(7, Key::Value(&changed)).is_none(), "first byte differs");
        let header = b"mfa-guard=v1.k1.AAAABBBBCCCC; theme=dark";
        remember(7, Key::Header(header), opened());
        assert!(lookup(7, Key::Header(header)).is_some());
        assert!(lookup(7, Key::Value(header)).is_none(), "the other kind");
        // Bounded: four more sessions push it out.
        for i in 0..crate::recent::SLOTS {
            remember(7, Key::Value(format!("other{i}").as_bytes()), opened());
        }
        assert!(lookup(7, Key::Value(value)).is_none());
        assert!(lookup(7, Key::Header(header)).is_some(), "each kind has its own slots");
    }
}
