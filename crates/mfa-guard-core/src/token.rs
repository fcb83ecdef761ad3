//! Pulling the bearer token out of a request (RFC 6750 §2.1, RFC 7235 §2.1).
//!
//! - exactly one `Authorization` header; more is `invalid_request`;
//! - the scheme is matched case-insensitively; a scheme other than `Bearer` counts
//!   as no token at all (so the answer is the plain `Bearer` challenge);
//! - a token in the URI query (`access_token=`) is never accepted: alongside a header
//!   it is a token in two places, alone it is a token sent where it leaks into logs;
//!   both are `invalid_request`;
//! - the header value is capped in size and must be visible ASCII;
//! - the credentials must have the `b64token` shape; whether they are a JWT is the
//!   verifier's question, answered with `invalid_token`.
//!
//! The body is never read: buffering every request body to look for a form-encoded
//! `access_token` would cost every request, and a token there is never honoured, so
//! no two parts of a service can disagree about which token a request carries.

use std::fmt;

use crate::rejection::{Refusal, RejectionCode};
use crate::request::RequestInfo;

/// Default cap on the size of the `Authorization` header value: 16 KiB.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;

/// A bearer token taken from a request. Its `Debug` never shows the token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BearerToken<'a>(&'a str);

impl<'a> BearerToken<'a> {
    /// The token text (the credential; handle with care).
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bearer ******")
    }
}

/// Finds the bearer token of a request: `Ok(None)` when there is none.
pub fn extract_bearer<'a>(
    req: &RequestInfo<'a>,
    max_header_bytes: usize,
) -> Result<Option<BearerToken<'a>>, Refusal> {
    match locate_bearer(req, max_header_bytes)? {
        Some(credentials) => check_credentials(credentials).map(Some),
        None => Ok(None),
    }
}

/// The first half of [`extract_bearer`]: every rule about the request (header
/// count, query, size, scheme), and the credentials' bytes, whose syntax is not yet
/// checked. Cheap: it looks at the scheme and the ends of the value only.
///
/// The guard recognises cached tokens by their exact bytes right after this step;
/// bytes that match a token verified before need no second syntax check. Only a
/// miss goes on to [`check_credentials`].
pub(crate) fn locate_bearer<'a>(
    req: &RequestInfo<'a>,
    max_header_bytes: usize,
) -> Result<Option<&'a [u8]>, Refusal> {
    if req.authorization_count > 1 {
        return Err(Refusal::new(
            RejectionCode::InvalidRequest,
            format!(
                "the request carries {} Authorization headers; send exactly one",
                req.authorization_count
            ),
        ));
    }
    let in_query = req.query.is_some_and(query_has_access_token);
    let Some(value) = req.authorization else {
        return if in_query { Err(query_token()) } else { Ok(None) };
    };
    if value.len() > max_header_bytes {
        return Err(Refusal::new(
            RejectionCode::InvalidRequest,
            format!("the Authorization header exceeds {max_header_bytes} bytes"),
        ));
    }
    let value = trim_ows(value);
    let scheme_len = value.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(value.len());
    if !value[..scheme_len].eq_ignore_ascii_case(b"bearer") {
        // Not ours; still, a credential line of invisible bytes is a malformed request.
        if !value.iter().all(|&b| is_field_byte(b)) {
            return Err(outside_ascii());
        }
        return if in_query { Err(query_token()) } else { Ok(None) };
    }
    if in_query {
        return Err(Refusal::new(
            RejectionCode::InvalidRequest,
            "the request carries an access token both in the Authorization header and in the URI query",
        ));
    }
    let credentials = trim_ows(&value[scheme_len..]);
    if credentials.is_empty() {
        return Err(Refusal::new(
            RejectionCode::InvalidRequest,
            "the Authorization header names the Bearer scheme but carries no token",
        ));
    }
    Ok(Some(credentials))
}

/// The second half of [`extract_bearer`]: the credentials must be one RFC 6750
/// `b64token` (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`).
///
/// One branch-free pass: every byte is classified by comparisons and the results
/// are and-ed, which the compiler turns into 16 bytes per step (a lookup table with
/// an early exit cost ~7 instructions per byte, ~5k per token, on every cache miss).
pub(crate) fn check_credentials(credentials: &[u8]) -> Result<BearerToken<'_>, Refusal> {
    let body_len = credentials.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    if body_len > 0
        && credentials[..body_len].iter().fold(true, |ok, &b| ok & is_b64token_byte(b))
        && let Ok(token) = std::str::from_utf8(credentials)
    {
        return Ok(BearerToken(token));
    }
    if !credentials.iter().all(|&b| is_field_byte(b)) {
        return Err(outside_ascii());
    }
    Err(Refusal::new(
        RejectionCode::InvalidRequest,
        "the bearer credentials are not a single token (RFC 6750 b64token syntax)",
    ))
}

