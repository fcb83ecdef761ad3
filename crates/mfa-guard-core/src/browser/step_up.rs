//! How the provider is asked for MFA: the step-up profiles and the authorization
//! parameters each sends.

/// How the provider is asked for MFA when a signed-in user without it opens an MFA
/// page.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepUp {
    /// Any OpenID provider: `prompt=login` and `max_age=0` (a fresh authentication),
    /// a `claims` request for `amr` containing `mfa`, and `acr_values` when given.
    Generic {
        /// `acr_values` to send (space-separated), e.g. the PAPE multi-factor policy
        /// `http://schemas.openid.net/pape/policies/2007/06/multi-factor`.
        acr_values: Option<String>,
    },
    /// Entra ID: the `claims` parameter asking for a Conditional Access
    /// authentication context (`acrs`) whose policy requires MFA, e.g. `c1`.
    Entra {
        /// The authentication context id.
        auth_context: String,
    },
}

/// A step-up profile that is not one of `generic`, `generic:<acr_values>` or
/// `entra:<auth-context-id>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not `generic`, `generic:<acr_values>` or `entra:<auth-context-id>`")]
pub struct InvalidStepUp(String);

impl std::str::FromStr for StepUp {
    type Err = InvalidStepUp;

    /// The profile as the `MFA_STEP_UP` variable and the `step_up` key of a
    /// configuration file write it: `generic`, `generic:<acr_values>` or
    /// `entra:<auth-context-id>`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        match text.split_once(':') {
            None if text == "generic" => Ok(StepUp::Generic { acr_values: None }),
            Some(("generic", acr)) if !acr.trim().is_empty() => {
                Ok(StepUp::Generic { acr_values: Some(acr.trim().to_owned()) })
            }
            Some(("entra", ctx)) if !ctx.trim().is_empty() => {
                Ok(StepUp::Entra { auth_context: ctx.trim().to_owned() })
            }
            _ => Err(InvalidStepUp(text.to_owned())),
        }
    }
}

impl StepUp {
    /// The parameters of the step-up authorization request, for MFA from an
    /// authentication at most `max_age` seconds old (the flow's
    /// [`max_age`](super::flow::Flow::max_age): what the callback will hold it to).
    pub(crate) fn parameters(&self, max_age: u64) -> Vec<(&'static str, String)> {
        match self {
            StepUp::Generic { acr_values } => {
                let mut p = vec![
                    ("prompt", "login".to_owned()),
                    ("max_age", max_age.to_string()),
                    ("claims", r#"{"id_token":{"amr":{"essential":true,"values":["mfa"]}}}"#.to_owned()),
                ];
                if let Some(acr) = acr_values {
                    p.push(("acr_values", acr.clone()));
                }
                p
            }
            StepUp::Entra { auth_context } => vec![(
                "claims",
                serde_json::json!({"id_token": {"acrs": {"essential": true, "value": auth_context}}})
                    .to_string(),
            )],
        }
    }
}
