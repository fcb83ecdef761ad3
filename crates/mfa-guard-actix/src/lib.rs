//! actix-web adapter of mfa-guard.
//!
//! [`MfaMiddleware`] wraps an actix-web `App`, `Scope` or `Resource` and checks every
//! request with an [`mfa_guard_core::Guard`]: admitted requests reach the handler with
//! the [`Principal`](mfa_guard_core::Principal) in their extensions (and as the
//! [`Principal`] extractor); refused ones are answered with core's response —
//! `401 Unauthorized - MFA required` and `WWW-Authenticate: Bearer error="invalid_token"`
//! for a user without MFA — which carries the [`Rejection`](mfa_guard_core::Rejection)
//! in its extensions for outer middleware. This crate decides nothing: it translates,
//! so actix-web answers with the same status line, headers and body as
//! `mfa-guard-tower` (actix writes its headers in an order of its own).
//!
//! With the `browser` feature (browser sign-in), the middleware also answers OpenID
//! Connect back-channel logout: a `POST` to the guard's
//! [`backchannel_logout_path`](mfa_guard_core::Guard::backchannel_logout_path) gets
//! core's answer, its body read up to 16 KiB and never further.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use mfa_guard_actix::{MfaMiddleware, Principal};
//! use mfa_guard_core::{Guard, KeySource, Policy, Requirement, Role};
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
//! let reports = MfaMiddleware::require(&guard, Requirement::mfa().any_role([Role::AdminAgent]))?;
//! HttpServer::new(move || {
//!     App::new()
//!         // A requirement written next to the routes it protects ...
//!         .service(web::scope("/reports").wrap(reports.clone()).route("", web::get().to(|| async { "q3" })))
//!         // ... and everything else under the Partner Center route table.
//!         .service(
//!             web::scope("")
//!                 .wrap(MfaMiddleware::new(guard.clone()))
//!                 .route("/commerce/customers", web::get().to(customers)),
//!         )
//! })
//! .bind("127.0.0.1:3000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "browser")]
mod backchannel;
mod extract;
mod future;
mod middleware;
mod response;

pub use extract::{Principal, RejectionResponse};
pub use future::ResponseFuture;
pub use middleware::{MfaMiddleware, MfaService};
