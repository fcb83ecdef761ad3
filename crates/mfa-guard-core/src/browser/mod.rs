//! Browser mode: people sign in with OpenID Connect, carry an encrypted session
//! cookie, and are sent back to the provider for MFA when a page needs it — the same
//! policy table deciding as for bearer tokens (feature `browser`).
//!
//! Only **top-level navigations** are handled here: `GET`/`HEAD`, no
//! `Authorization` header, and `Sec-Fetch-Mode: navigate` (or, from browsers that
//! send no fetch metadata, an `Accept` naming `text/html`). Every other request —
//! fetch/XHR, other methods, anything with a bearer token — gets exactly the API
//! answers, and its cookies are not read. For a navigation:
//!
//! | situation | answer |
//! |---|---|
//! | the callback, sign-in, sign-out and signed-out paths | handled here whatever the route table says |
//! | a path the guard cannot read one way | `400` page (the API's `invalid_request`, in HTML) |
//! | no (valid) session, public route | the handler runs without a caller |
//! | no (valid) session, protected route | `302` to the provider; the path is kept to return to |
//! | session, policy admits | the handler runs with the session's caller |
//! | session without MFA on an MFA route | `302` step-up: a fresh authorization request asking for MFA |
//! | the same, after a step-up came back without MFA (within the step-up window) | `401 Unauthorized - MFA required` page |
//! | session, a role or claim missing | `403` page |
//! | the provider cannot be reached | `503` page with `Retry-After` |
//!
//! See `docs/BROWSER.md` in the repository for the whole journey.

pub(crate) mod cache;
mod opened;
pub(crate) mod pages;
pub(crate) mod provider;
mod return_to;
mod seal;
pub(crate) mod session;

pub(crate) use return_to::safe_return_to;
pub use seal::SessionKeys;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::claims::{CallerKind, KindRule};
use crate::policy::CompiledPolicy;
use crate::principal::VerifiedToken;
use crate::request::RequestInfo;
use crate::verify::Verifier;
pub(crate) use opened::Opened;
use provider::{ClientSettings, Provider};
use session::Session;

/// How long a sign-in may take, from the redirect to the provider to the callback.
pub(crate) const FLOW_LIFETIME: i64 = 600;
/// A session cookie is written again (its idle expiry moved) at most this often.
pub(crate) const REFRESH_AFTER: i64 = 60;
/// Shortest idle timeout: twice [`REFRESH_AFTER`]. The cookie of a session in use
/// is written again only once that long has passed since it last was, so under
/// twice that a person clicking through pages every 50 seconds would be signed out.
pub(crate) const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(2 * REFRESH_AFTER.unsigned_abs());
/// How long before a sign-in or step-up began the authentication may have taken
/// place for the MFA its ID token shows to count (see [`session::Flow::counts_mfa`]):
/// none, for every sign-in and step-up alike — the MFA must come from the
/// authentication this very sign-in caused, not from the provider's memory of an
/// earlier one. A route's own freshness will be recorded on its flow instead.
pub(crate) const MFA_MAX_AGE: u64 = 0;
/// Most sign-ins in progress a browser keeps: starting another clears the flow
/// cookies of the oldest beyond it (a page that makes a browser start sign-in after
/// sign-in cannot fill its cookie jar).
pub(crate) const MAX_FLOWS: usize = 8;
/// Longest callback query read.
pub(crate) const MAX_CALLBACK_QUERY: usize = 8 * 1024;
/// What is escaped in a query parameter value: everything but RFC 3986's
/// unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(crate) fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).collect()
}

/// Why browser mode cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// The session keys are unusable.
    #[error("session keys: {0}")]
    Keys(String),
    /// A setting is unusable.
    #[error("browser sign-in: {0}")]
    Config(String),
}

/// How the provider is asked for MFA when a signed-in user without it opens an MFA
/// page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUp {
    /// Any OpenID provider: `prompt=login` and `max_age=0` (a fresh authentication),
    /// a `claims` request for `amr` containing `mfa`, and `acr_values` when given.
    Generic {
        /// `acr_values` to send (space-separated), e.g. the PAPE multi-factor policy
        /// `http://schemas.openid.net/pape/policies/2007/06/multi-factor`.
        acr_values: Option<String>,
    },
    /// Entra ID: the `claims` parameter asking for a Conditional Access
    /// authentication context (`acrs`) whose policy requires MFA, e.g. `c1`.
    Entra {
        /// The authentication context id.
        auth_context: String,
    },
}

