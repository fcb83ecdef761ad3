//! The two cookies of browser mode, as sealed JSON: the session (the facts policy
//! needs, never a token) and one short-lived flow cookie per sign-in in progress
//! (state, nonce, PKCE verifier, where to return), so parallel tabs do not overwrite
//! each other's sign-in and any replica can finish a sign-in another started.

use serde::{Deserialize, Serialize};

use super::seal::SessionKeys;
use crate::claims::Claims;
use crate::policy::{CompiledPolicy, ResolvedRoles, Role};
use crate::time::NumericDate;

/// Longest cookie value written; a session that would not fit is refused (see
/// [`Session::seal`]).
pub(crate) const MAX_COOKIE_BYTES: usize = 1024;
/// Longest single fact kept (an `upn`, an `amr` value...).
const MAX_FACT: usize = 128;
/// Most values kept of a list claim (`amr`, `acrs`).
const MAX_LIST: usize = 8;

/// What a signed-in browser carries: the facts of its ID token that policy reads,
/// and the session's clock. Encoded compactly (see [`Session::encode`]) before it is
/// sealed: it is decoded on every request of a signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Session {
    pub(crate) sub: Option<String>,
    pub(crate) oid: Option<String>,
    pub(crate) tid: Option<String>,
    pub(crate) upn: Option<String>,
    /// Names of the roles held under the role map at sign-in (only mapped roles:
    /// however many groups or roles the provider lists, these are bounded by the
    /// configuration).
    pub(crate) roles: Vec<String>,
    /// Roles a groups overage left unknown.
    pub(crate) unknown_roles: Vec<String>,
    pub(crate) amr: Vec<String>,
    pub(crate) acr: Option<String>,
    pub(crate) acrs: Vec<String>,
    pub(crate) auth_time: Option<i64>,
    /// When the session began (absolute expiry counts from here).
    pub(crate) created: i64,
    /// When the session was last written (idle expiry counts from here).
    pub(crate) seen: i64,
    /// When a step-up came back without MFA: within the step-up window the MFA page
    /// answers instead of sending the browser to the provider again.
    pub(crate) step_up_failed: Option<i64>,
}

/// The version byte of the encoding.
const ENCODING_V1: u8 = 1;
/// Marks an absent string or time.
const ABSENT_LEN: u8 = u8::MAX;
const ABSENT_TIME: i64 = i64::MIN;

/// Reads the encoding; every read is bounds-checked, any surprise is `None`.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn time(&mut self) -> Option<Option<i64>> {
        let t = i64::from_le_bytes(self.take(8)?.try_into().ok()?);
        Some((t != ABSENT_TIME).then_some(t))
    }
    fn text(&mut self) -> Option<Option<String>> {
        match self.byte()? {
            ABSENT_LEN => Some(None),
            n => Some(Some(std::str::from_utf8(self.take(usize::from(n))?).ok()?.to_owned())),
        }
    }
    fn list(&mut self) -> Option<Vec<String>> {
        let n = self.byte()?;
        if usize::from(n) > MAX_ROLE_NAMES {
            return None;
        }
        (0..n).map(|_| self.text()?).collect()
    }
}

/// Most role names a session holds (a role map holds at most 64 roles).
const MAX_ROLE_NAMES: usize = 64;

fn put_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text.filter(|t| t.len() < usize::from(ABSENT_LEN)) {
        Some(t) => {
            out.push(u8::try_from(t.len()).unwrap_or(0));
            out.extend_from_slice(t.as_bytes());
        }
        None => out.push(ABSENT_LEN),
    }
}

fn put_list(out: &mut Vec<u8>, list: &[String]) {
    let kept: Vec<&String> =
        list.iter().filter(|v| v.len() < usize::from(ABSENT_LEN)).take(MAX_ROLE_NAMES).collect();
    out.push(u8::try_from(kept.len()).unwrap_or(0));
    for v in kept {
        put_text(out, Some(v));
    }
}

