//! Route patterns and how a request path selects its rules.
//!
//! Patterns are exact (`/health`) or prefixes (`/commerce/*`, which matches
//! `/commerce` and everything below it); `/*` matches every path. The most specific
//! pattern wins: longer literal part first, then exact before prefix, then a rule
//! that names methods before one that does not.
//!
//! Patterns are compared with the path as the router reads it (see [`crate::path`]):
//! literally, byte for byte, case-sensitive, as the routers do.

use super::error::{PatternProblem, PolicyError};

/// A path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathPattern {
    /// This path only.
    Exact(String),
    /// This path and everything below it (`""` for `/*`: everything).
    Prefix(String),
}

impl PathPattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, PolicyError> {
        let bad = |problem| Err(PolicyError::Pattern { pattern: pattern.to_owned(), problem });
        if !pattern.starts_with('/') {
            return bad(PatternProblem::NotAbsolute);
        }
        let (literal, prefix) = match pattern.strip_suffix("/*") {
            Some(lit) => (lit, true),
            None => (pattern, false),
        };
        if literal.contains('*') {
            return bad(PatternProblem::Wildcard);
        }
        if !literal.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return bad(PatternProblem::NotVisibleAscii);
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

    /// The pattern as the most lenient reader reads it: its literal part through
    /// [`confusable_key`](crate::path::confusable_key) (`/Commerce.json/*` reads as
    /// `/commerce/*`). The root wildcard stays itself.
    pub(crate) fn confusable_form(&self) -> Self {
        let key =
            |p: &str| if p.is_empty() { String::new() } else { crate::path::confusable_key(p).into_owned() };
        match self {
            PathPattern::Exact(p) => PathPattern::Exact(key(p)),
            PathPattern::Prefix(p) => PathPattern::Prefix(key(p)),
        }
    }

    /// Sort key: more specific first.
    pub(crate) fn specificity(&self) -> (usize, bool) {
        match self {
            PathPattern::Exact(p) => (p.len(), true),
            PathPattern::Prefix(p) => (p.len(), false),
        }
    }
}

/// The pattern as written: `/health`, `/commerce/*`, `/*`.
impl std::fmt::Display for PathPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathPattern::Exact(p) => f.write_str(p),
            PathPattern::Prefix(p) => write!(f, "{p}/*"),
        }
    }
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
    fn a_patterns_confusable_form_is_its_most_lenient_reading() {
        let p = PathPattern::parse("/Commerce.json/*").unwrap().confusable_form();
        assert_eq!(p, PathPattern::Prefix("/commerce".into()));
        assert!(p.matches("/commerce/x"));
        let e = PathPattern::parse("/health").unwrap().confusable_form();
        assert_eq!(e, PathPattern::Exact("/health".into()));
        let root = PathPattern::parse("/*").unwrap().confusable_form();
        assert!(root.matches("/"));
        let dot = PathPattern::parse("/.well-known/*").unwrap().confusable_form();
        assert_eq!(dot, PathPattern::Prefix("/.well-known".into()));
    }

    #[test]
    fn patterns_are_shown_as_written() {
        for written in ["/health", "/commerce/*", "/*"] {
            assert_eq!(PathPattern::parse(written).unwrap().to_string(), written);
        }
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(PathPattern::parse("commerce/*").is_err());
        assert!(PathPattern::parse("/com*merce").is_err());
        assert!(PathPattern::parse("/a b").is_err());
    }
}
