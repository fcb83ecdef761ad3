//! The promise: axum and actix answer every case of the table identically — status
//! line (reason phrase included), `WWW-Authenticate`, content type and body — and
//! as expected. One guard per challenge style is shared by both servers, as one
//! process serving both frameworks would share it.

use mfa_guard_conformance::cases::{run, table};
use mfa_guard_conformance::fixture::{Style, guard};
use mfa_guard_conformance::servers::all;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_and_actix_answer_every_case_identically() {
    let mut servers = Vec::new();
    for style in Style::ALL {
        let g = guard(style);
        servers.push((style, all(g).await));
    }
    let cases = table();
    let failures = run(&cases, |style| {
        servers.iter().find(|(s, _)| *s == style).map(|(_, targets)| targets.clone()).unwrap_or_default()
    })
    .await;
    assert!(
        failures.is_empty(),
        "{} failures over {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
