//! Rollout on both adapters: a scheduled enforcement date switches a route from
//! report-only to enforced (under a controllable clock), and the metrics recorder
//! sees every decision of both adapters.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use mfa_guard_conformance::cases::Target;
use mfa_guard_conformance::fixture::{COMPLIANCE_HEADER, ENFORCE_AFTER, Style, Tok, guard_with_clock};
use mfa_guard_conformance::http1::request;
use mfa_guard_conformance::servers;
use mfa_guard_core::{Clock, ManualClock, SystemClock};

async fn get(target: Target, path: &str, tok: Tok) -> (String, Option<String>, serde_json::Value) {
    let header = format!("Authorization: Bearer {}", tok.mint()).into_bytes();
    let res = request(target.addr, "GET", path, &[header]).await.unwrap();
    let compliance = res.header(COMPLIANCE_HEADER).map(str::to_owned);
    (res.status_line.clone(), compliance, res.json())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_from_switches_both_adapters_at_the_given_time_and_the_recorder_sees_it() {
    // One global recorder for this test binary: actix serves from its own threads,
    // where a thread-local recorder would see nothing.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).expect("the only recorder of this test binary");

    let clock = ManualClock::new(SystemClock.now_unix());
    let g = guard_with_clock(Style::Rollout, clock.clone());
    let targets = servers::all(g).await;
    for &target in &targets {
        let (line, compliance, body) = get(target, "/billing/invoices", Tok::AdminNoMfa).await;
        assert_eq!(line, "HTTP/1.1 200 OK", "{}: before the date, report-only", target.name);
        assert_eq!(compliance.as_deref(), Some("missing"));
        assert_eq!(body["report_only"]["would_refuse"], "mfa_required");
    }
    clock.advance(ENFORCE_AFTER);
    for &target in &targets {
        let (line, compliance, body) = get(target, "/billing/invoices", Tok::AdminNoMfa).await;
        assert_eq!(
            line, "HTTP/1.1 401 Unauthorized - MFA required",
            "{}: from the date, enforced",
            target.name
        );
        assert_eq!(compliance.as_deref(), Some("missing"));
        assert_eq!(body["code"], "mfa_required");
        let (line, _, _) = get(target, "/commerce/customers", Tok::AdminNoMfa).await;
        assert_eq!(line, "HTTP/1.1 200 OK", "{}: /commerce stays report-only", target.name);
    }

    let mut decisions = std::collections::BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        if key.name() == mfa_guard_core::metrics::DECISIONS
            && let DebugValue::Counter(n) = value
        {
            let mut labels: Vec<String> =
                key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            labels.sort();
            decisions.insert(labels.join(","), n);
        }
    }
    let expected: std::collections::BTreeMap<String, u64> = [
        ("code=mfa_required,mode=report-only,rule=billing", 2),
        ("code=mfa_required,mode=enforce,rule=billing", 2),
        ("code=mfa_required,mode=report-only,rule=customers", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(decisions, expected);
}
