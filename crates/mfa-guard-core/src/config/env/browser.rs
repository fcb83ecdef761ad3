//! Browser sign-in from the environment: the `MFA_OIDC_*`, `MFA_SESSION_KEYS` and
//! `MFA_STEP_UP` variables, over `MFA_CONFIG`'s `[browser]` table.

#[cfg(feature = "browser")]
use std::net::SocketAddr;

#[cfg(feature = "browser")]
use super::super::Config;
#[cfg(feature = "browser")]
use super::{EnvError, Environment, variable};

/// The browser sign-in variables, as given.
#[derive(Clone, Default)]
pub(super) struct Oidc {
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) redirect_uri: Option<String>,
    pub(super) discovery_url: Option<String>,
    /// `MFA_DISCOVERY_URL`, the API's: the provider's when nothing names another.
    pub(super) api_discovery_url: Option<String>,
    pub(super) session_keys: Option<String>,
    pub(super) step_up: Option<String>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Oidc")
            .field("client_id", &self.client_id)
            .field("client_secret", &redacted(&self.client_secret))
            .field("redirect_uri", &self.redirect_uri)
            .field("discovery_url", &self.discovery_url)
            .field("api_discovery_url", &self.api_discovery_url)
            .field("session_keys", &redacted(&self.session_keys))
            .field("step_up", &self.step_up)
            .finish()
    }
}

#[cfg(feature = "browser")]
impl Environment {
    /// Browser sign-in as the `MFA_OIDC_*`, `MFA_SESSION_KEYS` and `MFA_STEP_UP`
    /// variables and the `[browser]` table of `MFA_CONFIG` describe it (a variable
    /// wins over the file's key; secrets come from variables only): `None` when no
    /// client id is set. In development mode (`bound` is the address the server
    /// bound) it is always on, on the development issuer's sign-in page, with a key
    /// made at start unless `MFA_SESSION_KEYS` is set.
    #[cfg(feature = "browser")]
    pub fn browser(&self, bound: SocketAddr) -> Result<Option<crate::browser::Browser>, EnvError> {
        use crate::browser::{Browser, SessionKeys, StepUp};
        let o = &self.oidc;
        let [file_client, file_redirect, file_discovery] =
            self.config.as_ref().map(Config::browser_client).unwrap_or_default();
        let client_id = o.client_id.as_deref().or(file_client);
        let redirect_uri = o.redirect_uri.as_deref().or(file_redirect);
        let discovery_url = o.discovery_url.as_deref().or(file_discovery).or(o.api_discovery_url.as_deref());
        let keys = |required: bool| match &o.session_keys {
            Some(spec) => SessionKeys::parse(spec)
                .map_err(|e| variable("MFA_SESSION_KEYS", format!("MFA_SESSION_KEYS: {e}"))),
            None if required => Err(variable(
                "MFA_SESSION_KEYS",
                "browser sign-in needs MFA_SESSION_KEYS (id:base64-key, 32 bytes, e.g. \
                 `k1:$(openssl rand -base64 32)`), the same on every replica",
            )),
            None => SessionKeys::random("dev").map_err(EnvError::Development),
        };
        let step_up = o
            .step_up
            .as_deref()
            .map(|s| s.parse::<StepUp>().map_err(|e| variable("MFA_STEP_UP", format!("MFA_STEP_UP={e}"))))
            .transpose()?;
        // Development mode signs in at the development issuer; a build without it
        // (feature `dev-issuer`) has no guard in development mode to sign in to.
        let development = self.is_dev_mode().then(|| format!("http://{bound}"));
        let browser = match development {
            #[cfg(feature = "dev-issuer")]
            Some(base) => Browser::new(
                client_id.unwrap_or(crate::dev::DEV_CLIENT_ID),
                redirect_uri.map_or_else(|| format!("{base}/auth/callback"), str::to_owned),
                format!("{base}/.well-known/openid-configuration"),
                keys(false)?,
            ),
            _ => {
                let Some(client_id) = client_id else { return Ok(None) };
                let Some(redirect_uri) = redirect_uri else {
                    return Err(variable(
                        "MFA_OIDC_REDIRECT_URI",
                        "browser sign-in needs the redirect URI registered at the provider: \
                         set MFA_OIDC_REDIRECT_URI (or `redirect_uri` in the [browser] table)",
                    ));
                };
                let Some(discovery_url) = discovery_url else {
                    return Err(variable(
                        "MFA_OIDC_DISCOVERY_URL",
                        "browser sign-in needs the provider's discovery document: set MFA_OIDC_DISCOVERY_URL \
                         (or MFA_DISCOVERY_URL, or `discovery_url` in the [browser] table)",
                    ));
                };
                Browser::new(client_id, redirect_uri, discovery_url, keys(true)?)
            }
        };
        let mut browser = match &self.config {
            Some(config) => config.apply_browser(browser)?,
            None => browser,
        };
        if let Some(step_up) = step_up {
            browser = browser.step_up(step_up);
        }
        Ok(Some(match &o.client_secret {
            Some(secret) => browser.client_secret(secret.clone()),
            None => browser,
        }))
    }
}
