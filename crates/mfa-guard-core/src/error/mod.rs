//! Errors of building a guard: what is wrong, with the data to match on.

#[cfg(feature = "browser")]
mod browser;
mod verify;

use std::time::Duration;

#[cfg(feature = "browser")]
pub use browser::{BrowserError, BrowserSettingError, SessionKeyError};
pub use verify::{InvalidIssuer, InvalidTenants};

use crate::keys::UnusableUrl;
use crate::policy::PolicyError;

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
    /// Browser sign-in is misconfigured (redirect URI, session keys...).
    Browser,
}

/// Why a guard could not be built. The message names what to fix; the variant
/// (and [`kind`](Self::kind)) what a caller matches on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer was added.
    #[error("no issuer is configured; add one with .issuer(..).keys(..)")]
    NoIssuer,
    /// An expected issuer that cannot be used.
    #[error(transparent)]
    Issuer(#[from] InvalidIssuer),
    /// The tenant allow-list cannot be used.
    #[error(transparent)]
    Tenants(#[from] InvalidTenants),
    /// A key source without an issuer, that does not declare one.
    #[error(
        "a key source without an issuer must declare one (OIDC discovery does); add .issuer(..) before .keys(..)"
    )]
    IssuerNotDeclared,
    /// An issuer given two key sources.
    #[error("issuer {issuer} was given keys twice")]
    KeysGivenTwice {
        /// The issuer.
        issuer: String,
    },
    /// An issuer without a key source.
    #[error("issuer {issuer} has no key source; call .keys(..) after .issuer(..)")]
    NoKeySource {
        /// The issuer.
        issuer: String,
    },
    /// A key source whose address cannot be used.
    #[error(transparent)]
    KeySource(#[from] UnusableUrl),
    /// No audience was added.
    #[error("no audience is configured; add one with .audience(..)")]
    NoAudience,
    /// An empty audience.
    #[error("audience {audience:?} is empty")]
    EmptyAudience {
        /// The audience as given.
        audience: String,
    },
    /// The algorithm allow-list is empty.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// An issuer has an HMAC secret and no HS algorithm is allowed.
    #[error("an issuer has an HMAC secret but no HS algorithm is allowed; add HS256 to the allow-list")]
    HmacSecretWithoutAlgorithm,
    /// An HS algorithm is allowed and no issuer has an HMAC secret.
    #[error(
        "an HS algorithm is allowed but no issuer has an HMAC secret; HMAC is only honoured with a configured secret"
    )]
    HmacAlgorithmWithoutSecret,
    /// A clock leeway above five minutes.
    #[error("leeway above 5 minutes would accept long-expired tokens")]
    Leeway {
        /// The leeway given.
        leeway: Duration,
    },
    /// A maximum token lifetime under one second.
    #[error("max_token_lifetime must be at least one second; a shorter one would refuse every token")]
    MaxTokenLifetime,
    /// A header limit too small for any token.
    #[error("max_header_bytes below 256 cannot hold any real token")]
    MaxHeaderBytes {
        /// The limit given.
        bytes: usize,
    },
    /// A compliance header name that is not a header name, or one the guard sets.
    #[error("compliance header name {name:?} is not a usable header name")]
    ComplianceHeader {
        /// The name given.
        name: String,
    },
    /// A realm that is not visible ASCII.
    #[error("the realm must be visible ASCII")]
    Realm,
    /// The step-up challenge style without `acr_values`.
    #[error("the step-up challenge style needs acr_values (.step_up_acr_values(..))")]
    StepUpWithoutAcrValues,
    /// The Entra claims challenge style without its settings.
    #[error(
        "the entra-claims challenge style needs an authorization_uri and an auth context id (.entra_claims(..))"
    )]
    EntraClaimsWithoutContext,
    /// The route policy does not compile.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Browser sign-in cannot be set up.
    #[cfg(feature = "browser")]
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

impl BuildError {
    /// What part of the setup is wrong.
    pub fn kind(&self) -> BuildErrorKind {
        match self {
            BuildError::NoIssuer
            | BuildError::Issuer(_)
            | BuildError::Tenants(_)
            | BuildError::IssuerNotDeclared => BuildErrorKind::Issuer,
            BuildError::KeysGivenTwice { .. } | BuildError::NoKeySource { .. } | BuildError::KeySource(_) => {
                BuildErrorKind::Keys
            }
            BuildError::NoAudience | BuildError::EmptyAudience { .. } => BuildErrorKind::Audience,
            BuildError::NoAlgorithms
            | BuildError::HmacSecretWithoutAlgorithm
            | BuildError::HmacAlgorithmWithoutSecret => BuildErrorKind::Algorithms,
            BuildError::Leeway { .. }
            | BuildError::MaxTokenLifetime
            | BuildError::MaxHeaderBytes { .. }
            | BuildError::ComplianceHeader { .. }
            | BuildError::Policy(_) => BuildErrorKind::Policy,
            BuildError::Realm
            | BuildError::StepUpWithoutAcrValues
            | BuildError::EntraClaimsWithoutContext => BuildErrorKind::Challenge,
            #[cfg(feature = "browser")]
            BuildError::Browser(_) => BuildErrorKind::Browser,
        }
    }
}
