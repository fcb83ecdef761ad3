//! [`Verifier`]: from a token's text to its verified claims, or the refusal.
//!
//! The whole order up to the signature lives here: shape → header → algorithm →
//! claims → issuer (and its tenant) → `exp`/`nbf`/`iat`/lifetime/`aud` → key →
//! signature. Keys are only looked for, and possibly fetched, for a token that
//! passed everything before. The guard, `mfa-guard inspect`/`verify`/`check` and the
//! browser sign-in all verify through it.

use std::sync::{Arc, OnceLock};

use super::issuer_index::IssuerIndex;
use super::{AlgorithmSet, IssuerMatch, IssuerPattern, Parsed, Tenants, invalid};
use crate::claims::Claims;
use crate::keys::{KeyError, KeyErrorKind, KeySource, Lookup, VerifyingKey};
use crate::rejection::{Refusal, RejectionCode};
use crate::time::Clock;

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
#[derive(Clone)]
pub struct Verifier {
    pub(super) issuers: Vec<Issuer>,
    /// The configured issuers by their text.
    pub(super) index: IssuerIndex,
    pub(super) audiences: Vec<String>,
    /// Where set, the only tenants a `{tenantid}` template admits.
    pub(super) tenants: Option<Tenants>,
    pub(super) algorithms: AlgorithmSet,
    pub(super) leeway: i64,
    /// Longest `exp - iat` accepted, in seconds.
    pub(super) max_lifetime: Option<i64>,
    /// Set for ID tokens only: the client id their `azp` must name
    /// ([`check_authorized_party`](super::check_authorized_party)).
    pub(super) authorized_party: Option<String>,
    pub(super) clock: Arc<dyn Clock>,
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

#[derive(Clone)]
pub(super) struct Issuer {
    pub(super) configured: Option<IssuerPattern>,
    pub(super) declared: OnceLock<IssuerPattern>,
    pub(super) keys: KeySource,
    /// No tenant allow-list is set: a template admits every tenant.
    pub(super) any_tenant: bool,
}

/// Said once per templated issuer when no tenant allow-list restricts it: at build
/// for a configured template, when discovery first declares one otherwise.
pub(super) fn warn_any_tenant(issuer: &IssuerPattern) {
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
    /// Verifies `token` at the clock's time now, fetching keys if it must.
    pub async fn verify(&self, token: &str) -> Result<Verified, Refusal> {
        match self.verify_now(token, self.clock.now_unix()) {
            Step::Verified(v) => Ok(v),
            Step::Refused(r) => Err(r),
            Step::Wait(waiting) => self.finish(token, waiting).await,
        }
    }

    /// Verifies a back-channel logout token as [`verify`](Self::verify) does, with
    /// one difference: a header `typ` of `logout+jwt` is accepted here, and only here.
    #[cfg(feature = "browser")]
    pub(crate) async fn verify_logout_token(&self, token: &str) -> Result<Verified, Refusal> {
        match self.verify_now_as(token, self.clock.now_unix(), true) {
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
    pub(crate) fn issuers(&self) -> impl Iterator<Item = Option<&IssuerPattern>> {
        self.issuers.iter().map(Issuer::pattern)
    }

    /// The accepted audiences.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Leeway on `exp`, `nbf` and `iat`, seconds.
    pub(crate) fn leeway_secs(&self) -> i64 {
        self.leeway
    }

    /// The clock the verifier reads.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Everything that needs no I/O: done, refused, or what to wait for.
    pub(crate) fn verify_now(&self, token: &str, now: i64) -> Step {
        self.verify_now_as(token, now, false)
    }

    /// [`verify_now`](Self::verify_now), accepting `logout+jwt` when `logout_tokens`.
    fn verify_now_as(&self, token: &str, now: i64, logout_tokens: bool) -> Step {
        let parsed = match super::parse(token, self.algorithms, logout_tokens) {
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
    /// Configured issuers are looked up ([`IssuerIndex`]); of several that match,
    /// the first configured wins.
    fn find_issuer(&self, parsed: &Parsed) -> Result<Option<usize>, Refusal> {
        let claims = &parsed.claims;
        let iss = claims.iss().ok_or_else(|| invalid("the token has no iss claim"))?;
        let tid = claims.tid();
        let tenant_allowed = self.tenant_allowed(tid);
        let mut first: Option<usize> = None;
        let mut foreign_tenant = false;
        let mut matched = |position: usize, template: bool| {
            // A template matched, so `tid` is a GUID; an exact issuer that names
            // the same tenant may still admit the token.
            if template && !tenant_allowed {
                foreign_tenant = true;
            } else {
                first = Some(first.map_or(position, |f| f.min(position)));
            }
        };
        if let Some(position) = self.index.exact(iss) {
            matched(position, false);
        }
        if let Some(position) =
            tid.filter(|t| super::is_guid(t)).and_then(|tid| self.index.template(iss, tid))
        {
            matched(position, true);
        }
        let mut unknown = false;
        let mut bad_tenant = false;
        for &position in &self.index.declared {
            match self.issuers[position].pattern() {
                None => unknown = true,
                Some(p) => match p.matches(iss, tid) {
                    IssuerMatch::Yes => matched(position, p.is_template()),
                    IssuerMatch::BadTenant => bad_tenant = true,
                    IssuerMatch::No => {}
                },
            }
        }
        if let Some(position) = first {
            return Ok(Some(position));
        }
        if unknown {
            return Ok(None);
        }
        // Only to word the refusal: whether `iss` has some template's shape.
        let bad_tenant = bad_tenant
            || self.index.template_positions.iter().any(|&position| {
                let pattern = self.issuers[position].configured.as_ref();
                pattern.is_some_and(|p| p.matches(iss, tid) == IssuerMatch::BadTenant)
            });
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
        if let Some(client_id) = &self.authorized_party
            && let Err(refusal) = super::check_authorized_party(&parsed.claims, client_id)
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
            .field("authorized_party", &self.authorized_party)
            .finish_non_exhaustive()
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

#[cfg(feature = "browser")]
impl Verifier {
    /// A verifier of the ID tokens `issuer` issues for the client `client_id`: same
    /// tenants, algorithms, leeway and clock as this one, and the key source of this
    /// verifier's issuer of the same name when there is one (one key cache per
    /// issuer), otherwise the provider's `jwks_uri`. Its tokens must be for
    /// `client_id` (`aud`) and, when they name one, issued to it (`azp`).
    pub(crate) fn for_id_tokens(
        &self,
        issuer: &str,
        jwks_uri: &str,
        client_id: &str,
    ) -> Result<Verifier, super::InvalidIssuer> {
        let pattern = IssuerPattern::new(issuer)?;
        let keys = self
            .issuers
            .iter()
            .find(|i| i.pattern().is_some_and(|p| p.as_str() == pattern.as_str()))
            .map_or_else(|| KeySource::jwks_url(jwks_uri), |i| i.keys.clone());
        let issuers = vec![Issuer {
            configured: Some(pattern),
            declared: OnceLock::new(),
            keys,
            any_tenant: self.tenants.is_none(),
        }];
        Ok(Verifier {
            index: IssuerIndex::new(issuers.iter().map(|i| i.configured.as_ref())),
            issuers,
            audiences: vec![client_id.to_owned()],
            tenants: self.tenants.clone(),
            algorithms: self.algorithms,
            leeway: self.leeway,
            max_lifetime: None,
            authorized_party: Some(client_id.to_owned()),
            clock: Arc::clone(&self.clock),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The issuer lookup as it was before the index: every issuer tried in order.
    fn find_issuer_by_scan(verifier: &Verifier, parsed: &Parsed) -> Result<Option<usize>, String> {
        let claims = &parsed.claims;
        let iss = claims.iss().ok_or("the token has no iss claim")?;
        let (mut unknown, mut bad_tenant, mut foreign_tenant) = (false, false, false);
        for (i, issuer) in verifier.issuers.iter().enumerate() {
            match issuer.pattern() {
                None => unknown = true,
                Some(p) => match p.matches(iss, claims.tid()) {
                    IssuerMatch::Yes if p.is_template() && !verifier.tenant_allowed(claims.tid()) => {
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
        Err(if foreign_tenant {
            "the token's tenant is not allowed here"
        } else if bad_tenant {
            "the token's tid claim is missing or not a GUID, so its issuer cannot be matched"
        } else {
            "the token's issuer is not accepted here"
        }
        .to_owned())
    }

    const T1: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
    const T2: &str = "11112222-3333-4444-5555-666677778888";
    /// Its last eight digits repeat its first eight: `iss` can hold it twice, overlapping.
    const T3: &str = "abcdef01-2345-6789-abcd-0123abcdef01";

    fn issuer_text() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "https://sts.example/{tenantid}/".to_owned(),
            "https://sts.example/{tenantid}".to_owned(),
            "https://login.example/{tenantid}/v2.0".to_owned(),
            "{tenantid}".to_owned(),
            "https://sts.example/abcdef01-2345-6789-abcd-0123{tenantid}".to_owned(),
            format!("https://sts.example/{T1}/"),
            format!("https://login.example/{T2}/v2.0"),
            "https://other.example/".to_owned(),
        ])
    }

    fn token_issuer() -> impl Strategy<Value = String> {
        (prop::sample::select(vec![T1, T2, T3, "not-a-guid"]), 0..6usize).prop_map(|(tid, shape)| match shape
        {
            0 => format!("https://sts.example/{tid}/"),
            1 => format!("https://sts.example/{tid}"),
            2 => format!("https://login.example/{tid}/v2.0"),
            3 => tid.to_owned(),
            4 => format!("https://sts.example/abcdef01-2345-6789-abcd-0123{tid}"),
            _ => "https://other.example/".to_owned(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn the_issuer_index_finds_the_issuer_the_scan_in_configured_order_finds(
            issuers in prop::collection::vec(issuer_text(), 1..6),
            tenants in prop::option::of(prop::sample::subsequence(vec![T1, T2, T3], 1..=2)),
            tokens in prop::collection::vec(
                (token_issuer(), prop::option::of(prop::sample::select(vec![T1, T2, T3, "not-a-guid", ""]))),
                1..12,
            ),
        ) {
            let mut builder = Verifier::builder().audience("api");
            for issuer in &issuers {
                builder = builder.issuer(issuer).keys(KeySource::hmac_secret(b"secret"));
            }
            if let Some(tenants) = &tenants {
                builder = builder.tenants(tenants.iter().copied());
            }
            let verifier = builder.algorithms([crate::Algorithm::HS256]).build().unwrap();
            for (iss, tid) in &tokens {
                let mut claims = serde_json::json!({ "iss": iss });
                if let Some(tid) = tid {
                    claims["tid"] = serde_json::json!(tid);
                }
                let parsed = Parsed {
                    alg: crate::Algorithm::HS256,
                    kid: None,
                    claims: crate::claims::parse_claims(claims.to_string().as_bytes()).unwrap(),
                    signing_input_len: 0,
                    signature: Vec::new(),
                };
                let indexed = verifier.find_issuer(&parsed).map_err(|r| r.detail.into_owned());
                prop_assert_eq!(indexed, find_issuer_by_scan(&verifier, &parsed), "{} {:?}", iss, tid);
            }
        }
    }

    #[test]
    fn the_first_configured_of_two_matching_issuers_verifies() {
        let exact = format!("https://sts.example/{T1}/");
        let verifier = Verifier::builder()
            .issuer("https://sts.example/{tenantid}/")
            .keys(KeySource::hmac_secret(b"first"))
            .issuer(&exact)
            .keys(KeySource::hmac_secret(b"second"))
            .audience("api")
            .algorithms([crate::Algorithm::HS256])
            .build()
            .unwrap();
        let claims = serde_json::json!({ "iss": exact, "tid": T1 }).to_string();
        let parsed = Parsed {
            alg: crate::Algorithm::HS256,
            kid: None,
            claims: crate::claims::parse_claims(claims.as_bytes()).unwrap(),
            signing_input_len: 0,
            signature: Vec::new(),
        };
        assert_eq!(verifier.find_issuer(&parsed).map_err(|r| r.detail.into_owned()), Ok(Some(0)));
    }
}
