//! The `mfa-guard` binary, run as a user runs it: over tokens covering every
//! verdict and every documented exit code, with `--json` output parsed.

mod assurance;
mod check;
mod closed_stdout;
mod dev_tools;
mod inspect;
mod metrics;
mod revoke;
mod revoke_replicas;
mod serve;
mod support;
mod verdicts;
mod verify;
