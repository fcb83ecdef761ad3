//! The caller a request was admitted for.

use std::fmt;
use std::sync::Arc;

use crate::claims::{CallerKind, Claims, KindRule};
use crate::keys::VerifyingKey;
use crate::policy::{MfaEvidence, ResolvedRoles, Role, RoleMap};
use crate::rejection::Rejection;

/// Everything learnt from one token once it is verified. Shared (`Arc`) between the
/// verified-token cache and every principal made from it; per-request policy never
/// mutates it.
pub(crate) struct VerifiedToken {
    pub(crate) claims: Claims,
    pub(crate) kind: CallerKind,
    pub(crate) kind_rule: KindRule,
    pub(crate) roles: ResolvedRoles,
    pub(crate) role_map: Arc<RoleMap>,
    pub(crate) mfa: Option<MfaEvidence>,
    /// Whether the client handles claims challenges (`xms_cc` ∋ `cp1`).
    pub(crate) cp1: bool,
    /// `exp`, seconds since the epoch.
    pub(crate) exp: i64,
    /// The key that verified the signature.
    pub(crate) key: Arc<VerifyingKey>,
}

impl VerifiedToken {
    pub(crate) fn subject(&self) -> crate::policy::Subject<'_> {
        crate::policy::Subject {
            kind: self.kind,
            mfa: self.mfa.as_ref(),
            claims: &self.claims,
            roles: self.roles,
        }
    }
}

/// The verified caller of a request.
///
/// Adapters put it in the request's extensions; handlers read it (axum and actix
/// extractors do). Cheap to clone.
#[derive(Clone)]
pub struct Principal {
    token: Arc<VerifiedToken>,
    report: Option<Rejection>,
    compliance: Option<(Arc<str>, &'static str)>,
}

impl Principal {
    pub(crate) fn new(
        token: Arc<VerifiedToken>,
        report: Option<Rejection>,
        compliance: Option<(Arc<str>, &'static str)>,
    ) -> Self {
        Self { token, report, compliance }
    }

    pub(crate) fn verified(&self) -> &VerifiedToken {
        &self.token
    }

    /// The refusal report-only mode let through: what this request would have
    /// been answered had the route been enforced. `None` when the policy admitted it.
    pub fn report_only_refusal(&self) -> Option<&Rejection> {
        self.report.as_ref()
    }

    /// Headers the adapter adds to the response it sends for this request (the
    /// compliance signal, when configured). Names are lowercase.
    pub fn response_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.compliance.as_ref().map(|(n, v)| (&**n, *v)).into_iter()
    }

    /// App+User or app-only.
    pub fn kind(&self) -> CallerKind {
        self.token.kind
    }

    /// Which rule decided [`kind`](Self::kind).
    pub fn kind_rule(&self) -> KindRule {
        self.token.kind_rule
    }

    /// `oid`: the caller's object id.
    pub fn oid(&self) -> Option<&str> {
        self.token.claims.oid()
    }

    /// `tid`: the tenant id.
    pub fn tid(&self) -> Option<&str> {
        self.token.claims.tid()
    }

    /// `sub`: the subject.
    pub fn sub(&self) -> Option<&str> {
        self.token.claims.sub()
    }

    /// `upn`, or for tokens without one `preferred_username` or `unique_name`.
    pub fn upn(&self) -> Option<&str> {
        let c = &self.token.claims;
        c.upn().or(c.preferred_username()).or(c.unique_name())
    }

    /// The roles the caller holds under the guard's role map, in map order.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        let held = self.token.roles.held;
        self.token.role_map.roles().enumerate().filter(move |(i, _)| held.contains(*i)).map(|(_, r)| r)
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &Role) -> bool {
        self.token.role_map.index_of(role).is_some_and(|i| self.token.roles.held.contains(i))
    }

    /// Whether the token shows MFA (accepted `amr`, or configured `acrs`/`acr`).
    /// Always false for app-only callers, who have no user to authenticate.
    pub fn mfa(&self) -> bool {
        self.token.mfa.is_some()
    }

    /// What showed MFA, if anything did.
    pub fn mfa_evidence(&self) -> Option<&MfaEvidence> {
        self.token.mfa.as_ref()
    }

    /// `kid` of the key that verified the token.
    pub fn kid(&self) -> Option<&str> {
        self.token.key.kid()
    }

    /// All claims.
    pub fn claims(&self) -> &Claims {
        &self.token.claims
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("kind", &self.kind())
            .field("oid", &self.oid())
            .field("tid", &self.tid())
            .field("roles", &self.roles().map(Role::name).collect::<Vec<_>>())
            .field("mfa", &self.mfa())
            .field("report_only_refusal", &self.report.as_ref().map(Rejection::code))
            .finish_non_exhaustive()
    }
}
