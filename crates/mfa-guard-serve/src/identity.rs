//! Who was admitted, as headers for the upstream.

use mfa_guard_core::{Principal, Role};

/// The identity headers, lowercase: object id, tenant, caller kind, roles, MFA.
/// Recipes copy them to the upstream and strip any copy a client sent.
pub const IDENTITY_HEADERS: [&str; 5] =
    ["x-mfa-guard-oid", "x-mfa-guard-tid", "x-mfa-guard-kind", "x-mfa-guard-roles", "x-mfa-guard-mfa"];

/// The identity headers of an admitted caller, then the headers the guard asks to
/// add to the response (the compliance signal, when configured). A claim that is
/// not a usable header value (not visible ASCII, or longer than 256 bytes) is left
/// out rather than sent mangled; a header that would be empty is not sent.
pub(crate) fn headers(principal: &Principal) -> Vec<(&'static str, String)> {
    let usable = |v: &str| v.len() <= 256 && v.bytes().all(|b| (0x20..0x7f).contains(&b));
    let mut out = Vec::with_capacity(6);
    if let Some(oid) = principal.oid().filter(|v| usable(v)) {
        out.push((IDENTITY_HEADERS[0], oid.to_owned()));
    }
    if let Some(tid) = principal.tid().filter(|v| usable(v)) {
        out.push((IDENTITY_HEADERS[1], tid.to_owned()));
    }
    out.push((IDENTITY_HEADERS[2], principal.kind().as_str().to_owned()));
    // Comma-separated; a role whose name could not be read back from that list
    // (a comma, or not a usable value) is left out, which only ever shows the
    // application fewer roles. No roles: no header (nginx drops empty values, so
    // every proxy agrees that absent means none).
    let roles = principal
        .roles()
        .map(Role::name)
        .filter(|r| !r.is_empty() && !r.contains(',') && usable(r))
        .collect::<Vec<_>>()
        .join(",");
    if !roles.is_empty() && roles.len() <= 4096 {
        out.push((IDENTITY_HEADERS[3], roles));
    }
    out.push((IDENTITY_HEADERS[4], principal.mfa().to_string()));
    out
}
