//! What an adapter sends instead of calling the handler: a refusal ([`Rejection`])
//! or, in browser mode, a page or redirect core wrote ([`Admission::Answered`]).
//! One type, so an adapter renders both with the same few lines.
//!
//! [`Admission::Answered`]: crate::Admission::Answered

use std::borrow::Cow;

use crate::rejection::Rejection;

/// A complete response core decided on: every byte comes from core, the adapter
/// copies status, reason phrase, headers and body across.
#[derive(Debug, Clone)]
pub struct Answer(Kind);

#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "browser"), allow(dead_code))]
enum Kind {
    Refusal(Rejection),
    Page(Box<Page>),
}

#[derive(Debug, Clone)]
struct Page {
    status: u16,
    reason: Option<&'static str>,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// The refusal behind a page (the MFA-required page, the role page), so that
    /// outer layers and logs see why, as for an API refusal.
    why: Option<Rejection>,
}

#[cfg_attr(not(feature = "browser"), allow(dead_code))]
impl Answer {
    /// A page or redirect with this status and headers (names lowercase) and body.
    pub(crate) fn page(status: u16, headers: Vec<(&'static str, String)>, body: Vec<u8>) -> Self {
        Answer(Kind::Page(Box::new(Page { status, reason: None, headers, body, why: None })))
    }

    /// The same answer, explained by `why`: with its reason phrase and, on a `401`,
    /// its `WWW-Authenticate` (the MFA page is the same recognisable refusal as the
    /// API's, in HTML).
    pub(crate) fn because(mut self, why: Rejection) -> Self {
        if let Kind::Page(page) = &mut self.0 {
            page.reason = why.reason_phrase();
            if page.status == 401
                && let Some(challenge) = why.www_authenticate()
            {
                page.headers.push(("www-authenticate", challenge.to_owned()));
            }
            page.why = Some(why);
        }
        self
    }

    /// Adds a header (for instance a `set-cookie`).
    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        if let Kind::Page(page) = &mut self.0 {
            page.headers.push((name, value));
        }
        self
    }

    /// The status code of the response.
    pub fn status(&self) -> u16 {
        match &self.0 {
            Kind::Refusal(r) => r.response_status(),
            Kind::Page(p) => p.status,
        }
    }

    /// The HTTP/1.1 reason phrase when it is not the standard one
    /// (`Unauthorized - MFA required`).
    pub fn reason_phrase(&self) -> Option<&'static str> {
        match &self.0 {
            Kind::Refusal(r) => r.reason_phrase(),
            Kind::Page(p) => p.reason,
        }
    }

    /// Every header, in the order to send them; names are lowercase and a name may
    /// repeat (`set-cookie`).
    pub fn headers(&self) -> Box<dyn Iterator<Item = (&str, Cow<'_, str>)> + '_> {
        match &self.0 {
            Kind::Refusal(r) => Box::new(r.headers()),
            Kind::Page(p) => Box::new(p.headers.iter().map(|(n, v)| (*n, Cow::Borrowed(v.as_str())))),
        }
    }

    /// The body.
    pub fn body(&self) -> Vec<u8> {
        match &self.0 {
            Kind::Refusal(r) => r.body(),
            Kind::Page(p) => p.body.clone(),
        }
    }

    /// The refusal this answer is, or explains (a page refusing for lack of MFA
    /// carries the `mfa_required` rejection); `None` for redirects and sign-in steps.
    pub fn rejection(&self) -> Option<&Rejection> {
        match &self.0 {
            Kind::Refusal(r) => Some(r),
            Kind::Page(p) => p.why.as_ref(),
        }
    }
}

impl From<Rejection> for Answer {
    fn from(rejection: Rejection) -> Self {
        Answer(Kind::Refusal(rejection))
    }
}
