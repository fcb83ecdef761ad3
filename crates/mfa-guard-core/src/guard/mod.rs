//! The guard: one entry point from request parts to a principal or a rejection.
//!
//! [`Guard::check`] is the whole decision. Adapters that care about the cost of an
//! `async` state machine per request use [`Guard::evaluate`] instead: it decides
//! synchronously whenever no key has to be fetched (the overwhelmingly common case)
//! and only hands back a [`PendingCheck`] to await when one does.

mod admission;
#[cfg(feature = "browser")]
mod browser;
mod builder;
mod decide;
mod recent;
pub(crate) mod token_cache;

pub use admission::{Admission, Admitted, Anonymous, extract_caller};
pub use builder::GuardBuilder;

use std::sync::Arc;

use crate::adoption::{Adoption, AdoptionReport};
use crate::claims::{CallerKind, Claims};
use crate::error::BuildError;
use crate::metrics::{CheckDuration, RuleCounters};
use crate::path::{self, PathRules};
use crate::policy::{CompiledPolicy, CompiledRule, Requirement};
use crate::principal::{LazyClaims, Principal, VerifiedToken};
use crate::rejection::{Challenges, Refusal, Rejection};
use crate::request::RequestInfo;
use crate::time::Clock;
use crate::token::{check_credentials, locate_bearer};
use crate::verify::{Step, Verified, Verifier, Waiting, invalid};
use token_cache::TokenCache;

/// The engine. Build it once with [`Guard::builder`], clone it freely (it is an
/// `Arc`), and share it between every adapter of a process.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use mfa_guard_core::{Guard, KeySource};
///
/// let jwks = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig",
///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;
/// let keys = KeySource::jwks_json(jwks)?;
/// let guard = Guard::partner_center()
///     .verifier(|v| v.issuer("https://sts.windows.net/{tenantid}/").keys(keys).audience("https://api.partnercenter.microsoft.com"))
///     .build()?;
/// # let _ = guard;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
    /// Set by [`Guard::for_requirement`]: one requirement instead of the route table.
    fixed: Option<Arc<CompiledRule>>,
}

struct Inner {
    verifier: Verifier,
    policy: CompiledPolicy,
    challenges: Challenges,
    /// What an extractor answers on a route let through without a caller (the
    /// missing-token refusal, with the configured realm).
    anonymous: Anonymous,
    clock: Arc<dyn Clock>,
    max_header_bytes: usize,
    paths: PathRules,
    /// Decisions about paths refused before any rule was chosen, counted under
    /// the rule label `path`.
    path_counters: RuleCounters,
    token_cache: Option<TokenCache>,
    compliance_header: Option<Arc<str>>,
    /// MFA met or missed per client application.
    adoption: Adoption,
    check_duration: CheckDuration,
    /// Browser sign-in, sessions and step-up, when configured.
    #[cfg(feature = "browser")]
    browser: Option<Arc<crate::browser::BrowserMode>>,
}

/// The outcome of [`Guard::evaluate`].
#[derive(Debug)]
pub enum Evaluation {
    /// Decided without waiting.
    Ready(Admission),
    /// A key (or the issuer's metadata) must be fetched first; await
    /// [`PendingCheck::finish`].
    Pending(PendingCheck),
}

/// A check waiting for keys (or, in browser mode, for the identity provider). Owns
/// what it needs, so its future is `'static`.
pub struct PendingCheck(Pending);

/// Boxed: an evaluation is moved a few times on every request and waits only on a
/// cold start or a key rotation, so an [`Evaluation`] is three words (an
/// [`Admission`] and its tag), not 168 bytes; the assertion below keeps it so.
enum Pending {
    Token(Box<TokenCheck>),
    /// Browser mode's work with the provider (discovery, the code exchange).
    #[cfg(feature = "browser")]
    Browser(std::pin::Pin<Box<dyn std::future::Future<Output = Admission> + Send>>),
}

const _: () = assert!(std::mem::size_of::<Evaluation>() <= 3 * std::mem::size_of::<usize>());

struct TokenCheck {
    started: std::time::Instant,
    span: tracing::Span,
    guard: Guard,
    method: String,
    path: String,
    token: String,
    public: bool,
    state: Waiting,
    /// The request is gRPC: a refusal is rendered for it.
    grpc: bool,
}

