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
mod problem;

pub(crate) use challenge::render_bearer;
pub use challenge::{ParsedChallenge, parse_challenge};
pub(crate) use challenge::{quote_untrusted, sanitize_description};
pub(crate) use challenges::Ask;
pub(crate) use challenges::{BodyRenderer, Challenges};
pub use challenges::{Challenge, CustomBody, ENTRA_AUTHORIZATION_URI, InvalidChallenge};

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The reason phrase Partner Center sends with its MFA refusal.
pub const MFA_REQUIRED_REASON: &str = "Unauthorized - MFA required";

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

    fn title(self) -> &'static str {
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

/// How the MFA refusal is phrased. Only the `mfa_required` row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChallengeStyle {
    /// Partner Center's own answer: `401 Unauthorized - MFA required` with exactly
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[default]
    PartnerCenter,
    /// RFC 9470 step-up: `error="insufficient_user_authentication"` with `acr_values`
    /// (and `max_age` when freshness is configured).
    StepUp,
    /// Microsoft.Identity.Web's claims challenge (`error="insufficient_claims"`,
    /// `claims=` base64url JSON), sent only to clients whose token says they handle it
    /// (`xms_cc` holds `cp1`); other clients get the Partner Center answer.
    EntraClaims,
}

impl ChallengeStyle {
    /// The configuration name: `partner-center`, `step-up`, `entra-claims`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeStyle::PartnerCenter => "partner-center",
            ChallengeStyle::StepUp => "step-up",
            ChallengeStyle::EntraClaims => "entra-claims",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "partner-center" => Some(ChallengeStyle::PartnerCenter),
            "step-up" => Some(ChallengeStyle::StepUp),
            "entra-claims" => Some(ChallengeStyle::EntraClaims),
            _ => None,
        }
    }
}

/// A refusal before it is dressed as a response: the code and a human description.
/// Produced throughout the engine, and by an application's own checks; the guard
/// dresses it as a [`Rejection`] with its challenge settings
/// ([`Guard::reject`](crate::Guard::reject)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub(crate) code: RejectionCode,
    /// A description without token material (it is sent to the client).
    pub(crate) detail: Cow<'static, str>,
    /// Seconds the client should wait (`key_source_unavailable` only).
    pub(crate) retry_after: Option<u64>,
    /// Whether an `invalid_request` challenge repeats the description as
    /// `error_description` (the path rule's refusals do; a malformed Authorization
    /// header keeps the bare `Bearer error="invalid_request"`).
    pub(crate) describe: bool,
}

impl Refusal {
    /// A refusal with this code and description.
    pub fn new(code: RejectionCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self { code, detail: detail.into(), retry_after: None, describe: false }
    }

    /// Repeats the description in the challenge as `error_description` where the
    /// code's challenge would not carry it otherwise (`invalid_request`): for a
    /// refusal whose reason the client must be told to fix its request (a path that
    /// cannot be read one way, a header mfa-guard serve does not accept). The
    /// description is sanitised and bounded like every other.
    #[must_use]
    pub fn described_in_challenge(mut self) -> Self {
        self.describe = true;
        self
    }

    /// The code.
    pub fn code(&self) -> RejectionCode {
        self.code
    }

    /// The description (without token material; it is sent to the client).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The seconds of `Retry-After`, if set.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
    }

    /// Sets `Retry-After`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

