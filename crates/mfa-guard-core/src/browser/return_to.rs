//! Where a browser is sent back to after signing in: a path of this application,
//! never another origin.
//!
//! The path is held to the guard's own path rule ([`crate::path`]: the grammar
//! every request path must match, dot segments and encoded separators refused),
//! with empty segments refused on top whatever the guard's settings: a `Location`
//! of `/.//evil.example` or `/x/../..//evil.example` is resolved by the browser to
//! the path `//evil.example`, one re-serialisation away from another origin. The
//! query, which the path rule does not cover, must be RFC 3986 `query` characters.

use percent_encoding::percent_decode_str;

use crate::path::{self, PathRules};

/// Longest path (with query) kept to return to after sign-in.
pub(crate) const MAX_RETURN_TO: usize = 2048;

/// `candidate` if it is a path (and query) of this origin to send a browser back
/// to, read under the guard's path `rules`.
pub(crate) fn safe_return_to(candidate: &str, rules: PathRules) -> Option<&str> {
    if candidate.len() > MAX_RETURN_TO {
        return None;
    }
    let (path_part, query) = match candidate.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (candidate, None),
    };
    // A `Location` header holds visible ASCII only, whatever the path rule admits.
    if !path_part.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    path::check(path_part, None, rules.refuse_empty_segments(true)).ok()?;
    // Where `%2F` is allowed, `/%2F%2Fevil.example` passes the path rule; a reader
    // that decodes it before redirecting would see `//evil.example`.
    let decoded = percent_decode_str(path_part).decode_utf8().ok()?;
    if decoded.starts_with("//") || decoded.contains('\\') {
        return None;
    }
    query.is_none_or(is_query).then_some(candidate)
}

/// RFC 3986 `query = *( pchar / "/" / "?" )`, escapes well-formed: no `#`, space,
/// backslash, control or non-ASCII byte, nothing a `Location` header or a URL
/// parser could read another way.
fn is_query(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let ok = match b {
            b'%' => {
                let hex = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(i + 1) && hex(i + 2)) {
                    return false;
                }
                i += 2;
                true
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => true,
            // unreserved, sub-delims, and ":" "@" "/" "?"
            b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b','
            | b';' | b'=' | b':' | b'@' | b'/' | b'?' => true,
            _ => false,
        };
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(candidate: &str) -> Option<&str> {
        safe_return_to(candidate, PathRules::default())
    }

    #[test]
    fn return_paths_stay_on_this_origin() {
        for good in ["/", "/commerce/customers", "/a?b=c&d=%2F", "/commerce/customers?page=2", "/x/"] {
            assert_eq!(safe(good), Some(good), "{good}");
        }
        for evil in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%2Fevil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "evil.example",
            "",
            "/a b",
            "/a\nb",
            "/\u{e9}",
            "/%ff",
        ] {
            assert_eq!(safe(evil), None, "{evil:?}");
        }
        assert_eq!(safe(&format!("/{}", "a".repeat(MAX_RETURN_TO))), None);
    }

    #[test]
    fn dot_segments_and_empty_segments_are_refused_as_the_path_rule_refuses_them() {
        for evil in [
            "/.//evil.example",
            "/x/../..//evil.example",
            "/x/..",
            "/./x",
            "/%2e%2e/x",
            "/x//evil.example",
            "/x/.%2E/y",
        ] {
            assert_eq!(safe(evil), None, "{evil:?}");
        }
        // Whatever the guard lets through, an empty segment is never a return path.
        let lenient = PathRules::default().refuse_empty_segments(false);
        assert_eq!(safe_return_to("/.//evil.example", lenient), None);
        assert_eq!(safe_return_to("/x//y", lenient), None);
    }

    #[test]
    fn where_encoded_slashes_are_allowed_a_decoded_double_slash_is_still_refused() {
        let rules = PathRules::default().allow_encoded_slash(true);
        assert_eq!(safe_return_to("/projects/a%2Fb", rules), Some("/projects/a%2Fb"));
        assert_eq!(safe_return_to("/%2F%2Fevil.example", rules), None);
        assert_eq!(safe_return_to("/%2Fevil.example", rules), None);
    }

    #[test]
    fn queries_are_rfc_3986_query_characters() {
        for good in ["/a?", "/a?x=1&y=%20z", "/a?next=/b?c:d@e", "/a?q=a+b;c=d!$'()*,~"] {
            assert_eq!(safe(good), Some(good), "{good}");
        }
        for evil in [
            "/a?x=1#frag",
            "/a?x=%zz",
            "/a?x=%4",
            "/a?x y",
            "/a?x=\\",
            "/a?x=<script>",
            "/a?x=\"",
            "/a?\u{e9}",
        ] {
            assert_eq!(safe(evil), None, "{evil:?}");
        }
    }
}
