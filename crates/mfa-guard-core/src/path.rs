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
//! **A path is accepted in one form; everything else is refused.** What is accepted
//! is written as a grammar, here and nowhere else, because a list of refused tricks
//! always misses one (a raw `#` did: nginx passed `/commerce#/customers` on, the
//! guard found no rule for it, and the application behind cut it at the `#` and
//! served `/commerce`). The grammar, for the path as received:
//!
//! ```text
//! path     = "/" *( pchar / "/" )                       ; RFC 3986 path-absolute
//! pchar    = unreserved / sub-delims / ":" / "@" / escape
//! unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
//! sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
//! escape   = "%" HEXDIG HEXDIG                          ; decoding to UTF-8
//! ```
//!
//! Every other byte — `#`, space, `"`, `<`, `>`, `` ` ``, `{`, `}`, `|`, `^`, `\`,
//! a control byte, raw non-ASCII — is `400 invalid_request` before any rule is
//! chosen, with an `error_description` saying what is wrong; a client that means one
//! of them escapes it. On top of the grammar, escapes and segments that components
//! read two ways are refused ([`PathRules`] lists each, with its reason): `%2F` and
//! `%5C` (a separator or not), dot segments (resolved or not), control characters,
//! and — under [`PathRules::strict`], for a router the guard cannot see — escapes of
//! plain characters, `;` parameters, empty segments, escaped non-ASCII, and
//! *confusables*: a path that any modelled reader maps onto another rule's pattern.
//!
//! **The modelled readers.** What the applications behind a proxy do to a path
//! before they route it, each seen in real frameworks: decode escapes (actix-web,
//! Flask, Express), resolve dot segments and merge slashes (Go's `path.Clean`,
//! nginx), ignore ASCII letter case (Express, ASP.NET), cut at a decoded `#` or `?`
//! (code that decodes a path and parses it again as a URL), cut `;` parameters
//! (Tomcat, Jetty, Spring), drop trailing dots and spaces of a segment (IIS, Win32
//! names), drop a format suffix (`/commerce.json` routed as `/commerce` by Rails, by
//! Spring before 5.3), fold Unicode case or compatibility forms (Java's
//! `equalsIgnoreCase` reads `ſ` as `s` and `ı` as `i`; NFKC reads a fullwidth `ｃ`
//! as `c` and a fullwidth `／` as `/`). [`confusable_key`] applies all of them at
//! once: the most a reader could make of the path. A path whose key falls under a
//! rule's pattern that the path itself does not match could be routed to that
//! rule's handler by some application, so it is refused.

use std::borrow::Cow;
use std::fmt;

use crate::rejection::{Refusal, RejectionCode};

/// Which path forms are refused before a rule is chosen.
///
/// Every guard accepts only paths of one grammar: every byte an RFC 3986 `pchar`
/// (unreserved, sub-delims, `:`, `@`, or a `%XX` escape) or `/`; any other byte
/// (`#`, a space, `"`, `<`, `{`, `|`, a control byte, raw non-ASCII) is refused. The default then refuses,
/// in the path as received:
///
/// - a malformed percent-escape (`%` not followed by two hex digits: `%zz`, `%4`);
/// - an encoded separator inside a segment: `%2F` (`/`) and `%5C` (`\`);
/// - a backslash;
/// - a dot segment, `.` or `..`, also when percent-encoded (`%2e%2E`);
/// - a control character, encoded or not (`%00`, `%0A`, `%7F`);
/// - percent-escapes that decode to bytes that are not UTF-8;
/// - a path that does not start with `/` (`OPTIONS *`, a CONNECT authority).
///
/// [`PathRules::strict`] refuses more, for a guard that cannot know the router
/// behind it (forward-auth: the upstream application routes the request again, its
/// own way): a percent-escape of a character that needs none (`%63` for `c`: axum
/// matches it literally, actix-web and most proxies decode it first), a `;` inside a
/// segment (servlet containers drop `;jsessionid` parameters before routing), an
/// empty segment (`//`, which many servers and proxies merge), an escaped non-ASCII
/// character (readers fold them differently), and a *confusable* path: one that a
/// modelled reader — ASCII or Unicode case folding, trailing dots and spaces dropped,
/// a format suffix dropped, a cut at a decoded `#`, `?` or `;` — maps onto a rule's
/// pattern that the path itself does not match (`/COMMERCE/x`, `/commerce./x`,
/// `/commerce.json`, `/commerce%20/x`, `/commerce%23/x` are all refused where
/// `/commerce/*` is a rule). What is left selects the same rule for every router.
///
/// ```
/// use mfa_guard_core::{Guard, PathRules};
///
/// // An API whose identifiers hold slashes (`/projects/group%2Fname`):
/// let api = Guard::builder().path_rules(PathRules::default().allow_encoded_slash(true));
/// // A forward-auth deployment whose applications have non-ASCII paths:
/// let forward = Guard::builder().path_rules(PathRules::strict().refuse_non_ascii(false));
/// # let _ = (api, forward);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[must_use]
pub struct PathRules {
    allow_encoded_slash: bool,
    refuse_matrix_parameters: bool,
    refuse_empty_segments: bool,
    refuse_encoded_unreserved: bool,
    refuse_non_ascii: bool,
    refuse_confusables: bool,
}