/// A step-up profile that is not one of `generic`, `generic:<acr_values>` or
/// `entra:<auth-context-id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not `generic`, `generic:<acr_values>` or `entra:<auth-context-id>`")]
pub struct InvalidStepUp(String);

impl std::str::FromStr for StepUp {
    type Err = InvalidStepUp;

    /// The profile as the `MFA_STEP_UP` variable and the `step_up` key of a
    /// configuration file write it: `generic`, `generic:<acr_values>` or
    /// `entra:<auth-context-id>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.split_once(':') {
            None if text == "generic" => Ok(StepUp::Generic { acr_values: None }),
            Some(("generic", acr)) if !acr.trim().is_empty() => {
                Ok(StepUp::Generic { acr_values: Some(acr.trim().to_owned()) })
            }
            Some(("entra", ctx)) if !ctx.trim().is_empty() => {
                Ok(StepUp::Entra { auth_context: ctx.trim().to_owned() })
            }
            _ => Err(InvalidStepUp(text.to_owned())),
        }
    }
}

impl StepUp {
    /// The parameters of the step-up authorization request, for MFA from an
    /// authentication at most `max_age` seconds old (the flow's
    /// [`max_age`](session::Flow::max_age): what the callback will hold it to).
    pub(crate) fn parameters(&self, max_age: u64) -> Vec<(&'static str, String)> {
        match self {
            StepUp::Generic { acr_values } => {
                let mut p = vec![
                    ("prompt", "login".to_owned()),
                    ("max_age", max_age.to_string()),
                    ("claims", r#"{"id_token":{"amr":{"essential":true,"values":["mfa"]}}}"#.to_owned()),
                ];
                if let Some(acr) = acr_values {
                    p.push(("acr_values", acr.clone()));
                }
                p
            }
            StepUp::Entra { auth_context } => vec![(
                "claims",
                serde_json::json!({"id_token": {"acrs": {"essential": true, "value": auth_context}}})
                    .to_string(),
            )],
        }
    }
}

/// The settings of browser mode: the client registered at the provider, the session
/// keys, and how sessions and step-ups behave. Give it to
/// [`GuardBuilder::browser`](crate::GuardBuilder::browser).
#[derive(Clone)]
#[must_use]
pub struct Browser {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uri: String,
    pub(crate) discovery_url: String,
    pub(crate) keys: SessionKeys,
    pub(crate) scopes: Vec<String>,
    pub(crate) step_up: StepUp,
    pub(crate) idle: Duration,
    pub(crate) absolute: Duration,
    pub(crate) step_up_window: Duration,
    pub(crate) sign_in_path: String,
    pub(crate) sign_out_path: String,
    pub(crate) signed_out_path: String,
    pub(crate) post_logout_redirect_uri: Option<String>,
}

impl Browser {
    /// Browser mode for the client `client_id`, whose registered redirect URI is
    /// `redirect_uri` (absolute; its path becomes the callback path), at the provider
    /// whose discovery document is at `discovery_url`, sealing sessions with `keys`.
    pub fn new(
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        discovery_url: impl Into<String>,
        keys: SessionKeys,
    ) -> Self {
        Browser {
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: redirect_uri.into(),
            discovery_url: discovery_url.into(),
            keys,
            scopes: vec!["openid".into(), "profile".into()],
            step_up: StepUp::Generic { acr_values: None },
            idle: Duration::from_secs(3600),
            absolute: Duration::from_secs(12 * 3600),
            step_up_window: Duration::from_secs(600),
            sign_in_path: "/auth/sign-in".into(),
            sign_out_path: "/auth/sign-out".into(),
            signed_out_path: "/auth/signed-out".into(),
            post_logout_redirect_uri: None,
        }
    }

    /// The client secret (a confidential client); without one, PKCE alone protects
    /// the code.
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// The scopes asked for (`openid` is always sent). Default `openid profile`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How MFA is asked for on a step-up. Default [`StepUp::Generic`] without
    /// `acr_values`.
    pub fn step_up(mut self, step_up: StepUp) -> Self {
        self.step_up = step_up;
        self
    }

    /// A session unused this long ends. Default one hour; at least two minutes
    /// (the cookie of a session in use is written again at most once a minute, so
    /// a shorter one would sign out people who are using the application).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle = idle;
        self
    }

