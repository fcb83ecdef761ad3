//! How a refusal asks for more: the challenge settings every rule resolves once,
//! when the guard is built, from the guard's defaults and the rule's own
//! [`Challenge`], assurance level and freshness — and the rendering of a refusal
//! with them ([`Challenges::reject`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{
    ChallengeStyle, Inner, MFA_REQUIRED_REASON, Refusal, Rejection, RejectionCode, render_bearer,
    sanitize_description,
};

/// Where Entra's claims challenge sends a client to authenticate again, unless the
/// guard is configured with another (`authorization_uri`).
pub(crate) const ENTRA_AUTHORIZATION_URI: &str = "https://login.microsoftonline.com/common/oauth2/authorize";

/// How a rule asks for more when a user's authentication is not strong or recent
/// enough: the `mfa_required` refusal's challenge, chosen per rule
/// ([`Requirement::challenge`](crate::Requirement::challenge)); a rule without one
/// uses the guard's challenge style.
///
/// Written in configuration as `partner-center`, `step-up`, `step-up:<acr_values>`,
/// `entra-claims` or `entra:<auth-context-id>`.
///
/// ```
/// use mfa_guard_core::Challenge;
///
/// let c: Challenge = "entra:c2".parse().unwrap();
/// assert_eq!(c, Challenge::EntraClaims { auth_context: Some("c2".into()) });
/// assert!("entra:c 2".parse::<Challenge>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// Partner Center's answer: `401 Unauthorized - MFA required`, exactly
    /// `Bearer error="invalid_token"`.
    PartnerCenter,
    /// RFC 9470: `error="insufficient_user_authentication"` with `acr_values` and the
    /// rule's `max_age`.
    StepUp {
        /// The `acr_values` to ask for; `None`: the rule's assurance level's `acr`
        /// values, else the guard's.
        acr_values: Option<String>,
    },
    /// Entra's claims challenge (`error="insufficient_claims"`) asking for an
    /// authentication context, to clients whose token holds `xms_cc` ∋ `cp1`;
    /// others get Partner Center's answer.
    EntraClaims {
        /// The context id (`c2`); `None`: the rule's assurance level's first `acrs`
        /// value, else the guard's.
        auth_context: Option<String>,
    },
}

/// A challenge that is not `partner-center`, `step-up[:<acr_values>]`,
/// `entra-claims` or `entra:<auth-context-id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a challenge: write partner-center, step-up, step-up:<acr_values>, entra-claims or entra:<auth-context-id>"
)]
pub struct InvalidChallenge(String);

impl std::str::FromStr for Challenge {
    type Err = InvalidChallenge;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidChallenge(text.chars().take(80).collect());
        let visible = |v: &str| {
            !v.is_empty()
                && v.len() <= 256
                && v.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        };
        let context = |v: &str| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        match text.trim().split_once(':') {
            None => match text.trim() {
                "partner-center" => Ok(Challenge::PartnerCenter),
                "step-up" => Ok(Challenge::StepUp { acr_values: None }),
                "entra-claims" | "entra" => Ok(Challenge::EntraClaims { auth_context: None }),
                _ => Err(bad()),
            },
            Some(("step-up", v)) if visible(v.trim()) => {
                Ok(Challenge::StepUp { acr_values: Some(v.trim().to_owned()) })
            }
            Some(("entra", v)) if context(v.trim()) => {
                Ok(Challenge::EntraClaims { auth_context: Some(v.trim().to_owned()) })
            }
            Some(_) => Err(bad()),
        }
    }
}

impl Challenge {
    fn style(&self) -> ChallengeStyle {
        match self {
            Challenge::PartnerCenter => ChallengeStyle::PartnerCenter,
            Challenge::StepUp { .. } => ChallengeStyle::StepUp,
            Challenge::EntraClaims { .. } => ChallengeStyle::EntraClaims,
        }
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Challenge::PartnerCenter => f.write_str("partner-center"),
            Challenge::StepUp { acr_values: None } => f.write_str("step-up"),
            Challenge::StepUp { acr_values: Some(v) } => write!(f, "step-up:{v}"),
            Challenge::EntraClaims { auth_context: None } => f.write_str("entra-claims"),
            Challenge::EntraClaims { auth_context: Some(c) } => write!(f, "entra:{c}"),
        }
    }
}

