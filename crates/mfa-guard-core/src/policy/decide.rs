//! The decision: what a compiled rule says of a verified caller — caller kind
//! allowed → MFA → roles → the application's own claim checks — and the MFA
//! compliance signal.

use super::compiled::{CompiledPolicy, CompiledRequirement, CompiledRule};
use super::{Access, Callers, MfaEvidence, Mode, Rank, ResolvedRoles, Role};
use crate::claims::{CallerKind, Claims};
use crate::rejection::{Refusal, RejectionCode};

/// What the route policy decided for a verified caller.
#[derive(Debug)]
pub(crate) struct Decision {
    /// The refusal to send.
    pub(crate) refusal: Option<Refusal>,
    /// A refusal report-only mode let through.
    pub(crate) reported: Option<Refusal>,
    /// The mode that applied.
    pub(crate) mode: Mode,
}

/// What the route policy reads of a token, resolved once per token (and kept in
/// the verified-token cache): its roles under the role map, its MFA evidence (users
/// only), its `auth_time`. The guard and `inspect` both get them here.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) roles: ResolvedRoles,
    /// The strongest assurance level shown (users only), with its evidence.
    pub(crate) assurance: Option<(Rank, MfaEvidence)>,
    pub(crate) auth_time: Option<i64>,
}
impl CompiledPolicy {
    /// The facts of a token of caller `kind`.
    pub(crate) fn facts(&self, claims: &crate::claims::Claims, kind: CallerKind) -> Facts {
        Facts {
            roles: self.role_index.resolve(claims),
            assurance: if kind == CallerKind::User { self.levels.achieved(claims) } else { None },
            auth_time: claims.auth_time().map(|t| t.unix()),
        }
    }
}

/// What route policy looks at: the caller, the assurance level it achieved, its
/// `auth_time` (for freshness) and its resolved roles. Built from a verified token,
/// or from an unverified one by tools that explain a verdict.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject {
    pub(crate) kind: CallerKind,
    /// The strongest assurance level shown; `None`: no MFA at all.
    pub(crate) level: Option<Rank>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) roles: ResolvedRoles,
}

/// Whether a request met its rule's MFA requirement, missed it, or was not asked:
/// the compliance header's value, and what the adoption counts count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compliance {
    /// The requirement was met (`satisfied`).
    Met,
    /// The requirement was not met (`missing`).
    Missed,
    /// The rule requires no MFA (`not-required`).
    NotRequired,
    /// An app-only caller: no user to authenticate (`not-applicable`).
    NotApplicable,
}

impl Compliance {
    /// The compliance header's value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Compliance::Met => "satisfied",
            Compliance::Missed => "missing",
            Compliance::NotRequired => "not-required",
            Compliance::NotApplicable => "not-applicable",
        }
    }
}

