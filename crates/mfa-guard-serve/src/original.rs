//! The request a proxy asks about, read from the headers it sets.
//!
//! Each proxy names the original method and URI in headers of its own. They are
//! trusted because only the proxy can reach the authorizer (the recipes keep it off
//! the public network), but never taken twice: a header that comes more than once
//! is refused, so neither a client's copy nor one smuggled in through a decoded
//! `%0D%0A` (nginx writes `$uri` decoded into the subrequest) can stand beside the
//! proxy's.

use axum::http::HeaderMap;
use mfa_guard_core::{Refusal, RejectionCode};

/// Largest method and URI read from a header.
const MAX_METHOD: usize = 32;
const MAX_URI: usize = 16 * 1024;

/// How a proxy names the original request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Traefik ForwardAuth, Caddy forward_auth: `X-Forwarded-Method`, `X-Forwarded-Uri`.
    Forwarded,
    /// nginx auth_request (the shipped recipe) and ingress-nginx auth-url:
    /// `X-Original-Method`, and `X-Original-URI` or `X-Original-URL`.
    Nginx,
}

/// The original request: method, path as received, query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Original {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: Option<String>,
}

fn bad(detail: String) -> Refusal {
    Refusal::new(RejectionCode::InvalidRequest, detail)
}

/// The one value of `name`, visible ASCII; `None` when absent.
pub(crate) fn single<'h>(headers: &'h HeaderMap, name: &str, max: usize) -> Result<Option<&'h str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else { return Ok(None) };
    if values.next().is_some() {
        return Err(bad(format!(
            "the request names {name} more than once; the proxy must set it exactly once (and drop any copy from the client)"
        )));
    }
    if value.len() > max {
        return Err(bad(format!("the {name} header is longer than {max} bytes")));
    }
    let text = value
        .to_str()
        .ok()
        .filter(|t| t.bytes().all(|b| (0x21..0x7f).contains(&b)))
        .ok_or_else(|| bad(format!("the {name} header holds bytes outside visible ASCII")))?;
    Ok(Some(text))
}

fn required<'h>(
    headers: &'h HeaderMap,
    name: &str,
    max: usize,
    dialect: Dialect,
) -> Result<&'h str, Refusal> {
    single(headers, name, max)?.ok_or_else(|| {
        bad(format!(
            "the proxy did not say {what}: set {name} (see the {proxy} recipe)",
            what = if name.ends_with("Method") { "the original method" } else { "the original URI" },
            proxy = match dialect {
                Dialect::Forwarded => "Traefik or Caddy",
                Dialect::Nginx => "nginx",
            }
        ))
    })
}

/// Reads the original request of `dialect` from `headers`.
pub(crate) fn read(headers: &HeaderMap, dialect: Dialect) -> Result<Original, Refusal> {
    let (method, uri) = match dialect {
        Dialect::Forwarded => (
            required(headers, "X-Forwarded-Method", MAX_METHOD, dialect)?,
            required(headers, "X-Forwarded-Uri", MAX_URI, dialect)?,
        ),
        Dialect::Nginx => {
            let method = required(headers, "X-Original-Method", MAX_METHOD, dialect)?;
            let uri =
                match (
                    single(headers, "X-Original-URI", MAX_URI)?,
                    single(headers, "X-Original-URL", MAX_URI)?,
                ) {
                    (Some(uri), None) => uri,
                    (None, Some(url)) => path_of_url(url)?,
                    (Some(_), Some(_)) => {
                        return Err(bad(
                            "the request names both X-Original-URI and X-Original-URL; send one".into(),
                        ));
                    }
                    (None, None) => return Err(bad(
                        "the proxy did not say the original URI: set X-Original-URI (see the nginx recipe)"
                            .into(),
                    )),
                };
            (method, uri)
        }
    };
    let (path, query) = match uri.split_once('?') {
        Some((p, q)) => (p, Some(q.to_owned())),
        None => (uri, None),
    };
    Ok(Original { method: self::method(method)?, path: path.to_owned(), query })
}

/// The original method as the guard reads it (upper-cased), from what a proxy
/// named: one to 32 ASCII letters. An empty name is no method: the rule's method
/// list would be asked about `""`.
pub(crate) fn method(named: &str) -> Result<String, Refusal> {
    if named.is_empty() {
        return Err(bad("the original method is empty; the proxy must name the request's method".into()));
    }
    if named.len() > MAX_METHOD || !named.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad("the original method is not an HTTP method".into()));
    }
    Ok(named.to_ascii_uppercase())
}

/// The path and query of an absolute URL (`https://host/path?q` → `/path?q`), read
/// by `http::Uri`. Accepted only when the URL is exactly `scheme://authority` and a
/// path and query, nothing dropped: a fragment, which the parser would cut off, is
/// refused rather than hidden from the path rules.
fn path_of_url(url: &str) -> Result<&str, Refusal> {
    let not_url = || bad("X-Original-URL is not an http(s) URL".into());
    let uri: http::Uri = url.parse().map_err(|_| not_url())?;
    let (Some(scheme @ ("http" | "https")), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(not_url());
    };
    let origin = scheme.len() + "://".len() + authority.as_str().len();
    let rest = url.get(origin..).ok_or_else(not_url)?;
    let read = uri.path_and_query().map_or("", |pq| pq.as_str());
    // `https://host` alone reads as the path `/`.
    let whole = rest == read || (rest.is_empty() && read == "/");
    if !url[..origin].eq_ignore_ascii_case(&format!("{scheme}://{authority}")) || !whole {
        return Err(not_url());
    }
    Ok(if rest.is_empty() { "/" } else { rest })
}

