//! Which path a route rule is chosen by, and the paths refused before any rule is.
//!
//! **The rule follows the router.** A request must be held to the rule of the
//! handler its router reaches, so the rule is chosen from the very string the router
//! dispatches on — never from a reading of the engine's own. Routers read paths
//! differently: axum (matchit) and hyper services match the path as received,
//! percent-escapes and all; actix-web decodes every escape except `%2F`, `%25` and
//! `%2B` first; nginx routes on `$uri`, decoded with dot segments resolved and
//! slashes merged. So the adapter, which knows its router, hands the engine that
//! reading ([`RequestInfo::with_routed_path`](crate::RequestInfo::with_routed_path);
//! by default it is the path as received), and the engine compares route patterns
//! with it literally.
//!
//! **Paths that cannot be read one way are refused.** Some paths mean different
//! things to different components: whether `%2F` separates segments, whether `\` is
//! a separator, whether `..` is resolved, what a malformed escape decodes to. Even
//! with the reading above, another component behind the router (a static file
//! server, a framework mounted under a prefix, the upstream of a proxy) could read
//! them another way. Such a path is `400 invalid_request` with an
//! `error_description` saying what is wrong, before any rule is chosen — never
//! mapped to the fallback rule. [`PathRules`] lists what is refused; only `%2F` can
//! be allowed, for APIs that carry slashes inside a segment.

use std::fmt;

use crate::rejection::{Refusal, RejectionCode};

/// Which path forms are refused before a rule is chosen.
///
/// The default refuses, in the path as received:
///
/// - a malformed percent-escape (`%` not followed by two hex digits: `%zz`, `%4`);
/// - an encoded separator inside a segment: `%2F` (`/`) and `%5C` (`\`);
/// - a backslash;
/// - a dot segment, `.` or `..`, also when percent-encoded (`%2e%2E`);
/// - a control character, encoded or not (`%00`, `%0A`, `%7F`);
/// - percent-escapes that decode to bytes that are not UTF-8;
/// - a path that does not start with `/` (`OPTIONS *`, a CONNECT authority).
///
/// [`PathRules::strict`] refuses three more forms, for a guard that cannot know the
/// router behind it (forward-auth: the upstream application routes the request
/// again, its own way): a percent-escape of a character that needs none (`%63` for
/// `c`: axum matches it literally, actix-web and most proxies decode it first), a
/// `;` inside a segment (servlet containers drop `;jsessionid` parameters before
/// routing), an empty segment (`//`, which many servers and proxies merge), and a
/// path whose letter case decides its rule (`/COMMERCE/x`: no rule by its case,
/// `/commerce/*` by Express's or ASP.NET's case-insensitive routing). What is left
/// selects the same rule for every router, whether it decodes escapes or not and
/// whether it ignores case or not.
///
/// ```
/// use mfa_guard_core::PathRules;
///
/// // An API whose identifiers hold slashes (`/projects/group%2Fname`):
/// let rules = PathRules::default().allow_encoded_slash(true);
/// assert!(rules.encoded_slash_allowed());
/// assert!(!PathRules::default().is_strict());
/// assert!(PathRules::strict().is_strict());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct PathRules {
    allow_encoded_slash: bool,
    refuse_matrix_parameters: bool,
    refuse_empty_segments: bool,
    refuse_encoded_unreserved: bool,
    refuse_case_variants: bool,
}

impl PathRules {
    /// The default, and also escapes of plain characters, `;` parameters and
    /// empty segments refused: for a router the guard cannot see (`mfa-guard serve`
    /// uses it by default).
    pub fn strict() -> Self {
        Self {
            allow_encoded_slash: false,
            refuse_matrix_parameters: true,
            refuse_empty_segments: true,
            refuse_encoded_unreserved: true,
            refuse_case_variants: true,
        }
    }

    /// Refuses a path that a case-insensitive router would give another rule
    /// (`/HEALTH` when `/health` is public and unmatched paths are not). Such a
    /// path is sent with the route's own case by every client that means it.
    pub fn refuse_case_variants(mut self, refuse: bool) -> Self {
        self.refuse_case_variants = refuse;
        self
    }

    pub(crate) fn case_variants_refused(&self) -> bool {
        self.refuse_case_variants
    }

    /// Refuses a percent-escape of an unreserved character — a letter, a digit,
    /// `-`, `.`, `_` or `~` (`/%63ommerce`, `/commerce/%41lice`) — which no client
    /// needs to send and routers read two ways.
    pub fn refuse_encoded_unreserved(mut self, refuse: bool) -> Self {
        self.refuse_encoded_unreserved = refuse;
        self
    }

