//! Configuration text through mfa_guard_core::Config::from_toml_str and the guard it builds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| mfa_guard_fuzz::config(data));
