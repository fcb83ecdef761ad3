//! How the MFA refusal is phrased ([`ChallengeStyle`]): the one row of the table
//! that changes with the configuration.

/// How the MFA refusal is phrased. Only the `mfa_required` row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChallengeStyle {
    /// Partner Center's own answer: `401 Unauthorized - MFA required` with exactly
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[default]
    PartnerCenter,
    /// RFC 9470 step-up: `error="insufficient_user_authentication"` with `acr_values`
    /// (and `max_age` when freshness is configured).
    StepUp,
    /// Microsoft.Identity.Web's claims challenge (`error="insufficient_claims"`,
    /// `claims=` base64url JSON), sent only to clients whose token says they handle it
    /// (`xms_cc` holds `cp1`); other clients get the Partner Center answer.
    EntraClaims,
}

impl ChallengeStyle {
    /// The configuration name: `partner-center`, `step-up`, `entra-claims`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeStyle::PartnerCenter => "partner-center",
            ChallengeStyle::StepUp => "step-up",
            ChallengeStyle::EntraClaims => "entra-claims",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "partner-center" => Some(ChallengeStyle::PartnerCenter),
            "step-up" => Some(ChallengeStyle::StepUp),
            "entra-claims" => Some(ChallengeStyle::EntraClaims),
            _ => None,
        }
    }
}
