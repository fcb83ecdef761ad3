//! Every refusal as a neutral response: status, reason phrase, headers and an
//! `application/problem+json` body (RFC 9457).
//!
//! Adapters copy these bytes onto their framework's response and decide nothing, so
//! axum and actix answer identically.
//!
//! | code | status | `WWW-Authenticate` |
//! |---|---|---|
//! | `missing_token` | 401 | `Bearer` (+ `realm`) |
//! | `invalid_request` | 400 | `Bearer error="invalid_request"` |
//! | `invalid_token` | 401 | `Bearer error="invalid_token", error_description="…"` |
//! | `mfa_required` | 401 `Unauthorized - MFA required` | exactly `Bearer error="invalid_token"` |
//! | `app_only_not_allowed`, `insufficient_role`, `groups_overage` | 403 | `Bearer error="insufficient_scope"` |
//! | `key_source_unavailable` | 503 + `Retry-After` | none |
//!
//! The challenge style ([`ChallengeStyle`]) changes only the `mfa_required` row.

mod challenge;
mod challenges;
mod code;
mod grpc;
mod problem;
mod refusal;
mod response;
mod style;

pub(crate) use challenge::render_bearer;
pub use challenge::{ParsedChallenge, parse_challenge};
pub(crate) use challenge::{quote_untrusted, sanitize_description};
pub(crate) use challenges::Ask;
#[cfg(test)]
pub(crate) use challenges::ENTRA_AUTHORIZATION_URI;
pub(crate) use challenges::{BodyRenderer, Challenges};
pub use challenges::{Challenge, ChallengeProblem, CustomBody, InvalidChallenge};
pub use code::RejectionCode;
pub use refusal::Refusal;
use response::Inner;
pub use response::{MFA_REQUIRED_REASON, Rejection};
pub use style::ChallengeStyle;

#[cfg(test)]
mod tests;
