//! `mfa-guard dev-issuer`: a development identity provider on loopback. It serves
//! OIDC discovery and a JWKS for core's development issuer, and mints a token for
//! anyone who asks, so it refuses to listen anywhere but loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfa_guard_core::config::parse_duration;
use mfa_guard_core::dev::DevIssuer;
use serde_json::json;

use crate::exit::{Exit, Failure};
use crate::mint::{self, MintSpec};

/// Options of `dev-issuer`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) listen: SocketAddr,
    pub(crate) key: Option<PathBuf>,
    pub(crate) save_key: Option<PathBuf>,
}

struct Served {
    issuer: DevIssuer,
    bound: SocketAddr,
}

/// Binds, prints where, and serves until interrupted.
pub(crate) async fn run(options: &Options) -> Result<Exit, Failure> {
    if !options.listen.ip().is_loopback() {
        return Err(Failure::usage(format!("{} is not a loopback address", options.listen))
            .hint("the development issuer mints tokens for anyone who asks; listen on 127.0.0.1 or [::1]"));
    }
    let listener = tokio::net::TcpListener::bind(options.listen).await.map_err(|e| {
        Failure::error(format!("cannot listen on {}: {e}", options.listen))
            .hint("pick another port, or 127.0.0.1:0 for any free one")
    })?;
    let bound =
        listener.local_addr().map_err(|e| Failure::error(format!("cannot read the bound address: {e}")))?;
    let issuer = mint::issuer(&format!("http://{bound}/{{tenantid}}/"), options.key.as_deref())?;
    if let Some(path) = &options.save_key {
        mint::save_key(&issuer, path)?;
    }
    let base = format!("http://{bound}");
    let mut banner = format!(
        "mfa-guard dev-issuer: DEVELOPMENT ONLY, it mints a token for anyone who asks\n\
         listening on {base}\n\
         issuer     {}\n\
         discovery  {base}/.well-known/openid-configuration\n\
         jwks       {base}/.well-known/jwks.json\n\
         tokens     {base}/token?kind=user&mfa=false&roles=AdminAgent\n",
        issuer.issuer()
    );
    banner.push_str("Stop with Ctrl-C.\n");
    crate::out::print(&banner)?;

    let state = Arc::new(Served { issuer, bound });
    let app = Router::new()
        .route("/", get(index))
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/token", get(token).post(token))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(crate::runtime::shutdown_signal())
        .await
        .map_err(|e| Failure::error(format!("the server stopped: {e}")))?;
    Ok(Exit::Ok)
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn index(State(s): State<Arc<Served>>) -> Response {
    let base = format!("http://{}", s.bound);
    let text = format!(
        "mfa-guard dev-issuer (development only)\n\n\
         GET {base}/.well-known/openid-configuration\n\
         GET {base}/.well-known/jwks.json\n\
         GET {base}/token?kind=user|app&mfa=true|false&roles=A,B&wids=SecurityAdmin&aud=…&lifetime=1h&v2=true&expired=true&format=raw\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn discovery(State(s): State<Arc<Served>>) -> Response {
    let base = format!("http://{}", s.bound);
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": s.issuer.issuer(),
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/token"),
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }),
    )
}

async fn jwks(State(s): State<Arc<Served>>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], s.issuer.jwks_json().to_owned()).into_response()
}

async fn token(State(s): State<Arc<Served>>, uri: Uri) -> Response {
    let (spec, raw) = match spec_from_query(uri.query().unwrap_or("")) {
        Ok(v) => v,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": "invalid_request", "error_description": e }),
            );
        }
    };
    match spec.sign(&s.issuer) {
        Ok(token) if raw => ([(header::CONTENT_TYPE, "text/plain")], format!("{token}\n")).into_response(),
        Ok(token) => json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": spec.lifetime.map_or(3600, |l| l.as_secs()),
            }),
        ),
        Err(e) => json_response(
            StatusCode::BAD_REQUEST,
            &json!({ "error": "invalid_request", "error_description": e.to_string() }),
        ),
    }
}

/// The token to mint, from the query; `true` in the second place for `format=raw`.
fn spec_from_query(query: &str) -> Result<(MintSpec, bool), String> {
    let mut spec = MintSpec::default();
    let mut raw = false;
    let list = |v: &str| {
        v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>()
    };
    let flag = |name: &str, v: &str| match v {
        "true" | "1" | "yes" | "" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{name}={v:?} is not true or false")),
    };
    for (name, value) in query_pairs(query)? {
        match name.as_str() {
            "kind" => {
                spec.app = match value.as_str() {
                    "user" => false,
                    "app" => true,
                    other => return Err(format!("kind={other:?} is not user or app")),
                }
            }
            "mfa" => spec.no_mfa = !flag("mfa", &value)?,
            "roles" => spec.roles = Some(list(&value)),
            "wids" => spec.wids = list(&value),
            "aud" => spec.audience = Some(value),
            "lifetime" => spec.lifetime = Some(parse_duration(&value).map_err(|e| e.to_string())?),
            "expired" => spec.expired = flag("expired", &value)?,
            "v2" => spec.v2 = flag("v2", &value)?,
            "format" => {
                raw = match value.as_str() {
                    "raw" => true,
                    "json" => false,
                    other => return Err(format!("format={other:?} is not raw or json")),
                }
            }
            other => return Err(format!("unknown parameter {other:?}")),
        }
    }
    Ok((spec, raw))
}

/// `application/x-www-form-urlencoded` pairs: `+` is a space, `%XX` a byte.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((form_decode(n)?, form_decode(v)?))
        })
        .collect()
}

fn form_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("malformed %-escape in the query")?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "the query is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_requests_are_read_from_the_query() {
        let (spec, raw) =
            spec_from_query("kind=user&mfa=false&roles=SalesAgent,%20HelpdeskAgent&format=raw").unwrap();
        assert!(!spec.app && spec.no_mfa && raw);
        assert_eq!(spec.roles.unwrap(), ["SalesAgent", "HelpdeskAgent"]);
        assert!(spec_from_query("kind=robot").is_err());
        assert!(spec_from_query("mfa=maybe").is_err());
        assert!(spec_from_query("bogus=1").is_err());
        assert!(spec_from_query("roles=%zz").is_err());
    }
}
