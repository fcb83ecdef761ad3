//! Conformance suite of mfa-guard.
//!
//! It will run one table of cases against both example servers over real sockets
//! and assert byte-identical answers (see the actix/conformance issue). Empty until then.
