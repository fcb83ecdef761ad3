//! A scripted browser for the browser-mode suites: it navigates as a browser does
//! (`Sec-Fetch-Mode: navigate`, an HTML `Accept`, its own cookie jar), follows
//! redirects one hop at a time, counts the trips to the identity provider, and
//! fills in the development issuer's sign-in page. Requests go over the raw HTTP/1.1
//! client, so the status line (`401 Unauthorized - MFA required`) is seen as sent.
//!
//! Headless Chromium walks the same journeys in `tests/browser/` (node); this one
//! lets the Rust tests tamper with what a real browser would not (cookies, state,
//! replayed callbacks).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use reqwest::Url;

use crate::http1::{self, RawResponse};

/// A response, and the URL it answered.
#[derive(Debug, Clone)]
pub struct Visit {
    /// The URL requested.
    pub url: Url,
    /// The response.
    pub response: RawResponse,
}

impl Visit {
    /// The status code.
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.response.body).into_owned()
    }

    /// `Location`, resolved against the URL requested.
    pub fn location(&self) -> Option<Url> {
        self.response.header("location").and_then(|l| self.url.join(l).ok())
    }
}

/// How to answer the development issuer's sign-in page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    /// This user (`admin`, `sales`, `incompatible`) with a password only.
    Password(&'static str),
    /// This user with password and MFA.
    PasswordAndMfa(&'static str),
}

/// A browser: a cookie jar per host and the count of sign-in pages it was shown.
#[derive(Debug, Default, Clone)]
pub struct Browser {
    /// Cookies by name (the suites run everything on one loopback host).
    pub jar: BTreeMap<String, String>,
    /// How many times the browser was sent to the identity provider's
    /// authorization endpoint.
    pub provider_trips: usize,
}

fn target(url: &Url) -> (SocketAddr, String) {
    let host = url.host_str().unwrap_or("127.0.0.1");
    let addr: SocketAddr = format!("{host}:{}", url.port_or_known_default().unwrap_or(80))
        .parse()
        .unwrap_or_else(|_| panic!("the suites use loopback IP addresses, not {url}"));
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    (addr, path)
}

impl Browser {
    /// A browser with no cookies.
    pub fn new() -> Self {
        Self::default()
    }

    fn cookie_header(&self) -> Option<Vec<u8>> {
        if self.jar.is_empty() {
            return None;
        }
        let pairs: Vec<String> = self.jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        Some(format!("Cookie: {}", pairs.join("; ")).into_bytes())
    }

    fn keep_cookies(&mut self, response: &RawResponse) {
        for set in response.all("set-cookie") {
            let mut parts = set.split(';');
            let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else { continue };
            let gone = parts.any(|a| a.trim().eq_ignore_ascii_case("max-age=0"));
            if gone || value.is_empty() {
                self.jar.remove(name.trim());
            } else {
                self.jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
    }

    /// One navigation: `GET url`, as the address bar sends it.
    pub async fn get(&mut self, url: &Url) -> Visit {
        if url.path().ends_with("/authorize") {
            self.provider_trips += 1;
        }
        let (addr, path) = target(url);
        let mut headers = vec![
            b"Sec-Fetch-Mode: navigate".to_vec(),
            b"Sec-Fetch-Dest: document".to_vec(),
            b"Accept: text/html,application/xhtml+xml,*/*;q=0.8".to_vec(),
        ];
        headers.extend(self.cookie_header());
        let response = http1::request(addr, "GET", &path, &headers).await.expect("the server answers");
        self.keep_cookies(&response);
        Visit { url: url.clone(), response }
    }

    /// A form submission: `POST url` with `form` URL-encoded, saying nothing of
    /// where it comes from (as a client that is not a browser would).
    pub async fn post_form(&mut self, url: &Url, form: &[(String, String)]) -> Visit {
        self.post_form_from(url, form, &[]).await
    }

    /// A form of `page` submitted as a browser submits it: `POST` to `action`
    /// (resolved against the page), with `Origin` and `Sec-Fetch-Site` saying the
    /// page it was on.
    pub async fn submit_form(&mut self, page: &Visit, action: &str, form: &[(String, String)]) -> Visit {
        let url = page.url.join(action).expect("a URL");
        let from = page.url.origin();
        let site = if url.origin() == from { "same-origin" } else { "cross-site" };
        let origin = format!("Origin: {}", from.ascii_serialization()).into_bytes();
        let fetch_site = format!("Sec-Fetch-Site: {site}").into_bytes();
        self.post_form_from(&url, form, &[origin, fetch_site]).await
    }

    /// `POST url` with `form` URL-encoded and these extra header lines.
    pub async fn post_form_from(
        &mut self,
        url: &Url,
        form: &[(String, String)],
        headers: &[Vec<u8>],
    ) -> Visit {
        let (addr, path) = target(url);
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nSec-Fetch-Mode: navigate\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        )
        .into_bytes();
        for line in headers.iter().cloned().chain(self.cookie_header()) {
            req.extend_from_slice(&line);
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(b"\r\n");
        req.extend_from_slice(body.as_bytes());
        let response = http1::send_raw(addr, &req).await.expect("the server answers");
        self.keep_cookies(&response);
        Visit { url: url.clone(), response }
    }

    /// Opens `url` and follows redirects (at most 10), answering each sign-in page
    /// of the development issuer with the next of `sign_ins`; returns the last
    /// response. A sign-in page with no answer left ends the walk there.
    pub async fn open(&mut self, url: &Url, sign_ins: &mut Vec<SignIn>) -> Visit {
        let mut visit = self.get(url).await;
        for _ in 0..10 {
            if let Some(next) = visit.location().filter(|_| visit.status() == 302) {
                visit = self.get(&next).await;
                continue;
            }
            if visit.status() == 200
                && visit.url.path().ends_with("/dev-idp/authorize")
                && !sign_ins.is_empty()
            {
                let choice = sign_ins.remove(0);
                visit = self.submit_dev_sign_in(&visit, choice).await;
                continue;
            }
            break;
        }
        visit
    }

    /// Fills in and submits the development issuer's sign-in page.
    pub async fn submit_dev_sign_in(&mut self, page: &Visit, choice: SignIn) -> Visit {
        let html = page.text();
        let mut form = hidden_inputs(&html);
        let (user, method) = match choice {
            SignIn::Password(u) => (u, "password"),
            SignIn::PasswordAndMfa(u) => (u, "mfa"),
        };
        form.push(("user".into(), user.into()));
        form.push(("method".into(), method.into()));
        let action = page.url.join("/dev-idp/authorize").expect("a URL");
        self.post_form(&action, &form).await
    }
}

/// The `name`/`value` pairs of the hidden inputs of a page (the development sign-in
/// page escapes values as HTML; the suites' values need only `&amp;` undone).
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in html.split("<input type=\"hidden\" ").skip(1) {
        let attr = |name: &str| {
            let start = chunk.find(&format!("{name}=\""))? + name.len() + 2;
            let end = chunk[start..].find('"')? + start;
            Some(chunk[start..end].replace("&quot;", "\"").replace("&amp;", "&"))
        };
        if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
            out.push((n, v));
        }
    }
    out
}

/// The JSON answer the example servers' page for people shows (`<pre id="answer">`,
/// see `example_shared::page`), read back: what an API call to the same address
/// answers. `None` when the page shows none.
pub fn shown_answer(html: &str) -> Option<serde_json::Value> {
    let start = html.find("<pre id=\"answer\">")? + "<pre id=\"answer\">".len();
    let end = html[start..].find("</pre>")? + start;
    // The template escapes `& < > "`; `&amp;` is undone last, so `&amp;lt;` stays `&lt;`.
    let text = html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).ok()
}
