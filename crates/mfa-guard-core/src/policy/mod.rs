//! Route rules and what they require: access level, caller kinds, MFA, roles, and
//! the application's own claim checks.
//!
//! Checks run in this order (the token's validity is settled before): caller kind
//! allowed → MFA → roles → claim checks. The module holds the authoring types
//! ([`Policy`], [`Rule`], [`Requirement`] and the enums below), their compilation
//! (`compiled.rs`: patterns parsed, rules sorted, roles as bit sets, a request's rule
//! selected) and the decision (`decide.rs`).

mod assurance;
mod compiled;
mod decide;
mod error;
mod mfa;
mod presets;
mod requirement;
mod role_index;
mod roles;
mod route_index;
mod routes;
mod rule;

pub use assurance::{AssuranceLevel, BASE_LEVEL, MAX_LEVELS};
pub(crate) use assurance::{Levels, Rank};
pub(crate) use compiled::{CompiledPolicy, CompiledRule};
pub(crate) use decide::fresh;
pub(crate) use decide::{Compliance, Subject};
pub use error::{ChallengeProblem, PatternProblem, PolicyError, RuleName};
pub use mfa::{MfaEvidence, MfaPolicy};
pub use presets::Area;
pub use requirement::Requirement;
pub use roles::{MAX_ROLES, Role, RoleMap, RoleMatcher, wids};
pub(crate) use roles::{ResolvedRoles, RoleSet};
pub use rule::{Policy, Rule};

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

#[cfg(test)]
mod tests;
