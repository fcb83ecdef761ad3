//! [`ConfigError`]: where, which key, what is wrong, and the typed error behind it.

use std::fmt;

use super::source::SourceError;
use crate::policy::PolicyError;
use crate::rejection::InvalidChallenge;

/// Why a configuration could not be used: where, which key, and what is wrong.
///
/// Where a typed error of the library is behind it (a policy that does not compile,
/// a challenge that does not read, an unusable issuer, a browser setting), that
/// error is its [`source`](std::error::Error::source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    origin: String,
    line: Option<usize>,
    key: Option<String>,
    message: String,
    cause: Option<Box<Cause>>,
}

/// The typed error behind a [`ConfigError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    Policy(PolicyError),
    Challenge(InvalidChallenge),
    Source(SourceError),
    #[cfg(feature = "browser")]
    Browser(crate::browser::BrowserSettingError),
    #[cfg(feature = "browser")]
    StepUp(crate::browser::InvalidStepUp),
}

impl From<PolicyError> for Cause {
    fn from(e: PolicyError) -> Self {
        Cause::Policy(e)
    }
}

impl From<InvalidChallenge> for Cause {
    fn from(e: InvalidChallenge) -> Self {
        Cause::Challenge(e)
    }
}

impl From<SourceError> for Cause {
    fn from(e: SourceError) -> Self {
        Cause::Source(e)
    }
}

#[cfg(feature = "browser")]
impl From<crate::browser::BrowserSettingError> for Cause {
    fn from(e: crate::browser::BrowserSettingError) -> Self {
        Cause::Browser(e)
    }
}

#[cfg(feature = "browser")]
impl From<crate::browser::InvalidStepUp> for Cause {
    fn from(e: crate::browser::InvalidStepUp) -> Self {
        Cause::StepUp(e)
    }
}

impl Cause {
    fn error(&self) -> &(dyn std::error::Error + 'static) {
        match self {
            Cause::Policy(e) => e,
            Cause::Challenge(e) => e,
            Cause::Source(e) => e,
            #[cfg(feature = "browser")]
            Cause::Browser(e) => e,
            #[cfg(feature = "browser")]
            Cause::StepUp(e) => e,
        }
    }
}

impl ConfigError {
    pub(crate) fn new(
        origin: &str,
        line: Option<usize>,
        key: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Self { origin: origin.to_owned(), line, key, message: message.into(), cause: None }
    }

    /// This error, with the typed error behind it.
    pub(crate) fn because(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(Box::new(cause.into()));
        self
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

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(Cause::error)
    }
}