impl CompiledPolicy {
    /// What `rule` decides for a verified caller at `now`. `claims` gives the
    /// caller's claims, asked for only by rules with claim checks (on a cache hit
    /// they are parsed then).
    pub(crate) fn authorize<'c>(
        &self,
        rule: &CompiledRule,
        token: &Subject,
        claims: &dyn Fn() -> &'c Claims,
        now: i64,
    ) -> Decision {
        let mode = rule.requirement.effective_mode(now);
        match self.authorize_rule(&rule.requirement, token, claims, now) {
            Ok(()) => Decision { refusal: None, reported: None, mode },
            Err(refusal) if mode == Mode::ReportOnly && refusal.code.is_policy_refusal() => {
                Decision { refusal: None, reported: Some(refusal), mode }
            }
            Err(refusal) => Decision { refusal: Some(refusal), reported: None, mode },
        }
    }

    /// Whether the token satisfied MFA for `rule`: `satisfied` or `missing` where
    /// MFA is required, `not-required` elsewhere, `not-applicable` for app-only
    /// callers (who have no user).
    pub(crate) fn compliance(&self, rule: &CompiledRule, token: &Subject, now: i64) -> Compliance {
        if token.kind == CallerKind::App {
            return Compliance::NotApplicable;
        }
        if rule.requirement.access != Access::Mfa {
            return Compliance::NotRequired;
        }
        let strong = token.level.is_some_and(|l| l >= rule.requirement.level);
        if strong && fresh(rule.requirement.max_age, token.auth_time, now) {
            Compliance::Met
        } else {
            Compliance::Missed
        }
    }

    fn authorize_rule<'c>(
        &self,
        req: &CompiledRequirement,
        token: &Subject,
        claims: &dyn Fn() -> &'c Claims,
        now: i64,
    ) -> Result<(), Refusal> {
        if req.access == Access::Public {
            return Ok(());
        }
        if token.kind == CallerKind::App && req.callers == Callers::Users {
            return Err(Refusal::new(
                RejectionCode::AppOnlyNotAllowed,
                "this operation needs a signed-in user (an App+User token); app-only tokens are not accepted here",
            ));
        }
        if req.access == Access::Mfa && token.kind == CallerKind::User {
            match token.level {
                None => {
                    return Err(Refusal::new(RejectionCode::MfaRequired, self.mfa_missing_detail(req.level)));
                }
                Some(shown) if shown < req.level => {
                    return Err(Refusal::new(
                        RejectionCode::MfaRequired,
                        self.level_missing_detail(req.level),
                    ));
                }
                Some(_) => {}
            }
            if !fresh(req.max_age, token.auth_time, now) {
                return Err(Refusal::new(
                    RejectionCode::MfaRequired,
                    "this operation requires a recent multi-factor sign-in; sign in again with MFA",
                ));
            }
        }
        if !req.roles.is_empty() && !token.roles.held.intersects(req.roles) {
            let names = req.role_names.iter().map(Role::name).collect::<Vec<_>>().join(", ");
            if token.roles.unknown.intersects(req.roles) {
                return Err(Refusal::new(
                    RejectionCode::GroupsOverage,
                    format!(
                        "this operation requires one of the roles {names}; the token's group membership did not fit in it (groups overage), so membership is unknown"
                    ),
                ));
            }
            return Err(Refusal::new(
                RejectionCode::InsufficientRole,
                format!("this operation requires one of the roles {names}"),
            ));
        }
        if !req.checks.is_empty() {
            let claims = claims();
            if let Some(failed) = req.checks.iter().find(|c| !(c.check)(claims)) {
                return Err(Refusal::new(
                    RejectionCode::ClaimCheckFailed,
                    format!("this operation requires {}", failed.name),
                ));
            }
        }
        Ok(())
    }

    fn mfa_missing_detail(&self, level: Rank) -> String {
        if level > 0 {
            return self.level_missing_detail(level);
        }
        let amr = self.mfa.accepted_amr().join(" or ");
        format!(
            "this operation requires multi-factor authentication: the access token's amr claim does not contain {amr}; sign in again with MFA"
        )
    }

    /// The refusal's words for a level above the base one: its name and what
    /// proves it.
    fn level_missing_detail(&self, level: Rank) -> String {
        let mut ways = Vec::new();
        for evidence in self.levels.evidence_of(level) {
            let list = |claim: &str, values: &[std::sync::Arc<str>], ways: &mut Vec<String>| {
                if !values.is_empty() {
                    ways.push(format!("{claim} {}", values.join(" or ")));
                }
            };
            list("amr", evidence.amr(), &mut ways);
            list("acrs", evidence.acrs(), &mut ways);
            list("acr", evidence.acr(), &mut ways);
        }
        format!(
            "this operation requires the assurance level {}: the token shows none of {}; sign in again with a stronger method",
            self.levels.name(level),
            ways.join(", ")
        )
    }
}

/// Whether an authentication at `auth_time` is recent enough for `max_age` at
/// `now` (always, without `max_age`; never, without `auth_time` when it is set).
pub(crate) fn fresh(max_age: Option<u64>, auth_time: Option<i64>, now: i64) -> bool {
    match max_age {
        None => true,
        Some(max) => {
            auth_time.is_some_and(|t| now.saturating_sub(t) <= i64::try_from(max).unwrap_or(i64::MAX))
        }
    }
}
