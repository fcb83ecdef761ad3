//! The caller a request was admitted for, and what the verified-token cache keeps.

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderName, HeaderValue};

use crate::adoption::AppTally;
use crate::claims::{CallerKind, Claims, KindRule};
use crate::keys::VerifyingKey;
use crate::policy::{CompiledPolicy, MfaEvidence, Rank, ResolvedRoles, Role, RoleMap, Subject};
use crate::rejection::Rejection;

/// What the verified-token cache keeps of a token: only what route policy and the
/// principal's usual accessors need, compactly (an entry costs about 270 bytes
/// beside moka's own ~370, so 100 000 cached tokens stay within 64 MiB). The full
/// claims are parsed again, lazily, only when a handler asks for them.
pub(crate) struct VerifiedToken {
    pub(crate) kind: CallerKind,
    pub(crate) kind_rule: KindRule,
    /// Whether the client handles claims challenges (`xms_cc` ∋ `cp1`).
    pub(crate) cp1: bool,
    /// Evidence of the strongest assurance level shown (its value is shared with
    /// the policy's accepted list), and that level's rank.
    pub(crate) mfa: Option<MfaEvidence>,
    pub(crate) level: Option<Rank>,
    /// The policy's level names, to name `level`.
    pub(crate) level_names: Arc<[Arc<str>]>,
    pub(crate) roles: ResolvedRoles,
    pub(crate) role_map: Arc<RoleMap>,
    /// `exp`, seconds since the epoch.
    pub(crate) exp: i64,
    /// `auth_time` for MFA freshness; [`NO_AUTH_TIME`] when absent (8 bytes, not 16).
    pub(crate) auth_time: i64,
    pub(crate) identity: Identity,
    /// The key that verified the signature (none for a browser session, whose ID
    /// token was verified at sign-in).
    pub(crate) key: Option<Arc<VerifyingKey>>,
    /// The adoption tally of the token's client application (`appid`, else `azp`),
    /// resolved once when the token was verified, so a request only adds to it.
    /// `None` for a browser session (counted under `browser`) and for app-only
    /// callers (never counted: no user to ask MFA of).
    pub(crate) app: Option<Arc<AppTally>>,
}

impl VerifiedToken {
    /// What the cache keeps of a verified token of caller `kind`, its policy facts
    /// resolved once.
    pub(crate) fn of(
        claims: &Claims,
        (kind, kind_rule): (CallerKind, KindRule),
        key: Option<Arc<VerifyingKey>>,
        policy: &CompiledPolicy,
    ) -> Self {
        let facts = policy.facts(claims, kind);
        Self {
            roles: facts.roles,
            role_map: Arc::clone(&policy.roles),
            mfa: facts.assurance.as_ref().map(|(_, e)| e.clone()),
            level: facts.assurance.map(|(rank, _)| rank),
            level_names: Arc::clone(policy.levels.names()),
            cp1: claims.xms_cc().is_some_and(|c| c.iter().any(|v| v == "cp1")),
            exp: claims.exp().map_or(0, |e| e.unix()),
            auth_time: facts.auth_time.unwrap_or(NO_AUTH_TIME),
            identity: Identity::of(claims),
            kind,
            kind_rule,
            key,
            app: None,
        }
    }

    /// The same, counted under the tally of its client application.
    pub(crate) fn counted_under(mut self, app: Arc<AppTally>) -> Self {
        self.app = Some(app);
        self
    }

    pub(crate) fn subject(&self) -> Subject {
        let auth_time = (self.auth_time != NO_AUTH_TIME).then_some(self.auth_time);
        Subject { kind: self.kind, level: self.level, auth_time, roles: self.roles }
    }
}

/// Marks an absent `auth_time` (NumericDates never reach `i64::MIN`).
pub(crate) const NO_AUTH_TIME: i64 = i64::MIN;

/// `oid`, `tid`, `sub` and the user name, in one allocation.
pub(crate) struct Identity {
    text: Box<str>,
    /// End offsets of the four fields in `text`; `u16::MAX` marks an absent one.
    ends: [u16; 4],
}

impl Identity {
    const ABSENT: u16 = u16::MAX;

    pub(crate) fn of(claims: &Claims) -> Self {
        let user_name = claims.upn().or(claims.preferred_username()).or(claims.unique_name());
        let fields = [claims.oid(), claims.tid(), claims.sub(), user_name];
        let mut text = String::with_capacity(fields.iter().flatten().map(|f| f.len()).sum());
        let mut ends = [Self::ABSENT; 4];
        for (i, field) in fields.iter().enumerate() {
            if let Some(f) = field {
                text.push_str(f);
                // Tokens are capped at 16 KiB, so offsets fit in u16 short of the marker.
                ends[i] = u16::try_from(text.len()).unwrap_or(Self::ABSENT - 1).min(Self::ABSENT - 1);
            }
        }
        Self { text: text.into_boxed_str(), ends }
    }

    fn get(&self, i: usize) -> Option<&str> {
        if self.ends[i] == Self::ABSENT {
            return None;
        }
        let start = self.ends[..i].iter().rev().find(|&&e| e != Self::ABSENT).map_or(0, |&e| usize::from(e));
        self.text.get(start..usize::from(self.ends[i]))
    }
}

