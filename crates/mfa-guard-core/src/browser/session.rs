//! The session of a signed-in browser: the facts of its ID token that policy needs
//! (never a token), encoded and sealed into its cookie.

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
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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

    /// The candidate encoding: a version byte, then postcard.
    pub(crate) fn encode_postcard(&self) -> Vec<u8> {
        postcard::to_extend(self, vec![2]).unwrap_or_default()
    }

    /// The session of a candidate encoding, if it is one, whole.
    pub(crate) fn decode_postcard(bytes: &[u8]) -> Option<Self> {
        let (&version, rest) = bytes.split_first()?;
        if version != 2 {
            return None;
        }
        let (session, rest) = postcard::take_from_bytes(rest).ok()?;
        rest.is_empty().then_some(session)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
