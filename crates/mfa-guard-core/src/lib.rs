//! The framework-neutral engine of mfa-guard: it decides whether a request's bearer
//! token may pass, the way Microsoft Partner Center enforces multi-factor
//! authentication, and renders every refusal byte for byte.
//!
//! Adapters (`mfa-guard-tower` for axum/hyper/tower, `mfa-guard-actix` for actix-web)
//! hand the engine a [`RequestInfo`] and copy its answer onto their response; they
//! decide nothing, so both frameworks answer identically.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mfa_guard_core::{Admission, Evaluation, Guard, KeySource, RejectionCode, RequestInfo};
//!
//! let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig",
//!   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
//!   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
//! let keys = KeySource::jwks_json(jwks)?;
//! let guard = Guard::partner_center() // the preset: Partner Center's route table and roles
//!     .verifier(|v| {
//!         v.issuer("https://sts.windows.net/{tenantid}/") // tid substituted, then compared exactly
//!             .keys(keys)
//!             .tenants(["aaaabbbb-0000-cccc-1111-dddd2222eeee"]) // the only tenant the template admits
//!             .audience("https://api.partnercenter.microsoft.com")
//!     })
//!     .build()?;
//!
//! // No token on an MFA-protected route: 401 with a plain Bearer challenge.
//! let req = RequestInfo::new("GET", "/commerce/customers");
//! let Evaluation::Ready(Admission::Refused(rejection)) = guard.evaluate(&req) else { panic!("expected a refusal") };
//! assert_eq!(rejection.code(), RejectionCode::MissingToken);
//! assert_eq!(rejection.status(), 401);
//! assert_eq!(rejection.www_authenticate(), Some("Bearer"));
//! # Ok(()) }
//! ```
//!
//! The rules:
//!
//! - **Token**: one `Authorization: Bearer` header ([`extract_bearer`]); signature by a
//!   key of the token's own issuer, from an allow-list of algorithms ([`Verifier`],
//!   [`keys`]);
//!   `exp` required, `nbf` honoured, `iat` not in the future (and `exp - iat` bounded
//!   when configured), `iss` exact or `{tenantid}`-templated (and then of a listed
//!   tenant, when tenants are listed), `aud` one of those configured.
//! - **Path**: the rule is chosen from the path as the router reads it, and a path
//!   that cannot be read one way (malformed escape, `%2F`, `\`, dot segment, NUL)
//!   is `400 invalid_request` before any rule is chosen ([`PathRules`]).
//! - **Caller**: `idtyp`, else `scp`, else `roles` with `oid == sub` ([`CallerKind`]).
//! - **MFA**: `amr` ∋ `mfa` for users on MFA routes; app-only tokens pass only where
//!   apps are admitted ([`policy`]).
//! - **Roles**: resolved through a role map; a groups overage fails closed.
//! - **Answers**: [`Rejection`], one per [`RejectionCode`] (see [`rejection`]).

#![forbid(unsafe_code)]

mod adapter;
mod adoption;
mod algorithm;
mod answer;
#[cfg(feature = "browser")]
pub mod browser;
mod claims;
pub mod config;
#[cfg(feature = "dev-issuer")]
pub mod dev;
mod error;
mod file;
mod guard;
pub mod inspect;
mod json;
pub mod keys;
pub mod metrics;
mod path;
pub mod policy;
mod principal;
mod recent;
pub mod rejection;
mod request;
#[cfg(any(feature = "browser", feature = "redis"))]
pub mod revocation;
#[cfg(test)]
mod test_issuer;
mod time;
mod token;
mod verify;

pub use adapter::{
    Extensions, HeaderSink, REQUEST_CREDENTIALS, ResponseEdits, is_credential, mark_credentials,
};
pub use adoption::{AdoptionReport, AppAdoption, MfaCounts};
pub use algorithm::{Algorithm, AlgorithmSet, KeyFamily};
pub use answer::Answer;
pub use claims::{CallerKind, Claims, InvalidClaims, KindRule};
pub use config::{Config, ConfigError};
pub use error::{BuildError, BuildErrorKind};
pub use guard::{
    Admission, Admitted, Anonymous, Evaluation, Guard, GuardBuilder, PendingCheck, extract_caller,
};
pub use keys::{KeyProvider, KeySet, KeySource, RemoteOptions, VerifyingKey};
pub use path::PathRules;
pub use policy::{
    Access, AssuranceLevel, Callers, MfaPolicy, Mode, Policy, Requirement, Role, RoleMap, RoleMatcher, Rule,
};
pub use principal::{HeaderMerge, Principal};
pub use rejection::{
    Challenge, ChallengeStyle, CustomBody, InvalidChallenge, MFA_REQUIRED_REASON, Refusal, Rejection,
    RejectionCode,
};
pub use request::{RequestHeaders, RequestInfo};
pub use time::{Clock, ManualClock, NumericDate, SystemClock};
pub use token::{BearerToken, DEFAULT_MAX_HEADER_BYTES, extract_bearer};
pub use verify::{InvalidIssuer, InvalidTenants, Verified, Verifier, VerifierBuilder};
