//! Configuration files (TOML), shared by the example servers and the CLI.
//!
//! Every setting of [`GuardBuilder`] has a key. A file is read whole, at most
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

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::guard::GuardBuilder;
use crate::keys::{KeySource, RemoteOptions};
use crate::path::PathRules;
use crate::policy::{MfaPolicy, Mode, Policy, Requirement, Role, RoleMap, RoleMatcher, Rule};
use crate::rejection::ChallengeStyle;
use crate::verify::{Algorithm, is_guid};

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Why a configuration could not be used: where, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    origin: String,
    line: Option<usize>,
    key: Option<String>,
    message: String,
}

impl ConfigError {
    fn new(origin: &str, line: Option<usize>, key: Option<String>, message: impl Into<String>) -> Self {
        Self { origin: origin.to_owned(), line, key, message: message.into() }
    }

    /// The 1-based line the error is on, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// The key the error is about, when known.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct Config {
    raw: Raw,
    source: String,
    origin: String,
    base_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    issuers: Vec<Spanned<RawIssuer>>,
    #[serde(default)]
    audiences: Vec<String>,
    tenants: Option<Spanned<Vec<Spanned<String>>>>,
    algorithms: Option<Vec<Spanned<String>>>,
    leeway: Option<Spanned<DurationValue>>,
    max_token_lifetime: Option<DurationValue>,
    max_header_bytes: Option<usize>,
    token_cache_capacity: Option<u64>,
    compliance_header: Option<String>,
    keys: Option<RawKeys>,
    paths: Option<RawPaths>,
    challenge: Option<RawChallenge>,
    mfa: Option<RawMfa>,
    #[serde(default)]
    roles: BTreeMap<String, RawRole>,
    policy: Option<RawPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIssuer {
    issuer: Option<String>,
    jwks_url: Option<String>,
    discovery_url: Option<String>,
    jwks_file: Option<String>,
    jwks: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeys {
    connect_timeout: Option<DurationValue>,
    timeout: Option<DurationValue>,
    max_response_bytes: Option<usize>,
    default_max_age: Option<DurationValue>,
    min_max_age: Option<DurationValue>,
    max_max_age: Option<DurationValue>,
    unknown_kid_cooldown: Option<DurationValue>,
    stale_if_error: Option<DurationValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    allow_encoded_slash: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChallenge {
    style: Option<Spanned<String>>,
    realm: Option<String>,
    acr_values: Option<String>,
    authorization_uri: Option<String>,
    auth_context: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMfa {
    amr: Option<Vec<String>>,
    auth_contexts: Option<Vec<String>>,
    acr: Option<Vec<String>>,
    max_age: Option<DurationValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    #[serde(default)]
    app_roles: Vec<String>,
    #[serde(default)]
    wids: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    preset: Option<Spanned<String>>,
    default_mode: Option<RawMode>,
    fallback: Option<RawRequirement>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    access: RawAccess,
    mode: Option<RawMode>,
    enforce_from: Option<Spanned<Timestamp>>,
    callers: Option<RawCallers>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    path: Spanned<String>,
    #[serde(default)]
    methods: Vec<String>,
    name: Option<String>,
    access: RawAccess,
    mode: Option<RawMode>,
    enforce_from: Option<Spanned<Timestamp>>,
    callers: Option<RawCallers>,
    #[serde(default)]
    roles: Vec<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawAccess {
    Public,
    Authenticated,
    Mfa,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawMode {
    Enforce,
    ReportOnly,
}

impl RawMode {
    fn mode(self) -> Mode {
        match self {
            RawMode::Enforce => Mode::Enforce,
            RawMode::ReportOnly => Mode::ReportOnly,
        }
    }
}

/// An RFC 3339 timestamp, quoted or as a TOML datetime.
#[derive(Debug, Clone)]
struct Timestamp(String);

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
enum RawCallers {
    Users,
    UsersAndApps,
}

/// A duration as seconds (`60`) or in words (`"60s"`, `"1h 30m"`).
#[derive(Debug, Clone, Copy)]
struct DurationValue(Duration);

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
            Either::Text(t) => parse_duration(&t).map(DurationValue).map_err(serde::de::Error::custom),
        }
    }
}

/// Parses `"90s"`, `"5m"`, `"1h 30m"`, `"2d"` (units s, m, h, d) or bare seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut any = false;
    for part in text.split_whitespace() {
        let split = part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len());
        let (num, unit) = part.split_at(split);
        let n: u64 =
            num.parse().map_err(|_| format!("{text:?} is not a duration like \"90s\", \"5m\" or \"1h\""))?;
        let mult = match unit {
            "s" | "sec" | "secs" => 1,
            "m" | "min" | "mins" => 60,
            "h" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => {
                return Err(format!("{text:?} has an unknown unit {unit:?} (use s, m, h or d)"));
            }
        };
        total = n.checked_mul(mult).and_then(|v| total.checked_add(v)).ok_or("duration too large")?;
        any = true;
    }
    if !any {
        return Err(format!("{text:?} is not a duration like \"90s\", \"5m\" or \"1h\""));
    }
    Ok(Duration::from_secs(total))
}

fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

impl Config {
    /// Parses configuration text; `origin` names it in errors (a file name).
    pub fn from_toml_str(source: &str, origin: &str) -> Result<Self, ConfigError> {
        let raw: Raw = toml::from_str(source).map_err(|e| {
            let line = e.span().map(|s| line_of(source, s.start));
            let key = e.span().and_then(|s| key_at(source, s.start));
            ConfigError::new(origin, line, key, e.message().trim().to_owned())
        })?;
        let config = Self { raw, source: source.to_owned(), origin: origin.to_owned(), base_dir: None };
        // Check everything that can be checked without touching files or the network.
        config.policy()?;
        config.challenge_style()?;
        config.algorithms()?;
        config.tenants()?;
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

    /// The route policy the file describes (preset, routes, roles, MFA).
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let raw_policy = self.raw.policy.as_ref();
        let mut policy = match raw_policy.and_then(|p| p.preset.as_ref()) {
            None => Policy::partner_center(),
            Some(p) => match p.get_ref().as_str() {
                "partner-center" => Policy::partner_center(),
                "none" => Policy::new().role_map(RoleMap::new()),
                other => {
                    return Err(self.err_at(
                        p.span().start,
                        "policy.preset",
                        format!("unknown preset {other:?}; expected \"partner-center\" or \"none\""),
                    ));
                }
            },
        };
        // Roles first, so routes can name them.
        let mut map = policy.roles().clone();
        for (name, raw) in &self.raw.roles {
            let role = Role::from_name(name);
            map = map.clear(&role).define(role.clone());
            let matchers = raw
                .app_roles
                .iter()
                .map(|v| RoleMatcher::AppRole(v.clone()))
                .chain(raw.wids.iter().map(|v| RoleMatcher::DirectoryRole(v.clone())))
                .chain(raw.groups.iter().map(|v| RoleMatcher::Group(v.clone())))
                .chain(raw.scopes.iter().map(|v| RoleMatcher::Scope(v.clone())));
            for m in matchers {
                map = map.grant(role.clone(), m);
            }
        }
        policy = policy.role_map(map);
        if let Some(mfa) = &self.raw.mfa {
            let mut m = MfaPolicy::new();
            if let Some(v) = &mfa.amr {
                if v.is_empty() {
                    return Err(self.err("mfa.amr", "must name at least one accepted amr value"));
                }
                m = m.amr_values(v.iter().cloned());
            }
            if let Some(v) = &mfa.auth_contexts {
                m = m.auth_contexts(v.iter().cloned());
            }
            if let Some(v) = &mfa.acr {
                m = m.acr_values(v.iter().cloned());
            }
            if let Some(v) = mfa.max_age {
                m = m.max_age(v.0);
            }
            policy = policy.mfa(m);
        }
        let role_map = policy.roles().clone();
        let requirement = |access: RawAccess,
                           callers: Option<RawCallers>,
                           roles: &[Spanned<String>],
                           mode: Option<RawMode>,
                           enforce_from: &Option<Spanned<Timestamp>>,
                           key: &str| {
            let mut req = match access {
                RawAccess::Public => Requirement::public(),
                RawAccess::Authenticated => Requirement::authenticated(),
                RawAccess::Mfa => Requirement::mfa(),
            };
            match callers {
                Some(RawCallers::Users) => req = req.users_only(),
                Some(RawCallers::UsersAndApps) => req = req.allow_apps(),
                None => {}
            }
            for r in roles {
                if role_map.index_of(&Role::from_name(r.get_ref())).is_none() {
                    return Err(self.err_at(
                        r.span().start,
                        key,
                        format!(
                            "role {:?} is not defined; define it under [roles.{}]",
                            r.get_ref(),
                            r.get_ref()
                        ),
                    ));
                }
            }
            if !roles.is_empty() && access == RawAccess::Public {
                return Err(self.err(key, "a public route cannot require roles"));
            }
            if let Some(m) = mode {
                req = req.mode(m.mode());
            }
            if let Some(ts) = enforce_from {
                let at = crate::time::parse_rfc3339(&ts.get_ref().0)
                    .map_err(|e| self.err_at(ts.span().start, "enforce_from", e))?;
                req = req.enforce_from(at);
            }
            Ok(req.any_role(roles.iter().map(|r| Role::from_name(r.get_ref()))))
        };
        if let Some(m) = raw_policy.and_then(|p| p.default_mode) {
            policy = policy.default_mode(m.mode());
        }
        if let Some(raw) = raw_policy {
            if let Some(f) = &raw.fallback {
                policy = policy.fallback(requirement(
                    f.access,
                    f.callers,
                    &f.roles,
                    f.mode,
                    &f.enforce_from,
                    "policy.fallback",
                )?);
            }
            for route in &raw.routes {
                let r = route.get_ref();
                let req = requirement(
                    r.access,
                    r.callers,
                    &r.roles,
                    r.mode,
                    &r.enforce_from,
                    "policy.routes.roles",
                )?;
                let mut rule = Rule::new(r.path.get_ref().clone(), req).methods(&r.methods);
                if let Some(n) = &r.name {
                    rule = rule.name(n.clone());
                }
                // Validate the pattern where it is written.
                let probe = Policy::new().role_map(role_map.clone()).rule(rule.clone());
                if let Err(e) = probe.compile() {
                    return Err(self.err_at(r.path.span().start, "policy.routes.path", e));
                }
                policy = policy.rule(rule);
            }
        }
        policy.compile().map_err(|e| self.err("policy", e))?;
        Ok(policy)
    }