impl PathRules {
    /// The default, and also escapes of plain characters, `;` parameters, empty
    /// segments, escaped non-ASCII and confusable paths refused: for a router the
    /// guard cannot see (`mfa-guard serve` uses it by default).
    pub fn strict() -> Self {
        Self {
            allow_encoded_slash: false,
            refuse_matrix_parameters: true,
            refuse_empty_segments: true,
            refuse_encoded_unreserved: true,
            refuse_non_ascii: true,
            refuse_confusables: true,
        }
    }

    /// Refuses a path that a modelled reader (ASCII or Unicode case, trailing dots
    /// and spaces, a format suffix, a cut at a decoded `#`, `?` or `;`) maps onto
    /// another rule's pattern: `/HEALTH` when `/health` is public and unmatched
    /// paths are not, `/commerce./x`, `/commerce.json` or `/%C5%BFecurity/x` (`ſ`)
    /// beside `/commerce/*` and `/security/*`. Such a path is sent with the route's
    /// own spelling by every client that means it.
    pub fn refuse_confusables(mut self, refuse: bool) -> Self {
        self.refuse_confusables = refuse;
        self
    }

    pub(crate) fn confusables_refused(&self) -> bool {
        self.refuse_confusables
    }

    /// Refuses a percent-escape of an unreserved character — a letter, a digit,
    /// `-`, `.`, `_` or `~` (`/%63ommerce`, `/commerce/%41lice`) — which no client
    /// needs to send and routers read two ways.
    pub fn refuse_encoded_unreserved(mut self, refuse: bool) -> Self {
        self.refuse_encoded_unreserved = refuse;
        self
    }

    /// Refuses a percent-escape of a non-ASCII character (`/caf%C3%A9`), which
    /// readers fold into ASCII differently (Unicode case, compatibility forms). Turn
    /// it off for applications whose paths hold non-ASCII text; confusable paths
    /// (a non-ASCII letter standing in for a route's own) stay refused while
    /// [`refuse_confusables`](Self::refuse_confusables) is on.
    pub fn refuse_non_ascii(mut self, refuse: bool) -> Self {
        self.refuse_non_ascii = refuse;
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
    #[cfg(test)]
    pub(crate) fn is_strict(&self) -> bool {
        self.refuse_matrix_parameters
            && self.refuse_empty_segments
            && self.refuse_encoded_unreserved
            && self.refuse_non_ascii
            && self.refuse_confusables
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
}

/// A path form refused before a rule is chosen, with the words a client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreadable {
    NotAbsolute,
    NotPathCharacter,
    MalformedEscape,
    EncodedSlash,
    Backslash,
    DotSegment,
    Control,
    NotUtf8,
    MatrixParameter,
    EmptySegment,
    EncodedUnreserved,
    NonAscii,
    Confusable,
}

impl Unreadable {
    fn describe(self) -> &'static str {
        match self {
            Unreadable::NotAbsolute => "the request path does not start with '/'",
            Unreadable::NotPathCharacter => {
                "the request path holds a character that a URI path cannot hold unescaped (such as '#', a space, a quote, '<', '>', '{', '|', '^', '`' or a non-ASCII byte), which servers cut or read differently; percent-encode it"
            }
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
            Unreadable::NonAscii => {
                "the request path percent-encodes a non-ASCII character, which servers fold into ASCII differently (Unicode case, compatibility forms)"
            }
            Unreadable::Confusable => {
                "the request path reads as a route's path once letter case, trailing dots or spaces, a format suffix or a parameter is ignored, as some servers do; send it with the route's own spelling"
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
/// of it. Runs on every request: one pass over the bytes, no allocation (a segment
/// with an escape of a byte >= 0x80 is read again, decoded, to check its UTF-8).
pub(crate) fn check(received: &str, routed: Option<&str>, rules: PathRules) -> Result<(), Unreadable> {
    check_received(received, rules)?;
    match routed {
        Some(reading) => check_reading(reading),
        None => Ok(()),
    }
}

/// What may stand unescaped in a path: RFC 3986's `pchar` (less `%`, which starts
/// an escape) and `/`.
const fn path_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
                    | b'/'
            );
        b += 1;
    }
    table
}

static PATH_BYTES: [bool; 256] = path_bytes();

/// The path as received: still percent-encoded, so every escape is read here. One
/// pass over the bytes, no `split`: a byte or an escape is checked as it comes, a
/// segment as a whole (dot segment, UTF-8, empty) where it ends, so the answer is the
/// first problem in path order.
fn check_received(path: &str, rules: PathRules) -> Result<(), Unreadable> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(Unreadable::NotAbsolute);
    }
    let mut segment = Segment::starting_at(1);
    let mut i = 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'/' => {
                // Only a segment that a `/` ends can be an empty one (`//`): an empty
                // last segment is a trailing slash, which routers tell apart.
                if segment.is_empty() && rules.refuse_empty_segments {
                    return Err(Unreadable::EmptySegment);
                }
                segment.end(&bytes[..i])?;
                segment = Segment::starting_at(i + 1);
                i += 1;
            }
            b'%' => {
                let byte = escape(bytes.get(i + 1..i + 3), rules)?;
                segment.high |= byte >= 0x80;
                segment.push(byte);
                i += 3;
            }
            _ => {
                segment.push(unescaped(b, rules)?);
                i += 1;
            }
        }
    }
    segment.end(bytes)
}

