//! The end-session endpoint. `GET`: the relying party's sign-out (RP-initiated
//! logout) ends the provider session and, with its registered URI, sends the
//! browser back there; a visit of its own shows "Sign out at the provider".
//! `POST` (that control): ends the provider session, sends the relying party a
//! back-channel logout token over HTTP, and shows what it answered.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use maud::html;

use super::DevIdp;
use super::authorize::{now_unix, provider_session};
use super::grants::random_code;
use super::logout::{Delivery, deliver, logout_claims, sign_logout_token};
use super::pages::{self, message, page};
use super::params::Params;
use super::sessions::{self, ProviderSession};
use super::users::USERS;

/// `GET /sign-out`: with the client's `post_logout_redirect_uri`, the provider
/// session ends and the browser goes back there; else a page with "Sign out at the
/// provider" when the browser is signed in here, or saying it is not.
pub(crate) async fn sign_out(State(idp): State<Arc<DevIdp>>, uri: Uri, headers: HeaderMap) -> Response {
    let Ok(params) = Params::parse(uri.query().unwrap_or("").as_bytes()) else { return pages::too_large() };
    let cookie = sessions::cookie(&headers);
    match params.get("post_logout_redirect_uri") {
        Some(back) if back == idp.client.post_logout_redirect_uri() => {
            // The relying party signed its own session out; the provider's ends too.
            let ended = idp.sessions.end(cookie.as_deref());
            let answer = pages::redirect(back);
            if ended.is_some() { clear(answer) } else { answer }
        }
        _ => match idp.sessions.get(cookie.as_deref()) {
            Some(session) => page(StatusCode::OK, "Sign out at the provider", provider_session(&session)),
            None => message(
                StatusCode::OK,
                "Signed out",
                "You are signed out of the development identity provider.",
            ),
        },
    }
}

/// `POST /sign-out`, from the provider's own pages: the provider session ends, the
/// relying party is sent a logout token naming it, and the page says what became
/// of it, with a link back to the application.
pub(crate) async fn end_session(State(idp): State<Arc<DevIdp>>, headers: HeaderMap) -> Response {
    if !same_origin(&idp, &headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Sign-out refused",
            "Sign out from the development identity provider's own page.",
        );
    }
    let home = idp.client.home();
    let Some(session) = idp.sessions.end(sessions::cookie(&headers).as_deref()) else {
        let body = html! {
            p { "You are not signed in at the development identity provider: there is no session to end." }
            p { a href=(home) id="back" { "Back to the application" } }
        };
        return clear(page(StatusCode::OK, "Signed out", body));
    };
    let delivery = match idp.client.backchannel_logout_uri() {
        None => Delivery::NotRegistered,
        Some(uri) => {
            let claims = logout_claims(&idp.issuer, idp.client.id(), &session, now_unix(), &random_code());
            match sign_logout_token(&idp.issuer, &claims) {
                Ok(token) => deliver(uri, &token).await,
                Err(e) => Delivery::Failed(e.to_string()),
            }
        }
    };
    tracing::info!(outcome = ?delivery, "development issuer: signed out at the provider");
    clear(outcome(&idp, &session, &delivery, &home))
}

/// The page of a provider sign-out: whose session ended, what the relying party
/// answered its logout token, and the way back.
fn outcome(idp: &DevIdp, session: &ProviderSession, delivery: &Delivery, home: &str) -> Response {
    let user = &USERS[session.user];
    let uri = idp.client.backchannel_logout_uri().unwrap_or_default();
    let body = html! {
        p { "The provider session of " strong { (user.label) } " ended (" code { "sid " (session.sid) } ")." }
        @match delivery {
            Delivery::Answered { status, reason, description } => {
                p id="backchannel" data-delivered="true" data-status=(status) {
                    "Back-channel logout token delivered to " code { (uri) } "; the application answered "
                    strong id="backchannel-status" { (status) } " " (reason) "."
                }
                @if *status == 200 {
                    p { "Its sessions signed in with this provider session have ended: "
                        "the next visit to an MFA page asks you to sign in again." }
                } @else {
                    p id="backchannel-refusal" {
                        "It did not end its sessions"
                        @if let Some(why) = description { ": " (why) }
                        "."
                    }
                }
            }
            Delivery::Failed(why) => {
                p id="backchannel" data-delivered="false" {
                    "The back-channel logout token could not be delivered to " code { (uri) } ": " (why) "."
                }
            }
            Delivery::NotRegistered => {
                p id="backchannel" data-delivered="false" {
                    "The application registered no back-channel logout URI: nothing was sent, and its "
                    "sessions last until they expire or it signs them out."
                }
            }
        }
        p { a href=(home) id="back" { "Back to the application" } }
    };
    page(StatusCode::OK, "Signed out at the provider", body)
}

/// Whether the post comes from the provider's own page: fetch metadata, when the
/// browser sends it, says `same-origin`; else `Origin` is the provider's. A post
/// with neither is refused (as the relying party's sign-out refuses one).
fn same_origin(idp: &DevIdp, headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match text("sec-fetch-site") {
        Some(site) => site.eq_ignore_ascii_case("same-origin"),
        None => text("origin").is_some_and(|o| o.eq_ignore_ascii_case(idp.base())),
    }
}

/// `answer`, removing the provider session cookie.
fn clear(mut answer: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&sessions::clear_cookie()) {
        answer.headers_mut().append(header::SET_COOKIE, value);
    }
    answer
}
