//! The startup warning of a `{tenantid}` issuer without a tenant allow-list, in a
//! test binary of its own.
//!
//! tracing caches each callsite's interest process-wide: in a binary where another
//! test thread could reach the warning's callsite with no subscriber, the cached
//! `never` would hide it from the scoped subscriber below (see `tracing_span.rs`).
//! Alone in its process, this one test is the only code that reaches it.

use std::sync::{Arc, Mutex};

use mfa_guard_core::{Guard, KeySource, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const V1_TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";
const V2_TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// Every warning, one string per event with all its fields.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct EventText(String);

impl tracing::field::Visit for EventText {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

struct Collector(Warnings);

impl tracing::Subscriber for Collector {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = EventText(String::new());
        event.record(&mut text);
        self.0.0.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn is_any_tenant_warning(w: &str) -> bool {
    w.contains("no tenant allow-list is set")
}

#[test]
fn a_template_without_a_tenant_allow_list_warns_once_and_says_how_to_restrict_it() {
    let issuer = DevIssuer::generate(V1_TEMPLATE).unwrap();
    let build = |template: &str, tenants: Option<&str>| {
        let mut b = Guard::partner_center()
            .verifier(|v| v.issuer(template).keys(issuer.key_source().unwrap()).audience(DEV_AUDIENCE));
        if let Some(t) = tenants {
            b = b.verifier(|v| v.tenants([t]));
        }
        b.build().unwrap()
    };
    let warnings = Warnings::default();
    tracing::subscriber::with_default(Collector(warnings.clone()), || {
        // A configured template, no list: one warning, at build, naming the issuer and
        // every way to restrict it.
        let guard = build(V1_TEMPLATE, None);
        let seen = warnings.take();
        assert_eq!(seen.len(), 1, "{seen:?}");
        for expected in [V1_TEMPLATE, "GuardBuilder::tenants", "`tenants = [...]`", "MFA_TENANTS"] {
            assert!(seen[0].contains(expected), "{expected} not in {}", seen[0]);
        }
        // Checking tokens does not repeat it.
        let token = issuer.user().sign().unwrap();
        let header = format!("Bearer {token}");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let request = RequestInfo::new("GET", "/overview").with_authorization(header.as_bytes());
        assert!(runtime.block_on(guard.check(&request)).into_result().unwrap().is_some());
        assert_eq!(warnings.take(), Vec::<String>::new());

        // With a list, or with an exact issuer: nothing to warn about.
        build(V1_TEMPLATE, Some(DEV_TENANT));
        build(&format!("https://sts.windows.net/{DEV_TENANT}/"), None);
        assert_eq!(warnings.take(), Vec::<String>::new());

        // A template declared by discovery is only known once discovery is read:
        // the warning comes then, once.
        let (declared, listed) = runtime.block_on(async {
            let idp = MockServer::start().await;
            let doc = json!({"issuer": V2_TEMPLATE, "jwks_uri": format!("{}/keys", idp.uri())});
            Mock::given(method("GET"))
                .and(path("/.well-known/openid-configuration"))
                .respond_with(ResponseTemplate::new(200).set_body_json(doc))
                .mount(&idp)
                .await;
            Mock::given(method("GET"))
                .and(path("/keys"))
                .respond_with(ResponseTemplate::new(200).set_body_string(issuer.jwks_json()))
                .mount(&idp)
                .await;
            let discovery = format!("{}/.well-known/openid-configuration", idp.uri());
            let token = issuer
                .user()
                .claim("iss", json!(format!("https://login.microsoftonline.com/{DEV_TENANT}/v2.0")))
                .sign()
                .unwrap();
            let header = format!("Bearer {token}");
            let request = RequestInfo::new("GET", "/overview").with_authorization(header.as_bytes());
            let guard = Guard::partner_center()
                .verifier(|v| v.issuer_from_keys(KeySource::discovery(&discovery)).audience(DEV_AUDIENCE))
                .build()
                .unwrap();
            assert!(warnings.take().is_empty(), "nothing is known to warn about before discovery");
            for _ in 0..3 {
                assert!(guard.check(&request).await.into_result().unwrap().is_some());
            }
            let declared = warnings.take();
            let guard = Guard::partner_center()
                .verifier(|v| {
                    v.issuer_from_keys(KeySource::discovery(&discovery))
                        .audience(DEV_AUDIENCE)
                        .tenants([DEV_TENANT])
                })
                .build()
                .unwrap();
            assert!(guard.check(&request).await.into_result().unwrap().is_some());
            (declared, warnings.take())
        });
        let declared: Vec<_> = declared.into_iter().filter(|w| is_any_tenant_warning(w)).collect();
        assert_eq!(declared.len(), 1, "{declared:?}");
        assert!(declared[0].contains(V2_TEMPLATE), "{}", declared[0]);
        assert!(!listed.iter().any(|w| is_any_tenant_warning(w)), "{listed:?}");
    });
}
