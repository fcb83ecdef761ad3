//! Building a [`Guard`]: every setting checked once, with an error that says what to fix.

use std::sync::Arc;

use super::token_cache::{DEFAULT_TOKEN_CACHE_CAPACITY, TokenCache};
use super::{Guard, Inner};
use crate::adoption::{Adoption, DEFAULT_ADOPTION_APPS};
use crate::error::BuildError;
use crate::path::PathRules;
use crate::policy::Policy;
use crate::rejection::{BodyRenderer, ChallengeStyle, Challenges, CustomBody, Rejection};
use crate::token::DEFAULT_MAX_HEADER_BYTES;
use crate::verify::VerifierBuilder;

/// Builds a [`Guard`]. Start with [`Guard::builder`] (no preset), or with
/// [`Guard::partner_center`] for Partner Center's route table.
///
/// Token verification — issuers and their keys, audiences, tenants, algorithms,
/// leeway, the clock — is set in [`verifier`](Self::verifier), on the guard's
/// [`VerifierBuilder`]; everything here is what the guard adds to a verified token:
/// the route policy, how refusals are phrased, caches and limits.
#[derive(Debug)]
#[must_use]
pub struct GuardBuilder {
    verifier: VerifierBuilder,
    policy: Policy,
    style: ChallengeStyle,
    realm: Option<String>,
    acr_values: Option<String>,
    authorization_uri: Option<String>,
    auth_context: Option<String>,
    max_header_bytes: usize,
    paths: PathRules,
    token_cache_capacity: u64,
    compliance_header: Option<String>,
    adoption_apps: usize,
    body: Option<BodyRenderer>,
    #[cfg(feature = "browser")]
    browser: Option<crate::browser::Browser>,
}

impl Default for GuardBuilder {
    fn default() -> Self {
        Self {
            verifier: VerifierBuilder::default(),
            policy: Policy::new(),
            style: ChallengeStyle::PartnerCenter,
            realm: None,
            acr_values: None,
            authorization_uri: None,
            auth_context: None,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            paths: PathRules::default(),
            token_cache_capacity: DEFAULT_TOKEN_CACHE_CAPACITY,
            compliance_header: None,
            adoption_apps: DEFAULT_ADOPTION_APPS,
            body: None,
            #[cfg(feature = "browser")]
            browser: None,
        }
    }
}

