//! [`Verifier`]: from a token's text to its verified claims, or the refusal.
//!
//! The whole order up to the signature lives here: shape → header → algorithm →
//! claims → issuer (and its tenant) → `exp`/`nbf`/`iat`/lifetime/`aud` → key →
//! signature. Keys are only looked for, and possibly fetched, for a token that
//! passed everything before. The guard, `mfa-guard inspect`/`verify`/`check` and the
//! browser sign-in all verify through it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{AlgorithmSet, DEFAULT_LEEWAY_SECS, IssuerMatch, IssuerPattern, Parsed, Tenants, invalid};
use crate::algorithm::{Algorithm, KeyFamily};
use crate::claims::Claims;
use crate::error::{BuildError, BuildErrorKind};
use crate::keys::{KeyError, KeyErrorKind, KeySource, Lookup, VerifyingKey};
use crate::rejection::{Refusal, RejectionCode};
use crate::time::{Clock, SystemClock};

/// Verifies tokens for a set of issuers, each with its key source.
///
/// Built by [`GuardBuilder`](crate::GuardBuilder) inside every guard (reach it with
/// [`Guard::verifier`](crate::Guard::verifier)), or alone with [`Verifier::builder`]
/// where only "is this token genuine?" is asked.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mfa_guard_core::{KeySource, Verifier};
///
/// let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig",
///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
/// let verifier = Verifier::builder()
///     .issuer("https://sts.windows.net/{tenantid}/")
///     .keys(KeySource::jwks_json(jwks)?)
///     .audience("https://api.partnercenter.microsoft.com")
///     .build()?;
/// let refusal = verifier.verify("not.a.token").await.unwrap_err();
/// assert_eq!(refusal.code().as_str(), "invalid_token");
/// # Ok(()) }
/// ```
pub struct Verifier {
    issuers: Vec<Issuer>,
    audiences: Vec<String>,
    /// Where set, the only tenants a `{tenantid}` template admits.
    tenants: Option<Tenants>,
    algorithms: AlgorithmSet,
    leeway: i64,
    /// Longest `exp - iat` accepted, in seconds.
    max_lifetime: Option<i64>,
    clock: Arc<dyn Clock>,
}

/// A token whose signature, issuer, audience and times checked out.
#[derive(Debug)]
pub struct Verified {
    // Boxed: several hundred bytes, handed on to the principal as they are.
    claims: Box<Claims>,
    key: Arc<VerifyingKey>,
}

impl Verified {
    /// The claims, as the guard reads them.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The key that verified the signature.
    pub fn key(&self) -> &Arc<VerifyingKey> {
        &self.key
    }

    /// The claims and the key.
    pub fn into_parts(self) -> (Claims, Arc<VerifyingKey>) {
        (*self.claims, self.key)
    }

    pub(crate) fn into_boxed_parts(self) -> (Box<Claims>, Arc<VerifyingKey>) {
        (self.claims, self.key)
    }
}

/// One step of verification without waiting.
pub(crate) enum Step {
    Verified(Verified),
    Refused(Refusal),
    /// Keys (or the issuer's metadata) must be fetched first.
    Wait(Waiting),
}

/// What a verification waits for. Boxed: a parsed token is several hundred bytes
/// and only the slow path waits.
pub(crate) enum Waiting {
    /// An issuer known only from discovery, not loaded yet.
    Issuer(Box<Parsed>),
    /// The key of this issuer.
    Key { parsed: Box<Parsed>, issuer: usize },
}

struct Issuer {
    configured: Option<IssuerPattern>,
    declared: OnceLock<IssuerPattern>,
    keys: KeySource,
    /// No tenant allow-list is set: a template admits every tenant.
    any_tenant: bool,
}

/// Said once per templated issuer when no tenant allow-list restricts it: at build
/// for a configured template, when discovery first declares one otherwise.
fn warn_any_tenant(issuer: &IssuerPattern) {
    tracing::warn!(
        issuer = %issuer,
        "the issuer is a {{tenantid}} template and no tenant allow-list is set, so tokens of every \
         tenant it names are accepted, with that tenant's wids and roles; name the tenants served \
         with GuardBuilder::tenants, `tenants = [...]` in the configuration file, or MFA_TENANTS \
         for the example servers"
    );
}

