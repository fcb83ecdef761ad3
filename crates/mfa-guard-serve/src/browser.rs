//! People at the gate: browser sign-in and MFA step-up for the applications behind
//! the proxy, decided by core's browser mode exactly as in-process adapters decide.
//!
//! Two halves. The proxy asks about every request as before; with browser mode on,
//! a top-level navigation is decided with its session cookie, and a redirect to the
//! provider (sign-in or step-up) or a page (401 MFA required, 403, 503) is the
//! answer the proxy delivers to the client. And the browser's own paths — the
//! sign-in callback, sign-in, sign-out and signed-out pages — are served here, on
//! the application's own origin, and the provider's back-channel logout `POST`
//! beside them: the proxy sends everything under one prefix
//! ([`DEFAULT_PREFIX`]) to `serve`, so the `__Host-` session cookie is the
//! application's and no application path can be taken over.

use std::fmt;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use mfa_guard_core::browser::{Browser, MAX_BACKCHANNEL_BODY};
use mfa_guard_core::config::Config;
use mfa_guard_core::{Admission, Guard, RequestInfo};
use mfa_guard_tower::{AnswerResponse, RejectionResponse};

/// Where the browser's paths live unless configured otherwise: a first segment
/// starting with a dot, which applications do not route (it reads as a hidden
/// file), on the application's own origin.
pub const DEFAULT_PREFIX: &str = "/.mfa-guard/";

/// The first path segments `serve` answers itself; a prefix starting with one of
/// them would be shadowed by that endpoint.
const OWN_SEGMENTS: [&str; 5] = ["auth", "nginx", "envoy", "health", ".well-known"];

/// Longest prefix accepted: it is part of every browser path and redirect URI.
const MAX_PREFIX: usize = 64;

/// The path prefix under which `serve` answers the browser's own paths on the
/// application's origin: `/`, one or more segments of letters, digits and
/// `-._~` (never `.` or `..`), and a closing `/`, e.g. `/.mfa-guard/`.
///
/// ```
/// use mfa_guard_serve::BrowserPrefix;
///
/// let prefix: BrowserPrefix = "/.mfa-guard/".parse()?;
/// assert_eq!(prefix.path("callback"), "/.mfa-guard/callback");
/// assert!("/".parse::<BrowserPrefix>().is_err(), "every application path would be serve's");
/// # Ok::<(), mfa_guard_serve::InvalidPrefix>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserPrefix(String);

/// Why a browser prefix is refused, or does not hold the guard's browser paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefix(String);

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidPrefix {}

impl std::str::FromStr for BrowserPrefix {
    type Err = InvalidPrefix;

    fn from_str(prefix: &str) -> Result<Self, Self::Err> {
        let refuse = |why: &str| Err(InvalidPrefix(format!("the browser prefix {prefix:?} {why}")));
        if prefix.len() > MAX_PREFIX {
            return refuse(&format!("is longer than {MAX_PREFIX} bytes"));
        }
        if prefix == "/" {
            return refuse("would take every path of the application");
        }
        let Some(inner) = prefix.strip_prefix('/').and_then(|p| p.strip_suffix('/')) else {
            return refuse("must start and end with `/`, like /.mfa-guard/");
        };
        for segment in inner.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return refuse(
                    "holds an empty, `.` or `..` segment, which proxies and applications read differently",
                );
            }
            if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
                return refuse("holds a character other than letters, digits and `-._~`");
            }
        }
        let first = inner.split('/').next().unwrap_or_default();
        if OWN_SEGMENTS.iter().any(|own| own.eq_ignore_ascii_case(first)) {
            return refuse(&format!("starts with /{first}, where serve answers a proxy's own requests"));
        }
        Ok(BrowserPrefix(prefix.to_owned()))
    }
}

impl Default for BrowserPrefix {
    fn default() -> Self {
        BrowserPrefix(DEFAULT_PREFIX.to_owned())
    }
}

impl BrowserPrefix {
    /// The prefix, with its leading and trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `name` under the prefix.
    pub fn path(&self, name: &str) -> String {
        format!("{}{name}", self.0)
    }

    /// `browser` with its sign-in, sign-out, signed-out and back-channel logout
    /// paths under the prefix (`sign-in`, `sign-out`, `signed-out`,
    /// `backchannel-logout`). The callback is the redirect URI's path, registered
    /// at the provider: [`check`](Self::check) holds it to the prefix.
    pub fn place(&self, browser: Browser) -> Browser {
        browser
            .sign_in_path(self.path("sign-in"))
            .sign_out_path(self.path("sign-out"))
            .signed_out_path(self.path("signed-out"))
            .backchannel_logout_path(self.path("backchannel-logout"))
    }

