//! Route rules and what they require: access level, caller kinds, MFA, roles.
//!
//! Checks run in the order of DESIGN §4 (the token's validity is settled before):
//! caller kind allowed → MFA → roles.

mod mfa;
mod presets;
mod roles;
mod routes;

pub use mfa::{MfaEvidence, MfaPolicy};
pub use presets::Area;
pub use roles::{MAX_ROLES, Role, RoleMap, RoleMatcher, wids};
pub(crate) use roles::{ResolvedRoles, RoleSet};

use std::sync::Arc;

use routes::PathPattern;

use crate::claims::CallerKind;
use crate::rejection::{Refusal, RejectionCode};

/// How much a route asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Anyone, no token needed. A valid token, if sent, still yields a principal.
    Public,
    /// Any valid token.
    Authenticated,
    /// A valid token; user callers must have done MFA.
    Mfa,
}

/// Which kinds of caller a route admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Callers {
    /// Only App+User tokens; app-only tokens are refused with `app_only_not_allowed`.
    Users,
    /// App+User and app-only tokens (app-only callers have no user, so no MFA to check).
    UsersAndApps,
}

/// Whether a route's policy refusals are sent or only reported.
///
/// Token validity is never report-only: a missing, invalid, expired or unverifiable
/// token is refused in every mode. Report-only applies to the policy refusals —
/// `mfa_required`, `insufficient_role`, `groups_overage`, `app_only_not_allowed` —
/// which are then recorded on the [`Principal`](crate::Principal) and counted, and
/// the request goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Refuse (the default).
    #[default]
    Enforce,
    /// Let through, record what would have been refused.
    ReportOnly,
}

impl Mode {
    /// `enforce` or `report-only`, as in configuration and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::ReportOnly => "report-only",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "enforce" => Some(Mode::Enforce),
            "report-only" => Some(Mode::ReportOnly),
            _ => None,
        }
    }
}

/// What a route requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    access: Access,
    callers: Callers,
    roles: Vec<Role>,
    mode: Option<Mode>,
    enforce_from: Option<i64>,
}

impl Requirement {
    /// Anyone, no token needed.
    pub fn public() -> Self {
        Self {
            access: Access::Public,
            callers: Callers::UsersAndApps,
            roles: Vec::new(),
            mode: None,
            enforce_from: None,
        }
    }

    /// Any valid token, user or app, no MFA.
    pub fn authenticated() -> Self {
        Self {
            access: Access::Authenticated,
            callers: Callers::UsersAndApps,
            roles: Vec::new(),
            mode: None,
            enforce_from: None,
        }
    }

    /// A user token with MFA (app-only tokens refused; see [`allow_apps`](Self::allow_apps)).
    pub fn mfa() -> Self {
        Self {
            access: Access::Mfa,
            callers: Callers::Users,
            roles: Vec::new(),
            mode: None,
            enforce_from: None,
        }
    }

    /// Admits app-only callers too.
    #[must_use]
    pub fn allow_apps(mut self) -> Self {
        self.callers = Callers::UsersAndApps;
        self
    }

    /// Admits only App+User callers.
    #[must_use]
    pub fn users_only(mut self) -> Self {
        self.callers = Callers::Users;
        self
    }

    /// Requires any one of these roles.
    #[must_use]
    pub fn any_role<I: IntoIterator<Item = Role>>(mut self, roles: I) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }

    /// Sets the mode of this requirement (default: the policy's default mode).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Report-only: policy refusals are recorded, not sent.
    #[must_use]
    pub fn report_only(self) -> Self {
        self.mode(Mode::ReportOnly)
    }

    /// Report-only before `unix_seconds`, enforced from it: a rollout date in
    /// configuration rather than in a deploy. Overrides [`mode`](Self::mode).
    #[must_use]
    pub fn enforce_from(mut self, unix_seconds: i64) -> Self {
        self.enforce_from = Some(unix_seconds);
        self
    }

    /// The mode set on this requirement, if any.
    pub fn mode_setting(&self) -> Option<Mode> {
        self.mode
    }

    /// The enforcement date, seconds since the epoch, if any.
    pub fn enforce_from_unix(&self) -> Option<i64> {
        self.enforce_from
    }

    /// The access level.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The callers admitted.
    pub fn callers(&self) -> Callers {
        self.callers
    }

    /// The roles of which one is required (none: no role needed).
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }
}