/// What the segment being read has shown so far.
struct Segment {
    /// Where its bytes start in the path.
    start: usize,
    /// Its length once decoded, and whether it decodes to dots only: enough to
    /// recognise `.`, `..`, `%2e`, `.%2E`, ... without building the decoded bytes.
    decoded_len: usize,
    dots_only: bool,
    /// Set when an escape decodes to a byte >= 0x80: the segment's decoded bytes must
    /// then be checked as UTF-8 (rare, so done in a second pass over the segment).
    high: bool,
}

impl Segment {
    fn starting_at(start: usize) -> Self {
        Segment { start, decoded_len: 0, dots_only: true, high: false }
    }

    fn is_empty(&self) -> bool {
        self.decoded_len == 0
    }

    /// One decoded byte of the segment, already checked on its own.
    fn push(&mut self, byte: u8) {
        self.dots_only &= byte == b'.';
        self.decoded_len += 1;
    }

    /// The checks of the whole segment, which ends where `read` (the path read so
    /// far) ends.
    fn end(&self, read: &[u8]) -> Result<(), Unreadable> {
        if self.dots_only && (self.decoded_len == 1 || self.decoded_len == 2) {
            return Err(Unreadable::DotSegment);
        }
        if self.high && percent_encoding::percent_decode(&read[self.start..]).decode_utf8().is_err() {
            return Err(Unreadable::NotUtf8);
        }
        Ok(())
    }
}

/// The byte a `%` escape stands for, given the two bytes after the `%` (`None` when
/// the path ends sooner), or why the escape is refused.
fn escape(digits: Option<&[u8]>, rules: PathRules) -> Result<u8, Unreadable> {
    let Some(&[hi, lo]) = digits else { return Err(Unreadable::MalformedEscape) };
    let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) else { return Err(Unreadable::MalformedEscape) };
    match hi << 4 | lo {
        b'/' if !rules.allow_encoded_slash => Err(Unreadable::EncodedSlash),
        b'\\' => Err(Unreadable::Backslash),
        b';' if rules.refuse_matrix_parameters => Err(Unreadable::MatrixParameter),
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
            if rules.refuse_encoded_unreserved =>
        {
            Err(Unreadable::EncodedUnreserved)
        }
        0x80.. if rules.refuse_non_ascii => Err(Unreadable::NonAscii),
        0..0x20 | 0x7f => Err(Unreadable::Control),
        byte => Ok(byte),
    }
}

