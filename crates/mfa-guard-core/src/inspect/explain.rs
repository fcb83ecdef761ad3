//! What one rule asks of a token's authentication, and what the token shows of it:
//! the assurance level required and the one achieved (with its evidence), the
//! freshness required against the token's `auth_time`, how the rule asks for more,
//! and its verdict with the exact refusal it would send.
//!
//! Every answer comes from the compiled rule and the policy's own decision, the
//! ones the guard runs; nothing here decides anew. Nothing is verified either (see
//! [`Inspection`]).

use std::sync::Arc;

use super::Inspection;
use crate::claims::CallerKind;
use crate::guard::Guard;
use crate::policy::{
    Access, Callers, CompiledPolicy, CompiledRule, MfaEvidence, Mode, Rank, Role, Subject, fresh,
};
use crate::rejection::{ChallengeStyle, Refusal, Rejection};
use crate::request::RequestInfo;
use crate::verify::{self, invalid};

/// One rule's requirements of a token's authentication, what the token shows of
/// them, and the rule's verdict: made by [`Inspection::explain`],
/// [`Inspection::explain_request`] and [`Inspection::explain_rules`].
///
/// The MFA facts (level, freshness) are those the rule checks of a user: where it
/// asks no MFA, or of an app-only caller, they are met by definition, as the guard
/// treats them.
#[derive(Debug, Clone)]
pub struct Explanation {
    label: Arc<str>,
    pattern: String,
    methods: Vec<String>,
    access: Access,
    callers: Callers,
    roles: Vec<Role>,
    user: bool,
    required: Option<Level>,
    achieved: Option<(Level, MfaEvidence)>,
    max_age: Option<u64>,
    auth_time: Option<i64>,
    now: i64,
    challenge: ChallengePlan,
    mode: Mode,
    verdict: Result<(), Refusal>,
    rejection: Option<Rejection>,
}

/// A level's rank (for comparing) and name (for people).
#[derive(Debug, Clone)]
struct Level {
    rank: Rank,
    name: Arc<str>,
}

/// How a rule asks for a stronger or more recent authentication when it refuses a
/// user's (`mfa_required`), with the parameters of its style, and the answer this
/// token's client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengePlan {
    style: ChallengeStyle,
    acr_values: Option<String>,
    max_age: Option<u64>,
    auth_context: Option<String>,
    authorization_uri: Option<String>,
    client_handles_claims: bool,
}

impl ChallengePlan {
    /// The rule's challenge style.
    pub fn style(&self) -> ChallengeStyle {
        self.style
    }

    /// Step-up: the `acr_values` asked for (`None` in other styles).
    pub fn acr_values(&self) -> Option<&str> {
        self.acr_values.as_deref()
    }

    /// Step-up: the `max_age` asked for, in seconds, when the rule (or the MFA
    /// policy) sets a freshness (`None` in other styles).
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age
    }

    /// Entra's claims challenge: the authentication context asked for (`None` in
    /// other styles).
    pub fn auth_context(&self) -> Option<&str> {
        self.auth_context.as_deref()
    }

    /// Entra's claims challenge: where the client authenticates again (`None` in
    /// other styles).
    pub fn authorization_uri(&self) -> Option<&str> {
        self.authorization_uri.as_deref()
    }

    /// Whether the token's client handles claims challenges (`xms_cc` holds `cp1`).
    pub fn client_handles_claims(&self) -> bool {
        self.client_handles_claims
    }

    /// The style this token's client is answered in: Entra's claims challenge goes
    /// only to clients that handle it; the others get Partner Center's answer.
    pub fn answered_with(&self) -> ChallengeStyle {
        match self.style {
            ChallengeStyle::EntraClaims if !self.client_handles_claims => ChallengeStyle::PartnerCenter,
            style => style,
        }
    }
}

impl Explanation {
    /// The rule's name in logs and metrics (its configured name, else its
    /// pattern; `fallback` for unmatched paths, `requirement` for a requirement
    /// explained alone).
    pub fn rule(&self) -> &str {
        &self.label
    }

    /// The rule's path pattern as written (`/security/*`; `/*` for the fallback and
    /// a requirement explained alone).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The methods the rule is limited to (empty: all).
    pub fn methods(&self) -> &[String] {
        &self.methods
    }

