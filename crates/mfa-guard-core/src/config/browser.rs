//! The `[browser]` table: browser sign-in settings that are not secrets. The client
//! secret and the session keys come from the environment only; a file naming them
//! is refused, so they never sit in a repository beside the policy.

use super::schema::RawBrowser;
use super::{Config, ConfigError};

impl Config {
    fn browser_table(&self) -> Option<&RawBrowser> {
        self.raw.browser.as_ref()
    }

    /// Whether the file has a `[browser]` table (a server without browser sign-in,
    /// such as `mfa-guard serve`, says that it does not use it).
    pub fn has_browser(&self) -> bool {
        self.raw.browser.is_some()
    }

    /// What can be checked of the `[browser]` table without the network: no
    /// secrets, and (with the `browser` feature) a step-up profile that reads and
    /// an idle timeout that does not sign out people using the application.
    pub(super) fn check_browser(&self) -> Result<(), ConfigError> {
        let Some(table) = self.browser_table() else { return Ok(()) };
        let secrets = [
            ("client_secret", &table.client_secret, "MFA_OIDC_CLIENT_SECRET"),
            ("session_keys", &table.session_keys, "MFA_SESSION_KEYS"),
            ("session_store_password", &table.session_store_password, "MFA_SESSION_STORE_PASSWORD"),
        ];
        for (key, value, variable) in secrets {
            if let Some(value) = value {
                return Err(self.err_at(
                    value.span().start,
                    &format!("browser.{key}"),
                    format!(
                        "secrets are not read from configuration files (they end up in repositories \
                         and backups): set {variable} in the environment"
                    ),
                ));
            }
        }
        #[cfg(any(feature = "browser", feature = "redis"))]
        self.session_store()?;
        #[cfg(feature = "browser")]
        self.browser_step_up()?;
        #[cfg(feature = "browser")]
        if let Some(idle) = table.idle_timeout {
            crate::browser::check_idle_timeout(idle.0)
                .map_err(|e| self.err("browser.idle_timeout", e.to_string()).because(e))?;
        }
        Ok(())
    }

    /// The `[browser]` table's `session_store*` keys, as written.
    #[cfg(any(feature = "browser", feature = "redis"))]
    pub(super) fn session_store_keys(&self) -> crate::revocation::FileStoreKeys<'_> {
        let Some(t) = self.browser_table() else { return crate::revocation::FileStoreKeys::default() };
        fn spanned(v: &Option<toml::Spanned<String>>) -> Option<(&str, usize)> {
            v.as_ref().map(|v| (v.get_ref().as_str(), v.span().start))
        }
        crate::revocation::FileStoreKeys {
            url: spanned(&t.session_store),
            prefix: spanned(&t.session_store_prefix),
            fail: spanned(&t.session_store_fail),
            stale_after: t.session_store_stale_after.as_ref().map(|d| (d.get_ref().0, d.span().start)),
        }
    }

    /// The revocation store the file names (`[browser] session_store`, with
    /// `session_store_prefix`, `session_store_fail` and `session_store_stale_after`),
    /// `None` without one. [`Environment::session_store`](super::Environment::session_store)
    /// lets `MFA_SESSION_STORE*` win over these keys.
    #[cfg(any(feature = "browser", feature = "redis"))]
    pub fn session_store(&self) -> Result<Option<crate::revocation::StoreSettings>, ConfigError> {
        crate::revocation::store_from_file(&self.session_store_keys())
            .map_err(|e| self.err_at(e.offset, e.key, e.error.to_string()))
    }

    /// The `[browser]` table's client id, redirect URI and discovery URL, each
    /// `None` where the file does not set it.
    #[cfg(feature = "browser")]
    pub(super) fn browser_client(&self) -> [Option<&str>; 3] {
        let t = self.browser_table();
        [
            t.and_then(|t| t.client_id.as_deref()),
            t.and_then(|t| t.redirect_uri.as_deref()),
            t.and_then(|t| t.discovery_url.as_deref()),
        ]
    }

    /// The page paths the `[browser]` table sets, by key: `sign_in_path`,
    /// `sign_out_path` and `signed_out_path`, each `None` where the file does not
    /// set it. A server that places the pages itself (`mfa-guard serve`, under its
    /// prefix) checks them against where it serves.
    #[cfg(feature = "browser")]
    pub fn browser_page_paths(&self) -> [(&'static str, Option<&str>); 3] {
        let t = self.browser_table();
        [
            ("sign_in_path", t.and_then(|t| t.sign_in_path.as_deref())),
            ("sign_out_path", t.and_then(|t| t.sign_out_path.as_deref())),
            ("signed_out_path", t.and_then(|t| t.signed_out_path.as_deref())),
        ]
    }

    #[cfg(feature = "browser")]
    fn browser_step_up(&self) -> Result<Option<crate::browser::StepUp>, ConfigError> {
        let Some(step_up) = self.browser_table().and_then(|t| t.step_up.as_ref()) else { return Ok(None) };
        step_up.get_ref().parse().map(Some).map_err(|e| {
            self.err_at(step_up.span().start, "browser.step_up", format!("step_up: {e}")).because(e)
        })
    }

    /// `browser` with the settings of the file's `[browser]` table applied: the
    /// step-up profile, scopes, timeouts, paths and post-logout redirect. (Its
    /// client id, redirect URI and discovery URL are what
    /// [`Browser::new`](crate::browser::Browser::new) takes;
    /// [`Environment::browser`](super::Environment::browser) reads them from the
    /// file where no variable sets them.)
    #[cfg(feature = "browser")]
    pub fn apply_browser(
        &self,
        browser: crate::browser::Browser,
    ) -> Result<crate::browser::Browser, ConfigError> {
        let Some(t) = self.browser_table() else { return Ok(browser) };
        let mut b = browser;
        if let Some(step_up) = self.browser_step_up()? {
            b = b.step_up(step_up);
        }
        if let Some(scopes) = &t.scopes {
            b = b.scopes(scopes.iter().cloned());
        }
        if let Some(d) = t.idle_timeout {
            b = b.idle_timeout(d.0);
        }
        if let Some(d) = t.absolute_timeout {
            b = b.absolute_timeout(d.0);
        }
        if let Some(d) = t.step_up_window {
            b = b.step_up_window(d.0);
        }
        if let Some(p) = &t.sign_in_path {
            b = b.sign_in_path(p.clone());
        }
        if let Some(p) = &t.sign_out_path {
            b = b.sign_out_path(p.clone());
        }
        if let Some(p) = &t.signed_out_path {
            b = b.signed_out_path(p.clone());
        }
        if let Some(uri) = &t.post_logout_redirect_uri {
            b = b.post_logout_redirect_uri(uri.clone());
        }
        Ok(b)
    }
}
