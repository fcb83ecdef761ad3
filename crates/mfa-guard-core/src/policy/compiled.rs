//! A policy compiled for the hot path: patterns parsed, rules sorted most specific
//! first, roles as bit sets, assurance levels as ranks, each rule's challenge
//! settings resolved; and how a request's rule is selected (through a
//! [`RouteIndex`], never by trying every rule).

use std::sync::Arc;

use super::error::{PolicyError, RuleName};
use super::role_index::RoleIndex;
use super::route_index::RouteIndex;
use super::routes::PathPattern;
use super::{
    Access, Callers, Levels, MAX_ROLES, MfaPolicy, Mode, Policy, Rank, Requirement, Role, RoleMap, RoleSet,
};
use crate::rejection::{Ask, Challenges};

impl Policy {
    /// Compiles the policy with the guard's default challenge settings (Partner
    /// Center's answer, no realm: for tools that only decide).
    pub(crate) fn compile(&self) -> Result<CompiledPolicy, PolicyError> {
        self.compile_with(&Challenges::default())
    }

    /// Compiles the policy; each rule's challenge settings are `defaults` with the
    /// rule's own challenge, freshness and assurance level.
    pub(crate) fn compile_with(&self, defaults: &Challenges) -> Result<CompiledPolicy, PolicyError> {
        if self.roles.len() > MAX_ROLES {
            return Err(PolicyError::TooManyRoles { count: self.roles.len() });
        }
        let levels = Levels::compile(&self.mfa, &self.levels)?;
        let compiler = RuleCompiler {
            roles: &self.roles,
            levels: &levels,
            mfa: &self.mfa,
            default_mode: self.default_mode,
            defaults,
            shared: Arc::new(defaults.clone()),
        };
        let mut rules = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let pattern = PathPattern::parse(&rule.pattern)?;
            for m in &rule.methods {
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(PolicyError::Method { route: rule.pattern.clone(), method: m.clone() });
                }
            }
            let context = RuleName::Route(rule.pattern.clone());
            let label = rule.name.clone().unwrap_or_else(|| rule.pattern.clone());
            rules.push(compiler.rule(pattern, rule.methods.clone(), &rule.requirement, &context, &label)?);
        }
        // Most specific first; a stable sort keeps the order of equal rules.
        rules.sort_by(|a, b| {
            let (la, ea) = a.pattern.specificity();
            let (lb, eb) = b.pattern.specificity();
            (lb, eb, !b.methods.is_empty()).cmp(&(la, ea, !a.methods.is_empty()))
        });
        let fallback = compiler.rule(
            PathPattern::Prefix(String::new()),
            Vec::new(),
            &self.fallback,
            &RuleName::Fallback,
            "fallback",
        )?;
        let defaults = compiler.shared;
        Ok(CompiledPolicy {
            index: RouteIndex::new(rules.iter().map(|r| &r.pattern)),
            confusable_index: RouteIndex::new(rules.iter().map(|r| &r.confusable)),
            rules,
            fallback,
            role_index: RoleIndex::new(&self.roles),
            roles: Arc::new(self.roles.clone()),
            mfa: self.mfa.clone(),
            levels,
            default_mode: self.default_mode,
            defaults,
        })
    }
}

/// What compiling one rule needs of its policy.
struct RuleCompiler<'p> {
    roles: &'p RoleMap,
    levels: &'p Levels,
    mfa: &'p MfaPolicy,
    default_mode: Mode,
    defaults: &'p Challenges,
    /// The defaults, shared by every rule that changes nothing of them.
    shared: Arc<Challenges>,
}

