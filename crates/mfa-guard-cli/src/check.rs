//! `mfa-guard check`: one request, evaluated as the middleware configured by a
//! policy file would, and the exact HTTP response it would send.

use std::path::PathBuf;

use mfa_guard_core::RequestInfo;
use mfa_guard_core::inspect::Inspection;
use serde_json::json;

use crate::exit::{Exit, Failure};
use crate::explain;
use crate::guard::KeyArgs;
use crate::input::Token;
use crate::out::outln;
use crate::response;
use crate::style::Style;

/// Options of `check`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) config: PathBuf,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) keys: KeyArgs,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) json: bool,
}

/// Runs `check` for `token` (`None`: a request without an Authorization header).
pub(crate) async fn run(token: Option<&Token>, options: &Options, out: Style) -> Result<Exit, Failure> {
    let method = options.method.to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(Failure::usage(format!("{:?} is not an HTTP method", options.method))
            .hint("use GET, POST, PUT, PATCH, DELETE, …"));
    }
    let (path, query) = match options.path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (options.path.as_str(), None),
    };
    if !path.starts_with('/') {
        return Err(Failure::usage(format!("the path {path:?} does not start with '/'"))
            .hint("give the request path as the server sees it, e.g. --path /commerce/customers"));
    }
    let (config, builder) = crate::guard::configured(&options.config)?;
    let builder = builder.verifier(|v| v.audiences(options.audiences.iter().cloned()));
    let builder = options.keys.apply(builder, options.issuer.as_deref(), config.remote_options())?;
    let guard = builder.build().map_err(|e| {
        Failure::error(format!("the configured guard cannot be built: {e}")).hint(
            "a file without [[issuers]] needs --issuer with --jwks-url, --discovery or --jwks-file, and --audience",
        )
    })?;

    let authorization = token.map(|t| format!("Bearer {}", t.as_str()));
    let mut req = RequestInfo::new(&method, path).with_query(query);
    if let Some(a) = &authorization {
        req = req.with_authorization(a.as_bytes());
    }
    let outcome = guard.check(&req).await.into_result();
    // What the rule asks of the token's authentication, once the token is known to
    // be good: admitted as a caller, or refused by the route policy.
    let verified = match &outcome {
        Ok(principal) => principal.is_some(),
        Err(rejection) => rejection.code().is_policy_refusal(),
    };
    let explanation = token
        .filter(|_| verified)
        .and_then(|t| Inspection::decode(t.as_str()).ok())
        .and_then(|i| i.explain_request(&guard, &method, path));
    let rule_json = explanation.as_ref().map(explain::rule_json);
    let rule_text = explanation.as_ref().filter(|e| explain::worth_showing(e)).map(|e| {
        let mut text = format!("{}\n", explain::heading(e));
        for (name, value) in explain::rows(e, out) {
            text.push_str(&format!("  {name:9}  {value}\n"));
        }
        text
    });
    match outcome {
        Ok(principal) => {
            if options.json {
                outln!(
                    "{}",
                    json!({
                        "outcome": "admitted",
                        "method": method,
                        "path": options.path,
                        "principal": principal.as_ref().map(response::principal_json),
                        "response_headers": principal.as_ref().map(|p| p
                            .response_headers()
                            .map(|(n, v)| json!([n, v]))
                            .collect::<Vec<_>>()),
                        "report_only": principal
                            .as_ref()
                            .and_then(|p| p.report_only_refusal())
                            .map(response::rejection_json),
                        "rule": rule_json,
                    })
                )?;
            } else {
                outln!(
                    "{} {method} {} reaches the handler; the middleware sends no response of its own",
                    out.good("admitted:"),
                    crate::style::clean(&options.path)
                )?;
                match &principal {
                    Some(p) => outln!("  caller: {}", response::principal_text(p))?,
                    None => {
                        outln!("  caller: none (a public route, and no valid token came with the request)")?
                    }
                }
                for (name, value) in principal.iter().flat_map(|p| p.response_headers()) {
                    outln!("  the response gets: {name}: {value}")?;
                }
                if let Some(text) = &rule_text {
                    for line in text.lines() {
                        outln!("  {line}")?;
                    }
                }
                if let Some(would) = principal.as_ref().and_then(|p| p.report_only_refusal()) {
                    outln!(
                        "{} the route is report-only; enforced, the middleware would have answered:",
                        out.warn("report-only:")
                    )?;
                    crate::out::print(&response::http_text(would))?;
                }
            }
            Ok(Exit::Ok)
        }
        Err(rejection) => {
            if options.json {
                outln!(
                    "{}",
                    json!({
                        "outcome": "refused",
                        "method": method,
                        "path": options.path,
                        "response": response::rejection_json(&rejection),
                        "rule": rule_json,
                    })
                )?;
            } else {
                let text = response::http_text(&rejection);
                let (status, rest) = text.split_once('\n').unwrap_or((&text, ""));
                outln!("{}", out.bad(status))?;
                crate::out::print(rest)?;
                if let Some(text) = &rule_text {
                    crate::out::print(&format!("\n{text}"))?;
                }
            }
            Ok(Exit::for_code(rejection.code()))
        }
    }
}
