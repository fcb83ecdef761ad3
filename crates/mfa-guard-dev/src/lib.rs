//! **Development only.** The development issuer of mfa-guard: an RSA signing key
//! and a token minter ([`DevIssuer`], [`TokenSpec`]), its JWKS and discovery
//! document ([`discovery`]), and one development identity server with sign-in
//! pages ([`server`], feature `server`, on by default) that the example servers,
//! `mfa-guard dev-issuer` and the test suites all use.
//!
//! It signs in anyone who asks: never put it in front of real users. The engine,
//! `mfa-guard-core`, needs none of it to verify tokens.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use mfa_guard_dev::{DEV_TENANT, DevIssuer};
//! use serde_json::json;
//!
//! let dev = DevIssuer::generate("https://sts.windows.net/{tenantid}/")?;
//! // A user's token without MFA: what an MFA route refuses with 401.
//! let spec = dev.user().mfa(false).roles(["SalesAgent"]);
//! assert_eq!(spec.claims()["amr"], json!(["pwd"]));
//! assert_eq!(spec.claims()["iss"], format!("https://sts.windows.net/{DEV_TENANT}/"));
//! let token = spec.sign()?; // RS256, with the issuer's kid
//! assert_eq!(token.split('.').count(), 3);
//! // What a guard verifies it with: `.keys(dev.key_source()?)`, or the JWKS served.
//! let _keys = dev.key_source()?;
//! assert!(dev.jwks_json().contains(dev.kid()));
//! # Ok(()) }
//! ```

mod discovery;
mod key;
#[cfg(feature = "server")]
pub mod server;
mod token;

pub use discovery::{DISCOVERY_PATH, JWKS_PATH, discovery};
pub use key::{DevIssuer, DevKeyError};
/// The client id and sign-in path development mode expects of the embedded issuer
/// (the engine's side of the contract, `mfa_guard_core::dev`).
pub use mfa_guard_core::dev::{DEV_CLIENT_ID, DEV_SIGN_IN_PREFIX};
pub use token::TokenSpec;

/// The tenant id of development tokens.
pub const DEV_TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
/// The audience of development tokens (Partner Center's, as in the seed document).
pub const DEV_AUDIENCE: &str = "https://api.partnercenter.microsoft.com";
