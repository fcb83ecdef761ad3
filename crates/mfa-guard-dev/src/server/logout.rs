//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0) from the
//! provider's side: the logout token of a provider session that ended, and its
//! delivery to the relying party's `backchannel_logout_uri` over HTTP.

use std::time::Duration;

use serde_json::{Value, json};

use super::sessions::ProviderSession;
use super::users::USERS;
use crate::key::{DevIssuer, DevKeyError};

/// The `events` member that makes a token a logout token.
pub(crate) const LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid (the spec recommends a short lifetime).
pub(crate) const LOGOUT_TOKEN_LIFETIME: i64 = 120;
/// How long the relying party has to answer.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest part of the relying party's answer shown.
const SHOWN: usize = 500;

/// The claims of the logout token for `session`, ended at `now`, for `client_id`:
/// `iss`, `aud`, `iat`, `exp`, a new `jti`, the logout event, `sub` (the ID
/// token's) and `sid`; never a `nonce`.
pub(crate) fn logout_claims(
    issuer: &DevIssuer,
    client_id: &str,
    session: &ProviderSession,
    now: i64,
    jti: &str,
) -> Value {
    json!({
        "iss": issuer.token_issuer(),
        "aud": client_id,
        "iat": now,
        "exp": now.saturating_add(LOGOUT_TOKEN_LIFETIME),
        "jti": jti,
        "events": { LOGOUT_EVENT: {} },
        "sub": USERS[session.user].oid,
        "sid": session.sid,
        "tid": crate::DEV_TENANT,
    })
}

/// `claims` signed as a logout token: RS256 with the issuer's key, header `typ`
/// `logout+jwt` (section 2.4), so it can never pass for an ID or access token.
pub(crate) fn sign_logout_token(issuer: &DevIssuer, claims: &Value) -> Result<String, DevKeyError> {
    let header = json!({ "alg": "RS256", "typ": "logout+jwt", "kid": issuer.kid() });
    issuer.sign_with_header(&header, claims)
}

/// What became of a logout token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The client registered no back-channel logout URI: nothing was sent.
    NotRegistered,
    /// The relying party answered: its status, reason phrase, and the
    /// `error_description` of its error body, if any.
    Answered { status: u16, reason: String, description: Option<String> },
    /// No answer: why (unreachable, timed out, the token could not be signed).
    Failed(String),
}

/// Posts `token` to `uri` as section 2.5 says: `application/x-www-form-urlencoded`,
/// one `logout_token`; no redirect followed, an answer awaited at most
/// [`DELIVERY_TIMEOUT`].
pub(crate) async fn deliver(uri: &str, token: &str) -> Delivery {
    let client = match reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => return Delivery::Failed(format!("no HTTP client: {e}")),
    };
    let body =
        format!("logout_token={}", form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>());
    let sent = client
        .post(uri)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        // reqwest's error names the URL, never the body.
        Err(e) => return Delivery::Failed(e.without_url().to_string()),
    };
    let status = response.status();
    let description = response.bytes().await.ok().and_then(|body| {
        let error: Value = serde_json::from_slice(&body).ok()?;
        let text = error.get("error_description")?.as_str()?;
        Some(text.chars().take(SHOWN).collect())
    });
    Delivery::Answered {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_owned(),
        description,
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn part(token: &str, i: usize) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(i).unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn a_logout_token_names_the_session_and_the_user_and_is_typed_logout_jwt() {
        let issuer = DevIssuer::generate("http://127.0.0.1:9/{tenantid}/").unwrap();
        let session = ProviderSession { sid: "op-session-1".into(), user: 1 };
        let claims = logout_claims(&issuer, "the-client", &session, 1_900_000_000, "jti-1");
        let token = sign_logout_token(&issuer, &claims).unwrap();
        let header = part(&token, 0);
        assert_eq!(header, json!({"alg": "RS256", "typ": "logout+jwt", "kid": issuer.kid()}));
        let got = part(&token, 1);
        assert_eq!(got, claims);
        assert_eq!(got["iss"], json!(format!("http://127.0.0.1:9/{}/", crate::DEV_TENANT)));
        assert_eq!(got["aud"], "the-client");
        assert_eq!(got["iat"], 1_900_000_000);
        assert_eq!(got["exp"], 1_900_000_000 + LOGOUT_TOKEN_LIFETIME);
        assert_eq!(got["jti"], "jti-1");
        assert_eq!(got["events"], json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
        assert_eq!(
            got["sub"], "aaaaaaaa-0000-1111-2222-cccccccccccc",
            "the sales agent's, as in the ID token"
        );
        assert_eq!(got["sid"], "op-session-1");
        assert!(got.get("nonce").is_none(), "a logout token never carries a nonce");
    }

    #[test]
    fn the_signature_verifies_with_the_published_key() {
        let issuer = DevIssuer::generate("http://127.0.0.1:9/{tenantid}/").unwrap();
        let session = ProviderSession { sid: "s".into(), user: 0 };
        let token = sign_logout_token(&issuer, &logout_claims(&issuer, "c", &session, 1, "j")).unwrap();
        let jwks: Value = serde_json::from_str(issuer.jwks_json()).unwrap();
        let key = &jwks["keys"][0];
        let decoding = jsonwebtoken::DecodingKey::from_rsa_components(
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
        )
        .unwrap();
        let (message, signature) = token.rsplit_once('.').unwrap();
        let ok = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &decoding,
            jsonwebtoken::Algorithm::RS256,
        )
        .unwrap();
        assert!(ok);
        let other = DevIssuer::generate("http://127.0.0.1:9/{tenantid}/").unwrap();
        let forged = sign_logout_token(&other, &logout_claims(&other, "c", &session, 1, "j")).unwrap();
        let (message, signature) = forged.rsplit_once('.').unwrap();
        let forged_ok = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &decoding,
            jsonwebtoken::Algorithm::RS256,
        )
        .unwrap();
        assert!(!forged_ok, "another key's token does not verify");
    }

    #[tokio::test]
    async fn an_unreachable_relying_party_is_a_failed_delivery_not_a_panic() {
        // A loopback port just released: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let got = deliver(&format!("http://{addr}/auth/backchannel-logout"), "a.b.c").await;
        assert!(matches!(got, Delivery::Failed(_)), "{got:?}");
        assert!(matches!(deliver("not a url", "a.b.c").await, Delivery::Failed(_)));
    }

    #[tokio::test]
    async fn the_token_is_posted_as_a_form_and_the_answer_read_back() {
        use axum::http::{HeaderMap, StatusCode};
        use std::sync::{Arc, Mutex};

        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let record = Arc::clone(&seen);
        let app = axum::Router::new().route(
            "/bc",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let record = Arc::clone(&record);
                async move {
                    let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                    record.lock().unwrap().push((kind.to_owned(), body));
                    (StatusCode::BAD_REQUEST, r#"{"error":"invalid_request","error_description":"no store"}"#)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let got = deliver(&format!("http://{addr}/bc"), "a.b+c").await;
        assert_eq!(
            got,
            Delivery::Answered {
                status: 400,
                reason: "Bad Request".into(),
                description: Some("no store".into())
            }
        );
        let seen = seen.lock().unwrap();
        assert_eq!(
            *seen,
            vec![("application/x-www-form-urlencoded".to_owned(), "logout_token=a.b%2Bc".to_owned())]
        );
    }
}
