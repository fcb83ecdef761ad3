//! JWKS documents through mfa_guard_core::KeySet::from_json.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mfa_guard_fuzz::jwks(data));
