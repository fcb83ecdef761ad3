//! Conformance suite of mfa-guard: one table of cases (every row of the response table
//! across the Partner Center areas, each caller kind, each challenge style), run against
//! every adapter's example server over real sockets, asserting the expected answer
//! and that all adapters answered the same status line, `WWW-Authenticate`,
//! content type and body.

pub mod attacks;
pub mod browser;
pub mod cases;
pub mod fixture;
pub mod forge;
pub mod forward;
pub mod gate;
pub mod http1;
pub mod idp;
pub mod models;
pub mod oidc;
pub mod paths;
pub mod redis;
pub mod replicas;
pub mod servers;
pub mod soak;
pub mod tools;
pub mod upstream;

/// The README's Rust snippets, compiled as doctests (this crate depends on both
/// adapters and both frameworks).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeSnippets;

/// The Rust snippets of docs/BROWSER.md, compiled the same way.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/BROWSER.md")]
pub struct BrowserDocSnippets;