/// A byte standing unescaped inside a segment (never `/` or `%`), or why it is
/// refused.
fn unescaped(b: u8, rules: PathRules) -> Result<u8, Unreadable> {
    if !PATH_BYTES[usize::from(b)] {
        // The grammar refuses them all; the answer names the likeliest mistake.
        return Err(match b {
            b'\\' => Unreadable::Backslash,
            0..0x20 | 0x7f => Unreadable::Control,
            _ => Unreadable::NotPathCharacter,
        });
    }
    if rules.refuse_matrix_parameters && b == b';' {
        return Err(Unreadable::MatrixParameter);
    }
    Ok(b)
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

/// The most any modelled reader could make of `path` (a path the grammar accepted,
/// or a route pattern's literal part): escapes decoded; cut at a decoded `#` or `?`;
/// each character folded to ASCII where a reader would (ASCII and Unicode case,
/// compatibility forms such as fullwidth letters, accents dropped) and lowercased;
/// `\` read as `/`; per segment, a `;` parameter cut, dot segments resolved, empty
/// segments merged, trailing dots and spaces and a format suffix (`.json`) dropped.
/// A trailing `/` is kept, as routers keep it.
///
/// Two paths with the same key may reach the same handler in some application;
/// route patterns are compared with it in `CompiledPolicy::confusable`. Paths of
/// lowercase letters, digits, `-`, `_` and `~` are their own key, without allocating.
pub(crate) fn confusable_key(path: &str) -> Cow<'_, str> {
    let plain =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'/' | b'-' | b'_' | b'~');
    if path.bytes().all(plain) && !path.contains("//") {
        return Cow::Borrowed(path);
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let cut = decoded.find(['#', '?']).map_or(&*decoded, |i| &decoded[..i]);
    let mut folded = String::with_capacity(cut.len());
    for c in cut.chars() {
        fold_char(c, &mut folded);
    }
    let mut key = String::with_capacity(folded.len() + 1);
    let mut kept: Vec<&str> = Vec::new();
    for segment in folded.split('/') {
        let segment = segment.split(';').next().unwrap_or_default();
        match segment {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => {
                let s = strip_suffixes(s);
                if !s.is_empty() {
                    kept.push(s);
                }
            }
        }
    }
    for s in &kept {
        key.push('/');
        key.push_str(s);
    }
    if key.is_empty() || folded.ends_with('/') {
        key.push('/');
    }
    Cow::Owned(key)
}

/// A segment without its trailing dots and spaces (IIS) and its format suffix
/// (Rails, Spring): `commerce.` `commerce ` `commerce.json` `commerce.tar.gz` all
/// read `commerce`. A segment that starts with a dot (`.well-known`) keeps it.
fn strip_suffixes(segment: &str) -> &str {
    let trimmed = segment.trim_end_matches(['.', ' ']);
    let stem = match trimmed.find('.') {
        Some(i) if i > 0 => &trimmed[..i],
        _ => trimmed,
    };
    stem.trim_end_matches(['.', ' '])
}

