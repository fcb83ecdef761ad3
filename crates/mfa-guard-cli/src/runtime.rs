//! The async runtimes of the commands, and the shutdown signal of the servers.

use crate::exit::Failure;

/// One thread: for commands that make a few requests.
pub(crate) fn current_thread() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))
}

/// For `serve`: tokio's multi-threaded runtime where the process may use several
/// CPUs, a single-threaded one where it may use one (a pinned process, a container
/// with a one-core quota), where work stealing only costs (BENCHMARKS.md measured
/// ~10% of verified throughput for the axum example).
pub(crate) fn for_servers() -> Result<tokio::runtime::Runtime, Failure> {
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build().map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
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