/// A route rule: a path pattern, optionally methods, and its requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pattern: String,
    methods: Vec<String>,
    requirement: Requirement,
    name: Option<String>,
}

impl Rule {
    /// A rule for `pattern` (`/exact` or `/prefix/*`), all methods.
    pub fn new(pattern: impl Into<String>, requirement: Requirement) -> Self {
        Self { pattern: pattern.into(), methods: Vec::new(), requirement, name: None }
    }

    /// Restricts the rule to these methods. A rule for `GET` also covers `HEAD`,
    /// because routers answer `HEAD` with the `GET` handler.
    #[must_use]
    pub fn methods<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.methods = methods.into_iter().map(|m| m.as_ref().to_ascii_uppercase()).collect();
        self
    }

    /// A name for the rule (used in logs and metrics instead of the pattern).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The methods (empty: all).
    pub fn method_list(&self) -> &[String] {
        &self.methods
    }

    /// The requirement.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// The configured name, if any.
    pub fn rule_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// Route rules, the requirement of unmatched routes, the role map and MFA rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    rules: Vec<Rule>,
    fallback: Requirement,
    roles: RoleMap,
    mfa: MfaPolicy,
    default_mode: Mode,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy {
    /// No rules; every route needs a valid token; the Partner Center role map;
    /// MFA is `amr` ∋ `mfa`.
    pub fn new() -> Self {
        Self {
            rules: Vec::new(),
            fallback: Requirement::authenticated(),
            roles: RoleMap::partner_center(),
            mfa: MfaPolicy::default(),
            default_mode: Mode::Enforce,
        }
    }

    /// Adds a rule for `pattern`, all methods.
    #[must_use]
    pub fn route(self, pattern: impl Into<String>, requirement: Requirement) -> Self {
        self.rule(Rule::new(pattern, requirement))
    }

    /// Adds a rule; it replaces an earlier rule with the same pattern and methods.
    #[must_use]
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.retain(|r| !(r.pattern == rule.pattern && r.methods == rule.methods));
        self.rules.push(rule);
        self
    }

    /// The requirement of paths no rule matches.
    #[must_use]
    pub fn fallback(mut self, requirement: Requirement) -> Self {
        self.fallback = requirement;
        self
    }

    /// Replaces the role map.
    #[must_use]
    pub fn role_map(mut self, roles: RoleMap) -> Self {
        self.roles = roles;
        self
    }

    /// Replaces the MFA rules.
    #[must_use]
    pub fn mfa(mut self, mfa: MfaPolicy) -> Self {
        self.mfa = mfa;
        self
    }

    /// The mode of requirements that set none (default: enforce).
    #[must_use]
    pub fn default_mode(mut self, mode: Mode) -> Self {
        self.default_mode = mode;
        self
    }

    /// The default mode.
    pub fn default_mode_setting(&self) -> Mode {
        self.default_mode
    }

    /// The rules, in the order added.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The requirement of unmatched paths.
    pub fn fallback_requirement(&self) -> &Requirement {
        &self.fallback
    }

    /// The role map.
    pub fn roles(&self) -> &RoleMap {
        &self.roles
    }

    /// The MFA rules.
    pub fn mfa_policy(&self) -> &MfaPolicy {
        &self.mfa
    }

    pub(crate) fn compile(&self) -> Result<CompiledPolicy, String> {
        if self.roles.len() > MAX_ROLES {
            return Err(format!(
                "the role map defines {} roles; at most {MAX_ROLES} are supported",
                self.roles.len()
            ));
        }
        let requirement = |req: &Requirement, context: &str| {
            compile_requirement(&self.roles, req, context, self.default_mode)
        };
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let pattern = PathPattern::parse(&rule.pattern)?;
            for m in &rule.methods {
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(format!("route {} names an invalid method {m:?}", rule.pattern));
                }
            }
            let context = format!("route {}", rule.pattern);
            rules.push(CompiledRule {
                pattern,
                methods: rule.methods.clone(),
                requirement: requirement(&rule.requirement, &context)?,
                label: rule.name.clone().unwrap_or_else(|| rule.pattern.clone()).into(),
                counters: Default::default(),
            });
        }
        // Most specific first; a stable sort keeps the order of equal rules.
        rules.sort_by(|a, b| {
            let (la, ea) = a.pattern.specificity();
            let (lb, eb) = b.pattern.specificity();
            (lb, eb, !b.methods.is_empty()).cmp(&(la, ea, !a.methods.is_empty()))
        });
        let fallback = CompiledRule {
            pattern: PathPattern::Prefix(String::new()),
            methods: Vec::new(),
            requirement: requirement(&self.fallback, "the fallback rule")?,
            label: "fallback".into(),
            counters: Default::default(),
        };
        Ok(CompiledPolicy {
            rules,
            fallback,
            roles: Arc::new(self.roles.clone()),
            mfa: self.mfa.clone(),
            default_mode: self.default_mode,
        })
    }
}

