//! `mfa-guard check`: one request, evaluated as the middleware configured by a
//! policy file would, and the exact HTTP response it would send.

use std::path::PathBuf;

use mfa_guard_core::{Config, RequestInfo};
use serde_json::json;

use crate::exit::{Exit, Failure};
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
    let config = Config::from_file(&options.config)
        .map_err(|e| Failure::error(e.to_string()).hint("fix the configuration file at the key named"))?;
    let builder = config
        .builder()
        .map_err(|e| Failure::error(e.to_string()).hint("fix the configuration file at the key named"))?
        .audiences(options.audiences.iter().cloned())
        .token_cache_capacity(0);
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
    match guard.check(&req).await.into_result() {
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
                    })
                )?;
            } else {
                let text = response::http_text(&rejection);
                let (status, rest) = text.split_once('\n').unwrap_or((&text, ""));
                outln!("{}", out.bad(status))?;
                crate::out::print(rest)?;
            }
            Ok(Exit::for_code(rejection.code()))
        }
    }
}
