//! How the responses of signed-in browsers may be cached — decided here, once, for
//! core's own pages and for the handlers' responses alike (the adapters only apply
//! it, see [`HeaderMerge`](crate::HeaderMerge)).
//!
//! A response that writes the session cookie (a sign-in's redirect, a sign-out, a
//! signed-in page whose cookie is written again to move its idle expiry) is kept
//! by no cache at all: a `Set-Cookie` replayed from a shared cache hands one
//! person's session to whoever asks next. A page a handler made for a signed-in
//! person, about which the handler said nothing, may be kept by that person's
//! browser but by no shared cache.

/// `cache-control` of a response that writes (or clears) the session cookie,
/// replacing whatever the handler said; also of core's own pages and redirects.
pub(crate) const WRITES_SESSION: &str = "private, no-store";

/// `cache-control` of a signed-in response whose handler set none.
pub(crate) const SIGNED_IN: &str = "private";
