//! Logs of `serve`: to stderr, `RUST_LOG` to tune (default `info`); an unusable
//! filter is said, not ignored; colours only on a terminal.

pub(crate) fn init() {
    use std::io::IsTerminal as _;
    let (filter, bad) = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => match tracing_subscriber::EnvFilter::try_new(&value) {
            Ok(filter) => (filter, None),
            Err(e) => (tracing_subscriber::EnvFilter::new("info"), Some(format!("RUST_LOG={value:?}: {e}"))),
        },
        _ => (tracing_subscriber::EnvFilter::new("info"), None),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    if let Some(why) = bad {
        tracing::warn!("ignoring an unusable log filter ({why}); logging at info");
    }
}
