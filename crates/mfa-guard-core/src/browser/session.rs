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
/// and the session's clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Session {
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    #[serde(rename = "o", default, skip_serializing_if = "Option::is_none")]
    pub(crate) oid: Option<String>,
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub(crate) tid: Option<String>,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub(crate) upn: Option<String>,
    /// Names of the roles held under the role map at sign-in (only mapped roles:
    /// however many groups or roles the provider lists, these are bounded by the
    /// configuration).
    #[serde(rename = "r", default)]
    pub(crate) roles: Vec<String>,
    /// Roles a groups overage left unknown.
    #[serde(rename = "q", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) unknown_roles: Vec<String>,
    #[serde(rename = "m", default)]
    pub(crate) amr: Vec<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr: Option<String>,
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) acrs: Vec<String>,
    #[serde(rename = "at", default, skip_serializing_if = "Option::is_none")]
    pub(crate) auth_time: Option<i64>,
    /// When the session began (absolute expiry counts from here).
    #[serde(rename = "c")]
    pub(crate) created: i64,
    /// When the session was last written (idle expiry counts from here).
    #[serde(rename = "l")]
    pub(crate) seen: i64,
    /// When a step-up came back without MFA: within the step-up window the MFA page
    /// answers instead of sending the browser to the provider again.
    #[serde(rename = "f", default, skip_serializing_if = "Option::is_none")]
    pub(crate) step_up_failed: Option<i64>,
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

    /// The claims policy reads, as a verified token would carry them.
    pub(crate) fn claims(&self, absolute_end: i64) -> Claims {
        Claims {
            sub: self.sub.clone(),
            oid: self.oid.clone(),
            tid: self.tid.clone(),
            upn: self.upn.clone(),
            amr: Some(self.amr.clone()),
            acr: self.acr.clone(),
            acrs: (!self.acrs.is_empty()).then(|| self.acrs.clone()),
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

    /// The sealed cookie value; `None` when even without the user name it would
    /// exceed [`MAX_COOKIE_BYTES`] (a role map of very many long role names).
    pub(crate) fn seal(&self, keys: &SessionKeys, name: &str) -> Option<String> {
        let sealed = keys.seal(name, &serde_json::to_vec(self).ok()?)?;
        if sealed.len() <= MAX_COOKIE_BYTES {
            return Some(sealed);
        }
        let slim = Session { upn: None, ..self.clone() };
        keys.seal(name, &serde_json::to_vec(&slim).ok()?).filter(|s| s.len() <= MAX_COOKIE_BYTES)
    }

    /// The session in a cookie value, if it opens and parses.
    pub(crate) fn open(keys: &SessionKeys, name: &str, value: &str) -> Option<Self> {
        serde_json::from_slice(&keys.open(name, value)?).ok()
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
    /// A step-up: the ID token must show MFA from an authentication after `started`.
    #[serde(rename = "u")]
    pub(crate) step_up: bool,
    #[serde(rename = "t")]
    pub(crate) started: i64,
}

impl Flow {
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
    fn flow_ids_come_from_the_state() {
        assert_eq!(Flow::id("abcdefghijklmnopqrstu"), Some("abcdefghijklmnop"));
        assert_eq!(Flow::id("short"), None);
        assert_eq!(Flow::id("abcdefgh;jklmnopqrstu"), None);
    }
}
