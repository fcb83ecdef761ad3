//! Who was admitted, as headers for the upstream.

use mfa_guard_core::{Principal, Role};

/// The identity headers, lowercase: object id, tenant, caller kind, roles, MFA.
/// Recipes copy them to the upstream and strip any copy a client sent.
pub const IDENTITY_HEADERS: [&str; 5] =
    ["x-mfa-guard-oid", "x-mfa-guard-tid", "x-mfa-guard-kind", "x-mfa-guard-roles", "x-mfa-guard-mfa"];

/// The identity headers of an admitted caller, then the headers the guard asks to
/// add to the response (the compliance signal, when configured). A claim that is
/// not a usable header value (not visible ASCII, or longer than 256 bytes) is left
/// out rather than sent mangled.
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
    let roles = principal.roles().map(Role::name).collect::<Vec<_>>().join(",");
    if usable(&roles) {
        out.push((IDENTITY_HEADERS[3], roles));
    }
    out.push((IDENTITY_HEADERS[4], principal.mfa().to_string()));
    out
}
