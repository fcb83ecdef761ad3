//! The environment contract of the servers built on mfa-guard (the example servers
//! and `mfa-guard serve`): which `MFA_*` variables configure a guard, and how.
//!
//! | variable | meaning |
//! |---|---|
//! | `MFA_LISTEN` | where to listen, `host:port` (default `127.0.0.1:3000`; a name such as `localhost:3001` is resolved) |
//! | `MFA_ISSUER` | the expected issuer, exact or with `{tenantid}` |
//! | `MFA_AUDIENCE` | accepted audiences, comma-separated |
//! | `MFA_TENANTS` | the tenants a `{tenantid}` issuer admits, comma-separated GUIDs |
//! | `MFA_JWKS_URL` / `MFA_DISCOVERY_URL` | a JWKS document, or OIDC discovery (which declares the issuer) |
//! | `MFA_CONFIG` | a TOML file (see [`crate::config`]); the variables above add to it |
//! | `MFA_TOKEN_CACHE_CAPACITY` | verified-token cache entries (0 disables it) |
//! | `MFA_GRPC_LISTEN` | where `mfa-guard serve` answers Envoy's gRPC `ext_authz`, `host:port` (off when unset) |
//! | `MFA_METRICS_LISTEN` | where to serve Prometheus metrics at `/metrics` and the MFA adoption report at `/mfa-adoption`, `host:port` (off when unset) |
//! | `MFA_OIDC_CLIENT_ID` | browser sign-in (feature `browser`): the web app's client id at the provider; turns browser mode on |
//! | `MFA_OIDC_CLIENT_SECRET` | its secret (a confidential client) |
//! | `MFA_OIDC_REDIRECT_URI` | its registered redirect URI, e.g. `https://app.example/auth/callback` |
//! | `MFA_OIDC_DISCOVERY_URL` | the provider's discovery document (default: the file's, then `MFA_DISCOVERY_URL`) |
//! | `MFA_SESSION_KEYS` | session cookie keys, `id:base64-32-bytes[,id:key...]`, the first seals (`openssl rand -base64 32`) |
//! | `MFA_STEP_UP` | how MFA is asked for: `generic` (default), `generic:<acr_values>`, or `entra:<auth-context-id>` |
//!
//! The browser settings that are not secrets (client id, redirect URI, discovery,
//! step-up, and the timeouts and paths no variable sets) may also be written in
//! the `[browser]` table of `MFA_CONFIG`; a variable wins over the file's key.
//!
//! With none of `MFA_ISSUER`, `MFA_JWKS_URL`, `MFA_DISCOVERY_URL` set, and no
//! `[[issuers]]` in the file, a server runs in development mode on an embedded
//! issuer (feature `dev-issuer`).
//!
//! One job a file: this one reads the variables ([`Environment::from_lookup`]) and
//! builds the guard they describe; `env/address.rs` checks and resolves every
//! listening address, `env/browser.rs` turns the browser variables into browser
//! sign-in, `env/error.rs` says what is wrong. A new variable is a row above, a
//! field of [`Environment`] read in `from_lookup`, and an accessor.

mod address;
mod browser;
mod error;

use std::net::SocketAddr;

use super::{Config, IssuerSource, KeyLocation, SourceError};
use crate::guard::{Guard, GuardBuilder};
use crate::verify::is_guid;
use address::{check_address, development_address, resolve};
use browser::Oidc;
pub use error::EnvError;
use error::variable;

