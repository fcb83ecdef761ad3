//! The file's shape: what serde reads, before any of it is trusted. Unknown keys
//! are refused everywhere, so a typo cannot silently drop a setting.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::policy::Mode;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    #[serde(default)]
    pub(super) issuers: Vec<Spanned<RawIssuer>>,
    #[serde(default)]
    pub(super) audiences: Vec<String>,
    pub(super) tenants: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) algorithms: Option<Vec<Spanned<String>>>,
    pub(super) leeway: Option<Spanned<DurationValue>>,
    pub(super) max_token_lifetime: Option<DurationValue>,
    pub(super) max_header_bytes: Option<usize>,
    pub(super) token_cache_capacity: Option<u64>,
    pub(super) compliance_header: Option<String>,
    pub(super) adoption_apps: Option<usize>,
    pub(super) keys: Option<RawKeys>,
    pub(super) paths: Option<RawPaths>,
    pub(super) challenge: Option<RawChallenge>,
    pub(super) mfa: Option<RawMfa>,
    /// Assurance levels above `mfa`, weakest first.
    #[serde(default)]
    pub(super) assurance: Vec<Spanned<crate::policy::AssuranceLevel>>,
    #[serde(default)]
    pub(super) roles: BTreeMap<String, RawRole>,
    pub(super) policy: Option<RawPolicy>,
    pub(super) browser: Option<RawBrowser>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIssuer {
    pub(super) issuer: Option<String>,
    // Spanned: a bad URL or a missing file is reported at its own line.
    pub(super) jwks_url: Option<Spanned<String>>,
    pub(super) discovery_url: Option<Spanned<String>>,
    pub(super) jwks_file: Option<Spanned<String>>,
    pub(super) jwks: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeys {
    pub(super) connect_timeout: Option<DurationValue>,
    pub(super) timeout: Option<DurationValue>,
    pub(super) max_response_bytes: Option<usize>,
    pub(super) default_max_age: Option<DurationValue>,
    pub(super) min_max_age: Option<DurationValue>,
    pub(super) max_max_age: Option<DurationValue>,
    pub(super) unknown_kid_cooldown: Option<DurationValue>,
    pub(super) stale_if_error: Option<DurationValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPaths {
    pub(super) allow_encoded_slash: Option<bool>,
    pub(super) refuse_matrix_parameters: Option<bool>,
    pub(super) refuse_empty_segments: Option<bool>,
    pub(super) refuse_encoded_unreserved: Option<bool>,
    pub(super) refuse_non_ascii: Option<bool>,
    pub(super) refuse_confusables: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChallenge {
    pub(super) style: Option<Spanned<String>>,
    pub(super) realm: Option<String>,
    pub(super) acr_values: Option<String>,
    pub(super) authorization_uri: Option<String>,
    pub(super) auth_context: Option<String>,
}

/// Browser sign-in. Secrets are named here only to be refused with a pointer to
/// the environment. Read whatever the features (a file means the same to every
/// build); used where the `browser` feature is on.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(not(feature = "browser"), allow(dead_code))]
#[serde(deny_unknown_fields)]
pub(super) struct RawBrowser {
    pub(super) client_id: Option<String>,
    pub(super) redirect_uri: Option<String>,
    pub(super) discovery_url: Option<String>,
    pub(super) step_up: Option<Spanned<String>>,
    pub(super) scopes: Option<Vec<String>>,
    pub(super) idle_timeout: Option<DurationValue>,
    pub(super) absolute_timeout: Option<DurationValue>,
    pub(super) step_up_window: Option<DurationValue>,
    pub(super) sign_in_path: Option<String>,
    pub(super) sign_out_path: Option<String>,
    pub(super) signed_out_path: Option<String>,
    pub(super) post_logout_redirect_uri: Option<String>,
    pub(super) client_secret: Option<Spanned<toml::Value>>,
    pub(super) session_keys: Option<Spanned<toml::Value>>,
    /// The revocation store (`memory`, `redis://…`), its key prefix, fail mode and
    /// bound on the local view's age; the password is refused like the secrets.
    pub(super) session_store: Option<Spanned<String>>,
    pub(super) session_store_prefix: Option<Spanned<String>>,
    pub(super) session_store_fail: Option<Spanned<String>>,
    pub(super) session_store_stale_after: Option<Spanned<DurationValue>>,
    pub(super) session_store_password: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMfa {
    pub(super) amr: Option<Vec<String>>,
    pub(super) auth_contexts: Option<Vec<String>>,
    pub(super) acr: Option<Vec<String>>,
    pub(super) max_age: Option<DurationValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    #[serde(default)]
    pub(super) app_roles: Vec<String>,
    #[serde(default)]
    pub(super) wids: Vec<String>,
    #[serde(default)]
    pub(super) groups: Vec<String>,
    #[serde(default)]
    pub(super) scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) preset: Option<Spanned<String>>,
    pub(super) default_mode: Option<RawMode>,
    pub(super) fallback: Option<Spanned<RawRequirement>>,
    #[serde(default)]
    pub(super) routes: Vec<Spanned<RawRequirement>>,
}

/// What a route, or the fallback, requires: one shape for both. `path`, `methods`
/// and `name` belong to routes only (the fallback is every unmatched path).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequirement {
    pub(super) path: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) methods: Vec<String>,
    pub(super) name: Option<String>,
    pub(super) access: RawAccess,
    pub(super) mode: Option<RawMode>,
    pub(super) enforce_from: Option<Spanned<Timestamp>>,
    pub(super) callers: Option<RawCallers>,
    #[serde(default)]
    pub(super) roles: Vec<Spanned<String>>,
    /// An assurance level's name (`[[assurance]]`), instead of `mfa`.
    pub(super) assurance: Option<Spanned<String>>,
    /// Freshness of the authentication on this route.
    pub(super) max_age: Option<Spanned<DurationValue>>,
    /// How this route asks for more (`partner-center`, `step-up[:acr]`, `entra:<id>`).
    pub(super) challenge: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawAccess {
    Public,
    Authenticated,
    Mfa,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawMode {
    Enforce,
    ReportOnly,
}

impl RawMode {
    pub(super) fn mode(self) -> Mode {
        match self {
            RawMode::Enforce => Mode::Enforce,
            RawMode::ReportOnly => Mode::ReportOnly,
        }
    }
}

/// An RFC 3339 timestamp, quoted or as a TOML datetime.
#[derive(Debug, Clone)]
pub(super) struct Timestamp(pub(super) String);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Toml(toml::value::Datetime),
        }
        Ok(Timestamp(match Either::deserialize(d)? {
            Either::Text(t) => t,
            Either::Toml(t) => t.to_string(),
        }))
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawCallers {
    Users,
    UsersAndApps,
}

/// A duration as seconds (`60`) or in words (`"60s"`, `"1h 30m"`).
#[derive(Debug, Clone, Copy)]
pub(super) struct DurationValue(pub(super) Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Secs(u64),
            Text(String),
        }
        match Either::deserialize(d)? {
            Either::Secs(s) => Ok(DurationValue(Duration::from_secs(s))),
            Either::Text(t) => {
                crate::time::parse_duration(&t).map(DurationValue).map_err(serde::de::Error::custom)
            }
        }
    }
}
