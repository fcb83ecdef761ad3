//! The path differential: the router and the policy each read a request's path, and
//! they must never disagree in the attacker's favour.
//!
//! A seeded generator mutates every protected prefix of the Partner Center preset the
//! ways routers and proxies read differently — a percent-encoded character (upper or
//! lower hex), malformed and truncated escapes, encoded and raw `/` `\` `.` `..`,
//! doubled slashes, `;` parameters, trailing slashes, case changes, `%00`, a public
//! prefix to climb out of, a `#`, trailing dots and spaces, a format suffix, Unicode
//! look-alikes of a letter (`ſ`, `ı`, the Kelvin sign, fullwidth forms, raw or
//! escaped), and any ASCII byte at all (raw where a request line can carry it,
//! escaped where not) — and sends every path to a server three times:
//!
//! - with an Admin agent's token **with** MFA: it passes every rule, so where it is
//!   admitted its answer names the handler the router reached (each handler says
//!   which area it is) — the router's reading, seen from outside;
//! - with the same user's token **without** MFA, and with an **app-only** token: each
//!   may reach a handler only if that handler's own rule admits it.
//!
//! A `200` from a handler whose rule refuses the caller is a request that reached a
//! protected handler under a weaker rule: the bug this module exists to catch. No
//! answer may be a `5xx`. The seed is printed and can be replayed with
//! `MFA_PATHS_SEED`; `MFA_PATHS_COUNT` sets how many paths (at least 2,000 count as
//! a run).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cases::Target;
use crate::http1::{Connection, RawResponse};

/// Paths per run unless `MFA_PATHS_COUNT` says otherwise.
pub const DEFAULT_COUNT: usize = 2_000;

/// A small, fast, seedable generator (SplitMix64); the run must be replayable from
/// its seed, nothing more.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

/// The seed of this run: `MFA_PATHS_SEED`, else one from the clock (printed by the
/// caller so a failure can be replayed).
pub fn seed_from_env() -> u64 {
    match std::env::var("MFA_PATHS_SEED") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("MFA_PATHS_SEED={s:?} is not a number")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    }
}

/// Paths per run: `MFA_PATHS_COUNT`, else [`DEFAULT_COUNT`].
pub fn count_from_env() -> usize {
    match std::env::var("MFA_PATHS_COUNT") {
        Ok(s) => s.trim().parse().unwrap_or_else(|_| panic!("MFA_PATHS_COUNT={s:?} is not a number")),
        Err(_) => DEFAULT_COUNT,
    }
}

/// The protected prefixes of the Partner Center preset: every rule that needs a
/// token, from the preset itself, so a new protected area is mutated too.
pub fn protected_prefixes() -> Vec<String> {
    let mut out: Vec<String> = mfa_guard_core::Policy::partner_center()
        .rules()
        .iter()
        .filter(|r| r.requirement().access() != mfa_guard_core::Access::Public)
        .map(|r| r.pattern().trim_end_matches("/*").to_owned())
        .collect();
    out.sort();
    out
}

/// Ways a path is mutated; every kind is used by a run of 2,000 paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutation {
    /// One character percent-encoded, upper- or lower-case hex.
    Encode,
    /// A malformed or truncated escape (`%zz`, `%4`, `%` at the end).
    Malformed,
    /// A raw or encoded separator: `/`, `\`, `%2F`, `%2f`, `%5C`, `%5c`.
    Separator,
    /// A dot segment, raw or encoded, or a detour through one (`/x/..`).
    Dots,
    /// A doubled (or tripled) slash.
    DoubleSlash,
    /// A `;` parameter after a segment.
    Semicolon,
    /// A trailing slash added or removed.
    TrailingSlash,
    /// Letters of a segment upper-cased.
    Case,
    /// `%00` somewhere.
    Nul,
    /// A public or unmatched prefix to climb out of (`/health/..`, `/overview/%2e%2e`).
    Climb,
    /// A `#`, raw or escaped, where a reader may cut the path.
    Fragment,
    /// Trailing dots or spaces after a segment (`commerce.`, `commerce%20`).
    TrailingDot,
    /// A format suffix after a segment (`commerce.json`).
    Suffix,
    /// A letter (or `/`, `.`) replaced by a Unicode look-alike, raw or escaped.
    Unicode,
    /// Any ASCII byte: raw when a request line can carry it, escaped otherwise.
    AnyByte,
}