    /// A session ends this long after sign-in, used or not. Default 12 hours.
    pub fn absolute_timeout(mut self, absolute: Duration) -> Self {
        self.absolute = absolute;
        self
    }

    /// After a step-up came back without MFA, MFA pages answer with the
    /// MFA-required page for this long instead of sending the browser to the
    /// provider again (at most one step-up round trip per visit). Default 10 minutes.
    pub fn step_up_window(mut self, window: Duration) -> Self {
        self.step_up_window = window;
        self
    }

    /// Where a link can start a sign-in (`?return_to=/path`). Default `/auth/sign-in`.
    pub fn sign_in_path(mut self, path: impl Into<String>) -> Self {
        self.sign_in_path = path.into();
        self
    }

    /// Where a browser signs out. Default `/auth/sign-out`.
    pub fn sign_out_path(mut self, path: impl Into<String>) -> Self {
        self.sign_out_path = path.into();
        self
    }

    /// The page that says the browser is signed out (public, with a link to sign in
    /// again). Default `/auth/signed-out`.
    pub fn signed_out_path(mut self, path: impl Into<String>) -> Self {
        self.signed_out_path = path.into();
        self
    }

    /// Where the provider sends the browser after sign-out (it must be registered
    /// there). Default: the signed-out page on the redirect URI's origin.
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.post_logout_redirect_uri = Some(uri.into());
        self
    }

    pub(crate) fn build(self, api: &Verifier) -> Result<BrowserMode, BrowserError> {
        let bad = |what: String| Err(BrowserError::Config(what));
        let uri: http::Uri = match self.redirect_uri.parse() {
            Ok(u) => u,
            Err(_) => return bad(format!("the redirect URI {:?} is not a URI", self.redirect_uri)),
        };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return bad(format!(
                "the redirect URI {:?} must be absolute (https://host/path)",
                self.redirect_uri
            ));
        };
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let secure = match scheme {
            "https" => true,
            "http" if loopback => false,
            _ => {
                return bad(format!(
                    "the redirect URI {:?} must be https (plain http only on loopback, for development)",
                    self.redirect_uri
                ));
            }
        };
        if self.client_id.is_empty() {
            return bad("the client id is empty".into());
        }
        for path in [&self.sign_in_path, &self.sign_out_path, &self.signed_out_path] {
            if !path.starts_with('/') || path.starts_with("//") {
                return bad(format!("{path:?} is not an absolute path"));
            }
        }
        check_idle_timeout(self.idle).map_err(BrowserError::Config)?;
        if self.absolute.is_zero() {
            return bad("absolute_timeout must be longer than zero".into());
        }
        let callback_path = uri.path().to_owned();
        let Some(origin) = origin_of(&self.redirect_uri) else {
            return bad(format!("the redirect URI {:?} has no usable origin", self.redirect_uri));
        };
        let post_logout = self
            .post_logout_redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{origin}{}", self.signed_out_path));
        let client = ClientSettings {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            redirect_uri: self.redirect_uri.clone(),
        };
        let provider =
            Provider::new(self.discovery_url.clone(), client, api.clone()).map_err(BrowserError::Config)?;
        let (session_cookie, flow_prefix) = if secure {
            ("__Host-mfa-guard", "__Host-mfa-guard-flow-")
        } else {
            ("mfa-guard", "mfa-guard-flow-")
        };
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        Ok(BrowserMode {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            settings: self,
            callback_path,
            origin,
            post_logout,
            secure,
            session_cookie,
            flow_prefix,
            provider: Arc::new(provider),
        })
    }
}

/// Refuses an idle timeout under [`MIN_IDLE_TIMEOUT`], naming the setting (the
/// builder's and the `[browser]` table's key are both `idle_timeout`).
pub(crate) fn check_idle_timeout(idle: Duration) -> Result<(), String> {
    if idle >= MIN_IDLE_TIMEOUT {
        return Ok(());
    }
    Err(format!(
        "idle_timeout is {}, under the {} minimum: a session in use has its cookie written again at \
         most once every {REFRESH_AFTER} seconds, so an idle timeout under twice that signs out people \
         who are using the application",
        humantime::format_duration(idle),
        humantime::format_duration(MIN_IDLE_TIMEOUT),
    ))
}

impl fmt::Debug for Browser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Browser")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("redirect_uri", &self.redirect_uri)
            .field("discovery_url", &self.discovery_url)
            .field("keys", &self.keys)
            .field("step_up", &self.step_up)
            .finish_non_exhaustive()
    }
}