/// Appends what a lenient reader makes of `c`: ASCII lowercased (`\` as `/`); a
/// non-ASCII character as the ASCII its compatibility decomposition (NFKD: `ｃ` →
/// `c`, `ſ` → `s`, `K` (Kelvin) → `K`, `é` → `e`), its lowercase (`İ` → `i`) or its
/// uppercase (`ı` → `I`) begins with, lowercased; else itself.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(if c == '\\' { '/' } else { c.to_ascii_lowercase() });
        return;
    }
    const NFKD: icu_normalizer::DecomposingNormalizerBorrowed<'static> =
        icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd();
    let mut buf = [0u8; 4];
    let decomposed = NFKD.normalize(c.encode_utf8(&mut buf));
    let ascii_start = |s: &str| s.chars().next().is_some_and(|f| f.is_ascii());
    let mapped = if ascii_start(&decomposed) {
        Some(decomposed.into_owned())
    } else {
        [c.to_lowercase().collect::<String>(), c.to_uppercase().collect::<String>()]
            .into_iter()
            .find(|s| ascii_start(s))
    };
    match mapped {
        Some(m) => {
            for a in m.chars().filter(char::is_ascii) {
                out.push(if a == '\\' { '/' } else { a.to_ascii_lowercase() });
            }
        }
        None => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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
        // Escapes of reserved characters stay.
        for path in ["/", "/commerce/", "/commerce/customers", "/a%20b", "/a%3Fb", "/a%25b"] {
            assert_eq!(check(path, None, strict), Ok(()), "{path}");
        }
    }

    #[test]
    fn only_rfc_3986_path_characters_stand_unescaped_under_every_rule_set() {
        // Every ASCII byte: those of the grammar pass alone in a segment, the rest
        // are refused before any rule, by the default rules as by the strict ones.
        for rules in [PathRules::default(), PathRules::strict()] {
            for b in 0u8..0x80 {
                let path = format!("/commerce{}x", b as char);
                let grammar = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
                let got = check(&path, None, rules);
                if b == b'%' {
                    assert_eq!(got, Err(Unreadable::MalformedEscape), "{path:?}");
                } else if grammar {
                    let strict_refusal = rules.is_strict() && b == b';';
                    assert_eq!(got.is_ok(), !strict_refusal, "{path:?}: {got:?}");
                } else {
                    assert!(got.is_err(), "{path:?} was accepted under {rules:?}");
                }
            }
            for path in ["/commerce#/customers", "/v1/customers#", "/security#/alerts", "/a b", "/caf\u{e9}"]
            {
                assert!(check(path, None, rules).is_err(), "{path:?}");
            }
            assert_eq!(check("/commerce#/customers", None, rules), Err(Unreadable::NotPathCharacter));
            assert_eq!(check("/caf\u{e9}/x", None, rules), Err(Unreadable::NotPathCharacter));
            assert_eq!(check("/a\tb", None, rules), Err(Unreadable::Control));
        }
    }

    #[test]
    fn escaped_non_ascii_is_refused_by_the_strict_rules_unless_allowed() {
        let strict = PathRules::strict();
        for path in ["/caf%C3%A9", "/%C5%BFecurity/x", "/%EF%BD%83ommerce/customers"] {
            assert_eq!(check(path, None, strict), Err(Unreadable::NonAscii), "{path}");
            assert_eq!(check(path, None, strict.refuse_non_ascii(false)), Ok(()), "{path}");
            assert_eq!(received(path), Ok(()), "{path} under the default rules");
        }
    }

    #[test]
    fn the_confusable_key_applies_every_modelled_reader_at_once() {
        for (path, key) in [
            ("/commerce/customers", "/commerce/customers"),
            ("/commerce/", "/commerce/"),
            ("/", "/"),
            ("/COMMERCE/x", "/commerce/x"),
            ("/commerce./customers", "/commerce/customers"),
            ("/commerce%20/customers", "/commerce/customers"),
            ("/commerce.json", "/commerce"),
            ("/security.xml/x", "/security/x"),
            ("/commerce%23/customers", "/commerce"),
            ("/commerce%3Fx/customers", "/commerce"),
            ("/commerce;x=1/customers", "/commerce/customers"),
            ("/%C5%BFecurity/x", "/security/x"),
            ("/b%C4%B1lling/x", "/billing/x"),
            ("/%EF%BD%83ommerce/customers", "/commerce/customers"),
            ("/commerce%EF%BC%8Fcustomers", "/commerce/customers"),
            ("/health/%EF%BC%8E%EF%BC%8E/commerce/customers", "/commerce/customers"),
            ("/%E2%84%AAey", "/key"),
            ("/.well-known/openid-configuration", "/.well-known/openid-configuration"),
            ("/a//b", "/a/b"),
        ] {
            assert_eq!(confusable_key(path), key, "{path}");
        }
        assert!(matches!(confusable_key("/v1/catalog/x-1_~"), Cow::Borrowed(_)));
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

    /// The split-based reading of the path as received that the one-pass one replaced,
    /// kept as the model it must answer like.
    mod reference {
        use super::super::{PATH_BYTES, PathRules, Unreadable, hex};

        pub(super) fn check_received(path: &str, rules: PathRules) -> Result<(), Unreadable> {
            let bytes = path.as_bytes();
            if bytes.first() != Some(&b'/') {
                return Err(Unreadable::NotAbsolute);
            }
            let segments = path[1..].split('/');
            let count = path[1..].split('/').count();
            for (i, segment) in segments.enumerate() {
                if segment.is_empty() && rules.refuse_empty_segments && i + 1 < count {
                    return Err(Unreadable::EmptySegment);
                }
                check_segment(segment.as_bytes(), rules)?;
            }
            Ok(())
        }

        fn check_segment(segment: &[u8], rules: PathRules) -> Result<(), Unreadable> {
            let mut decoded_len = 0usize;
            let mut dots_only = true;
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
                        0x80.. if rules.refuse_non_ascii => return Err(Unreadable::NonAscii),
                        0x80.. => high = true,
                        _ => {}
                    }
                    v
                } else {
                    if !PATH_BYTES[usize::from(b)] {
                        return Err(match b {
                            b'\\' => Unreadable::Backslash,
                            0..0x20 | 0x7f => Unreadable::Control,
                            _ => Unreadable::NotPathCharacter,
                        });
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
    }

    /// Every rule set the switches make: the default, strict, and each toggle alone
    /// or with any of the others.
    /// Every combination of the switches the grammar check reads (the confusable
    /// switch is the guard's, after it).
    fn every_rule_set() -> Vec<PathRules> {
        (0u8..32)
            .map(|bits| {
                let on = |bit: u8| bits & (1 << bit) != 0;
                PathRules::default()
                    .allow_encoded_slash(on(0))
                    .refuse_matrix_parameters(on(1))
                    .refuse_empty_segments(on(2))
                    .refuse_encoded_unreserved(on(3))
                    .refuse_non_ascii(on(4))
            })
            .collect()
    }

    #[test]
    fn the_one_pass_check_answers_like_the_split_based_one_under_every_rule_set() {
        use std::cell::RefCell;

        use proptest::test_runner::{Config, TestCaseError, TestRng, TestRunner};

        let rule_sets = every_rule_set();
        let grammar_of = |rules: PathRules| rules.refuse_confusables(false);
        assert!(rule_sets.contains(&grammar_of(PathRules::default())));
        assert!(rule_sets.contains(&grammar_of(PathRules::strict())));

        // Every ASCII byte, and twice over what makes segments and escapes interesting:
        // separators and dots (several times over, for paths of several segments and
        // dot segments), escapes valid and not, escaped and raw non-ASCII. A path is a
        // list of indexes into them (cheap to generate and to shrink), mostly after a
        // leading `/`.
        let special: Vec<&str> =
            "/ / / / / / / / . . . .. % %2e %2E %2f %2F %5c %5C %3b %3B %c3%a9 %C3 %A9 %ff \
             %0 %00 %7f %g1 %41 %20 %25 ; \\ # é ſ ｃ ／ \u{10348}"
                .split_whitespace()
                .collect();
        let tokens: Vec<String> = (0u8..0x80)
            .map(|b| char::from(b).to_string())
            .chain(special.iter().chain(&special).map(|s| s.to_string()))
            .collect();
        let path =
            (0u8..10, proptest::collection::vec(0..tokens.len(), 0..=12)).prop_map(move |(head, picks)| {
                let body = picks.iter().map(|&i| tokens[i].as_str());
                let head = if head == 0 { "" } else { "/" };
                std::iter::once(head).chain(body).collect::<String>()
            });

        let config = Config { cases: 20_000, failure_persistence: None, ..Config::default() };
        let rng = TestRng::deterministic_rng(config.rng_algorithm);
        let seen = RefCell::new(Vec::new());
        let outcome = TestRunner::new_with_rng(config, rng).run(&path, |path| {
            for &rules in &rule_sets {
                let got = check_received(&path, rules);
                let want = reference::check_received(&path, rules);
                if got != want {
                    return Err(TestCaseError::fail(format!(
                        "{path:?} under {rules:?}: {got:?}, the model {want:?}"
                    )));
                }
                let mut seen = seen.borrow_mut();
                if !seen.contains(&got) {
                    seen.push(got);
                }
            }
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("{e}");
        }
        // The inputs reached every answer the grammar check gives (confusables are
        // judged later, against the rules' patterns).
        let seen = seen.into_inner();
        for answer in [
            Ok(()),
            Err(Unreadable::NotAbsolute),
            Err(Unreadable::NotPathCharacter),
            Err(Unreadable::MalformedEscape),
            Err(Unreadable::EncodedSlash),
            Err(Unreadable::Backslash),
            Err(Unreadable::DotSegment),
            Err(Unreadable::Control),
            Err(Unreadable::NotUtf8),
            Err(Unreadable::MatrixParameter),
            Err(Unreadable::EmptySegment),
            Err(Unreadable::EncodedUnreserved),
            Err(Unreadable::NonAscii),
        ] {
            assert!(seen.contains(&answer), "no generated path was answered {answer:?}");
        }
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
            Unreadable::EncodedUnreserved,
            Unreadable::NotPathCharacter,
            Unreadable::NonAscii,
            Unreadable::Confusable,
        ] {
            let r = u.refusal();
            assert_eq!(r.code, RejectionCode::InvalidRequest);
            assert!(r.detail.starts_with("the request path "), "{}", r.detail);
        }
    }
}
