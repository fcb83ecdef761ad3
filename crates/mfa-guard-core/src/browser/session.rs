//! The session of a signed-in browser: the facts of its ID token that policy needs
//! (never a token), encoded and sealed into its cookie.

use super::seal::SessionKeys;
use crate::claims::Claims;
use crate::policy::{CompiledPolicy, ResolvedRoles, Role};
use crate::revocation::{SESSION_ID_BYTES, SessionFacts, SessionId};
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
/// sealed.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Session {
    /// Our id of this session (a [`SessionId`]'s bytes): what a sign-out revokes.
    /// New at every sign-in and step-up, so a cookie planted before either is not
    /// the one carried after it (session fixation).
    pub(crate) sid: [u8; SESSION_ID_BYTES],
    /// The provider's id of the session the user signed in with (the ID token's
    /// `sid`, at most 128 bytes): what a back-channel logout names.
    pub(crate) provider_sid: Option<String>,
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

/// The version byte of the encoding: postcard, since version 1 (a hand-written
/// encoding) was measured no faster on the path that matters (open and decode, see
/// BENCHMARKS.md). A cookie of another version does not open: its browser signs in
/// again.
const ENCODING: u8 = 2;

fn fact(value: Option<&str>) -> Option<String> {
    value.filter(|v| v.len() <= MAX_FACT).map(str::to_owned)
}

fn facts(list: Option<&[String]>) -> Vec<String> {
    list.unwrap_or_default().iter().filter(|v| v.len() <= MAX_FACT).take(MAX_LIST).cloned().collect()
}

impl Session {
    /// The session `sid` of a verified ID token's claims, at `now`.
    pub(crate) fn of(claims: &Claims, policy: &CompiledPolicy, sid: SessionId, now: i64) -> Self {
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
            sid: *sid.as_bytes(),
            provider_sid: fact(claims.extra().get("sid").and_then(|v| v.as_str())),
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

    /// Our id of this session.
    pub(crate) fn id(&self) -> SessionId {
        SessionId::from_bytes(self.sid)
    }

    /// What the revocation lookup needs of this session, whose id is `sid`
    /// ([`id`](Self::id)).
    pub(crate) fn facts<'a>(&'a self, sid: &'a SessionId) -> SessionFacts<'a> {
        SessionFacts {
            sid,
            provider_sid: self.provider_sid.as_deref(),
            sub: self.sub.as_deref(),
            signed_in_at: self.created,
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

    /// The encoding: the version byte, then the session in postcard (serde's
    /// compact format: varint lengths, fields in declaration order).
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Writing into a Vec fails only when serialisation itself does, which a
        // struct of strings and integers never does; the empty result would not open.
        postcard::to_extend(self, Vec::from([ENCODING])).unwrap_or_default()
    }

    /// The session of an encoding, if it is one, whole (no trailing bytes).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        let (&version, rest) = bytes.split_first()?;
        if version != ENCODING {
            return None;
        }
        let (session, rest) = postcard::take_from_bytes(rest).ok()?;
        rest.is_empty().then_some(session)
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
            sid: [7; SESSION_ID_BYTES],
            provider_sid: Some("op-session".into()),
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
        other_version[0] = 1;
        assert_eq!(Session::decode(&other_version), None, "the hand-written encoding of version 1");
    }
}