impl Issuer {
    fn pattern(&self) -> Option<&IssuerPattern> {
        if let Some(p) = &self.configured {
            return Some(p);
        }
        if let Some(p) = self.declared.get() {
            return Some(p);
        }
        let declared = self.keys.provider().declared_issuer()?;
        match IssuerPattern::new(&declared) {
            Ok(p) => Some(self.declared.get_or_init(|| {
                if self.any_tenant && p.is_template() {
                    warn_any_tenant(&p);
                }
                p
            })),
            Err(reason) => {
                tracing::warn!(%reason, "the key source declares an unusable issuer");
                None
            }
        }
    }
}

impl Verifier {
    /// Starts building a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verifies `token` at the clock's time now, fetching keys if it must.
    pub async fn verify(&self, token: &str) -> Result<Verified, Refusal> {
        match self.verify_now(token, self.clock.now_unix()) {
            Step::Verified(v) => Ok(v),
            Step::Refused(r) => Err(r),
            Step::Wait(waiting) => self.finish(token, waiting).await,
        }
    }

    /// Fetches every issuer's keys once (see [`KeyProvider::prefetch`](crate::KeyProvider::prefetch)),
    /// logging at `warn` each source that cannot be had; returns their errors. The
    /// verifier works either way: requests fetch again, with backoff.
    pub async fn warm_up(&self) -> Vec<KeyError> {
        let mut failed = Vec::new();
        for issuer in &self.issuers {
            match issuer.keys.provider().prefetch().await {
                // Now that discovery may have declared the issuer, its warnings (if
                // any) are due.
                Ok(()) => drop(issuer.pattern()),
                Err(e) => {
                    tracing::warn!(
                        issuer = issuer.pattern().map_or_else(|| "(to be declared by discovery)".to_owned(), |p| p.to_string()),
                        error = %e,
                        "cannot fetch the issuer's signing keys at start; serving anyway, requests will fetch them again"
                    );
                    failed.push(e);
                }
            }
        }
        failed
    }