/// A verified token's full claims: already parsed (a verification that just
/// happened), or its text, parsed on the first ask (a cache hit; only a handler or a
/// claim check asks).
#[derive(Clone)]
pub(crate) struct LazyClaims {
    claims: OnceLock<Claims>,
    /// Claims shared with a cache (a browser session opened before).
    shared: Option<Arc<Claims>>,
    /// The token, copied as is (a plain memcpy; finding its payload segment waits
    /// until someone asks), shared with the cache's per-thread level.
    token_text: Option<Arc<[u8]>>,
}

impl LazyClaims {
    pub(crate) fn parsed(claims: Box<Claims>) -> Self {
        Self { claims: OnceLock::from(*claims), shared: None, token_text: None }
    }

    pub(crate) fn of_token(text: Arc<[u8]>) -> Self {
        Self { claims: OnceLock::new(), shared: None, token_text: Some(text) }
    }

    /// The claims. The token verified, so parsing cannot fail; an empty set would
    /// be returned if it somehow did.
    /// Claims already parsed and shared (no copy).
    #[cfg(feature = "browser")]
    pub(crate) fn shared(claims: Arc<Claims>) -> Self {
        Self { claims: OnceLock::new(), shared: Some(claims), token_text: None }
    }

    pub(crate) fn get(&self) -> &Claims {
        if let Some(shared) = &self.shared {
            return shared;
        }
        self.claims.get_or_init(|| {
            self.token_text
                .as_deref()
                .and_then(|t| t.split(|&b| b == b'.').nth(1))
                .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
                .and_then(|json| crate::claims::parse_claims(&json).ok())
                .unwrap_or_default()
        })
    }
}

/// The verified caller of a request.
///
/// Adapters put it in the request's extensions; handlers read it (axum and actix
/// extractors do). Cheap to clone.
#[derive(Clone)]
pub struct Principal(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    token: Arc<VerifiedToken>,
    claims: LazyClaims,
    report: Option<Rejection>,
    compliance: Option<(Arc<str>, &'static str)>,
    /// Headers for the handler's response besides the compliance signal (browser
    /// mode: the session cookie written again, and how the response may be cached),
    /// typed once here so an adapter on the `http` crate neither parses nor copies
    /// them (see [`HeaderSink::merge_typed`](crate::HeaderSink::merge_typed)).
    headers: Vec<(HeaderName, HeaderValue, HeaderMerge)>,
    /// The label of the rule that admitted the request (its name, else its pattern).
    rule: Arc<str>,
}

/// How an adapter puts one of core's headers on the response of the handler it
/// called (see [`Principal::response_edits`]). Core decides which; the adapter
/// only translates each into its framework's header operation.
///
/// Exhaustive on purpose, as [`Admission`](crate::Admission) is: a new way of
/// merging must make every adapter fail to compile until it handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderMerge {
    /// Added beside any value the handler set (`set-cookie`, the compliance
    /// signal).
    Append,
    /// Instead of every value the handler set (`cache-control: private, no-store`
    /// on a response that writes the session cookie: no cache may keep it, whatever
    /// the handler said).
    Replace,
    /// Only when the handler set none (`cache-control: private` on a page made
    /// for a signed-in person: a shared cache must not hand it to the next one).
    IfAbsent,
}

impl Principal {
    pub(crate) fn new(
        token: Arc<VerifiedToken>,
        claims: LazyClaims,
        report: Option<Rejection>,
        compliance: Option<(Arc<str>, &'static str)>,
        rule: Arc<str>,
    ) -> Self {
        Self(Arc::new(Inner { token, claims, report, compliance, headers: Vec::new(), rule }))
    }

    pub(crate) fn verified(&self) -> &VerifiedToken {
        &self.0.token
    }

    /// The refusal report-only mode let through: what this request would have
    /// been answered had the route been enforced. `None` when the policy admitted it.
    pub fn report_only_refusal(&self) -> Option<&Rejection> {
        self.0.report.as_ref()
    }

    /// Headers core puts on the response of the handler this request reaches, each
    /// with how it meets the handler's own: the compliance signal (when
    /// configured), and in browser mode the session cookie written again and the
    /// response's `cache-control`. Names are lowercase; a name may repeat. An
    /// adapter in front of a handler applies every one of them as its
    /// [`HeaderMerge`] says.
    pub fn response_edits(&self) -> impl Iterator<Item = (&str, &str, HeaderMerge)> {
        let typed = self.0.headers.iter().filter_map(|(n, v, m)| Some((n.as_str(), v.to_str().ok()?, *m)));
        self.compliance().map(|(n, v)| (n, v, HeaderMerge::Append)).into_iter().chain(typed)
    }

    /// The compliance signal of [`response_edits`](Self::response_edits), when configured.
    pub(crate) fn compliance(&self) -> Option<(&str, &str)> {
        self.0.compliance.as_ref().map(|(n, v)| (&**n, *v))
    }

    /// The other [`response_edits`](Self::response_edits), typed.
    pub(crate) fn typed_edits(&self) -> &[(HeaderName, HeaderValue, HeaderMerge)] {
        &self.0.headers
    }

    /// The names and values of [`response_edits`](Self::response_edits), for an
    /// answer that has no handler response to merge into (a forward-auth
    /// authorizer's own `200`).
    pub fn response_headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.response_edits().map(|(n, v, _)| (n, v))
    }

