//! One development identity server: the discovery document, the JWKS, and sign-in
//! pages for one client (an authorization code flow with PKCE), as an axum
//! [`Router`] that a program mounts beside its own routes (the example servers) or
//! serves alone (`mfa-guard dev-issuer`, the test suites).
//!
//! Users: an admin agent and a sales agent, whose "password + MFA" sign-in yields
//! `amr: ["pwd","mfa"]`, and a user whose MFA is **incompatible**: their
//! "password + MFA" yields `["pwd","otp"]`, never `mfa` (the seed's example 4).
//! Authorization codes are single-use, live one minute, and need the PKCE verifier.
//!
//! A sign-in opens a provider session (a cookie of its own under the prefix; its
//! `sid` is in the ID token). Its pages show **"Sign out at the provider"**: the
//! end-session endpoint's `POST`, which ends that session and posts a signed
//! back-channel logout token (`typ` `logout+jwt`, naming the `sid` and `sub`) to
//! the client's [`backchannel_logout_uri`](Client::backchannel_logout_uri) over
//! HTTP, then shows what the relying party answered.
//!
//! ```
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use mfa_guard_dev::DevIssuer;
//! use mfa_guard_dev::server::DevIdp;
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let bound = listener.local_addr()?;
//! let issuer = Arc::new(DevIssuer::for_server(bound)?);
//! let idp = Arc::new(DevIdp::new(issuer, &format!("http://{bound}")));
//! axum::serve(listener, idp.router()).await?;
//! # Ok(()) }
//! ```
//!
//! Each endpoint is a file: [`authorize`](self) (the sign-in page and its form),
//! `token.rs` (the code exchange), `sign_out.rs` (end-session, and
//! `logout.rs`'s back-channel logout); the client the pages serve, and so
//! every URL of it the issuer knows, is [`Client`].

mod authorize;
mod client;
mod grants;
mod logout;
mod pages;
mod params;
mod sessions;
mod sign_out;
mod token;
mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};

pub use self::client::Client;
use self::grants::Grants;
use self::params::MAX_FORM;
use self::sessions::Sessions;
use crate::discovery::{DISCOVERY_PATH, JWKS_PATH, discovery};
use crate::{DEV_SIGN_IN_PREFIX, DevIssuer};

/// The development identity server of one issuer, for one client.
pub struct DevIdp {
    issuer: Arc<DevIssuer>,
    base: String,
    client: Client,
    grants: Grants,
    sessions: Sessions,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp")
            .field("issuer", &self.issuer)
            .field("base", &self.base)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl DevIdp {
    /// The server of `issuer` at `base` (`http://host:port`, where its routes are
    /// served), for the client of a server on the same origin ([`Client::at`]), as
    /// the example servers embed it.
    pub fn new(issuer: Arc<DevIssuer>, base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let client = Client::at(&base);
        DevIdp { issuer, base, client, grants: Grants::default(), sessions: Sessions::default() }
    }

    /// Serves `client` instead (a relying party elsewhere, e.g. `mfa-guard serve`).
    #[must_use]
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = client;
        self
    }

    /// The issuer.
    pub fn issuer(&self) -> &DevIssuer {
        &self.issuer
    }

    /// Where the server is reached, `http://host:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The client the sign-in pages serve.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The discovery document ([`discovery`]) of this server.
    pub fn discovery(&self) -> serde_json::Value {
        discovery(&self.issuer, &self.base)
    }

    /// The routes: `GET` [`DISCOVERY_PATH`] and [`JWKS_PATH`], and under
    /// [`DEV_SIGN_IN_PREFIX`] `GET /authorize` (the sign-in page), `POST /authorize`
    /// (its form), `POST /token`, `GET /sign-out` (end-session) and `POST /sign-out`
    /// ("Sign out at the provider", with back-channel logout); any other method or path under
    /// the prefix is a `404` page. Forms and queries longer than 16 KiB are refused
    /// with `413`. No fallback, so it merges into a router that has one.
    pub fn router(self: Arc<Self>) -> Router {
        let discovery = self.discovery().to_string();
        let jwks = self.issuer.jwks_json().to_owned();
        let json = |body: String| {
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() })
        };
        let sign_in = Router::new()
            .route("/authorize", get(authorize::show).post(authorize::submit).fallback(pages::not_found))
            .route("/token", post(token::exchange).fallback(pages::not_found))
            .route(
                "/sign-out",
                get(sign_out::sign_out).post(sign_out::end_session).fallback(pages::not_found),
            )
            .route("/{*endpoint}", any(pages::not_found))
            .layer(DefaultBodyLimit::max(MAX_FORM))
            .with_state(self);
        Router::new()
            .route(DISCOVERY_PATH, json(discovery))
            .route(JWKS_PATH, json(jwks))
            .nest(DEV_SIGN_IN_PREFIX, sign_in)
    }
}

#[cfg(test)]
mod tests;
