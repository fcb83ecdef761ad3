//! One table of cases: every row of the response table (docs/ARCHITECTURE.md) across the Partner Center areas, each caller
//! kind, each challenge style. [`run`] sends every case to every target and checks
//! the expected answer, and that all targets answered the same bytes.

use std::net::SocketAddr;

use crate::fixture::{Style, Tok};
use crate::http1::{RawResponse, request};

/// What a case sends as `Authorization`.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No header.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Tok),
    /// These raw header lines.
    Raw(Vec<Vec<u8>>),
}

/// What a case expects.
#[derive(Debug, Clone)]
pub enum Expect {
    /// `200 OK` with the caller JSON of this area and caller kind (`None`: anonymous).
    Ok {
        /// The area name in the JSON.
        area: &'static str,
        /// `user`, `app`, or `None` for no caller.
        kind: Option<&'static str>,
        /// The refusal code report-only mode recorded, if any.
        report_only: Option<&'static str>,
    },
    /// A refusal.
    Refused {
        /// The exact status line.
        status_line: &'static str,
        /// The exact `WWW-Authenticate`, if one (see [`Www`]).
        www: Www,
        /// The body's `code`.
        code: &'static str,
    },
}

/// Expected `WWW-Authenticate`.
#[derive(Debug, Clone)]
pub enum Www {
    /// None sent.
    Absent,
    /// Exactly this value.
    Exact(&'static str),
    /// `Bearer error="invalid_token", error_description="…"` with any description.
    InvalidTokenWithDescription,
    /// Starts with this.
    Prefix(&'static str),
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// A name to report.
    pub name: String,
    /// The challenge-style configuration it runs under.
    pub style: Style,
    /// Method.
    pub method: &'static str,
    /// Request target (path and query).
    pub target: String,
    /// Authorization.
    pub auth: Auth,
    /// Expected answer.
    pub expect: Expect,
    /// Expected value of the compliance header (`None`: not sent).
    pub compliance: Option<&'static str>,
}

const MFA_LINE: &str = "HTTP/1.1 401 Unauthorized - MFA required";
const UNAUTHORIZED: &str = "HTTP/1.1 401 Unauthorized";
const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden";
const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request";
const UNAVAILABLE: &str = "HTTP/1.1 503 Service Unavailable";
const MFA_WWW: Www = Www::Exact(r#"Bearer error="invalid_token""#);
const SCOPE_WWW: Www = Www::Exact(r#"Bearer error="insufficient_scope""#);

/// Protected routes (area name, a path in it, whether MFA applies, whether apps pass).
pub const ROUTES: &[(&str, &str, bool, bool)] = &[
    ("overview", "/overview", false, true),
    ("unmatched", "/somewhere/else", false, true),
    ("customers", "/commerce/customers", true, false),
    ("support-customer-requests", "/dashboard/v2/support/customers/42", true, false),
    ("billing", "/billing/invoices", true, false),
    ("security-workspace", "/security/alerts", true, false),
    ("catalog-api", "/v1/catalog/prices", true, true),
    ("customers-api", "/v1/customers/contoso", true, false),
];

fn case(name: impl Into<String>, method: &'static str, target: &str, auth: Auth, expect: Expect) -> Case {
    Case {
        name: name.into(),
        style: Style::PartnerCenter,
        method,
        target: target.to_owned(),
        auth,
        expect,
        compliance: None,
    }
}

fn ok(area: &'static str, kind: &'static str) -> Expect {
    Expect::Ok { area, kind: Some(kind), report_only: None }
}

fn refused(status_line: &'static str, www: Www, code: &'static str) -> Expect {
    Expect::Refused { status_line, www, code }
}

/// The whole table.
pub fn table() -> Vec<Case> {
    use Tok::*;
    let mut cases = Vec::new();
    let b = Auth::Bearer;

    // /health: anyone.
    cases.push(case("health without token", "GET", "/health", Auth::None, ok("health", "")));
    cases.push(case("health with a valid token", "GET", "/health", b(AdminNoMfa), ok("health", "")));
    cases.push(case("health with an invalid token", "GET", "/health", b(Garbage), ok("health", "")));

    for &(area, path, mfa, apps) in ROUTES {
        // Row: no token on a protected route.
        cases.push(case(
            format!("{area}: no token"),
            "GET",
            path,
            Auth::None,
            refused(UNAUTHORIZED, Www::Exact("Bearer"), "missing_token"),
        ));
        // Row: invalid token (one per route; the kinds of invalidity are below).
        cases.push(case(
            format!("{area}: expired token"),
            "GET",
            path,
            b(Expired),
            refused(UNAUTHORIZED, Www::InvalidTokenWithDescription, "invalid_token"),
        ));
        // A user with MFA and the Admin agent role passes everywhere.
        cases.push(case(format!("{area}: admin with MFA"), "GET", path, b(AdminMfa), ok(area, "user")));
        // Row: a user without MFA.
        cases.push(case(
            format!("{area}: admin without MFA"),
            "GET",
            path,
            b(AdminNoMfa),
            if mfa { refused(MFA_LINE, MFA_WWW, "mfa_required") } else { ok(area, "user") },
        ));
        // Row: app-only.
        cases.push(case(
            format!("{area}: app-only"),
            "GET",
            path,
            b(App),
            if apps { ok(area, "app") } else { refused(FORBIDDEN, SCOPE_WWW, "app_only_not_allowed") },
        ));
        // Row: two Authorization headers.
        let twice = Auth::Raw(vec![bearer_line(AdminMfa), bearer_line(AdminMfa)]);
        cases.push(case(
            format!("{area}: two Authorization headers"),
            "GET",
            path,
            twice,
            refused(BAD_REQUEST, Www::Exact(r#"Bearer error="invalid_request""#), "invalid_request"),
        ));
    }

    // Row: every kind of invalid token, on an MFA route.
    for tok in [
        NotYetValid,
        WrongAudience,
        WrongIssuer,
        BadSignature,
        UnknownKid,
        NoScopesNoRoles,
        AlgNone,
        Hs256,
        Garbage,
        NonGuidTid,
    ] {
        cases.push(case(
            format!("customers: {tok:?}"),
            "GET",
            "/commerce/customers",
            b(tok),
            refused(UNAUTHORIZED, Www::InvalidTokenWithDescription, "invalid_token"),
        ));
    }
    // MFA: a v2 token carries no amr at all.
    cases.push(case(
        "customers: no amr (v2)",
        "GET",
        "/commerce/customers",
        b(AdminNoAmr),
        refused(MFA_LINE, MFA_WWW, "mfa_required"),
    ));
    // MFA is checked whatever the method.
    cases.push(case(
        "customers: POST without MFA",
        "POST",
        "/commerce/customers",
        b(AdminNoMfa),
        refused(MFA_LINE, MFA_WWW, "mfa_required"),
    ));
    // App-only by roles with oid == sub.
    cases.push(case(
        "catalog: app by roles",
        "GET",
        "/v1/catalog/prices",
        b(AppByRoles),
        ok("catalog-api", "app"),
    ));
    cases.push(case(
        "customers-api: app by roles",
        "GET",
        "/v1/customers/c",
        b(AppByRoles),
        refused(FORBIDDEN, SCOPE_WWW, "app_only_not_allowed"),
    ));

    // Row: the role table of the Partner Center preset.
    let role_table: &[(&str, &str, Tok, bool)] = &[
        ("customers", "/commerce/customers", SalesMfa, true),
        ("customers", "/commerce/customers", HelpdeskMfa, true),
        ("customers", "/commerce/customers", SecurityAdminMfa, false),
        ("customers", "/commerce/customers", NoRoleMfa, false),
        ("support-customer-requests", "/dashboard/v2/support/customers/42", HelpdeskMfa, true),
        ("support-customer-requests", "/dashboard/v2/support/customers/42", SalesMfa, false),
        ("billing", "/billing/invoices", BillingAdminMfa, true),
        ("billing", "/billing/invoices", SecurityAdminMfa, true),
        ("billing", "/billing/invoices", SalesMfa, false),
        ("security-workspace", "/security/alerts", SecurityAdminMfa, true),
        ("security-workspace", "/security/alerts", BillingAdminMfa, false),
        ("security-workspace", "/security/alerts", HelpdeskMfa, false),
        ("catalog-api", "/v1/catalog/prices", NoRoleMfa, true),
        ("customers-api", "/v1/customers/contoso", SalesMfa, false),
    ];
    for &(area, path, tok, allowed) in role_table {
        cases.push(case(
            format!("{area}: {tok:?}"),
            "GET",
            path,
            b(tok),
            if allowed { ok(area, "user") } else { refused(FORBIDDEN, SCOPE_WWW, "insufficient_role") },
        ));
    }
    // Groups overage: membership unknown, fail closed with its own reason.
    cases.push(case(
        "customers: groups overage",
        "GET",
        "/commerce/customers",
        b(OverageMfa),
        refused(FORBIDDEN, SCOPE_WWW, "groups_overage"),
    ));

    // Row: malformed requests.
    let token = AdminMfa.mint();
    cases.push(case(
        "customers: token in header and query",
        "GET",
        &format!("/commerce/customers?access_token={token}"),
        b(AdminMfa),
        refused(BAD_REQUEST, Www::Exact(r#"Bearer error="invalid_request""#), "invalid_request"),
    ));
    cases.push(case(
        "customers: token only in the query",
        "GET",
        &format!("/commerce/customers?access_token={token}"),
        Auth::None,
        refused(BAD_REQUEST, Www::Exact(r#"Bearer error="invalid_request""#), "invalid_request"),
    ));
    let mut non_ascii = b"Authorization: Bearer ".to_vec();
    non_ascii.extend_from_slice(token.as_bytes());
    non_ascii.extend_from_slice("\u{e9}".as_bytes());
    cases.push(case(
        "customers: non-ASCII bytes in the header",
        "GET",
        "/commerce/customers",
        Auth::Raw(vec![non_ascii]),
        refused(BAD_REQUEST, Www::Exact(r#"Bearer error="invalid_request""#), "invalid_request"),
    ));
    cases.push(case(
        "overview: Basic scheme is no token",
        "GET",
        "/overview",
        Auth::Raw(vec![b"Authorization: Basic dXNlcjpwYXNz".to_vec()]),
        refused(UNAUTHORIZED, Www::Exact("Bearer"), "missing_token"),
    ));
    cases.push(case(
        "overview: scheme in lower case",
        "GET",
        "/overview",
        Auth::Raw(vec![format!("Authorization: bearer {token}").into_bytes()]),
        ok("overview", "user"),
    ));
    // Row: a path that cannot be read one way is refused before any rule is chosen,
    // with or without a token, even where it starts like a public route.
    let unreadable_path = || {
        refused(
            "HTTP/1.1 400 Bad Request",
            Www::Prefix(
                r#"Bearer error="invalid_request", error_description="the request path has a dot segment"#,
            ),
            "invalid_request",
        )
    };
    cases.push(case(
        "dot segments into customers",
        "GET",
        "/health/../commerce/customers",
        b(AdminNoMfa),
        unreadable_path(),
    ));
    cases.push(case(
        "dot segments, no token",
        "GET",
        "/health/../commerce/customers",
        Auth::None,
        unreadable_path(),
    ));

    // Row: keys cannot be had.
    cases.push(case(
        "customers: issuer whose keys are down",
        "GET",
        "/commerce/customers",
        b(DownIssuer),
        refused(UNAVAILABLE, Www::Absent, "key_source_unavailable"),
    ));

    // Challenge styles change only the MFA row.
    for (style, tok, expect) in [
        (
            Style::StepUp,
            AdminNoMfa,
            refused(
                UNAUTHORIZED,
                Www::Prefix(r#"Bearer error="insufficient_user_authentication", error_description=""#),
                "mfa_required",
            ),
        ),
        (Style::StepUp, Expired, refused(UNAUTHORIZED, Www::InvalidTokenWithDescription, "invalid_token")),
        (Style::StepUp, App, refused(FORBIDDEN, SCOPE_WWW, "app_only_not_allowed")),
        (
            Style::EntraClaims,
            Cp1NoMfa,
            refused(
                UNAUTHORIZED,
                Www::Exact(
                    r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19""#,
                ),
                "mfa_required",
            ),
        ),
        (Style::EntraClaims, AdminNoMfa, refused(MFA_LINE, MFA_WWW, "mfa_required")),
        (Style::EntraClaims, AdminMfa, ok("customers", "user")),
    ] {
        cases.push(Case {
            name: format!("{style:?}: {tok:?} on customers"),
            style,
            method: "GET",
            target: "/commerce/customers".to_owned(),
            auth: b(tok),
            expect,
            compliance: None,
        });
    }

    // Rollout: report-only routes let policy refusals through, recorded; token
    // validity is still enforced; the compliance header is on every verified answer.
    let report = |area, kind, code| Expect::Ok { area, kind: Some(kind), report_only: Some(code) };
    for (path, tok, expect, compliance) in [
        ("/commerce/customers", AdminNoMfa, report("customers", "user", "mfa_required"), Some("missing")),
        (
            "/commerce/customers",
            App,
            report("customers", "app", "app_only_not_allowed"),
            Some("not-applicable"),
        ),
        (
            "/commerce/customers",
            SecurityAdminMfa,
            report("customers", "user", "insufficient_role"),
            Some("satisfied"),
        ),
        ("/commerce/customers", AdminMfa, ok("customers", "user"), Some("satisfied")),
        (
            "/commerce/customers",
            Expired,
            refused(UNAUTHORIZED, Www::InvalidTokenWithDescription, "invalid_token"),
            None,
        ),
        (
            "/commerce/customers",
            Garbage,
            refused(UNAUTHORIZED, Www::InvalidTokenWithDescription, "invalid_token"),
            None,
        ),
        ("/billing/invoices", AdminNoMfa, report("billing", "user", "mfa_required"), Some("missing")),
        ("/security/alerts", AdminNoMfa, refused(MFA_LINE, MFA_WWW, "mfa_required"), Some("missing")),
        ("/security/alerts", SalesMfa, refused(FORBIDDEN, SCOPE_WWW, "insufficient_role"), Some("satisfied")),
        ("/overview", AdminNoMfa, ok("overview", "user"), Some("not-required")),
    ] {
        cases.push(Case {
            name: format!("Rollout: {tok:?} on {path}"),
            style: Style::Rollout,
            method: "GET",
            target: path.to_owned(),
            auth: b(tok),
            expect,
            compliance,
        });
    }
    // Per-route assurance: each rule's level, freshness and challenge. Exact
    // challenges (computed, then kept for the run as the table's other strings).
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let claims_c2 = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c2"}}}"#)
    };
    let entra_c2 = leak(format!(
        r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{claims_c2}""#
    ));
    let step_up = |detail: &str| {
        leak(format!(
            r#"Bearer error="insufficient_user_authentication", error_description="{detail}", acr_values="c1", max_age="600""#
        ))
    };
    let stale = "this operation requires a recent multi-factor sign-in; sign in again with MFA";
    let no_mfa = "this operation requires multi-factor authentication: the access token's amr claim does not contain mfa; sign in again with MFA";
    for (path, tok, expect) in [
        // Security: phishing-resistant within an hour, Entra's challenge for c2.
        ("/security/alerts", MfaRecent, refused(MFA_LINE, MFA_WWW, "mfa_required")),
        ("/security/alerts", Cp1MfaRecent, refused(UNAUTHORIZED, Www::Exact(entra_c2), "mfa_required")),
        ("/security/alerts", StrongRecent, ok("security-workspace", "user")),
        ("/security/alerts", StrongOld, refused(MFA_LINE, MFA_WWW, "mfa_required")),
        // Billing: any MFA within ten minutes, RFC 9470 with the rule's max_age.
        ("/billing/invoices", MfaRecent, ok("billing", "user")),
        ("/billing/invoices", MfaOld, refused(UNAUTHORIZED, Www::Exact(step_up(stale)), "mfa_required")),
        ("/billing/invoices", AdminNoMfa, refused(UNAUTHORIZED, Www::Exact(step_up(no_mfa)), "mfa_required")),
        // Customers: the preset's rule; a stronger level satisfies it.
        ("/commerce/customers", MfaOld, ok("customers", "user")),
        ("/commerce/customers", StrongOld, ok("customers", "user")),
        ("/commerce/customers", AdminNoMfa, refused(MFA_LINE, MFA_WWW, "mfa_required")),
        // GDAP: the strong level, Partner Center's answer even to cp1 clients.
        ("/v1/customers/contoso", Cp1MfaRecent, refused(MFA_LINE, MFA_WWW, "mfa_required")),
        ("/v1/customers/contoso", StrongOld, ok("customers-api", "user")),
        ("/v1/customers/contoso", App, refused(FORBIDDEN, SCOPE_WWW, "app_only_not_allowed")),
    ] {
        cases.push(Case {
            name: format!("Assurance: {tok:?} on {path}"),
            style: Style::Assurance,
            method: "GET",
            target: path.to_owned(),
            auth: b(tok),
            expect,
            compliance: None,
        });
    }
    cases.push(Case {
        name: "Rollout: no token on customers".into(),
        style: Style::Rollout,
        method: "GET",
        target: "/commerce/customers".into(),
        auth: Auth::None,
        expect: refused(UNAUTHORIZED, Www::Exact("Bearer"), "missing_token"),
        compliance: None,
    });
    cases
}

/// The `Authorization: Bearer …` line of a fixture token.
pub fn bearer_line(tok: Tok) -> Vec<u8> {
    format!("Authorization: Bearer {}", tok.mint()).into_bytes()
}

/// A server under test.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name in reports (`axum`, `actix`).
    pub name: &'static str,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Sends `case` to `target`.
pub async fn send(case: &Case, target: &Target) -> RawResponse {
    let headers = match &case.auth {
        Auth::None => Vec::new(),
        Auth::Bearer(tok) => vec![bearer_line(*tok)],
        Auth::Raw(lines) => lines.clone(),
    };
    request(target.addr, case.method, &case.target, &headers)
        .await
        .unwrap_or_else(|e| panic!("{} on {}: {e}", case.name, target.name))
}

/// Checks one response against the case's expectation; `Err` says what differs.
pub fn check(case: &Case, res: &RawResponse) -> Result<(), String> {
    let www = res.header("www-authenticate");
    let compliance = res.header(crate::fixture::COMPLIANCE_HEADER);
    if compliance != case.compliance {
        return Err(format!("compliance header {compliance:?} instead of {:?}", case.compliance));
    }
    match &case.expect {
        Expect::Ok { area, kind, report_only } => {
            if res.status_line != "HTTP/1.1 200 OK" {
                return Err(format!(
                    "expected 200 OK, got {:?} {}",
                    res.status_line,
                    String::from_utf8_lossy(&res.body)
                ));
            }
            if res.header("content-type") != Some("application/json") {
                return Err(format!("content-type {:?}", res.header("content-type")));
            }
            let json = res.json();
            if *area == "health" {
                return if json == serde_json::json!({"status": "ok"}) {
                    Ok(())
                } else {
                    Err(format!("health body {json}"))
                };
            }
            if json["area"] != *area {
                return Err(format!("area {} instead of {area}", json["area"]));
            }
            if json["kind"].as_str() != *kind {
                return Err(format!("kind {} instead of {kind:?}", json["kind"]));
            }
            if kind.is_some() && !json["oid"].is_string() {
                return Err(format!("no oid in {json}"));
            }
            if json["report_only"]["would_refuse"].as_str() != *report_only {
                return Err(format!("report_only {} instead of {report_only:?}", json["report_only"]));
            }
            Ok(())
        }
        Expect::Refused { status_line, www: expected_www, code } => {
            if res.status_line != *status_line {
                return Err(format!("status line {:?} instead of {status_line:?}", res.status_line));
            }
            let www_ok = match expected_www {
                Www::Absent => www.is_none(),
                Www::Exact(v) => www == Some(*v),
                Www::Prefix(p) => www.is_some_and(|w| w.starts_with(p)),
                Www::InvalidTokenWithDescription => www.is_some_and(|w| {
                    w.starts_with(r#"Bearer error="invalid_token", error_description=""#) && w.ends_with('"')
                }),
            };
            if !www_ok {
                return Err(format!("WWW-Authenticate {www:?} does not match {expected_www:?}"));
            }
            if res.header("content-type") != Some("application/problem+json") {
                return Err(format!("content-type {:?}", res.header("content-type")));
            }
            if res.code().as_deref() != Some(code) {
                return Err(format!("body code {:?} instead of {code}", res.code()));
            }
            if *code == "key_source_unavailable"
                && res.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_none()
            {
                return Err("no Retry-After".into());
            }
            Ok(())
        }
    }
}

/// What must be identical between adapters.
pub fn comparable(res: &RawResponse) -> [Option<String>; 6] {
    [
        Some(res.status_line.clone()),
        res.header("www-authenticate").map(str::to_owned),
        res.header("content-type").map(str::to_owned),
        res.header("retry-after").map(str::to_owned),
        res.header(crate::fixture::COMPLIANCE_HEADER).map(str::to_owned),
        Some(String::from_utf8_lossy(&res.body).into_owned()),
    ]
}

/// Runs `cases` against every target (targets per style), and returns every failure.
pub async fn run(cases: &[Case], targets_for: impl Fn(Style) -> Vec<Target>) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let targets = targets_for(case.style);
        let mut answers: Vec<(&'static str, RawResponse)> = Vec::new();
        for target in &targets {
            let res = send(case, target).await;
            if let Err(e) = check(case, &res) {
                failures.push(format!("[{}] {}: {e}", target.name, case.name));
            }
            answers.push((target.name, res));
        }
        if let Some(((first_name, first), rest)) = answers.split_first() {
            for (name, res) in rest {
                if comparable(first) != comparable(res) {
                    failures.push(format!(
                        "{}: {first_name} and {name} differ:\n  {first_name}: {:?} {:?} {:?} {}\n  {name}: {:?} {:?} {:?} {}",
                        case.name,
                        first.status_line,
                        first.header("www-authenticate"),
                        first.header("content-type"),
                        String::from_utf8_lossy(&first.body),
                        res.status_line,
                        res.header("www-authenticate"),
                        res.header("content-type"),
                        String::from_utf8_lossy(&res.body),
                    ));
                }
            }
        }
    }
    failures
}
