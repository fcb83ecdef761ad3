//! The end of a check: a verified caller or a refusal becomes the [`Admission`] an
//! adapter acts on, and leaves its trace — the span's `rule`, `decision` and `code`
//! fields, the decision counters and the adoption counts.

use std::sync::Arc;

use super::{Admission, Guard};
use crate::metrics::Outcome;
use crate::path;
use crate::policy::{CompiledRule, Mode};
use crate::principal::{LazyClaims, Principal, VerifiedToken};
use crate::rejection::{Refusal, Rejection, RejectionCode};

impl Guard {
    pub(crate) fn admit(
        &self,
        rule: &CompiledRule,
        token: Arc<VerifiedToken>,
        claims: LazyClaims,
        now: i64,
        span: &tracing::Span,
    ) -> Admission {
        let inner = &*self.inner;
        let subject = token.subject();
        let decision = inner.policy.authorize(rule, &subject, &|| claims.get(), now);
        let mfa = inner.policy.compliance(rule, &subject, now);
        // Only a browser session (no client application of its own) and an app-only
        // caller (never counted: no user to ask MFA of) have no tally.
        let app = token.app.as_deref().unwrap_or(inner.adoption.browser());
        app.count(mfa, decision.mode == Mode::ReportOnly);
        let compliance = inner.compliance_header.as_ref().map(|name| (Arc::clone(name), mfa.as_str()));
        let label = &rule.label;
        span.record("rule", &**label);
        match decision.refusal {
            None => {
                let report = decision.reported.map(|refusal| {
                    tracing::debug!(rule = &**label, code = %refusal.code, "report-only: would have refused");
                    rule.challenges.reject(refusal, token.cp1)
                });
                let code = report.as_ref().map_or("admitted", |r| r.code().as_str());
                let outcome = report.as_ref().map_or(Outcome::Admitted, |r| Outcome::Refused(r.code()));
                span.record("decision", if report.is_some() { "report-only" } else { "admitted" });
                span.record("code", code);
                rule.counters.count(label, outcome, decision.mode == Mode::ReportOnly);
                Admission::Admitted(Principal::new(token, claims, report, compliance, Arc::clone(label)))
            }
            Some(refusal) => {
                tracing::debug!(rule = &**label, code = %refusal.code, "refused");
                span.record("decision", "refused");
                span.record("code", refusal.code.as_str());
                rule.counters.count(label, Outcome::Refused(refusal.code), decision.mode == Mode::ReportOnly);
                let rejection = rule.challenges.reject(refusal, token.cp1);
                Admission::Refused(match compliance {
                    Some((name, value)) => rejection.with_header(name, value),
                    None => rejection,
                })
            }
        }
    }

    pub(super) fn refuse(
        &self,
        rule: &CompiledRule,
        public: bool,
        refusal: Refusal,
        span: &tracing::Span,
    ) -> Admission {
        let label = &rule.label;
        span.record("rule", &**label);
        if public {
            span.record("decision", "anonymous");
            rule.counters.count(label, Outcome::Anonymous, false);
            return Admission::Anonymous(self.inner.anonymous.clone());
        }
        span.record("decision", "refused");
        span.record("code", refusal.code.as_str());
        tracing::debug!(rule = &**label, code = %refusal.code, reason = %refusal.detail, "refused");
        // Token validity is never report-only.
        rule.counters.count(label, Outcome::Refused(refusal.code), false);
        Admission::Refused(rule.challenges.reject(refusal, false))
    }

    pub(super) fn refuse_path(&self, unreadable: path::Unreadable, span: &tracing::Span) -> Rejection {
        static LABEL: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from("path"));
        span.record("rule", &**LABEL);
        span.record("decision", "refused");
        span.record("code", RejectionCode::InvalidRequest.as_str());
        tracing::debug!(rule = &**LABEL, code = %RejectionCode::InvalidRequest, reason = %unreadable, "refused");
        self.inner.path_counters.count(&LABEL, Outcome::Refused(RejectionCode::InvalidRequest), false);
        self.inner.challenges.reject(unreadable.refusal(), false)
    }
}
