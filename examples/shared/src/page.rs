//! The page a person sees where a program gets [`caller_body`]'s JSON: who is
//! signed in, with what MFA, and a button that signs out.
//!
//! Which requests get it is core's rule, not a second one here:
//! [`RequestInfo::is_navigation`](mfa_guard_core::RequestInfo::is_navigation), the
//! same by which browser mode answers with redirects and pages. Every other request
//! keeps its JSON byte for byte.
//!
//! The HTML is a `maud` template: every value spliced in (the user's name, the path
//! asked for) is escaped by construction, so a name holding `<script>` is shown as
//! text, never run.

use std::sync::Arc;

use maud::{DOCTYPE, Markup, html};
use mfa_guard_core::{Guard, Principal, Role};

use crate::{areas, caller_body};

/// The headers of the page besides its status, `200`: HTML in UTF-8, which runs no
/// script, and which no other site may frame (its sign-out button cannot be
/// clicked through someone else's page). No `form-action`: the sign-out it posts
/// may end at the identity provider's sign-out page, whose origin this example does
/// not know.
pub const PAGE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/html; charset=utf-8"),
    ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    ("x-content-type-options", "nosniff"),
];

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;\
     color:#1b1b1b;line-height:1.5}h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\
     dl{display:grid;grid-template-columns:max-content auto;gap:.25rem 1rem}dt{font-weight:600}dd{margin:0}\
     pre{background:#f2f2f2;padding:.5rem;white-space:pre-wrap;word-break:break-all}";

/// Where the page's controls lead, the same for every page of a server.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// The sign-out button's action: the guard's
    /// [`sign_out_path`](mfa_guard_core::Guard::sign_out_path) (none without
    /// browser mode).
    pub sign_out: Option<Arc<str>>,
    /// "Sign out at the provider": the development issuer's end-session page, in
    /// development mode.
    pub provider_sign_out: Option<Arc<str>>,
}

impl Links {
    /// The links of a server with `guard`, embedding the development issuer or not.
    pub fn new(guard: &Guard, development: bool) -> Self {
        Self {
            sign_out: guard.sign_out_path().map(Arc::from),
            provider_sign_out: (development && guard.sign_out_path().is_some())
                .then(|| Arc::from(format!("{}/sign-out", mfa_guard_dev::DEV_SIGN_IN_PREFIX))),
        }
    }
}

/// The page of an area's handler for a top-level navigation: the area, who is
/// signed in (name or user name, object id, kind, roles, MFA level), the sign-out
/// button and, in development mode, the way to sign out at the provider
/// ([`Links`]), and the JSON a program calling the same address gets, so a
/// developer loses nothing of what the answer said before.
pub fn caller_page(
    area: &str,
    method: &str,
    path: &str,
    caller: Option<&Principal>,
    links: &Links,
) -> String {
    let title = areas().into_iter().find(|a| a.name == area).map_or("mfa-guard example", |a| a.title);
    let answer = caller_body(area, method, path, caller).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mfa-guard example" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                h1 { (title) }
                @match caller {
                    Some(caller) => { (signed_in(caller, links)) }
                    None => { p { "Nobody is signed in: this page is public." } }
                }
                h2 { "As JSON" }
                p {
                    "What this example answers a program that calls " code { (path) }
                    " with a bearer token for the same caller:"
                }
                pre id="answer" { (answer) }
            }
        }
    }
    .into_string()
}

/// Who is signed in, and the button that signs them out.
fn signed_in(caller: &Principal, links: &Links) -> Markup {
    let claims = caller.claims();
    let shown = claims.name().or(caller.upn()).or(caller.oid()).unwrap_or("an unnamed account");
    let roles: Vec<&str> = caller.roles().map(Role::name).collect();
    html! {
        p { "Signed in as " strong { (shown) } "." }
        dl {
            @if let Some(name) = claims.name() { dt { "Name" } dd { (name) } }
            dt { "User name" } dd { (caller.upn().unwrap_or("none")) }
            dt { "Object id (oid)" } dd { (caller.oid().unwrap_or("none")) }
            dt { "Kind" } dd { (caller.kind().as_str()) }
            dt { "Roles" } dd { @if roles.is_empty() { "none" } @else { (roles.join(", ")) } }
            dt { "MFA level" } dd id="mfa-level" { (caller.assurance_level().unwrap_or("none")) }
        }
        @if let Some(would) = caller.report_only_refusal() {
            p { "Report-only: once enforced, this page would be refused with "
                code { (would.code().as_str()) } " (" (would.status()) ")." }
        }
        @if let Some(action) = &links.sign_out {
            form method="post" action=(action) {
                button type="submit" id="sign-out" { "Sign out" }
            }
        }
        @if let Some(provider) = &links.provider_sign_out {
            p {
                a href=(provider) id="provider-sign-out" { "Sign out at the provider" }
                " — the development issuer ends its session and sends this server a back-channel \
                 logout: this session ends too, and a copy of its cookie opens no MFA page."
            }
        }
    }
}