/// What a rule's assurance level can be asked for with, when it is not the base
/// level (the base level is asked for with the guard's own settings).
#[derive(Debug, Default)]
pub(crate) struct Ask<'a> {
    /// The level's `acr` values.
    pub(crate) acr_values: Vec<&'a str>,
    /// The level's first authentication context.
    pub(crate) auth_context: Option<&'a str>,
}

/// The settings that shape challenges, resolved once when the guard is built.
#[derive(Debug, Clone, Default)]
pub(crate) struct Challenges {
    pub(crate) style: ChallengeStyle,
    pub(crate) realm: Option<String>,
    /// Step-up: `acr_values` to ask for.
    pub(crate) acr_values: Option<String>,
    /// Step-up: `max_age` to ask for (from MFA freshness).
    pub(crate) max_age: Option<u64>,
    /// Entra claims challenge: where to re-authenticate.
    pub(crate) authorization_uri: Option<String>,
    /// Entra claims challenge: base64url of the claims request JSON.
    pub(crate) claims: Option<String>,
    /// Entra claims challenge: the authentication context `claims` asks for (kept
    /// beside it so an explanation can name it; set with [`Self::ask_for_context`]).
    pub(crate) auth_context: Option<String>,
    /// The application's own rendering of refusal bodies, if any.
    pub(crate) body: Option<BodyRenderer>,
}

/// The application's rendering of refusal bodies ([`GuardBuilder::refusal_body`](crate::GuardBuilder::refusal_body)).
#[derive(Clone)]
pub(crate) struct BodyRenderer(pub(crate) Arc<RenderBody>);

/// What [`BodyRenderer`] calls.
pub(crate) type RenderBody = dyn Fn(&Rejection) -> Option<CustomBody> + Send + Sync;

impl fmt::Debug for BodyRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyRenderer")
    }
}

/// A refusal body of the application's own: its media type and bytes. The status
/// line and headers stay the guard's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomBody {
    pub(super) content_type: String,
    pub(super) bytes: Vec<u8>,
}

impl CustomBody {
    /// A body of this media type (e.g. `text/html; charset=utf-8`). A media type
    /// that is not visible ASCII, or longer than 200 bytes, is not sent: the
    /// refusal keeps its problem+json body, and the mistake is logged.
    pub fn new(content_type: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self { content_type: content_type.into(), bytes: bytes.into() }
    }

    fn is_sendable(&self) -> bool {
        !self.content_type.is_empty()
            && self.content_type.len() <= 200
            && self.content_type.bytes().all(|b| (0x20..0x7f).contains(&b))
    }
}

/// What a rule's challenge lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeProblem {
    /// A step-up challenge without `acr_values`.
    #[error(
        "the step-up challenge needs acr_values: write step-up:<acr_values>, or give the rule's assurance level acr values"
    )]
    StepUpWithoutAcrValues,
    /// An Entra claims challenge without an authentication context.
    #[error(
        "the entra-claims challenge needs an authentication context: write entra:<id>, or give the rule's assurance level an acrs value"
    )]
    EntraClaimsWithoutContext,
}

impl Challenges {
    /// The settings of a rule: these defaults, with the rule's own challenge,
    /// freshness (`max_age`) and what its assurance level can be asked for with
    /// (`ask`, for a level above the base one). A rule that changes nothing gets
    /// the defaults as they are, so its answers are the guard's byte for byte.
    pub(crate) fn for_rule(
        &self,
        challenge: Option<&Challenge>,
        max_age: Option<u64>,
        ask: Option<Ask<'_>>,
    ) -> Result<Challenges, ChallengeProblem> {
        let mut rule = self.clone();
        if let Some(max_age) = max_age {
            rule.max_age = Some(max_age);
        }
        if let Some(c) = challenge {
            rule.style = c.style();
        }
        let ask = ask.unwrap_or_default();
        let explicit_acr = match challenge {
            Some(Challenge::StepUp { acr_values: Some(v) }) => Some(v.clone()),
            _ => None,
        };
        if let Some(acr) =
            explicit_acr.or_else(|| (!ask.acr_values.is_empty()).then(|| ask.acr_values.join(" ")))
        {
            rule.acr_values = Some(acr);
        }
        let explicit_context = match challenge {
            Some(Challenge::EntraClaims { auth_context: Some(c) }) => Some(c.as_str()),
            _ => None,
        };
        if let Some(context) = explicit_context.or(ask.auth_context) {
            rule.ask_for_context(context);
        }
        match rule.style {
            ChallengeStyle::StepUp if rule.acr_values.is_none() => {
                Err(ChallengeProblem::StepUpWithoutAcrValues)
            }
            ChallengeStyle::EntraClaims if rule.claims.is_none() => {
                Err(ChallengeProblem::EntraClaimsWithoutContext)
            }
            ChallengeStyle::EntraClaims => {
                rule.authorization_uri.get_or_insert_with(|| ENTRA_AUTHORIZATION_URI.to_owned());
                Ok(rule)
            }
            _ => Ok(rule),
        }
    }

