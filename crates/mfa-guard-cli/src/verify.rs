//! `mfa-guard verify`: full verification of one token with the guard's own engine:
//! signature by the issuer's keys, issuer, audience, expiry, then one requirement.

use mfa_guard_core::{Guard, RemoteOptions, RequestInfo, Requirement, Role};
use serde_json::json;

use crate::exit::{Exit, Failure};
use crate::guard::KeyArgs;
use crate::input::Token;
use crate::out::outln;
use crate::response;
use crate::style::Style;

/// Options of `verify`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) keys: KeyArgs,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) no_mfa: bool,
    pub(crate) users_only: bool,
    pub(crate) roles: Vec<String>,
    pub(crate) json: bool,
}

impl Options {
    /// The requirement checked after the token is verified: by default users must
    /// have done MFA and app-only tokens pass (as on Partner Center's catalog API);
    /// flags make it stricter or looser.
    fn requirement(&self) -> Requirement {
        let mut req =
            if self.no_mfa { Requirement::authenticated() } else { Requirement::mfa().allow_apps() };
        if self.users_only {
            req = req.users_only();
        }
        req.any_role(self.roles.iter().map(|r| Role::from_name(r)))
    }
}

/// Runs `verify` and returns the exit status of its verdict.
pub(crate) async fn run(token: &Token, options: &Options, out: Style) -> Result<Exit, Failure> {
    if options.keys.is_empty() {
        return Err(Failure::usage("verify needs the issuer's keys")
            .hint("add --jwks-url URL, --discovery URL or --jwks-file PATH"));
    }
    let builder = Guard::partner_center()
        .verifier(|v| v.audiences(options.audiences.iter().cloned()))
        .token_cache_capacity(0);
    let builder = options.keys.apply(builder, options.issuer.as_deref(), RemoteOptions::new())?;
    let guard = builder.build().map_err(|e| Failure::usage(format!("cannot set up verification: {e}")))?;
    let guard = guard.for_requirement(&options.requirement()).map_err(|e| {
        Failure::usage(format!("cannot use that requirement: {e}"))
            .hint("roles are those of the Partner Center preset: AdminAgent, SalesAgent, HelpdeskAgent, SecurityAdmin, BillingAdmin, GlobalAdmin")
    })?;
    let authorization = format!("Bearer {}", token.as_str());
    let req = RequestInfo::new("GET", "/").with_authorization(authorization.as_bytes());
    match guard.check(&req).await.into_result() {
        Ok(principal) => {
            // A fixed requirement is never public, so an admitted check has a caller.
            let principal = principal.ok_or_else(|| Failure::error("the guard admitted no caller"))?;
            if options.json {
                outln!("{}", json!({ "ok": true, "principal": response::principal_json(&principal) }))?;
            } else {
                outln!("{} the token is valid and passes", out.good("ok:"))?;
                outln!("  {}", response::principal_text(&principal))?;
            }
            Ok(Exit::Ok)
        }
        Err(rejection) => {
            if options.json {
                outln!(
                    "{}",
                    json!({
                        "ok": false,
                        "code": rejection.code().as_str(),
                        "detail": rejection.detail(),
                        "response": response::rejection_json(&rejection),
                    })
                )?;
            } else {
                outln!(
                    "{} {}: {}",
                    out.bad("refused:"),
                    rejection.code(),
                    crate::style::clean(rejection.detail())
                )?;
                outln!(
                    "  {}",
                    out.dim(&format!("a guard would answer {}", response::status_line(&rejection)))
                )?;
            }
            Ok(Exit::for_code(rejection.code()))
        }
    }
}