/// Browser mode as the guard runs it.
pub(crate) struct BrowserMode {
    /// Tells this guard's entries in the per-thread session cache from others'.
    pub(crate) id: usize,
    pub(crate) settings: Browser,
    pub(crate) callback_path: String,
    /// The application's origin as browsers see it: the redirect URI's scheme,
    /// host and port.
    pub(crate) origin: String,
    pub(crate) post_logout: String,
    pub(crate) secure: bool,
    pub(crate) session_cookie: &'static str,
    pub(crate) flow_prefix: &'static str,
    pub(crate) provider: Arc<Provider>,
}

/// What the callback reads of its query.
#[derive(Default)]
pub(crate) struct Callback {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
}

impl Callback {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = Callback::default();
        let Some(q) = query.filter(|q| q.len() <= MAX_CALLBACK_QUERY) else { return out };
        for pair in q.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode_query(value);
            let slot = match name {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                _ => continue,
            };
            // A repeated parameter is ambiguous: keep neither reading.
            *slot = if slot.is_some() { Some(String::new()) } else { Some(value) };
        }
        out
    }
}

/// The origin of an absolute URL as browsers serialise it (and send it in
/// `Origin`): scheme and host in lowercase, the port only when it is not the
/// scheme's default, no user information. `None` for anything else.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let host = authority.host().to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(match authority.port_u16().filter(|p| *p != default_port) {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

pub(crate) fn decode_query(value: &str) -> String {
    percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned()
}

impl BrowserMode {
    pub(crate) fn cookie_attributes(&self, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("; Path=/; HttpOnly; SameSite=Lax{secure}; Max-Age={}", max_age.max(0))
    }

    pub(crate) fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        format!("{name}={value}{}", self.cookie_attributes(max_age))
    }

    pub(crate) fn sign_in_link(&self, return_to: &str) -> String {
        format!("{}?return_to={}", self.settings.sign_in_path, encode(return_to))
    }

    /// `Set-Cookie` values clearing the flow cookies a new sign-in pushes beyond
    /// [`MAX_FLOWS`]: the oldest, and any that does not open.
    pub(crate) fn stale_flows(&self, req: &RequestInfo<'_>) -> Vec<String> {
        let mut flows: Vec<(i64, &str)> = session::cookies_named(req.cookies, self.flow_prefix)
            .map(|(name, value)| {
                let started = self
                    .settings
                    .keys
                    .open(name, value)
                    .and_then(|plain| serde_json::from_slice::<session::Flow>(&plain).ok())
                    .map_or(i64::MIN, |f| f.started);
                (started, name)
            })
            .collect();
        if flows.len() < MAX_FLOWS {
            return Vec::new();
        }
        flows.sort_by_key(|(started, _)| std::cmp::Reverse(*started));
        flows.into_iter().skip(MAX_FLOWS - 1).map(|(_, name)| self.set_cookie(name, "", 0)).collect()
    }

    /// The session of the request, if it carries a valid one at `now`.
    pub(crate) fn session(&self, req: &RequestInfo<'_>, now: i64) -> Option<Session> {
        let value = session::cookie(req.cookies, self.session_cookie)?;
        let s = Session::open(&self.settings.keys, self.session_cookie, value)?;
        self.valid(&s, now).then_some(s)
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
    /// when the cookie is one of them, else opened and remembered.
    pub(crate) fn opened(
        &self,
        req: &RequestInfo<'_>,
        policy: &CompiledPolicy,
        now: i64,
    ) -> Option<Arc<Opened>> {
        let value = session::cookie(req.cookies, self.session_cookie)?;
        let opened = match opened::lookup(self.id, value.as_bytes()) {
            Some(hit) => hit,
            None => {
                let session = Session::open(&self.settings.keys, self.session_cookie, value)?;
                let roles = session.resolved_roles(policy);
                let claims = session.clone().into_claims(self.absolute_end(&session));
                let mut token =
                    VerifiedToken::of(&claims, (CallerKind::User, KindRule::Session), None, policy);
                token.roles = roles;
                let opened = Arc::new(Opened { session, token: Arc::new(token), claims: Arc::new(claims) });
                opened::remember(self.id, value.as_bytes(), Arc::clone(&opened));
                opened
            }
        };
        self.valid(&opened.session, now).then_some(opened)
    }
}

#[cfg(test)]
mod tests;
