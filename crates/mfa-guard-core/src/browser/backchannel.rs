//! OpenID Connect Back-Channel Logout 1.0: the provider posts a logout token when a
//! user's session there ends, and every session of ours signed in with it ends too.
//!
//! What is accepted, in one place (the spec's section 2.6, strictest reading):
//! - a `POST` whose body is `application/x-www-form-urlencoded`, at most
//!   [`MAX_BODY`] bytes, with exactly one `logout_token`;
//! - the token verified as an ID token of this client is (the provider's keys and
//!   algorithms, `iss`, `aud` holding the client id and `azp` when several, `exp`);
//! - `iat` present; `jti` present (and, through the store, never seen before);
//! - `events` an object with a member
//!   `http://schemas.openid.net/event/backchannel-logout` whose value is an object;
//! - `sid` or `sub` present (the provider's session, or every session of the user);
//! - no `nonce`, so an ID token cannot pass for a logout token.
//!
//! Every answer is `Cache-Control: no-store`: `200` with an empty body when the
//! sessions were revoked, else `400` with an OAuth 2.0 error body
//! (`{"error":"invalid_request","error_description":…}`), as section 2.8 says of
//! a logout that failed.

use serde_json::Value;

use crate::answer::Answer;
use crate::claims::Claims;
use crate::revocation::MAX_ID_BYTES;

/// Longest request body read: a logout token is a signed JWT of a few claims.
pub const MAX_BODY: usize = 16 * 1024;

/// Why a body longer than [`MAX_BODY`] is refused.
pub(crate) const TOO_LONG: &str = "the logout request's body is longer than 16 KiB";

/// The `events` member that makes a token a logout token.
pub(crate) const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What a checked logout token revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Logout {
    /// The provider's session id: every session signed in with it.
    pub(crate) sid: Option<String>,
    /// The user: every session of theirs signed in until now.
    pub(crate) sub: Option<String>,
    /// The token's id, recorded so it is never accepted twice.
    pub(crate) jti: String,
    /// The token's expiry: its `jti` is remembered until then.
    pub(crate) exp: i64,
}

/// The `logout_token` of a request body; the reason it has none, else.
pub(crate) fn logout_token(content_type: Option<&[u8]>, body: &[u8]) -> Result<String, &'static str> {
    let form = content_type
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !form {
        return Err("the logout request's body must be application/x-www-form-urlencoded");
    }
    if body.len() > MAX_BODY {
        return Err(TOO_LONG);
    }
    let mut tokens = form_urlencoded::parse(body).filter(|(name, _)| name == "logout_token");
    match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) if !token.is_empty() => Ok(token.into_owned()),
        (Some(_), Some(_)) => Err("the logout request carries logout_token more than once"),
        _ => Err("the logout request carries no logout_token"),
    }
}

/// Why a verified token is not a logout token (the words go to the provider, in
/// the 400's `error_description`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotALogoutToken {
    #[error("the logout token carries a nonce (an ID token is not a logout token)")]
    Nonce,
    #[error("the logout token's events claim has no {EVENT} member")]
    NoLogoutEvent,
    #[error("the logout token has no {claim} claim")]
    Missing { claim: &'static str },
    #[error("the logout token's {claim} is not a string of 1 to {MAX_ID_BYTES} bytes")]
    NotAnId { claim: &'static str },
    #[error("the logout token's sub is longer than {MAX_ID_BYTES} bytes")]
    LongSubject,
    #[error("the logout token names neither a session (sid) nor a user (sub)")]
    NamesNoOne,
}

/// The claims of a verified token, checked as a logout token's.
pub(crate) fn check(claims: &Claims) -> Result<Logout, NotALogoutToken> {
    let extra = claims.extra();
    if extra.contains_key("nonce") {
        return Err(NotALogoutToken::Nonce);
    }
    let is_logout_event = extra
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(EVENT))
        .is_some_and(Value::is_object);
    if !is_logout_event {
        return Err(NotALogoutToken::NoLogoutEvent);
    }
    if claims.iat().is_none() {
        return Err(NotALogoutToken::Missing { claim: "iat" });
    }
    let text = |claim: &'static str| -> Result<Option<String>, NotALogoutToken> {
        match extra.get(claim) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() && s.len() <= MAX_ID_BYTES => Ok(Some(s.clone())),
            Some(_) => Err(NotALogoutToken::NotAnId { claim }),
        }
    };
    let jti = text("jti")?.ok_or(NotALogoutToken::Missing { claim: "jti" })?;
    let sid = text("sid")?;
    let sub = claims.sub().filter(|s| !s.is_empty()).map(str::to_owned);
    if sub.as_ref().is_some_and(|s| s.len() > MAX_ID_BYTES) {
        return Err(NotALogoutToken::LongSubject);
    }
    if sid.is_none() && sub.is_none() {
        return Err(NotALogoutToken::NamesNoOne);
    }
    let exp = claims.exp().map_or(i64::MAX, |e| e.unix());
    Ok(Logout { sid, sub, jti, exp })
}

