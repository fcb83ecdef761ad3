//! From a parsed file to what it configures: the policy, the guard builder, the
//! remote key options. Every error names the key and, where known, its line.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::schema::{RawAccess, RawCallers, RawIssuer, RawRequirement};
use super::source::{IssuerSource, KeyLocation, SourceError};
use super::{Config, ConfigError};
use crate::algorithm::Algorithm;
use crate::guard::GuardBuilder;
use crate::keys::RemoteOptions;
use crate::path::PathRules;
use crate::policy::{BASE_LEVEL, MfaPolicy, Policy, PolicyError, Requirement, Role, RoleMatcher, Rule};
use crate::rejection::{Challenge, ChallengeStyle, InvalidChallenge};
use crate::verify::is_guid;

impl Config {
    /// The route policy the file describes (preset, routes, roles, MFA).
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let raw_policy = self.raw.policy.as_ref();
        let mut policy = match raw_policy.and_then(|p| p.preset.as_ref()) {
            None => Policy::partner_center(),
            Some(p) => match p.get_ref().as_str() {
                "partner-center" => Policy::partner_center(),
                "none" => Policy::new(),
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
        for level in &self.raw.assurance {
            let l = level.get_ref().clone();
            // Checked where it is written (name, evidence), not at the end.
            crate::policy::Levels::compile(policy.mfa_policy(), std::slice::from_ref(&l))
                .map_err(|e| self.err_at(level.span().start, "assurance", e.to_string()).because(e))?;
            policy = policy.assurance_level(l);
        }
        let role_map = policy.roles().clone();
        let level_names: Vec<String> = std::iter::once(BASE_LEVEL.to_owned())
            .chain(self.raw.assurance.iter().map(|l| l.get_ref().name().to_owned()))
            .collect();
        let requirement = |raw: &RawRequirement, key: &str| {
            let mut req = match raw.access {
                RawAccess::Public => Requirement::public(),
                RawAccess::Authenticated => Requirement::authenticated(),
                RawAccess::Mfa => Requirement::mfa(),
            };
            match raw.callers {
                Some(RawCallers::Users) => req = req.users_only(),
                Some(RawCallers::UsersAndApps) => req = req.allow_apps(),
                None => {}
            }
            for r in &raw.roles {
                if role_map.index_of(&Role::from_name(r.get_ref())).is_none() {
                    let name = r.get_ref();
                    let message = match closest(name, role_map.roles().map(Role::name)) {
                        Some(known) => format!(
                            "role {name:?} is not defined; did you mean {known:?}? (else define it under \
                             [roles.{name}])"
                        ),
                        None => format!("role {name:?} is not defined; define it under [roles.{name}]"),
                    };
                    return Err(self.err_at(r.span().start, &format!("{key}.roles"), message));
                }
            }
            if !raw.roles.is_empty() && raw.access == RawAccess::Public {
                return Err(self.err(&format!("{key}.roles"), "a public route cannot require roles"));
            }
            if let Some(m) = raw.mode {
                req = req.mode(m.mode());
            }
            if let Some(ts) = &raw.enforce_from {
                let at = crate::time::parse_rfc3339(&ts.get_ref().0)
                    .map_err(|e| self.err_at(ts.span().start, "enforce_from", e.to_string()))?;
                req = req.enforce_from(at);
            }
            let mfa_key = |name: &str, span: std::ops::Range<usize>| {
                if raw.access == RawAccess::Mfa {
                    Ok(())
                } else {
                    Err(self.err_at(
                        span.start,
                        &format!("{key}.{name}"),
                        format!("{name} applies only where MFA is required: set access = \"mfa\""),
                    ))
                }
            };
            if let Some(level) = &raw.assurance {
                mfa_key("assurance", level.span())?;
                let name = level.get_ref();
                if !level_names.iter().any(|n| n == name) {
                    let hint = match closest(name, level_names.iter().map(String::as_str)) {
                        Some(known) => format!("; did you mean {known:?}?"),
                        None => String::new(),
                    };
                    return Err(self.err_at(
                        level.span().start,
                        &format!("{key}.assurance"),
                        format!(
                            "assurance level {name:?} is not defined (defined: {}){hint}; define it under [[assurance]]",
                            level_names.join(", ")
                        ),
                    ));
                }
                req = req.assurance(name.clone());
            }
            if let Some(max_age) = &raw.max_age {
                mfa_key("max_age", max_age.span())?;
                req = req.max_age(max_age.get_ref().0);
            }
            if let Some(challenge) = &raw.challenge {
                mfa_key("challenge", challenge.span())?;
                let c: Challenge = challenge.get_ref().parse().map_err(|e: InvalidChallenge| {
                    self.err_at(challenge.span().start, &format!("{key}.challenge"), e.to_string()).because(e)
                })?;
                req = req.challenge(c);
            }
            Ok(req.any_role(raw.roles.iter().map(|r| Role::from_name(r.get_ref()))))
        };
        if let Some(m) = raw_policy.and_then(|p| p.default_mode) {
            policy = policy.default_mode(m.mode());
        }
        if let Some(raw) = raw_policy {
            if let Some(f) = &raw.fallback {
                let r = f.get_ref();
                if r.path.is_some() || !r.methods.is_empty() || r.name.is_some() {
                    return Err(self.err_at(
                        f.span().start,
                        "policy.fallback",
                        "the fallback is the rule of every unmatched path: it takes no path, methods or name",
                    ));
                }
                policy = policy.fallback(requirement(r, "policy.fallback")?);
            }
            for route in &raw.routes {
                let r = route.get_ref();
                let Some(path) = &r.path else {
                    return Err(self.err_at(
                        route.span().start,
                        "policy.routes.path",
                        "a route needs a path",
                    ));
                };
                let req = requirement(r, "policy.routes")?;
                let mut rule = Rule::new(path.get_ref().clone(), req).methods(&r.methods);
                if let Some(n) = &r.name {
                    rule = rule.name(n.clone());
                }
                // Validate the pattern, and the route's challenge against its level,
                // where they are written.
                let mut probe = Policy::new().role_map(role_map.clone()).mfa(policy.mfa_policy().clone());
                for l in policy.assurance_levels() {
                    probe = probe.assurance_level(l.clone());
                }
                if let Err(e) = probe.rule(rule.clone()).compile_with(&self.challenges_probe()) {
                    let (at, key) = match e {
                        PolicyError::Challenge { .. } => (
                            r.challenge.as_ref().map_or(path.span(), |c| c.span()),
                            "policy.routes.challenge",
                        ),
                        _ => (path.span(), "policy.routes.path"),
                    };
                    return Err(self.err_at(at.start, key, e.to_string()).because(e));
                }
                policy = policy.rule(rule);
            }
        }
        policy.compile().map_err(|e| self.err("policy", e.to_string()).because(e))?;
        Ok(policy)
    }

    /// The guard-wide challenge settings of the `[challenge]` table, as the defaults
    /// a route's own challenge is checked against while the file is read.
    fn challenges_probe(&self) -> crate::rejection::Challenges {
        let c = self.raw.challenge.as_ref();
        crate::rejection::Challenges {
            style: self.challenge_style().unwrap_or_default(),
            acr_values: c.and_then(|c| c.acr_values.clone()),
            authorization_uri: c.and_then(|c| c.authorization_uri.clone()),
            claims: c
                .and_then(|c| c.auth_context.as_deref())
                .map(crate::rejection::Challenges::entra_claims_for),
            ..Default::default()
        }
    }

    pub(super) fn challenge_style(&self) -> Result<ChallengeStyle, ConfigError> {
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

    pub(super) fn tenants(&self) -> Result<Option<Vec<String>>, ConfigError> {
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

    pub(super) fn algorithms(&self) -> Result<Option<Vec<Algorithm>>, ConfigError> {
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
        let (algorithms, tenants) = (self.algorithms()?, self.tenants()?);
        b = b.verifier(|mut v| {
            if let Some(algs) = algorithms {
                v = v.algorithms(algs);
            }
            if let Some(tenants) = tenants {
                v = v.tenants(tenants);
            }
            if let Some(l) = &self.raw.leeway {
                v = v.leeway(l.get_ref().0);
            }
            if let Some(l) = self.raw.max_token_lifetime {
                v = v.max_token_lifetime(l.0);
            }
            v.audiences(self.raw.audiences.iter().cloned())
        });
        if let Some(n) = self.raw.max_header_bytes {
            b = b.max_header_bytes(n);
        }
        if let Some(n) = self.raw.token_cache_capacity {
            b = b.token_cache_capacity(n);
        }
        if self.raw.paths.is_some() {
            b = b.path_rules(self.path_rules(PathRules::default()));
        }
        if let Some(name) = &self.raw.compliance_header {
            b = b.compliance_header(name.clone());
        }
        if let Some(n) = self.raw.adoption_apps {
            b = b.adoption_apps(n);
        }
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
        let remote = self.remote_options();
        for spanned in &self.raw.issuers {
            let (source, key, at) = self.issuer_source(spanned)?;
            b = source.add_to(b, &remote).map_err(|e| match e {
                SourceError::IssuerNeeded => self.err_at(
                    spanned.span().start,
                    "issuers.issuer",
                    "this issuer needs an `issuer` string (only discovery_url can declare one)",
                ),
                other => self.err_at(at, key, other.to_string()).because(other),
            })?;
        }
        Ok(b)
    }

    /// The path rules of the `[paths]` table, each key set there replacing its
    /// value in `base` (the default rules in-process, the strict ones for
    /// `mfa-guard serve`).
    pub fn path_rules(&self, base: PathRules) -> PathRules {
        let Some(p) = &self.raw.paths else { return base };
        let mut rules = base;
        if let Some(v) = p.allow_encoded_slash {
            rules = rules.allow_encoded_slash(v);
        }
        if let Some(v) = p.refuse_matrix_parameters {
            rules = rules.refuse_matrix_parameters(v);
        }
        if let Some(v) = p.refuse_empty_segments {
            rules = rules.refuse_empty_segments(v);
        }
        if let Some(v) = p.refuse_encoded_unreserved {
            rules = rules.refuse_encoded_unreserved(v);
        }
        if let Some(v) = p.refuse_non_ascii {
            rules = rules.refuse_non_ascii(v);
        }
        if let Some(v) = p.refuse_confusables {
            rules = rules.refuse_confusables(v);
        }
        rules
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

    /// An `[[issuers]]` entry as an [`IssuerSource`], with the key of its key
    /// location and where that is written (for errors at its own line).
    fn issuer_source(
        &self,
        spanned: &Spanned<RawIssuer>,
    ) -> Result<(IssuerSource, &'static str, usize), ConfigError> {
        let issuer = spanned.get_ref();
        let located = [
            issuer
                .jwks_url
                .as_ref()
                .map(|u| ("issuers.jwks_url", u, KeyLocation::JwksUrl(u.get_ref().clone()))),
            issuer
                .discovery_url
                .as_ref()
                .map(|u| ("issuers.discovery_url", u, KeyLocation::Discovery(u.get_ref().clone()))),
            issuer.jwks_file.as_ref().map(|f| {
                let path = match &self.base_dir {
                    Some(dir) if Path::new(f.get_ref()).is_relative() => dir.join(f.get_ref()),
                    _ => PathBuf::from(f.get_ref()),
                };
                ("issuers.jwks_file", f, KeyLocation::JwksFile(path))
            }),
            issuer.jwks.as_ref().map(|j| ("issuers.jwks", j, KeyLocation::Jwks(j.get_ref().clone()))),
        ];
        let mut located = located.into_iter().flatten();
        let (Some((key, value, keys)), None) = (located.next(), located.next()) else {
            return Err(self.err_at(
                spanned.span().start,
                "issuers",
                "each issuer needs exactly one of `jwks_url`, `discovery_url`, `jwks_file` or `jwks`",
            ));
        };
        Ok((IssuerSource::new(issuer.issuer.clone(), keys), key, value.span().start))
    }
}

/// The defined role a misspelt name most likely meant: the same but for letter case,
/// or at most two edits away (one for short names).
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = if name.chars().count() <= 4 { 1 } else { 2 };
    known
        .map(|k| (if k.eq_ignore_ascii_case(name) { 0 } else { edits(name, k) }, k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, counting an exchange of two neighbours as one edit (the
/// usual slip: "AdminAgnet").
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
