//! The JOSE header of a signed token (RFC 7515 §4), read strictly.
//!
//! - `alg` is required; `kid` is a string of at most 256 bytes when present;
//! - `typ`, when present, names an access token (`JWT`, `at+jwt`,
//!   `application/at+jwt`, RFC 9068 §2.1) or a logout token (`logout+jwt`,
//!   `application/logout+jwt`, OpenID Connect Back-Channel Logout 1.0 §2.4) and
//!   nothing else (explicit typing, RFC 8725 §3.11: a DPoP proof never passes). The
//!   header says which ([`Typ`]); the verifier accepts a logout token only where it
//!   verifies logout tokens, so one never passes as an access token or ID token;
//! - `crit` naming anything is refused: this verifier understands no extension, and
//!   RFC 7515 §4.1.11 says a recipient must then reject the token; so is `b64: false`
//!   (RFC 7797 unencoded payloads), `cty` (nested tokens) and `zip`/`enc` (JWE);
//! - `jku`, `x5u`, `jwk`, `x5c` and the thumbprints are read past and ignored: keys
//!   come only from the issuer's configured key source, never from the token itself;
//! - a name that appears twice refuses the token (parser differentials);
//! - the whole header must be UTF-8 (RFC 7515 §5.2): serde_json skips the values of
//!   parameters it is told to ignore without checking their bytes, so a header with
//!   `"x5t":"\xfe"` would otherwise pass here and fail in every other JOSE library.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::json::JsonStr;
use crate::rejection::quote_untrusted;

/// Longest `kid` accepted.
pub(crate) const MAX_KID_BYTES: usize = 256;
/// Most header parameters accepted.
const MAX_PARAMS: usize = 32;

/// What the verifier needs from the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoseHeader<'a> {
    /// Borrowed from the decoded header: it lives only until it names an algorithm.
    pub(crate) alg: Cow<'a, str>,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Typ,
}

/// What the header's `typ` says the token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Typ {
    /// No `typ`, or one naming a JWT or an access token: accepted as access tokens
    /// and ID tokens are (and as logout tokens, which providers need not type).
    Jwt,
    /// `logout+jwt`: accepted only where logout tokens are verified.
    Logout,
}

pub(crate) fn parse_header(json: &[u8]) -> Result<JoseHeader<'_>, Cow<'static, str>> {
    if std::str::from_utf8(json).is_err() {
        return Err("the token header is not valid JSON (it is not UTF-8)".into());
    }
    let mut reason = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = HeaderSeed { reason: &mut reason }.deserialize(&mut de).and_then(|h| {
        de.end()?;
        Ok(h)
    });
    match parsed {
        Ok(h) => Ok(h),
        Err(e) if e.is_syntax() || e.is_eof() => Err("the token header is not valid JSON".into()),
        Err(e) => Err(match reason {
            Some(r) => r,
            None if e.is_data() => "the token header is not a JSON object".into(),
            None => "the token header is not valid JSON".into(),
        }),
    }
}

struct HeaderSeed<'r> {
    reason: &'r mut Option<Cow<'static, str>>,
}

impl<'de> DeserializeSeed<'de> for HeaderSeed<'_> {
    type Value = JoseHeader<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JoseHeader<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for HeaderSeed<'_> {
    type Value = JoseHeader<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JoseHeader<'de>, A::Error> {
        let reason = self.reason;
        let mut fail = |r: Cow<'static, str>| -> A::Error {
            let e = de::Error::custom(&r);
            *reason = Some(r);
            e
        };
        let mut seen: Vec<Cow<'de, str>> = Vec::new();
        let mut alg = None;
        let mut kid = None;
        let mut typ = Typ::Jwt;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            if seen.contains(&key) {
                // The name is the token's: shown only when plain, as `kid` and `alg` are.
                let name = quote_untrusted(&key);
                return Err(fail(format!("header parameter {name} appears more than once").into()));
            }
            if seen.len() == MAX_PARAMS {
                return Err(fail("the token header has too many parameters".into()));
            }
            match &*key {
                "alg" => match map.next_value::<JsonStr<'de>>() {
                    Ok(JsonStr(v)) => alg = Some(v),
                    Err(_) => return Err(fail("header parameter `alg` must be a string".into())),
                },
                "kid" => match map.next_value::<JsonStr<'de>>() {
                    Ok(JsonStr(v)) if v.len() <= MAX_KID_BYTES => kid = Some(v.into_owned()),
                    Ok(_) => {
                        return Err(fail(
                            format!("header parameter `kid` is longer than {MAX_KID_BYTES} bytes").into(),
                        ));
                    }
                    Err(_) => return Err(fail("header parameter `kid` must be a string".into())),
                },
                "typ" => match map.next_value::<JsonStr<'de>>() {
                    Ok(JsonStr(v)) if is_access_token_type(&v) => {}
                    Ok(JsonStr(v)) if is_logout_token_type(&v) => typ = Typ::Logout,
                    Ok(_) => {
                        return Err(fail(
                            "header parameter `typ` names a token type other than an access or logout token"
                                .into(),
                        ));
                    }
                    Err(_) => return Err(fail("header parameter `typ` must be a string".into())),
                },
                "crit" => {
                    map.next_value::<IgnoredAny>()?;
                    return Err(fail(
                        "the token header marks extensions as critical (crit) that this verifier does not understand"
                            .into(),
                    ));
                }
                "b64" => match map.next_value::<bool>() {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(fail("unencoded payloads (b64: false) are not accepted".into()));
                    }
                    Err(_) => return Err(fail("header parameter `b64` must be a boolean".into())),
                },
                "cty" => {
                    map.next_value::<IgnoredAny>()?;
                    return Err(fail(
                        "nested or typed content (cty) is not accepted in an access token".into(),
                    ));
                }
                "zip" | "enc" => {
                    map.next_value::<IgnoredAny>()?;
                    return Err(fail("encrypted or compressed tokens (JWE) are not accepted".into()));
                }
                // jku, x5u, jwk, x5c, x5t, x5t#S256 and anything else: never used.
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            seen.push(key);
        }
        let alg = alg.ok_or_else(|| fail("the token header has no alg".into()))?;
        Ok(JoseHeader { alg, kid, typ })
    }
}

