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

/// What the MFA page says: who is signed in, the methods the provider reported,
/// the assurance level the page needs (a level above `mfa`), and where to retry
/// and sign out.
pub(crate) struct MfaPage<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) amr: &'a [String],
    pub(crate) needed: Option<&'a str>,
    /// The level the session did show, if any (below `needed`).
    pub(crate) shown: Option<&'a str>,
    pub(crate) retry: &'a str,
    pub(crate) sign_out: &'a str,
}

/// `amr` values (RFC 8176) that are one factor on their own: a password, a PIN,
/// knowledge questions, Windows integrated sign-in, mere presence. A sign-in that
/// shows nothing else did no second factor at all.
const SINGLE_FACTOR: [&str; 5] = ["pwd", "pin", "kba", "wia", "user"];

/// The page of a step-up that came back without the MFA the page needs (seed
/// examples 3 and 4): `401 Unauthorized - MFA required`. It tells a person who did
/// no second factor (try again, and complete it) from one whose second factor this
/// application does not recognise (their administrator must change the provider),
/// and offers both a new attempt.
pub(crate) fn mfa_required(p: &MfaPage<'_>) -> Answer {
    let who = p.user.map_or_else(String::new, |u| format!(" as <strong>{}</strong>", escape(u)));
    let shown = if p.amr.is_empty() { "none".to_owned() } else { escape(&p.amr.join(", ")) };
    let shown_methods = shown.clone();
    let skipped = p.amr.iter().all(|m| SINGLE_FACTOR.contains(&m.as_str()));
    let needs = match p.needed {
        Some(level) => format!(
            "this page requires the assurance level <strong>{}</strong>, a stronger multi-factor \
             authentication than the sign-in your identity provider just completed shows",
            escape(level)
        ),
        None => "this page requires multi-factor authentication (MFA)".to_owned(),
    };
    let advice = if let (Some(level), Some(shown)) = (p.needed, p.shown) {
        // MFA was done, but a weaker kind than this page asks for: a method choice,
        // not a provider problem.
        format!(
            "<p class=\"box\">You are signed in{who} with multi-factor authentication \
             (<strong>{shown}</strong>), but this page requires the assurance level \
             <strong>{level}</strong>, which the method you used does not give \
             (the provider reported <span class=\"code\">{methods}</span>).</p>\
             <p><strong>What to do:</strong> <a href=\"{retry}\">sign in again</a> and choose a \
             stronger method when your identity provider offers one (for a phishing-resistant \
             level: a security key, Windows Hello or a certificate). If none is offered, ask your \
             organisation's administrator to enable one for your account.</p>",
            shown = escape(shown),
            level = escape(level),
            methods = shown_methods,
            retry = escape(p.retry)
        )
    } else if skipped {
        format!(
            "<p class=\"box\">You are signed in{who}, but {needs}, and the sign-in was completed \
             without a second factor (the provider reported only <span class=\"code\">{shown}</span>).</p>\
             <p><strong>What to do:</strong> <a href=\"{retry}\">sign in again</a> and complete the \
             second step (an authenticator app, a security key, a text message) when your identity \
             provider asks for it.</p>",
            retry = escape(p.retry)
        )
    } else {
        format!(
            "<p class=\"box\">You are signed in{who}, but {needs}, and the sign-in your identity \
             provider just completed does not show MFA that this application recognises.</p>\
             <p>The provider reported the authentication methods <span class=\"code\">{shown}</span>; \
             MFA is recognised only when the <span class=\"code\">amr</span> claim contains \
             <span class=\"code\">mfa</span>{level_note}.</p>\
             <p><strong>What to do:</strong> ask your organisation's administrator to use an MFA \
             provider whose result appears in the <span class=\"code\">amr</span> claim of the tokens \
             it issues (for example the identity provider's own MFA, or a federated provider whose \
             MFA claim is passed through). Until then every MFA-protected page and API refuses your \
             account. If you chose another method by mistake, <a href=\"{retry}\">try again</a>.</p>",
            level_note =
                if p.needed.is_some() { " (or the evidence of the level this page needs)" } else { "" },
            retry = escape(p.retry)
        )
    };
    page(
        401,
        "Unauthorized - MFA required",
        &format!("{advice}<p><a href=\"{}\">Sign out</a></p>", escape(p.sign_out)),
    )
}

/// The page of a step-up that came back signed in as another account than the one
/// that asked for it: the session stays the first account's.
pub(crate) fn other_account(restart: &str, sign_out: &str) -> Answer {
    page(
        403,
        "Forbidden",
        &format!(
            "<p class=\"box\">The identity provider answered the MFA request for another account \
             than the one signed in here. A step-up never switches accounts: you are still signed in \
             as before, without the MFA this page needs.</p>\
             <p><strong>What to do:</strong> <a href=\"{}\">try again</a> and complete MFA for the \
             same account, or <a href=\"{}\">sign out</a> first to use another one.</p>",
            escape(restart),
            escape(sign_out)
        ),
    )
}

/// The page of a role the user does not hold (and other policy refusals).
pub(crate) fn forbidden(p: &ForbiddenPage<'_>) -> Answer {
    let who = p.user.map_or_else(
        || "You are signed in".to_owned(),
        |u| format!("You are signed in as <strong>{}</strong>", escape(u)),
    );
    let held = if p.held.is_empty() {
        "no role this application knows".to_owned()
    } else {
        format!("the roles <span class=\"code\">{}</span>", escape(&p.held.join(", ")))
    };
    let needs = if p.needed.is_empty() {
        format!("this page refuses your account: {}", escape(p.why))
    } else {
        format!(
            "this page needs one of the roles <span class=\"code\">{}</span>",
            escape(&p.needed.join(", "))
        )
    };
    page_posting_to(
        403,
        "Forbidden",
        &format!(
            "<p class=\"box\">{who}, with {held}, but {needs}.</p>\
             <p>Ask your organisation's administrator for the role this page needs, or sign out \
             to use another account:</p>{}",
            sign_out_form(p.sign_out)
        ),
        p.form_action,
    )
}

/// What the page of a refused role says: who is signed in, the roles the session
/// holds, the roles the page needs (or the refusal's reason), and the sign-out form.
pub(crate) struct ForbiddenPage<'a> {
    pub(crate) user: Option<&'a str>,
    pub(crate) held: &'a [String],
    pub(crate) needed: &'a [String],
    pub(crate) why: &'a str,
    pub(crate) sign_out: &'a str,
    /// Where the sign-out form may post and lead (this origin and the provider's).
    pub(crate) form_action: &'a str,
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
        for (amr, needed) in [(vec!["<img>".to_owned()], None), (vec!["pwd".to_owned()], Some("<b>level"))] {
            let page = mfa_required(&MfaPage {
                user: Some("<script>alert(1)</script>"),
                amr: &amr,
                needed,
                shown: None,
                retry: "/auth/sign-in?return_to=%2F&step_up=1&\"",
                sign_out: "/auth/sign-out",
            });
            let body = String::from_utf8(page.body()).unwrap();
            assert!(!body.contains("<script>") && !body.contains("<img>") && !body.contains("<b>"), "{body}");
            assert!(!body.contains("&\""), "{body}");
            assert_eq!(page.status(), 401);
        }
    }
}
