//! The async runtimes of the commands; servers run as every server on mfa-guard
//! does ([`mfa_guard_runtime`]).

use crate::exit::Failure;

pub(crate) use mfa_guard_runtime::shutdown_signal;

/// One thread: for commands that make a few requests.
pub(crate) fn current_thread() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(cannot_start)
}

/// For `serve`: [`mfa_guard_runtime::server_runtime`].
pub(crate) fn for_servers() -> Result<tokio::runtime::Runtime, Failure> {
    mfa_guard_runtime::server_runtime().map_err(cannot_start)
}

fn cannot_start(e: std::io::Error) -> Failure {
    Failure::error(format!("cannot start the async runtime: {e}"))
}
