//! The `mfa_guard_check` span, in a test binary of its own.
//!
//! tracing caches each callsite's interest process-wide. In the library's unit-test
//! binary another test thread can register the guard's span callsite while no
//! subscriber exists, and that cached `never` then hides the span from the scoped
//! subscriber below (seen once in CI). Alone in its process, this test is the only
//! one that ever reaches the callsite.

use std::sync::{Arc, Mutex};

use mfa_guard_core::{Guard, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};

/// Collects the fields recorded on spans and events.
#[derive(Clone, Default)]
struct Fields(Arc<Mutex<Vec<String>>>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.lock().unwrap().push(format!("{}={value:?}", field.name()));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.lock().unwrap().push(format!("{}={value}", field.name()));
    }
}

struct Collector(Fields);

impl tracing::Subscriber for Collector {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        span.record(&mut self.0.clone());
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        values.record(&mut self.0.clone());
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        event.record(&mut self.0.clone());
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn each_check_is_one_span_with_its_rule_decision_and_code_and_no_token() {
    let issuer = DevIssuer::generate("https://sts.windows.net/{tenantid}/").unwrap();
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer("https://sts.windows.net/{tenantid}/")
                .keys(issuer.key_source().unwrap())
                .audience(DEV_AUDIENCE)
        })
        .build()
        .unwrap();
    let token = issuer.user().mfa(false).sign().unwrap();
    let authorization = format!("Bearer {token}");
    let request = RequestInfo::new("GET", "/commerce/customers")
        .with_authorizations(std::iter::once(authorization.as_bytes()));
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();

    let fields = Fields::default();
    tracing::subscriber::with_default(Collector(fields.clone()), || {
        let _ = runtime.block_on(guard.check(&request));
    });

    let seen = fields.0.lock().unwrap().join(" ");
    for expected in ["method=GET", "rule=customers", "decision=refused", "code=mfa_required"] {
        assert!(seen.contains(expected), "{expected} not in {seen}");
    }
    let signature = token.rsplit('.').next().unwrap();
    assert!(!seen.contains(signature) && !seen.contains(&token[..40]), "token material in the trace: {seen}");
}
