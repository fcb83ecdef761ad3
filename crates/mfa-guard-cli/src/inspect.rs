//! `mfa-guard inspect`: what a token says, and what the Partner Center preset would
//! decide for it, area by area — or, with `--config`, what the guard a configuration
//! file builds would decide, rule by rule. Nothing is verified; every decision comes
//! from core ([`Inspection`], [`Explanation`]), the tool only words it.

use std::path::PathBuf;

use mfa_guard_core::inspect::{Explanation, Inspection};
use mfa_guard_core::policy::MfaEvidence;
use mfa_guard_core::{
    Access, CallerKind, Callers, Clock, Guard, KindRule, Policy, Refusal, RejectionCode, Role, SystemClock,
};
use serde_json::{Value, json};

use crate::exit::{Exit, Failure};
use crate::explain;
use crate::human;
use crate::input::Token;
use crate::out::outln;
use crate::style::{Style, clean};

/// What the tool says first, every time: nothing here is verified.
pub(crate) const NOT_VERIFIED: &str = "NOT VERIFIED: decoded without checking the signature, issuer or audience; \
anyone can write these claims. `mfa-guard verify` checks them.";

const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// Options of `inspect`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) json: bool,
    pub(crate) show_signature: bool,
    /// A configuration file whose rules to decide instead of the preset's areas.
    pub(crate) config: Option<PathBuf>,
}

/// The guard a configuration file builds, whose rules `inspect --config` decides
/// instead of the preset's areas.
struct Configured {
    file: String,
    policy: Policy,
    guard: Guard,
}

impl Configured {
    fn load(options: &Options) -> Result<Option<Self>, Failure> {
        let Some(path) = &options.config else { return Ok(None) };
        let (config, builder) = crate::guard::configured(path)?;
        let policy = config
            .policy()
            .map_err(|e| Failure::error(e.to_string()).hint("fix the configuration file at the key named"))?;
        // Its issuers are not asked for anything: the guard is built for its rules
        // and their challenge settings, and nothing is verified.
        let guard = builder.build().map_err(|e| {
            Failure::error(format!("the configured guard cannot be built: {e}"))
                .hint("give the file `check` reads, with its [[issuers]] and audiences")
        })?;
        let file =
            path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        Ok(Some(Configured { file, policy, guard }))
    }
}

/// Runs `inspect`: prints the report and returns the exit status (0 when the token
/// could be decoded, 3 when it could not).
pub(crate) fn run(token: &Token, options: &Options, out: Style) -> Result<Exit, Failure> {
    let configured = Configured::load(options)?;
    let now = SystemClock.now_unix();
    let inspection = match Inspection::decode(token.as_str()) {
        Ok(i) => i,
        Err(refusal) => {
            if options.json {
                let report = json!({
                    "verified": false,
                    "decoded": false,
                    "error": { "code": refusal.code().as_str(), "detail": refusal.detail() },
                });
                outln!("{}", pretty(&report))?;
                return Ok(Exit::InvalidToken);
            }
            return Err(Failure::invalid_token(format!("the token cannot be decoded: {}", refusal.detail()))
                .hint("an access token is three base64url segments separated by dots (eyJ….eyJ….…)"));
        }
    };
    let signature = options.show_signature.then(|| token.as_str().rsplit('.').next().unwrap_or_default());
    let report = Report::new(&inspection, now, configured);
    if options.json {
        let mut value = report.to_json();
        if let Some(sig) = signature {
            value["signature"] = json!(sig);
        }
        outln!("{}", pretty(&value))?;
    } else {
        crate::out::print(&report.render(out, signature))?;
    }
    Ok(Exit::Ok)
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// One area's (or rule's) verdict, and its explanation.
struct AreaVerdict {
    name: String,
    title: String,
    pattern: String,
    methods: Vec<String>,
    callers: Callers,
    access: Access,
    roles: Vec<Role>,
    outcome: Result<(), Refusal>,
    explanation: Option<Explanation>,
}

impl AreaVerdict {
    /// A rule of a configured guard, as core explains it.
    fn of_rule(e: Explanation) -> Self {
        Self {
            name: e.rule().to_owned(),
            title: clean(e.rule()),
            pattern: e.pattern().to_owned(),
            methods: e.methods().to_vec(),
            callers: e.callers(),
            access: e.access(),
            roles: e.roles().to_vec(),
            outcome: e.verdict().map_err(Refusal::clone),
            explanation: Some(e),
        }
    }

    /// The path column: the pattern, and the methods when the rule has some.
    fn path(&self) -> String {
        if self.methods.is_empty() {
            self.pattern.clone()
        } else {
            format!("{} {}", self.pattern, self.methods.join(","))
        }
    }
}

/// Everything `inspect` says, computed once and rendered as text or JSON.
struct Report<'a> {
    inspection: &'a Inspection,
    now: i64,
    kind: Result<(CallerKind, KindRule), &'static str>,
    mfa: Option<MfaEvidence>,
    accepted_amr: Vec<String>,
    roles: Vec<Role>,
    areas: Vec<AreaVerdict>,
    /// The configuration file the rules come from; `None`: the preset's areas.
    file: Option<String>,
}

