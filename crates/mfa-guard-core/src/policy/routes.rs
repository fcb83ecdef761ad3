//! Route patterns and how a request path selects its rules.
//!
//! Patterns are exact (`/health`) or prefixes (`/commerce/*`, which matches
//! `/commerce` and everything below it); `/*` matches every path. The most specific
//! pattern wins: longer literal part first, then exact before prefix, then a rule
//! that names methods before one that does not.
//!
//! A path can be read more than one way: the router in front of the handler may or
//! may not decode `%2F`, collapse `//`, resolve `..` or ignore case. If the policy
//! read it one way and the router another, `/health/../commerce/x` could reach the
//! Customers handler under the rule of `/health`. So when a path has such a second
//! reading, both readings select a rule and the request must satisfy both.

use std::borrow::Cow;

/// A path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathPattern {
    /// This path only.
    Exact(String),
    /// This path and everything below it (`""` for `/*`: everything).
    Prefix(String),
}

impl PathPattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        if !pattern.starts_with('/') {
            return Err(format!("route pattern {pattern:?} must start with '/'"));
        }
        let (literal, prefix) = match pattern.strip_suffix("/*") {
            Some(lit) => (lit, true),
            None => (pattern, false),
        };
        if literal.contains('*') {
            return Err(format!(
                "route pattern {pattern:?} may only end in '/*'; '*' elsewhere is not supported"
            ));
        }
        if !literal.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(format!("route pattern {pattern:?} must be visible ASCII"));
        }
        Ok(if prefix {
            PathPattern::Prefix(literal.to_owned())
        } else {
            PathPattern::Exact(literal.to_owned())
        })
    }

    pub(crate) fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Exact(p) => path == p,
            PathPattern::Prefix(p) => {
                path.starts_with(p.as_str()) && (path.len() == p.len() || path.as_bytes()[p.len()] == b'/')
            }
        }
    }

    /// Sort key: more specific first.
    pub(crate) fn specificity(&self) -> (usize, bool) {
        match self {
            PathPattern::Exact(p) => (p.len(), true),
            PathPattern::Prefix(p) => (p.len(), false),
        }
    }

    pub(crate) fn lowercase(&self) -> Self {
        match self {
            PathPattern::Exact(p) => PathPattern::Exact(p.to_ascii_lowercase()),
            PathPattern::Prefix(p) => PathPattern::Prefix(p.to_ascii_lowercase()),
        }
    }
}

/// The second reading of a path, when it has one: percent-decoded, `\` as `/`,
/// empty and `.` segments dropped, `..` resolved, ASCII lowercased.
pub(crate) fn normalized(path: &str) -> Option<String> {
    let plain = !path.bytes().any(|b| matches!(b, b'%' | b'\\' | b';') || b.is_ascii_uppercase())
        && !path.contains("//")
        && !path.contains("/.");
    if plain {
        return None;
    }
    let decoded: Cow<'_, str> = match crate::token::percent_decode(path) {
        Some(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        None => Cow::Borrowed(path),
    };
    let mut segments: Vec<&str> = Vec::new();
    let lowered = decoded.replace('\\', "/").to_ascii_lowercase();
    for seg in lowered.split('/') {
        // Matrix parameters (`/commerce;x=1/…`) are dropped by some servers.
        let seg = seg.split(';').next().unwrap_or("");
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(path.len());
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    if out.is_empty() {
        out.push('/');
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_patterns_match_on_segment_boundaries() {
        let p = PathPattern::parse("/commerce/*").unwrap();
        assert!(p.matches("/commerce"));
        assert!(p.matches("/commerce/"));
        assert!(p.matches("/commerce/customers/1"));
        assert!(!p.matches("/commerceX"));
        assert!(!p.matches("/"));
    }

    #[test]
    fn root_wildcard_matches_everything() {
        let p = PathPattern::parse("/*").unwrap();
        assert!(p.matches("/"));
        assert!(p.matches("/anything/at/all"));
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        let p = PathPattern::parse("/health").unwrap();
        assert!(p.matches("/health"));
        assert!(!p.matches("/health/"));
        assert!(!p.matches("/healthz"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(PathPattern::parse("commerce/*").is_err());
        assert!(PathPattern::parse("/com*merce").is_err());
        assert!(PathPattern::parse("/a b").is_err());
    }

    #[test]
    fn plain_paths_have_no_second_reading() {
        assert_eq!(normalized("/commerce/customers"), None);
        assert_eq!(normalized("/"), None);
    }

    #[test]
    fn ambiguous_paths_have_a_normalized_second_reading() {
        assert_eq!(normalized("/health/../commerce/x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("//commerce//x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/%63ommerce/x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/COMMERCE/x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/commerce/./x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/health%2F..%2Fcommerce").as_deref(), Some("/commerce"));
        assert_eq!(normalized("\\commerce\\x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/commerce;jsessionid=1/x").as_deref(), Some("/commerce/x"));
        assert_eq!(normalized("/../../..").as_deref(), Some("/"));
    }
}