/// Where a server listens when `MFA_LISTEN` is not set.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// The settings a server reads from its environment.
#[derive(Debug, Clone)]
pub struct Environment {
    listen: String,
    grpc_listen: Option<String>,
    metrics_listen: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    tenants: Vec<String>,
    keys: Option<(&'static str, KeyLocation)>,
    config: Option<Config>,
    token_cache_capacity: Option<u64>,
    /// Read only by browser mode (feature `browser`).
    #[cfg_attr(not(feature = "browser"), allow(dead_code))]
    oidc: Oidc,
    /// `MFA_SESSION_STORE*` (the revocation store).
    #[cfg(any(feature = "browser", feature = "redis"))]
    store: crate::revocation::StoreVariables,
}

fn list(value: &str) -> Vec<String> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

impl Environment {
    /// Reads the process environment (a variable set to blanks counts as unset).
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        let listen = get("MFA_LISTEN").map_or_else(|| DEFAULT_LISTEN.to_owned(), |l| l.trim().to_owned());
        check_address("MFA_LISTEN", &listen)?;
        let optional_address = |name: &'static str| -> Result<Option<String>, EnvError> {
            let value = get(name).map(|l| l.trim().to_owned());
            value.as_deref().map(|v| check_address(name, v)).transpose()?;
            Ok(value)
        };
        let grpc_listen = optional_address("MFA_GRPC_LISTEN")?;
        let metrics_listen = optional_address("MFA_METRICS_LISTEN")?;
        let config = get("MFA_CONFIG").map(Config::from_file).transpose()?;
        let token_cache_capacity = match get("MFA_TOKEN_CACHE_CAPACITY") {
            Some(v) => Some(v.trim().parse().map_err(|_| {
                variable(
                    "MFA_TOKEN_CACHE_CAPACITY",
                    format!(
                        "MFA_TOKEN_CACHE_CAPACITY={v:?} is not a number of entries (0 disables the cache)"
                    ),
                )
            })?),
            None => None,
        };
        let keys = match (get("MFA_JWKS_URL"), get("MFA_DISCOVERY_URL")) {
            (Some(_), Some(_)) => {
                return Err(variable("MFA_JWKS_URL", "set MFA_JWKS_URL or MFA_DISCOVERY_URL, not both"));
            }
            (Some(url), None) => Some(("MFA_JWKS_URL", KeyLocation::JwksUrl(url.trim().to_owned()))),
            (None, Some(url)) => Some(("MFA_DISCOVERY_URL", KeyLocation::Discovery(url.trim().to_owned()))),
            (None, None) => None,
        };
        let tenants = match get("MFA_TENANTS") {
            Some(value) => {
                let tenants = list(&value);
                if tenants.is_empty() {
                    return Err(variable("MFA_TENANTS", format!("MFA_TENANTS={value:?} names no tenant id")));
                }
                if let Some(bad) = tenants.iter().find(|t| !is_guid(t)) {
                    return Err(variable(
                        "MFA_TENANTS",
                        format!(
                            "MFA_TENANTS: {bad:?} is not a tenant id (a GUID like aaaabbbb-0000-cccc-1111-dddd2222eeee)"
                        ),
                    ));
                }
                tenants
            }
            None => Vec::new(),
        };
        Ok(Self {
            listen,
            grpc_listen,
            metrics_listen,
            issuer: get("MFA_ISSUER").map(|i| i.trim().to_owned()),
            audiences: get("MFA_AUDIENCE").map(|a| list(&a)).unwrap_or_default(),
            tenants,
            keys,
            config,
            token_cache_capacity,
            oidc: Oidc {
                client_id: get("MFA_OIDC_CLIENT_ID").map(|v| v.trim().to_owned()),
                client_secret: get("MFA_OIDC_CLIENT_SECRET").map(|v| v.trim().to_owned()),
                redirect_uri: get("MFA_OIDC_REDIRECT_URI").map(|v| v.trim().to_owned()),
                discovery_url: get("MFA_OIDC_DISCOVERY_URL").map(|v| v.trim().to_owned()),
                api_discovery_url: get("MFA_DISCOVERY_URL").map(|v| v.trim().to_owned()),
                session_keys: get("MFA_SESSION_KEYS"),
                step_up: get("MFA_STEP_UP").map(|v| v.trim().to_owned()),
            },
            #[cfg(any(feature = "browser", feature = "redis"))]
            store: crate::revocation::StoreVariables::read(&get),
        })
    }

    /// The revocation store: `MFA_SESSION_STORE` (`redis://…`, `rediss://…` or
    /// `memory`), else `MFA_CONFIG`'s `[browser] session_store`; `None` without
    /// either (cookie-only sessions). `MFA_SESSION_STORE_PREFIX`, `…_FAIL` and
    /// `…_STALE_AFTER` win over the file's keys; the password comes from
    /// `MFA_SESSION_STORE_PASSWORD` only.
    #[cfg(any(feature = "browser", feature = "redis"))]
    pub fn session_store(&self) -> Result<Option<crate::revocation::StoreSettings>, EnvError> {
        let keys = self.config.as_ref().map(Config::session_store_keys).unwrap_or_default();
        crate::revocation::resolve_store(&self.store, &keys).map_err(|(name, e)| match &self.config {
            Some(config) if name.starts_with("browser.") => EnvError::Config(config.err(name, e.to_string())),
            _ => variable(name, e.to_string()),
        })
    }

    /// `MFA_LISTEN` as given.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// `MFA_LISTEN` resolved to an address to bind (the first a name resolves to).
    pub fn listen_addr(&self) -> Result<SocketAddr, EnvError> {
        let addr = resolve("MFA_LISTEN", &self.listen)?;
        if self.is_dev_mode() {
            development_address(&self.listen, addr)?;
        }
        Ok(addr)
    }

    /// `MFA_GRPC_LISTEN` resolved, when set.
    pub fn grpc_addr(&self) -> Result<Option<SocketAddr>, EnvError> {
        self.grpc_listen.as_deref().map(|l| resolve("MFA_GRPC_LISTEN", l)).transpose()
    }

    /// `MFA_METRICS_LISTEN` resolved, when set.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, EnvError> {
        self.metrics_listen.as_deref().map(|l| resolve("MFA_METRICS_LISTEN", l)).transpose()
    }

    /// The configuration file of `MFA_CONFIG`, if set.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// Development mode: no issuer and no key source configured anywhere.
    pub fn is_dev_mode(&self) -> bool {
        self.issuer.is_none() && self.keys.is_none() && !self.config.as_ref().is_some_and(Config::has_issuers)
    }

    /// Everything but the issuers: the file's settings, the tenants, the cache.
    fn base(&self) -> Result<GuardBuilder, EnvError> {
        let mut builder = match &self.config {
            Some(config) => config.builder()?,
            // The environment contract: without a file, Partner Center's route table.
            None => Guard::partner_center(),
        };
        if let Some(n) = self.token_cache_capacity {
            builder = builder.token_cache_capacity(n);
        }
        if !self.tenants.is_empty() {
            builder = builder.verifier(|v| v.tenants(self.tenants.iter().cloned()));
        }
        Ok(builder)
    }

    /// The guard the environment describes, outside development mode (needing no
    /// address, so a server can check its whole configuration before it binds).
    pub fn guard(&self) -> Result<Guard, EnvError> {
        Ok(self.builder()?.build()?)
    }

    /// The path rules of `MFA_CONFIG`'s `[paths]` table over `base`.
    pub fn path_rules(&self, base: crate::PathRules) -> crate::PathRules {
        self.config.as_ref().map_or(base, |c| c.path_rules(base))
    }

    /// [`guard`](Self::guard)'s builder, for a server that adds settings of its own.
    pub fn builder(&self) -> Result<GuardBuilder, EnvError> {
        if self.is_dev_mode() {
            return Err(variable(
                "MFA_ISSUER",
                "none of MFA_ISSUER, MFA_JWKS_URL, MFA_DISCOVERY_URL is set (development mode): \
                 the guard needs the embedded development issuer",
            ));
        }
        let mut builder = self.base()?;
        let remote = self.config.as_ref().map(Config::remote_options).unwrap_or_default();
        builder = match (&self.issuer, &self.keys) {
            (issuer, Some((name, keys))) => IssuerSource::new(issuer.clone(), keys.clone())
                .add_to(builder, &remote)
                .map_err(|e| match e {
                    SourceError::IssuerNeeded => variable(
                        "MFA_JWKS_URL",
                        "MFA_JWKS_URL needs MFA_ISSUER (only discovery declares one)",
                    ),
                    other => variable(name, format!("{name}: {other}")),
                })?,
            (Some(_), None) => {
                return Err(variable("MFA_ISSUER", "MFA_ISSUER needs MFA_JWKS_URL or MFA_DISCOVERY_URL"));
            }
            (None, None) => builder,
        };
        if self.audiences.is_empty() && self.config.as_ref().is_none_or(|c| c.audiences().is_empty()) {
            return Err(variable("MFA_AUDIENCE", "set MFA_AUDIENCE (comma-separated accepted audiences)"));
        }
        Ok(builder.verifier(|v| v.audiences(self.audiences.iter().cloned())))
    }

    /// The guard of development mode, on the development issuer `dev` that the
    /// server embeds at `bound` (the address it actually bound; `mfa-guard-dev`
    /// makes one): its discovery and JWKS documents and its sign-in endpoints are
    /// public routes, and its tokens' tenant is the one admitted.
    #[cfg(feature = "dev-issuer")]
    pub fn development_guard(
        &self,
        bound: SocketAddr,
        dev: &crate::dev::DevelopmentIssuer,
    ) -> Result<Guard, EnvError> {
        Ok(self.development_builder(bound, dev)?.build()?)
    }

    /// [`development_guard`](Self::development_guard)'s builder, for a server that
    /// adds settings of its own (browser sign-in).
    #[cfg(feature = "dev-issuer")]
    pub fn development_builder(
        &self,
        bound: SocketAddr,
        dev: &crate::dev::DevelopmentIssuer,
    ) -> Result<GuardBuilder, EnvError> {
        use crate::policy::{Policy, Requirement};

        development_address(&bound.to_string(), bound)?;
        let policy = match &self.config {
            Some(config) => config.policy()?,
            None => Policy::partner_center(),
        };
        let mut builder = self.base()?;
        // Its tokens are all of one tenant: say so, rather than warn that every
        // tenant is accepted.
        if self.tenants.is_empty() {
            builder = builder.verifier(|v| v.tenants([dev.tenant()]));
        }
        Ok(builder
            .policy(
                policy
                    .route("/.well-known/*", Requirement::public())
                    .route(format!("{}/*", crate::dev::DEV_SIGN_IN_PREFIX), Requirement::public()),
            )
            .verifier(|v| {
                v.issuer(dev.issuer())
                    .keys(dev.keys().clone())
                    .audience(dev.audience())
                    .audiences(self.audiences.iter().cloned())
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Result<Environment, EnvError> {
        Environment::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn a_listen_address_may_be_a_name_and_must_have_a_port() {
        assert_eq!(env(&[]).unwrap().listen_addr().unwrap().to_string(), DEFAULT_LISTEN);
        let named = env(&[("MFA_LISTEN", "localhost:3001")]).unwrap();
        assert_eq!(named.listen_addr().unwrap().port(), 3001);
        for bad in ["localhost", "127.0.0.1", ":x", "127.0.0.1:99999"] {
            let e = env(&[("MFA_LISTEN", bad)]).unwrap_err();
            assert!(e.to_string().starts_with("MFA_LISTEN="), "{bad}: {e}");
        }
    }

    #[test]
    fn every_listener_is_an_address_read_and_resolved_alike() {
        let none = env(&[]).unwrap();
        assert_eq!((none.grpc_addr().unwrap(), none.metrics_addr().unwrap()), (None, None));
        let set = env(&[("MFA_GRPC_LISTEN", " localhost:9001 "), ("MFA_METRICS_LISTEN", "127.0.0.1:9090")])
            .unwrap();
        assert_eq!(set.grpc_addr().unwrap().map(|a| a.port()), Some(9001));
        assert_eq!(set.metrics_addr().unwrap().map(|a| a.to_string()).as_deref(), Some("127.0.0.1:9090"));
        for name in ["MFA_GRPC_LISTEN", "MFA_METRICS_LISTEN"] {
            let e = env(&[(name, "9001")]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{name}=\"9001\" is not an address like 127.0.0.1:3000 or localhost:3000")
            );
            assert!(matches!(e, EnvError::Variable { name: n, .. } if n == name));
        }
    }

    #[test]
    fn development_mode_listens_on_loopback_only_and_says_how_to() {
        for listen in ["127.0.0.1:3004", "localhost:3004", "[::1]:3004"] {
            assert_eq!(env(&[("MFA_LISTEN", listen)]).unwrap().listen_addr().unwrap().port(), 3004);
        }
        for listen in ["0.0.0.0:3004", "[::]:3004"] {
            let dev = env(&[("MFA_LISTEN", listen)]).unwrap();
            let e = dev.listen_addr().unwrap_err().to_string();
            assert!(e.starts_with(&format!("MFA_LISTEN={listen:?}: development mode")), "{e}");
            assert!(e.contains("loopback only") && e.contains("set MFA_LISTEN=127.0.0.1:3004"), "{e}");
            assert!(!e.contains("redirect URI"), "{e}");
            #[cfg(feature = "dev-issuer")]
            {
                let bound: SocketAddr = listen.parse().unwrap();
                let issuer =
                    crate::test_issuer::DevIssuer::generate("http://127.0.0.1:1/{tenantid}/").unwrap();
                let embedded = crate::dev::DevelopmentIssuer::new(
                    issuer.issuer(),
                    issuer.key_source().unwrap(),
                    crate::test_issuer::DEV_TENANT,
                    crate::test_issuer::DEV_AUDIENCE,
                );
                let e = dev.development_builder(bound, &embedded).map(|_| ()).unwrap_err().to_string();
                assert!(e.contains("loopback only"), "{e}");
            }
            // With an identity provider configured, any address.
            let configured = env(&[
                ("MFA_LISTEN", listen),
                ("MFA_DISCOVERY_URL", "https://idp.example/.well-known/openid-configuration"),
            ])
            .unwrap();
            assert_eq!(configured.listen_addr().unwrap().port(), 3004);
        }
    }

    #[test]
    fn each_conflict_or_gap_names_its_variables() {
        let both =
            env(&[("MFA_JWKS_URL", "https://a/keys"), ("MFA_DISCOVERY_URL", "https://a/d")]).unwrap_err();
        assert!(both.to_string().contains("not both"), "{both}");
        let no_issuer = env(&[("MFA_JWKS_URL", "https://a/keys"), ("MFA_AUDIENCE", "api")]).unwrap();
        assert!(no_issuer.guard().unwrap_err().to_string().contains("needs MFA_ISSUER"));
        let no_keys = env(&[("MFA_ISSUER", "https://a/"), ("MFA_AUDIENCE", "api")]).unwrap();
        assert!(no_keys.guard().unwrap_err().to_string().contains("needs MFA_JWKS_URL or MFA_DISCOVERY_URL"));
        let no_aud = env(&[("MFA_DISCOVERY_URL", "https://a/.well-known/openid-configuration")]).unwrap();
        assert!(no_aud.guard().unwrap_err().to_string().contains("set MFA_AUDIENCE"));
        let plain = env(&[
            ("MFA_ISSUER", "https://a/"),
            ("MFA_JWKS_URL", "http://a.example/k"),
            ("MFA_AUDIENCE", "x"),
        ])
        .unwrap();
        assert!(plain.guard().unwrap_err().to_string().starts_with("MFA_JWKS_URL: "));
        let tenants = env(&[("MFA_TENANTS", "contoso")]).unwrap_err();
        assert!(tenants.to_string().starts_with("MFA_TENANTS: \"contoso\" is not a tenant id"), "{tenants}");
    }

    #[cfg(feature = "browser")]
    #[test]
    fn browser_sign_in_names_each_missing_or_bad_variable() {
        let bound: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let browser = |extra: &[(&str, &str)]| {
            let mut vars = vec![("MFA_ISSUER", "https://login.example/t/v2.0")];
            vars.extend_from_slice(extra);
            env(&vars).unwrap().browser(bound)
        };
        assert!(browser(&[]).unwrap().is_none(), "no client id: no browser sign-in");
        let id = ("MFA_OIDC_CLIENT_ID", "app");
        let redirect = ("MFA_OIDC_REDIRECT_URI", "https://app.example/auth/callback");
        let discovery = ("MFA_OIDC_DISCOVERY_URL", "https://login.example/.well-known/openid-configuration");
        let keys = ("MFA_SESSION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let message = |r: Result<Option<crate::browser::Browser>, EnvError>| r.unwrap_err().to_string();

        assert!(message(browser(&[id])).contains("set MFA_OIDC_REDIRECT_URI"));
        assert!(message(browser(&[id, redirect])).contains("set MFA_OIDC_DISCOVERY_URL"));
        assert_eq!(
            message(browser(&[id, redirect, discovery])),
            "browser sign-in needs MFA_SESSION_KEYS (id:base64-key, 32 bytes, e.g. \
             `k1:$(openssl rand -base64 32)`), the same on every replica"
        );
        let short = message(browser(&[id, redirect, discovery, ("MFA_SESSION_KEYS", "k1:AAAA")]));
        assert!(short.starts_with("MFA_SESSION_KEYS: "), "{short}");
        for bad in ["entra", "entra:", "okta:x", "generic:"] {
            let e = message(browser(&[id, redirect, discovery, keys, ("MFA_STEP_UP", bad)]));
            assert!(e.starts_with(&format!("MFA_STEP_UP={bad:?} is not")), "{bad}: {e}");
        }

        let secret = ("MFA_OIDC_CLIENT_SECRET", "s3cr3t-value");
        let step_up = ("MFA_STEP_UP", "entra: c1 ");
        let configured = browser(&[id, redirect, discovery, keys, secret, step_up]).unwrap().unwrap();
        let shown = format!("{configured:?}");
        assert!(shown.contains(r#"Entra { auth_context: "c1" }"#), "{shown}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("AAAAAAAA"), "a secret in Debug: {shown}");
        // The API's discovery URL stands in for the provider's.
        let api_discovery = ("MFA_DISCOVERY_URL", "https://login.example/.well-known/openid-configuration");
        let vars = [("MFA_AUDIENCE", "api"), api_discovery, id, redirect, keys];
        assert!(env(&vars).unwrap().browser(bound).unwrap().is_some());
    }

    #[cfg(feature = "browser")]
    #[test]
    fn the_browser_table_fills_in_what_no_variable_sets() {
        let dir = std::env::temp_dir().join(format!("mfa-guard-env-browser-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mfa.toml");
        std::fs::write(
            &file,
            r#"
[browser]
client_id = "file-app"
redirect_uri = "https://app.example/auth/callback"
discovery_url = "https://browser-idp.example/.well-known/openid-configuration"
step_up = "entra:c1"
idle_timeout = "15m"
"#,
        )
        .unwrap();
        let bound: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let config = file.to_str().unwrap();
        let keys = ("MFA_SESSION_KEYS", "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        let api = ("MFA_DISCOVERY_URL", "https://api-idp.example/.well-known/openid-configuration");
        let audience = ("MFA_AUDIENCE", "api");

        let from_file =
            env(&[("MFA_CONFIG", config), keys, api, audience]).unwrap().browser(bound).unwrap().unwrap();
        assert_eq!(from_file.client_id, "file-app");
        assert_eq!(from_file.redirect_uri, "https://app.example/auth/callback");
        // The file's [browser] discovery_url, not the API's MFA_DISCOVERY_URL.
        assert!(from_file.discovery_url.starts_with("https://browser-idp.example/"), "{from_file:?}");
        assert_eq!(from_file.step_up, crate::browser::StepUp::Entra { auth_context: "c1".into() });
        assert_eq!(from_file.idle, std::time::Duration::from_secs(900));

        let overridden = env(&[
            ("MFA_CONFIG", config),
            keys,
            api,
            audience,
            ("MFA_OIDC_CLIENT_ID", "env-app"),
            ("MFA_OIDC_DISCOVERY_URL", "https://env-idp.example/.well-known/openid-configuration"),
            ("MFA_STEP_UP", "generic"),
        ])
        .unwrap()
        .browser(bound)
        .unwrap()
        .unwrap();
        assert_eq!(overridden.client_id, "env-app");
        assert!(overridden.discovery_url.starts_with("https://env-idp.example/"));
        assert_eq!(overridden.step_up, crate::browser::StepUp::Generic { acr_values: None });
        assert_eq!(overridden.idle, std::time::Duration::from_secs(900), "the file's other keys still hold");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn development_mode_is_no_issuer_anywhere() {
        assert!(env(&[]).unwrap().is_dev_mode());
        assert!(!env(&[("MFA_ISSUER", "https://a/")]).unwrap().is_dev_mode());
        assert!(env(&[]).unwrap().guard().is_err());
    }
}
