//! Conformance suite of mfa-guard: one table of cases (every row of DESIGN §4
//! across the routes of §3, each caller kind, each challenge style), run against
//! every adapter's example server over real sockets, asserting the expected answer
//! and that all adapters answered the same status line, `WWW-Authenticate`,
//! content type and body.

/// The adversarial table: attacks on tokens, headers and paths, each with its exact answer.
pub mod attacks;
pub mod cases;
pub mod fixture;
/// Hostile tokens: arbitrary bytes signed by the real key, the public key as an HMAC secret, foreign keys.
pub mod forge;
pub mod http1;
pub mod idp;
/// A real OpenID provider (oidc-provider on node) and the flows that get tokens from it.
pub mod oidc;
/// The path differential: generated paths, the router's reach against the rule applied.
pub mod paths;
pub mod servers;
/// The soak: load on both servers while their key source rotates, fails, hangs and recovers.
pub mod soak;
