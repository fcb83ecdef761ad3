//! `mfa-guard revoke`: signs a user out everywhere (`--sub`), or ends one session
//! (`--session`), in the session store the servers share. Every replica following
//! the store refuses the sessions within a second.

use std::time::Duration;

use mfa_guard_core::revocation::{Revocations, SessionId, StoreErrorKind, StoreSettings};
use mfa_guard_core::{Clock as _, SystemClock};

use crate::exit::{Exit, Failure};
use crate::style::Style;

/// What to revoke.
#[derive(Debug)]
pub(crate) enum Target {
    /// Every session of this user signed in until now.
    User(String),
    /// One session id, as the servers log it (22 characters of base64url).
    Session(String),
}

#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) target: Target,
    /// `--store`, else `MFA_SESSION_STORE`.
    pub(crate) store: Option<String>,
    /// `MFA_SESSION_STORE_PASSWORD` (never an argument: arguments are visible to
    /// every user of the machine).
    pub(crate) password: Option<String>,
    pub(crate) prefix: Option<String>,
    /// How long the revocation is kept: at least the servers' absolute session
    /// lifetime.
    pub(crate) keep: Duration,
}

pub(crate) async fn run(options: &Options, out: Style) -> Result<Exit, Failure> {
    let store = options.store.as_deref().ok_or_else(|| {
        Failure::usage("no session store: pass --store redis://host:port/db or set MFA_SESSION_STORE")
    })?;
    let mut settings = StoreSettings::parse(store).map_err(|e| Failure::usage(e.to_string()))?;
    if let Some(password) = &options.password {
        settings = settings.password(password.clone());
    }
    if let Some(prefix) = &options.prefix {
        settings = settings.prefix(prefix.clone()).map_err(|e| Failure::usage(e.to_string()))?;
    }
    // Checked before connecting: a typo is a usage error, not a store error.
    let target = match &options.target {
        Target::Session(text) => {
            Revoke::Session(SessionId::parse(text.trim()).map_err(|e| Failure::usage(e.to_string()))?)
        }
        Target::User(sub) if sub.trim().is_empty() => return Err(Failure::usage("--sub is empty")),
        Target::User(sub) => Revoke::User(sub),
    };
    let shown = settings.to_string();
    let prefix = settings.key_prefix().to_owned();
    let store = Revocations::writer(settings).await.map_err(|e| match e.kind() {
        StoreErrorKind::InvalidUrl => Failure::usage(e.to_string()),
        _ => Failure::error(e.to_string()).hint("are the store's address, database and password right?"),
    })?;
    let now = SystemClock.now_unix();
    let until = now.saturating_add(i64::try_from(options.keep.as_secs()).unwrap_or(i64::MAX));
    let what = match target {
        Revoke::Session(sid) => {
            store.revoke_session(&sid, until).await.map_err(|e| Failure::error(e.to_string()))?;
            format!("revoked session {sid}")
        }
        Revoke::User(sub) => {
            store.revoke_user(sub, now, until).await.map_err(|e| Failure::error(e.to_string()))?;
            format!("revoked every session of {sub} signed in until now")
        }
    };
    println!("{} {what} in {shown} (prefix {prefix}), kept {}s", out.good("ok:"), options.keep.as_secs());
    Ok(Exit::Ok)
}

/// `--keep`: a duration in words or seconds, more than zero.
pub(crate) fn parse_keep(text: &str) -> Result<Duration, String> {
    match mfa_guard_core::config::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("a revocation kept for no time revokes nothing".to_owned()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

enum Revoke<'a> {
    User(&'a str),
    Session(SessionId),
}
