//! Exit codes, and the one-line error (with a hint) a command fails with.
//!
//! The codes are part of the tool's interface: scripts branch on them, so each
//! outcome that a caller would handle differently has its own.

use std::fmt;
use std::process::ExitCode;

use mfa_guard_core::RejectionCode;

/// How the process ends. The numbers are documented in `mfa-guard --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: the token passed (`verify`, `check`), or was decoded (`inspect`).
    Ok,
    /// 1: the command could not run (unreadable file, bad configuration, port in use).
    Error,
    /// 2: bad arguments (clap's own usage errors use 2 as well).
    Usage,
    /// 3: no token, or an invalid one (malformed, forged, expired, wrong issuer or
    /// audience, unknown key), or a malformed Authorization header.
    InvalidToken,
    /// 4: a user token without MFA where MFA is required.
    MfaRequired,
    /// 5: forbidden: app-only token on a user-only route, required role missing,
    /// group membership unknown, a claim check of the application's not holding.
    Forbidden,
    /// 6: the issuer's signing keys could not be had.
    KeysUnavailable,
}

impl Exit {
    /// The exit status for a refusal of the guard.
    pub(crate) fn for_code(code: RejectionCode) -> Self {
        match code {
            RejectionCode::MfaRequired => Exit::MfaRequired,
            RejectionCode::AppOnlyNotAllowed
            | RejectionCode::InsufficientRole
            | RejectionCode::GroupsOverage
            | RejectionCode::ClaimCheckFailed => Exit::Forbidden,
            RejectionCode::KeySourceUnavailable => Exit::KeysUnavailable,
            // Missing token, invalid token, invalid request, and any code added later:
            // the caller is not authenticated.
            _ => Exit::InvalidToken,
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::InvalidToken => 3,
            Exit::MfaRequired => 4,
            Exit::Forbidden => 5,
            Exit::KeysUnavailable => 6,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The text of `--help`'s exit-code table.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok: the token passed (verify, check) or was decoded (inspect)
  1  error: the command could not run (unreadable file, bad configuration, port in use)
  2  usage: bad arguments
  3  invalid token: none, malformed, forged, expired, wrong issuer/audience, unknown key
  4  MFA required: a user token without multi-factor authentication
  5  forbidden: app-only token on a user-only route, or a required role missing
  6  keys unavailable: the issuer's signing keys could not be fetched";

/// Why a command failed: one line, a hint saying what to do, and the exit status.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) exit: Exit,
}

impl Failure {
    /// A failure of the command itself (exit 1).
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, exit: Exit::Error }
    }

    /// A usage mistake (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, exit: Exit::Usage }
    }

    /// A token that cannot be read (exit 3).
    pub(crate) fn invalid_token(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, exit: Exit::InvalidToken }
    }

    /// Adds the hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}