impl<'a> Report<'a> {
    fn new(inspection: &'a Inspection, now: i64, configured: Option<Configured>) -> Self {
        let (policy, areas, file) = match configured {
            None => {
                let policy = Policy::partner_center();
                // The areas worth explaining: those that ask for MFA.
                let areas = Policy::partner_center_areas()
                    .into_iter()
                    .filter(|area| area.requirement.access() == Access::Mfa)
                    .map(|area| {
                        let explained = inspection.explain(&policy, &area.requirement, now);
                        AreaVerdict {
                            name: area.name.to_owned(),
                            title: area.title.to_owned(),
                            pattern: area.pattern.to_owned(),
                            methods: Vec::new(),
                            callers: area.requirement.callers(),
                            access: area.requirement.access(),
                            roles: area.requirement.roles().to_vec(),
                            outcome: explained
                                .as_ref()
                                .map_err(Refusal::clone)
                                .and_then(|e| e.verdict().map_err(Refusal::clone)),
                            explanation: explained.ok(),
                        }
                    })
                    .collect();
                (policy, areas, None)
            }
            Some(Configured { file, policy, guard }) => {
                // Public rules decide nothing about a token.
                let areas = inspection
                    .explain_rules(&guard)
                    .into_iter()
                    .filter(|e| e.access() != Access::Public)
                    .map(AreaVerdict::of_rule)
                    .collect();
                (policy, areas, Some(file))
            }
        };
        Self {
            file,
            inspection,
            now,
            kind: inspection.caller_kind(),
            mfa: inspection.mfa_evidence(&policy),
            accepted_amr: policy.mfa_policy().accepted_amr().iter().map(|a| a.to_string()).collect(),
            roles: inspection.roles(&policy),
            areas,
        }
    }

    fn claims(&self) -> &mfa_guard_core::Claims {
        self.inspection.claims()
    }

