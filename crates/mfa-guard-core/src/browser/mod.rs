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
//! | no (valid) session, public route | the handler runs without a caller |
//! | no (valid) session, protected route | `302` to the provider; the path is kept to return to |
//! | session, policy admits | the handler runs with the session's caller |
//! | session without MFA on an MFA route | `302` step-up: a fresh authorization request asking for MFA |
//! | the same, after a step-up came back without MFA (within the step-up window) | `401 Unauthorized - MFA required` page |
//! | session, a role or claim missing | `403` page |
//! | the provider cannot be reached | `503` page with `Retry-After` |
//!
//! See `docs/BROWSER.md` in the repository for the whole journey.

mod pages;
mod provider;
mod seal;
mod session;

pub use seal::SessionKeys;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use percent_encoding::percent_decode_str;

use crate::answer::Answer;
use crate::claims::{CallerKind, KindRule};
use crate::guard::{Admission, Evaluation, Guard, PendingCheck};
use crate::policy::CompiledRule;
use crate::principal::{LazyClaims, VerifiedToken};
use crate::rejection::RejectionCode;
use crate::request::RequestInfo;
use crate::verify::Verifier;
use provider::{ClientSettings, Provider, ProviderError, Ready};
use session::{Flow, Session};

/// How long a sign-in may take, from the redirect to the provider to the callback.
const FLOW_LIFETIME: i64 = 600;
/// A session cookie is written again (its idle expiry moved) at most this often.
const REFRESH_AFTER: i64 = 60;
/// Longest path (with query) kept to return to after sign-in.
const MAX_RETURN_TO: usize = 2048;
/// Longest callback query read.
const MAX_CALLBACK_QUERY: usize = 8 * 1024;
/// What is escaped in a query parameter value: everything but RFC 3986's
/// unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode(value: &str) -> String {
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

