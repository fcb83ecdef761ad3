//! Configuration files (TOML), shared by the example servers and the CLI.
//!
//! Every setting of [`GuardBuilder`](crate::GuardBuilder) has a key. A file is read whole, at most
//! 1 MiB; unknown keys are refused (a typo must not silently weaken a policy); an
//! error names the key and the line.
//!
//! ```toml
//! audiences = ["https://api.partnercenter.microsoft.com"]
//! tenants = ["aaaabbbb-0000-cccc-1111-dddd2222eeee"]   # see below; default: every tenant, with a warning
//! algorithms = ["RS256"]          # default: RS/PS 256-512, ES256, ES384, EdDSA
//! leeway = "60s"                  # or 60; also bounds how far ahead iat may be
//! max_token_lifetime = "24h"      # exp - iat at most this, iat then required; off by default
//!
//! token_cache_capacity = 10000    # 0 disables the verified-token cache
//! compliance_header = "mfa-compliance"   # off by default
//! adoption_apps = 100             # client applications named in the MFA adoption counts
//!
//! [[issuers]]
//! issuer = "https://sts.windows.net/{tenantid}/"
//! jwks_url = "https://login.microsoftonline.com/common/discovery/keys"
//! # or: discovery_url = "https://…/.well-known/openid-configuration" (issuer optional)
//! # or: jwks_file = "keys.json", or jwks = '{"keys":[...]}'
//!
//! [keys]                          # remote key sources (defaults shown)
//! connect_timeout = "2s"
//! timeout = "5s"
//! max_response_bytes = 524288
//! default_max_age = "1h"
//! unknown_kid_cooldown = "30s"
//! stale_if_error = "24h"
//!
//! [paths]                         # paths refused before a rule is chosen
//! allow_encoded_slash = false     # true lets %2F through inside a segment
//! refuse_matrix_parameters = false  # true refuses ';' in a segment (mfa-guard serve: true)
//! refuse_empty_segments = false   # true refuses '//' (mfa-guard serve: true)
//! refuse_encoded_unreserved = false  # true refuses '%63' for 'c' (mfa-guard serve: true)
//! refuse_non_ascii = false        # true refuses '%C3%A9' and every escaped non-ASCII (serve: true)
//! refuse_confusables = false      # true refuses '/HEALTH', '/commerce./x', '/commerce.json'
//!                                 # where they read as another rule's path (serve: true)
//!
//! [challenge]
//! style = "partner-center"        # or "step-up", "entra-claims"
//!
//! [mfa]
//! amr = ["mfa", "ngcmfa"]
//!
//! [roles.AdminAgent]              # replaces the preset's matchers for this role
//! app_roles = ["AdminAgent"]
//! groups = ["0e9f5d2c-1111-4444-8888-123456789abc"]
//!
//! [policy]
//! preset = "partner-center"       # or "none"
//! default_mode = "enforce"        # or "report-only" (policy refusals let through, recorded)
//!
//! [[policy.routes]]
//! path = "/reports/*"
//! methods = ["GET"]
//! access = "mfa"                  # "public", "authenticated" or "mfa"
//! callers = "users"               # or "users-and-apps"
//! roles = ["AdminAgent"]
//! name = "reports"
//! mode = "report-only"            # this route only
//! enforce_from = "2027-03-01T00:00:00Z"   # report-only before, enforced from
//!
//! [browser]                       # browser sign-in (feature `browser`; not `mfa-guard serve`)
//! client_id = "00001111-aaaa-2222-bbbb-3333cccc4444"   # MFA_OIDC_CLIENT_ID wins over it
//! redirect_uri = "https://partner.example/auth/callback"  # MFA_OIDC_REDIRECT_URI wins
//! discovery_url = "https://login.microsoftonline.com/aaaabbbb-0000-cccc-1111-dddd2222eeee/v2.0/.well-known/openid-configuration"
//! step_up = "entra:c1"            # or "generic", "generic:<acr_values>"; MFA_STEP_UP wins
//! scopes = ["openid", "profile"]
//! idle_timeout = "1h"
//! absolute_timeout = "12h"
//! step_up_window = "10m"          # after a step-up without MFA, the MFA page this long
//! sign_in_path = "/auth/sign-in"
//! sign_out_path = "/auth/sign-out"
//! signed_out_path = "/auth/signed-out"
//! # post_logout_redirect_uri = "https://partner.example/auth/signed-out"
//! # The client secret and the session keys are never read from a file:
//! # MFA_OIDC_CLIENT_SECRET and MFA_SESSION_KEYS.
//! ```
//!
//! `tenants` is the allow-list of tenant ids (`tid`, GUIDs) that every
//! `{tenantid}` issuer admits, configured or declared by discovery. It is one list at
//! the top level, like `audiences`, rather than one per issuer: a tenant is the same
//! tenant whichever issuer form names it (Entra's v1 `sts.windows.net` and v2
//! `login.microsoftonline.com` issuers serve the same tenants), and a copy per
//! issuer would be one more place to forget, reopening every tenant. Exact issuers
//! already name their tenant and are not affected. Without the key a template
//! accepts tokens of every tenant, whose `wids` and `roles` then count here, and
//! building the guard logs a warning saying so.