fn fact(value: Option<&str>) -> Option<String> {
    value.filter(|v| v.len() <= MAX_FACT).map(str::to_owned)
}

fn facts(list: Option<&[String]>) -> Vec<String> {
    list.unwrap_or_default().iter().filter(|v| v.len() <= MAX_FACT).take(MAX_LIST).cloned().collect()
}

impl Session {
    /// The session of a verified ID token's claims, at `now`.
    pub(crate) fn of(claims: &Claims, policy: &CompiledPolicy, now: i64) -> Self {
        let resolved = policy.roles.resolve(claims);
        let names = |set: crate::policy::RoleSet| {
            policy
                .roles
                .roles()
                .enumerate()
                .filter(|(i, _)| set.contains(*i))
                .map(|(_, r)| r.name().to_owned())
                .collect()
        };
        Session {
            sub: fact(claims.sub()),
            oid: fact(claims.oid()),
            tid: fact(claims.tid()),
            upn: fact(claims.upn().or(claims.preferred_username()).or(claims.unique_name())),
            roles: names(resolved.held),
            unknown_roles: names(resolved.unknown),
            amr: facts(claims.amr()),
            acr: fact(claims.acr()),
            acrs: facts(claims.acrs()),
            auth_time: claims.auth_time().map(NumericDate::unix),
            created: now,
            seen: now,
            step_up_failed: None,
        }
    }

    /// The claims policy reads, as a verified token would carry them (the session's
    /// facts moved, not copied: this runs on every request of a signed-in browser).
    pub(crate) fn into_claims(self, absolute_end: i64) -> Claims {
        Claims {
            sub: self.sub,
            oid: self.oid,
            tid: self.tid,
            upn: self.upn,
            amr: Some(self.amr),
            acr: self.acr,
            acrs: (!self.acrs.is_empty()).then_some(self.acrs),
            auth_time: self.auth_time.and_then(NumericDate::from_unix),
            exp: NumericDate::from_unix(absolute_end),
            idtyp: Some("user".to_owned()),
            ..Claims::default()
        }
    }

    /// The roles of the session under `policy`'s role map (names it no longer
    /// defines are dropped).
    pub(crate) fn resolved_roles(&self, policy: &CompiledPolicy) -> ResolvedRoles {
        let mut resolved = ResolvedRoles::default();
        for (names, set) in [(&self.roles, &mut resolved.held), (&self.unknown_roles, &mut resolved.unknown)]
        {
            for name in names {
                if let Some(i) = policy.roles.index_of(&Role::from_name(name)) {
                    set.insert(i);
                }
            }
        }
        resolved
    }

    /// The encoding: a version byte, four times (little-endian `i64`, `i64::MIN`
    /// for none), five strings and four lists of strings (a length byte, `0xFF` for
    /// none; a count byte). Strings are at most 128 bytes when written.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.push(ENCODING_V1);
        for t in [Some(self.created), Some(self.seen), self.auth_time, self.step_up_failed] {
            out.extend_from_slice(&t.unwrap_or(ABSENT_TIME).to_le_bytes());
        }
        for t in [&self.sub, &self.oid, &self.tid, &self.upn, &self.acr] {
            put_text(&mut out, t.as_deref());
        }
        for l in [&self.roles, &self.unknown_roles, &self.amr, &self.acrs] {
            put_list(&mut out, l);
        }
        out
    }

    /// The session of an encoding, if it is one, whole.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        if r.byte()? != ENCODING_V1 {
            return None;
        }
        let (created, seen, auth_time, step_up_failed) = (r.time()??, r.time()??, r.time()?, r.time()?);
        let (sub, oid, tid, upn, acr) = (r.text()?, r.text()?, r.text()?, r.text()?, r.text()?);
        let (roles, unknown_roles, amr, acrs) = (r.list()?, r.list()?, r.list()?, r.list()?);
        r.0.is_empty().then_some(Session {
            sub,
            oid,
            tid,
            upn,
            roles,
            unknown_roles,
            amr,
            acr,
            acrs,
            auth_time,
            created,
            seen,
            step_up_failed,
        })
    }

    /// The session without the MFA evidence it was given: every `amr` value
    /// `policy` accepts as MFA, and the `acrs` and `acr` it may accept (for MFA
    /// that does not count, see [`Flow::counts_mfa`]).
    pub(crate) fn forget_mfa(&mut self, policy: &CompiledPolicy) {
        // Every level's `amr` values, not only the base level's.
        let accepted = policy.levels.accepted_amr();
        self.amr.retain(|v| !accepted.iter().any(|a| ***a == **v));
        self.acrs.clear();
        self.acr = None;
    }

    /// The sealed cookie value; `None` when even without the user name it would
    /// exceed [`MAX_COOKIE_BYTES`] (a role map of very many long role names).
    pub(crate) fn seal(&self, keys: &SessionKeys, name: &str) -> Option<String> {
        let sealed = keys.seal(name, &self.encode())?;
        if sealed.len() <= MAX_COOKIE_BYTES {
            return Some(sealed);
        }
        let slim = Session { upn: None, ..self.clone() };
        keys.seal(name, &slim.encode()).filter(|s| s.len() <= MAX_COOKIE_BYTES)
    }

    /// The session in a cookie value, if it opens and decodes.
    pub(crate) fn open(keys: &SessionKeys, name: &str, value: &str) -> Option<Self> {
        Self::decode(&keys.open(name, value)?)
    }
}

