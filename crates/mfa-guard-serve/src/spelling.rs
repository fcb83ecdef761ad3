//! mfa-guard's own headers arrive only under mfa-guard's own spelling.
//!
//! mfa-guard's header family is every name starting `x-mfa-guard-` (the identity
//! headers of [`IDENTITY_HEADERS`](crate::IDENTITY_HEADERS), and any added later)
//! and the configured compliance header. The proxy sets them on the upstream
//! request and replaces or strips a client's copy — of the name as the recipe
//! spells it, in any letter case. A copy spelled another way passes every proxy
//! untouched, and some applications read it as the real one: CGI (RFC 3875,
//! section 4.1.18) and the gateways modelled on it (WSGI, Rack, PHP) file a header
//! under its name upper-cased with `-` written `_`, so `X_Mfa_Guard_Roles` and
//! `X-Mfa-Guard-Roles` both become `HTTP_X_MFA_GUARD_ROLES`, and which of the two
//! the application sees is up to its gateway.
//!
//! So the rule is written as what is accepted: a header whose name, read without
//! letter case and with `_` as `-`, is in the family is accepted only spelled as
//! mfa-guard spells it — `-` only, or the compliance header exactly as configured.
//! Any other spelling refuses the request (`400 invalid_request`) on every
//! endpoint, before a decision. Names outside the family are not looked at.

use axum::http::HeaderMap;
use mfa_guard_core::{Refusal, RejectionCode};

/// The prefix of the identity headers, spelled as mfa-guard spells it.
const FAMILY_PREFIX: &[u8] = b"x-mfa-guard-";

/// The refusal of a request carrying one of mfa-guard's own headers under another
/// spelling; `compliance` is the configured compliance header, if any.
pub(crate) fn check(headers: &HeaderMap, compliance: Option<&str>) -> Result<(), Refusal> {
    if headers.keys().any(|name| respelled(name.as_str().as_bytes(), compliance.map(str::as_bytes))) {
        // Neither the name nor the value is echoed: both are the client's.
        return Err(Refusal::new(
            RejectionCode::InvalidRequest,
            "the request carries a header that reads as one of mfa-guard's own (X-Mfa-Guard-*, or the \
             compliance header) when _ is read as -, under another spelling; gateways such as CGI, WSGI and \
             Rack read both spellings as one header, so only the proxy may send it, spelled with -",
        )
        .described_in_challenge());
    }
    Ok(())
}

/// Whether `name` reads as a member of the family but is not spelled as mfa-guard
/// spells it.
fn respelled(name: &[u8], compliance: Option<&[u8]>) -> bool {
    let identity =
        name.len() >= FAMILY_PREFIX.len() && same_reading(&name[..FAMILY_PREFIX.len()], FAMILY_PREFIX);
    if identity && name.contains(&b'_') {
        return true;
    }
    compliance.is_some_and(|c| same_reading(name, c) && !name.eq_ignore_ascii_case(c))
}

/// `a` and `b` are one name to a CGI-style gateway: equal without letter case,
/// with `_` read as `-`.
fn same_reading(a: &[u8], b: &[u8]) -> bool {
    let fold = |b: u8| if b == b'_' { b'-' } else { b.to_ascii_lowercase() };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| fold(*x) == fold(*y))
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    fn headers(names: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for n in names {
            h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), HeaderValue::from_static("AdminAgent"));
        }
        h
    }

    #[test]
    fn an_identity_header_spelled_with_underscores_is_an_invalid_request() {
        for name in [
            "X_Mfa_Guard_Roles",
            "X-Mfa-Guard_Mfa",
            "x_mfa_guard_kind",
            "X_MFA_GUARD_OID",
            "X-MFA_GUARD-TID",
            "x-mfa-guard-roles_",
            // A future identity header is covered by the prefix.
            "X_Mfa_Guard_Clearance",
            "x-mfa-guard-new_one",
        ] {
            let e = check(&headers(&["authorization", name]), Some("mfa-compliance"))
                .expect_err(&format!("{name} was accepted"));
            assert_eq!(e.code(), RejectionCode::InvalidRequest, "{name}");
            assert!(e.detail().contains("another spelling"), "{name}: {}", e.detail());
            assert!(!e.detail().contains("AdminAgent"), "{name}: the value is echoed");
            assert!(
                !e.detail().to_ascii_lowercase().contains(&name.to_ascii_lowercase()),
                "{name} is echoed"
            );
        }
    }

    #[test]
    fn the_compliance_header_is_accepted_only_as_configured() {
        for name in ["Mfa_Compliance", "MFA_COMPLIANCE", "mfa-compliance_"] {
            let refused = check(&headers(&[name]), Some("mfa-compliance")).is_err();
            assert_eq!(refused, name != "mfa-compliance_", "{name}");
        }
        assert!(check(&headers(&["MFA-Compliance"]), Some("mfa-compliance")).is_ok());
        // Configured with `_`: that spelling is mfa-guard's, and `-` is the other one.
        assert!(check(&headers(&["Mfa_Compliance"]), Some("mfa_compliance")).is_ok());
        assert!(check(&headers(&["mfa-compliance"]), Some("mfa_compliance")).is_err());
        // Not configured: not in the family.
        assert!(check(&headers(&["Mfa_Compliance"]), None).is_ok());
    }

    #[test]
    fn the_exact_spelling_in_any_case_and_other_names_are_the_proxys_to_handle() {
        let h = headers(&[
            "X-Mfa-Guard-Roles",
            "x-mfa-guard-mfa",
            "X-MFA-GUARD-KIND",
            "x-mfa-guard-future",
            "mfa-compliance",
            "X_Request_Id",
            "x_mfa_guard",
            "x-mfa-guardroles",
            "x-mfa_guardian",
        ]);
        assert!(check(&h, Some("mfa-compliance")).is_ok());
    }
}