/// The characters of a `b64token` before its `=` padding, without branches.
#[inline(always)]
fn is_b64token_byte(b: u8) -> bool {
    // `b | 0x20` folds A-Z onto a-z and moves no other byte into a-z.
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// Visible ASCII, space and tab: what a header value may hold.
fn is_field_byte(b: u8) -> bool {
    b == b'\t' || (0x20..0x7f).contains(&b)
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ' && b != b'\t').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(start, |i| i + 1);
    &bytes[start..end]
}

fn outside_ascii() -> Refusal {
    Refusal::new(
        RejectionCode::InvalidRequest,
        "the Authorization header contains bytes outside visible ASCII",
    )
}

fn query_token() -> Refusal {
    Refusal::new(
        RejectionCode::InvalidRequest,
        "access tokens in the URI query are not accepted; send an Authorization: Bearer header",
    )
}

/// Whether a query string carries an `access_token` parameter (RFC 6750 §2.3), the
/// name compared after percent-decoding so `access%5Ftoken` is seen too.
fn query_has_access_token(query: &str) -> bool {
    query.split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if !name.contains('%') {
            return name == "access_token";
        }
        // A malformed escape stays as it is, so it never spells the name.
        percent_encoding::percent_decode_str(name).eq(b"access_token".iter().copied())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(values: &[&[u8]], query: Option<&str>) -> Result<Option<String>, RejectionCode> {
        let req = RequestInfo::new("GET", "/x").with_query(query).with_authorizations(values.iter().copied());
        extract_bearer(&req, DEFAULT_MAX_HEADER_BYTES)
            .map(|t| t.map(|t| t.as_str().to_owned()))
            .map_err(|r| r.code)
    }

    #[test]
    fn bearer_scheme_is_matched_case_insensitively() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let header = format!("{scheme} abc.def.ghi");
            assert_eq!(extract(&[header.as_bytes()], None), Ok(Some("abc.def.ghi".into())), "{scheme}");
        }
    }

    #[test]
    fn the_b64token_class_is_exactly_rfc_6750s_for_every_byte() {
        for b in 0..=255u8 {
            let spec = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), spec, "byte {b:#04x}");
            // Inside a token and alone, at every position the 16-byte steps can put it.
            for at in [0, 1, 15, 16, 17, 31] {
                let mut token = vec![b'a'; 40];
                token[at] = b;
                assert_eq!(check_credentials(&token).is_ok(), spec, "byte {b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn no_authorization_header_is_no_token() {
        assert_eq!(extract(&[], None), Ok(None));
    }

    #[test]
    fn a_non_bearer_scheme_counts_as_no_token() {
        assert_eq!(extract(&[b"Basic dXNlcjpwYXNz"], None), Ok(None));
        assert_eq!(extract(&[b"Bearerish abc"], None), Ok(None));
        assert_eq!(extract(&[b"DPoP abc.def.ghi"], None), Ok(None));
    }

    #[test]
    fn two_authorization_headers_are_an_invalid_request() {
        assert_eq!(extract(&[b"Bearer a.b.c", b"Bearer a.b.c"], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&[b"Basic x", b"Bearer a.b.c"], None), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn a_token_in_header_and_query_is_an_invalid_request() {
        assert_eq!(
            extract(&[b"Bearer a.b.c"], Some("x=1&access_token=a.b.c")),
            Err(RejectionCode::InvalidRequest)
        );
        assert_eq!(
            extract(&[b"Bearer a.b.c"], Some("access%5Ftoken=a.b.c")),
            Err(RejectionCode::InvalidRequest)
        );
    }

    #[test]
    fn a_token_only_in_the_query_is_an_invalid_request() {
        assert_eq!(extract(&[], Some("access_token=a.b.c")), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn other_query_parameters_are_not_tokens() {
        assert_eq!(
            extract(&[b"Bearer a.b.c"], Some("token=1&access_tokens=2&x=access_token")),
            Ok(Some("a.b.c".into()))
        );
    }

    #[test]
    fn oversized_header_is_an_invalid_request() {
        let big = format!("Bearer {}", "a".repeat(DEFAULT_MAX_HEADER_BYTES));
        assert_eq!(extract(&[big.as_bytes()], None), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn header_bytes_outside_visible_ascii_are_an_invalid_request() {
        assert_eq!(extract(&[b"Bearer a.b.c\x00"], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&["Bearer a.b.c\u{00e9}".as_bytes()], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&[b"Bearer a.b\x7f.c"], None), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn bearer_without_credentials_is_an_invalid_request() {
        assert_eq!(extract(&[b"Bearer"], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&[b"Bearer   "], None), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn credentials_with_spaces_or_commas_are_an_invalid_request() {
        assert_eq!(extract(&[b"Bearer a.b.c d.e.f"], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&[b"Bearer a.b.c, realm=x"], None), Err(RejectionCode::InvalidRequest));
        assert_eq!(extract(&[b"Bearer ===="], None), Err(RejectionCode::InvalidRequest));
    }

    #[test]
    fn surrounding_whitespace_and_several_spaces_after_the_scheme_are_tolerated() {
        assert_eq!(extract(&[b"  Bearer    a.b.c  "], None), Ok(Some("a.b.c".into())));
        assert_eq!(extract(&[b"Bearer\ta.b.c"], None), Ok(Some("a.b.c".into())));
    }

    #[test]
    fn bearer_token_debug_is_redacted() {
        assert_eq!(format!("{:?}", BearerToken("secret.token.value")), "Bearer ******");
    }
}
