//! tower and axum adapter of mfa-guard.
//!
//! This crate will hold `MfaLayer`, `MfaService` and `ResponseFuture` (tower-http
//! style) and, behind the `axum` feature, the `Principal` extractors. It only
//! translates between `http` requests/responses and `mfa-guard-core`, which makes
//! every decision. It is filled by the tower/axum issue and exports nothing yet.