    /// The callers the rule admits.
    pub fn callers(&self) -> Callers {
        self.callers
    }

    /// The roles of which the rule requires one (empty: none).
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// How much the rule asks of the caller.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether the rule asks users for MFA.
    pub(crate) fn requires_mfa(&self) -> bool {
        self.access == Access::Mfa
    }

    /// Whether the rule checks this token's MFA: it asks for MFA and the caller is
    /// a user (app-only callers have no user to authenticate).
    pub fn mfa_applies(&self) -> bool {
        self.requires_mfa() && self.user
    }

    /// The assurance level the rule requires (`mfa`, the base level, or a stronger
    /// one of the policy's); `None` where it asks for no MFA.
    pub fn required_level(&self) -> Option<&str> {
        self.required.as_ref().map(|l| &*l.name)
    }

    /// The strongest assurance level the token shows evidence of (users only).
    pub fn achieved_level(&self) -> Option<&str> {
        self.achieved.as_ref().map(|(l, _)| &*l.name)
    }

    /// The evidence of [`achieved_level`](Self::achieved_level).
    pub fn evidence(&self) -> Option<&MfaEvidence> {
        self.achieved.as_ref().map(|(_, e)| e)
    }

    /// Whether the token achieves the required level or a stronger one (`true`
    /// where MFA does not apply).
    pub fn level_met(&self) -> bool {
        match (&self.required, &self.achieved) {
            _ if !self.mfa_applies() => true,
            (Some(required), Some((achieved, _))) => achieved.rank >= required.rank,
            _ => false,
        }
    }

    /// The freshness the rule requires, in seconds: the rule's `max_age`, else the
    /// MFA policy's; `None` where it asks for none, or for no MFA.
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age.filter(|_| self.requires_mfa())
    }

    /// The token's `auth_time`, seconds since the epoch.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// How long ago the user authenticated (`auth_time`), in seconds, at the time
    /// of the explanation.
    pub fn auth_age_secs(&self) -> Option<i64> {
        self.auth_time.map(|t| self.now.saturating_sub(t))
    }

    /// Whether the authentication is recent enough for the rule (`true` where MFA
    /// does not apply, or the rule asks no freshness; `false` without `auth_time`
    /// where it does).
    pub fn fresh(&self) -> bool {
        !self.mfa_applies() || fresh(self.max_age, self.auth_time, self.now)
    }

    /// How the rule asks for more.
    pub fn challenge(&self) -> &ChallengePlan {
        &self.challenge
    }

    /// The mode that applies now (report-only before an enforcement date).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// `Ok(())` to admit, or the refusal; on a report-only rule, the refusal it
    /// would send enforced (it lets the request through, and reports this).
    pub fn verdict(&self) -> Result<(), &Refusal> {
        self.verdict.as_ref().map(|_| ())
    }

    /// The response of a refusal, exactly as the rule sends it (status, reason,
    /// `WWW-Authenticate`, body), rendered with the rule's challenge settings for
    /// this token's client.
    pub fn rejection(&self) -> Option<&Rejection> {
        self.rejection.as_ref()
    }
}

impl Inspection {
    /// Explains, for this token, the rule that decides `method` `path` in `guard`
    /// (its route table, its challenge settings, its clock), or `None` when the
    /// path is refused before any rule is chosen. `method` is matched as given
    /// (upper case, as requests carry it).
    pub fn explain_request(&self, guard: &Guard, method: &str, path: &str) -> Option<Explanation> {
        let rule = guard.route(&RequestInfo::new(method, path)).ok()?;
        Some(self.explain_rule(guard.policy(), rule, guard.clock().now_unix()))
    }

    /// Explains every rule of `guard`'s route table for this token, in the order a
    /// request tries them (most specific first), the fallback last.
    pub fn explain_rules(&self, guard: &Guard) -> Vec<Explanation> {
        let now = guard.clock().now_unix();
        guard.policy().rules().map(|rule| self.explain_rule(guard.policy(), rule, now)).collect()
    }