impl StepUp {
    /// The parameters of the step-up authorization request.
    fn parameters(&self) -> Vec<(&'static str, String)> {
        match self {
            StepUp::Generic { acr_values } => {
                let mut p = vec![
                    ("prompt", "login".to_owned()),
                    ("max_age", "0".to_owned()),
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
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    discovery_url: String,
    keys: SessionKeys,
    scopes: Vec<String>,
    step_up: StepUp,
    idle: Duration,
    absolute: Duration,
    step_up_window: Duration,
    sign_in_path: String,
    sign_out_path: String,
    signed_out_path: String,
    post_logout_redirect_uri: Option<String>,
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

    /// A session unused this long ends. Default one hour.
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
        if self.idle.is_zero() || self.absolute.is_zero() {
            return bad("session timeouts must be longer than zero".into());
        }
        let callback_path = uri.path().to_owned();
        let origin = format!("{scheme}://{authority}");
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
        Ok(BrowserMode {
            settings: self,
            callback_path,
            post_logout,
            secure,
            session_cookie,
            flow_prefix,
            provider: Arc::new(provider),
        })
    }
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
    settings: Browser,
    callback_path: String,
    post_logout: String,
    secure: bool,
    session_cookie: &'static str,
    flow_prefix: &'static str,
    provider: Arc<Provider>,
}

/// What the callback reads of its query.
#[derive(Default)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Callback {
    fn parse(query: Option<&str>) -> Self {
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

fn decode_query(value: &str) -> String {
    percent_decode_str(&value.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// Whether the request is a top-level navigation of a browser.
fn is_navigation(req: &RequestInfo<'_>) -> bool {
    if !matches!(req.method, "GET" | "HEAD") || req.authorization_count > 0 {
        return false;
    }
    match req.fetch_mode {
        Some(mode) => mode.eq_ignore_ascii_case(b"navigate"),
        None => req.accept.is_some_and(|a| a.windows(9).any(|w| w.eq_ignore_ascii_case(b"text/html"))),
    }
}

/// `candidate` if it is a path of this origin to send a browser back to: it starts
/// with one `/`, has no backslash, control character or space, and does not turn
/// into another origin once percent-decoded (`/%2F%2Fevil.example`).
pub(crate) fn safe_return_to(candidate: &str) -> Option<&str> {
    let plain = |s: &str| {
        s.len() <= MAX_RETURN_TO
            && s.starts_with('/')
            && !s[1..].starts_with('/')
            && s.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    };
    if !plain(candidate) {
        return None;
    }
    let decoded = percent_decode_str(candidate).decode_utf8().ok()?;
    let d = decoded.as_ref();
    (d.starts_with('/') && !d[1..].starts_with('/') && !d.contains('\\')).then_some(candidate)
}

impl BrowserMode {
    fn cookie_attributes(&self, max_age: i64) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("; Path=/; HttpOnly; SameSite=Lax{secure}; Max-Age={}", max_age.max(0))
    }

    fn set_cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        format!("{name}={value}{}", self.cookie_attributes(max_age))
    }

    fn sign_in_link(&self, return_to: &str) -> String {
        format!("{}?return_to={}", self.settings.sign_in_path, encode(return_to))
    }

    /// The session of the request, if it carries a valid one at `now`.
    fn session(&self, req: &RequestInfo<'_>, now: i64) -> Option<Session> {
        let value = session::cookie(req.cookies, self.session_cookie)?;
        let s = Session::open(&self.settings.keys, self.session_cookie, value)?;
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX);
        let idle = i64::try_from(self.settings.idle.as_secs()).unwrap_or(i64::MAX);
        let valid = s.created <= now.saturating_add(60)
            && now < s.created.saturating_add(absolute)
            && now < s.seen.saturating_add(idle);
        valid.then_some(s)
    }

    /// `name=value` of a session cookie holding `claims` as a sign-in at `now` would
    /// write it (development and benchmarks: see `dev::session_cookie`).
    #[cfg(feature = "dev-issuer")]
    pub(crate) fn session_cookie(&self, guard: &Guard, claims: &crate::Claims, now: i64) -> Option<String> {
        let value =
            Session::of(claims, guard.policy(), now).seal(&self.settings.keys, self.session_cookie)?;
        Some(format!("{}={value}", self.session_cookie))
    }

    /// Decides a request, or leaves it to the API path (`None`).
    pub(crate) fn evaluate(
        self: &Arc<Self>,
        guard: &Guard,
        req: &RequestInfo<'_>,
        rule: &CompiledRule,
        span: &tracing::Span,
    ) -> Option<Evaluation> {
        let get = matches!(req.method, "GET" | "HEAD");
        if get && req.path == self.callback_path {
            return Some(self.callback(guard, req));
        }
        if get && req.path == self.settings.sign_in_path {
            let wanted = req
                .query
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("return_to=")))
                .map(decode_query);
            let return_to = wanted.as_deref().and_then(safe_return_to).unwrap_or("/").to_owned();
            return Some(self.start(guard, return_to, false));
        }
        if (get || req.method == "POST") && req.path == self.settings.sign_out_path {
            return Some(Evaluation::Ready(Admission::Answered(self.sign_out())));
        }
        if get && req.path == self.settings.signed_out_path {
            return Some(Evaluation::Ready(Admission::Answered(pages::signed_out(&self.sign_in_link("/")))));
        }
        if !is_navigation(req) {
            return None;
        }
        let now = guard.clock().now_unix();
        let here = match req.query {
            Some(q) => format!("{}?{q}", req.path),
            None => req.path.to_owned(),
        };
        let return_to = safe_return_to(&here).unwrap_or("/").to_owned();
        let Some(session) = self.session(req, now) else {
            if rule.is_public() {
                return None;
            }
            return Some(self.start(guard, return_to, false));
        };
        Some(self.decide(guard, req, rule, session, return_to, now, span))
    }

    /// The policy's decision for a session, rendered for a browser.
    #[allow(clippy::too_many_arguments)]
    fn decide(
        self: &Arc<Self>,
        guard: &Guard,
        req: &RequestInfo<'_>,
        rule: &CompiledRule,
        session: Session,
        return_to: String,
        now: i64,
        span: &tracing::Span,
    ) -> Evaluation {
        let policy = guard.policy();
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX);
        let end = session.created.saturating_add(absolute);
        let (step_up_failed, roles) = (session.step_up_failed, session.resolved_roles(policy));
        // Written again at most once a minute; only then is the session copied.
        let refresh = (now.saturating_sub(session.seen) >= REFRESH_AFTER)
            .then(|| Session { seen: now, ..session.clone() });
        let claims = session.into_claims(end);
        let mut token = VerifiedToken::of(&claims, (CallerKind::User, KindRule::Session), None, policy);
        token.roles = roles;
        let admission = guard.admit(rule, Arc::new(token), LazyClaims::parsed(Box::new(claims)), now, span);
        let sign_out = &self.settings.sign_out_path;
        match admission {
            Admission::Admitted(principal) if refresh.is_some() => {
                let left = end.saturating_sub(now);
                match refresh.and_then(|s| s.seal(&self.settings.keys, self.session_cookie)) {
                    Some(value) => Evaluation::Ready(Admission::Admitted(
                        principal.with_set_cookie(self.set_cookie(self.session_cookie, &value, left)),
                    )),
                    None => Evaluation::Ready(Admission::Admitted(principal)),
                }
            }
            Admission::Refused(rejection) => match rejection.code() {
                RejectionCode::MfaRequired => {
                    let window = i64::try_from(self.settings.step_up_window.as_secs()).unwrap_or(i64::MAX);
                    if step_up_failed.is_some_and(|t| now.saturating_sub(t) < window) {
                        // The page names the user and what the provider reported: read
                        // again from the cookie (this path is rare; the hot one moved them).
                        let shown = self.session(req, now);
                        let (user, amr) =
                            shown.as_ref().map_or((None, &[][..]), |s| (s.upn.as_deref(), &s.amr[..]));
                        let page = pages::mfa_required(user, amr, sign_out);
                        Evaluation::Ready(Admission::Answered(page.because(rejection)))
                    } else {
                        self.start(guard, return_to, true)
                    }
                }
                code if code.status() == 403 => Evaluation::Ready(Admission::Answered(
                    pages::forbidden(rejection.detail(), sign_out).because(rejection),
                )),
                _ => self.start(guard, return_to, false),
            },
            other => Evaluation::Ready(other),
        }
    }

