//! What is wrong with an environment, naming the variable.

use super::super::ConfigError;
use crate::error::BuildError;

/// Why the environment does not describe a usable guard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// A variable's value is unusable, or two variables conflict.
    #[error("{message}")]
    Variable {
        /// The variable (or variables) concerned.
        name: &'static str,
        /// What is wrong, naming the variable.
        message: String,
    },
    /// The file of `MFA_CONFIG` is unreadable or invalid.
    #[error("MFA_CONFIG: {0}")]
    Config(#[from] ConfigError),
    /// The settings do not make a guard.
    #[error("{0}")]
    Build(#[from] BuildError),
    /// Development mode's session key (browser sign-in without `MFA_SESSION_KEYS`)
    /// could not be made.
    #[cfg(feature = "browser")]
    #[error("development issuer: {0}")]
    Development(#[source] crate::browser::BrowserError),
}

pub(super) fn variable(name: &'static str, message: impl Into<String>) -> EnvError {
    EnvError::Variable { name, message: message.into() }
}
