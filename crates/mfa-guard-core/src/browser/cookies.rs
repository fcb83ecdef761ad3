//! Cookies as browser mode reads and writes them, with the `cookie` crate: the
//! values of the `Cookie` headers a request carries, and the `Set-Cookie` of the
//! session and flow cookies (host-only, `HttpOnly`, `SameSite=Lax`, `Secure` off
//! loopback).

use cookie::{Cookie, SameSite};

/// Every cookie of `Cookie` header values, as `(name, value)` (a value's
/// surrounding pair of double quotes removed); header values that are not UTF-8
/// and pairs that are not `name=value` are skipped.
fn all<'a>(headers: &'a [&'a [u8]]) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    headers.iter().filter_map(|h| std::str::from_utf8(h).ok()).flat_map(|h| {
        Cookie::split_parse(h).filter_map(Result::ok).filter_map(|c| {
            // Borrowed from `h`: `split_parse` of a `&str` without decoding never owns.
            let (name, value) = (c.name_raw()?, c.value_raw()?);
            Some((name, trim_quotes(value)))
        })
    })
}

/// `value` without a surrounding pair of double quotes (RFC 6265's quoted form).
fn trim_quotes(value: &str) -> &str {
    value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value)
}

/// The value of the cookie `name` in `Cookie` header values; the first one wins.
pub(crate) fn value<'a>(headers: &'a [&'a [u8]], name: &str) -> Option<&'a str> {
    all(headers).find_map(|(n, v)| (n == name).then_some(v))
}

/// Every cookie whose name starts with `prefix`, as `(name, value)`.
pub(crate) fn named<'a>(
    headers: &'a [&'a [u8]],
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    all(headers).filter(move |(n, _)| n.starts_with(prefix))
}

/// `Set-Cookie` of the cookie `name` holding `value` for `max_age` seconds (none
/// left clears it): sent back on every path of this host only, never to scripts,
/// kept from cross-site subrequests, and only over TLS when `secure`.
pub(crate) fn set(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age.max(0)))
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_in_any_header_and_anywhere_in_it() {
        let headers: [&[u8]; 2] = [b"a=1; b=2", b"c=3;d=\"4\""];
        assert_eq!(value(&headers, "b"), Some("2"));
        assert_eq!(value(&headers, "c"), Some("3"));
        assert_eq!(value(&headers, "d"), Some("4"));
        assert_eq!(value(&headers, "e"), None);
        assert_eq!(value(&[b"\xff\xfe=1"], "x"), None);
        assert_eq!(value(&[b"x=1; x=2"], "x"), Some("1"), "the first one wins");
        let flows: Vec<_> = named(&[b"f-a=1; g=2; f-b=3"], "f-").collect();
        assert_eq!(flows, [("f-a", "1"), ("f-b", "3")]);
    }

    #[test]
    fn set_cookie_is_host_only_http_only_lax_and_secure_off_loopback() {
        let written = set("__Host-s", "v", 600, true);
        assert!(written.starts_with("__Host-s=v;"), "{written}");
        for attribute in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure", "Max-Age=600"] {
            assert!(written.split("; ").any(|a| a == attribute), "{attribute} in {written}");
        }
        assert!(!written.contains("Domain"), "{written}");
        let cleared = set("s", "", -5, false);
        assert!(cleared.starts_with("s=;") && cleared.contains("Max-Age=0"), "{cleared}");
        assert!(!cleared.contains("Secure"), "{cleared}");
    }
}
