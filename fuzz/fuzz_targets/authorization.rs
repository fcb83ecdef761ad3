//! Authorization header values and counts through mfa_guard_core::extract_bearer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mfa_guard_fuzz::authorization(data));
