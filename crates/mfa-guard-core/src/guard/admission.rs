//! What a check hands an adapter: one value, so that every decision is core's and
//! an adapter only copies it into its framework's types.

use crate::answer::Answer;
use crate::principal::Principal;
use crate::rejection::{Refusal, Rejection, RejectionCode};

/// What the guard decided about a request, as the adapter must act on it.
///
/// | variant | the adapter … |
/// |---|---|
/// | `Admitted(principal)` | puts `principal` in the request's extensions, calls the handler, adds [`Principal::response_headers`] to its response |
/// | `Anonymous(marker)` | puts `marker` in the request's extensions and calls the handler (a public route, and no valid token) |
/// | `Refused(rejection)` | answers with `rejection` (its status line, headers and body) without calling the handler |
/// | `Answered(answer)` | answers with `answer` (browser mode: a redirect to sign in, a step-up, a page) without calling the handler |
///
/// Deliberately exhaustive: it is the contract of every adapter, and a new kind of
/// decision must make each adapter fail to compile until it handles it.
#[derive(Debug, Clone)]
pub enum Admission {
    /// Let through as this caller.
    Admitted(Principal),
    /// Let through without a caller.
    Anonymous(Anonymous),
    /// Refused.
    Refused(Rejection),
    /// Answered by core itself: a redirect or page of browser mode.
    Answered(Answer),
}

impl Admission {
    /// A refusal rendered for a gRPC client; an admission as it is.
    pub(crate) fn for_grpc(self) -> Self {
        match self {
            Admission::Refused(r) => Admission::Refused(r.for_grpc()),
            other => other,
        }
    }

    /// The decision as a `Result`: the caller if there is one, or the refusal. A
    /// browser answer counts as the refusal it explains (the MFA-required page as
    /// `mfa_required`), and a redirect to sign in as a missing credential.
    pub fn into_result(self) -> Result<Option<Principal>, Rejection> {
        match self {
            Admission::Admitted(p) => Ok(Some(p)),
            Admission::Anonymous(_) => Ok(None),
            Admission::Refused(r) => Err(r),
            Admission::Answered(a) => {
                Err(a.rejection().cloned().unwrap_or_else(|| Rejection::standalone(missing_token())))
            }
        }
    }

    /// What to send instead of calling the handler, if anything: the refusal or
    /// core's own answer. Adapters render it with [`Answer`]'s accessors.
    pub fn into_answer(self) -> Result<Admitted, Answer> {
        match self {
            Admission::Admitted(p) => Ok(Admitted::Caller(p)),
            Admission::Anonymous(a) => Ok(Admitted::Anonymous(a)),
            Admission::Refused(r) => Err(Answer::from(r)),
            Admission::Answered(a) => Err(a),
        }
    }
}

/// A request let through, as [`Admission::into_answer`] hands it to an adapter.
#[derive(Debug, Clone)]
pub enum Admitted {
    /// With this caller.
    Caller(Principal),
    /// Without a caller (a public route).
    Anonymous(Anonymous),
}

impl Admission {}

/// The marker of a request let through without a caller. It holds the answer an
/// extractor gives when a handler there asks for a caller anyway: the guard's own
/// `401` for a missing token (with its configured realm).
#[derive(Debug, Clone)]
pub struct Anonymous(pub(crate) Rejection);

impl Anonymous {
    /// The refusal an extractor that needs a caller answers with.
    pub fn rejection(&self) -> &Rejection {
        &self.0
    }
}

/// What an extractor of the caller yields, from what the middleware left in the
/// request's extensions: the admitted caller; or, on a route let through without a
/// caller, the guard's missing-token refusal; or, where no mfa-guard middleware ran
/// at all (a deployment mistake), a missing-token refusal too, logged as an error:
/// a handler that needs a caller never runs without one.
pub fn extract_caller(
    principal: Option<&Principal>,
    anonymous: Option<&Anonymous>,
) -> Result<Principal, Rejection> {
    if let Some(p) = principal {
        return Ok(p.clone());
    }
    if let Some(Anonymous(rejection)) = anonymous {
        return Err(rejection.clone());
    }
    tracing::error!("a caller was extracted on a route that no mfa-guard middleware checked; refusing");
    Err(Rejection::standalone(missing_token()))
}

/// The refusal of a request without a token.
pub(crate) fn missing_token() -> Refusal {
    Refusal::new(RejectionCode::MissingToken, "this route requires a bearer access token")
}