/// A sign-in in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Flow {
    #[serde(rename = "s")]
    pub(crate) state: String,
    #[serde(rename = "n")]
    pub(crate) nonce: String,
    #[serde(rename = "v")]
    pub(crate) verifier: String,
    /// Where to go back to: a same-origin path (and query).
    #[serde(rename = "r")]
    pub(crate) return_to: String,
    /// A step-up: the ID token must show MFA (see [`counts_mfa`](Self::counts_mfa)),
    /// or the session remembers that the step-up failed.
    #[serde(rename = "u")]
    pub(crate) step_up: bool,
    /// When the browser was sent to the provider.
    #[serde(rename = "t")]
    pub(crate) started: i64,
    /// How many seconds before `started` the authentication may have taken place
    /// for its MFA to count ([`MFA_MAX_AGE`](super::MFA_MAX_AGE) for now; a
    /// flow cookie written before this field existed reads as 0, the strictest).
    #[serde(rename = "m", default)]
    pub(crate) max_age: u64,
    /// The assurance level a step-up asked for (its rank; the base level `mfa` is
    /// 0, which a flow cookie written before this field existed reads as).
    #[serde(rename = "l", default)]
    pub(crate) level: u8,
    /// The signed-in user a step-up must come back with (`sub` of the session that
    /// started it): a step-up never switches accounts.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
}

impl Flow {
    /// Whether the MFA of an ID token that says the user authenticated at
    /// `auth_time` counts for the session this flow writes: the one freshness rule
    /// of browser sign-in, for a sign-in and a step-up alike. The authentication
    /// must be no older than the flow's `max_age` before the flow began (less the
    /// verifier's `leeway`, for clock skew); an ID token without `auth_time` shows
    /// no fresh MFA.
    pub(crate) fn counts_mfa(&self, auth_time: Option<i64>, leeway: i64) -> bool {
        let max_age = i64::try_from(self.max_age).unwrap_or(i64::MAX);
        let earliest = self.started.saturating_sub(max_age).saturating_sub(leeway);
        auth_time.is_some_and(|t| t >= earliest)
    }