    /// The same caller, whose handler's response also gets this header.
    #[cfg(feature = "browser")]
    pub(crate) fn with_response_header(
        mut self,
        name: HeaderName,
        value: HeaderValue,
        merge: HeaderMerge,
    ) -> Self {
        // Called on a principal just made, so this does not copy; were it shared,
        // the copy keeps the header rather than losing it.
        Arc::make_mut(&mut self.0).headers.push((name, value, merge));
        self
    }

    /// App+User or app-only.
    pub fn kind(&self) -> CallerKind {
        self.0.token.kind
    }

    /// Which rule decided [`kind`](Self::kind).
    pub fn kind_rule(&self) -> KindRule {
        self.0.token.kind_rule
    }

    /// `oid`: the caller's object id.
    pub fn oid(&self) -> Option<&str> {
        self.0.token.identity.get(0)
    }

    /// `tid`: the tenant id.
    pub fn tid(&self) -> Option<&str> {
        self.0.token.identity.get(1)
    }

    /// `sub`: the subject.
    pub fn sub(&self) -> Option<&str> {
        self.0.token.identity.get(2)
    }

    /// `upn`, or for tokens without one `preferred_username` or `unique_name`.
    pub fn upn(&self) -> Option<&str> {
        self.0.token.identity.get(3)
    }

    /// The roles the caller holds under the guard's role map, in map order.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        let token = &self.0.token;
        let held = token.roles.held;
        token.role_map.roles().enumerate().filter(move |(i, _)| held.contains(*i)).map(|(_, r)| r)
    }

    /// Whether the caller holds `role`.
    pub fn has_role(&self, role: &Role) -> bool {
        let token = &self.0.token;
        token.role_map.index_of(role).is_some_and(|i| token.roles.held.contains(i))
    }

    /// Whether the token shows MFA (accepted `amr`, or configured `acrs`/`acr`).
    /// Always false for app-only callers, who have no user to authenticate.
    pub fn mfa(&self) -> bool {
        self.0.token.mfa.is_some()
    }

    /// What showed MFA, if anything did: the evidence of the strongest assurance
    /// level shown.
    pub fn mfa_evidence(&self) -> Option<&MfaEvidence> {
        self.0.token.mfa.as_ref()
    }

    /// The strongest assurance level the caller showed evidence of (`mfa`, or a
    /// stronger level of the policy's), if any.
    pub fn assurance_level(&self) -> Option<&str> {
        let token = &self.0.token;
        token.level.and_then(|rank| token.level_names.get(usize::from(rank))).map(|n| &**n)
    }

    /// The rule that admitted the request: its name, or its pattern when it has
    /// none (as logs and metrics label it).
    pub fn rule(&self) -> &str {
        &self.0.rule
    }

    /// `auth_time`: when the user authenticated, seconds since the epoch.
    pub fn auth_time(&self) -> Option<i64> {
        let t = self.0.token.auth_time;
        (t != NO_AUTH_TIME).then_some(t)
    }

    /// When the token (or browser session) that admitted the request expires,
    /// seconds since the epoch: nothing vouching for this caller should outlive it.
    pub fn expires_at(&self) -> i64 {
        self.0.token.exp
    }

    /// `kid` of the key that verified the token.
    pub fn kid(&self) -> Option<&str> {
        self.0.token.key.as_deref().and_then(VerifyingKey::kid)
    }

    /// All claims. On a request admitted from the verified-token cache they are
    /// parsed on the first call (the token verified, so this cannot fail; an empty
    /// set would be returned if it somehow did).
    pub fn claims(&self) -> &Claims {
        self.0.claims.get()
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("kind", &self.kind())
            .field("oid", &self.oid())
            .field("tid", &self.tid())
            .field("roles", &self.roles().map(Role::name).collect::<Vec<_>>())
            .field("mfa", &self.mfa())
            .field("report_only_refusal", &self.0.report.as_ref().map(Rejection::code))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_fields_come_back_whatever_is_absent() {
        let claims = Claims::from_json(br#"{"oid":"o-1","sub":"s","preferred_username":"u@x"}"#).unwrap();
        let id = Identity::of(&claims);
        assert_eq!((id.get(0), id.get(1), id.get(2), id.get(3)), (Some("o-1"), None, Some("s"), Some("u@x")));
        let empty = Identity::of(&Claims::default());
        assert_eq!((empty.get(0), empty.get(3)), (None, None));
        let all = Identity::of(&Claims::from_json(br#"{"oid":"","tid":"t","sub":"","upn":"p"}"#).unwrap());
        assert_eq!(
            (all.get(0), all.get(1), all.get(2), all.get(3)),
            (Some(""), Some("t"), Some(""), Some("p"))
        );
    }
}