    /// `browser` placed as [`place`](Self::place) places it, except for the pages
    /// a configuration file's `[browser]` table names (`sign_in_path`,
    /// `sign_out_path`, `signed_out_path`): each is kept when it lies under the
    /// prefix, and refused, naming its key, when it does not — the proxy sends only
    /// the prefix to `serve`, so a page outside it would reach the application.
    pub fn place_configured(&self, browser: Browser, config: &Config) -> Result<Browser, InvalidPrefix> {
        let mut browser = self.place(browser);
        for (key, path) in config.browser_page_paths() {
            let Some(path) = path else { continue };
            if !self.holds(path) {
                return Err(InvalidPrefix(format!(
                    "MFA_CONFIG: browser.{key} = {path:?} is outside {prefix}, the only paths the proxy \
                     sends to serve: set it under the prefix (e.g. {example}) or remove it (serve places \
                     the page at {example})",
                    prefix = self.0,
                    example = self.path(&key.trim_end_matches("_path").replace('_', "-")),
                )));
            }
            browser = match key {
                "sign_in_path" => browser.sign_in_path(path),
                "sign_out_path" => browser.sign_out_path(path),
                _ => browser.signed_out_path(path),
            };
        }
        Ok(browser)
    }

    /// Whether `path` lies under the prefix (the prefix itself does not).
    fn holds(&self, path: &str) -> bool {
        path.starts_with(self.as_str()) && path.len() > self.0.len()
    }

    /// Whether every path browser mode answers (callback, sign-in, sign-out,
    /// signed-out, back-channel logout) is under the prefix, where the proxy sends
    /// them to `serve` (a path outside it would reach the application instead), and
    /// no two are the same path (one would never be answered). A guard without
    /// browser mode passes.
    pub fn check(&self, guard: &Guard) -> Result<(), InvalidPrefix> {
        let Some(paths) = guard.browser_paths() else { return Ok(()) };
        if let Some(outside) = paths.iter().find(|p| !self.holds(p)) {
            return Err(InvalidPrefix(format!(
                "browser sign-in answers {outside}, outside {prefix} (the only paths the proxy sends to \
                 serve): register a redirect URI under it, e.g. https://app.example{prefix}callback",
                prefix = self.0
            )));
        }
        for (i, path) in paths.iter().enumerate() {
            if paths[..i].contains(path) {
                return Err(InvalidPrefix(format!(
                    "browser sign-in answers two of its pages at {path} (the callback, sign-in, sign-out, \
                     signed-out and back-channel logout paths must differ)"
                )));
            }
        }
        Ok(())
    }
}

/// The `Cookie` values of `headers` (HTTP/2 may split them over several), for
/// [`reading`].
pub(crate) fn cookies(headers: &HeaderMap) -> Vec<&[u8]> {
    headers.get_all(COOKIE).iter().map(HeaderValue::as_bytes).collect()
}

/// The request as browser mode reads it: `req` with the session cookie, the
/// navigation headers (`Sec-Fetch-Mode`, `Accept`) and the origin headers
/// (`Sec-Fetch-Site`, `Origin`) of `headers` — the client's, which every proxy
/// passes to its authorizer. Core reads them only with browser mode on, and only
/// for a top-level navigation.
pub(crate) fn reading<'a>(
    req: RequestInfo<'a>,
    headers: &'a HeaderMap,
    cookies: &'a [&'a [u8]],
) -> RequestInfo<'a> {
    let get = |name: &str| headers.get(name).map(HeaderValue::as_bytes);
    req.with_cookies(cookies)
        .with_navigation_headers(get("sec-fetch-mode"), get("accept"))
        .with_origin_headers(get("sec-fetch-site"), get("origin"))
}

