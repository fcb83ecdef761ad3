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

thread_local! {
    static RECENT: RefCell<Slots<Arc<Opened>>> = RefCell::default();
}

/// The session this thread opened from exactly these cookie bytes, if any.
pub(crate) fn lookup(owner: usize, value: &[u8]) -> Option<Arc<Opened>> {
    RECENT.with(|recent| recent.borrow().lookup(owner, value)).map(|(_, opened)| opened)
}

/// Remembers a session this thread opened, replacing the oldest slot.
pub(crate) fn remember(owner: usize, value: &[u8], opened: Arc<Opened>) {
    RECENT.with(|recent| recent.borrow_mut().remember(owner, Arc::from(value), opened));
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
    fn only_the_exact_bytes_of_the_same_guard_are_recognised() {
        let value = b"v1.k1.AAAABBBBCCCC";
        remember(7, value, opened());
        assert!(lookup(7, value).is_some());
        assert!(lookup(8, value).is_none(), "another guard's entry");
        assert!(lookup(7, &value[..value.len() - 1]).is_none(), "a prefix");
        let mut changed = value.to_vec();
        changed[0] ^= 1;
        assert!(lookup(7, &changed).is_none(), "first byte differs");
        // Bounded: four more sessions push it out.
        for i in 0..crate::recent::SLOTS {
            remember(7, format!("other{i}").as_bytes(), opened());
        }
        assert!(lookup(7, value).is_none());
    }
}
