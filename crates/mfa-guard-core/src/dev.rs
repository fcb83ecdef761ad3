//! What development tooling needs from the engine (feature `dev-issuer`): the
//! development mode of [`Environment`](crate::config::Environment) and a session
//! cookie sealed without a sign-in.
//!
//! **For development and tests only.** The development issuer itself (its key, the
//! token minter, the discovery document and the sign-in pages) lives in the
//! `mfa-guard-dev` crate; this module is the engine's side of the contract with it,
//! so the engine holds no signing key and no token minter. Nothing here is needed to
//! verify tokens.

use crate::keys::KeySource;

/// The client id development mode's browser sign-in presents to the embedded
/// issuer; the development issuer's sign-in pages serve this client only.
pub const DEV_CLIENT_ID: &str = "mfa-guard-dev";
/// Where the embedded issuer's sign-in endpoints live on a development-mode server
/// (`/authorize`, `/token`, `/sign-out` under it): development mode makes them
/// public routes, beside `/.well-known/*` (its discovery and JWKS documents).
pub const DEV_SIGN_IN_PREFIX: &str = "/dev-idp";

/// The issuer a server in development mode embeds, as the guard needs to know it
/// ([`Environment::development_builder`](crate::config::Environment::development_builder)):
/// the development issuer of `mfa-guard-dev` describes itself with one.
#[derive(Debug, Clone)]
pub struct DevelopmentIssuer {
    issuer: String,
    keys: KeySource,
    tenant: String,
    audience: String,
}

impl DevelopmentIssuer {
    /// An issuer (exact, or with `{tenantid}`), the key source of its public keys,
    /// the one tenant its tokens carry (the only one admitted unless `MFA_TENANTS`
    /// says otherwise), and the audience of its tokens (admitted beside
    /// `MFA_AUDIENCE`'s).
    pub fn new(
        issuer: impl Into<String>,
        keys: KeySource,
        tenant: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self { issuer: issuer.into(), keys, tenant: tenant.into(), audience: audience.into() }
    }

    /// The issuer, as configured.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its public keys.
    pub fn keys(&self) -> &KeySource {
        &self.keys
    }

    /// The tenant of its tokens.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The audience of its tokens.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// `name=value` of a browser session cookie for a user with these ID-token
/// `claims`, as `guard`'s sign-in would write it now; `None` without browser mode.
/// For tests and benchmarks that need a signed-in browser without a provider: the
/// session's sealing is the engine's own, so only the engine can write one.
#[cfg(feature = "browser")]
pub fn session_cookie(guard: &crate::Guard, claims: &crate::Claims) -> Option<String> {
    guard.browser()?.session_cookie(guard, claims, guard.clock().now_unix())
}

/// The session cookie's encoding and sealing on a typical session, without a
/// sign-in: what `benches/session_encoding.rs` measures (the whole path of a
/// session cookie each way, as a sign-in writes it and a request reads it).
#[cfg(feature = "browser")]
pub mod session_encoding {
    use crate::browser::SessionKeys;
    use crate::browser::session::Session;

    /// A session, opaque.
    pub struct Typical(Session);

    /// A typical session: an Entra user with three roles and MFA.
    pub fn typical() -> Typical {
        Typical(Session {
            sid: [0x5a; crate::revocation::SESSION_ID_BYTES],
            provider_sid: Some("3f2d1c4b-9a8e-4f70-b6d5-c4e3f2a1b0c9".into()),
            sub: Some("AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ".into()),
            oid: Some("00000000-0000-0000-66f3-3332eca7ea81".into()),
            tid: Some("9188040d-6c67-4c5b-b112-36a304b66dad".into()),
            upn: Some("ada.lovelace@contoso.example".into()),
            roles: vec!["AdminAgent".into(), "SalesAgent".into(), "HelpdeskAgent".into()],
            unknown_roles: vec![],
            amr: vec!["pwd".into(), "mfa".into()],
            acr: Some("1".into()),
            acrs: vec!["c1".into()],
            auth_time: Some(1_764_000_000),
            created: 1_764_000_000,
            seen: 1_764_000_060,
            step_up_failed: None,
        })
    }

    /// Encodes and seals.
    pub fn seal(keys: &SessionKeys, s: &Typical) -> String {
        keys.seal("mfa-guard", &s.0.encode()).expect("sealed")
    }

    /// Opens and decodes.
    pub fn open(keys: &SessionKeys, value: &str) -> bool {
        keys.open("mfa-guard", value).and_then(|b| Session::decode(&b)).is_some()
    }

    /// The size of the encoding.
    pub fn size(s: &Typical) -> usize {
        s.0.encode().len()
    }
}
