//! [`Rule`] and [`Policy`]: route rules, the fallback, the role map and MFA rules,
//! as an application writes them (compiled once when the guard is built).

use super::{MfaPolicy, Mode, Requirement, RoleMap};

/// A route rule: a path pattern, optionally methods, and its requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub(super) pattern: String,
    pub(super) methods: Vec<String>,
    pub(super) requirement: Requirement,
    pub(super) name: Option<String>,
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
    #[cfg(test)]
    pub(crate) fn method_list(&self) -> &[String] {
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
    pub(super) rules: Vec<Rule>,
    pub(super) fallback: Requirement,
    pub(super) roles: RoleMap,
    pub(super) mfa: MfaPolicy,
    pub(super) levels: Vec<super::AssuranceLevel>,
    pub(super) default_mode: Mode,
}

impl Default for Policy {
    fn default() -> Self {
        Self::new()
    }
}

impl Policy {
    /// A neutral policy: no rules, so every route needs a valid token; an empty
    /// role map (a requirement naming a role fails to build until
    /// [`role_map`](Self::role_map) defines it); MFA is `amr` ∋ `mfa`.
    ///
    /// Nothing of Partner Center comes with it: [`Policy::partner_center`] is that
    /// preset, and [`RoleMap::partner_center`] its role map alone.
    pub fn new() -> Self {
        Self {
            rules: Vec::new(),
            fallback: Requirement::authenticated(),
            roles: RoleMap::new(),
            mfa: MfaPolicy::default(),
            levels: Vec::new(),
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

    /// Adds an assurance level, stronger than the base level `mfa` and every level
    /// added before it; adding a name again adds evidence to that level (for
    /// another issuer). Requirements name it with
    /// [`Requirement::assurance`](super::Requirement::assurance).
    #[must_use]
    pub fn assurance_level(mut self, level: super::AssuranceLevel) -> Self {
        self.levels.push(level);
        self
    }

    /// The assurance levels added, weakest first (the base level `mfa` is the MFA
    /// policy's).
    pub(crate) fn assurance_levels(&self) -> &[super::AssuranceLevel] {
        &self.levels
    }

    /// The mode of requirements that set none (default: enforce).
    #[must_use]
    pub fn default_mode(mut self, mode: Mode) -> Self {
        self.default_mode = mode;
        self
    }

    /// The default mode.
    #[cfg(test)]
    pub(crate) fn default_mode_setting(&self) -> Mode {
        self.default_mode
    }

    /// The rules, in the order added.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The requirement of unmatched paths.
    #[cfg(test)]
    pub(crate) fn fallback_requirement(&self) -> &Requirement {
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
}
