//! How a server running mfa-guard starts and stops, written once for every one of
//! them (`mfa-guard serve` and the example servers):
//!
//! - [`server_runtime`]: tokio's multi-threaded runtime where the process may use
//!   several CPUs, a single-threaded one where it may use one;
//! - [`init_logs`]: logs to stderr, `RUST_LOG` to tune;
//! - [`shutdown_signal`]: SIGINT (Ctrl-C) or SIGTERM.
//!
//! ```no_run
//! fn main() -> std::io::Result<()> {
//!     mfa_guard_runtime::init_logs();
//!     mfa_guard_runtime::server_runtime()?.block_on(async {
//!         // bind, build the guard, serve until:
//!         mfa_guard_runtime::shutdown_signal().await;
//!     });
//!     Ok(())
//! }
//! ```
//!
//! Why a crate of its own: the CLI cannot depend on the examples, and neither core
//! (which decides and runs nothing) nor `mfa-guard-metrics` (a listener) is the
//! place for how a process runs.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// The async runtime of a server: tokio's multi-threaded runtime where the process
/// may use several CPUs; where it may use one (pinned with `taskset`, or a
/// container whose CPU quota is one core, which `available_parallelism` reads), a
/// single-threaded one, since the work-stealing scheduler then has nobody to share
/// with and cost ~10% of the throughput of verified requests (BENCHMARKS.md).
pub fn server_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// Logs to stderr, `RUST_LOG` to tune (default `info`; mfa-guard logs refusals at
/// `debug`, key-source trouble at `warn`). An unusable `RUST_LOG` is said, not
/// ignored; colours only when stderr is a terminal. A second call does nothing.
pub fn init_logs() {
    let (filter, bad) = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    if let Some(why) = bad {
        tracing::warn!("ignoring an unusable log filter ({why}); logging at info");
    }
}

/// The filter `RUST_LOG` asks for, or `info` and why not (a blank value counts as
/// unset).
fn log_filter(rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    match rust_log {
        Some(value) if !value.trim().is_empty() => match EnvFilter::try_new(value) {
            Ok(filter) => (filter, None),
            Err(e) => (EnvFilter::new("info"), Some(format!("RUST_LOG={value:?}: {e}"))),
        },
        _ => (EnvFilter::new("info"), None),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM: a server stops accepting and finishes
/// the requests it has.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::log_filter;

    #[test]
    fn an_unusable_log_filter_is_said_and_info_is_used() {
        let (filter, why) = log_filter(Some("mfa_guard=nonsense"));
        assert_eq!(filter.to_string(), "info");
        let why = why.expect("a bad filter is reported");
        assert!(why.starts_with("RUST_LOG=\"mfa_guard=nonsense\": "), "{why}");
    }

    #[test]
    fn a_usable_or_missing_log_filter_is_taken_silently() {
        let (filter, why) = log_filter(Some("mfa_guard_core=debug"));
        assert_eq!((filter.to_string(), why), ("mfa_guard_core=debug".to_owned(), None));
        for unset in [None, Some(""), Some("  ")] {
            let (filter, why) = log_filter(unset);
            assert_eq!((filter.to_string(), why), ("info".to_owned(), None), "{unset:?}");
        }
    }
}
