//! Standard output, for every command that prints.
//!
//! A reader that stops reading (`mfa-guard inspect --json | head`) closes the
//! pipe. What is left to print then has nowhere to go, and that is not an error:
//! the command ends as it would have, quietly, with the exit status of its outcome
//! (a script reading `verify`'s status through `| head` still learns "MFA required").
//! `println!` panics there instead ("failed printing to stdout: Broken pipe"): Rust
//! ignores SIGPIPE, so the write returns `EPIPE`. The servers (`serve`,
//! `dev-issuer`) print only their addresses, and keep serving when nobody reads them.
//! Any other failure to write (a full disk) is an error, exit 1.

use std::io::{ErrorKind, Write as _};

use crate::exit::Failure;

/// Writes `text` to standard output and flushes it (so a failure is seen here, not
/// lost at exit). A closed pipe is not an error.
pub(crate) fn print(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => {
            Err(Failure::error(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// `println!` through [`print()`]: evaluates to `Result<(), Failure>`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::out::print(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use outln;