impl GuardBuilder {
    /// Verification settings — issuers and their keys, audiences, tenants,
    /// algorithms, leeway, token lifetime and the clock — set on the guard's
    /// [`VerifierBuilder`], the one place each of them is set:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mfa_guard_core::{Guard, KeySource};
    ///
    /// # let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    /// let keys = KeySource::jwks_json(jwks)?;
    /// let guard = Guard::partner_center()
    ///     .verifier(|v| v.issuer("https://issuer.example/").keys(keys).audience("api://reports"))
    ///     .build()?;
    /// # let _ = guard;
    /// # Ok(()) }
    /// ```
    ///
    /// Calls add to what earlier calls (or a configuration file's
    /// [`builder`](crate::Config::builder)) set. The verifier's clock is the
    /// guard's: token caches, sessions and freshness run on it too.
    pub fn verifier(mut self, settings: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> Self {
        self.verifier = settings(self.verifier);
        self
    }

    /// The route policy (default: [`Policy::new`], every route needs a valid
    /// token and no role is defined; [`Guard::partner_center`] starts from
    /// Partner Center's).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// How the MFA refusal is phrased (default: Partner Center's).
    pub fn challenge_style(mut self, style: ChallengeStyle) -> Self {
        self.style = style;
        self
    }

    /// A `realm` for challenges (not added to the exact Partner Center MFA answer).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Step-up style: the `acr_values` to ask for.
    pub fn step_up_acr_values(mut self, acr_values: impl Into<String>) -> Self {
        self.acr_values = Some(acr_values.into());
        self
    }

    /// Entra claims-challenge style: where clients re-authenticate, and the
    /// authentication context id (e.g. `c1`) to ask for.
    pub fn entra_claims(
        mut self,
        authorization_uri: impl Into<String>,
        auth_context: impl Into<String>,
    ) -> Self {
        self.authorization_uri = Some(authorization_uri.into());
        self.auth_context = Some(auth_context.into());
        self
    }

    /// Cap on the `Authorization` header value (default 16 KiB).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Which request paths are refused before a rule is chosen (default: every
    /// form that routers read differently; see [`PathRules`]).
    pub fn path_rules(mut self, rules: PathRules) -> Self {
        self.paths = rules;
        self
    }

    /// Entries of the verified-token cache (default 10 000; 0 disables it, so every
    /// request verifies its token's signature).
    pub fn token_cache_capacity(mut self, entries: u64) -> Self {
        self.token_cache_capacity = entries;
        self
    }

    /// Sends a response header of this name (off by default) telling the client
    /// whether its token satisfied MFA for the route: `satisfied`, `missing`,
    /// `not-required`, or `not-applicable` for app-only tokens — on enforced and
    /// report-only routes alike, so client teams find their gaps before enforcement.
    pub fn compliance_header(mut self, name: impl Into<String>) -> Self {
        self.compliance_header = Some(name.into());
        self
    }

    /// How many client applications the MFA adoption counts name (default 100):
    /// the first this many applications seen keep a label of their own, every
    /// later one is counted under `other` ([`Guard::adoption`] says why). Each
    /// named application is four Prometheus series.
    pub fn adoption_apps(mut self, apps: usize) -> Self {
        self.adoption_apps = apps;
        self
    }

    /// Renders the body of refusals with `render` instead of problem+json, where it
    /// returns one: an HTML page, the JSON shape of an existing API. The status line
    /// (`401 Unauthorized - MFA required` included), `WWW-Authenticate` and
    /// `Retry-After` stay the guard's; only the body and its media type change.
    /// `render` runs once per refusal and sees the whole [`Rejection`] (code,
    /// status, title, description).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use mfa_guard_core::rejection::CustomBody;
    /// use mfa_guard_core::{Guard, KeySource, RejectionCode, Refusal};
    ///
    /// # let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
    /// let keys = KeySource::jwks_json(jwks)?;
    /// let guard = Guard::partner_center()
    ///     .verifier(|v| v.issuer("https://issuer.example/").keys(keys).audience("api://reports"))
    ///     .refusal_body(|refusal| {
    ///         let json = serde_json::json!({ "error": { "code": refusal.code().as_str(), "message": refusal.detail() } });
    ///         Some(CustomBody::new("application/json", json.to_string()))
    ///     })
    ///     .build()?;
    /// let r = guard.reject(Refusal::new(RejectionCode::MfaRequired, "MFA needed"));
    /// assert_eq!(r.content_type(), "application/json");
    /// assert_eq!(r.reason_phrase(), Some("Unauthorized - MFA required"));
    /// # Ok(()) }
    /// ```
    pub fn refusal_body(
        mut self,
        render: impl Fn(&Rejection) -> Option<CustomBody> + Send + Sync + 'static,
    ) -> Self {
        self.body = Some(BodyRenderer(Arc::new(render)));
        self
    }

    /// Signs people in with a browser (OpenID Connect), keeps their session in an
    /// encrypted cookie, and steps them up to MFA where a page needs it; see
    /// [`browser`](crate::browser). Bearer-token requests are decided as without it.
    #[cfg(feature = "browser")]
    pub fn browser(mut self, browser: crate::browser::Browser) -> Self {
        self.browser = Some(browser);
        self
    }

    /// Checks every setting and builds the guard.
    pub fn build(self) -> Result<Guard, BuildError> {
        let clock = self.verifier.shared_clock();
        let verifier = self.verifier.build_quietly()?;
        if self.max_header_bytes < 256 {
            return Err(BuildError::MaxHeaderBytes { bytes: self.max_header_bytes });
        }
        let mut challenges = Challenges {
            style: self.style,
            realm: self.realm,
            acr_values: self.acr_values,
            max_age: self.policy.mfa_policy().max_age_secs(),
            authorization_uri: self.authorization_uri,
            claims: None,
            auth_context: None,
            body: self.body,
        };
        if let Some(r) = &challenges.realm
            && !r.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            return Err(BuildError::Realm);
        }
        match self.style {
            ChallengeStyle::StepUp if challenges.acr_values.is_none() => {
                return Err(BuildError::StepUpWithoutAcrValues);
            }
            ChallengeStyle::EntraClaims => {
                let (Some(_), Some(ctx)) = (&challenges.authorization_uri, &self.auth_context) else {
                    return Err(BuildError::EntraClaimsWithoutContext);
                };
                challenges.ask_for_context(ctx);
            }
            _ => {}
        }
        // The guard's settings are the defaults of every rule's own.
        let policy = self.policy.compile_with(&challenges)?;
        let compliance_header = match self.compliance_header {
            None => None,
            Some(name) => {
                let valid = !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
                let reserved =
                    ["content-type", "www-authenticate", "retry-after", "content-length", "authorization"]
                        .iter()
                        .any(|r| name.eq_ignore_ascii_case(r));
                if !valid || reserved {
                    return Err(BuildError::ComplianceHeader { name });
                }
                Some(Arc::from(name.to_ascii_lowercase()))
            }
        };
        #[cfg(feature = "browser")]
        let browser = match self.browser {
            Some(b) => Some(Arc::new(b.build(&verifier)?)),
            None => None,
        };
        // Only once everything else is known to be right: a guard that is not built
        // admits no one.
        verifier.warn_if_any_tenant();
        let token_cache =
            TokenCache::new(self.token_cache_capacity, Arc::clone(&clock), verifier.leeway_secs());
        Ok(Guard {
            inner: Arc::new(Inner {
                verifier,
                policy,
                anonymous: super::Anonymous(challenges.reject(super::admission::missing_token(), false)),
                challenges,
                clock,
                max_header_bytes: self.max_header_bytes,
                paths: self.paths,
                path_counters: Default::default(),
                token_cache,
                compliance_header,
                adoption: Adoption::new(self.adoption_apps),
                check_duration: Default::default(),
                #[cfg(feature = "browser")]
                browser,
            }),
            fixed: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::{Admission, Evaluation, Guard, KeySource, RejectionCode, RequestInfo};

    const JWKS: &[u8] = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    fn health(guard: &Guard) -> Result<(), RejectionCode> {
        match guard.evaluate(&RequestInfo::new("GET", "/health")) {
            Evaluation::Ready(Admission::Anonymous(_)) => Ok(()),
            Evaluation::Ready(Admission::Refused(r)) => Err(r.code()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_plain_builder_implies_no_product_preset() {
        let keys = KeySource::jwks_json(JWKS).unwrap();
        // Settings given in several calls add up, in one place: the verifier.
        let plain = Guard::builder()
            .verifier(|v| v.issuer("https://issuer.example/").keys(keys.clone()))
            .verifier(|v| v.audience("api://x"))
            .build()
            .unwrap();
        assert_eq!(health(&plain), Err(RejectionCode::MissingToken), "every route needs a token");
        let preset = Guard::partner_center()
            .verifier(|v| v.issuer("https://issuer.example/").keys(keys).audience("api://x"))
            .build()
            .unwrap();
        assert_eq!(health(&preset), Ok(()), "Partner Center's /health is public");
    }
}