    /// Sends the browser to the provider: a sign-in, or a step-up asking for MFA.
    fn start(self: &Arc<Self>, guard: &Guard, return_to: String, step_up: bool) -> Evaluation {
        let now = guard.clock().now_unix();
        match self.provider.ready() {
            Ready::Loaded(loaded) => {
                Evaluation::Ready(Admission::Answered(self.redirect(&loaded, return_to, step_up, now)))
            }
            Ready::CoolingDown(why, secs) => {
                Evaluation::Ready(Admission::Answered(pages::unavailable(&why, secs)))
            }
            Ready::NotYet => {
                let this = Arc::clone(self);
                Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
                    Admission::Answered(match this.provider.get().await {
                        Ok(loaded) => this.redirect(&loaded, return_to, step_up, now),
                        Err((why, secs)) => pages::unavailable(&why, secs),
                    })
                })))
            }
        }
    }

    fn redirect(&self, loaded: &provider::Loaded, return_to: String, step_up: bool, now: i64) -> Answer {
        let extra = if step_up { self.settings.step_up.parameters() } else { Vec::new() };
        let (url, state, nonce, verifier) =
            match self.provider.authorize(loaded, &self.settings.scopes, &extra) {
                Ok(parts) => parts,
                Err(why) => return pages::unavailable(&why, provider::COOLDOWN.as_secs()),
            };
        let Some(id) = Flow::id(&state).map(str::to_owned) else {
            return pages::unavailable("the state made for the sign-in is unusable", 1);
        };
        let flow = Flow { state, nonce, verifier, return_to, step_up, started: now };
        let name = format!("{}{id}", self.flow_prefix);
        let sealed = serde_json::to_vec(&flow).ok().and_then(|plain| self.settings.keys.seal(&name, &plain));
        let Some(sealed) = sealed else {
            return pages::unavailable("the sign-in state could not be sealed", 1);
        };
        tracing::debug!(step_up, "browser: sending the browser to the identity provider");
        pages::redirect(url).with_header("set-cookie", self.set_cookie(&name, &sealed, FLOW_LIFETIME))
    }

    fn sign_out(&self) -> Answer {
        let location = match self.provider.ready() {
            Ready::Loaded(loaded) => match &loaded.end_session {
                Some(end) => {
                    let sep = if end.contains('?') { '&' } else { '?' };
                    format!(
                        "{end}{sep}client_id={}&post_logout_redirect_uri={}",
                        encode(&self.settings.client_id),
                        encode(&self.post_logout)
                    )
                }
                None => self.post_logout.clone(),
            },
            _ => self.post_logout.clone(),
        };
        pages::redirect(location).with_header("set-cookie", self.set_cookie(self.session_cookie, "", 0))
    }

    /// The provider's answer: the flow cookie found and checked, the code exchanged,
    /// the ID token verified, a session written.
    fn callback(self: &Arc<Self>, guard: &Guard, req: &RequestInfo<'_>) -> Evaluation {
        let query = Callback::parse(req.query);
        let restart = self.sign_in_link("/");
        let fail = |status: u16, why: &str| {
            tracing::debug!(reason = why, "browser: sign-in callback refused");
            Evaluation::Ready(Admission::Answered(pages::sign_in_failed(status, why, &restart)))
        };
        let Some(state) = query.state.as_deref().filter(|s| !s.is_empty()) else {
            return fail(
                400,
                "The identity provider's answer carries no state, so it cannot be matched to a sign-in this browser started.",
            );
        };
        let Some(id) = Flow::id(state) else {
            return fail(
                400,
                "The identity provider's answer carries a state this application never issued.",
            );
        };
        let name = format!("{}{id}", self.flow_prefix);
        let flow = session::cookie(req.cookies, &name)
            .and_then(|v| self.settings.keys.open(&name, v))
            .and_then(|plain| serde_json::from_slice::<Flow>(&plain).ok());
        let Some(flow) = flow else {
            return fail(
                400,
                "This sign-in cannot be completed here: it was started in another browser, already completed, or took longer than ten minutes (its state cookie is missing).",
            );
        };
        let clear = self.set_cookie(&name, "", 0);
        if aws_lc_rs::constant_time::verify_slices_are_equal(flow.state.as_bytes(), state.as_bytes()).is_err()
        {
            return fail(
                400,
                "The state of the identity provider's answer does not match the sign-in this browser started.",
            );
        }
        let now = guard.clock().now_unix();
        if now.saturating_sub(flow.started) > FLOW_LIFETIME {
            return fail(400, "This sign-in took longer than ten minutes; start again.");
        }
        if let Some(error) = query.error.as_deref() {
            let detail = query.error_description.as_deref().unwrap_or("");
            let detail: String = detail.chars().take(200).collect();
            if flow.step_up {
                // The provider ended the step-up without MFA (the user cancelled, or
                // it cannot do the MFA asked for): the MFA page explains.
                return Evaluation::Ready(Admission::Answered(
                    self.step_up_failed(guard, req, flow, now, clear),
                ));
            }
            return fail(401, &format!("The identity provider refused the sign-in: {error} {detail}"));
        }
        let Some(code) = query.code.filter(|c| !c.is_empty()) else {
            return fail(400, "The identity provider's answer carries no authorization code.");
        };
        let this = Arc::clone(self);
        let guard = guard.clone();
        Evaluation::Pending(PendingCheck::browser(Box::pin(async move {
            Admission::Answered(this.finish(&guard, flow, code, clear, now).await)
        })))
    }

    /// A step-up that came back without MFA, without a usable answer: the session
    /// keeps what it had and remembers the failure.
    fn step_up_failed(
        &self,
        guard: &Guard,
        req: &RequestInfo<'_>,
        flow: Flow,
        now: i64,
        clear: String,
    ) -> Answer {
        let restart = self.sign_in_link(&flow.return_to);
        match self.session(req, now) {
            Some(mut s) => {
                s.step_up_failed = Some(now);
                s.seen = now;
                self.write_session(guard, s, &flow.return_to, clear)
            }
            None => pages::sign_in_failed(401, "The sign-in was not completed.", &restart)
                .with_header("set-cookie", clear),
        }
    }

    fn write_session(&self, _guard: &Guard, session: Session, return_to: &str, clear: String) -> Answer {
        let absolute = i64::try_from(self.settings.absolute.as_secs()).unwrap_or(i64::MAX);
        let left = session.created.saturating_add(absolute).saturating_sub(session.seen);
        match session.seal(&self.settings.keys, self.session_cookie) {
            Some(value) => pages::redirect(return_to.to_owned())
                .with_header("set-cookie", clear)
                .with_header("set-cookie", self.set_cookie(self.session_cookie, &value, left)),
            None => pages::too_many_roles(&self.settings.sign_out_path).with_header("set-cookie", clear),
        }
    }

    async fn finish(&self, guard: &Guard, flow: Flow, code: String, clear: String, now: i64) -> Answer {
        let restart = self.sign_in_link(&flow.return_to);
        let failed = |status: u16, why: Cow<'_, str>| {
            tracing::debug!(reason = %why, "browser: sign-in refused");
            pages::sign_in_failed(status, &why, &restart).with_header("set-cookie", clear.clone())
        };
        let loaded = match self.provider.get().await {
            Ok(l) => l,
            Err((why, secs)) => return pages::unavailable(&why, secs),
        };
        let id_token = match self.provider.exchange(&loaded, &code, &flow.verifier).await {
            Ok(t) => t,
            Err(ProviderError::Unavailable(why)) => {
                return pages::unavailable(&why, provider::COOLDOWN.as_secs());
            }
            Err(ProviderError::Refused(why)) => {
                return failed(400, format!("The identity provider did not accept this sign-in's authorization code (already used, or not issued for this browser): {why}").into());
            }
        };
        let verified = match loaded.id_tokens.verify(&id_token).await {
            Ok(v) => v,
            Err(refusal) => {
                return failed(
                    400,
                    format!("The identity provider's ID token was refused: {}", refusal.detail()).into(),
                );
            }
        };
        let claims = verified.claims();
        let nonce = claims.extra().get("nonce").and_then(|v| v.as_str()).unwrap_or("");
        if aws_lc_rs::constant_time::verify_slices_are_equal(nonce.as_bytes(), flow.nonce.as_bytes()).is_err()
        {
            return failed(
                400,
                "The ID token's nonce does not match this sign-in (a replayed or injected token).".into(),
            );
        }
        let policy = guard.policy();
        let mut session = Session::of(claims, policy, now);
        if flow.step_up {
            let leeway = guard.verifier().leeway_secs();
            let fresh = claims.auth_time().is_some_and(|t| t.unix() >= flow.started.saturating_sub(leeway));
            let mfa = policy.mfa.evidence(claims).is_some();
            if !(mfa && fresh) {
                if mfa {
                    // MFA from an older authentication does not count for this step-up.
                    session.amr.retain(|v| v != "mfa");
                    session.acrs.clear();
                    session.acr = None;
                }
                session.step_up_failed = Some(now);
                tracing::info!(fresh, mfa, "browser: the step-up came back without MFA");
            }
        }
        self.write_session(guard, session, &flow.return_to, clear)
    }
}

#[cfg(test)]
mod tests;
