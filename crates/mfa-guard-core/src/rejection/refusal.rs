//! A refusal before it is dressed as a response ([`Refusal`]): what the engine and
//! an application's own checks decide.

use std::borrow::Cow;

use super::RejectionCode;

/// A refusal before it is dressed as a response: the code and a human description.
/// Produced throughout the engine, and by an application's own checks; the guard
/// dresses it as a [`Rejection`](super::Rejection) with its challenge settings
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

    /// Sets `Retry-After`.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}