    /// The explanation of `rule` of `policy` at `now`. The time claims are checked
    /// as the guard does, with the default leeway and no lifetime limit.
    pub(super) fn explain_rule(&self, policy: &CompiledPolicy, rule: &CompiledRule, now: i64) -> Explanation {
        let req = &rule.requirement;
        let kind = self.caller_kind().map(|(kind, _)| kind);
        let facts = kind.ok().map(|kind| policy.facts(&self.claims, kind));
        let level = |rank: Rank| Level {
            rank,
            name: policy.levels.names().get(usize::from(rank)).cloned().unwrap_or_else(|| Arc::from("?")),
        };
        let achieved =
            facts.as_ref().and_then(|f| f.assurance.clone()).map(|(rank, evidence)| (level(rank), evidence));
        // The same test as the guard's (VerifiedToken::of).
        let cp1 = self.claims.xms_cc().is_some_and(|c| c.iter().any(|v| v == "cp1"));
        let verdict = if rule.is_public() {
            Ok(())
        } else {
            verify::check_times(&self.claims, now, verify::DEFAULT_LEEWAY_SECS as i64, None)
                .and_then(|()| kind.map_err(invalid))
                .and_then(|kind| {
                    let facts = facts.as_ref().map_or_else(|| policy.facts(&self.claims, kind), Clone::clone);
                    let subject = Subject {
                        kind,
                        level: facts.assurance.map(|(rank, _)| rank),
                        auth_time: facts.auth_time,
                        roles: facts.roles,
                    };
                    let decision = policy.authorize(rule, &subject, &|| &self.claims, now);
                    decision.refusal.or(decision.reported).map_or(Ok(()), Err)
                })
        };
        let rejection = verdict.as_ref().err().map(|refusal| rule.challenges.reject(refusal.clone(), cp1));
        let c = &*rule.challenges;
        let step_up = c.style == ChallengeStyle::StepUp;
        let entra = c.style == ChallengeStyle::EntraClaims;
        Explanation {
            label: Arc::clone(&rule.label),
            pattern: rule.pattern().to_string(),
            methods: rule.methods().to_vec(),
            access: req.access,
            callers: req.callers,
            roles: req.role_names.clone(),
            user: kind.is_ok_and(|k| k == CallerKind::User),
            required: (req.access == Access::Mfa).then(|| level(req.level)),
            achieved,
            max_age: req.max_age,
            auth_time: self.claims.auth_time().map(|t| t.unix()),
            now,
            challenge: ChallengePlan {
                style: c.style,
                acr_values: c.acr_values.clone().filter(|_| step_up),
                max_age: c.max_age.filter(|_| step_up),
                auth_context: c.auth_context.clone().filter(|_| entra),
                authorization_uri: c.authorization_uri.clone().filter(|_| entra),
                client_handles_claims: cp1,
            },
            mode: req.effective_mode(now),
            verdict,
            rejection,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::policy::{AssuranceLevel, Policy, Requirement};
    use crate::rejection::RejectionCode;
    use crate::test_issuer::{DEV_AUDIENCE, DevIssuer};

    const TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";

    fn issuer() -> &'static DevIssuer {
        static ISSUER: std::sync::OnceLock<DevIssuer> = std::sync::OnceLock::new();
        ISSUER.get_or_init(|| DevIssuer::generate(TEMPLATE).unwrap())
    }

    fn now() -> i64 {
        crate::time::Clock::now_unix(&crate::time::SystemClock)
    }

    /// Security: phishing-resistant (`acrs` ∋ `c2`) within an hour, asked for with
    /// Entra's claims challenge; Billing: any MFA within ten minutes, asked for
    /// with RFC 9470; everything else as the Partner Center preset.
    fn guard() -> Guard {
        Guard::builder()
            .verifier(|v| v.issuer(TEMPLATE).keys(issuer().key_source().unwrap()).audience(DEV_AUDIENCE))
            .policy(
                Policy::partner_center()
                    .assurance_level(AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]))
                    .route(
                        "/security/*",
                        Requirement::mfa()
                            .any_role([Role::AdminAgent, Role::SecurityAdmin])
                            .assurance("phishing-resistant")
                            .max_age(Duration::from_secs(3600))
                            .challenge("entra:c2".parse().unwrap()),
                    )
                    .route(
                        "/billing/*",
                        Requirement::mfa()
                            .any_role([Role::AdminAgent])
                            .max_age(Duration::from_secs(600))
                            .challenge("step-up:c1".parse().unwrap()),
                    ),
            )
            .build()
            .unwrap()
    }

    fn explain(token: &str, path: &str) -> Explanation {
        Inspection::decode(token).unwrap().explain_request(&guard(), "GET", path).unwrap()
    }

    /// What the guard itself answers the same request.
    fn guards_answer(token: &str, path: &str) -> Result<(), Rejection> {
        let header = format!("Bearer {token}");
        let req = RequestInfo::new("GET", path).with_authorization(header.as_bytes());
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(guard().check(&req)).into_result().map(|_| ())
    }

    #[test]
    fn a_token_that_meets_the_level_and_the_freshness_is_explained_as_admitted() {
        let token = issuer().user().claim("acrs", json!(["c2"])).claim("auth_time", json!(now() - 60));
        let e = explain(&token.sign().unwrap(), "/security/alerts");
        assert_eq!((e.rule(), e.pattern(), e.methods()), ("/security/*", "/security/*", &[][..]));
        assert_eq!((e.callers(), e.roles()), (Callers::Users, &[Role::AdminAgent, Role::SecurityAdmin][..]));
        assert!(e.requires_mfa() && e.mfa_applies());
        assert_eq!(e.required_level(), Some("phishing-resistant"));
        assert_eq!(e.achieved_level(), Some("phishing-resistant"));
        assert_eq!(e.evidence(), Some(&MfaEvidence::AuthContext(Arc::from("c2"))));
        assert!(e.level_met());
        assert_eq!(e.max_age_secs(), Some(3600));
        assert!(e.auth_age_secs().is_some_and(|age| (60..70).contains(&age)), "{:?}", e.auth_age_secs());
        assert!(e.fresh());
        assert_eq!(e.verdict(), Ok(()));
        assert!(e.rejection().is_none());
        assert_eq!(e.mode(), Mode::Enforce);
    }

    #[test]
    fn a_token_short_of_the_level_gets_the_rules_challenge_or_partner_centers_without_cp1() {
        let plain = issuer().user().claim("auth_time", json!(now() - 60)).sign().unwrap();
        let e = explain(&plain, "/security/alerts");
        assert_eq!((e.required_level(), e.achieved_level()), (Some("phishing-resistant"), Some("mfa")));
        assert_eq!(e.evidence(), Some(&MfaEvidence::Amr(Arc::from("mfa"))));
        assert!(!e.level_met() && e.fresh());
        assert_eq!(e.verdict().unwrap_err().code(), RejectionCode::MfaRequired);
        let plan = e.challenge();
        assert_eq!(plan.style(), ChallengeStyle::EntraClaims);
        assert_eq!(plan.auth_context(), Some("c2"));
        assert_eq!(plan.authorization_uri(), Some(crate::rejection::ENTRA_AUTHORIZATION_URI));
        assert_eq!((plan.acr_values(), plan.max_age_secs()), (None, None));
        assert!(!plan.client_handles_claims());
        assert_eq!(plan.answered_with(), ChallengeStyle::PartnerCenter);
        // The rejection is the guard's own, byte for byte.
        let theirs = guards_answer(&plain, "/security/alerts").unwrap_err();
        let ours = e.rejection().unwrap();
        assert_eq!(ours.www_authenticate(), Some(r#"Bearer error="invalid_token""#));
        assert_eq!((ours.status(), ours.www_authenticate()), (theirs.status(), theirs.www_authenticate()));
        assert_eq!(ours.body(), theirs.body());

        let cp1 = issuer().user().claim("xms_cc", json!(["cp1"])).claim("auth_time", json!(now() - 60));
        let cp1 = cp1.sign().unwrap();
        let e = explain(&cp1, "/security/alerts");
        assert!(e.challenge().client_handles_claims());
        assert_eq!(e.challenge().answered_with(), ChallengeStyle::EntraClaims);
        let www = e.rejection().unwrap().www_authenticate().unwrap();
        assert!(www.contains(r#"error="insufficient_claims""#), "{www}");
        assert_eq!(Some(www), guards_answer(&cp1, "/security/alerts").unwrap_err().www_authenticate());
    }

    #[test]
    fn a_token_too_old_for_the_rule_is_asked_to_step_up_with_the_rules_max_age() {
        let old = issuer().user().claim("auth_time", json!(now() - 1200)).sign().unwrap();
        let e = explain(&old, "/billing/invoices");
        assert_eq!((e.required_level(), e.achieved_level()), (Some("mfa"), Some("mfa")));
        assert!(e.level_met() && !e.fresh());
        assert_eq!(e.max_age_secs(), Some(600));
        assert!(e.auth_age_secs().is_some_and(|age| age >= 1200));
        let plan = e.challenge();
        assert_eq!(plan.style(), ChallengeStyle::StepUp);
        assert_eq!((plan.acr_values(), plan.max_age_secs()), (Some("c1"), Some(600)));
        assert_eq!((plan.auth_context(), plan.answered_with()), (None, ChallengeStyle::StepUp));
        let www = e.rejection().unwrap().www_authenticate().unwrap();
        assert_eq!(Some(www), guards_answer(&old, "/billing/invoices").unwrap_err().www_authenticate());
        assert!(www.ends_with(r#"acr_values="c1", max_age="600""#), "{www}");
        // Without auth_time a freshness cannot be met.
        let unknown = explain(&issuer().user().sign().unwrap(), "/billing/invoices");
        assert_eq!((unknown.auth_time(), unknown.fresh()), (None, false));
    }

    #[test]
    fn routes_without_a_level_of_their_own_ask_for_plain_mfa_the_guards_way() {
        let e = explain(&issuer().user().mfa(false).sign().unwrap(), "/commerce/customers");
        assert_eq!((e.required_level(), e.achieved_level(), e.max_age_secs()), (Some("mfa"), None, None));
        assert!(!e.level_met() && e.fresh());
        assert_eq!(e.challenge().style(), ChallengeStyle::PartnerCenter);
        assert_eq!(e.rejection().unwrap().reason_phrase(), Some(crate::MFA_REQUIRED_REASON));
        // A route that asks no MFA has no level; an app-only caller none to meet.
        let e = explain(&issuer().user().mfa(false).sign().unwrap(), "/overview");
        assert_eq!((e.requires_mfa(), e.required_level(), e.verdict()), (false, None, Ok(())));
        let app = explain(&issuer().app().sign().unwrap(), "/v1/catalog/prices");
        assert!(app.requires_mfa() && !app.mfa_applies() && app.level_met() && app.fresh());
        assert_eq!(app.achieved_level(), None);
    }

    #[test]
    fn every_rule_of_the_table_is_explained_in_the_order_requests_try_them() {
        let token = Inspection::decode(&issuer().user().sign().unwrap()).unwrap();
        let rules = token.explain_rules(&guard());
        let labels: Vec<&str> = rules.iter().map(Explanation::rule).collect();
        assert_eq!(labels.first(), Some(&"support-customer-requests"));
        assert_eq!(labels.last(), Some(&"fallback"));
        assert_eq!(rules.last().unwrap().pattern(), "/*");
        let security = rules.iter().find(|e| e.pattern() == "/security/*").unwrap();
        assert_eq!(security.required_level(), Some("phishing-resistant"));
        // A path refused before any rule is chosen has no rule to explain.
        assert!(token.explain_request(&guard(), "GET", "/commerce/a%2Fb").is_none());
    }

    #[test]
    fn a_requirement_alone_is_explained_with_the_default_challenge() {
        let token = Inspection::decode(&issuer().user().mfa(false).sign().unwrap()).unwrap();
        let e = token.explain(&Policy::partner_center(), &Requirement::mfa(), now()).unwrap();
        assert_eq!((e.rule(), e.pattern()), ("requirement", "/*"));
        assert_eq!(e.verdict().unwrap_err().code(), RejectionCode::MfaRequired);
        assert_eq!(e.rejection().unwrap().www_authenticate(), Some(r#"Bearer error="invalid_token""#));
        let unknown = Requirement::mfa().assurance("nope");
        let refusal = token.explain(&Policy::partner_center(), &unknown, now()).unwrap_err();
        assert_eq!(refusal.code(), RejectionCode::InvalidRequest);
    }
}
