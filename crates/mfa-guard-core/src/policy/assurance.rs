//! Assurance levels: how strong an authentication a route asks for.
//!
//! A level is a name and the evidence that proves it — `amr` values, `acrs`
//! authentication contexts, `acr` values — each optionally only from one issuer (an
//! `amr` of one provider means nothing for another). Levels are ordered: the base
//! level `mfa` is the policy's [`MfaPolicy`] (by default exactly `amr` ∋ `mfa`), and
//! every level added with [`Policy::assurance_level`](super::Policy::assurance_level)
//! is stronger than those before it. A token *achieves* the strongest level it shows
//! evidence of, and satisfies every route asking for that level or a weaker one: a
//! token whose `acrs` holds Entra's phishing-resistant context `c2` opens the routes
//! that ask for plain `mfa` too, even without `amr` ∋ `mfa`.
//!
//! ```
//! use mfa_guard_core::{AssuranceLevel, Policy, Requirement, Role};
//! use std::time::Duration;
//!
//! let policy = Policy::partner_center()
//!     .assurance_level(AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]))
//!     .route(
//!         "/security/*",
//!         Requirement::mfa()
//!             .any_role([Role::AdminAgent, Role::SecurityAdmin])
//!             .assurance("phishing-resistant")
//!             .max_age(Duration::from_secs(3600)),
//!     );
//! # let _ = policy;
//! ```

use std::sync::Arc;

use super::error::PolicyError;
use super::{MfaEvidence, MfaPolicy};
use crate::claims::Claims;

/// The name of the base level, defined by the policy's [`MfaPolicy`].
pub const BASE_LEVEL: &str = "mfa";

/// At most this many levels, the base level included.
pub const MAX_LEVELS: usize = 16;

/// A named assurance level and the evidence that proves it.
///
/// It reads itself from a configuration file's `[[assurance]]` table — `name`, and
/// any of `amr`, `acrs`, `acr` (lists) and `issuer` — so a new kind of evidence is
/// added here and in the claims model, nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "RawLevel")]
#[must_use]
pub struct AssuranceLevel {
    name: Arc<str>,
    evidence: Evidence,
}

/// An `[[assurance]]` table as written (unknown keys refused).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    name: String,
    issuer: Option<String>,
    #[serde(default)]
    amr: Vec<String>,
    #[serde(default)]
    acrs: Vec<String>,
    #[serde(default)]
    acr: Vec<String>,
}

impl From<RawLevel> for AssuranceLevel {
    fn from(raw: RawLevel) -> Self {
        let level =
            AssuranceLevel::new(raw.name).amr_values(raw.amr).auth_contexts(raw.acrs).acr_values(raw.acr);
        match raw.issuer {
            Some(issuer) => level.from_issuer(issuer),
            None => level,
        }
    }
}

/// One way to prove a level: any accepted `amr` value, `acrs` context or `acr`
/// value, in a token of any issuer or only of `issuer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Evidence {
    issuer: Option<Arc<str>>,
    amr: Vec<Arc<str>>,
    acrs: Vec<Arc<str>>,
    acr: Vec<Arc<str>>,
}

impl AssuranceLevel {
    /// A level named `name` (letters, digits, `-`, `_`, `.`), proved by nothing yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: Arc::from(name.into()), evidence: Evidence::default() }
    }

    /// Accepts these `amr` values (case-sensitive, as `amr` is).
    pub fn amr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.amr = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Accepts these authentication context ids in `acrs` (Entra's `c1`…`c99`).
    pub fn auth_contexts<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.acrs = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Accepts these `acr` values.
    pub fn acr_values<I, S>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.acr = values.into_iter().map(|v| Arc::from(v.into())).collect();
        self
    }

    /// Counts this evidence only in tokens whose `iss` is exactly `issuer`. To accept
    /// other evidence from another issuer, add a level of the same name again.
    pub fn from_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.evidence.issuer = Some(Arc::from(issuer.into()));
        self
    }

    /// The level's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The accepted `amr` values.
    pub fn accepted_amr(&self) -> &[Arc<str>] {
        &self.evidence.amr
    }

    /// The issuer whose tokens alone count, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.evidence.issuer.as_deref()
    }
}

impl Evidence {
    /// The accepted `amr` values.
    pub(crate) fn amr(&self) -> &[Arc<str>] {
        &self.amr
    }

    /// The accepted `acrs` ids.
    pub(crate) fn acrs(&self) -> &[Arc<str>] {
        &self.acrs
    }

    /// The accepted `acr` values.
    pub(crate) fn acr(&self) -> &[Arc<str>] {
        &self.acr
    }

    fn is_empty(&self) -> bool {
        self.amr.is_empty() && self.acrs.is_empty() && self.acr.is_empty()
    }

