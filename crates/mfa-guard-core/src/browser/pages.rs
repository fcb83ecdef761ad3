//! The HTML pages of browser mode: what a person sees when core answers instead of
//! the application. Every variable part is escaped; pages are never cached, never
//! framed, run no script, and send no referrer.

use super::super::answer::Answer;
use super::cache;
use crate::rejection::Rejection;

/// Headers every page carries; its forms may send the browser to `form_action`
/// (CSP source expressions, `'self'` for most pages).
fn page_headers(form_action: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "text/html; charset=utf-8".to_owned()),
        ("cache-control", cache::WRITES_SESSION.to_owned()),
        (
            "content-security-policy",
            format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action {form_action}; frame-ancestors 'none'"
            ),
        ),
        ("referrer-policy", "no-referrer".to_owned()),
        ("x-content-type-options", "nosniff".to_owned()),
    ]
}

/// `text` with `& < > " '` escaped for HTML text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title` and `heading` as text, `body_html` already escaped.
pub(crate) fn page(status: u16, title: &str, body_html: &str) -> Answer {
    page_posting_to(status, title, body_html, "'self'")
}

/// [`page`], whose forms may send the browser on to `form_action`.
fn page_posting_to(status: u16, title: &str, body_html: &str, form_action: &str) -> Answer {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}}\
         h1{{font-size:1.5rem}} .code{{font-family:monospace;background:#f2f2f2;padding:.1rem .3rem}}\
         .box{{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fff5f5}}\
         </style></head><body><h1>{title}</h1>{body_html}</body></html>\n",
        title = escape(title),
    );
    Answer::page(status, page_headers(form_action), html.into_bytes())
}

/// A `302` to `location`.
pub(crate) fn redirect(location: String) -> Answer {
    Answer::page(
        302,
        vec![
            ("location", location),
            ("cache-control", cache::WRITES_SESSION.to_owned()),
            ("content-length", "0".to_owned()),
        ],
        Vec::new(),
    )
}

/// The MFA-required page: the provider came back from a step-up without MFA.
pub(crate) fn mfa_required(user: Option<&str>, amr: &[String], sign_out: &str) -> Answer {
    let who = user.map_or_else(String::new, |u| format!(" as <strong>{}</strong>", escape(u)));
    let shown = if amr.is_empty() { "none".to_owned() } else { escape(&amr.join(", ")) };
    page(
        401,
        "Unauthorized - MFA required",
        &format!(
            "<p class=\"box\">You are signed in{who}, but this page requires multi-factor \
             authentication (MFA), and the sign-in your identity provider just completed does not \
             show MFA that this application recognises.</p>\
             <p>The provider reported the authentication methods <span class=\"code\">{shown}</span>; \
             MFA is recognised only when the <span class=\"code\">amr</span> claim contains \
             <span class=\"code\">mfa</span>.</p>\
             <p><strong>What to do:</strong> ask your organisation's administrator to use an MFA \
             provider whose result appears in the <span class=\"code\">amr</span> claim of the tokens \
             it issues (for example the identity provider's own MFA, or a federated provider whose \
             MFA claim is passed through). Until then every MFA-protected page and API refuses your \
             account.</p>\
             <p><a href=\"{}\">Sign out</a></p>",
            escape(sign_out)
        ),
    )
}

/// The page of a role the user does not hold (and other policy refusals).
pub(crate) fn forbidden(detail: &str, sign_out: &str) -> Answer {
    page(
        403,
        "Forbidden",
        &format!(
            "<p class=\"box\">Your account may not open this page: {}.</p>\
             <p>Ask your organisation's administrator for the role it needs, or \
             <a href=\"{}\">sign in with another account</a>.</p>",
            escape(detail),
            escape(sign_out)
        ),
    )
}

/// The identity provider cannot be reached: try again after `retry_after` seconds.
pub(crate) fn unavailable(detail: &str, retry_after: u64) -> Answer {
    page(
        503,
        "Sign-in is unavailable",
        &format!(
            "<p class=\"box\">The identity provider cannot be reached right now ({}).</p>\
             <p>Nothing is wrong with your account. Try again in a minute.</p>",
            escape(detail)
        ),
    )
    .with_header("retry-after", retry_after.to_string())
}

/// A sign-in that cannot be completed (a bad or replayed callback).
pub(crate) fn sign_in_failed(status: u16, detail: &str, restart: &str) -> Answer {
    page(
        status,
        "Sign-in could not be completed",
        &format!(
            "<p class=\"box\">{}</p><p><a href=\"{}\">Sign in again</a></p>",
            escape(detail),
            escape(restart)
        ),
    )
}

/// The sign-out button: a form posting to `action` (a sign-out is a `POST` from
/// this application's own pages, never a link another site can make a browser
/// follow). `form_action` lists where the post may lead (the provider's end-session
/// endpoint and the post-logout page: a browser holds a form's redirects to it).
pub(crate) fn sign_out(action: &str, form_action: &str) -> Answer {
    page_posting_to(
        200,
        "Sign out",
        &format!("<p>Sign out of this application?</p>{}", sign_out_form(action)),
        form_action,
    )
}

/// A sign-out posted from another site (or without saying where from): refused,
/// with the button, so a person who does mean to sign out can.
pub(crate) fn sign_out_refused(action: &str, form_action: &str) -> Answer {
    page_posting_to(
        403,
        "Sign-out refused",
        &format!(
            "<p class=\"box\">This sign-out request did not come from this application's own \
             pages, so you are still signed in.</p><p>To sign out, use this button:</p>{}",
            sign_out_form(action)
        ),
        form_action,
    )
}

fn sign_out_form(action: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
        escape(action)
    )
}

/// A navigation to a path the guard cannot read one way (`400 invalid_request`),
/// as a page.
pub(crate) fn bad_address(why: Rejection) -> Answer {
    page(
        why.response_status(),
        "This address cannot be opened",
        &format!(
            "<p class=\"box\">The address of this page is not one this application accepts: {}.</p>\
             <p>Check the link, or <a href=\"/\">go to the start page</a>.</p>",
            escape(why.detail())
        ),
    )
    .because(why)
}

/// After sign-out: a public page, so leaving does not start a new sign-in.
pub(crate) fn signed_out(sign_in: &str) -> Answer {
    page(
        200,
        "Signed out",
        &format!("<p>You are signed out.</p><p><a href=\"{}\">Sign in again</a></p>", escape(sign_in)),
    )
}

/// The account's session would not fit in a cookie.
pub(crate) fn too_many_roles(restart: &str) -> Answer {
    sign_in_failed(
        403,
        "Your account holds more of this application's roles than a browser session can carry. \
         Ask the administrator to reduce the roles mapped for this application.",
        restart,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_text_is_escaped() {
        assert_eq!(escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
        let page = mfa_required(Some("<script>alert(1)</script>"), &["<img>".into()], "/auth/sign-out");
        let body = String::from_utf8(page.body()).unwrap();
        assert!(!body.contains("<script>") && !body.contains("<img>"), "{body}");
        assert_eq!(page.status(), 401);
    }
}
