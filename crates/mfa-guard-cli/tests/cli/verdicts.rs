//! The CLI cannot drift from the guard: the conformance case table (every row of
//! the response table on every Partner Center area, each caller kind, each
//! challenge style) runs through `mfa-guard check` — a separate process reading a
//! configuration file — and through a guard built in-process from the same file,
//! and both must give the same verdict: admitted as the same kind of caller, or
//! refused with the same status line, `WWW-Authenticate` and code.

use std::path::Path;

use mfa_guard_conformance::cases::{Auth, Case, table};
use mfa_guard_conformance::fixture::{ADMIN_GROUP, DOWN_ISSUER, ISSUER, Style, closed_port_url};
use mfa_guard_core::{Admission, Config, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT};
use serde_json::Value;

use crate::support::{run, temp_dir};

/// The conformance fixture's guard as a configuration file (for every style but
/// the rollout, whose enforcement date is relative to a pinned clock).
fn config_file(style: Style, jwks: &Path) -> String {
    let challenge = match style {
        Style::PartnerCenter => String::new(),
        Style::StepUp => "[challenge]\nstyle = \"step-up\"\nacr_values = \"c1\"\n".to_owned(),
        Style::EntraClaims => "[challenge]\nstyle = \"entra-claims\"\nauthorization_uri = \"https://login.microsoftonline.com/common/oauth2/authorize\"\nauth_context = \"c1\"\n".to_owned(),
        Style::Rollout => unreachable!("rollout cases are not compared"),
        Style::Assurance => r#"[[assurance]]
name = "phishing-resistant"
acrs = ["c2"]

[[policy.routes]]
path = "/security/*"
access = "mfa"
roles = ["AdminAgent", "SecurityAdmin"]
assurance = "phishing-resistant"
max_age = "1h"
challenge = "entra:c2"

[[policy.routes]]
path = "/billing/*"
access = "mfa"
roles = ["AdminAgent", "SecurityAdmin", "BillingAdmin"]
max_age = "10m"
challenge = "step-up:c1"

[[policy.routes]]
path = "/v1/customers/*"
access = "mfa"
roles = ["AdminAgent"]
assurance = "phishing-resistant"
challenge = "partner-center"
"#
        .to_owned(),
    };
    format!(
        r#"audiences = ["{DEV_AUDIENCE}"]
tenants = ["{DEV_TENANT}"]
max_token_lifetime = "24h"

[[issuers]]
issuer = "{ISSUER}"
jwks_file = "{jwks}"

[[issuers]]
issuer = "{DOWN_ISSUER}"
jwks_url = "{down}"

[keys]
timeout = "2s"

[roles.AdminAgent]
app_roles = ["AdminAgent"]
groups = ["{ADMIN_GROUP}"]

{challenge}"#,
        jwks = jwks.display(),
        down = closed_port_url(),
    )
}

/// A verdict: `admitted <kind>` or `refused <status line> | <www> | <code>`.
fn verdict_of_cli(json: &Value) -> String {
    match json["outcome"].as_str() {
        Some("admitted") => format!("admitted {}", json["principal"]["kind"].as_str().unwrap_or("anonymous")),
        Some("refused") => {
            let response = &json["response"];
            let www = response["headers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h[0] == "www-authenticate")
                .and_then(|h| h[1].as_str())
                .unwrap_or("-");
            format!(
                "refused {} | {www} | {}",
                response["status_line"].as_str().unwrap_or("?"),
                response["code"].as_str().unwrap_or("?")
            )
        }
        other => panic!("unknown outcome {other:?} in {json}"),
    }
}

fn verdict_of_guard(admission: Admission) -> String {
    match admission {
        Admission::Admitted(p) => format!("admitted {}", p.kind()),
        Admission::Anonymous(_) => "admitted anonymous".to_owned(),
        // No browser mode in these guards: an answer would be a bug.
        Admission::Answered(a) => format!("browser answer {}", a.status()),
        Admission::Refused(r) => {
            let reason =
                r.reason_phrase().map(str::to_owned).unwrap_or_else(|| http_reason(r.status()).to_owned());
            format!(
                "refused HTTP/1.1 {} {reason} | {} | {}",
                r.status(),
                r.www_authenticate().unwrap_or("-"),
                r.code().as_str()
            )
        }
    }
}

fn http_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        503 => "Service Unavailable",
        other => panic!("a status the guard does not send: {other}"),
    }
}

#[test]
fn the_cli_and_the_guard_give_every_case_of_the_table_the_same_verdict() {
    let dir = temp_dir();
    let jwks = dir.join("jwks.json");
    std::fs::write(&jwks, mfa_guard_conformance::fixture::issuer().jwks_json()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut compared = 0;
    let mut differences = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for case in table() {
        let Case { name, style, method, target, auth, .. } = &case;
        let token = match auth {
            Auth::None => None,
            Auth::Bearer(tok) => Some(tok.mint()),
            // Raw header lines (several Authorization headers, odd bytes) are not
            // something the CLI takes: it is given one token.
            Auth::Raw(_) => continue,
        };
        if *style == Style::Rollout {
            continue;
        }
        let config = dir.join(format!("{style:?}.toml"));
        std::fs::write(&config, config_file(*style, &jwks)).unwrap();

        let mut args = vec![
            "check",
            "--config",
            config.to_str().unwrap(),
            "--method",
            method,
            "--path",
            target,
            "--json",
        ];
        match &token {
            Some(t) => args.push(t),
            None => args.push("--no-token"),
        }
        let out = run(&args, None);
        let cli = verdict_of_cli(&out.json());

        let guard =
            Config::from_file(&config).unwrap().builder().unwrap().token_cache_capacity(0).build().unwrap();
        let (path, query) = target.split_once('?').map_or((target.as_str(), None), |(p, q)| (p, Some(q)));
        let header = token.as_ref().map(|t| format!("Bearer {t}"));
        let mut req = RequestInfo::new(method, path).with_query(query);
        if let Some(h) = &header {
            req = req.with_authorization(h.as_bytes());
        }
        let in_process = verdict_of_guard(runtime.block_on(guard.check(&req)));
        compared += 1;
        seen.insert(cli.split(" | ").last().unwrap_or_default().to_owned());
        if cli != in_process {
            differences.push(format!("{name}:\n  cli:   {cli}\n  guard: {in_process}"));
        }
    }
    assert!(compared >= 80, "only {compared} cases compared");
    // Not vacuous: the table reaches every kind of answer through both.
    for code in [
        "admitted user",
        "admitted app",
        "mfa_required",
        "invalid_token",
        "insufficient_role",
        "key_source_unavailable",
    ] {
        assert!(seen.iter().any(|v| v.ends_with(code)), "no case answered {code}: {seen:?}");
    }
    assert!(
        differences.is_empty(),
        "{} of {compared} cases differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
