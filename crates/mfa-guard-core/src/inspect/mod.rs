//! Reading a token **without verifying it**, and explaining what the policy would
//! decide: for tools that answer "why was I refused?" (the `mfa-guard` CLI).
//!
//! Nothing here trusts the token: the signature is not checked, so an inspection
//! says what the token *claims*, decided by the same rules the guard applies.
//! [`Explanation`] says, rule by rule, what a rule asks of the token's
//! authentication (assurance level, freshness), what the token shows of it, and
//! how the rule asks for more.

mod explain;

pub use explain::{ChallengePlan, Explanation};

use serde_json::Value;

use crate::claims::{CallerKind, Claims, KindRule, parse_claims};
use crate::policy::{MfaEvidence, Policy, Requirement, Role};
use crate::rejection::{Refusal, RejectionCode};
use crate::verify::{self, invalid};

/// A token decoded without verification.
#[derive(Debug, Clone)]
pub struct Inspection {
    header: Value,
    payload: Value,
    claims: Claims,
}

/// Largest token inspected (as the guard's default header cap).
pub(crate) const MAX_INSPECTED_BYTES: usize = crate::token::DEFAULT_MAX_HEADER_BYTES;

impl Inspection {
    /// Decodes a compact JWS: header and payload are read with the guard's strict
    /// parsers (duplicate names, wrong claim types and non-canonical base64url are
    /// reported as the guard would); the signature is not looked at.
    pub fn decode(token: &str) -> Result<Self, Refusal> {
        if token.len() > MAX_INSPECTED_BYTES {
            return Err(invalid(format!("the token is longer than {MAX_INSPECTED_BYTES} bytes")));
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid(format!(
                "a signed JWT has three dot-separated segments; this token has {}",
                token.split('.').count()
            )));
        };
        let header_bytes = verify::decode_segment(h, "header")?;
        let payload_bytes = verify::decode_segment(p, "payload")?;
        let header: Value = serde_json::from_slice(&header_bytes)
            .map_err(|_| invalid("the token header is not valid JSON"))?;
        let payload: Value = serde_json::from_slice(&payload_bytes)
            .map_err(|_| invalid("the token payload is not valid JSON"))?;
        let claims = parse_claims(&payload_bytes).map_err(invalid)?;
        Ok(Self { header, payload, claims })
    }

    /// The JOSE header, as sent.
    pub fn header(&self) -> &Value {
        &self.header
    }

    /// The payload, as sent.
    pub fn payload(&self) -> &Value {
        &self.payload
    }

    /// The claims, as the guard reads them.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The caller kind and the rule that decided it, or why the token has none.
    pub fn caller_kind(&self) -> Result<(CallerKind, KindRule), &'static str> {
        self.claims.caller_kind()
    }

    /// What shows MFA under `policy`'s MFA rules (users only; apps have none).
    pub fn mfa_evidence(&self, policy: &Policy) -> Option<MfaEvidence> {
        match self.caller_kind() {
            Ok((CallerKind::User, _)) => policy.mfa_policy().evidence(&self.claims),
            _ => None,
        }
    }

    /// The roles the token holds under `policy`'s role map, in map order.
    pub fn roles(&self, policy: &Policy) -> Vec<Role> {
        let resolved = policy.roles().resolve(&self.claims);
        policy
            .roles()
            .roles()
            .enumerate()
            .filter(|(i, _)| resolved.held.contains(*i))
            .map(|(_, r)| r.clone())
            .collect()
    }

    /// What the guard would decide for a route with `requirement` under `policy`
    /// at time `now`, if the signature, issuer and audience were good: `Ok(())` to
    /// admit, or the refusal. The time claims are checked as the guard does, with the
    /// default leeway and no lifetime limit.
    pub fn verdict(&self, policy: &Policy, requirement: &Requirement, now: i64) -> Result<(), Refusal> {
        self.explain(policy, requirement, now)?.verdict().map_err(Refusal::clone)
    }

    /// [`verdict`](Self::verdict) with its reasons: what a route with
    /// `requirement` under `policy` asks of this token's authentication, what the
    /// token shows of it, and how the route asks for more, with the guard's
    /// default challenge settings (Partner Center's answer). The explanation is
    /// labelled `requirement` and applies to every path (`/*`). A requirement the
    /// policy cannot compile (an undefined level or role) is `invalid_request`.
    pub fn explain(
        &self,
        policy: &Policy,
        requirement: &Requirement,
        now: i64,
    ) -> Result<Explanation, Refusal> {
        let compiled =
            policy.compile().map_err(|e| Refusal::new(RejectionCode::InvalidRequest, e.to_string()))?;
        let rule = compiled
            .fixed_rule(requirement, "requirement")
            .map_err(|e| Refusal::new(RejectionCode::InvalidRequest, e.to_string()))?;
        Ok(self.explain_rule(&compiled, &rule, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Requirement;
    use crate::test_issuer::DevIssuer;

    fn issuer() -> DevIssuer {
        DevIssuer::generate("https://sts.windows.net/{tenantid}/").unwrap()
    }

    fn now() -> i64 {
        crate::time::Clock::now_unix(&crate::time::SystemClock)
    }

    #[test]
    fn an_mfa_token_is_explained_without_verification() {
        let token = issuer().user().sign().unwrap();
        let i = Inspection::decode(&token).unwrap();
        let policy = Policy::partner_center();
        assert_eq!(i.caller_kind().unwrap().0, CallerKind::User);
        assert_eq!(i.mfa_evidence(&policy), Some(MfaEvidence::Amr("mfa".into())));
        assert_eq!(i.roles(&policy), [Role::AdminAgent]);
        assert_eq!(i.header()["alg"], "RS256");
        let mfa_route = Requirement::mfa().any_role([Role::AdminAgent]);
        assert_eq!(i.verdict(&policy, &mfa_route, now()), Ok(()));
    }

    #[test]
    fn verdicts_name_the_guards_refusal() {
        let iss = issuer();
        let policy = Policy::partner_center();
        let code = |token: String, req: Requirement| {
            Inspection::decode(&token).unwrap().verdict(&policy, &req, now()).map_err(|r| r.code)
        };
        let no_mfa = iss.user().mfa(false).sign().unwrap();
        assert_eq!(code(no_mfa, Requirement::mfa()), Err(RejectionCode::MfaRequired));
        let app = iss.app().sign().unwrap();
        assert_eq!(code(app.clone(), Requirement::mfa()), Err(RejectionCode::AppOnlyNotAllowed));
        assert_eq!(code(app, Requirement::mfa().allow_apps()), Ok(()));
        let sales = iss.user().roles(["SalesAgent"]).sign().unwrap();
        assert_eq!(
            code(sales, Requirement::mfa().any_role([Role::SecurityAdmin])),
            Err(RejectionCode::InsufficientRole)
        );
        let expired = iss.user().claim("exp", serde_json::json!(1000)).sign().unwrap();
        assert_eq!(code(expired, Requirement::authenticated()), Err(RejectionCode::InvalidToken));
    }

    #[test]
    fn malformed_tokens_are_reported_like_the_guard_does() {
        assert!(Inspection::decode("abc").unwrap_err().detail.contains("three"));
        assert!(Inspection::decode("a.b.c").unwrap_err().detail.contains("base64url"));
    }
}
