//! The provider's own sessions: who a browser is signed in as at the development
//! issuer, under a cookie of its own, with the session id (`sid`) its ID tokens
//! carry and its logout tokens name. Twelve hours, bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use super::grants::random_code;
use crate::DEV_SIGN_IN_PREFIX;

/// The cookie that names a browser's provider session (only under the sign-in prefix).
pub(crate) const COOKIE_NAME: &str = "mfa_dev_idp_session";
/// How long a provider session lasts.
pub(crate) const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Most sessions kept (the oldest is forgotten first: a development server never
/// refuses a sign-in for want of room).
pub(crate) const MAX_SESSIONS: usize = 1024;

/// A browser's session at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProviderSession {
    /// The session id ID tokens and logout tokens carry.
    pub(crate) sid: String,
    /// Index into [`USERS`](super::users::USERS).
    pub(crate) user: usize,
}

#[derive(Debug)]
struct Held {
    session: ProviderSession,
    started: Instant,
}

/// The provider sessions, by cookie value (a secret the browser holds; the `sid`,
/// which relying parties see, is another value).
#[derive(Debug, Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Held>>);

impl Sessions {
    /// The browser's session after signing `user` in: the one its cookie names when
    /// it is `user`'s (signing in again, e.g. for MFA, stays in one provider
    /// session), else a new one, replacing the other. Returns the cookie value.
    pub(crate) fn sign_in(&self, cookie: Option<&str>, user: usize) -> (String, ProviderSession) {
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|_, h| h.started.elapsed() < SESSION_LIFETIME);
        if let Some(cookie) = cookie
            && let Some(h) = held.get(cookie)
        {
            if h.session.user == user {
                return (cookie.to_owned(), h.session.clone());
            }
            held.remove(cookie);
        }
        while held.len() >= MAX_SESSIONS {
            let Some(oldest) = held.iter().min_by_key(|(_, h)| h.started).map(|(k, _)| k.clone()) else {
                break;
            };
            held.remove(&oldest);
        }
        let session = ProviderSession { sid: random_code(), user };
        let cookie = random_code();
        held.insert(cookie.clone(), Held { session: session.clone(), started: Instant::now() });
        (cookie, session)
    }

    /// The live session the cookie names.
    pub(crate) fn get(&self, cookie: Option<&str>) -> Option<ProviderSession> {
        let held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.get(cookie?).filter(|h| h.started.elapsed() < SESSION_LIFETIME).map(|h| h.session.clone())
    }

    /// Ends the session the cookie names; the session, when it was live.
    pub(crate) fn end(&self, cookie: Option<&str>) -> Option<ProviderSession> {
        let mut held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.remove(cookie?).filter(|h| h.started.elapsed() < SESSION_LIFETIME).map(|h| h.session)
    }
}

/// The provider session cookie of a request, when it sends one (once).
pub(crate) fn cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, value)| *name == COOKIE_NAME && !value.is_empty())
        .map(|(_, value)| value.to_owned());
    match (found.next(), found.next()) {
        (Some(value), None) => Some(value),
        _ => None,
    }
}

/// The `Set-Cookie` value that keeps `value` as the provider session cookie.
pub(crate) fn set_cookie(value: &str) -> String {
    format!(
        "{COOKIE_NAME}={value}; Path={DEV_SIGN_IN_PREFIX}; HttpOnly; SameSite=Lax; Max-Age={}",
        SESSION_LIFETIME.as_secs()
    )
}

/// The `Set-Cookie` value that removes the provider session cookie.
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Path={DEV_SIGN_IN_PREFIX}; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn signing_in_again_as_the_same_user_keeps_the_session_and_another_user_replaces_it() {
        let sessions = Sessions::default();
        let (cookie, first) = sessions.sign_in(None, 0);
        assert_ne!(cookie, first.sid, "the cookie is not the sid relying parties see");
        let (again, same) = sessions.sign_in(Some(&cookie), 0);
        assert_eq!((again.as_str(), &same), (cookie.as_str(), &first));
        let (other_cookie, other) = sessions.sign_in(Some(&cookie), 1);
        assert_ne!(other.sid, first.sid);
        assert_eq!(sessions.get(Some(&cookie)), None, "replaced");
        assert_eq!(sessions.get(Some(&other_cookie)), Some(other.clone()));
        assert_eq!(sessions.end(Some(&other_cookie)), Some(other));
        assert_eq!(sessions.end(Some(&other_cookie)), None, "ended once");
        assert_eq!(sessions.get(Some("made-up")), None);
    }

    #[test]
    fn room_is_bounded_by_forgetting_the_oldest() {
        let sessions = Sessions::default();
        let (first, _) = sessions.sign_in(None, 0);
        for _ in 1..MAX_SESSIONS {
            sessions.sign_in(None, 1);
        }
        assert!(sessions.get(Some(&first)).is_some());
        let (newest, _) = sessions.sign_in(None, 2);
        assert!(sessions.get(Some(&first)).is_none(), "the oldest made room");
        assert!(sessions.get(Some(&newest)).is_some());
    }

    #[test]
    fn the_cookie_is_read_once_and_written_under_the_prefix() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("a=1; mfa_dev_idp_session=xyz; b=2"));
        assert_eq!(cookie(&headers).as_deref(), Some("xyz"));
        headers.append(COOKIE, HeaderValue::from_static("mfa_dev_idp_session=other"));
        assert_eq!(cookie(&headers), None, "sent twice: ambiguous");
        assert_eq!(cookie(&HeaderMap::new()), None);
        assert_eq!(
            set_cookie("v"),
            "mfa_dev_idp_session=v; Path=/dev-idp; HttpOnly; SameSite=Lax; Max-Age=43200"
        );
        assert!(clear_cookie().ends_with("Max-Age=0"));
    }
}