/// Every path `serve` has no endpoint for: the browser's own paths when browser
/// mode is on (the proxy sends the prefix here, the request's own method, path and
/// headers), a `404` otherwise.
pub(crate) async fn own_path(State(guard): State<Arc<Guard>>, req: Request<Body>) -> Response {
    let path = req.uri().path();
    let Some(paths) = guard.browser_paths() else { return not_found() };
    let Some(index) = paths.iter().position(|p| *p == path) else { return not_found() };
    // What browser mode answers on each path (the callback spends its code on a
    // GET only, the provider posts logout tokens); anything else is the client's
    // mistake, said as such, rather than a decision of the route table on a path
    // that belongs to the gate.
    let allowed: &[Method] = match index {
        0 => &[Method::GET],
        2 => &[Method::GET, Method::HEAD, Method::POST],
        BACKCHANNEL => &[Method::POST],
        _ => &[Method::GET, Method::HEAD],
    };
    if !allowed.contains(req.method()) {
        let allow = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        let mut response = (StatusCode::METHOD_NOT_ALLOWED, "method not allowed here\n").into_response();
        if let Ok(allow) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(ALLOW, allow);
        }
        return response;
    }
    if index == BACKCHANNEL {
        return backchannel_logout(&guard, req).await;
    }
    let headers = req.headers();
    let cookies = cookies(headers);
    let info = RequestInfo::new(req.method().as_str(), path)
        .with_query(req.uri().query())
        .with_authorizations(headers.get_all(AUTHORIZATION).iter().map(HeaderValue::as_bytes));
    match guard.check(&reading(info, headers, &cookies)).await {
        Admission::Answered(answer) => AnswerResponse(answer).into_response(),
        Admission::Refused(rejection) => RejectionResponse(rejection).into_response(),
        // Browser mode answers every method allowed above on its own paths; a
        // caller admitted here would be a decision about no application at all.
        Admission::Admitted(_) | Admission::Anonymous(_) => not_found(),
    }
}

/// The back-channel logout path's place in [`Guard::browser_paths`].
const BACKCHANNEL: usize = 4;

/// A provider's back-channel logout `POST`: its body read up to
/// [`MAX_BACKCHANNEL_BODY`] bytes (16 KiB, as the in-process adapters read it;
/// the rest is never read) and answered by core.
async fn backchannel_logout(guard: &Guard, req: Request<Body>) -> Response {
    use http_body_util::{BodyExt as _, LengthLimitError, Limited};
    let content_type = req.headers().get(CONTENT_TYPE).cloned();
    let answer = match Limited::new(req.into_body(), MAX_BACKCHANNEL_BODY).collect().await {
        Ok(body) => {
            guard.backchannel_logout(content_type.as_ref().map(HeaderValue::as_bytes), &body.to_bytes()).await
        }
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => guard.backchannel_logout_too_long(),
        Err(_) => guard.backchannel_logout_unreadable(),
    };
    AnswerResponse(answer).into_response()
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_prefix_is_accepted() {
        assert_eq!(DEFAULT_PREFIX.parse::<BrowserPrefix>(), Ok(BrowserPrefix::default()));
        assert!("/_gate/auth-flows/".parse::<BrowserPrefix>().is_ok());
    }

    #[test]
    fn a_prefix_taking_every_path_is_refused() {
        let e = "/".parse::<BrowserPrefix>().unwrap_err();
        assert_eq!(e.to_string(), "the browser prefix \"/\" would take every path of the application");
    }

    #[test]
    fn a_prefix_without_its_slashes_is_refused() {
        for p in ["/.mfa-guard", ".mfa-guard/", "", "mfa"] {
            let e = p.parse::<BrowserPrefix>().unwrap_err();
            assert!(e.to_string().ends_with("must start and end with `/`, like /.mfa-guard/"), "{p}: {e}");
        }
    }

    #[test]
    fn a_prefix_routers_read_differently_is_refused() {
        for p in ["/./", "/../x/", "//x/", "/a//b/", "/x/./"] {
            let e = p.parse::<BrowserPrefix>().unwrap_err();
            assert!(e.to_string().contains("empty, `.` or `..` segment"), "{p}: {e}");
        }
        for p in ["/a%2Fb/", "/a b/", "/a;b/", "/é/"] {
            let e = p.parse::<BrowserPrefix>().unwrap_err();
            assert!(e.to_string().contains("other than letters, digits"), "{p}: {e}");
        }
        let long = format!("/{}/", "a".repeat(MAX_PREFIX));
        assert!(long.parse::<BrowserPrefix>().unwrap_err().to_string().contains("longer than 64 bytes"));
    }

    #[test]
    fn a_prefix_shadowed_by_an_endpoint_of_serve_is_refused() {
        for p in ["/auth/", "/nginx/x/", "/Envoy/", "/health/", "/.well-known/"] {
            let e = p.parse::<BrowserPrefix>().unwrap_err();
            assert!(e.to_string().contains("where serve answers a proxy's own requests"), "{p}: {e}");
        }
    }
}