    /// The evidence `claims` shows of this kind, if any. The accepted value itself
    /// (shared) is returned, not a copy of the claim.
    fn shown_in(&self, claims: &Claims) -> Option<MfaEvidence> {
        if let Some(issuer) = &self.issuer
            && claims.iss.as_deref() != Some(&**issuer)
        {
            return None;
        }
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
}

/// A level's rank: its position in the order, the base level `0`.
pub(crate) type Rank = u8;

/// The levels of a compiled policy, weakest first.
#[derive(Debug, Clone)]
pub(crate) struct Levels {
    /// Each level's name and the ways to prove it (several where it was added more
    /// than once, one per issuer).
    levels: Vec<(Arc<str>, Vec<Evidence>)>,
    /// The names alone, shared with every verified token (for `Principal`).
    names: Arc<[Arc<str>]>,
}

impl Levels {
    /// The base level from `mfa`, then `added` in order; a name added again adds
    /// evidence to its level.
    pub(crate) fn compile(mfa: &MfaPolicy, added: &[AssuranceLevel]) -> Result<Self, PolicyError> {
        let base = Evidence {
            issuer: None,
            amr: mfa.accepted_amr().to_vec(),
            acrs: mfa.accepted_auth_contexts().to_vec(),
            acr: mfa.accepted_acr().to_vec(),
        };
        let mut levels: Vec<(Arc<str>, Vec<Evidence>)> = vec![(Arc::from(BASE_LEVEL), vec![base])];
        for level in added {
            let name = &level.name;
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid {
                return Err(PolicyError::LevelName { name: name.to_string() });
            }
            if &**name == BASE_LEVEL {
                return Err(PolicyError::BaseLevel);
            }
            if level.evidence.is_empty() {
                return Err(PolicyError::LevelWithoutEvidence { name: name.to_string() });
            }
            match levels.iter_mut().find(|(n, _)| n == name) {
                Some((_, evidence)) => evidence.push(level.evidence.clone()),
                None => levels.push((Arc::clone(name), vec![level.evidence.clone()])),
            }
        }
        if levels.len() > MAX_LEVELS {
            return Err(PolicyError::TooManyLevels { count: levels.len() });
        }
        let names = levels.iter().map(|(n, _)| Arc::clone(n)).collect();
        Ok(Self { levels, names })
    }

    /// The rank of the level named `name`.
    pub(crate) fn rank(&self, name: &str) -> Option<Rank> {
        self.levels.iter().position(|(n, _)| &**n == name).and_then(|i| Rank::try_from(i).ok())
    }

    /// The level names, weakest first.
    pub(crate) fn names(&self) -> &Arc<[Arc<str>]> {
        &self.names
    }

    /// The name of the level of `rank`.
    pub(crate) fn name(&self, rank: Rank) -> &str {
        self.levels.get(usize::from(rank)).map_or(BASE_LEVEL, |(n, _)| n)
    }

    /// The ways to prove the level of `rank`.
    pub(crate) fn evidence_of(&self, rank: Rank) -> impl Iterator<Item = &Evidence> {
        self.levels.get(usize::from(rank)).into_iter().flat_map(|(_, e)| e.iter())
    }

    /// Every `amr` value any level accepts (browser mode forgets them all from a
    /// session whose authentication is too old).
    #[cfg(feature = "browser")]
    pub(crate) fn accepted_amr(&self) -> Vec<&Arc<str>> {
        self.levels.iter().flat_map(|(_, ways)| ways.iter().flat_map(|e| e.amr.iter())).collect()
    }

    /// The strongest level `claims` shows evidence of, with that evidence.
    pub(crate) fn achieved(&self, claims: &Claims) -> Option<(Rank, MfaEvidence)> {
        self.levels.iter().enumerate().rev().find_map(|(rank, (_, ways))| {
            let shown = ways.iter().find_map(|e| e.shown_in(claims))?;
            Some((Rank::try_from(rank).ok()?, shown))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Claims {
        crate::claims::parse_claims(json.to_string().as_bytes()).unwrap()
    }

    fn levels() -> Levels {
        Levels::compile(
            &MfaPolicy::default(),
            &[
                AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]),
                AssuranceLevel::new("phishing-resistant")
                    .amr_values(["hwk"])
                    .from_issuer("https://a.example/"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn a_token_achieves_the_strongest_level_it_shows_evidence_of() {
        let l = levels();
        assert_eq!(l.achieved(&claims(serde_json::json!({"amr": ["pwd", "mfa"]}))).map(|a| a.0), Some(0));
        let strong = claims(serde_json::json!({"amr": ["pwd", "mfa"], "acrs": ["c1", "c2"]}));
        assert_eq!(l.achieved(&strong), Some((1, MfaEvidence::AuthContext(Arc::from("c2")))));
        // Stronger evidence alone satisfies the weaker level too (rank order).
        assert_eq!(l.achieved(&claims(serde_json::json!({"acrs": ["c2"]}))).map(|a| a.0), Some(1));
        assert_eq!(l.achieved(&claims(serde_json::json!({"amr": ["pwd"]}))), None);
    }

    #[test]
    fn evidence_bound_to_an_issuer_counts_only_in_its_tokens() {
        let l = levels();
        let from_a = claims(serde_json::json!({"iss": "https://a.example/", "amr": ["hwk"]}));
        assert_eq!(l.achieved(&from_a).map(|a| a.0), Some(1));
        let from_b = claims(serde_json::json!({"iss": "https://b.example/", "amr": ["hwk"]}));
        assert_eq!(l.achieved(&from_b), None);
    }

    #[test]
    fn bad_levels_are_refused_with_their_reason() {
        let mfa = MfaPolicy::default();
        for (level, needle) in [
            (AssuranceLevel::new("mfa").amr_values(["x"]), "MFA policy's own"),
            (AssuranceLevel::new("a b").amr_values(["x"]), "must be 1-64"),
            (AssuranceLevel::new("empty"), "accepts no amr"),
        ] {
            let e = Levels::compile(&mfa, &[level]).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        let many: Vec<_> =
            (0..MAX_LEVELS).map(|i| AssuranceLevel::new(format!("l{i}")).acr_values(["x"])).collect();
        assert_eq!(
            Levels::compile(&mfa, &many).unwrap_err(),
            PolicyError::TooManyLevels { count: MAX_LEVELS + 1 }
        );
    }

    #[test]
    fn ranks_and_names_follow_the_order_written() {
        let l = levels();
        assert_eq!(l.rank("mfa"), Some(0));
        assert_eq!(l.rank("phishing-resistant"), Some(1));
        assert_eq!(l.rank("nope"), None);
        assert_eq!(l.name(1), "phishing-resistant");
        assert_eq!(l.evidence_of(1).count(), 2);
    }
}