impl std::fmt::Debug for PendingCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Pending::Token(t) => f
                .debug_struct("PendingCheck")
                .field("method", &t.method)
                .field("path", &t.path)
                .finish_non_exhaustive(),
            #[cfg(feature = "browser")]
            Pending::Browser(_) => f.write_str("PendingCheck(browser)"),
        }
    }
}

impl Guard {
    /// Starts building a guard, with no product preset: every route needs a valid
    /// token until a [`policy`](GuardBuilder::policy) says otherwise.
    pub fn builder() -> GuardBuilder {
        GuardBuilder::default()
    }

    /// Starts building a guard under Microsoft Partner Center's route table and
    /// role map ([`Policy::partner_center`](crate::Policy::partner_center)): the
    /// product preset is named where it is chosen, never implied by a default.
    pub fn partner_center() -> GuardBuilder {
        GuardBuilder::default().policy(crate::policy::Policy::partner_center())
    }

    /// A guard sharing this one's keys, caches and settings, that applies
    /// `requirement` to every request instead of looking the path up in the route
    /// table: for requirements written next to the routes they protect (axum's
    /// `route_layer`, actix's `scope(..).wrap(..)`).
    pub fn for_requirement(&self, requirement: &Requirement) -> Result<Guard, BuildError> {
        let label = format!("{:?} route requirement", requirement.access()).to_lowercase();
        let rule = self.inner.policy.fixed_rule(requirement, &label)?;
        Ok(Guard { inner: Arc::clone(&self.inner), fixed: Some(Arc::new(rule)) })
    }

    /// The rule of a request; `path` is the path as the router reads it.
    fn select(&self, method: &str, path: &str) -> &CompiledRule {
        match &self.fixed {
            Some(rule) => rule,
            None => self.inner.policy.select(method, path),
        }
    }

    /// The rule that decides a request, or why its path is refused before any rule
    /// is chosen: a path that cannot be read one way never falls through to a
    /// weaker rule.
    pub(crate) fn route(&self, req: &RequestInfo<'_>) -> Result<&CompiledRule, path::Unreadable> {
        let inner = &*self.inner;
        path::check(req.path, req.routed_path, inner.paths)?;
        let rule = self.select(req.method, req.routed_path());
        if inner.paths.confusables_refused()
            && self.fixed.is_none()
            && inner.policy.confusable(req.routed_path())
        {
            return Err(path::Unreadable::Confusable);
        }
        Ok(rule)
    }

    /// Checks a request: token present → valid → caller kind allowed → MFA → roles.
    pub async fn check(&self, req: &RequestInfo<'_>) -> Admission {
        match self.evaluate(req) {
            Evaluation::Ready(result) => result,
            Evaluation::Pending(pending) => pending.finish().await,
        }
    }

