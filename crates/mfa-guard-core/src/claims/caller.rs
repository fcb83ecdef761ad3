//! Who is calling: a user through an application (App+User), or an application on
//! its own (app-only).

use std::fmt;

use super::Claims;

/// The kind of caller a token represents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CallerKind {
    /// App+User: an application acting for a signed-in user (delegated access).
    User,
    /// App-only: an application acting as itself (client credentials); no user, no MFA.
    App,
}

impl CallerKind {
    /// `user` or `app`, as in response bodies and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            CallerKind::User => "user",
            CallerKind::App => "app",
        }
    }
}

impl fmt::Display for CallerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which rule decided the caller kind (shown by tools explaining a verdict).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KindRule {
    /// The `idtyp` claim said `app` or `user`.
    Idtyp,
    /// No `idtyp`; the token carries delegated scopes (`scp`).
    Scopes,
    /// No `idtyp`, no `scp`; the token carries `roles` and `oid` equals `sub`.
    RolesWithOidEqualsSub,
    /// A browser session: the user signed in through the identity provider (an
    /// ID token), so the caller is a user.
    Session,
}

impl KindRule {
    /// A short human explanation of the rule.
    pub fn explain(self) -> &'static str {
        match self {
            KindRule::Idtyp => "the idtyp claim names the caller type",
            KindRule::Scopes => "no idtyp; the token carries delegated scopes (scp)",
            KindRule::RolesWithOidEqualsSub => "no idtyp or scp; it carries roles and oid equals sub",
            KindRule::Session => "a browser session signed in through the identity provider",
        }
    }
}

impl Claims {
    /// Decides the caller kind, in this order:
    ///
    /// 1. `idtyp` = `app` or `user` decides (any other value is refused: a caller
    ///    type this engine does not know must not be guessed);
    /// 2. else `scp` present (non-empty) → App+User;
    /// 3. else `roles` present and `oid` == `sub` → app-only;
    /// 4. else the token is refused.
    ///
    /// The error is a description for `invalid_token`.
    pub fn caller_kind(&self) -> Result<(CallerKind, KindRule), &'static str> {
        match self.idtyp.as_deref() {
            Some("app") => return Ok((CallerKind::App, KindRule::Idtyp)),
            Some("user") => return Ok((CallerKind::User, KindRule::Idtyp)),
            Some(_) => return Err("the idtyp claim names an unknown caller type"),
            None => {}
        }
        if self.scp.as_ref().is_some_and(|s| !s.is_empty()) {
            return Ok((CallerKind::User, KindRule::Scopes));
        }
        if self.roles.is_some() {
            return match (self.oid.as_deref(), self.sub.as_deref()) {
                (Some(oid), Some(sub)) if oid == sub => {
                    Ok((CallerKind::App, KindRule::RolesWithOidEqualsSub))
                }
                _ => Err("the token carries roles but no scp, and its oid does not equal its sub"),
            };
        }
        Err("the token carries neither delegated scopes (scp) nor application roles (roles)")
    }
}
