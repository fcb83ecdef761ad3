//! A sign-in in progress: one short-lived sealed flow cookie per sign-in (state,
//! nonce, PKCE verifier, where to return), so parallel tabs do not overwrite each
//! other's sign-in and any replica can finish a sign-in another started.

use serde::{Deserialize, Serialize};

use super::mode::BrowserMode;
use super::{MAX_FLOWS, cookies};
use crate::request::RequestInfo;

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

impl BrowserMode {
    /// `Set-Cookie` values clearing the flow cookies a new sign-in pushes beyond
    /// [`MAX_FLOWS`]: the oldest, and any that does not open.
    pub(crate) fn stale_flows(&self, req: &RequestInfo<'_>) -> Vec<String> {
        let mut flows: Vec<(i64, &str)> = cookies::named(req.cookies, self.flow_prefix)
            .map(|(name, value)| {
                let started = self
                    .settings
                    .keys
                    .open(name, value)
                    .and_then(|plain| serde_json::from_slice::<Flow>(&plain).ok())
                    .map_or(i64::MIN, |f| f.started);
                (started, name)
            })
            .collect();
        if flows.len() < MAX_FLOWS {
            return Vec::new();
        }
        flows.sort_by_key(|(started, _)| std::cmp::Reverse(*started));
        flows.into_iter().skip(MAX_FLOWS - 1).map(|(_, name)| self.set_cookie(name, "", 0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