    fn to_json(&self) -> Value {
        let c = self.claims();
        let caller = match self.kind {
            Ok((kind, rule)) => json!({
                "kind": kind.as_str(),
                "rule": rule_name(rule),
                "explanation": rule.explain(),
            }),
            Err(reason) => json!({ "kind": null, "rule": null, "explanation": reason }),
        };
        let mfa = json!({
            "applies": matches!(self.kind, Ok((CallerKind::User, _))),
            "satisfied": self.mfa.is_some(),
            "evidence": self.mfa.as_ref().map(explain::evidence_json),
            "amr": c.amr(),
            "accepted_amr": self.accepted_amr,
            "explanation": self.mfa_text(),
        });
        let (carries_amr, version_note) = version_facts(c.ver());
        let exp = c.exp().map(|e| e.unix());
        let areas: Vec<Value> = self
            .areas
            .iter()
            .map(|a| {
                // A preset area has a name and a title; a rule a name and maybe methods.
                let mut area = match &self.file {
                    None => json!({ "area": a.name, "title": a.title }),
                    Some(_) => json!({ "rule": a.name, "methods": a.methods }),
                };
                area["path"] = json!(a.pattern);
                area["requires"] = json!({
                    "callers": callers_name(a.callers),
                    "mfa": a.access == Access::Mfa,
                    "roles": a.roles.iter().map(Role::name).collect::<Vec<_>>(),
                });
                area["verdict"] = json!(verdict_code(&a.outcome));
                area["explanation"] = json!(verdict_text(&a.outcome, &a.roles));
                area["detail"] = json!(a.outcome.as_ref().err().map(|r| r.detail()));
                if let Some(e) = &a.explanation {
                    let (assurance, challenge) = explain::json(e);
                    area["assurance"] = assurance;
                    area["challenge"] = challenge;
                    area["www_authenticate"] = json!(e.rejection().and_then(|r| r.www_authenticate()));
                }
                area
            })
            .collect();
        let mut report = json!({
            "verified": false,
            "decoded": true,
            "note": NOT_VERIFIED,
            "header": self.inspection.header(),
            "claims": self.inspection.payload(),
            "caller": caller,
            "mfa": mfa,
            "version": {
                "ver": c.ver(),
                "carries_amr": carries_amr,
                "explanation": version_note,
                "advice": (carries_amr == Some(false)).then_some(V2_ADVICE),
            },
            "advice": self.advice(),
            "issuer": c.iss(),
            "tenant": c.tid(),
            "expiry": {
                "exp": exp,
                "expired": exp.map(|e| e < self.now),
                "seconds_left": exp.map(|e| e - self.now),
                "explanation": self.expiry_text(),
            },
            "roles": self.roles.iter().map(Role::name).collect::<Vec<_>>(),
            "groups_overage": c.groups_overage(),
        });
        match &self.file {
            None => report["areas"] = json!(areas),
            Some(file) => {
                report["config"] = json!(file);
                report["rules"] = json!(areas);
            }
        }
        report
    }

