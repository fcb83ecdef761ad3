//! Words for the guard's answers: a [`Rejection`] as the exact HTTP/1.1 response an
//! adapter sends, and a [`Principal`] as a summary. Every byte comes from core.

use mfa_guard_core::{CallerKind, Principal, Rejection, Role};
use serde_json::{Value, json};

use crate::style::clean;

/// The status line: `HTTP/1.1 401 Unauthorized - MFA required`.
pub(crate) fn status_line(rejection: &Rejection) -> String {
    let status = rejection.status();
    let reason = rejection.reason_phrase().map(str::to_owned).unwrap_or_else(|| standard_reason(status));
    format!("HTTP/1.1 {status} {reason}")
}

fn standard_reason(status: u16) -> String {
    http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("").to_owned()
}

/// The headers in the order sent, with `content-length` as the adapters' servers
/// (hyper, actix) add it for the fixed body.
pub(crate) fn headers(rejection: &Rejection) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> =
        rejection.headers().map(|(name, value)| (name.to_owned(), value.into_owned())).collect();
    headers.push(("content-length".to_owned(), rejection.body().len().to_string()));
    headers
}

/// The whole response as HTTP/1.1 text (CRLF line ends turned into `\n` for reading).
pub(crate) fn http_text(rejection: &Rejection) -> String {
    let mut out = status_line(rejection);
    out.push('\n');
    for (name, value) in headers(rejection) {
        out.push_str(&format!("{name}: {}\n", clean(&value)));
    }
    out.push('\n');
    out.push_str(&clean(&String::from_utf8_lossy(&rejection.body())));
    out.push('\n');
    out
}

/// The response as JSON: status, reason, headers, body (parsed) and code.
pub(crate) fn rejection_json(rejection: &Rejection) -> Value {
    let body = rejection.body();
    json!({
        "status": rejection.status(),
        "reason": rejection.reason_phrase().map(str::to_owned).unwrap_or_else(|| standard_reason(rejection.status())),
        "status_line": status_line(rejection),
        "headers": headers(rejection).into_iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        "body": serde_json::from_slice::<Value>(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body))),
        "code": rejection.code().as_str(),
        "detail": rejection.detail(),
    })
}

/// A verified caller, as JSON.
pub(crate) fn principal_json(p: &Principal) -> Value {
    json!({
        "kind": p.kind().as_str(),
        "oid": p.oid(),
        "tid": p.tid(),
        "sub": p.sub(),
        "upn": p.upn(),
        "issuer": p.claims().iss(),
        "roles": p.roles().map(Role::name).collect::<Vec<_>>(),
        "mfa": p.mfa(),
        "mfa_evidence": p.mfa_evidence().map(|e| e.to_string()),
        "kid": p.kid(),
        "exp": p.claims().exp().map(|e| e.unix()),
    })
}

/// A verified caller, in one line.
pub(crate) fn principal_text(p: &Principal) -> String {
    let roles: Vec<&str> = p.roles().map(Role::name).collect();
    let user = p.kind() == CallerKind::User;
    let kind = if user { "user (App+User)" } else { "app-only" };
    let mfa = match p.mfa_evidence() {
        Some(e) => format!("MFA: {e}"),
        None if user => "MFA: none".to_owned(),
        None => "MFA: not applicable".to_owned(),
    };
    clean(&format!(
        "{kind}, oid {}, tenant {}, roles [{}], {mfa}",
        p.oid().unwrap_or("-"),
        p.tid().unwrap_or("-"),
        roles.join(", ")
    ))
}
