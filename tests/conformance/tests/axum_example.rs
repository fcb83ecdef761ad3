//! The axum example over real sockets: every row of the response table on every Partner Center area,
//! with each challenge style (the whole conformance table, one adapter).

use mfa_guard_conformance::cases::{run, table};
use mfa_guard_conformance::fixture::{Style, guard};
use mfa_guard_conformance::servers::start_axum;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_answers_every_case_of_the_table() {
    let mut servers = Vec::new();
    for style in Style::ALL {
        servers.push((style, start_axum(guard(style)).await));
    }
    let cases = table();
    let failures =
        run(&cases, |style| servers.iter().filter(|(s, _)| *s == style).map(|(_, target)| *target).collect())
            .await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