    /// The flow cookie's name suffix: the first characters of its state (the state
    /// comes back from the provider, so the callback finds its own cookie).
    pub(crate) fn id(state: &str) -> Option<&str> {
        state.get(..16).filter(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    }
}

/// The value of the cookie `name` in `Cookie` header values; the first one wins.
pub(crate) fn cookie<'a>(headers: &[&'a [u8]], name: &str) -> Option<&'a str> {
    headers.iter().filter_map(|h| std::str::from_utf8(h).ok()).flat_map(|h| h.split(';')).find_map(|pair| {
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// Every cookie whose name starts with `prefix`, as `(name, value)`.
pub(crate) fn cookies_named<'a>(
    headers: &'a [&'a [u8]],
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    headers.iter().filter_map(|h| std::str::from_utf8(h).ok()).flat_map(|h| h.split(';')).filter_map(
        move |pair| {
            let (n, v) = pair.split_once('=')?;
            let n = n.trim();
            n.starts_with(prefix).then(|| (n, v.trim().trim_matches('"')))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_in_any_header_and_anywhere_in_it() {
        let headers: [&[u8]; 2] = [b"a=1; b=2", b"c=3;d=\"4\""];
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), Some("3"));
        assert_eq!(cookie(&headers, "d"), Some("4"));
        assert_eq!(cookie(&headers, "e"), None);
        assert_eq!(cookie(&[b"\xff\xfe=1"], "x"), None);
    }

    #[test]
    fn sessions_encode_and_decode_whole_and_nothing_else_decodes() {
        let session = Session {
            sub: Some("s".into()),
            oid: Some("o".into()),
            tid: None,
            upn: Some("\u{e9}t\u{e9}@x".into()),
            roles: vec!["AdminAgent".into()],
            unknown_roles: vec![],
            amr: vec!["pwd".into(), "mfa".into()],
            acr: None,
            acrs: vec!["c1".into()],
            auth_time: Some(-5),
            created: 10,
            seen: 20,
            step_up_failed: None,
        };
        let bytes = session.encode();
        assert_eq!(Session::decode(&bytes), Some(session.clone()));
        for cut in 0..bytes.len() {
            assert_eq!(Session::decode(&bytes[..cut]), None, "truncated at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Session::decode(&longer), None, "trailing bytes");
        let mut other_version = bytes;
        other_version[0] = 2;
        assert_eq!(Session::decode(&other_version), None);
    }

    #[test]
    fn mfa_counts_only_from_an_authentication_no_older_than_the_flow_allows() {
        let flow = |max_age| Flow {
            state: String::new(),
            nonce: String::new(),
            verifier: String::new(),
            return_to: "/".into(),
            step_up: false,
            level: 0,
            subject: None,
            started: 10_000,
            max_age,
        };
        let leeway = 60;
        assert!(flow(0).counts_mfa(Some(10_005), leeway), "during the flow");
        assert!(flow(0).counts_mfa(Some(9_940), leeway), "within the leeway");
        assert!(!flow(0).counts_mfa(Some(9_939), leeway), "before the flow, beyond the leeway");
        assert!(!flow(0).counts_mfa(Some(10_000 - 6 * 3600), leeway), "six hours old");
        assert!(!flow(0).counts_mfa(None, leeway), "no auth_time");
        assert!(flow(3600).counts_mfa(Some(10_000 - 3600 - 60), leeway), "a flow allowing an hour");
        assert!(!flow(3600).counts_mfa(Some(10_000 - 3600 - 61), leeway));
        assert!(flow(u64::MAX).counts_mfa(Some(0), leeway), "no overflow");
        let at_the_dawn_of_time = Flow { started: i64::MIN, ..flow(u64::MAX) };
        assert!(at_the_dawn_of_time.counts_mfa(Some(i64::MIN), i64::MAX));
    }

    #[test]
    fn a_flow_cookie_written_before_max_age_existed_reads_as_the_strictest() {
        let old = r#"{"s":"state","n":"nonce","v":"verifier","r":"/","u":false,"t":5}"#;
        assert_eq!(serde_json::from_str::<Flow>(old).unwrap().max_age, 0);
    }

    #[test]
    fn flow_ids_come_from_the_state() {
        assert_eq!(Flow::id("abcdefghijklmnopqrstu"), Some("abcdefghijklmnop"));
        assert_eq!(Flow::id("short"), None);
        assert_eq!(Flow::id("abcdefgh;jklmnopqrstu"), None);
    }
}