fn compile_requirement(
    roles: &RoleMap,
    req: &Requirement,
    context: &str,
    default_mode: Mode,
) -> Result<CompiledRequirement, String> {
    let mut set = RoleSet::EMPTY;
    for role in &req.roles {
        let i = roles
            .index_of(role)
            .ok_or_else(|| format!("{context} requires role {role}, which the role map does not define"))?;
        set.insert(i);
    }
    Ok(CompiledRequirement {
        mode: req.mode.unwrap_or(default_mode),
        enforce_from: req.enforce_from,
        access: req.access,
        callers: req.callers,
        roles: set,
        role_names: req.roles.clone(),
    })
}

#[derive(Debug)]
pub(crate) struct CompiledRequirement {
    pub(crate) mode: Mode,
    pub(crate) enforce_from: Option<i64>,
    pub(crate) access: Access,
    pub(crate) callers: Callers,
    pub(crate) roles: RoleSet,
    pub(crate) role_names: Vec<Role>,
}

impl CompiledRequirement {
    /// The mode at `now`: an enforcement date decides when set.
    pub(crate) fn effective_mode(&self, now: i64) -> Mode {
        match self.enforce_from {
            Some(from) if now < from => Mode::ReportOnly,
            Some(_) => Mode::Enforce,
            None => self.mode,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pattern: PathPattern,
    methods: Vec<String>,
    pub(crate) requirement: CompiledRequirement,
    pub(crate) label: Arc<str>,
    pub(crate) counters: crate::metrics::RuleCounters,
}

impl CompiledRule {
    /// Whether the rule lets anyone through without a token.
    pub(crate) fn is_public(&self) -> bool {
        self.requirement.access == Access::Public
    }

    fn admits_method(&self, method: &str) -> bool {
        self.methods.is_empty()
            || self.methods.iter().any(|m| m == method || (method == "HEAD" && m == "GET"))
    }
}

#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    rules: Vec<CompiledRule>,
    fallback: CompiledRule,
    pub(crate) roles: Arc<RoleMap>,
    pub(crate) mfa: MfaPolicy,
    default_mode: Mode,
}

/// What the route policy decided for a verified caller.
#[derive(Debug)]
pub(crate) struct Decision {
    /// The refusal to send.
    pub(crate) refusal: Option<Refusal>,
    /// A refusal report-only mode let through.
    pub(crate) reported: Option<Refusal>,
    /// The mode that applied.
    pub(crate) mode: Mode,
}

/// What the route policy reads of a token, resolved once per token (and kept in
/// the verified-token cache): its roles under the role map, its MFA evidence (users
/// only), its `auth_time`. The guard and `inspect` both get them here.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) roles: ResolvedRoles,
    pub(crate) mfa: Option<MfaEvidence>,
    pub(crate) auth_time: Option<i64>,
}

impl CompiledPolicy {
    /// The facts of a token of caller `kind`.
    pub(crate) fn facts(&self, claims: &crate::claims::Claims, kind: CallerKind) -> Facts {
        Facts {
            roles: self.roles.resolve(claims),
            mfa: if kind == CallerKind::User { self.mfa.evidence(claims) } else { None },
            auth_time: claims.auth_time().map(|t| t.unix()),
        }
    }
}

