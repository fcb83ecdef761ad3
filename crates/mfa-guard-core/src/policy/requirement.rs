//! [`Requirement`]: what one route asks of its caller.

use std::fmt;
use std::sync::Arc;

use super::{Access, Callers, Mode, Role};
use crate::claims::Claims;
use crate::rejection::Challenge;

/// What a route requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub(super) access: Access,
    pub(super) callers: Callers,
    pub(super) roles: Vec<Role>,
    pub(super) checks: Vec<ClaimCheck>,
    pub(super) mode: Option<Mode>,
    pub(super) enforce_from: Option<i64>,
    pub(super) assurance: Option<Arc<str>>,
    pub(super) max_age: Option<u64>,
    pub(super) challenge: Option<Challenge>,
}

/// A check of the caller's claims written by the application
/// ([`Requirement::claims_check`]). Two checks are equal when they are the same
/// check (the same closure, shared), whatever their names.
#[derive(Clone)]
pub(crate) struct ClaimCheck {
    pub(crate) name: Arc<str>,
    pub(crate) check: Arc<dyn Fn(&Claims) -> bool + Send + Sync>,
}

impl PartialEq for ClaimCheck {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.check, &other.check)
    }
}

impl Eq for ClaimCheck {}

impl fmt::Debug for ClaimCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClaimCheck").field(&self.name).finish()
    }
}

impl Requirement {
    /// Anyone, no token needed.
    pub fn public() -> Self {
        Self {
            access: Access::Public,
            callers: Callers::UsersAndApps,
            roles: Vec::new(),
            checks: Vec::new(),
            mode: None,
            enforce_from: None,
            assurance: None,
            max_age: None,
            challenge: None,
        }
    }

    /// Any valid token, user or app, no MFA.
    pub fn authenticated() -> Self {
        Self {
            access: Access::Authenticated,
            callers: Callers::UsersAndApps,
            roles: Vec::new(),
            checks: Vec::new(),
            mode: None,
            enforce_from: None,
            assurance: None,
            max_age: None,
            challenge: None,
        }
    }

    /// A user token with MFA (app-only tokens refused; see [`allow_apps`](Self::allow_apps)).
    pub fn mfa() -> Self {
        Self {
            access: Access::Mfa,
            callers: Callers::Users,
            roles: Vec::new(),
            checks: Vec::new(),
            mode: None,
            enforce_from: None,
            assurance: None,
            max_age: None,
            challenge: None,
        }
    }

    /// Admits app-only callers too.
    #[must_use]
    pub fn allow_apps(mut self) -> Self {
        self.callers = Callers::UsersAndApps;
        self
    }

    /// Admits only App+User callers.
    #[must_use]
    pub fn users_only(mut self) -> Self {
        self.callers = Callers::Users;
        self
    }

    /// Requires any one of these roles.
    #[must_use]
    pub fn any_role<I: IntoIterator<Item = Role>>(mut self, roles: I) -> Self {
        self.roles = roles.into_iter().collect();
        self
    }

    /// Also requires `check` to hold for the caller's claims: the application's own
    /// rule (a tenant, a scope, a custom claim), run after caller kind, MFA and
    /// roles on every request the route admits, cached tokens included (their
    /// claims are then parsed, about a microsecond). A caller for whom it does not
    /// hold is refused with `403 Forbidden`, `Bearer error="insufficient_scope"`
    /// and code `claim_check_failed`, whose description says "this operation
    /// requires `name`" — so `name` should read as what is missing, and must not
    /// hold secrets. Like every policy refusal it is only reported on report-only
    /// routes.
    ///
    /// ```
    /// use mfa_guard_core::{Requirement, Role};
    ///
    /// let reports = Requirement::mfa()
    ///     .any_role([Role::AdminAgent])
    ///     .claims_check("a token issued for the reporting app", |claims| {
    ///         claims.appid() == Some("4c3e7a9b-0000-1111-2222-333344445555")
    ///     });
    /// # let _ = reports;
    /// ```
    #[must_use]
    pub fn claims_check(
        mut self,
        name: impl Into<String>,
        check: impl Fn(&Claims) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.checks.push(ClaimCheck { name: name.into().into(), check: Arc::new(check) });
        self
    }

    /// Requires the assurance level named `level` (see
    /// [`AssuranceLevel`](crate::AssuranceLevel)) instead of the base level `mfa`:
    /// user callers must show its evidence or a stronger level's. Implies MFA
    /// access. Building the guard fails when the policy does not define the level.
    #[must_use]
    pub fn assurance(mut self, level: impl Into<String>) -> Self {
        self.access = Access::Mfa;
        self.assurance = Some(Arc::from(level.into()));
        self
    }

    /// Requires the user to have authenticated (`auth_time`, for bearer tokens and
    /// browser sessions alike) at most `max_age` ago on this route, instead of the
    /// MFA policy's freshness; a step-up challenge then carries it as `max_age`.
    /// Whole seconds; only meaningful where MFA is required.
    #[must_use]
    pub fn max_age(mut self, max_age: std::time::Duration) -> Self {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// How this route asks for more when the caller's MFA is missing, too weak or
    /// too old, instead of the guard's challenge style.
    #[must_use]
    pub fn challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// The assurance level required, if not the base level.
    pub fn assurance_level(&self) -> Option<&str> {
        self.assurance.as_deref()
    }

    /// The route's own freshness, in seconds, if set.
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age
    }

    /// Sets the mode of this requirement (default: the policy's default mode).
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Report-only: policy refusals are recorded, not sent.
    #[must_use]
    pub fn report_only(self) -> Self {
        self.mode(Mode::ReportOnly)
    }

    /// Report-only before `unix_seconds`, enforced from it: a rollout date in
    /// configuration rather than in a deploy. Overrides [`mode`](Self::mode).
    #[must_use]
    pub fn enforce_from(mut self, unix_seconds: i64) -> Self {
        self.enforce_from = Some(unix_seconds);
        self
    }

    /// The mode set on this requirement, if any.
    #[cfg(test)]
    pub(crate) fn mode_setting(&self) -> Option<Mode> {
        self.mode
    }

    /// The enforcement date, seconds since the epoch, if any.
    #[cfg(test)]
    pub(crate) fn enforce_from_unix(&self) -> Option<i64> {
        self.enforce_from
    }

    /// The access level.
    pub fn access(&self) -> Access {
        self.access
    }

    /// The callers admitted.
    pub fn callers(&self) -> Callers {
        self.callers
    }

    /// The roles of which one is required (none: no role needed).
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }
}