/// The header in which the proxy names the upstream (the assertion's audience).
/// The recipes set it per upstream, replacing a client's copy.
pub const AUDIENCE_HEADER: &str = "x-mfa-guard-audience";
/// The longest upstream name accepted (the audience).
pub(crate) const MAX_AUDIENCE: usize = 256;

/// The upstream the proxy named in [`AUDIENCE_HEADER`]: once, visible ASCII, at
/// most 256 bytes; `None` when absent. A second copy is a client's beside the
/// proxy's, refused as every header the proxy sets.
pub(crate) fn audience(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    single(headers, AUDIENCE_HEADER, MAX_AUDIENCE)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn each_dialect_names_the_original_request_its_own_way() {
        let traefik = headers(&[("x-forwarded-method", "get"), ("x-forwarded-uri", "/commerce/x?page=2")]);
        assert_eq!(
            read(&traefik, Dialect::Forwarded).unwrap(),
            Original { method: "GET".into(), path: "/commerce/x".into(), query: Some("page=2".into()) }
        );
        let nginx = headers(&[("x-original-method", "POST"), ("x-original-uri", "/%63ommerce//x")]);
        let o = read(&nginx, Dialect::Nginx).unwrap();
        assert_eq!((o.method.as_str(), o.path.as_str()), ("POST", "/%63ommerce//x"));
        let ingress = headers(&[
            ("x-original-method", "GET"),
            ("x-original-url", "https://partner.example/billing/x?y"),
        ]);
        let o = read(&ingress, Dialect::Nginx).unwrap();
        assert_eq!((o.path.as_str(), o.query.as_deref()), ("/billing/x", Some("y")));
    }

    #[test]
    fn a_header_the_proxy_sets_is_never_taken_twice() {
        for name in ["x-original-uri", "x-original-method"] {
            let mut pairs = vec![("x-original-method", "GET"), ("x-original-uri", "/commerce/x")];
            pairs.push((name, "/health"));
            let e = read(&headers(&pairs), Dialect::Nginx).unwrap_err();
            assert!(e.detail().contains("more than once"), "{name}: {}", e.detail());
            assert_eq!(e.code(), RejectionCode::InvalidRequest);
        }
    }

    #[test]
    fn a_missing_or_malformed_original_request_is_an_invalid_request() {
        let e = read(&headers(&[("x-forwarded-uri", "/x")]), Dialect::Forwarded).unwrap_err();
        assert!(e.detail().contains("set X-Forwarded-Method"), "{}", e.detail());
        let e = read(&headers(&[("x-original-method", "GET")]), Dialect::Nginx).unwrap_err();
        assert!(e.detail().contains("X-Original-URI"), "{}", e.detail());
        let e = read(&headers(&[("x-original-method", "G T"), ("x-original-uri", "/x")]), Dialect::Nginx)
            .unwrap_err();
        assert_eq!(e.code(), RejectionCode::InvalidRequest);
        let both = headers(&[
            ("x-original-method", "GET"),
            ("x-original-uri", "/x"),
            ("x-original-url", "http://h/x"),
        ]);
        assert!(read(&both, Dialect::Nginx).unwrap_err().detail().contains("both"));
        let long = "/".repeat(MAX_URI + 1);
        let e =
            read(&headers(&[("x-forwarded-method", "GET"), ("x-forwarded-uri", &long)]), Dialect::Forwarded)
                .unwrap_err();
        assert!(e.detail().contains("longer than"), "{}", e.detail());
    }

    #[test]
    fn an_empty_original_method_is_an_invalid_request() {
        for (dialect, pairs) in [
            (Dialect::Forwarded, [("x-forwarded-method", ""), ("x-forwarded-uri", "/overview")]),
            (Dialect::Nginx, [("x-original-method", ""), ("x-original-uri", "/overview")]),
        ] {
            let e = read(&headers(&pairs), dialect).unwrap_err();
            assert_eq!(e.code(), RejectionCode::InvalidRequest, "{dialect:?}");
            assert!(e.detail().contains("method is empty"), "{dialect:?}: {}", e.detail());
        }
        // Envoy's gRPC check names the method in a field: the same rule.
        assert_eq!(method("").unwrap_err().code(), RejectionCode::InvalidRequest);
        assert_eq!(method("get").unwrap(), "GET");
    }

    #[test]
    fn an_original_url_is_read_only_when_nothing_of_it_would_be_dropped() {
        let url = |u: &str| {
            read(&headers(&[("x-original-method", "GET"), ("x-original-url", u)]), Dialect::Nginx)
                .map(|o| (o.path, o.query))
        };
        assert_eq!(url("https://h"), Ok(("/".into(), None)));
        assert_eq!(url("HTTPS://h:8443/a?b=c"), Ok(("/a".into(), Some("b=c".into()))));
        // A fragment would be cut off by the parser, so that the path rules never
        // saw it: refused instead.
        for bad in ["https://h/commerce#/../admin", "ftp://h/x", "/x", "https://"] {
            let e = url(bad).unwrap_err();
            assert_eq!(e.detail(), "X-Original-URL is not an http(s) URL", "{bad}");
        }
    }
}
