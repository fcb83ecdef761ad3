//! tower and axum adapter of mfa-guard.
//!
//! [`MfaLayer`] wraps any `Service<http::Request<B>>` (axum routers, hyper services,
//! tonic-style stacks) and checks every request with an
//! [`mfa_guard_core::Guard`]: admitted requests reach the inner service with the
//! [`Principal`](mfa_guard_core::Principal) in their extensions; refused ones are
//! answered with core's response — `401 Unauthorized - MFA required` and
//! `WWW-Authenticate: Bearer error="invalid_token"` for a user without MFA — which
//! carries the [`Rejection`](mfa_guard_core::Rejection) in its extensions for outer
//! layers. This crate decides nothing: it translates.
//!
//! With the `browser` feature (browser sign-in), the layer also answers OpenID
//! Connect back-channel logout: a `POST` to the guard's
//! [`backchannel_logout_path`](mfa_guard_core::Guard::backchannel_logout_path) gets
//! core's answer, its body read up to 16 KiB and never further.
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use mfa_guard_core::{Guard, KeySource, Policy, Requirement, Role};
//! use mfa_guard_tower::{MfaLayer, Principal};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::partner_center()
//!     .verifier(|v| {
//!         v.issuer("https://sts.windows.net/{tenantid}/")
//!             .keys(KeySource::discovery("https://login.microsoftonline.com/common/.well-known/openid-configuration"))
//!             .audience("https://api.partnercenter.microsoft.com")
//!     })
//!     .build()?;
//!
//! async fn customers(caller: Principal) -> String {
//!     format!("hello {}", caller.upn().unwrap_or("agent"))
//! }
//!
//! let app = Router::new()
//!     // The whole router under the Partner Center route table ...
//!     .route("/commerce/customers", get(customers))
//!     .layer(MfaLayer::new(guard.clone()))
//!     // ... or a requirement written next to the routes it protects.
//!     .merge(
//!         Router::new()
//!             .route("/reports", get(|| async { "q3" }))
//!             .route_layer(MfaLayer::require(&guard, Requirement::mfa().any_role([Role::AdminAgent]))?),
//!     );
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```

mod backchannel;
mod body;
#[cfg(feature = "axum")]
mod extract;
mod future;
mod layer;
mod response;
mod service;

pub use backchannel::RequestBody;
pub use body::ResponseBody;
#[cfg(feature = "axum")]
pub use extract::{AnswerResponse, Principal, RejectionResponse};
pub use future::ResponseFuture;
pub use layer::MfaLayer;
pub use service::MfaService;