    /// Refuses a `;` inside a segment (`/commerce;x=1/customers`), raw or encoded.
    pub fn refuse_matrix_parameters(mut self, refuse: bool) -> Self {
        self.refuse_matrix_parameters = refuse;
        self
    }

    /// Refuses an empty segment (`//commerce`, `/commerce//x`; a trailing `/` is
    /// not one).
    pub fn refuse_empty_segments(mut self, refuse: bool) -> Self {
        self.refuse_empty_segments = refuse;
        self
    }

    /// Whether all of [`strict`](Self::strict)'s refusals are on.
    pub fn is_strict(&self) -> bool {
        self.refuse_matrix_parameters
            && self.refuse_empty_segments
            && self.refuse_encoded_unreserved
            && self.refuse_case_variants
    }

    /// Lets `%2F` through inside a segment (off by default). Routers that match the
    /// path as received (axum, hyper) or keep `%2F` encoded (actix-web) then read it
    /// as part of the segment; a component behind them that decodes it before
    /// routing again (a proxy's upstream with `merge_slashes`-style decoding, a file
    /// server) would see another path. Turn it on only when every component behind
    /// the guard keeps `%2F` encoded. `%5C` stays refused.
    pub fn allow_encoded_slash(mut self, allow: bool) -> Self {
        self.allow_encoded_slash = allow;
        self
    }

    /// Whether `%2F` is let through.
    pub fn encoded_slash_allowed(&self) -> bool {
        self.allow_encoded_slash
    }
}

/// A path form refused before a rule is chosen, with the words a client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    NotAbsolute,
    MalformedEscape,
    EncodedSlash,
    Backslash,
    DotSegment,
    Control,
    NotUtf8,
    MatrixParameter,
    EmptySegment,
    EncodedUnreserved,
    CaseVariant,
}

impl Unreadable {
    fn describe(self) -> &'static str {
        match self {
            Unreadable::NotAbsolute => "the request path does not start with '/'",
            Unreadable::MalformedEscape => {
                "the request path has a malformed percent-escape ('%' not followed by two hex digits), which servers decode differently"
            }
            Unreadable::EncodedSlash => {
                "the request path has an encoded '/' (%2F) inside a segment, which some servers read as a separator"
            }
            Unreadable::Backslash => {
                "the request path has a backslash (raw or %5C), which some servers read as a separator"
            }
            Unreadable::DotSegment => {
                "the request path has a dot segment ('.' or '..', also percent-encoded), which some servers resolve and others do not"
            }
            Unreadable::Control => "the request path has a control character (such as %00)",
            Unreadable::NotUtf8 => "the request path percent-encodes bytes that are not UTF-8",
            Unreadable::MatrixParameter => {
                "the request path has a ';' inside a segment, which some servers strip before routing"
            }
            Unreadable::EmptySegment => {
                "the request path has an empty segment ('//'), which some servers merge before routing"
            }
            Unreadable::EncodedUnreserved => {
                "the request path percent-encodes a letter, digit or one of '-._~', which some servers decode before routing and others do not; send the character itself"
            }
            Unreadable::CaseVariant => {
                "the request path matches a route only when letter case is ignored, which some servers do and others do not; send it with the route's case"
            }
        }
    }

    pub(crate) fn refusal(self) -> Refusal {
        Refusal::new(RejectionCode::InvalidRequest, self.describe()).described_in_challenge()
    }
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Checks the path as received and, when the adapter gave one, the router's reading
/// of it. Runs on every request: one pass over the bytes, no allocation.
pub(crate) fn check(received: &str, routed: Option<&str>, rules: PathRules) -> Result<(), Unreadable> {
    check_received(received, rules)?;
    match routed {
        Some(reading) => check_reading(reading),
        None => Ok(()),
    }
}

/// The path as received: still percent-encoded, so every escape is read here.
fn check_received(path: &str, rules: PathRules) -> Result<(), Unreadable> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(Unreadable::NotAbsolute);
    }
    let segments = path[1..].split('/');
    let count = path[1..].split('/').count();
    for (i, segment) in segments.enumerate() {
        // An empty last segment is a trailing slash, which routers tell apart.
        if segment.is_empty() && rules.refuse_empty_segments && i + 1 < count {
            return Err(Unreadable::EmptySegment);
        }
        check_segment(segment.as_bytes(), rules)?;
    }
    Ok(())
}

