//! actix-web adapter of mfa-guard.
//!
//! This crate will hold the `MfaMiddleware` `Transform`/`Service` pair and the
//! `Principal` extractor. It only translates between actix-web and
//! `mfa-guard-core`, which makes every decision. It is filled by the actix issue
//! and exports nothing yet.
