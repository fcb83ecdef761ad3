//! The axum example over real sockets: every row of the response table on every Partner Center area,
//! with each challenge style (the whole conformance table, one adapter).

use mfa_guard_conformance::cases::{run, table};
use mfa_guard_conformance::fixture::{Style, guard};
use mfa_guard_conformance::servers::start_axum;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_axum_example_answers_every_case_of_the_table() {
    let pc = start_axum(guard(Style::PartnerCenter)).await;
    let step_up = start_axum(guard(Style::StepUp)).await;
    let entra = start_axum(guard(Style::EntraClaims)).await;
    let rollout = start_axum(guard(Style::Rollout)).await;
    let cases = table();
    let failures = run(&cases, |style| {
        vec![match style {
            Style::PartnerCenter => pc,
            Style::StepUp => step_up,
            Style::EntraClaims => entra,
            Style::Rollout => rollout,
        }]
    })
    .await;
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