/// What route policy looks at: the caller, its MFA evidence, its claims (for
/// freshness) and its resolved roles. Built from a verified token, or from an
/// unverified one by tools that explain a verdict.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject {
    pub(crate) kind: CallerKind,
    pub(crate) mfa: bool,
    pub(crate) auth_time: Option<i64>,
    pub(crate) roles: ResolvedRoles,
}

impl CompiledPolicy {
    /// A rule applying `requirement` to every path (for requirements attached to a
    /// route by the application rather than looked up in the table).
    pub(crate) fn fixed_rule(&self, requirement: &Requirement, label: &str) -> Result<CompiledRule, String> {
        Ok(CompiledRule {
            pattern: PathPattern::Prefix(String::new()),
            methods: Vec::new(),
            requirement: compile_requirement(&self.roles, requirement, label, self.default_mode)?,
            label: label.into(),
            counters: Default::default(),
        })
    }

    /// The rule of `method` on `path`, the path as the router reads it.
    pub(crate) fn select(&self, method: &str, path: &str) -> &CompiledRule {
        self.rules
            .iter()
            .find(|r| r.admits_method(method) && r.pattern.matches(path))
            .unwrap_or(&self.fallback)
    }

    /// What `rule` decides for a verified caller at `now`.
    pub(crate) fn authorize(&self, rule: &CompiledRule, token: &Subject, now: i64) -> Decision {
        let mode = rule.requirement.effective_mode(now);
        match self.authorize_rule(&rule.requirement, token, now) {
            Ok(()) => Decision { refusal: None, reported: None, mode },
            Err(refusal) if mode == Mode::ReportOnly && refusal.code.is_policy_refusal() => {
                Decision { refusal: None, reported: Some(refusal), mode }
            }
            Err(refusal) => Decision { refusal: Some(refusal), reported: None, mode },
        }
    }

    /// Whether the token satisfied MFA for `rule`: `satisfied` or `missing` where
    /// MFA is required, `not-required` elsewhere, `not-applicable` for app-only
    /// callers (who have no user).
    pub(crate) fn compliance(&self, rule: &CompiledRule, token: &Subject, now: i64) -> &'static str {
        if token.kind == CallerKind::App {
            return "not-applicable";
        }
        if rule.requirement.access != Access::Mfa {
            return "not-required";
        }
        if token.mfa && self.mfa.fresh_at(token.auth_time, now) { "satisfied" } else { "missing" }
    }

    fn authorize_rule(&self, req: &CompiledRequirement, token: &Subject, now: i64) -> Result<(), Refusal> {
        if req.access == Access::Public {
            return Ok(());
        }
        if token.kind == CallerKind::App && req.callers == Callers::Users {
            return Err(Refusal::new(
                RejectionCode::AppOnlyNotAllowed,
                "this operation needs a signed-in user (an App+User token); app-only tokens are not accepted here",
            ));
        }
        if req.access == Access::Mfa && token.kind == CallerKind::User {
            if !token.mfa {
                return Err(Refusal::new(RejectionCode::MfaRequired, self.mfa_missing_detail()));
            }
            if !self.mfa.fresh_at(token.auth_time, now) {
                return Err(Refusal::new(
                    RejectionCode::MfaRequired,
                    "this operation requires a recent multi-factor sign-in; sign in again with MFA",
                ));
            }
        }
        if !req.roles.is_empty() && !token.roles.held.intersects(req.roles) {
            let names = req.role_names.iter().map(Role::name).collect::<Vec<_>>().join(", ");
            if token.roles.unknown.intersects(req.roles) {
                return Err(Refusal::new(
                    RejectionCode::GroupsOverage,
                    format!(
                        "this operation requires one of the roles {names}; the token's group membership did not fit in it (groups overage), so membership is unknown"
                    ),
                ));
            }
            return Err(Refusal::new(
                RejectionCode::InsufficientRole,
                format!("this operation requires one of the roles {names}"),
            ));
        }
        Ok(())
    }

    fn mfa_missing_detail(&self) -> String {
        let amr = self.mfa.accepted_amr().join(" or ");
        format!(
            "this operation requires multi-factor authentication: the access token's amr claim does not contain {amr}; sign in again with MFA"
        )
    }
}

#[cfg(test)]
mod tests;
