//! Errors of building a guard or reading its configuration.

/// What part of the setup is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// An issuer is missing, malformed, or has no key source; or the tenant
    /// allow-list is empty or names something that is not a tenant id.
    Issuer,
    /// No audience, or a malformed one.
    Audience,
    /// The algorithm allow-list is empty or inconsistent with the keys.
    Algorithms,
    /// A key source could not be set up.
    Keys,
    /// A route rule or the role map is invalid.
    Policy,
    /// The challenge style lacks the settings it needs.
    Challenge,
    /// A configuration file is unreadable or invalid.
    Config,
    /// Browser sign-in is misconfigured (redirect URI, session keys...).
    Browser,
}

/// Why a guard could not be built. The message names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BuildError {
    kind: BuildErrorKind,
    message: String,
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// What part of the setup is wrong.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }
}
