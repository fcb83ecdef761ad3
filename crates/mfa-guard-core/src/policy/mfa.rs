//! What counts as multi-factor authentication.
//!
//! By default exactly the `amr` value `mfa`, compared case-sensitively: `MFA`,
//! `"mfa "` or a Unicode look-alike are not `mfa`. A single-string `amr` is read as a
//! one-element list. Entra v2 access tokens carry no `amr`, so they never satisfy
//! this unless an auth context (`acrs`) or `acr` value is configured as evidence.

use std::fmt;
use std::sync::Arc;

use crate::claims::Claims;

/// What a token showed as proof of MFA.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MfaEvidence {
    /// An accepted `amr` value.
    Amr(Arc<str>),
    /// An accepted authentication context id in `acrs`.
    AuthContext(Arc<str>),
    /// An accepted `acr` value.
    Acr(Arc<str>),
}

impl fmt::Display for MfaEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MfaEvidence::Amr(v) => write!(f, "amr contains {v:?}"),
            MfaEvidence::AuthContext(v) => write!(f, "acrs contains {v:?}"),
            MfaEvidence::Acr(v) => write!(f, "acr is {v:?}"),
        }
    }
}

/// The rules for MFA evidence and freshness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    // Shared with the evidence of every verified token, which then costs no copy.
    amr: Vec<Arc<str>>,
    acrs: Vec<Arc<str>>,
    acr: Vec<Arc<str>>,
    max_age: Option<u64>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self { amr: vec![Arc::from("mfa")], acrs: Vec::new(), acr: Vec::new(), max_age: None }
    }
}

impl MfaPolicy {
    /// Exactly `amr` ∋ `mfa`, no freshness requirement.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the accepted `amr` values (e.g. `["mfa", "ngcmfa"]`).
    #[must_use]
    pub fn amr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Also accepts these authentication context ids in `acrs` (off by default).
    #[must_use]
    pub fn auth_contexts<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acrs = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Also accepts these `acr` values (off by default).
    #[must_use]
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Requires the user to have authenticated (`auth_time`) at most this long ago.
    #[must_use]
    pub fn max_age(mut self, max_age: std::time::Duration) -> Self {
        self.max_age = Some(max_age.as_secs());
        self
    }

    /// The accepted `amr` values.
    pub fn accepted_amr(&self) -> &[Arc<str>] {
        &self.amr
    }

    /// The accepted `acrs` ids.
    pub(crate) fn accepted_auth_contexts(&self) -> &[Arc<str>] {
        &self.acrs
    }

    /// The accepted `acr` values.
    pub(crate) fn accepted_acr(&self) -> &[Arc<str>] {
        &self.acr
    }

    /// The freshness requirement, in seconds.
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age
    }

    /// The evidence of MFA in `claims`, if any (freshness aside).
    pub fn evidence(&self, claims: &Claims) -> Option<MfaEvidence> {
        // The accepted value itself (shared), not a copy of the claim.
        let find = |list: &Option<Vec<String>>, accepted: &[Arc<str>]| {
            list.as_ref().and_then(|l| accepted.iter().find(|a| l.iter().any(|v| v == &***a)).cloned())
        };
        find(&claims.amr, &self.amr)
            .map(MfaEvidence::Amr)
            .or_else(|| find(&claims.acrs, &self.acrs).map(MfaEvidence::AuthContext))
            .or_else(|| {
                let acr = claims.acr.as_deref()?;
                self.acr.iter().find(|a| &***a == acr).cloned().map(MfaEvidence::Acr)
            })
    }

    /// Whether the authentication is fresh enough at `now` (always, without `max_age`).
    pub fn fresh(&self, claims: &Claims, now: i64) -> bool {
        self.fresh_at(claims.auth_time.map(|t| t.unix()), now)
    }

    /// [`fresh`](Self::fresh) from `auth_time` alone (seconds since the epoch).
    pub(crate) fn fresh_at(&self, auth_time: Option<i64>, now: i64) -> bool {
        match self.max_age {
            None => true,
            Some(max) => {
                auth_time.is_some_and(|t| now.saturating_sub(t) <= i64::try_from(max).unwrap_or(i64::MAX))
            }
        }
    }
}