const ALL: [Mutation; 15] = [
    Mutation::Encode,
    Mutation::Malformed,
    Mutation::Separator,
    Mutation::Dots,
    Mutation::DoubleSlash,
    Mutation::Semicolon,
    Mutation::TrailingSlash,
    Mutation::Case,
    Mutation::Nul,
    Mutation::Climb,
    Mutation::Fragment,
    Mutation::TrailingDot,
    Mutation::Suffix,
    Mutation::Unicode,
    Mutation::AnyByte,
];

/// A generated path and the mutations that made it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The request target (visible ASCII or raw UTF-8, sent as is).
    pub path: String,
    /// What was done to the base path.
    pub mutations: Vec<Mutation>,
}

/// `n` paths from `seed`, each a protected prefix (with a tail) mutated one to three
/// times. The first paths are the bases themselves, unmutated, then each ASCII byte
/// after a protected prefix.
pub fn generate(seed: u64, n: usize) -> Vec<Generated> {
    let mut rng = Rng::new(seed);
    let prefixes = protected_prefixes();
    let tails = ["", "/", "/customers", "/x/y", "/42", "/a.b", "/keys"];
    let mut out = Vec::with_capacity(n);
    for p in &prefixes {
        if out.len() < n {
            out.push(Generated { path: format!("{p}/x"), mutations: Vec::new() });
        }
    }
    // Every ASCII byte once, right after a protected prefix, where a reader that
    // cuts or drops it would land on the protected handler.
    for b in 0u8..0x80 {
        if out.len() < n {
            let p = &prefixes[usize::from(b) % prefixes.len()];
            out.push(Generated {
                path: format!("{p}{}/x", byte_text(b)),
                mutations: vec![Mutation::AnyByte],
            });
        }
    }
    while out.len() < n {
        let mut path = format!("{}{}", rng.pick(&prefixes), rng.pick(&tails));
        let mut mutations = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let m = *rng.pick(&ALL);
            mutate(&mut rng, &mut path, m);
            mutations.push(m);
        }
        out.push(Generated { path, mutations });
    }
    out
}

/// Byte offsets where a segment starts (just after a `/`).
fn segment_starts(path: &str) -> Vec<usize> {
    path.match_indices('/').map(|(i, _)| i + 1).collect()
}

/// Whether byte `i` of `path` is one of the two hex digits of a `%XX` escape.
fn in_escape(path: &str, i: usize) -> bool {
    let bytes = path.as_bytes();
    (i >= 1 && bytes[i - 1] == b'%') || (i >= 2 && bytes[i - 2] == b'%')
}

/// A random char boundary of `path` (never inside a `%XX` escape).
fn boundary(rng: &mut Rng, path: &str) -> usize {
    let mut candidates: Vec<usize> =
        (1..=path.len()).filter(|&i| path.is_char_boundary(i) && !in_escape(path, i)).collect();
    if candidates.is_empty() {
        candidates.push(path.len());
    }
    *rng.pick(&candidates)
}

/// An ASCII byte as it goes into a request target: raw when a request line can
/// carry it; a space or control byte would end or break the line, so escaped.
fn byte_text(b: u8) -> String {
    if b.is_ascii_graphic() { (b as char).to_string() } else { format!("%{b:02X}") }
}

/// The end of a random segment: before a `/` that follows it, or the path's end.
fn segment_end(rng: &mut Rng, path: &str) -> usize {
    let ends: Vec<usize> =
        path.match_indices('/').map(|(i, _)| i).filter(|&i| i > 0).chain([path.len()]).collect();
    *rng.pick(&ends)
}