fn check_segment(segment: &[u8], rules: PathRules) -> Result<(), Unreadable> {
    // Length of the segment once decoded, and whether it decodes to dots only: enough
    // to recognise `.`, `..`, `%2e`, `.%2E`, ... without building the decoded bytes.
    let mut decoded_len = 0usize;
    let mut dots_only = true;
    // Set when an escape decodes to a byte >= 0x80: the segment's decoded bytes must
    // then be checked as UTF-8 (rare, so done in a second pass).
    let mut high = false;
    let mut i = 0;
    while i < segment.len() {
        let b = segment[i];
        let byte = if b == b'%' {
            let hi = segment.get(i + 1).and_then(|&h| hex(h));
            let lo = segment.get(i + 2).and_then(|&l| hex(l));
            let (Some(hi), Some(lo)) = (hi, lo) else { return Err(Unreadable::MalformedEscape) };
            i += 3;
            let v = hi << 4 | lo;
            match v {
                b'/' if !rules.allow_encoded_slash => return Err(Unreadable::EncodedSlash),
                b'\\' => return Err(Unreadable::Backslash),
                b';' if rules.refuse_matrix_parameters => return Err(Unreadable::MatrixParameter),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
                    if rules.refuse_encoded_unreserved =>
                {
                    return Err(Unreadable::EncodedUnreserved);
                }
                0x80.. => high = true,
                _ => {}
            }
            v
        } else {
            if b == b'\\' {
                return Err(Unreadable::Backslash);
            }
            if b == b';' && rules.refuse_matrix_parameters {
                return Err(Unreadable::MatrixParameter);
            }
            i += 1;
            b
        };
        if byte < 0x20 || byte == 0x7f {
            return Err(Unreadable::Control);
        }
        dots_only &= byte == b'.';
        decoded_len += 1;
    }
    if dots_only && (decoded_len == 1 || decoded_len == 2) {
        return Err(Unreadable::DotSegment);
    }
    if high && percent_encoding::percent_decode(segment).decode_utf8().is_err() {
        return Err(Unreadable::NotUtf8);
    }
    Ok(())
}

