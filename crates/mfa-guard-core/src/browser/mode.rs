//! Browser mode as the guard runs it, and the session a request carries.

use std::sync::Arc;

use super::opened::{self, Key, Opened};
use super::provider::Provider;
use super::query::encode;
use super::session::Session;
use super::{Browser, cookies};
use crate::claims::{CallerKind, KindRule};
use crate::policy::CompiledPolicy;
use crate::principal::VerifiedToken;
use crate::request::RequestInfo;
use crate::revocation::Standing;

/// Browser mode as the guard runs it.
pub(crate) struct BrowserMode {
    /// Tells this guard's entries in the per-thread session cache from others'.
    pub(crate) id: usize,
    pub(crate) settings: Browser,
    pub(crate) callback_path: String,
    /// Where the provider posts logout tokens.
    pub(crate) backchannel_path: String,
    /// The application's origin as browsers see it: the redirect URI's scheme,
    /// host and port.
    pub(crate) origin: String,
    pub(crate) post_logout: String,
    pub(crate) secure: bool,
    pub(crate) session_cookie: &'static str,
    pub(crate) flow_prefix: &'static str,
    pub(crate) provider: Arc<Provider>,
}

impl BrowserMode {
    /// `Set-Cookie` of one of browser mode's cookies (see [`cookies::set`]).
    pub(crate) fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        cookies::set(name, value, max_age, self.secure)
    }

    /// Where a link starts a sign-in that comes back to `return_to`.
    pub(crate) fn sign_in_link(&self, return_to: &str) -> String {
        format!("{}?return_to={}", self.settings.sign_in_path, encode(return_to))
    }

    /// The session of the request, if it carries a valid one at `now` that stands
    /// (is not revoked, as far as the store can tell).
    pub(crate) fn session(&self, req: &RequestInfo<'_>, now: i64) -> Option<Session> {
        let value = cookies::value(req.cookies, self.session_cookie)?;
        let s = Session::open(&self.settings.keys, self.session_cookie, value)?;
        (self.valid(&s, now) && self.standing(&s, now) == Standing::Valid).then_some(s)
    }

    /// The session of the request to revoke when it is replaced or signed out: a
    /// valid one at `now` not known to be revoked already — also while the store
    /// cannot vouch for it ([`Standing::Unknown`]), so a sign-out or a sign-in
    /// during an outage still revokes the id it leaves behind (queued, and written
    /// when the store returns), rather than leaving a copy of the cookie usable
    /// once the store answers again.
    pub(crate) fn session_to_retire(&self, req: &RequestInfo<'_>, now: i64) -> Option<Session> {
        let value = cookies::value(req.cookies, self.session_cookie)?;
        let s = Session::open(&self.settings.keys, self.session_cookie, value)?;
        (self.valid(&s, now) && self.standing(&s, now) != Standing::Revoked).then_some(s)
    }

    /// When the session ends, however much it is used.
    pub(crate) fn absolute_end(&self, s: &Session) -> i64 {
        s.created.saturating_add(i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX))
    }

    fn valid(&self, s: &Session, now: i64) -> bool {
        let idle = i64::try_from(self.settings.idle.as_secs()).unwrap_or(i64::MAX);
        s.created <= now.saturating_add(60) && now < self.absolute_end(s) && now < s.seen.saturating_add(idle)
    }

    /// The session of the request as the caller it makes under `policy`, if it
    /// carries a valid one at `now`: from this thread's recently opened sessions
    /// when the request's `Cookie` header (or, with several, the session cookie) is
    /// one of them, else opened and remembered.
    pub(crate) fn opened(
        &self,
        req: &RequestInfo<'_>,
        policy: &CompiledPolicy,
        now: i64,
    ) -> Option<Arc<Opened>> {
        let opened = match req.cookies {
            // HTTP/1.1 browsers send one header, the same bytes with every navigation.
            [header] => self.recall_or_open(
                Key::Header(header),
                || cookies::value(req.cookies, self.session_cookie),
                policy,
            )?,
            _ => {
                let value = cookies::value(req.cookies, self.session_cookie)?;
                self.recall_or_open(Key::Value(value.as_bytes()), || Some(value), policy)?
            }
        };
        self.valid(&opened.session, now).then_some(opened)
    }

    /// What this thread opened from `key`, or the session cookie's value (found
    /// only now) opened and remembered under `key`.
    fn recall_or_open<'v>(
        &self,
        key: Key<'_>,
        value: impl FnOnce() -> Option<&'v str>,
        policy: &CompiledPolicy,
    ) -> Option<Arc<Opened>> {
        if let Some(hit) = opened::lookup(self.id, key) {
            return Some(hit);
        }
        let opened = self.open(value()?, policy)?;
        opened::remember(self.id, key, Arc::clone(&opened));
        Some(opened)
    }

    /// Opens a session cookie's value: the session and the caller it makes.
    fn open(&self, value: &str, policy: &CompiledPolicy) -> Option<Arc<Opened>> {
        let session = Session::open(&self.settings.keys, self.session_cookie, value)?;
        let roles = session.resolved_roles(policy);
        let claims = session.clone().into_claims(self.absolute_end(&session));
        let mut token = VerifiedToken::of(&claims, (CallerKind::User, KindRule::Session), None, policy);
        token.roles = roles;
        Some(Arc::new(Opened { session, token: Arc::new(token), claims: Arc::new(claims) }))
    }
}
