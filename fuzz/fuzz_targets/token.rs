//! Tokens: raw Authorization values, and payloads/headers the harness signs (see mfa_guard_fuzz::token).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mfa_guard_fuzz::token(data));
