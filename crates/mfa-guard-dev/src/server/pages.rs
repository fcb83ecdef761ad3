//! The server's answers: HTML pages (a `maud` template, every spliced value escaped
//! by construction), OAuth JSON errors, and redirects; none of them cached.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::{Value, json};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;\
     color:#1b1b1b}fieldset{border:1px solid #ccc;padding:1rem} label{display:block;margin:.4rem 0}\
     button{margin:.8rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}\
     .note{background:#fff7e0;border-left:4px solid #e0a000;padding:.5rem 1rem}\
     .dev{color:#666;font-size:.85rem}";

/// Pages run no script and post only to http(s) forms; no other site may frame them.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'";

/// A page titled `title` (also its heading) with `body`.
pub(crate) fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                (body)
                p class="dev" {
                    "Development identity provider of mfa-guard. Never use it in production."
                }
            }
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
        ],
        html.into_string(),
    )
        .into_response()
}

/// A page with one paragraph.
pub(crate) fn message(status: StatusCode, title: &str, text: &str) -> Response {
    page(status, title, html! { p { (text) } })
}

/// The page of a method or path under the sign-in prefix that is not an endpoint.
pub(crate) async fn not_found() -> Response {
    message(StatusCode::NOT_FOUND, "Not found", "No such development endpoint.")
}

/// A query or form longer than the limit.
pub(crate) fn too_large() -> Response {
    message(StatusCode::PAYLOAD_TOO_LARGE, "Request too large", "The query or form is longer than 16 KiB.")
}

/// JSON, not cached.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")],
        value.to_string(),
    )
        .into_response()
}

/// An OAuth error of the token endpoint (RFC 6749 §5.2), `400`.
pub(crate) fn oauth_error(error: &str, description: &str) -> Response {
    json(StatusCode::BAD_REQUEST, &json!({ "error": error, "error_description": description }))
}

/// `302` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => {
            (StatusCode::FOUND, [(header::LOCATION, location)], [(header::CACHE_CONTROL, "no-store")])
                .into_response()
        }
        Err(_) => {
            message(StatusCode::BAD_REQUEST, "Redirect refused", "The redirect URI is not a valid header.")
        }
    }
}