fn mutate(rng: &mut Rng, path: &mut String, m: Mutation) {
    match m {
        Mutation::Encode => {
            let plain: Vec<usize> = path
                .bytes()
                .enumerate()
                .filter(|&(i, b)| b != b'%' && b.is_ascii() && !in_escape(path, i))
                .map(|(i, _)| i)
                .collect();
            if plain.is_empty() {
                return;
            }
            let i = *rng.pick(&plain);
            let b = path.as_bytes()[i];
            let encoded = if rng.one_in(2) { format!("%{b:02X}") } else { format!("%{b:02x}") };
            path.replace_range(i..=i, &encoded);
        }
        Mutation::Malformed => {
            let bad = *rng.pick(&["%", "%z", "%zz", "%4", "%g0", "%%", "%2", "%0g"]);
            if rng.one_in(3) {
                path.push_str(bad);
            } else {
                let at = boundary(rng, path);
                path.insert_str(at, bad);
            }
        }
        Mutation::Separator => {
            let sep = *rng.pick(&["/", "\\", "%2F", "%2f", "%5C", "%5c", "\\\\", "%2F%2F"]);
            let at = boundary(rng, path);
            path.insert_str(at, sep);
        }
        Mutation::Dots => {
            let dots = *rng.pick(&[
                "/.",
                "/..",
                "/%2e",
                "/%2E",
                "/%2e%2e",
                "/%2E%2e",
                "/.%2e",
                "/%2e.",
                "/x/..",
                "/x/%2e%2e",
                "/./",
                "/../",
            ]);
            let starts = segment_starts(path);
            let at = starts.get(rng.below(starts.len().max(1))).map_or(path.len(), |s| s - 1);
            path.insert_str(at, dots);
        }
        Mutation::DoubleSlash => {
            let slashes: Vec<usize> = path.match_indices('/').map(|(i, _)| i).collect();
            if let Some(&i) = slashes.get(rng.below(slashes.len().max(1))) {
                path.insert_str(i, if rng.one_in(4) { "//" } else { "/" });
            }
        }
        Mutation::Semicolon => {
            let param = *rng.pick(&[";", ";x=1", ";jsessionid=abc", ";/", ";%2F"]);
            let starts = segment_starts(path);
            // After a segment: before the next slash, or at the end.
            let ends: Vec<usize> =
                starts.iter().skip(1).map(|s| s - 1).chain(std::iter::once(path.len())).collect();
            let at = *rng.pick(&ends);
            path.insert_str(at, param);
        }
        Mutation::TrailingSlash => {
            if path.ends_with('/') && path.len() > 1 {
                path.pop();
            } else {
                path.push('/');
            }
        }
        Mutation::Case => {
            let starts = segment_starts(path);
            if starts.is_empty() {
                return;
            }
            let start = *rng.pick(&starts);
            let end = path[start..].find('/').map_or(path.len(), |e| start + e);
            let seg: String = path[start..end]
                .chars()
                .map(|c| if rng.one_in(2) { c.to_ascii_uppercase() } else { c })
                .collect();
            path.replace_range(start..end, &seg);
        }
        Mutation::Nul => {
            let at = if rng.one_in(2) { path.len() } else { boundary(rng, path) };
            path.insert_str(at, "%00");
        }
        Mutation::Fragment => {
            let hash = *rng.pick(&["#", "#/", "%23", "%23/"]);
            let at = segment_end(rng, path);
            path.insert_str(at, hash);
        }
        Mutation::TrailingDot => {
            let tail = *rng.pick(&[".", "..", "...", "%20", ".%20", "%20.", "%2E"]);
            let at = segment_end(rng, path);
            path.insert_str(at, tail);
        }
        Mutation::Suffix => {
            let suffix = *rng.pick(&[".json", ".xml", ".html", ".JSON", ".tar.gz"]);
            let at = segment_end(rng, path);
            path.insert_str(at, suffix);
        }
        Mutation::Unicode => {
            // Look-alikes that some reader folds into the ASCII character: Java's
            // equalsIgnoreCase (ſ, ı, Kelvin), NFKC (fullwidth forms).
            let letters: Vec<(usize, char)> = path
                .char_indices()
                .filter(|&(i, c)| {
                    (c.is_ascii_alphabetic() || c == '/' || c == '.') && !in_escape(path, i) && i > 0
                })
                .collect();
            if letters.is_empty() {
                return;
            }
            let (i, c) = *rng.pick(&letters);
            let look_alike = match c {
                's' if rng.one_in(2) => '\u{17F}',
                'i' if rng.one_in(2) => '\u{131}',
                'k' => '\u{212A}',
                // Fullwidth forms: U+FF01..U+FF5E mirror ASCII 0x21..0x7E.
                c => char::from_u32(0xFF01 + (c as u32 - 0x21)).unwrap_or(c),
            };
            let text = if rng.one_in(2) {
                look_alike.to_string()
            } else {
                let mut buf = [0u8; 4];
                look_alike.encode_utf8(&mut buf).bytes().map(|b| format!("%{b:02X}")).collect()
            };
            path.replace_range(i..i + c.len_utf8(), &text);
        }
        Mutation::AnyByte => {
            let text = byte_text(rng.below(0x80) as u8);
            let at = boundary(rng, path);
            path.insert_str(at, &text);
        }
        Mutation::Climb => {
            let climb = *rng.pick(&[
                "/health/..",
                "/health/%2e%2e",
                "/health/%2E%2E",
                "/overview/..",
                "/overview/./..",
                "/health%2F..",
                "/nothing/here/../..",
                "/health/x/../..",
            ]);
            path.insert_str(0, climb);
        }
    }
}