impl RuleCompiler<'_> {
    fn rule(
        &self,
        pattern: PathPattern,
        methods: Vec<String>,
        req: &Requirement,
        context: &RuleName,
        label: &str,
    ) -> Result<CompiledRule, PolicyError> {
        let requirement = self.requirement(req, context)?;
        let changes_nothing = req.challenge.is_none() && req.max_age.is_none() && requirement.level == 0;
        let challenges = if changes_nothing {
            Arc::clone(&self.shared)
        } else {
            // A level above the base one is asked for with its own evidence.
            let ask = (requirement.level > 0).then(|| {
                let mut ask = Ask::default();
                for evidence in self.levels.evidence_of(requirement.level) {
                    ask.acr_values.extend(evidence.acr().iter().map(|v| &**v));
                    ask.auth_context = ask.auth_context.or(evidence.acrs().first().map(|v| &**v));
                }
                ask
            });
            let resolved = self
                .defaults
                .for_rule(req.challenge.as_ref(), requirement.max_age, ask)
                .map_err(|problem| PolicyError::Challenge { rule: context.clone(), problem })?;
            Arc::new(resolved)
        };
        Ok(CompiledRule {
            confusable: pattern.confusable_form(),
            pattern,
            methods,
            requirement,
            label: label.into(),
            counters: Default::default(),
            challenges,
        })
    }

    fn requirement(&self, req: &Requirement, context: &RuleName) -> Result<CompiledRequirement, PolicyError> {
        let mut set = RoleSet::EMPTY;
        for role in &req.roles {
            let i = self
                .roles
                .index_of(role)
                .ok_or_else(|| PolicyError::UnknownRole { rule: context.clone(), role: role.clone() })?;
            set.insert(i);
        }
        let level = match &req.assurance {
            None => 0,
            Some(name) => self.levels.rank(name).ok_or_else(|| PolicyError::UnknownLevel {
                rule: context.clone(),
                level: name.to_string(),
                defined: self.levels.names().iter().map(|n| n.to_string()).collect(),
            })?,
        };
        Ok(CompiledRequirement {
            mode: req.mode.unwrap_or(self.default_mode),
            enforce_from: req.enforce_from,
            access: req.access,
            callers: req.callers,
            roles: set,
            role_names: req.roles.clone(),
            checks: req.checks.clone(),
            level,
            max_age: req.max_age.or(self.mfa.max_age_secs()),
        })
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRequirement {
    pub(crate) mode: Mode,
    pub(crate) enforce_from: Option<i64>,
    pub(crate) access: Access,
    pub(crate) callers: Callers,
    pub(crate) roles: RoleSet,
    pub(crate) role_names: Vec<Role>,
    pub(crate) checks: Vec<super::requirement::ClaimCheck>,
    /// The assurance level required of users where MFA is (its rank).
    pub(crate) level: Rank,
    /// The freshness required where MFA is: the rule's, else the MFA policy's.
    pub(crate) max_age: Option<u64>,
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
    /// The pattern as the most lenient reader reads it ([`crate::path::confusable_key`]).
    confusable: PathPattern,
    methods: Vec<String>,
    pub(crate) requirement: CompiledRequirement,
    pub(crate) label: Arc<str>,
    pub(crate) counters: crate::metrics::RuleCounters,
    /// How this rule's refusals ask for more.
    pub(crate) challenges: Arc<Challenges>,
}

impl CompiledRule {
    /// Whether the rule lets anyone through without a token.
    pub(crate) fn is_public(&self) -> bool {
        self.requirement.access == Access::Public
    }

    /// The path pattern.
    pub(crate) fn pattern(&self) -> &PathPattern {
        &self.pattern
    }

    /// The methods (empty: all).
    pub(crate) fn methods(&self) -> &[String] {
        &self.methods
    }

    fn admits_method(&self, method: &str) -> bool {
        self.methods.is_empty()
            || self.methods.iter().any(|m| m == method || (method == "HEAD" && m == "GET"))
    }
}

#[derive(Debug)]
pub(crate) struct CompiledPolicy {
    /// Most specific first: the order in which rules are tried.
    rules: Vec<CompiledRule>,
    /// The rules by their patterns' literal parts.
    index: RouteIndex,
    /// The rules by their patterns' confusable forms.
    confusable_index: RouteIndex,
    fallback: CompiledRule,
    pub(crate) roles: Arc<RoleMap>,
    /// The role map by claim value: how a token's roles are resolved.
    pub(crate) role_index: RoleIndex,
    pub(crate) mfa: MfaPolicy,
    pub(crate) levels: Levels,
    default_mode: Mode,
    /// The guard's challenge settings, for rules compiled later ([`Self::fixed_rule`]).
    defaults: Arc<Challenges>,
}
impl CompiledPolicy {
    /// A rule applying `requirement` to every path (for requirements attached to a
    /// route by the application rather than looked up in the table).
    pub(crate) fn fixed_rule(
        &self,
        requirement: &Requirement,
        label: &str,
    ) -> Result<CompiledRule, PolicyError> {
        let compiler = RuleCompiler {
            roles: &self.roles,
            levels: &self.levels,
            mfa: &self.mfa,
            default_mode: self.default_mode,
            defaults: &self.defaults,
            shared: Arc::clone(&self.defaults),
        };
        let context = RuleName::Attached(label.to_owned());
        compiler.rule(PathPattern::Prefix(String::new()), Vec::new(), requirement, &context, label)
    }

    /// Every rule in the order a request tries them, the fallback last.
    pub(crate) fn rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().chain([&self.fallback])
    }

    /// The rule of `method` on `path`, the path as the router reads it.
    pub(crate) fn select(&self, method: &str, path: &str) -> &CompiledRule {
        self.index
            .matching(path)
            .map(|i| &self.rules[i])
            .find(|r| r.admits_method(method))
            .unwrap_or(&self.fallback)
    }

    /// Whether a modelled reader could route `path` (as the router reads it) to a
    /// rule whose pattern the path does not match: a rule's pattern matches the
    /// path's [confusable key](crate::path::confusable_key) but not the path. Every
    /// rule is looked at, whatever its methods, so a method cannot hide one.
    pub(crate) fn confusable(&self, path: &str) -> bool {
        let key = crate::path::confusable_key(path);
        self.confusable_index.matching(&key).any(|i| !self.rules[i].pattern.matches(path))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The selection as it was before the index: the first rule of the sorted list
    /// that admits the method and matches the path. The index must agree with it.
    fn select_by_scan<'p>(policy: &'p CompiledPolicy, method: &str, path: &str) -> &'p CompiledRule {
        policy
            .rules
            .iter()
            .find(|r| r.admits_method(method) && r.pattern.matches(path))
            .unwrap_or(&policy.fallback)
    }

    /// The confusable check as it was before the index: every rule looked at.
    fn confusable_by_scan(policy: &CompiledPolicy, path: &str) -> bool {
        let key = crate::path::confusable_key(path);
        policy.rules.iter().any(|r| r.confusable.matches(&key) && !r.pattern.matches(path))
    }

    /// Segments chosen to collide: shared prefixes, case, dots, suffixes, escapes,
    /// `;` parameters and empty segments.
    fn segment() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a", "b", "ab", "A", "a.json", "a.", "%61", "a;x", "", "x", "..", "%2e", "C",
        ])
    }

    fn pattern() -> impl Strategy<Value = String> {
        (prop::collection::vec(segment(), 0..4), any::<bool>()).prop_map(|(segments, prefix)| {
            let literal: String = segments.iter().map(|s| format!("/{s}")).collect();
            match (literal.is_empty(), prefix) {
                (_, true) => format!("{literal}/*"),
                (true, false) => "/".to_owned(),
                (false, false) => literal,
            }
        })
    }

    fn methods() -> impl Strategy<Value = Vec<&'static str>> {
        prop::sample::subsequence(vec!["GET", "POST", "HEAD", "DELETE"], 0..=2)
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::collection::vec(segment(), 0..6)
                .prop_map(|segments| segments.iter().map(|s| format!("/{s}")).collect::<String>()),
            1 => "[ -~]{0,12}",
        ]
    }

    fn method() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["GET", "HEAD", "POST", "DELETE", "PUT"])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn the_route_index_selects_the_rule_the_scan_of_the_sorted_rules_selects(
            rules in prop::collection::vec((pattern(), methods()), 0..24),
            requests in prop::collection::vec((method(), path()), 1..24),
        ) {
            let mut policy = Policy::new().fallback(Requirement::public());
            for (i, (pattern, methods)) in rules.iter().enumerate() {
                let rule = super::super::Rule::new(pattern, Requirement::authenticated())
                    .methods(methods)
                    .name(format!("rule {i}"));
                policy = policy.rule(rule);
            }
            let compiled = policy.compile().unwrap();
            for (method, path) in &requests {
                let indexed = compiled.select(method, path);
                let scanned = select_by_scan(&compiled, method, path);
                prop_assert!(
                    std::ptr::eq(indexed, scanned),
                    "{method} {path:?}: index chose {:?}, scan chose {:?}",
                    indexed.label,
                    scanned.label
                );
                prop_assert_eq!(compiled.confusable(path), confusable_by_scan(&compiled, path), "{:?}", path);
            }
        }
    }

    #[test]
    fn the_index_prefers_the_longest_literal_then_exact_then_named_methods_then_order_written() {
        let policy = Policy::new()
            .rule(super::super::Rule::new("/*", Requirement::authenticated()).name("root"))
            .rule(super::super::Rule::new("/a/*", Requirement::authenticated()).name("a any"))
            .rule(
                super::super::Rule::new("/a/*", Requirement::authenticated())
                    .methods(["POST"])
                    .name("a post"),
            )
            .rule(
                super::super::Rule::new("/a/*", Requirement::authenticated())
                    .methods(["PUT", "POST"])
                    .name("a put"),
            )
            .rule(super::super::Rule::new("/a", Requirement::authenticated()).name("a exact"))
            .rule(
                super::super::Rule::new("/a/b/*", Requirement::authenticated())
                    .methods(["GET"])
                    .name("ab get"),
            )
            .compile()
            .unwrap();
        let chosen = |method: &str, path: &str| policy.select(method, path).label.to_string();
        assert_eq!(chosen("GET", "/a"), "a exact");
        assert_eq!(chosen("POST", "/a/x"), "a post");
        assert_eq!(chosen("PUT", "/a/x"), "a put");
        assert_eq!(chosen("GET", "/a/x"), "a any");
        assert_eq!(chosen("HEAD", "/a/b/c"), "ab get");
        assert_eq!(chosen("POST", "/a/b/c"), "a post");
        assert_eq!(chosen("GET", "/b"), "root");
        assert_eq!(chosen("GET", "no-slash"), "fallback");
    }
}
