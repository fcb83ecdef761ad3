//! The HTML pages of browser mode: what a person sees when core answers instead of
//! the application. The pages are `maud` templates, so every value spliced in (a
//! user name, a role, a return address) is escaped by construction; pages are never
//! cached, never framed, run no script, and send no referrer.

use maud::{DOCTYPE, Markup, PreEscaped, Render, html};

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

/// A value spliced into a page, as text: maud escapes `& < > "` (its attributes
/// are always double-quoted, so that is enough to keep the value text), and this
/// also writes `'` as `&#39;`, as the pages always have, so that their bytes (and
/// what the browser tests match) do not change with the template.
struct Text<'a>(&'a str);

impl Render for Text<'_> {
    fn render_to(&self, out: &mut String) {
        let mut parts = self.0.split('\'');
        if let Some(first) = parts.next() {
            first.render_to(out);
        }
        for part in parts {
            out.push_str("&#39;");
            part.render_to(out);
        }
    }
}

/// The pages' style sheet (inline: the CSP allows inline styles and nothing else).
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.5}\
     h1{font-size:1.5rem} .code{font-family:monospace;background:#f2f2f2;padding:.1rem .3rem}\
     .box{border-left:4px solid #b00020;padding:.5rem 1rem;background:#fff5f5}";

/// A page: `title` as its title and heading, then `body`.
fn page(status: u16, title: &str, body: Markup) -> Answer {
    page_posting_to(status, title, body, "'self'")
}

/// [`page`], whose forms may send the browser on to `form_action`.
fn page_posting_to(status: u16, title: &str, body: Markup, form_action: &str) -> Answer {
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (Text(title)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (Text(title)) }
                (body)
            }
        }
    };
    Answer::page(status, page_headers(form_action), html.into_string().into_bytes())
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
    let methods = if p.amr.is_empty() { "none".to_owned() } else { p.amr.join(", ") };
    let skipped = p.amr.iter().all(|m| SINGLE_FACTOR.contains(&m.as_str()));
    let who = html! { @if let Some(user) = p.user { " as " strong { (Text(user)) } } };
    let needs = html! {
        @match p.needed {
            Some(level) => {
                "this page requires the assurance level " strong { (Text(level)) }
                ", a stronger multi-factor authentication than the sign-in your identity provider \
                 just completed shows"
            }
            None => "this page requires multi-factor authentication (MFA)",
        }
    };
    let advice = if let (Some(level), Some(shown)) = (p.needed, p.shown) {
        // MFA was done, but a weaker kind than this page asks for: a method choice,
        // not a provider problem.
        html! {
            p.box {
                "You are signed in" (who) " with multi-factor authentication (" strong { (Text(shown)) }
                "), but this page requires the assurance level " strong { (Text(level)) }
                ", which the method you used does not give (the provider reported "
                span.code { (Text(&methods)) } ")."
            }
            p {
                strong { "What to do:" } " " a href=(Text(p.retry)) { "sign in again" }
                " and choose a stronger method when your identity provider offers one (for a \
                 phishing-resistant level: a security key, Windows Hello or a certificate). If none \
                 is offered, ask your organisation's administrator to enable one for your account."
            }
        }
    } else if skipped {
        html! {
            p.box {
                "You are signed in" (who) ", but " (needs) ", and the sign-in was completed without a \
                 second factor (the provider reported only " span.code { (Text(&methods)) } ")."
            }
            p {
                strong { "What to do:" } " " a href=(Text(p.retry)) { "sign in again" }
                " and complete the second step (an authenticator app, a security key, a text \
                 message) when your identity provider asks for it."
            }
        }
    } else {
        html! {
            p.box {
                "You are signed in" (who) ", but " (needs) ", and the sign-in your identity provider \
                 just completed does not show MFA that this application recognises."
            }
            p {
                "The provider reported the authentication methods " span.code { (Text(&methods)) }
                "; MFA is recognised only when the " span.code { "amr" } " claim contains "
                span.code { "mfa" }
                @if p.needed.is_some() { " (or the evidence of the level this page needs)" }
                "."
            }
            p {
                strong { "What to do:" }
                " ask your organisation's administrator to use an MFA provider whose result appears \
                 in the " span.code { "amr" } " claim of the tokens it issues (for example the \
                 identity provider's own MFA, or a federated provider whose MFA claim is passed \
                 through). Until then every MFA-protected page and API refuses your account. If you \
                 chose another method by mistake, " a href=(Text(p.retry)) { "try again" } "."
            }
        }
    };
    page(
        401,
        "Unauthorized - MFA required",
        html! {
            (advice)
            p { a href=(Text(p.sign_out)) { "Sign out" } }
        },
    )
}

/// The page of a step-up that came back signed in as another account than the one
/// that asked for it: the session stays the first account's.
pub(crate) fn other_account(restart: &str, sign_out: &str) -> Answer {
    page(
        403,
        "Forbidden",
        html! {
            p.box {
                "The identity provider answered the MFA request for another account than the one \
                 signed in here. A step-up never switches accounts: you are still signed in as \
                 before, without the MFA this page needs."
            }
            p {
                strong { "What to do:" } " " a href=(Text(restart)) { "try again" }
                " and complete MFA for the same account, or " a href=(Text(sign_out)) { "sign out" }
                " first to use another one."
            }
        },
    )
}

