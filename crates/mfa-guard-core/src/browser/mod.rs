//! Browser mode: people sign in with OpenID Connect, carry an encrypted session
//! cookie, and are sent back to the provider for MFA when a page needs it — the same
//! policy table deciding as for bearer tokens (feature `browser`).
//!
//! Only **top-level navigations** are handled here: `GET`/`HEAD`, no
//! `Authorization` header, and `Sec-Fetch-Mode: navigate` (or, from browsers that
//! send no fetch metadata, an `Accept` naming `text/html`). Every other request —
//! fetch/XHR, other methods, anything with a bearer token — gets exactly the API
//! answers, and its cookies are not read. For a navigation:
//!
//! | situation | answer |
//! |---|---|
//! | the callback, sign-in, sign-out and signed-out paths | handled here whatever the route table says |
//! | a path the guard cannot read one way | `400` page (the API's `invalid_request`, in HTML) |
//! | no (valid) session, public route | the handler runs without a caller |
//! | no (valid) session, protected route | `302` to the provider; the path is kept to return to |
//! | session, policy admits | the handler runs with the session's caller |
//! | session without MFA on an MFA route | `302` step-up: a fresh authorization request asking for MFA |
//! | the same, after a step-up came back without MFA (within the step-up window) | `401 Unauthorized - MFA required` page |
//! | session, a role or claim missing | `403` page |
//! | the provider cannot be reached | `503` page with `Retry-After` |
//!
//! See `docs/BROWSER.md` in the repository for the whole journey.

pub(crate) mod backchannel;
pub(crate) mod cache;
mod cookies;
pub(crate) mod flow;
mod mode;
mod opened;
mod origin;
pub(crate) mod pages;
pub(crate) mod provider;
mod query;
mod return_to;
pub(crate) mod revoke;
mod seal;
pub(crate) mod session;
mod settings;
mod step_up;

use std::time::Duration;

pub use crate::error::{BrowserError, BrowserSettingError, SessionKeyError};
pub use backchannel::MAX_BODY as MAX_BACKCHANNEL_BODY;
pub(crate) use cookies::value as cookie_value;
pub(crate) use mode::BrowserMode;
pub(crate) use opened::Opened;
pub(crate) use origin::origin_of;
pub(crate) use query::{Callback, encode, param};
pub(crate) use return_to::safe_return_to;
pub use revoke::RevokeError;
pub use seal::SessionKeys;
pub use settings::Browser;
pub(crate) use settings::check_idle_timeout;
pub use step_up::{InvalidStepUp, StepUp};

/// How long a sign-in may take, from the redirect to the provider to the callback.
pub(crate) const FLOW_LIFETIME: i64 = 600;
/// A session cookie is written again (its idle expiry moved) at most this often.
pub(crate) const REFRESH_AFTER: i64 = 60;
/// Shortest idle timeout: twice [`REFRESH_AFTER`]. The cookie of a session in use
/// is written again only once that long has passed since it last was, so under
/// twice that a person clicking through pages every 50 seconds would be signed out.
pub(crate) const MIN_IDLE_TIMEOUT: Duration = Duration::from_secs(2 * REFRESH_AFTER.unsigned_abs());
/// How long before a sign-in or step-up began the authentication may have taken
/// place for the MFA its ID token shows to count (see [`flow::Flow::counts_mfa`]):
/// none, for every sign-in and step-up alike — the MFA must come from the
/// authentication this very sign-in caused, not from the provider's memory of an
/// earlier one. A route's own freshness will be recorded on its flow instead.
pub(crate) const MFA_MAX_AGE: u64 = 0;
/// Most sign-ins in progress a browser keeps: starting another clears the flow
/// cookies of the oldest beyond it (a page that makes a browser start sign-in after
/// sign-in cannot fill its cookie jar).
pub(crate) const MAX_FLOWS: usize = 8;
/// Longest callback query read.
pub(crate) const MAX_CALLBACK_QUERY: usize = 8 * 1024;

#[cfg(test)]
mod tests;