/// Who sends a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Caller {
    /// An Admin agent with MFA: passes every rule of the preset, so its `200`s show
    /// where the router sends a path.
    AdminMfa,
    /// The same user without MFA.
    UserNoMfa,
    /// An app-only token.
    App,
}

impl Caller {
    /// All three.
    pub const ALL: [Caller; 3] = [Caller::AdminMfa, Caller::UserNoMfa, Caller::App];

    /// Whether the rule of the handler of `area` admits this caller. The areas and
    /// their rules are those of the Partner Center preset's table.
    pub fn admitted_by(self, area: &str) -> bool {
        matches!(
            (self, area),
            (_, "health" | "overview" | "unmatched") | (Caller::AdminMfa, _) | (Caller::App, "catalog-api")
        )
    }
}

/// One server's answers, summed up.
#[derive(Debug, Default)]
pub struct Report {
    /// Requests that broke the rule, each with its path, caller and answer.
    pub failures: Vec<String>,
    /// Answers counted by caller and outcome (`200 <area>`, `400 invalid_request`, …).
    pub outcomes: BTreeMap<(Caller, String), usize>,
    /// Mutated paths the router sent to a protected handler (seen with the MFA
    /// token): the cases where a weaker rule would have been a bypass.
    pub mutated_into_protected: BTreeMap<String, usize>,
    /// Requests sent.
    pub requests: usize,
}

impl Report {
    /// A table of the outcomes, for the test's output.
    pub fn summary(&self, name: &str) -> String {
        let mut s = format!("{name}: {} requests\n", self.requests);
        for ((caller, outcome), n) in &self.outcomes {
            let _ = writeln!(s, "  {caller:?} {outcome}: {n}");
        }
        let _ =
            writeln!(s, "  mutated paths routed to protected handlers: {:?}", self.mutated_into_protected);
        s
    }
}

/// Sends every path with every caller's token to `target` and checks each answer.
pub async fn run(target: &Target, paths: &[Generated], tokens: &[(Caller, String)]) -> Report {
    let mut report = Report::default();
    let mut conn = Connection::new(target.addr);
    let headers: Vec<(Caller, Vec<Vec<u8>>)> =
        tokens.iter().map(|(c, t)| (*c, vec![format!("Authorization: Bearer {t}").into_bytes()])).collect();
    for generated in paths {
        for (caller, lines) in &headers {
            report.requests += 1;
            let res = conn.request("GET", &generated.path, lines).await;
            let outcome = judge(*caller, generated, res);
            match outcome {
                Ok((label, protected_area)) => {
                    if let Some(area) = protected_area
                        && !generated.mutations.is_empty()
                    {
                        *report.mutated_into_protected.entry(area).or_default() += 1;
                    }
                    *report.outcomes.entry((*caller, label)).or_default() += 1;
                }
                Err(why) => report.failures.push(format!(
                    "[{}] {:?} GET {} ({:?}): {why}",
                    target.name, caller, generated.path, generated.mutations
                )),
            }
        }
    }
    report
}