    /// Checks a request without waiting when no key has to be fetched.
    pub fn evaluate(&self, req: &RequestInfo<'_>) -> Evaluation {
        let started = std::time::Instant::now();
        // One span per check; `rule`, `decision` and `code` are recorded as they are
        // known. Nearly free when debug is off (the callsite's interest is cached).
        let span = tracing::debug_span!(
            "mfa_guard_check",
            method = req.method,
            rule = tracing::field::Empty,
            decision = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        let _entered = span.enter();
        let mut evaluation = self.evaluate_now(req, started, &span);
        #[cfg(feature = "browser")]
        if self.inner.browser.is_some() {
            evaluation = browser::render_for_navigation(req, evaluation);
        }
        if req.is_grpc() {
            evaluation = match evaluation {
                Evaluation::Ready(admission) => Evaluation::Ready(admission.for_grpc()),
                Evaluation::Pending(PendingCheck(Pending::Token(mut pending))) => {
                    pending.grpc = true;
                    Evaluation::Pending(PendingCheck(Pending::Token(pending)))
                }
                #[cfg(feature = "browser")]
                pending => pending,
            };
        }
        if let Evaluation::Ready(_) = evaluation {
            self.inner.check_duration.record(started);
        }
        evaluation
    }

    fn evaluate_now(
        &self,
        req: &RequestInfo<'_>,
        started: std::time::Instant,
        span: &tracing::Span,
    ) -> Evaluation {
        let inner = &*self.inner;
        let rule = match self.route(req) {
            Ok(rule) => rule,
            Err(unreadable) => {
                return Evaluation::Ready(Admission::Refused(self.refuse_path(unreadable, span)));
            }
        };
        #[cfg(feature = "browser")]
        if let Some(browser) = &inner.browser
            && let Some(evaluation) = browser.evaluate(self, req, rule, span)
        {
            return evaluation;
        }
        let public = rule.is_public();
        let credentials = match locate_bearer(req, inner.max_header_bytes) {
            Ok(Some(credentials)) => credentials,
            Ok(None) => {
                return Evaluation::Ready(self.refuse(rule, public, admission::missing_token(), span));
            }
            Err(refusal) => return Evaluation::Ready(self.refuse(rule, public, refusal, span)),
        };
        let now = inner.clock.now_unix();
        // A hit means these exact bytes were verified before; their syntax was
        // checked then, so only a miss pays for the full check.
        if let Some(cache) = &inner.token_cache
            && let Some((text, verified)) = cache.get(credentials, now)
        {
            return Evaluation::Ready(self.admit(rule, verified, LazyClaims::of_token(text), now, span));
        }
        let token = match check_credentials(credentials) {
            Ok(token) => token,
            Err(refusal) => return Evaluation::Ready(self.refuse(rule, public, refusal, span)),
        };
        match inner.verifier.verify_now(token.as_str(), now) {
            Step::Verified(verified) => Evaluation::Ready(match self.accept(token.as_str(), verified) {
                Ok((cached, claims)) => self.admit(rule, cached, LazyClaims::parsed(claims), now, span),
                Err(refusal) => self.refuse(rule, public, refusal, span),
            }),
            Step::Refused(refusal) => Evaluation::Ready(self.refuse(rule, public, refusal, span)),
            Step::Wait(state) => Evaluation::Pending(PendingCheck(Pending::Token(Box::new(TokenCheck {
                guard: self.clone(),
                method: req.method.to_owned(),
                path: req.routed_path().to_owned(),
                token: token.as_str().to_owned(),
                public,
                state,
                started,
                span: span.clone(),
                grpc: false,
            })))),
        }
    }

    /// A verified token becomes a caller: its kind decided (a token of no known kind
    /// is refused), its policy facts resolved, and the result remembered so the same
    /// bytes are not verified again.
    fn accept(&self, token: &str, verified: Verified) -> Result<(Arc<VerifiedToken>, Box<Claims>), Refusal> {
        let (claims, key) = verified.into_boxed_parts();
        let kind = claims.caller_kind().map_err(invalid)?;
        let mut cached = VerifiedToken::of(&claims, kind, Some(key), &self.inner.policy);
        // App-only callers are never counted; giving their applications a label
        // would only take labels from applications that have users.
        if kind.0 == CallerKind::User {
            cached = cached.counted_under(self.inner.adoption.tally(claims.client_id()));
        }
        let cached = Arc::new(cached);
        if let Some(cache) = &self.inner.token_cache {
            cache.insert(token.as_bytes(), &cached);
        }
        Ok((cached, claims))
    }

    /// Whether an already admitted caller would pass the route policy of `method`
    /// and `path` (for instance to show which areas a user can open), with the
    /// refusal the guard would send if not. Report-only routes admit, as they would.
    ///
    /// `path` is the path as the router reads it; a path that cannot be read one way
    /// is refused as the guard would refuse it.
    pub fn authorize(&self, principal: &Principal, method: &str, path: &str) -> Result<(), Rejection> {
        if let Err(unreadable) = path::check(path, None, self.inner.paths) {
            return Err(self.reject(unreadable.refusal()));
        }
        let rule = self.select(method, path);
        let token = principal.verified();
        let decision = self.inner.policy.authorize(
            rule,
            &token.subject(),
            &|| principal.claims(),
            self.inner.clock.now_unix(),
        );
        match decision.refusal {
            None => Ok(()),
            Some(refusal) => Err(rule.challenges.reject(refusal, token.cp1)),
        }
    }

    /// Dresses a refusal with this guard's challenge settings (for adapters that
    /// refuse on their own, e.g. an extractor used on a route the layer let through).
    pub fn reject(&self, refusal: Refusal) -> Rejection {
        self.inner.challenges.reject(refusal, false)
    }

    /// The answer for a request that carries no token (what an extractor sends when
    /// a handler needs a principal on a public route).
    pub fn missing_token(&self) -> Rejection {
        self.inner.anonymous.rejection().clone()
    }

    /// The name of the compliance header, when one is configured
    /// ([`GuardBuilder::compliance_header`]), lowercase.
    pub fn compliance_header(&self) -> Option<&str> {
        self.inner.compliance_header.as_deref()
    }

    /// MFA adoption per client application, counted since the guard was built:
    /// for each application (the token's `appid`, else `azp`), how many requests
    /// on rules that require MFA met the rule's requirement and how many missed
    /// it, on enforced and on report-only rules — what the compliance header calls
    /// `satisfied` and `missing`. Requests on rules without an MFA requirement and
    /// from app-only callers are not counted (they cannot miss it); nor are
    /// refused tokens. Browser sessions are counted under `browser`, tokens naming
    /// no application under `unknown`.
    ///
    /// Bounded: the first [`GuardBuilder::adoption_apps`] applications (default
    /// 100) each keep a label of their own, every later one is counted under
    /// `other`. Labels never move, because the same counts are Prometheus counters
    /// (`mfa_guard_mfa_adoption_total`, [`metrics`](crate::metrics)), which must only
    /// grow; so every count is exact and this report equals the scrape. `other`
    /// growing says the limit is below the number of applications calling.
    pub fn adoption(&self) -> AdoptionReport {
        self.inner.adoption.report()
    }

    /// The clock the guard reads.
    pub fn clock(&self) -> &dyn Clock {
        &*self.inner.clock
    }

    /// Browser mode, when configured (for the development issuer's session cookies).
    #[cfg(all(feature = "browser", feature = "dev-issuer"))]
    pub(crate) fn browser(&self) -> Option<&Arc<crate::browser::BrowserMode>> {
        self.inner.browser.as_ref()
    }

    /// Where a signed-in person signs out, when browser mode is on
    /// ([`Browser::sign_out_path`](crate::browser::Browser::sign_out_path)): the
    /// `action` of a sign-out button (a form that POSTs there) on the application's
    /// own pages.
    #[cfg(feature = "browser")]
    pub fn sign_out_path(&self) -> Option<&str> {
        self.inner.browser.as_ref().map(|b| b.settings.sign_out_path.as_str())
    }

    /// The paths browser mode answers itself whatever the route table says, when it
    /// is on: the callback (the redirect URI's path), sign-in, sign-out,
    /// signed-out and back-channel logout paths, in that order. A server that is
    /// asked about other servers' requests (`mfa-guard serve`) has the proxy send
    /// these to it.
    #[cfg(feature = "browser")]
    pub fn browser_paths(&self) -> Option<[&str; 5]> {
        self.inner.browser.as_ref().map(|b| {
            let s = &b.settings;
            [
                &*b.callback_path,
                &*s.sign_in_path,
                &*s.sign_out_path,
                &*s.signed_out_path,
                &*b.backchannel_path,
            ]
        })
    }

    /// The compiled route policy.
    pub(crate) fn policy(&self) -> &CompiledPolicy {
        &self.inner.policy
    }

    /// The verifier the guard checks tokens with (issuers, tenants, key sources,
    /// algorithms, audiences).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }
}

impl PendingCheck {
    /// Browser mode's pending work.
    #[cfg(feature = "browser")]
    pub(crate) fn browser(
        work: std::pin::Pin<Box<dyn std::future::Future<Output = Admission> + Send>>,
    ) -> Self {
        PendingCheck(Pending::Browser(work))
    }

    /// Fetches what is missing and finishes the check.
    pub async fn finish(self) -> Admission {
        match self.0 {
            Pending::Token(check) => (*check).finish().await,
            #[cfg(feature = "browser")]
            Pending::Browser(work) => work.await,
        }
    }
}

impl TokenCheck {
    async fn finish(self) -> Admission {
        use tracing::Instrument as _;
        let TokenCheck { guard, method, path, token, public, state, started, span, grpc } = self;
        let verified = guard.inner.verifier.finish(&token, state).instrument(span.clone()).await;
        let _entered = span.enter();
        let rule = guard.select(&method, &path);
        let result = match verified.and_then(|v| guard.accept(&token, v)) {
            Ok((cached, claims)) => {
                guard.admit(rule, cached, LazyClaims::parsed(claims), guard.inner.clock.now_unix(), &span)
            }
            Err(refusal) => guard.refuse(rule, public, refusal, &span),
        };
        guard.inner.check_duration.record(started);
        if grpc { result.for_grpc() } else { result }
    }
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("verifier", &self.inner.verifier)
            .field("fixed_requirement", &self.fixed.as_ref().map(|r| &r.label))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