    /// Entra's claims challenge asks for `auth_context`.
    pub(crate) fn ask_for_context(&mut self, auth_context: &str) {
        self.claims = Some(Self::entra_claims_for(auth_context));
        self.auth_context = Some(auth_context.to_owned());
    }

    /// Builds the Entra claims-challenge value asking for an authentication context.
    pub(crate) fn entra_claims_for(auth_context: &str) -> String {
        let json = serde_json::json!({
            "access_token": { "acrs": { "essential": true, "value": auth_context } }
        });
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Dresses a refusal as a response. `client_handles_claims` is whether the
    /// token's `xms_cc` holds `cp1` (only the Entra style looks at it).
    pub(crate) fn reject(&self, refusal: Refusal, client_handles_claims: bool) -> Rejection {
        let Refusal { code, detail, retry_after, describe } = refusal;
        let detail: Cow<'static, str> = match detail {
            Cow::Borrowed(s) if is_clean(s) => Cow::Borrowed(s),
            other => Cow::Owned(sanitize_description(&other)),
        };
        let realm = self.realm.as_deref().map(|r| ("realm", r));
        let mut reason = None;
        let www_authenticate = match code {
            RejectionCode::MissingToken => Some(render_bearer(realm)),
            RejectionCode::InvalidRequest => Some(render_bearer(
                realm
                    .into_iter()
                    .chain([("error", "invalid_request")])
                    .chain(describe.then_some(("error_description", &*detail))),
            )),
            RejectionCode::InvalidToken => Some(render_bearer(
                realm.into_iter().chain([("error", "invalid_token"), ("error_description", &*detail)]),
            )),
            RejectionCode::AppOnlyNotAllowed
            | RejectionCode::InsufficientRole
            | RejectionCode::GroupsOverage
            | RejectionCode::ClaimCheckFailed => {
                Some(render_bearer(realm.into_iter().chain([("error", "insufficient_scope")])))
            }
            RejectionCode::KeySourceUnavailable => None,
            RejectionCode::MfaRequired => match self.style {
                ChallengeStyle::StepUp => {
                    let max_age = self.max_age.map(|s| s.to_string());
                    let params = realm
                        .into_iter()
                        .chain([
                            ("error", "insufficient_user_authentication"),
                            ("error_description", &*detail),
                        ])
                        .chain(self.acr_values.as_deref().map(|v| ("acr_values", v)))
                        .chain(max_age.as_deref().map(|v| ("max_age", v)));
                    Some(render_bearer(params))
                }
                ChallengeStyle::EntraClaims if client_handles_claims => Some(render_bearer([
                    ("realm", ""),
                    ("authorization_uri", self.authorization_uri.as_deref().unwrap_or("")),
                    ("error", "insufficient_claims"),
                    ("claims", self.claims.as_deref().unwrap_or("")),
                ])),
                ChallengeStyle::PartnerCenter | ChallengeStyle::EntraClaims => {
                    reason = Some(MFA_REQUIRED_REASON);
                    Some(r#"Bearer error="invalid_token""#.to_owned())
                }
            },
        };
        let retry_after = match code {
            RejectionCode::KeySourceUnavailable => Some(retry_after.unwrap_or(30)),
            _ => None,
        };
        let mut rejection = Rejection(Arc::new(Inner {
            code,
            detail,
            reason,
            www_authenticate,
            retry_after,
            extra: None,
            body: None,
            grpc: false,
        }));
        if let Some(BodyRenderer(render)) = &self.body
            && let Some(body) = render(&rejection)
        {
            if body.is_sendable() {
                Arc::make_mut(&mut rejection.0).body = Some(Arc::new(body));
            } else {
                tracing::error!(
                    code = %rejection.code(),
                    "the refusal body renderer gave an unusable media type; sending the problem+json body instead"
                );
            }
        }
        rejection
    }
}

fn is_clean(s: &str) -> bool {
    s.len() <= 300 && s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}
