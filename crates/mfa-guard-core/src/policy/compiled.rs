//! A policy compiled for the hot path: patterns parsed, rules sorted most specific
//! first, roles as bit sets; and how a request's rule is selected.

use std::sync::Arc;

use super::routes::PathPattern;
use super::{Access, Callers, MAX_ROLES, MfaPolicy, Mode, Policy, Requirement, Role, RoleMap, RoleSet};

impl Policy {
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
                confusable: pattern.confusable_form(),
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
            confusable: PathPattern::Prefix(String::new()),
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
        checks: req.checks.clone(),
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
    pub(crate) checks: Vec<super::requirement::ClaimCheck>,
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
impl CompiledPolicy {
    /// A rule applying `requirement` to every path (for requirements attached to a
    /// route by the application rather than looked up in the table).
    pub(crate) fn fixed_rule(&self, requirement: &Requirement, label: &str) -> Result<CompiledRule, String> {
        Ok(CompiledRule {
            pattern: PathPattern::Prefix(String::new()),
            confusable: PathPattern::Prefix(String::new()),
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

    /// Whether a modelled reader could route `path` (as the router reads it) to a
    /// rule whose pattern the path does not match: a rule's pattern matches the
    /// path's [confusable key](crate::path::confusable_key) but not the path. Every
    /// rule is looked at, whatever its methods, so a method cannot hide one.
    pub(crate) fn confusable(&self, path: &str) -> bool {
        let key = crate::path::confusable_key(path);
        self.rules.iter().any(|r| r.confusable.matches(&key) && !r.pattern.matches(path))
    }
}