/// The page of a role the user does not hold (and other policy refusals).
pub(crate) fn forbidden(p: &ForbiddenPage<'_>) -> Answer {
    page_posting_to(
        403,
        "Forbidden",
        html! {
            p.box {
                "You are signed in"
                @if let Some(user) = p.user { " as " strong { (Text(user)) } }
                ", with "
                @if p.held.is_empty() {
                    "no role this application knows"
                } @else {
                    "the roles " span.code { (Text(&p.held.join(", "))) }
                }
                ", but "
                @if p.needed.is_empty() {
                    "this page refuses your account: " (Text(p.why))
                } @else {
                    "this page needs one of the roles " span.code { (Text(&p.needed.join(", "))) }
                }
                "."
            }
            p {
                "Ask your organisation's administrator for the role this page needs, or sign out to \
                 use another account:"
            }
            (sign_out_form(p.sign_out))
        },
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

/// What a `503` page says cannot be reached: its headline names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// The identity provider (its documents, keys or token endpoint), and what a
    /// sign-in needs before it can be sent there.
    Provider,
    /// The session store, which vouches that a session was not signed out
    /// elsewhere (browser mode with a store, failing closed).
    SessionStore,
}

/// The identity provider cannot be reached: try again after `retry_after` seconds.
pub(crate) fn unavailable(detail: &str, retry_after: u64) -> Answer {
    unavailable_because(Unreachable::Provider, detail, retry_after)
}

/// `cause` cannot be reached (`detail` says more): try again after `retry_after`
/// seconds.
pub(crate) fn unavailable_because(cause: Unreachable, detail: &str, retry_after: u64) -> Answer {
    let (title, what) = match cause {
        Unreachable::Provider => ("Sign-in is unavailable", "The identity provider"),
        Unreachable::SessionStore => ("Signed-in pages are unavailable", "The session store"),
    };
    page(
        503,
        title,
        html! {
            p.box { (what) " cannot be reached right now (" (Text(detail)) ")." }
            p { "Nothing is wrong with your account. Try again in a minute." }
        },
    )
    .with_header("retry-after", retry_after.to_string())
}

/// A sign-in that cannot be completed (a bad or replayed callback).
pub(crate) fn sign_in_failed(status: u16, detail: &str, restart: &str) -> Answer {
    page(
        status,
        "Sign-in could not be completed",
        html! {
            p.box { (Text(detail)) }
            p { a href=(Text(restart)) { "Sign in again" } }
        },
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
        html! {
            p { "Sign out of this application?" }
            (sign_out_form(action))
        },
        form_action,
    )
}

/// A sign-out posted from another site (or without saying where from): refused,
/// with the button, so a person who does mean to sign out can.
pub(crate) fn sign_out_refused(action: &str, form_action: &str) -> Answer {
    page_posting_to(
        403,
        "Sign-out refused",
        html! {
            p.box {
                "This sign-out request did not come from this application's own pages, so you are \
                 still signed in."
            }
            p { "To sign out, use this button:" }
            (sign_out_form(action))
        },
        form_action,
    )
}

fn sign_out_form(action: &str) -> Markup {
    html! {
        form method="post" action=(Text(action)) {
            button type="submit" id="sign-out" { "Sign out" }
        }
    }
}

/// A navigation to a path the guard cannot read one way (`400 invalid_request`),
/// as a page.
pub(crate) fn bad_address(why: Rejection) -> Answer {
    page(
        why.response_status(),
        "This address cannot be opened",
        html! {
            p.box {
                "The address of this page is not one this application accepts: " (Text(why.detail())) "."
            }
            p { "Check the link, or " a href="/" { "go to the start page" } "." }
        },
    )
    .because(why)
}

/// After sign-out: a public page, so leaving does not start a new sign-in.
pub(crate) fn signed_out(sign_in: &str) -> Answer {
    page(
        200,
        "Signed out",
        html! {
            p { "You are signed out." }
            p { a href=(Text(sign_in)) { "Sign in again" } }
        },
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

    /// A value that would close an attribute and open a script, were it not escaped.
    const HOSTILE: &str = "\"><script>alert('x')</script>";
    /// The same value as text, as every page must show it.
    const SHOWN: &str = "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;";

    fn text(page: &Answer) -> String {
        String::from_utf8(page.body()).unwrap()
    }

    fn header(page: &Answer, name: &str) -> String {
        page.headers().filter(|(n, _)| *n == name).map(|(_, v)| v.into_owned()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_hostile_value_is_shown_as_text_on_every_page_that_splices_one() {
        let hostile = vec![HOSTILE.to_owned()];
        let none: &[String] = &[];
        let mfa = |amr: &[String], needed, shown| {
            mfa_required(&MfaPage {
                user: Some(HOSTILE),
                amr,
                needed,
                shown,
                retry: HOSTILE,
                sign_out: HOSTILE,
            })
        };
        let forbidden_page = |held: &[String], needed: &[String]| {
            forbidden(&ForbiddenPage {
                user: Some(HOSTILE),
                held,
                needed,
                why: HOSTILE,
                sign_out: HOSTILE,
                form_action: "'self'",
            })
        };
        // (page, status, how many of its spliced values are the hostile one, as text)
        let pages = [
            ("mfa: no second factor", mfa(&hostile[..0], None, None), 401, 3, SHOWN),
            ("mfa: an unrecognised method", mfa(&hostile, None, None), 401, 4, SHOWN),
            ("mfa: below the level", mfa(&hostile, Some(HOSTILE), Some(HOSTILE)), 401, 6, SHOWN),
            ("mfa: an unrecognised method, a level", mfa(&hostile, Some(HOSTILE), None), 401, 5, SHOWN),
            ("other account", other_account(HOSTILE, HOSTILE), 403, 2, SHOWN),
            ("forbidden: roles", forbidden_page(&hostile, &hostile), 403, 4, SHOWN),
            ("forbidden: a reason", forbidden_page(none, none), 403, 3, SHOWN),
            ("unavailable", unavailable(HOSTILE, 5), 503, 1, SHOWN),
            ("store unavailable", unavailable_because(Unreachable::SessionStore, HOSTILE, 5), 503, 1, SHOWN),
            ("sign-in failed", sign_in_failed(400, HOSTILE, HOSTILE), 400, 2, SHOWN),
            ("sign out", sign_out(HOSTILE, "'self'"), 200, 1, SHOWN),
            ("sign-out refused", sign_out_refused(HOSTILE, "'self'"), 403, 1, SHOWN),
            ("signed out", signed_out(HOSTILE), 200, 1, SHOWN),
            ("too many roles", too_many_roles(HOSTILE), 403, 1, SHOWN),
            (
                "bad address",
                bad_address(Rejection::standalone(crate::Refusal::new(
                    crate::RejectionCode::InvalidRequest,
                    HOSTILE,
                ))),
                400,
                1,
                // A refusal's description has its `"` made `'` where it is made.
                "&#39;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
            ),
        ];
        for (name, page, status, splices, shown) in pages {
            let body = text(&page);
            assert_eq!(page.status(), status, "{name}");
            assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8", "{name}");
            assert!(header(&page, "content-security-policy").starts_with("default-src 'none';"), "{name}");
            assert!(!body.contains("<script"), "{name}: {body}");
            assert!(!body.contains(HOSTILE), "{name}: {body}");
            assert_eq!(body.matches(shown).count(), splices, "{name}: {body}");
        }
    }

    #[test]
    fn a_page_keeps_its_words_and_markup() {
        let page = mfa_required(&MfaPage {
            user: Some("ada@example.com"),
            amr: &["pwd".to_owned()],
            needed: None,
            shown: None,
            retry: "/auth/sign-in?return_to=%2F&step_up=1",
            sign_out: "/auth/sign-out",
        });
        let body = text(&page);
        assert!(
            body.starts_with("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"),
            "{body}"
        );
        assert!(body.contains("<title>Unauthorized - MFA required</title>"), "{body}");
        assert!(
            body.contains(
                "<p class=\"box\">You are signed in as <strong>ada@example.com</strong>, but this page \
                 requires multi-factor authentication (MFA), and the sign-in was completed without a \
                 second factor (the provider reported only <span class=\"code\">pwd</span>).</p>"
            ),
            "{body}"
        );
        assert!(
            body.contains(
                "<a href=\"/auth/sign-in?return_to=%2F&amp;step_up=1\">sign in again</a> and complete"
            ),
            "{body}"
        );
        assert!(body.ends_with("<p><a href=\"/auth/sign-out\">Sign out</a></p></body></html>"), "{body}");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer");
        assert_eq!(
            header(&page, "content-security-policy"),
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
        );
    }

    #[test]
    fn the_503_page_names_what_cannot_be_reached_in_its_headline() {
        let provider = text(&unavailable("the discovery document cannot be fetched", 30));
        assert!(provider.contains("<title>Sign-in is unavailable</title>"), "{provider}");
        assert!(provider.contains("<h1>Sign-in is unavailable</h1>"), "{provider}");
        assert!(
            provider.contains(
                "<p class=\"box\">The identity provider cannot be reached right now (the discovery \
                 document cannot be fetched).</p>"
            ),
            "{provider}"
        );
        let store = unavailable_because(Unreachable::SessionStore, "last reached 7 s ago", 5);
        assert_eq!(store.status(), 503);
        assert_eq!(header(&store, "retry-after"), "5");
        let store = text(&store);
        assert!(store.contains("<h1>Signed-in pages are unavailable</h1>"), "{store}");
        assert!(
            store.contains(
                "<p class=\"box\">The session store cannot be reached right now (last reached 7 s ago).</p>"
            ),
            "{store}"
        );
        assert!(!store.contains("identity provider") && !store.contains("Sign-in"), "{store}");
        for page in [&provider, &store] {
            assert!(
                page.contains("<p>Nothing is wrong with your account. Try again in a minute.</p>"),
                "{page}"
            );
        }
    }
}
