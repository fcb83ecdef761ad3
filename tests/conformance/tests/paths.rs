//! The path differential over real sockets on both example servers: thousands of
//! generated paths around every protected prefix, each sent with an MFA token (which
//! shows where the router sends it), a token without MFA and an app-only token; no
//! request may reach a protected handler under a weaker rule than that handler's.
//! See `mfa_guard_conformance::paths`.

use mfa_guard_conformance::fixture::{Style, Tok, guard};
use mfa_guard_conformance::paths::{Caller, count_from_env, generate, run, seed_from_env};
use mfa_guard_conformance::servers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_generated_path_reaches_a_protected_handler_under_a_weaker_rule_on_either_server() {
    let seed = seed_from_env();
    let count = count_from_env();
    eprintln!("path differential: {count} paths from seed {seed} (replay with MFA_PATHS_SEED={seed})");
    let paths = generate(seed, count);
    let tokens = [
        (Caller::AdminMfa, Tok::AdminMfa.mint()),
        (Caller::UserNoMfa, Tok::AdminNoMfa.mint()),
        (Caller::App, Tok::App.mint()),
    ];
    let g = guard(Style::PartnerCenter);
    let targets = servers::all(g).await;
    let mut failures = Vec::new();
    for target in &targets {
        let report = run(target, &paths, &tokens).await;
        eprintln!("{}", report.summary(target.name));
        // Not vacuous: mutated paths did reach protected handlers on this server, so a
        // weaker rule for any of them would have shown as a 200 above.
        assert!(
            report.mutated_into_protected.len() >= 4,
            "{}: too few protected areas reached by mutated paths: {:?}",
            target.name,
            report.mutated_into_protected
        );
        failures.extend(report.failures);
    }
    assert!(
        failures.is_empty(),
        "{} requests reached a protected handler under a weaker rule or failed (seed {seed}):\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
