//! Why a policy does not compile: which route, which role, which level.

use std::fmt;

use super::{MAX_LEVELS, MAX_ROLES, Role};
pub use crate::rejection::ChallengeProblem;

/// The rule a [`PolicyError`] is about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleName {
    /// A route of the table, by its pattern as written.
    Route(String),
    /// The rule of paths no route matches.
    Fallback,
    /// A requirement attached to routes by the application
    /// ([`Guard::for_requirement`](crate::Guard::for_requirement)), by its label.
    Attached(String),
}

impl fmt::Display for RuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleName::Route(pattern) => write!(f, "route {pattern}"),
            RuleName::Fallback => f.write_str("the fallback rule"),
            RuleName::Attached(label) => f.write_str(label),
        }
    }
}

/// Why a route pattern cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PatternProblem {
    /// It does not start with `/`.
    NotAbsolute,
    /// A `*` other than a final `/*`.
    Wildcard,
    /// A space, a control or a non-ASCII character.
    NotVisibleAscii,
}

/// Why a [`Policy`](super::Policy) does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The role map defines more than [`MAX_ROLES`] roles.
    #[error("the role map defines {count} roles; at most {MAX_ROLES} are supported")]
    TooManyRoles {
        /// How many it defines.
        count: usize,
    },
    /// More than [`MAX_LEVELS`] assurance levels, the base one included.
    #[error("{count} assurance levels are defined; at most {MAX_LEVELS} are supported")]
    TooManyLevels {
        /// How many are defined.
        count: usize,
    },
    /// An assurance level's name is not 1-64 letters, digits, `-`, `_` or `.`.
    #[error("assurance level name {name:?} must be 1-64 letters, digits, '-', '_' or '.'")]
    LevelName {
        /// The name.
        name: String,
    },
    /// An assurance level added under the base level's name.
    #[error(
        "the assurance level {:?} is the MFA policy's own ([mfa] in a file); name a stronger level otherwise",
        super::BASE_LEVEL
    )]
    BaseLevel,
    /// An assurance level that accepts nothing.
    #[error("assurance level {name:?} accepts no amr, acrs or acr value")]
    LevelWithoutEvidence {
        /// The level.
        name: String,
    },
    /// A route pattern that cannot be used.
    #[error("route pattern {pattern:?} {}", match problem {
        PatternProblem::NotAbsolute => "must start with '/'",
        PatternProblem::Wildcard => "may only end in '/*'; '*' elsewhere is not supported",
        PatternProblem::NotVisibleAscii => "must be visible ASCII",
    })]
    Pattern {
        /// The pattern as written.
        pattern: String,
        /// What is wrong with it.
        problem: PatternProblem,
    },
    /// A route names a method that is not letters.
    #[error("route {route} names an invalid method {method:?}")]
    Method {
        /// The route's pattern.
        route: String,
        /// The method as written.
        method: String,
    },
    /// A rule requires a role the role map does not define.
    #[error("{rule} requires role {role}, which the role map does not define")]
    UnknownRole {
        /// The rule.
        rule: RuleName,
        /// The role.
        role: Role,
    },
    /// A rule requires an assurance level the policy does not define.
    #[error(
        "{rule} requires the assurance level {level:?}, which the policy does not define (defined: {})",
        defined.join(", ")
    )]
    UnknownLevel {
        /// The rule.
        rule: RuleName,
        /// The level's name.
        level: String,
        /// The levels the policy defines, weakest first.
        defined: Vec<String>,
    },
    /// A rule's challenge lacks what it needs to ask for more.
    #[error("{rule}: {problem}")]
    Challenge {
        /// The rule.
        rule: RuleName,
        /// What the challenge lacks.
        problem: ChallengeProblem,
    },
}