    /// What the caller can do, when MFA is what is missing.
    fn advice(&self) -> Option<&'static str> {
        if !matches!(self.kind, Ok((CallerKind::User, _))) || self.mfa.is_some() {
            return None;
        }
        Some(if version_facts(self.claims().ver()).0 == Some(false) { V2_ADVICE } else { NO_MFA_ADVICE })
    }

    fn mfa_text(&self) -> String {
        let c = self.claims();
        match (&self.kind, &self.mfa) {
            (Err(_), _) => "not applicable: the token names no caller the guard knows".into(),
            (Ok((CallerKind::User, _)), Some(evidence)) => {
                let amr = c.amr().map(|a| format!(" (amr: {})", a.join(", "))).unwrap_or_default();
                format!("satisfied: {evidence}{amr}")
            }
            (Ok((CallerKind::User, _)), None) => match c.amr() {
                None => "not satisfied: the token has no amr claim".into(),
                Some(amr) => format!(
                    "not satisfied: amr is [{}], which holds none of the accepted values [{}]",
                    amr.join(", "),
                    self.accepted_amr.join(", ")
                ),
            },
            (Ok(_), _) => "not applicable: app-only tokens have no user to authenticate; \
                they pass MFA only where apps are admitted"
                .into(),
        }
    }

    fn expiry_text(&self) -> String {
        let c = self.claims();
        let mut text = match c.exp() {
            None => "no exp claim: the guard refuses tokens without one".to_owned(),
            Some(exp) if exp.unix() < self.now => {
                format!("expired {} ({})", human::relative(exp.unix(), self.now), human::utc(exp.unix()))
            }
            Some(exp) => {
                format!("expires {} ({})", human::relative(exp.unix(), self.now), human::utc(exp.unix()))
            }
        };
        if let Some(nbf) = c.nbf().filter(|n| n.unix() > self.now) {
            text.push_str(&format!(
                "; not valid before {} ({})",
                human::utc(nbf.unix()),
                human::relative(nbf.unix(), self.now)
            ));
        }
        text
    }

    fn render(&self, s: Style, signature: Option<&str>) -> String {
        let c = self.claims();
        let mut out = String::new();
        out.push_str(&s.warn(NOT_VERIFIED));
        out.push_str("\n\n");

        out.push_str(&s.bold("Header"));
        out.push('\n');
        if let Some(map) = self.inspection.header().as_object() {
            push_table(&mut out, map.iter().map(|(k, v)| (clean(k), value_text(v))));
        }
        out.push('\n');

        out.push_str(&s.bold("Claims"));
        out.push('\n');
        if let Some(map) = self.inspection.payload().as_object() {
            push_table(
                &mut out,
                map.iter().map(|(k, v)| {
                    let mut text = value_text(v);
                    if TIME_CLAIMS.contains(&k.as_str())
                        && let Some(t) = v.as_i64()
                    {
                        text.push_str(&format!("  {}, {}", human::utc(t), human::relative(t, self.now)));
                    }
                    (clean(k), text)
                }),
            );
        }
        out.push('\n');

        if let Some(sig) = signature {
            out.push_str(&s.bold("Signature (base64url, as sent)"));
            out.push_str(&format!("\n  {}\n\n", clean(sig)));
        }

        out.push_str(&s.bold("Verdict"));
        out.push('\n');
        let caller = match self.kind {
            Ok((CallerKind::User, rule)) => {
                format!(
                    "user (App+User: an application acting for a signed-in user); decided by: {}",
                    rule.explain()
                )
            }
            Ok((_, rule)) => {
                format!("app-only (an application acting as itself); decided by: {}", rule.explain())
            }
            Err(reason) => s.bad(&format!("unknown: {reason}; the guard refuses it as invalid_token")),
        };
        let mfa = match (&self.kind, &self.mfa) {
            (Ok((CallerKind::User, _)), Some(_)) => s.good(&clean(&self.mfa_text())),
            (Ok((CallerKind::User, _)), None) => s.bad(&clean(&self.mfa_text())),
            _ => self.mfa_text(),
        };
        let (carries, note) = version_facts(c.ver());
        let mut version = match c.ver() {
            Some(v) => format!("{}: {note}", clean(v)),
            None => format!("none: {note}"),
        };
        if carries == Some(false) {
            version = s.warn(&version);
        }
        let roles = if self.roles.is_empty() {
            "none".to_owned()
        } else {
            self.roles.iter().map(Role::name).collect::<Vec<_>>().join(", ")
        };
        let advice = self.advice().map(|a| (String::new(), format!("to fix: {a}")));
        let mut rows = vec![("caller".to_owned(), caller), ("MFA".to_owned(), mfa)];
        if carries != Some(false) {
            rows.extend(advice.clone());
        }
        rows.push(("version".to_owned(), version));
        if carries == Some(false) {
            rows.extend(advice);
        }
        rows.push(("issuer".to_owned(), c.iss().map_or_else(|| s.bad("none (no iss claim)"), clean)));
        rows.push(("tenant".to_owned(), c.tid().map_or_else(|| "none (no tid claim)".to_owned(), clean)));
        rows.push(("expiry".to_owned(), self.expiry_text()));
        let role_map = match &self.file {
            None => "the Partner Center preset".to_owned(),
            Some(file) => format!("the role map of {}", clean(file)),
        };
        rows.push(("roles".to_owned(), format!("{roles} (under {role_map})")));
        if c.groups_overage() {
            rows.push((
                String::new(),
                s.warn("groups overage: group membership did not fit in the token; roles granted by group are unknown"),
            ));
        }
        push_table(&mut out, rows.into_iter());
        out.push('\n');

        let heading = match &self.file {
            None => "Partner Center areas (what the preset would decide)".to_owned(),
            Some(file) => format!("Rules of {} (what this configuration would decide)", clean(file)),
        };
        out.push_str(&s.bold(&heading));
        out.push('\n');
        let title_w = self.areas.iter().map(|a| a.title.chars().count()).max().unwrap_or(0);
        let path_w = self.areas.iter().map(|a| a.path().len()).max().unwrap_or(0);
        for a in &self.areas {
            let text = verdict_text(&a.outcome, &a.roles);
            let painted = match &a.outcome {
                Ok(()) => s.good(&text),
                Err(r) if r.code() == RejectionCode::MfaRequired => s.warn(&text),
                Err(_) => s.bad(&text),
            };
            out.push_str(&format!(
                "  {:title_w$}  {}  {painted}\n",
                a.title,
                s.dim(&format!("{:path_w$}", a.path()))
            ));
            // The rule spelled out where it asks for more than plain MFA.
            if let Some(e) = a.explanation.as_ref().filter(|e| explain::worth_showing(e)) {
                let mut rows = explain::rows(e, s);
                if let Some(www) = e.rejection().and_then(|r| r.www_authenticate()) {
                    rows.push(("www-authenticate".to_owned(), clean(www)));
                }
                for (name, value) in rows {
                    out.push_str(&format!("      {name:16}  {value}\n"));
                }
            }
        }
        out
    }
}