    /// The expected issuers, as configured or (once known) declared by discovery.
    pub fn issuers(&self) -> impl Iterator<Item = Option<&IssuerPattern>> {
        self.issuers.iter().map(Issuer::pattern)
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Leeway on `exp`, `nbf` and `iat`, seconds.
    pub fn leeway_secs(&self) -> i64 {
        self.leeway
    }

    /// The clock the verifier reads.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Everything that needs no I/O: done, refused, or what to wait for.
    pub(crate) fn verify_now(&self, token: &str, now: i64) -> Step {
        let parsed = match super::parse(token, self.algorithms) {
            Ok(p) => p,
            Err(refusal) => return Step::Refused(refusal),
        };
        match self.find_issuer(&parsed) {
            Ok(Some(issuer)) => self.verify_for_issuer(token, parsed, issuer, now),
            Ok(None) => Step::Wait(Waiting::Issuer(Box::new(parsed))),
            Err(refusal) => Step::Refused(refusal),
        }
    }

    /// Fetches what `waiting` lacks and finishes the verification.
    pub(crate) async fn finish(&self, token: &str, waiting: Waiting) -> Result<Verified, Refusal> {
        let (parsed, issuer) = match waiting {
            Waiting::Key { parsed, issuer } => (parsed, issuer),
            Waiting::Issuer(parsed) => {
                for issuer in self.issuers.iter().filter(|i| i.pattern().is_none()) {
                    issuer.keys.provider().issuer().await.map_err(|e| key_refusal(&e))?;
                }
                let issuer = self
                    .find_issuer(&parsed)?
                    .ok_or_else(|| unavailable("the issuer's metadata cannot be had right now"))?;
                match self.verify_for_issuer(token, *parsed, issuer, self.clock.now_unix()) {
                    Step::Verified(v) => return Ok(v),
                    Step::Refused(r) => return Err(r),
                    Step::Wait(Waiting::Key { parsed, issuer }) => (parsed, issuer),
                    Step::Wait(Waiting::Issuer(_)) => {
                        return Err(unavailable("the issuer's metadata cannot be had right now"));
                    }
                }
            }
        };
        let provider = self.issuers[issuer].keys.provider();
        let key = provider.resolve(parsed.kid.as_deref(), parsed.alg).await.map_err(|e| key_refusal(&e))?;
        match verify_signature(token, *parsed, key) {
            Step::Verified(v) => Ok(v),
            Step::Refused(r) => Err(r),
            Step::Wait(_) => Err(unavailable("the issuer's signing keys cannot be had right now")),
        }
    }

    /// The issuer the token claims, among those configured: `Ok(None)` when some
    /// issuer's identity is not known yet (discovery not loaded) and none matched.
    fn find_issuer(&self, parsed: &Parsed) -> Result<Option<usize>, Refusal> {
        let claims = &parsed.claims;
        let iss = claims.iss().ok_or_else(|| invalid("the token has no iss claim"))?;
        let mut unknown = false;
        let mut bad_tenant = false;
        let mut foreign_tenant = false;
        for (i, issuer) in self.issuers.iter().enumerate() {
            match issuer.pattern() {
                None => unknown = true,
                Some(p) => match p.matches(iss, claims.tid()) {
                    // A template matched, so `tid` is a GUID; an exact issuer that
                    // names the same tenant may still admit the token.
                    IssuerMatch::Yes if p.is_template() && !self.tenant_allowed(claims.tid()) => {
                        foreign_tenant = true;
                    }
                    IssuerMatch::Yes => return Ok(Some(i)),
                    IssuerMatch::BadTenant => bad_tenant = true,
                    IssuerMatch::No => {}
                },
            }
        }
        if unknown {
            return Ok(None);
        }
        Err(invalid(if foreign_tenant {
            "the token's tenant is not allowed here"
        } else if bad_tenant {
            "the token's tid claim is missing or not a GUID, so its issuer cannot be matched"
        } else {
            "the token's issuer is not accepted here"
        }))
    }

    fn tenant_allowed(&self, tid: Option<&str>) -> bool {
        match (&self.tenants, tid) {
            (None, _) => true,
            (Some(tenants), Some(tid)) => tenants.allows(tid),
            (Some(_), None) => false,
        }
    }

    fn verify_for_issuer(&self, token: &str, parsed: Parsed, issuer: usize, now: i64) -> Step {
        if let Err(refusal) =
            super::check_claims(&parsed.claims, now, self.leeway, self.max_lifetime, &self.audiences)
        {
            return Step::Refused(refusal);
        }
        match self.issuers[issuer].keys.provider().lookup(parsed.kid.as_deref(), parsed.alg) {
            Lookup::Found(key) => verify_signature(token, parsed, key),
            Lookup::Missing | Lookup::NotLoaded => {
                Step::Wait(Waiting::Key { parsed: Box::new(parsed), issuer })
            }
        }
    }
}

fn verify_signature(token: &str, parsed: Parsed, key: Arc<VerifyingKey>) -> Step {
    if let Err(reason) = key.fits(parsed.alg) {
        return Step::Refused(invalid(reason.to_string()));
    }
    let message = &token.as_bytes()[..parsed.signing_input_len];
    if !key.verify(parsed.alg, message, &parsed.signature) {
        return Step::Refused(invalid("the token signature does not verify with the issuer's key"));
    }
    Step::Verified(Verified { claims: Box::new(parsed.claims), key })
}

fn unavailable(detail: &'static str) -> Refusal {
    Refusal::new(RejectionCode::KeySourceUnavailable, detail).retry_after(30)
}

fn key_refusal(e: &KeyError) -> Refusal {
    match e.kind() {
        KeyErrorKind::UnknownKey => invalid(e.to_string()),
        KeyErrorKind::Unavailable { retry_after } => Refusal::new(
            RejectionCode::KeySourceUnavailable,
            "the signing keys of the token's issuer cannot be fetched right now; retry later",
        )
        .retry_after(retry_after),
    }
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuers", &self.issuers().map(|p| p.map(|p| p.to_string())).collect::<Vec<_>>())
            .field("audiences", &self.audiences)
            .field("tenants", &self.tenants)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
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
                let msg = format!("issuer {iss} was given keys twice");
                self.errors.push(BuildError::new(BuildErrorKind::Keys, msg));
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

    pub(crate) fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
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
            return Err(BuildError::new(
                BuildErrorKind::Issuer,
                "no issuer is configured; add one with .issuer(..).keys(..)",
            ));
        }
        let tenants = self
            .tenants
            .map(Tenants::new)
            .transpose()
            .map_err(|e| BuildError::new(BuildErrorKind::Issuer, e))?;
        let mut issuers = Vec::with_capacity(self.issuers.len());
        for (issuer, keys) in self.issuers {
            let configured = issuer
                .as_deref()
                .map(IssuerPattern::new)
                .transpose()
                .map_err(|e| BuildError::new(BuildErrorKind::Issuer, e.to_string()))?;
            let keys = keys.ok_or_else(|| {
                BuildError::new(
                    BuildErrorKind::Keys,
                    format!(
                        "issuer {} has no key source; call .keys(..) after .issuer(..)",
                        issuer.unwrap_or_default()
                    ),
                )
            })?;
            if let Some(e) = keys.error() {
                return Err(BuildError::new(BuildErrorKind::Keys, e.to_owned()));
            }
            if configured.is_none() && !keys.declares_issuer() {
                return Err(BuildError::new(
                    BuildErrorKind::Issuer,
                    "a key source without an issuer must declare one (OIDC discovery does); \
                     add .issuer(..) before .keys(..)",
                ));
            }
            issuers.push(Issuer {
                configured,
                declared: OnceLock::new(),
                keys,
                any_tenant: tenants.is_none(),
            });
        }
        if self.audiences.is_empty() {
            return Err(BuildError::new(
                BuildErrorKind::Audience,
                "no audience is configured; add one with .audience(..)",
            ));
        }
        if let Some(a) = self.audiences.iter().find(|a| a.is_empty()) {
            return Err(BuildError::new(BuildErrorKind::Audience, format!("audience {a:?} is empty")));
        }
        if self.algorithms.is_empty() {
            return Err(BuildError::new(BuildErrorKind::Algorithms, "the algorithm allow-list is empty"));
        }
        let hmac_allowed = self.algorithms.iter().any(|a| a.family() == KeyFamily::Hmac);
        let hmac_keys = issuers.iter().any(|i| i.keys.has_hmac());
        if hmac_keys && !hmac_allowed {
            return Err(BuildError::new(
                BuildErrorKind::Algorithms,
                "an issuer has an HMAC secret but no HS algorithm is allowed; add HS256 to the allow-list",
            ));
        }
        if hmac_allowed && !hmac_keys {
            return Err(BuildError::new(
                BuildErrorKind::Algorithms,
                "an HS algorithm is allowed but no issuer has an HMAC secret; HMAC is only honoured with a configured secret",
            ));
        }
        if self.leeway > Duration::from_secs(300) {
            return Err(BuildError::new(
                BuildErrorKind::Policy,
                "leeway above 5 minutes would accept long-expired tokens",
            ));
        }
        let max_lifetime = match self.max_token_lifetime {
            None => None,
            Some(d) if d.as_secs() == 0 => {
                return Err(BuildError::new(
                    BuildErrorKind::Policy,
                    "max_token_lifetime must be at least one second; a shorter one would refuse every token",
                ));
            }
            Some(d) => Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        };
        Ok(Verifier {
            issuers,
            audiences: self.audiences,
            tenants,
            algorithms: self.algorithms,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(300),
            max_lifetime,
            clock: self.clock,
        })
    }
}

impl Verifier {
    /// Says, once, that a configured template admits every tenant. Called by whoever
    /// builds the verifier once its whole setup is known to be right (a guard that
    /// fails to build admits no one and need not warn).
    pub(crate) fn warn_if_any_tenant(&self) {
        for issuer in self.issuers.iter().filter(|i| i.any_tenant) {
            if let Some(p) = issuer.configured.as_ref().filter(|p| p.is_template()) {
                warn_any_tenant(p);
            }
        }
    }
}