/// The outcome's label and, for an admitted request, the protected area reached;
/// `Err` when the answer breaks the rule.
fn judge(
    caller: Caller,
    generated: &Generated,
    res: std::io::Result<RawResponse>,
) -> Result<(String, Option<String>), String> {
    let res = match res {
        Ok(res) => res,
        // A server that closes without answering refused the request (hyper and
        // actix do so for some malformed targets); a 2xx it did not send.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(("closed".into(), None)),
        Err(e) => return Err(format!("no answer: {e}")),
    };
    if res.status >= 500 {
        return Err(format!("server error {:?}: {}", res.status_line, String::from_utf8_lossy(&res.body)));
    }
    if res.status == 200 {
        let body: serde_json::Value =
            serde_json::from_slice(&res.body).map_err(|e| format!("a 200 whose body is not JSON ({e})"))?;
        // The examples' `/health` answers `{"status":"ok"}` without an area (a path cut
        // at a `#` by the server's own URI parser can land there, under its rule).
        let area = match body["area"].as_str() {
            Some(area) => area.to_owned(),
            None if body == serde_json::json!({ "status": "ok" }) => "health".to_owned(),
            None => return Err(format!("a 200 that does not say its area: {body}")),
        };
        if !caller.admitted_by(&area) {
            return Err(format!(
                "reached the `{area}` handler under a weaker rule than its own (answer {:?}, {body})",
                res.status_line
            ));
        }
        let protected = !Caller::UserNoMfa.admitted_by(&area) || !Caller::App.admitted_by(&area);
        return Ok((format!("200 {area}"), protected.then_some(area)));
    }
    if !(400..500).contains(&res.status) {
        return Err(format!("unexpected answer {:?}", res.status_line));
    }
    let label = match res.code() {
        Some(code) => {
            if code == "invalid_request" && generated.mutations.is_empty() {
                return Err("an unmutated path was refused as invalid_request".into());
            }
            format!("{} {code}", res.status)
        }
        // The HTTP server's own refusal of a target it cannot parse (no problem body).
        None => format!("{} from the server", res.status),
    };
    Ok((label, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_the_same_paths() {
        let a: Vec<String> = generate(7, 300).into_iter().map(|g| g.path).collect();
        let b: Vec<String> = generate(7, 300).into_iter().map(|g| g.path).collect();
        assert_eq!(a, b);
        let c: Vec<String> = generate(8, 300).into_iter().map(|g| g.path).collect();
        assert_ne!(a, c);
    }

    #[test]
    fn a_run_of_2000_uses_every_mutation_on_every_protected_prefix() {
        let paths = generate(1, DEFAULT_COUNT);
        assert_eq!(paths.len(), DEFAULT_COUNT);
        for m in ALL {
            for prefix in protected_prefixes() {
                let seg = prefix.trim_start_matches('/').split('/').next().unwrap_or_default().to_owned();
                assert!(
                    paths
                        .iter()
                        .any(|g| g.mutations.contains(&m) && g.path.to_ascii_lowercase().contains(&seg)),
                    "{m:?} never applied to {prefix}"
                );
            }
        }
        for needle in [
            "%00",
            "%2F",
            "%2f",
            "%5C",
            "\\",
            "%2e",
            "..",
            "//",
            ";",
            "%zz",
            "#",
            "%23",
            "%20",
            ".json",
            "%EF%BC%8F",
            "\"",
            "<",
            "{",
            "|",
            "^",
            "`",
        ] {
            assert!(paths.iter().any(|g| g.path.contains(needle)), "no path holds {needle}");
        }
        // Each look-alike, raw or escaped.
        let decoded: Vec<String> = paths
            .iter()
            .map(|g| percent_encoding::percent_decode_str(&g.path).decode_utf8_lossy().into_owned())
            .collect();
        for c in ['\u{17F}', '\u{131}', '\u{212A}', '\u{FF0F}', '\u{FF43}'] {
            assert!(decoded.iter().any(|p| p.contains(c)), "no path holds {c}");
        }
        // Both hex cases of an encoded letter.
        assert!(paths.iter().any(|g| g.path.contains("%6D") || g.path.contains("%6F")));
        assert!(paths.iter().any(|g| g.path.contains("%6d") || g.path.contains("%6f")));
    }

    #[test]
    fn every_path_is_a_sendable_request_target() {
        for g in generate(3, DEFAULT_COUNT) {
            assert!(g.path.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80), "{:?}", g.path);
        }
    }

    #[test]
    fn the_callers_admissions_follow_the_preset_table() {
        for area in
            ["customers", "support-customer-requests", "billing", "security-workspace", "customers-api"]
        {
            assert!(Caller::AdminMfa.admitted_by(area));
            assert!(!Caller::UserNoMfa.admitted_by(area));
            assert!(!Caller::App.admitted_by(area));
        }
        assert!(Caller::App.admitted_by("catalog-api"));
        assert!(!Caller::UserNoMfa.admitted_by("catalog-api"));
        assert!(Caller::UserNoMfa.admitted_by("unmatched"));
    }
}