fn is_access_token_type(typ: &str) -> bool {
    ["JWT", "at+jwt", "application/at+jwt"].iter().any(|t| typ.eq_ignore_ascii_case(t))
}

/// Media types compare without case, and `application/` may be left out
/// (RFC 7515 §4.1.9).
fn is_logout_token_type(typ: &str) -> bool {
    ["logout+jwt", "application/logout+jwt"].iter().any(|t| typ.eq_ignore_ascii_case(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<JoseHeader<'_>, String> {
        parse_header(json.as_bytes()).map_err(|e| e.into_owned())
    }

    #[test]
    fn reads_alg_and_kid() {
        let h = parse(r#"{"alg":"RS256","kid":"k1","typ":"JWT","x5t":"abc"}"#).unwrap();
        assert_eq!(h, JoseHeader { alg: "RS256".into(), kid: Some("k1".into()), typ: Typ::Jwt });
    }

    #[test]
    fn key_carrying_headers_are_ignored() {
        let h = parse(r#"{"alg":"RS256","jku":"https://evil/jwks","x5u":"https://evil/c","jwk":{"kty":"RSA"},"x5c":["AAAA"]}"#)
            .unwrap();
        assert_eq!(h.kid, None);
    }

    #[test]
    fn crit_is_refused_whatever_it_names() {
        assert!(parse(r#"{"alg":"RS256","crit":["exp"]}"#).unwrap_err().contains("crit"));
        assert!(parse(r#"{"alg":"RS256","crit":[]}"#).unwrap_err().contains("crit"));
    }

    #[test]
    fn unencoded_payload_is_refused() {
        assert!(parse(r#"{"alg":"RS256","b64":false}"#).unwrap_err().contains("b64"));
        assert!(parse(r#"{"alg":"RS256","b64":"no"}"#).unwrap_err().contains("b64"));
    }

    #[test]
    fn duplicate_header_parameters_are_refused() {
        assert!(parse(r#"{"alg":"RS256","alg":"none"}"#).unwrap_err().contains("more than once"));
        assert!(parse(r#"{"alg":"RS256","kid":"a","kid":"b"}"#).unwrap_err().contains("more than once"));
    }

    #[test]
    fn duplicate_parameter_names_are_quoted_only_when_plain() {
        assert_eq!(
            parse(r#"{"alg":"RS256","x5t":"a","x5t":"b"}"#).unwrap_err(),
            "header parameter 'x5t' appears more than once"
        );
        for hostile in [
            r#"x\", error=\"y\", \u00e9"#,
            r#"a\r\nSet-Cookie: s=1"#,
            r#"\u202eevil"#,
            "no spaces allowed",
            &"n".repeat(65),
        ] {
            let json = format!(r#"{{"alg":"RS256","{hostile}":1,"{hostile}":2}}"#);
            assert_eq!(
                parse(&json).unwrap_err(),
                "header parameter (value not shown) appears more than once",
                "{hostile}"
            );
        }
    }

    #[test]
    fn non_string_or_huge_kid_is_refused() {
        assert!(parse(r#"{"alg":"RS256","kid":5}"#).unwrap_err().contains("kid"));
        let long = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(MAX_KID_BYTES + 1));
        assert!(parse(&long).unwrap_err().contains("kid"));
    }

    #[test]
    fn types_other_than_access_and_logout_tokens_are_refused() {
        assert!(parse(r#"{"alg":"RS256","typ":"dpop+jwt"}"#).unwrap_err().contains("typ"));
        assert!(parse(r#"{"alg":"RS256","typ":"logout"}"#).unwrap_err().contains("typ"));
        assert_eq!(parse(r#"{"alg":"RS256","typ":"at+JWT"}"#).unwrap().typ, Typ::Jwt);
        assert_eq!(parse(r#"{"alg":"RS256"}"#).unwrap().typ, Typ::Jwt);
    }

    #[test]
    fn logout_jwt_is_read_as_a_logout_token() {
        assert_eq!(parse(r#"{"alg":"RS256","typ":"logout+jwt"}"#).unwrap().typ, Typ::Logout);
        assert_eq!(parse(r#"{"alg":"RS256","typ":"application/Logout+JWT"}"#).unwrap().typ, Typ::Logout);
    }

    #[test]
    fn non_utf8_bytes_are_refused_even_in_an_ignored_parameter() {
        // Found by the adversarial suite: an ignored value was skipped unchecked.
        let mut json = br#"{"alg":"RS256","x5t":""#.to_vec();
        json.extend_from_slice(b"\xfe\"}");
        assert!(parse_header(&json).unwrap_err().contains("not UTF-8"));
        let mut json = br#"{"alg":"RS256","kid":"k","x":[""#.to_vec();
        json.extend_from_slice(b"\xed\xa0\x80\"]}");
        assert!(parse_header(&json).unwrap_err().contains("not UTF-8"));
    }

    #[test]
    fn missing_alg_and_non_objects_are_refused() {
        assert!(parse(r#"{"kid":"a"}"#).unwrap_err().contains("no alg"));
        assert!(parse(r#"["alg"]"#).unwrap_err().contains("not a JSON object"));
        assert!(parse(r#"{"alg":"RS256""#).unwrap_err().contains("not valid JSON"));
    }
}