    fn challenge_style(&self) -> Result<ChallengeStyle, ConfigError> {
        match self.raw.challenge.as_ref().and_then(|c| c.style.as_ref()) {
            None => Ok(ChallengeStyle::PartnerCenter),
            Some(s) => ChallengeStyle::from_name(s.get_ref()).ok_or_else(|| {
                self.err_at(
                    s.span().start,
                    "challenge.style",
                    format!(
                        "unknown challenge style {:?}; expected \"partner-center\", \"step-up\" or \"entra-claims\"",
                        s.get_ref()
                    ),
                )
            }),
        }
    }

    fn tenants(&self) -> Result<Option<Vec<String>>, ConfigError> {
        let Some(list) = &self.raw.tenants else {
            return Ok(None);
        };
        if list.get_ref().is_empty() {
            return Err(self.err_at(
                list.span().start,
                "tenants",
                "the tenant allow-list is empty; name at least one tenant id, or leave the key out to accept every tenant",
            ));
        }
        list.get_ref()
            .iter()
            .map(|t| {
                if is_guid(t.get_ref()) {
                    Ok(t.get_ref().clone())
                } else {
                    Err(self.err_at(
                        t.span().start,
                        "tenants",
                        format!(
                            "{:?} is not a tenant id (a GUID like aaaabbbb-0000-cccc-1111-dddd2222eeee)",
                            t.get_ref()
                        ),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn algorithms(&self) -> Result<Option<Vec<Algorithm>>, ConfigError> {
        let Some(list) = &self.raw.algorithms else {
            return Ok(None);
        };
        list.iter()
            .map(|a| {
                Algorithm::from_name(a.get_ref()).ok_or_else(|| {
                    self.err_at(a.span().start, "algorithms", format!("unknown algorithm {:?}", a.get_ref()))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A builder with every setting of the file applied. The caller may add more
    /// (issuers from the environment, a clock) before building.
    pub fn builder(&self) -> Result<GuardBuilder, ConfigError> {
        let mut b = GuardBuilder::default().policy(self.policy()?).challenge_style(self.challenge_style()?);
        if let Some(algs) = self.algorithms()? {
            b = b.algorithms(algs);
        }
        if let Some(tenants) = self.tenants()? {
            b = b.tenants(tenants);
        }
        if let Some(l) = &self.raw.leeway {
            b = b.leeway(l.get_ref().0);
        }
        if let Some(l) = self.raw.max_token_lifetime {
            b = b.max_token_lifetime(l.0);
        }
        if let Some(n) = self.raw.max_header_bytes {
            b = b.max_header_bytes(n);
        }
        if let Some(n) = self.raw.token_cache_capacity {
            b = b.token_cache_capacity(n);
        }
        if let Some(p) = &self.raw.paths {
            b = b.path_rules(PathRules::default().allow_encoded_slash(p.allow_encoded_slash));
        }
        if let Some(name) = &self.raw.compliance_header {
            b = b.compliance_header(name.clone());
        }
        b = b.audiences(self.raw.audiences.iter().cloned());
        if let Some(c) = &self.raw.challenge {
            if let Some(r) = &c.realm {
                b = b.realm(r.clone());
            }
            if let Some(a) = &c.acr_values {
                b = b.step_up_acr_values(a.clone());
            }
            if let (Some(uri), Some(ctx)) = (&c.authorization_uri, &c.auth_context) {
                b = b.entra_claims(uri.clone(), ctx.clone());
            }
        }
        for spanned in &self.raw.issuers {
            let at = spanned.span().start;
            let issuer = spanned.get_ref();
            let keys = self.key_source(issuer, at)?;
            b = match &issuer.issuer {
                Some(iss) => b.issuer(iss.clone()).keys(keys),
                None if issuer.discovery_url.is_some() => b.issuer_from_keys(keys),
                None => {
                    return Err(self.err_at(
                        at,
                        "issuers.issuer",
                        "this issuer needs an `issuer` string (only discovery_url can declare one)",
                    ));
                }
            };
        }
        Ok(b)
    }

    /// The remote key source options of the `[keys]` table.
    pub fn remote_options(&self) -> RemoteOptions {
        let mut o = RemoteOptions::new();
        let Some(k) = &self.raw.keys else { return o };
        if let Some(v) = k.connect_timeout {
            o = o.connect_timeout(v.0);
        }
        if let Some(v) = k.timeout {
            o = o.timeout(v.0);
        }
        if let Some(v) = k.max_response_bytes {
            o = o.max_response_bytes(v);
        }
        if let Some(v) = k.default_max_age {
            o = o.default_max_age(v.0);
        }
        if k.min_max_age.is_some() || k.max_max_age.is_some() {
            let d = RemoteOptions::new();
            o = o.max_age_bounds(
                k.min_max_age.map_or(d.min_max_age, |v| v.0),
                k.max_max_age.map_or(d.max_max_age, |v| v.0),
            );
        }
        if let Some(v) = k.unknown_kid_cooldown {
            o = o.unknown_kid_cooldown(v.0);
        }
        if let Some(v) = k.stale_if_error {
            o = o.stale_if_error(v.0);
        }
        o
    }

    fn key_source(&self, issuer: &RawIssuer, at: usize) -> Result<KeySource, ConfigError> {
        let sources = [&issuer.jwks_url, &issuer.discovery_url, &issuer.jwks_file, &issuer.jwks];
        if sources.iter().filter(|s| s.is_some()).count() != 1 {
            return Err(self.err_at(
                at,
                "issuers",
                "each issuer needs exactly one of `jwks_url`, `discovery_url`, `jwks_file` or `jwks`",
            ));
        }
        let remote = |source: KeySource, key: &str| match source.error() {
            Some(e) => Err(self.err_at(at, key, e.to_owned())),
            None => Ok(source),
        };
        if let Some(url) = &issuer.jwks_url {
            return remote(KeySource::jwks_url_with(url, self.remote_options()), "issuers.jwks_url");
        }
        if let Some(url) = &issuer.discovery_url {
            return remote(KeySource::discovery_with(url, self.remote_options()), "issuers.discovery_url");
        }
        match (&issuer.jwks_file, &issuer.jwks) {
            (Some(file), None) => {
                let path = match &self.base_dir {
                    Some(dir) if Path::new(file).is_relative() => dir.join(file),
                    _ => PathBuf::from(file),
                };
                KeySource::jwks_file(&path).map_err(|e| self.err_at(at, "issuers.jwks_file", e.to_string()))
            }
            (None, Some(json)) => KeySource::jwks_json(json.as_bytes())
                .map_err(|e| self.err_at(at, "issuers.jwks", e.to_string())),
            _ => Err(self.err_at(at, "issuers", "each issuer needs exactly one of `jwks_file` or `jwks`")),
        }
    }
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
