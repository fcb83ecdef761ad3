//! Token verification: compact-serialization parsing, the algorithm allow-list,
//! issuers and tenants, time and audience checks, and the signature — all of it
//! behind one [`Verifier`].
//!
//! The order is chosen so that keys are only looked for (and possibly fetched) for a
//! token that would otherwise pass: shape → header → algorithm → claims → issuer →
//! `exp`/`nbf`/`iat`/lifetime/`aud` → key → signature. Any failure is `invalid_token`
//! with a description that names the rule and never echoes token material.

mod builder;
mod header;
mod issuer;
mod issuer_index;
mod tenant;
mod verifier;

pub use builder::VerifierBuilder;
pub(crate) use verifier::{Step, Waiting};
pub use verifier::{Verified, Verifier};

pub use crate::error::{InvalidIssuer, InvalidTenants};
pub(crate) use issuer::IssuerMatch;
pub(crate) use issuer::IssuerPattern;
pub(crate) use issuer::is_guid;
pub(crate) use tenant::Tenants;

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::claims::{Claims, parse_claims};
use crate::rejection::{Refusal, RejectionCode, quote_untrusted};

/// Default leeway for `exp` and `nbf`, in seconds.
pub(crate) const DEFAULT_LEEWAY_SECS: u64 = 60;

/// A token split and decoded, not yet trusted.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) claims: Claims,
    /// Length of `header.payload`, the signing input.
    pub(crate) signing_input_len: usize,
    pub(crate) signature: Vec<u8>,
}

pub(crate) fn invalid(detail: impl Into<Cow<'static, str>>) -> Refusal {
    Refusal::new(RejectionCode::InvalidToken, detail)
}

/// Splits and decodes a compact JWS, checks its header and algorithm, reads its claims.
/// A token typed `logout+jwt` is refused unless `logout_tokens`: only the
/// back-channel logout endpoint verifies those, and one must never pass as a bearer
/// token or an ID token.
pub(crate) fn parse(token: &str, allowed: AlgorithmSet, logout_tokens: bool) -> Result<Parsed, Refusal> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        let segments = token.split('.').count();
        return Err(invalid(if segments == 5 {
            "encrypted tokens (JWE, five segments) are not accepted".to_owned()
        } else {
            format!("a signed JWT has three dot-separated segments; this token has {segments}")
        }));
    };
    if h.is_empty() || p.is_empty() {
        return Err(invalid("the token has an empty header or payload segment"));
    }
    if s.is_empty() {
        return Err(invalid("the token carries no signature"));
    }
    let header_json = decode_segment(h, "header")?;
    let header = header::parse_header(&header_json).map_err(invalid)?;
    if header.typ == header::Typ::Logout && !logout_tokens {
        return Err(invalid(
            "header parameter `typ` names a logout token (logout+jwt), never accepted as an access token or ID token",
        ));
    }
    let alg = match Algorithm::from_name(&header.alg) {
        Some(alg) if allowed.contains(alg) => alg,
        Some(alg) => return Err(invalid(format!("the algorithm {alg} is not allowed"))),
        None if header.alg.eq_ignore_ascii_case("none") => {
            return Err(invalid("unsecured tokens (alg none) are never accepted"));
        }
        None => {
            return Err(invalid(format!("the algorithm {} is not supported", quote_untrusted(&header.alg))));
        }
    };
    let payload = decode_segment(p, "payload")?;
    let claims = parse_claims(&payload).map_err(invalid)?;
    let signature = decode_segment(s, "signature")?;
    Ok(Parsed { alg, kid: header.kid, claims, signing_input_len: h.len() + 1 + p.len(), signature })
}

/// Strict base64url: the URL-safe alphabet, no padding, no whitespace, canonical
/// trailing bits (so one token has exactly one encoding).
pub(crate) fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, Refusal> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| invalid(format!("the token {what} is not unpadded base64url")))
}

/// The time claims, then `aud` against the accepted list.
pub(crate) fn check_claims(
    claims: &Claims,
    now: i64,
    leeway: i64,
    max_lifetime: Option<i64>,
    audiences: &[String],
) -> Result<(), Refusal> {
    check_times(claims, now, leeway, max_lifetime)?;
    if claims.aud.is_empty() {
        return Err(invalid("the token has no aud claim"));
    }
    if !claims.aud.iter().any(|a| audiences.iter().any(|ok| ok == a)) {
        return Err(invalid("the token is for another audience"));
    }
    Ok(())
}

