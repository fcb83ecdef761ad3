//! The reasons of a refusal ([`RejectionCode`]): the body's `code`, the HTTP status
//! and the problem's title of each.

use std::fmt;

/// Why a request was refused: the `code` member of the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionCode {
    /// A protected route was called without a bearer token.
    MissingToken,
    /// The request is malformed: several Authorization headers, a token in the query.
    InvalidRequest,
    /// The token is malformed, forged, expired, not yet valid, for another issuer or
    /// audience, signed with a refused algorithm or unknown key, or of no known kind.
    InvalidToken,
    /// A user token without multi-factor authentication on a route that requires it.
    MfaRequired,
    /// An app-only token on a route that needs a user.
    AppOnlyNotAllowed,
    /// MFA satisfied (or not needed) but none of the route's roles.
    InsufficientRole,
    /// A check of the application's own on the caller's claims did not hold
    /// ([`Requirement::claims_check`](crate::Requirement::claims_check)).
    ClaimCheckFailed,
    /// A route role could only be granted by group membership, and the token's groups
    /// did not fit in it (Entra's groups overage): membership is unknown, so refused.
    GroupsOverage,
    /// The issuer's signing keys cannot be had right now (unknown key while the key
    /// source is down, or never loaded).
    KeySourceUnavailable,
}

impl RejectionCode {
    /// Whether the code is a route-policy decision about a valid token (caller kind,
    /// MFA, roles) — the refusals report-only mode can let through.
    pub fn is_policy_refusal(self) -> bool {
        matches!(
            self,
            RejectionCode::MfaRequired
                | RejectionCode::InsufficientRole
                | RejectionCode::GroupsOverage
                | RejectionCode::AppOnlyNotAllowed
                | RejectionCode::ClaimCheckFailed
        )
    }

    /// All codes, for tables and tests.
    pub const ALL: [RejectionCode; 9] = [
        RejectionCode::MissingToken,
        RejectionCode::InvalidRequest,
        RejectionCode::InvalidToken,
        RejectionCode::MfaRequired,
        RejectionCode::AppOnlyNotAllowed,
        RejectionCode::InsufficientRole,
        RejectionCode::GroupsOverage,
        RejectionCode::ClaimCheckFailed,
        RejectionCode::KeySourceUnavailable,
    ];

    /// The snake_case code, as in the response body.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionCode::MissingToken => "missing_token",
            RejectionCode::InvalidRequest => "invalid_request",
            RejectionCode::InvalidToken => "invalid_token",
            RejectionCode::MfaRequired => "mfa_required",
            RejectionCode::AppOnlyNotAllowed => "app_only_not_allowed",
            RejectionCode::InsufficientRole => "insufficient_role",
            RejectionCode::GroupsOverage => "groups_overage",
            RejectionCode::ClaimCheckFailed => "claim_check_failed",
            RejectionCode::KeySourceUnavailable => "key_source_unavailable",
        }
    }

    /// The HTTP status code.
    pub fn status(self) -> u16 {
        match self {
            RejectionCode::InvalidRequest => 400,
            RejectionCode::MissingToken | RejectionCode::InvalidToken | RejectionCode::MfaRequired => 401,
            RejectionCode::AppOnlyNotAllowed
            | RejectionCode::InsufficientRole
            | RejectionCode::GroupsOverage
            | RejectionCode::ClaimCheckFailed => 403,
            RejectionCode::KeySourceUnavailable => 503,
        }
    }

    pub(super) fn title(self) -> &'static str {
        match self {
            RejectionCode::MissingToken => "Authentication required",
            RejectionCode::InvalidRequest => "Malformed request",
            RejectionCode::InvalidToken => "Invalid access token",
            RejectionCode::MfaRequired => "Multi-factor authentication required",
            RejectionCode::AppOnlyNotAllowed => "App-only access not allowed",
            RejectionCode::InsufficientRole => "Insufficient role",
            RejectionCode::GroupsOverage => "Group membership unavailable",
            RejectionCode::ClaimCheckFailed => "Not allowed",
            RejectionCode::KeySourceUnavailable => "Signing keys unavailable",
        }
    }
}

impl fmt::Display for RejectionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