mod browser;
mod build;
mod env;
mod error;
mod schema;
mod source;

pub use crate::time::{InvalidDuration, parse_duration};
pub use env::{EnvError, Environment};
pub use error::ConfigError;
pub use source::{IssuerSource, KeyLocation, SourceError};

use std::path::{Path, PathBuf};

use schema::Raw;

/// Largest configuration file read.
pub(crate) const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    raw: Raw,
    source: String,
    origin: String,
    base_dir: Option<PathBuf>,
}

fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

impl Config {
    /// Parses configuration text; `origin` names it in errors (a file name).
    pub fn from_toml_str(source: &str, origin: &str) -> Result<Self, ConfigError> {
        let raw: Raw = toml::from_str(source).map_err(|e| {
            let at = e.span().map(|s| error_offset(source, s.start, e.message()));
            let line = at.map(|at| line_of(source, at));
            let key = at.and_then(|at| key_at(source, at));
            ConfigError::new(origin, line, key, with_hint(e.message().trim()))
        })?;
        let config = Self { raw, source: source.to_owned(), origin: origin.to_owned(), base_dir: None };
        // Check everything that can be checked without touching files or the network.
        config.policy()?;
        config.challenge_style()?;
        config.algorithms()?;
        config.tenants()?;
        config.check_browser()?;
        Ok(config)
    }

    /// Reads and parses a file (at most 1 MiB). Relative paths inside it
    /// (`jwks_file`) are relative to the file's directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let bytes = crate::file::read_capped(path, MAX_CONFIG_BYTES)
            .map_err(|e| ConfigError::new(&origin, None, None, format!("cannot read the file: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ConfigError::new(&origin, None, None, "the file is not UTF-8"))?;
        let mut config = Self::from_toml_str(&text, &origin)?;
        config.base_dir = path.parent().map(Path::to_path_buf);
        Ok(config)
    }

    fn err_at(&self, offset: usize, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.origin, Some(line_of(&self.source, offset)), Some(key.to_owned()), message)
    }

    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(&self.origin, None, Some(key.to_owned()), message)
    }

    /// The audiences configured (may be empty; the caller can add its own).
    pub fn audiences(&self) -> &[String] {
        &self.raw.audiences
    }

    /// Whether the file configures at least one issuer.
    pub fn has_issuers(&self) -> bool {
        !self.raw.issuers.is_empty()
    }
}

/// The keys of the file's top level (before any `[table]`).
const TOP_LEVEL_KEYS: [&str; 11] = [
    "audiences",
    "tenants",
    "algorithms",
    "leeway",
    "max_token_lifetime",
    "max_header_bytes",
    "token_cache_capacity",
    "compliance_header",
    "adoption_apps",
    "issuers",
    "policy",
];

/// serde's message, and, for a top-level key written inside a table (where it is
/// unknown), where it belongs.
fn with_hint(message: &str) -> String {
    let misplaced = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
        .filter(|name| TOP_LEVEL_KEYS.contains(name));
    match misplaced {
        Some(name) => format!("{message}; `{name}` is a top-level key: write it before the first [table]"),
        None => message.to_owned(),
    }
}

/// Where a syntax error is: where toml found it, except for a missing comma. toml
/// notices that one at the next element, which in a list written one element per
/// line is a line (or, after blank and comment lines, several) below the element
/// the comma belongs behind; the error then names that element's line.
fn error_offset(source: &str, found: usize, message: &str) -> usize {
    let found = found.min(source.len());
    if !message.starts_with("missing comma") {
        return found;
    }
    // Back from where toml looked, line by line, to the last one with more than
    // blanks and a comment.
    let mut end = found;
    for line in source[..found].rsplit('\n') {
        let start = end - line.len();
        let text = line.trim();
        if !text.is_empty() && !text.starts_with('#') {
            return start + (line.len() - line.trim_start().len());
        }
        end = start.saturating_sub(1);
    }
    found
}

/// The key written on the line holding `offset`, if the line is `key = …`.
fn key_at(source: &str, offset: usize) -> Option<String> {
    let start = source[..offset.min(source.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = source[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_owned())
}

#[cfg(test)]
mod tests;
