//! The page a person sees where a program gets the example servers' JSON: who is
//! signed in, with what MFA, and a button that signs out.
//!
//! It is rendered from plain values ([`Caller`], [`Links`], the JSON as text), not
//! from the guard's types, so that the load benchmark's floor — a server with no
//! authentication at all — serves the same bytes as the examples do and a ratio
//! against it measures the guard alone. `example-shared` makes these values from a
//! principal of `mfa-guard-core` and the guard's settings.
//!
//! The HTML is a `maud` template: every value spliced in (the user's name, the path
//! asked for) is escaped by construction, so a name holding `<script>` is shown as
//! text, never run.

use std::sync::Arc;

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The headers of the page besides its status, `200`: HTML in UTF-8, which runs no
/// script, and which no other site may frame (its sign-out button cannot be
/// clicked through someone else's page). No `form-action`: the sign-out it posts
/// may end at the identity provider's sign-out page, whose origin the examples do
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
    /// The sign-out button's action (none without browser mode).
    pub sign_out: Option<Arc<str>>,
    /// "Sign out at the provider": the development issuer's end-session page, in
    /// development mode.
    pub provider_sign_out: Option<Arc<str>>,
}

/// Who is signed in, as the page shows them.
#[derive(Debug, Clone, Default)]
pub struct Caller<'a> {
    /// Their display name (`name`), if the token had one.
    pub name: Option<&'a str>,
    /// Their user name (`upn`).
    pub upn: Option<&'a str>,
    /// Their object id (`oid`).
    pub oid: Option<&'a str>,
    /// `user` or `app`.
    pub kind: &'a str,
    /// The roles they hold, by name.
    pub roles: Vec<&'a str>,
    /// The name of the MFA level their sign-in reached, if any.
    pub level: Option<&'a str>,
    /// In report-only mode, what the page would be refused with once enforced: the
    /// refusal's code and its HTTP status.
    pub report_only: Option<(&'a str, u16)>,
}

/// The page of an area's handler for a top-level navigation: the area's `title`,
/// who is signed in ([`Caller`]; none on a public page), the sign-out button and,
/// in development mode, the way to sign out at the provider ([`Links`]), and
/// `answer`, the JSON a program calling the same `path` gets, so a developer loses
/// nothing of what the answer said before.
pub fn render(title: &str, path: &str, answer: &str, caller: Option<&Caller<'_>>, links: &Links) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · mfa-guard example" }
                style { (PreEscaped(STYLE)) }
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
fn signed_in(caller: &Caller<'_>, links: &Links) -> Markup {
    let shown = caller.name.or(caller.upn).or(caller.oid).unwrap_or("an unnamed account");
    html! {
        p { "Signed in as " strong { (shown) } "." }
        dl {
            @if let Some(name) = caller.name { dt { "Name" } dd { (name) } }
            dt { "User name" } dd { (caller.upn.unwrap_or("none")) }
            dt { "Object id (oid)" } dd { (caller.oid.unwrap_or("none")) }
            dt { "Kind" } dd { (caller.kind) }
            dt { "Roles" } dd { @if caller.roles.is_empty() { "none" } @else { (caller.roles.join(", ")) } }
            dt { "MFA level" } dd id="mfa-level" { (caller.level.unwrap_or("none")) }
        }
        @if let Some((code, status)) = caller.report_only {
            p { "Report-only: once enforced, this page would be refused with "
                code { (code) } " (" (status) ")." }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped() {
        let caller = Caller {
            name: Some("<script>alert(1)</script>"),
            upn: Some("a&b@contoso.example"),
            kind: "user",
            ..Caller::default()
        };
        let links = Links { sign_out: Some(Arc::from("/auth/sign-out?a=\"b\"")), provider_sign_out: None };
        let page = render("T<i>", "/p<b>", r#"{"upn":"<x>"}"#, Some(&caller), &links);
        for raw in ["<script>", "<i>", "<b>", "<x>", "a&b", "\"b\""] {
            assert!(!page.contains(raw), "{raw} unescaped in {page}");
        }
        assert!(
            page.contains("Signed in as <strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>"),
            "{page}"
        );
        assert!(page.contains(r#"<pre id="answer">{&quot;upn&quot;:&quot;&lt;x&gt;&quot;}</pre>"#), "{page}");
    }

    #[test]
    fn the_shown_name_falls_back_to_the_user_name_then_the_object_id() {
        let links = Links::default();
        let by = |caller: Caller<'_>| render("t", "/", "{}", Some(&caller), &links);
        let upn = Caller { upn: Some("ada@contoso.example"), oid: Some("o-1"), ..Caller::default() };
        assert!(by(upn).contains("Signed in as <strong>ada@contoso.example</strong>"));
        assert!(by(Caller { oid: Some("o-1"), ..Caller::default() }).contains("<strong>o-1</strong>"));
        assert!(by(Caller::default()).contains("<strong>an unnamed account</strong>"));
        assert!(render("t", "/", "{}", None, &links).contains("Nobody is signed in"));
    }

    #[test]
    fn controls_appear_only_when_the_server_has_them() {
        let caller = Caller { kind: "user", roles: vec!["AdminAgent", "SalesAgent"], ..Caller::default() };
        let bare = render("t", "/", "{}", Some(&caller), &Links::default());
        assert!(!bare.contains("sign-out"), "{bare}");
        assert!(bare.contains("<dd>AdminAgent, SalesAgent</dd>"), "{bare}");
        let links = Links {
            sign_out: Some(Arc::from("/auth/sign-out")),
            provider_sign_out: Some(Arc::from("/dev-idp/sign-out")),
        };
        let full = render(
            "t",
            "/",
            "{}",
            Some(&Caller { report_only: Some(("mfa_required", 401)), ..caller }),
            &links,
        );
        assert!(full.contains(r#"<form method="post" action="/auth/sign-out">"#), "{full}");
        assert!(full.contains(r#"<a href="/dev-idp/sign-out" id="provider-sign-out">"#), "{full}");
        assert!(full.contains("refused with <code>mfa_required</code> (401)"), "{full}");
    }
}