/// A router's own reading (already decoded by it): it must still be absolute, and
/// hold no dot segment, backslash or control character.
fn check_reading(reading: &str) -> Result<(), Unreadable> {
    if !reading.starts_with('/') {
        return Err(Unreadable::NotAbsolute);
    }
    if reading.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(Unreadable::Control);
    }
    if reading.contains('\\') {
        return Err(Unreadable::Backslash);
    }
    if reading[1..].split('/').any(|s| s == "." || s == "..") {
        return Err(Unreadable::DotSegment);
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(path: &str) -> Result<(), Unreadable> {
        check(path, None, PathRules::default())
    }

    #[test]
    fn ordinary_paths_pass() {
        for path in [
            "/",
            "/commerce/customers",
            "/commerce//customers",
            "/commerce/customers/",
            "/v1/catalog/prices;v=2",
            "/%63ommerce/customers",
            "/COMMERCE",
            "/a%20b/%E2%9C%93",
            "/a.b/...",
            "/.well-known/openid-configuration",
            "/a%2Bb/%25",
            "/x.",
            "/..x",
        ] {
            assert_eq!(received(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn malformed_escapes_are_refused() {
        for path in ["/%zz", "/commerce/%", "/commerce/%4", "/%4g/x", "/a%%41", "/%G0"] {
            assert_eq!(received(path), Err(Unreadable::MalformedEscape), "{path}");
        }
    }

    #[test]
    fn encoded_separators_and_backslashes_are_refused() {
        for path in ["/billing%2Fx", "/billing%2fx", "/x%2F..%2F.."] {
            assert_eq!(received(path), Err(Unreadable::EncodedSlash), "{path}");
        }
        for path in ["/billing\\x", "/billing%5Cx", "/billing%5cx", "\\commerce"] {
            assert!(matches!(received(path), Err(Unreadable::Backslash | Unreadable::NotAbsolute)), "{path}");
        }
    }

    #[test]
    fn an_encoded_slash_can_be_allowed_but_not_an_encoded_backslash() {
        let rules = PathRules::default().allow_encoded_slash(true);
        assert_eq!(check("/projects/group%2Fname", None, rules), Ok(()));
        assert_eq!(check("/projects/group%5Cname", None, rules), Err(Unreadable::Backslash));
        // Still no dot segment hiding behind an allowed slash's neighbours.
        assert_eq!(check("/a/%2e%2e/b", None, rules), Err(Unreadable::DotSegment));
    }

    #[test]
    fn dot_segments_are_refused_encoded_or_not() {
        for path in [
            "/health/../commerce",
            "/health/..",
            "/./commerce",
            "/commerce/.",
            "/%2e%2e/commerce",
            "/%2E./commerce",
            "/.%2e/commerce",
            "/%2e/commerce",
            "/..",
        ] {
            assert_eq!(received(path), Err(Unreadable::DotSegment), "{path}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        for path in ["/commerce%00", "/a%0Ab", "/a%0d", "/a%7F", "/a%1f"] {
            assert_eq!(received(path), Err(Unreadable::Control), "{path}");
        }
    }

    #[test]
    fn escapes_that_are_not_utf8_are_refused() {
        for path in ["/%ff", "/a%C3", "/%C3%28", "/%ED%A0%80"] {
            assert_eq!(received(path), Err(Unreadable::NotUtf8), "{path}");
        }
        assert_eq!(received("/%C3%A9t%C3%A9"), Ok(()));
    }

    #[test]
    fn a_path_not_starting_with_a_slash_is_refused() {
        for path in ["", "*", "commerce", "example.com:443"] {
            assert_eq!(received(path), Err(Unreadable::NotAbsolute), "{path:?}");
        }
    }

    #[test]
    fn the_strict_rules_also_refuse_matrix_parameters_and_empty_segments() {
        let strict = PathRules::strict();
        for path in
            ["/commerce;x=1/customers", "/security;/alerts", "/commerce/customers;jsessionid=1", "/a%3Bb"]
        {
            assert_eq!(check(path, None, strict), Err(Unreadable::MatrixParameter), "{path}");
            assert_eq!(received(path), Ok(()), "{path} under the default rules");
        }
        for path in ["//commerce/x", "/commerce//x", "/commerce///"] {
            assert_eq!(check(path, None, strict), Err(Unreadable::EmptySegment), "{path}");
            assert_eq!(received(path), Ok(()), "{path} under the default rules");
        }
        for path in ["/%63ommerce", "/commerce/%41lice", "/a%2Db", "/a%5fb", "/%7E", "/%30"] {
            assert_eq!(check(path, None, strict), Err(Unreadable::EncodedUnreserved), "{path}");
            assert_eq!(received(path), Ok(()), "{path} under the default rules");
        }
        assert_eq!(check("/a%2eb", None, strict), Err(Unreadable::EncodedUnreserved));
        // Escapes of reserved and non-ASCII characters stay.
        for path in ["/", "/commerce/", "/commerce/customers", "/a%20b", "/a%3Fb", "/caf%C3%A9", "/a%25b"] {
            assert_eq!(check(path, None, strict), Ok(()), "{path}");
        }
    }

    #[test]
    fn a_routers_reading_is_checked_too() {
        let rules = PathRules::default();
        assert_eq!(check("/commerce", Some("/commerce"), rules), Ok(()));
        assert_eq!(check("/x", Some("/health/../commerce"), rules), Err(Unreadable::DotSegment));
        assert_eq!(check("/x", Some("commerce"), rules), Err(Unreadable::NotAbsolute));
        assert_eq!(check("/x", Some("/a\nb"), rules), Err(Unreadable::Control));
        assert_eq!(check("/x", Some("/a\\b"), rules), Err(Unreadable::Backslash));
        // A reading may hold what the router left encoded, or decoded text.
        assert_eq!(check("/a%2Bb", Some("/a%2Bb"), rules), Ok(()));
        assert_eq!(check("/caf%C3%A9", Some("/café"), rules), Ok(()));
    }

    #[test]
    fn every_description_names_the_problem_without_echoing_the_path() {
        for u in [
            Unreadable::NotAbsolute,
            Unreadable::MalformedEscape,
            Unreadable::EncodedSlash,
            Unreadable::Backslash,
            Unreadable::DotSegment,
            Unreadable::Control,
            Unreadable::NotUtf8,
            Unreadable::MatrixParameter,
            Unreadable::EmptySegment,
        ] {
            let r = u.refusal();
            assert_eq!(r.code, RejectionCode::InvalidRequest);
            assert!(r.detail.starts_with("the request path "), "{}", r.detail);
        }
    }
}
