//! The authorization endpoint: the sign-in page (`GET`) and its form (`POST`), which
//! sends the browser back to the client with a code.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use maud::{Markup, html};

use super::DevIdp;
use super::grants::{Full, Grant};
use super::pages::{self, message, page};
use super::params::Params;
use super::sessions::{self, ProviderSession};
use super::users::USERS;
use crate::DEV_SIGN_IN_PREFIX;

/// The request parameters the page carries into its form.
const CARRIED: [&str; 5] = ["client_id", "redirect_uri", "state", "nonce", "code_challenge"];

/// Whether an authorization request asks for MFA (what the page tells the user).
fn asks_for_mfa(params: &Params) -> bool {
    params.get("claims").is_some_and(|c| c.contains("\"mfa\"") || c.contains("\"acrs\""))
        || params.get("acr_values").is_some_and(|a| !a.is_empty())
}

/// `GET /authorize`: the sign-in page of an authorization code request with PKCE.
pub(crate) async fn show(State(idp): State<Arc<DevIdp>>, uri: Uri, headers: HeaderMap) -> Response {
    let Ok(params) = Params::parse(uri.query().unwrap_or("").as_bytes()) else { return pages::too_large() };
    let signed_in = idp.sessions.get(sessions::cookie(&headers).as_deref());
    sign_in_page(&idp, &params, signed_in.as_ref())
}

/// Who the browser is signed in as at the provider, and the control that signs
/// it out there (the end-session endpoint's `POST`, which sends the relying party a
/// back-channel logout token).
pub(crate) fn provider_session(session: &ProviderSession) -> Markup {
    let user = &USERS[session.user];
    html! {
        div class="note" id="provider-session" {
            p { "Signed in at the provider as " strong { (user.label) } " (" (user.upn) ")." }
            form method="post" action=(format!("{DEV_SIGN_IN_PREFIX}/sign-out")) {
                button type="submit" id="provider-sign-out" { "Sign out at the provider" }
            }
            p class="dev" {
                "Ends this provider session and sends the application a back-channel logout \
                 token: its sessions signed in here end too."
            }
        }
    }
}

fn sign_in_page(idp: &DevIdp, params: &Params, signed_in: Option<&ProviderSession>) -> Response {
    let refused = "Sign-in request refused";
    if let Err(why) = idp.client.check(params.get("client_id"), params.get("redirect_uri")) {
        return message(StatusCode::BAD_REQUEST, refused, &why.to_string());
    }
    if params.get("response_type") != Some("code")
        || params.get("code_challenge_method") != Some("S256")
        || params.get("code_challenge").is_none_or(str::is_empty)
    {
        return message(
            StatusCode::BAD_REQUEST,
            refused,
            "The request must be an authorization code request with a PKCE S256 challenge.",
        );
    }
    let body = html! {
        @if let Some(session) = signed_in { (provider_session(session)) }
        @if asks_for_mfa(params) {
            p class="note" id="mfa-requested" { "The application asks for multi-factor authentication." }
        }
        form method="post" action=(format!("{DEV_SIGN_IN_PREFIX}/authorize")) {
            @for name in CARRIED {
                @if let Some(value) = params.get(name) {
                    input type="hidden" name=(name) value=(value);
                }
            }
            fieldset {
                legend { "Account" }
                @for (i, user) in USERS.iter().enumerate() {
                    label {
                        input type="radio" name="user" id=(format!("user-{}", user.id)) value=(user.id) checked[i == 0];
                        " " (user.label) " "
                        span class="dev" { "(" (user.upn) ")" }
                    }
                }
            }
            button type="submit" name="method" value="password" id="sign-in-password" { "Sign in with password" }
            button type="submit" name="method" value="mfa" id="sign-in-mfa" { "Sign in with password + MFA" }
        }
    };
    page(StatusCode::OK, "Sign in", body)
}

/// `POST /authorize`: the page's form; a code for the chosen user and method.
pub(crate) async fn submit(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(params) = body.ok().and_then(|b| Params::parse(&b).ok()) else { return pages::too_large() };
    let refused = "Sign-in refused";
    if let Err(why) = idp.client.check(params.get("client_id"), params.get("redirect_uri")) {
        return message(StatusCode::BAD_REQUEST, refused, &why.to_string());
    }
    let Some(user) = params.get("user").and_then(|id| USERS.iter().position(|u| u.id == id)) else {
        return message(StatusCode::BAD_REQUEST, refused, "Choose an account.");
    };
    let mfa = match params.get("method") {
        Some("password") => false,
        Some("mfa") => true,
        _ => return message(StatusCode::BAD_REQUEST, refused, "Choose how to sign in."),
    };
    let Some(challenge) = params.get("code_challenge").filter(|c| !c.is_empty()) else {
        return message(StatusCode::BAD_REQUEST, refused, "The request carries no PKCE challenge.");
    };
    let redirect_uri = idp.client.redirect_uri();
    let (cookie, session) = idp.sessions.sign_in(sessions::cookie(&headers).as_deref(), user);
    let grant = Grant {
        user,
        mfa,
        nonce: params.get("nonce").map(str::to_owned),
        challenge: challenge.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        auth_time: now_unix(),
        sid: session.sid,
        issued: std::time::Instant::now(),
    };
    let code = match idp.grants.issue(grant) {
        Ok(code) => code,
        Err(Full) => {
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Busy",
                "Too many sign-ins in progress; try again in a minute.",
            );
        }
    };
    let mut location = format!("{redirect_uri}?code={code}");
    if let Some(state) = params.get("state") {
        location.push_str("&state=");
        location.extend(form_urlencoded::byte_serialize(state.as_bytes()));
    }
    let mut back = pages::redirect(&location);
    if let Ok(value) = HeaderValue::from_str(&sessions::set_cookie(&cookie)) {
        back.headers_mut().append(header::SET_COOKIE, value);
    }
    back
}

pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
