//! [`VerifierBuilder`]: every verification setting checked once, with an error that
//! says what to fix.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::verifier::Issuer;
use super::{AlgorithmSet, DEFAULT_LEEWAY_SECS, IssuerPattern, Tenants, Verifier};
use crate::algorithm::{Algorithm, KeyFamily};
use crate::error::BuildError;
use crate::keys::KeySource;
use crate::time::{Clock, SystemClock};

impl Verifier {
    /// Starts building a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }
}

/// Builds a [`Verifier`]. Issuers are added with [`issuer`](Self::issuer) and get
/// their keys from the next [`keys`](Self::keys) call; an issuer whose identity is
/// declared by OIDC discovery can be added with keys alone
/// ([`issuer_from_keys`](Self::issuer_from_keys)).
#[derive(Debug)]
#[must_use]
pub struct VerifierBuilder {
    issuers: Vec<(Option<String>, Option<KeySource>)>,
    audiences: Vec<String>,
    tenants: Option<Vec<String>>,
    algorithms: AlgorithmSet,
    leeway: Duration,
    max_token_lifetime: Option<Duration>,
    clock: Arc<dyn Clock>,
    errors: Vec<BuildError>,
}

impl Default for VerifierBuilder {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            audiences: Vec::new(),
            tenants: None,
            algorithms: AlgorithmSet::default(),
            leeway: Duration::from_secs(DEFAULT_LEEWAY_SECS),
            max_token_lifetime: None,
            clock: Arc::new(SystemClock),
            errors: Vec::new(),
        }
    }
}

impl VerifierBuilder {
    /// Adds an expected issuer: exact, or with `{tenantid}` (the token's `tid`, a GUID,
    /// is substituted and the result compared exactly). Its keys come from the next
    /// call to [`keys`](Self::keys).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push((Some(issuer.into()), None));
        self
    }

    /// Sets the key source of the issuer added last.
    pub fn keys(mut self, keys: KeySource) -> Self {
        match self.issuers.last_mut() {
            Some((_, slot @ None)) => *slot = Some(keys),
            Some((Some(iss), Some(_))) => {
                self.errors.push(BuildError::KeysGivenTwice { issuer: iss.clone() });
            }
            _ => self.issuers.push((None, Some(keys))),
        }
        self
    }

    /// Adds an issuer whose identity its key source declares (OIDC discovery's
    /// `issuer`), e.g. when only a discovery URL is configured.
    pub fn issuer_from_keys(mut self, keys: KeySource) -> Self {
        self.issuers.push((None, Some(keys)));
        self
    }

    /// Adds accepted audiences (`aud`).
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Adds an accepted audience (`aud`).
    pub fn audience(self, audience: impl Into<String>) -> Self {
        self.audiences([audience])
    }

    /// Admits tokens of these tenants only (their `tid`, a GUID), wherever an issuer
    /// is a `{tenantid}` template, configured or declared by discovery; adds to the
    /// tenants of earlier calls. Exact issuers name their tenant and are not affected.
    ///
    /// Without it a template admits every tenant of the identity provider (with
    /// Entra discovery at `common`: every Entra tenant), whose `wids` and `roles`
    /// then count here; [`build`](Self::build) logs a warning saying so. A token of
    /// another tenant is refused with `401 invalid_token`.
    pub fn tenants<I, S>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tenants.get_or_insert_with(Vec::new).extend(tenants.into_iter().map(Into::into));
        self
    }

    /// Replaces the algorithm allow-list (default: RS/PS 256–512, ES256, ES384, EdDSA).
    pub fn algorithms<I: IntoIterator<Item = Algorithm>>(mut self, algorithms: I) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat` (default 60 s, at most 5
    /// minutes). A token whose `iat` is further ahead than this is refused.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens whose lifetime (`exp - iat`) is longer than `lifetime`, and
    /// tokens without `iat`, whose lifetime cannot be known (off by default: Entra
    /// access tokens live 60–90 minutes, but up to 28 hours for clients of
    /// continuous access evaluation, so the right bound depends on the clients).
    /// Whole seconds; at least one.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_token_lifetime = Some(lifetime);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The clock the verifier will run on, for a guard to share.
    pub(crate) fn shared_clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    /// Checks every setting and builds the verifier. A `{tenantid}` issuer without a
    /// tenant allow-list is logged as a warning (see [`tenants`](Self::tenants)).
    pub fn build(self) -> Result<Verifier, BuildError> {
        let verifier = self.build_quietly()?;
        verifier.warn_if_any_tenant();
        Ok(verifier)
    }

    /// [`build`](Self::build) without the warning, for a guard that warns once its
    /// own settings are checked too.
    pub(crate) fn build_quietly(self) -> Result<Verifier, BuildError> {
        if let Some(e) = self.errors.into_iter().next() {
            return Err(e);
        }
        if self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        let tenants = self.tenants.map(Tenants::new).transpose()?;
        let mut issuers = Vec::with_capacity(self.issuers.len());
        for (issuer, keys) in self.issuers {
            let configured = issuer.as_deref().map(IssuerPattern::new).transpose()?;
            let keys = keys.ok_or_else(|| BuildError::NoKeySource { issuer: issuer.unwrap_or_default() })?;
            if let Some(e) = keys.error() {
                return Err(BuildError::KeySource(e.clone()));
            }
            if configured.is_none() && !keys.declares_issuer() {
                return Err(BuildError::IssuerNotDeclared);
            }
            issuers.push(Issuer {
                configured,
                declared: OnceLock::new(),
                keys,
                any_tenant: tenants.is_none(),
            });
        }
        if self.audiences.is_empty() {
            return Err(BuildError::NoAudience);
        }
        if let Some(a) = self.audiences.iter().find(|a| a.is_empty()) {
            return Err(BuildError::EmptyAudience { audience: a.clone() });
        }
        if self.algorithms.is_empty() {
            return Err(BuildError::NoAlgorithms);
        }
        let hmac_allowed = self.algorithms.iter().any(|a| a.family() == KeyFamily::Hmac);
        let hmac_keys = issuers.iter().any(|i| i.keys.has_hmac());
        if hmac_keys && !hmac_allowed {
            return Err(BuildError::HmacSecretWithoutAlgorithm);
        }
        if hmac_allowed && !hmac_keys {
            return Err(BuildError::HmacAlgorithmWithoutSecret);
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(BuildError::Leeway { leeway: self.leeway });
        }
        let max_lifetime = match self.max_token_lifetime {
            None => None,
            Some(d) if d.as_secs() == 0 => {
                return Err(BuildError::MaxTokenLifetime);
            }
            Some(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        };
        Ok(Verifier {
            index: super::issuer_index::IssuerIndex::new(issuers.iter().map(|i| i.configured.as_ref())),
            issuers,
            audiences: self.audiences,
            tenants,
            algorithms: self.algorithms,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(300),
            max_lifetime,
            authorized_party: None,
            clock: self.clock,
        })
    }
}