/// A refusal, ready to be sent: every byte of the response is decided here.
///
/// Cheap to clone (adapters put a copy in the response's extensions so outer layers
/// can see why a request was refused).
#[derive(Clone)]
pub struct Rejection(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    /// One more header (the compliance signal), name validated at build.
    extra: Option<(Arc<str>, &'static str)>,
    /// The application's body, replacing problem+json.
    body: Option<Arc<CustomBody>>,
    code: RejectionCode,
    detail: Cow<'static, str>,
    reason: Option<&'static str>,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
    /// Rendered for a gRPC client: a trailers-only `200` carrying `grpc-status`.
    grpc: bool,
}

/// The gRPC status codes a refusal maps to.
const GRPC_INVALID_ARGUMENT: u16 = 3;
const GRPC_PERMISSION_DENIED: u16 = 7;
const GRPC_UNAVAILABLE: u16 = 14;
const GRPC_UNAUTHENTICATED: u16 = 16;

impl Rejection {
    /// A rejection rendered with default challenge settings (no realm, Partner
    /// Center style), for code that has no guard at hand. Prefer `Guard::reject`.
    pub fn standalone(refusal: Refusal) -> Self {
        Challenges::default().reject(refusal, false)
    }

    pub(crate) fn with_header(mut self, name: Arc<str>, value: &'static str) -> Self {
        Arc::make_mut(&mut self.0).extra = Some((name, value));
        self
    }

    /// Why: the body's `code`.
    pub fn code(&self) -> RejectionCode {
        self.0.code
    }

    /// The HTTP status code of the refusal (`401` for `mfa_required`, ...), also
    /// for a gRPC client (see [`response_status`](Self::response_status)).
    pub fn status(&self) -> u16 {
        self.0.code.status()
    }

    /// The status the response carries: [`status`](Self::status), except for a
    /// gRPC client, whose refusal travels in a trailers-only `200` with
    /// `grpc-status` (see [`grpc_status`](Self::grpc_status)).
    pub fn response_status(&self) -> u16 {
        if self.0.grpc { 200 } else { self.status() }
    }

    /// The gRPC status of the refusal: `UNAUTHENTICATED` (16) for the 401 cases,
    /// `PERMISSION_DENIED` (7) for the 403 cases, `UNAVAILABLE` (14) for 503 and
    /// `INVALID_ARGUMENT` (3) for 400.
    pub fn grpc_status(&self) -> u16 {
        match self.status() {
            400 => GRPC_INVALID_ARGUMENT,
            403 => GRPC_PERMISSION_DENIED,
            503 => GRPC_UNAVAILABLE,
            _ => GRPC_UNAUTHENTICATED,
        }
    }

    /// Whether the rejection is rendered for a gRPC client.
    pub fn is_grpc(&self) -> bool {
        self.0.grpc
    }

    /// This rejection rendered for a gRPC client (the guard does it when the request
    /// is gRPC): status `200`, no body, and in the headers (a trailers-only
    /// response) `grpc-status`, `grpc-message`, `mfa-guard-code`, and the same
    /// `WWW-Authenticate` and `Retry-After` as for HTTP. For the MFA refusal
    /// `grpc-message` is `Unauthorized - MFA required`, so it stays recognisable.
    #[must_use]
    pub fn for_grpc(mut self) -> Self {
        Arc::make_mut(&mut self.0).grpc = true;
        self
    }

    /// The HTTP/1.1 reason phrase when it is not the standard one
    /// (`Unauthorized - MFA required`); `None` means the standard phrase (and a gRPC
    /// response has none).
    pub fn reason_phrase(&self) -> Option<&'static str> {
        if self.0.grpc { None } else { self.0.reason }
    }

    /// The `WWW-Authenticate` value, if the response carries one.
    pub fn www_authenticate(&self) -> Option<&str> {
        self.0.www_authenticate.as_deref()
    }

    /// `Retry-After` in seconds, if the response carries one.
    pub fn retry_after(&self) -> Option<u64> {
        self.0.retry_after
    }

    /// The human description (`detail` of the body).
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    /// The body's media type.
    pub fn content_type(&self) -> &str {
        if self.0.grpc {
            return "application/grpc";
        }
        self.0.body.as_deref().map_or(problem::CONTENT_TYPE, |b| &b.content_type)
    }

    /// The body: `application/problem+json`, or the application's own (see
    /// [`GuardBuilder::refusal_body`](crate::GuardBuilder::refusal_body)).
    pub fn body(&self) -> Vec<u8> {
        if self.0.grpc {
            return Vec::new();
        }
        match &self.0.body {
            Some(custom) => custom.bytes.clone(),
            None => problem::render(self.0.code, &self.0.detail),
        }
    }

    /// The human title of the refusal (the problem's `title`), for a body of the
    /// application's own.
    pub fn title(&self) -> &'static str {
        self.0.code.title()
    }

    /// Every header of the response, in the order to send them: `Content-Type`,
    /// (for gRPC: `grpc-status`, `grpc-message`, `mfa-guard-code`),
    /// `WWW-Authenticate` when present, `Retry-After` when present, then the
    /// compliance signal when configured. Names are lowercase.
    pub fn headers(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        let grpc = self.0.grpc.then(|| {
            let message = self.0.reason.unwrap_or(&self.0.detail);
            [
                ("grpc-status", Cow::Owned(self.grpc_status().to_string())),
                ("grpc-message", Cow::Owned(grpc_percent_encode(message))),
                ("mfa-guard-code", Cow::Borrowed(self.0.code.as_str())),
            ]
        });
        [Some(("content-type", Cow::Borrowed(self.content_type())))]
            .into_iter()
            .chain(grpc.into_iter().flatten().map(Some))
            .chain([
                self.0.www_authenticate.as_deref().map(|v| ("www-authenticate", Cow::Borrowed(v))),
                self.0.retry_after.map(|s| ("retry-after", Cow::Owned(s.to_string()))),
                self.0.extra.as_ref().map(|(n, v)| (&**n, Cow::Borrowed(*v))),
            ])
            .flatten()
    }
}

/// `grpc-message` is percent-encoded: every byte outside visible ASCII and space,
/// and `%` itself.
fn grpc_percent_encode(message: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(message.len());
    for b in message.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("code", &self.0.code)
            .field("status", &self.status())
            .field("detail", &self.0.detail)
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.detail)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests;
