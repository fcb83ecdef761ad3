//! The settings of browser mode, checked once when the guard is built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::mode::BrowserMode;
use super::origin::origin_of;
use super::provider::{ClientSettings, Provider};
use super::{MIN_IDLE_TIMEOUT, SessionKeys, StepUp};
use crate::error::{BrowserError, BrowserSettingError};
use crate::revocation::Revocations;
use crate::verify::Verifier;

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
    /// `None`: beside the sign-in path (see [`Browser::backchannel_logout_path`]).
    pub(crate) backchannel_logout_path: Option<String>,
    pub(crate) revocations: Option<Revocations>,
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
            backchannel_logout_path: None,
            revocations: None,
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

    /// Where the provider posts logout tokens (OpenID Connect Back-Channel Logout
    /// 1.0; register it at the provider as the client's `backchannel_logout_uri`).
    /// Default: `backchannel-logout` beside the sign-in path (`/auth/backchannel-logout`).
    pub fn backchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel_logout_path = Some(path.into());
        self
    }

    /// The revocation store sessions are checked against: with one, every session
    /// carries its id, a sign-out revokes it, a back-channel logout or
    /// [`Guard::revoke_user`](crate::Guard::revoke_user) ends sessions on every
    /// replica sharing the store, and a session whose standing the store cannot
    /// vouch for gets the 503 page on the pages that need it. Without one
    /// (the default) a session is its cookie alone: a copy of the cookie is good
    /// until its idle or absolute expiry, whatever happens meanwhile.
    pub fn session_store(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The back-channel logout path this configuration answers on.
    pub(crate) fn backchannel_path(&self) -> String {
        self.backchannel_logout_path.clone().unwrap_or_else(|| {
            let prefix = self.sign_in_path.rsplit_once('/').map_or("", |(prefix, _)| prefix);
            format!("{prefix}/backchannel-logout")
        })
    }

    pub(crate) fn build(self, api: &Verifier) -> Result<BrowserMode, BrowserError> {
        let bad = |what: BrowserSettingError| Err(BrowserError::Config(what));
        let redirect = || self.redirect_uri.clone();
        let uri: http::Uri = match self.redirect_uri.parse() {
            Ok(u) => u,
            Err(_) => return bad(BrowserSettingError::RedirectNotUri { uri: redirect() }),
        };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return bad(BrowserSettingError::RedirectNotAbsolute { uri: redirect() });
        };
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
        let secure = match scheme {
            "https" => true,
            "http" if loopback => false,
            _ => return bad(BrowserSettingError::RedirectNotHttps { uri: redirect() }),
        };
        if self.client_id.is_empty() {
            return bad(BrowserSettingError::EmptyClientId);
        }
        let backchannel = self.backchannel_path();
        for path in [&self.sign_in_path, &self.sign_out_path, &self.signed_out_path, &backchannel] {
            if !path.starts_with('/') || path.starts_with("//") {
                return bad(BrowserSettingError::Path { path: path.clone() });
            }
        }
        check_idle_timeout(self.idle)?;
        if self.absolute.is_zero() {
            return bad(BrowserSettingError::AbsoluteTimeout);
        }
        let callback_path = uri.path().to_owned();
        let Some(origin) = origin_of(&self.redirect_uri) else {
            return bad(BrowserSettingError::RedirectOrigin { uri: redirect() });
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
        let provider = Provider::new(self.discovery_url.clone(), client, api.clone())?;
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
            backchannel_path: backchannel,
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
pub(crate) fn check_idle_timeout(idle: Duration) -> Result<(), BrowserSettingError> {
    if idle >= MIN_IDLE_TIMEOUT {
        return Ok(());
    }
    Err(BrowserSettingError::IdleTimeout { idle, minimum: MIN_IDLE_TIMEOUT })
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
            .field("session_store", &self.revocations.is_some())
            .finish_non_exhaustive()
    }
}