/// `200`: the sessions the token names are revoked.
pub(crate) fn done() -> Answer {
    Answer::page(200, vec![("cache-control", "no-store".to_owned())], Vec::new())
}

/// `400` with the OAuth 2.0 error body saying why.
pub(crate) fn refused(why: &str) -> Answer {
    tracing::debug!(reason = why, "browser: a back-channel logout refused");
    let body = serde_json::json!({"error": "invalid_request", "error_description": why}).to_string();
    Answer::page(
        400,
        vec![("content-type", "application/json".to_owned()), ("cache-control", "no-store".to_owned())],
        body.into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&[u8]> = Some(b"application/x-www-form-urlencoded; charset=UTF-8");

    #[test]
    fn the_token_comes_from_a_form_body_once() {
        assert_eq!(logout_token(FORM, b"logout_token=a.b.c").as_deref(), Ok("a.b.c"));
        assert_eq!(logout_token(FORM, b"x=1&logout_token=a%2Eb.c").as_deref(), Ok("a.b.c"));
        assert!(
            logout_token(Some(b"application/json"), b"logout_token=a").unwrap_err().contains("urlencoded")
        );
        assert!(logout_token(None, b"logout_token=a").is_err());
        assert!(logout_token(FORM, b"logout_token=a&logout_token=b").unwrap_err().contains("more than once"));
        assert!(logout_token(FORM, b"logout_token=").unwrap_err().contains("no logout_token"));
        assert!(logout_token(FORM, b"token=a").unwrap_err().contains("no logout_token"));
        let long = format!("logout_token={}", "a".repeat(MAX_BODY));
        assert!(logout_token(FORM, long.as_bytes()).unwrap_err().contains("16 KiB"));
    }

    fn claims(json: Value) -> Claims {
        Claims::from_json(json.to_string().as_bytes()).unwrap()
    }

    fn valid() -> Value {
        serde_json::json!({
            "iss": "https://op.example", "aud": "client", "iat": 1000, "exp": 1120, "jti": "j1",
            "sid": "op-session", "sub": "user-1", "events": {EVENT: {}},
        })
    }

    #[test]
    fn a_logout_token_names_a_session_or_a_user() {
        let ok = check(&claims(valid())).unwrap();
        assert_eq!(ok.sid.as_deref(), Some("op-session"));
        assert_eq!(ok.sub.as_deref(), Some("user-1"));
        assert_eq!((ok.jti.as_str(), ok.exp), ("j1", 1120));
        let mut only_sid = valid();
        only_sid.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(&claims(only_sid)).unwrap().sub, None);
    }

    #[test]
    fn tokens_that_are_not_logout_tokens_are_refused_saying_why() {
        let without = |name: &str| {
            let mut v = valid();
            v.as_object_mut().unwrap().remove(name);
            check(&claims(v)).unwrap_err().to_string()
        };
        let with = |name: &str, value: Value| {
            let mut v = valid();
            v.as_object_mut().unwrap().insert(name.into(), value);
            check(&claims(v)).unwrap_err().to_string()
        };
        assert!(with("nonce", "n".into()).contains("nonce"));
        assert!(without("events").contains("events"));
        assert!(with("events", serde_json::json!({"http://other/event": {}})).contains("events"));
        assert!(with("events", serde_json::json!({EVENT: "yes"})).contains("events"));
        assert!(without("iat").contains("iat"));
        assert!(without("jti").contains("jti"));
        assert!(with("jti", 5.into()).contains("jti"));
        assert!(with("sid", "s".repeat(MAX_ID_BYTES + 1).into()).contains("sid"));
        let mut neither = valid();
        neither.as_object_mut().unwrap().remove("sid");
        neither.as_object_mut().unwrap().remove("sub");
        assert_eq!(check(&claims(neither)).unwrap_err(), NotALogoutToken::NamesNoOne);
    }

    #[test]
    fn answers_are_no_store_and_refusals_are_oauth_error_bodies() {
        let ok = done();
        assert_eq!(ok.status(), 200);
        let refusal = refused("the logout token has no jti claim");
        assert_eq!(refusal.status(), 400);
        let headers: Vec<_> = refusal.headers().map(|(n, v)| (n.to_owned(), v.into_owned())).collect();
        assert!(headers.contains(&("cache-control".into(), "no-store".into())), "{headers:?}");
        assert!(headers.contains(&("content-type".into(), "application/json".into())), "{headers:?}");
        let body: Value = serde_json::from_slice(&refusal.body()).unwrap();
        assert_eq!(body["error"], "invalid_request");
        assert_eq!(body["error_description"], "the logout token has no jti claim");
        assert!(ok.headers().any(|(n, v)| n == "cache-control" && v == "no-store"));
    }
}
