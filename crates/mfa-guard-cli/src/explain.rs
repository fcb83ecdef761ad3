//! Words for core's [`Explanation`] of a rule: the assurance level it requires
//! against the one the token shows, the freshness it requires against the token's
//! `auth_time`, and how it asks for more. `check` and `inspect` print the same
//! words; every fact comes from core.

use mfa_guard_core::inspect::Explanation;
use mfa_guard_core::policy::{BASE_LEVEL, MfaEvidence};
use mfa_guard_core::{ChallengeStyle, Role};
use serde_json::{Value, json};

use crate::human;
use crate::style::{Style, clean};

/// Whether the rule asks this token's user for more than plain MFA answered the
/// Partner Center way: a stronger level, a freshness or another challenge style.
/// Only then does the text output spell the rule out; plain MFA needs no more
/// words than "MFA required" (the JSON output always carries them).
pub(crate) fn worth_showing(e: &Explanation) -> bool {
    e.mfa_applies()
        && (e.required_level() != Some(BASE_LEVEL)
            || e.max_age_secs().is_some()
            || e.challenge().style() != ChallengeStyle::PartnerCenter)
}

/// `rule billing (/billing/*)`, `rule /security/*`, with the methods when the rule
/// is limited to some.
pub(crate) fn heading(e: &Explanation) -> String {
    let mut text = format!("rule {}", clean(e.rule()));
    let methods = if e.methods().is_empty() { String::new() } else { format!(" {}", e.methods().join(", ")) };
    if e.rule() != e.pattern() || !methods.is_empty() {
        text.push_str(&format!(" ({}{methods})", e.pattern()));
    }
    text
}

/// The rows `assurance`, `freshness` and `challenge`, painted where met or not.
pub(crate) fn rows(e: &Explanation, s: Style) -> Vec<(String, String)> {
    let paint = |met: bool, text: String| if met { s.good(&text) } else { s.bad(&text) };
    let required = e.required_level().unwrap_or(BASE_LEVEL);
    let shown = match (e.achieved_level(), e.evidence()) {
        (Some(level), Some(evidence)) => format!("the token shows {} ({evidence})", clean(level)),
        _ => "the token shows no MFA".to_owned(),
    };
    let verdict = match (e.level_met(), e.achieved_level()) {
        (true, _) => "met",
        (false, Some(_)) => "too weak",
        (false, None) => "not met",
    };
    let assurance = paint(e.level_met(), format!("{} required; {shown}: {verdict}", clean(required)));
    let freshness = match (e.max_age_secs(), e.auth_age_secs()) {
        (None, _) => "not required (a sign-in of any age)".to_owned(),
        (Some(max), age) => {
            let when = match age {
                None => "the token has no auth_time".to_owned(),
                Some(a) if a < 0 => format!("auth_time is {} ahead of now", human::span(a)),
                Some(a) => format!("signed in {} ago", human::span(a)),
            };
            let verdict = if e.fresh() { "met" } else { "too old" };
            paint(e.fresh(), format!("a sign-in within {}; {when}: {verdict}", span_u(max)))
        }
    };
    vec![
        ("assurance".to_owned(), assurance),
        ("freshness".to_owned(), freshness),
        ("challenge".to_owned(), challenge_text(e)),
    ]
}

fn span_u(seconds: u64) -> String {
    human::span(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// How the rule asks for more, and what this token's client gets.
fn challenge_text(e: &Explanation) -> String {
    let c = e.challenge();
    match c.style() {
        ChallengeStyle::StepUp => {
            let mut text = format!(
                "step-up (RFC 9470, insufficient_user_authentication): acr_values \"{}\"",
                clean(c.acr_values().unwrap_or(""))
            );
            if let Some(max) = c.max_age_secs() {
                text.push_str(&format!(", max_age {max}"));
            }
            text
        }
        ChallengeStyle::EntraClaims => {
            let context = clean(c.auth_context().unwrap_or(""));
            let uri = clean(c.authorization_uri().unwrap_or(""));
            if c.client_handles_claims() {
                format!(
                    "entra-claims (insufficient_claims): auth context {context}, at {uri}; \
                     the client handles claims challenges (xms_cc has cp1)"
                )
            } else {
                format!(
                    "entra-claims (insufficient_claims): auth context {context}, at {uri}; \
                     the client does not declare cp1 in xms_cc, so it gets Partner Center's answer"
                )
            }
        }
        _ => "partner-center (401 Unauthorized - MFA required, Bearer error=\"invalid_token\")".to_owned(),
    }
}

/// The facts as JSON: `assurance` and `challenge`.
pub(crate) fn json(e: &Explanation) -> (Value, Value) {
    let c = e.challenge();
    let assurance = json!({
        "applies": e.mfa_applies(),
        "required_level": e.required_level(),
        "achieved_level": e.achieved_level(),
        "evidence": e.evidence().map(evidence_json),
        "level_met": e.level_met(),
        "max_age": e.max_age_secs(),
        "auth_time": e.auth_time(),
        "auth_age": e.auth_age_secs(),
        "fresh": e.fresh(),
    });
    let challenge = json!({
        "style": c.style().as_str(),
        "acr_values": c.acr_values(),
        "max_age": c.max_age_secs(),
        "auth_context": c.auth_context(),
        "authorization_uri": c.authorization_uri(),
        "client_handles_claims": c.client_handles_claims(),
        "answered_with": c.answered_with().as_str(),
    });
    (assurance, challenge)
}

/// The rule and the facts, for `check --json` (whose response is the verdict).
pub(crate) fn rule_json(e: &Explanation) -> Value {
    let (assurance, challenge) = json(e);
    json!({
        "rule": e.rule(),
        "path": e.pattern(),
        "methods": e.methods(),
        "roles": e.roles().iter().map(Role::name).collect::<Vec<_>>(),
        "assurance": assurance,
        "challenge": challenge,
    })
}

/// A piece of MFA evidence: the claim and the accepted value it holds.
pub(crate) fn evidence_json(e: &MfaEvidence) -> Value {
    match e {
        MfaEvidence::Amr(v) => json!({ "claim": "amr", "value": &**v }),
        MfaEvidence::AuthContext(v) => json!({ "claim": "acrs", "value": &**v }),
        MfaEvidence::Acr(v) => json!({ "claim": "acr", "value": &**v }),
        other => json!({ "claim": null, "value": other.to_string() }),
    }
}