/// The authorized party of an ID token, as OpenID Connect Core 3.1.3.7 says: an
/// ID token for several audiences must name, in `azp`, the client it was issued to,
/// and an `azp` that is present must be `client_id`. (`aud` already holds
/// `client_id`: [`check_claims`] ran first.) Without this, a token the provider
/// issued to another client that merely lists ours among its audiences would sign
/// a browser in here.
pub(crate) fn check_authorized_party(claims: &Claims, client_id: &str) -> Result<(), Refusal> {
    match claims.azp.as_deref() {
        Some(azp) if azp == client_id => Ok(()),
        Some(_) => Err(invalid("the ID token was issued to another client (its azp is not this client id)")),
        None if claims.aud.len() > 1 => {
            Err(invalid("the ID token has several audiences and no azp naming the client it was issued to"))
        }
        None => Ok(()),
    }
}

/// `exp` required and not past; `nbf` and `iat` not ahead of the clock by more
/// than `leeway` (a token stamped as issued in the future comes from a broken or
/// hostile clock, and would outlive the lifetime its issuer meant); with
/// `max_lifetime`, `iat` required and `exp - iat` at most that many seconds.
pub(crate) fn check_times(
    claims: &Claims,
    now: i64,
    leeway: i64,
    max_lifetime: Option<i64>,
) -> Result<(), Refusal> {
    let exp = claims.exp.ok_or_else(|| invalid("the token has no exp claim"))?;
    if now > exp.unix() + leeway {
        return Err(invalid("the token has expired"));
    }
    if let Some(nbf) = claims.nbf
        && now + leeway < nbf.unix()
    {
        return Err(invalid("the token is not valid yet (nbf is in the future)"));
    }
    if let Some(iat) = claims.iat
        && now + leeway < iat.unix()
    {
        return Err(invalid("the token was issued in the future (iat is ahead of this server's clock)"));
    }
    if let Some(max) = max_lifetime {
        let iat = claims
            .iat
            .ok_or_else(|| invalid("the token has no iat claim, so its lifetime cannot be checked"))?;
        if exp.unix().saturating_sub(iat.unix()) > max {
            return Err(invalid(format!(
                "the token's lifetime (exp - iat) is longer than the {max} s allowed here"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", seg(header), seg(payload), seg("sig"))
    }

    fn reason(token: &str) -> String {
        parse(token, AlgorithmSet::default(), false).unwrap_err().detail.into_owned()
    }

    #[test]
    fn a_logout_token_is_accepted_only_where_logout_tokens_are_verified() {
        let logout = token(r#"{"alg":"RS256","typ":"logout+jwt"}"#, r#"{"iss":"i"}"#);
        // Access tokens and ID tokens are both verified with `false`.
        assert_eq!(
            reason(&logout),
            "header parameter `typ` names a logout token (logout+jwt), never accepted as an access token or ID token"
        );
        assert!(parse(&logout, AlgorithmSet::default(), true).is_ok());
        let untyped = token(r#"{"alg":"RS256"}"#, r#"{"iss":"i"}"#);
        assert!(parse(&untyped, AlgorithmSet::default(), false).is_ok());
        assert!(parse(&untyped, AlgorithmSet::default(), true).is_ok());
    }

    #[test]
    fn an_id_token_for_several_audiences_needs_an_azp_naming_the_client() {
        let check = |json: &str| {
            check_authorized_party(&Claims::from_json(json.as_bytes()).unwrap(), "web-app")
                .map_err(|r| r.detail.into_owned())
        };
        assert_eq!(check(r#"{"aud":"web-app"}"#), Ok(()));
        assert_eq!(check(r#"{"aud":["web-app"]}"#), Ok(()));
        assert_eq!(check(r#"{"aud":["web-app","api"],"azp":"web-app"}"#), Ok(()));
        assert_eq!(check(r#"{"aud":"web-app","azp":"web-app"}"#), Ok(()));
        let several = check(r#"{"aud":["web-app","api"]}"#).unwrap_err();
        assert!(several.contains("several audiences and no azp"), "{several}");
        let foreign = check(r#"{"aud":["web-app","api"],"azp":"api"}"#).unwrap_err();
        assert!(foreign.contains("issued to another client"), "{foreign}");
        assert!(check(r#"{"aud":"web-app","azp":"WEB-APP"}"#).is_err(), "compared exactly");
    }

    #[test]
    fn alg_none_is_refused_in_every_casing() {
        for none in ["none", "None", "NONE", "nOnE"] {
            let t = token(&format!(r#"{{"alg":"{none}"}}"#), r#"{"exp":1}"#);
            assert!(reason(&t).contains("alg none"), "{none}");
        }
    }

    #[test]
    fn hmac_is_not_in_the_default_allow_list() {
        let t = token(r#"{"alg":"HS256"}"#, r#"{"exp":1}"#);
        assert_eq!(reason(&t), "the algorithm HS256 is not allowed");
    }

    #[test]
    fn wrong_segment_counts_are_refused() {
        assert!(reason("a.b").contains("has 2"));
        assert!(reason("a.b.c.d.e").contains("JWE"));
        let t = token(r#"{"alg":"RS256"}"#, "{}");
        assert!(reason(&format!("{}.", &t[..t.rfind('.').unwrap()])).contains("no signature"));
    }

    #[test]
    fn non_canonical_base64_is_refused() {
        let h = seg(r#"{"alg":"RS256"}"#);
        let p = seg(r#"{"exp":1}"#);
        for bad_header in [format!("{h}="), format!("{h} "), h.replace('_', "/").replace('-', "+") + "+"] {
            let t = format!("{bad_header}.{p}.c2ln");
            assert!(reason(&t).contains("base64url"), "{bad_header}");
        }
    }

    #[test]
    fn exp_is_required_and_leeway_applies() {
        let aud = vec!["api".to_owned()];
        let claims = |json: &str| parse_claims(json.as_bytes()).unwrap();
        assert!(check_claims(&claims(r#"{"aud":"api"}"#), 100, 60, None, &aud).is_err());
        assert!(check_claims(&claims(r#"{"aud":"api","exp":100}"#), 160, 60, None, &aud).is_ok());
        assert!(check_claims(&claims(r#"{"aud":"api","exp":100}"#), 161, 60, None, &aud).is_err());
        assert!(check_claims(&claims(r#"{"aud":"api","exp":1000,"nbf":200}"#), 140, 60, None, &aud).is_ok());
        assert!(check_claims(&claims(r#"{"aud":"api","exp":1000,"nbf":200}"#), 139, 60, None, &aud).is_err());
    }

    /// The description of a refusal by the time rules (`None`: admitted).
    fn time_refusal(json: &str, now: i64, max_lifetime: Option<i64>) -> Option<String> {
        let claims = parse_claims(json.as_bytes()).unwrap();
        check_times(&claims, now, 60, max_lifetime).err().map(|r| r.detail.into_owned())
    }

    #[test]
    fn an_iat_ahead_of_the_clock_by_more_than_the_leeway_is_refused() {
        let future = "the token was issued in the future (iat is ahead of this server's clock)";
        assert_eq!(time_refusal(r#"{"exp":5000,"iat":200}"#, 140, None), None, "exactly the leeway ahead");
        assert_eq!(time_refusal(r#"{"exp":5000,"iat":201}"#, 140, None).as_deref(), Some(future));
        assert_eq!(time_refusal(r#"{"exp":5000,"iat":4000}"#, 140, None).as_deref(), Some(future));
        assert_eq!(
            time_refusal(r#"{"exp":5000}"#, 140, None),
            None,
            "iat is optional without a lifetime limit"
        );
    }

    #[test]
    fn a_maximum_lifetime_bounds_exp_minus_iat_and_then_requires_iat() {
        let too_long = "the token's lifetime (exp - iat) is longer than the 3600 s allowed here";
        let no_iat = "the token has no iat claim, so its lifetime cannot be checked";
        assert_eq!(time_refusal(r#"{"iat":1000,"exp":4600}"#, 1000, Some(3600)), None, "exactly the limit");
        assert_eq!(time_refusal(r#"{"iat":1000,"exp":4601}"#, 1000, Some(3600)).as_deref(), Some(too_long));
        // Old iat, fresh exp: the lifetime counts from iat, not from now.
        assert_eq!(time_refusal(r#"{"iat":1,"exp":4000}"#, 3000, Some(3600)).as_deref(), Some(too_long));
        assert_eq!(time_refusal(r#"{"exp":4000}"#, 1000, Some(3600)).as_deref(), Some(no_iat));
        assert_eq!(time_refusal(r#"{"iat":1000,"exp":999999}"#, 1000, None), None, "off by default");
    }

    #[test]
    fn audience_is_one_of_the_configured_ones() {
        let aud = vec!["api".to_owned(), "api2".to_owned()];
        let claims = |json: &str| parse_claims(json.as_bytes()).unwrap();
        assert!(check_claims(&claims(r#"{"aud":["x","api2"],"exp":1000}"#), 100, 60, None, &aud).is_ok());
        assert!(check_claims(&claims(r#"{"aud":["x"],"exp":1000}"#), 100, 60, None, &aud).is_err());
        assert!(check_claims(&claims(r#"{"aud":[],"exp":1000}"#), 100, 60, None, &aud).is_err());
    }
}
