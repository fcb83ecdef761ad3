//! The token endpoint: a code, its PKCE verifier and the client's redirect URI for
//! an ID token and an access token of the user who signed in.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::DevIdp;
use super::grants::pkce_challenge;
use super::pages::{self, oauth_error};
use super::params::Params;
use super::users::USERS;
use crate::TokenSpec;

/// How long the tokens are valid.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// `POST /token`, `grant_type=authorization_code`.
pub(crate) async fn exchange(
    State(idp): State<Arc<DevIdp>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(params) = body.ok().and_then(|b| Params::parse(&b).ok()) else { return pages::too_large() };
    if params.get("grant_type") != Some("authorization_code") {
        return oauth_error("unsupported_grant_type", "only authorization_code");
    }
    if let Err(why) = idp.client.check(params.get("client_id"), params.get("redirect_uri")) {
        return oauth_error("invalid_client", &why.to_string());
    }
    let Some(grant) = idp.grants.redeem(params.get("code").unwrap_or_default()) else {
        return oauth_error("invalid_grant", "unknown, expired or already used code");
    };
    if grant.redirect_uri != idp.client.redirect_uri() {
        return oauth_error("invalid_grant", "redirect_uri differs from the authorization request's");
    }
    if pkce_challenge(params.get("code_verifier").unwrap_or_default()) != grant.challenge {
        return oauth_error("invalid_grant", "PKCE verifier does not match the challenge");
    }
    let user = &USERS[grant.user];
    let amr = if grant.mfa { json!(["pwd", user.mfa_amr]) } else { json!(["pwd"]) };
    let sign = |spec: TokenSpec<'_>| spec.lifetime(TOKEN_LIFETIME).sign();
    let client_id = idp.client.id();
    let id_token = sign(
        idp.issuer
            .user()
            .audience(client_id)
            .oid(user.oid)
            .roles(user.roles.iter().copied())
            .claim("sub", json!(user.oid))
            .claim("upn", json!(user.upn))
            .claim("name", json!(user.label))
            .claim("amr", amr.clone())
            .claim("auth_time", json!(grant.auth_time))
            // The provider session: what a back-channel logout token names.
            .claim("sid", json!(grant.sid))
            .claim("nonce", grant.nonce.map_or(Value::Null, |n| json!(n)))
            .claim("scp", Value::Null)
            .claim("appid", Value::Null)
            .claim("azp", json!(client_id)),
    );
    let access_token =
        sign(idp.issuer.user().oid(user.oid).roles(user.roles.iter().copied()).claim("amr", amr));
    match (id_token, access_token) {
        (Ok(id), Ok(access)) => pages::json(
            StatusCode::OK,
            &json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME.as_secs(),
                "id_token": id,
            }),
        ),
        _ => pages::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": "server_error", "error_description": "cannot sign" }),
        ),
    }
}