/// What to do about a v2.0 access token.
const V2_ADVICE: &str = "have the API's app registration issue v1.0 access tokens \
(manifest: accessTokenAcceptedVersion = 1 or null; Partner Center's own tokens are v1.0), \
or accept an authentication context that Conditional Access ties to MFA \
(configuration: [mfa] auth_contexts = [\"c1\"])";

/// What to do about a user token without MFA (of a version that can show it).
const NO_MFA_ADVICE: &str = "sign in again with multi-factor authentication and request a new token \
(in Entra ID, a Conditional Access policy requiring MFA for the app makes sign-in ask for it)";

/// Whether a token of this `ver` can carry `amr` at all, and why.
fn version_facts(ver: Option<&str>) -> (Option<bool>, &'static str) {
    match ver {
        Some("1.0") => (Some(true), "Entra v1.0 access tokens carry amr, so MFA can be seen in them"),
        Some("2.0") => {
            (Some(false), "Entra v2.0 access tokens never carry amr, so MFA cannot be seen in this token")
        }
        Some(_) => (None, "not an Entra token version; whether it carries amr depends on its issuer"),
        None => (None, "no ver claim; Entra v1.0 access tokens carry amr, v2.0 ones do not"),
    }
}

fn rule_name(rule: KindRule) -> &'static str {
    match rule {
        KindRule::Idtyp => "idtyp",
        KindRule::Scopes => "scp",
        KindRule::RolesWithOidEqualsSub => "roles-with-oid-equals-sub",
        _ => "other",
    }
}

fn callers_name(callers: Callers) -> &'static str {
    match callers {
        Callers::Users => "users",
        _ => "users-and-apps",
    }
}

/// `allowed`, or the code the guard would refuse with.
fn verdict_code(outcome: &Result<(), Refusal>) -> &'static str {
    match outcome {
        Ok(()) => "allowed",
        Err(r) => r.code().as_str(),
    }
}

fn verdict_text(outcome: &Result<(), Refusal>, roles: &[Role]) -> String {
    let Err(refusal) = outcome else { return "allowed".into() };
    match refusal.code() {
        RejectionCode::MfaRequired => "MFA required".into(),
        RejectionCode::AppOnlyNotAllowed => "app-only not allowed".into(),
        RejectionCode::InsufficientRole => {
            let names: Vec<&str> = roles.iter().map(Role::name).collect();
            format!("role missing (needs any of {})", names.join(", "))
        }
        RejectionCode::GroupsOverage => "role unknown (groups overage)".into(),
        RejectionCode::InvalidToken => format!("invalid token: {}", clean(refusal.detail())),
        other => format!("{other}: {}", clean(refusal.detail())),
    }
}

/// A claim value as text: strings bare, anything else as compact JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s),
        other => clean(&other.to_string()),
    }
}

fn push_table(out: &mut String, rows: impl Iterator<Item = (String, String)>) {
    let rows: Vec<(String, String)> = rows.collect();
    let width = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    for (k, v) in rows {
        out.push_str(&format!("  {k:width$}  {v}\n"));
    }
}
