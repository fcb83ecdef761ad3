//! `mfa-guard dev-issuer`: the development identity server of `mfa-guard-dev` on
//! loopback (discovery, JWKS, sign-in pages), plus a token endpoint that mints a
//! token for anyone who asks; so it refuses to listen anywhere but loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfa_guard_core::config::parse_duration;
use mfa_guard_dev::server::{Client, DevIdp};
use mfa_guard_dev::{DEV_CLIENT_ID, DISCOVERY_PATH, DevIssuer, JWKS_PATH};
use serde_json::json;

use crate::exit::{Exit, Failure};
use crate::mint::{self, MintSpec};

/// Longest query of the mint endpoint.
const MAX_QUERY: usize = 4096;

/// Options of `dev-issuer`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) listen: SocketAddr,
    pub(crate) key: Option<PathBuf>,
    pub(crate) save_key: Option<PathBuf>,
    /// The relying party's callback, when it is not this server's own origin.
    pub(crate) redirect_uri: Option<String>,
}

/// Binds, prints where, and serves until interrupted.
pub(crate) async fn run(options: &Options) -> Result<Exit, Failure> {
    if !options.listen.ip().is_loopback() {
        return Err(Failure::usage(format!("{} is not a loopback address", options.listen))
            .hint("the development issuer mints tokens for anyone who asks; listen on 127.0.0.1 or [::1]"));
    }
    let client = options.redirect_uri.as_deref().map(client_at).transpose()?;
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
         discovery  {base}{DISCOVERY_PATH}\n\
         jwks       {base}{JWKS_PATH}\n\
         tokens     {base}/token?kind=user&mfa=false&roles=AdminAgent\n",
        issuer.issuer()
    );
    if let Some(client) = &client {
        banner.push_str(&format!("sign-in    for {} (client id {})\n", client.redirect_uri(), client.id()));
    }
    banner.push_str("Stop with Ctrl-C.\n");
    crate::out::print(&banner)?;

    axum::serve(listener, app(Arc::new(issuer), &base, client))
        .with_graceful_shutdown(crate::runtime::shutdown_signal())
        .await
        .map_err(|e| Failure::error(format!("the server stopped: {e}")))?;
    Ok(Exit::Ok)
}

/// `--redirect-uri`: the client [`DEV_CLIENT_ID`] with that callback (an absolute
/// `http` or `https` URL without query or fragment), sent back after sign-out to
/// `signed-out` beside it, and sent a logout token at `backchannel-logout` beside it
/// when someone signs out at this provider — as browser mode lays its pages out
/// (`serve`'s prefix, or an application's `/auth/`).
fn client_at(redirect_uri: &str) -> Result<Client, Failure> {
    let bad = |why: &str| {
        Failure::usage(format!("--redirect-uri {redirect_uri:?}: {why}"))
            .hint("give the callback's full URL, e.g. http://127.0.0.1:8080/.mfa-guard/callback")
    };
    let uri: axum::http::Uri = redirect_uri.parse().map_err(|_| bad("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(bad("not an absolute http or https URL"));
    }
    if uri.query().is_some() || redirect_uri.contains('#') {
        return Err(bad("a callback URL has no query or fragment"));
    }
    // The URL ends with its path's last segment (no query, no fragment).
    let page = uri.path().rsplit('/').next().unwrap_or_default();
    if page.is_empty() {
        return Err(bad("it names no page (it ends with `/`)"));
    }
    let folder = &redirect_uri[..redirect_uri.len() - page.len()];
    Ok(Client::new(DEV_CLIENT_ID, redirect_uri, format!("{folder}signed-out"))
        .with_backchannel_logout_uri(format!("{folder}backchannel-logout")))
}

/// The development identity server at `base`, for `client` (default: a client on
/// `base` itself, where no application listens, so it is sent no logout token), and
/// beside it `/` (what is served) and `/token` (a token on
/// request).
fn app(issuer: Arc<DevIssuer>, base: &str, client: Option<Client>) -> Router {
    let client = client.unwrap_or_else(|| {
        let own = Client::at(base);
        Client::new(own.id(), own.redirect_uri(), own.post_logout_redirect_uri())
    });
    let idp = Arc::new(DevIdp::new(Arc::clone(&issuer), base).with_client(client));
    let minting = Router::new()
        .route("/", get(index))
        .route("/token", get(token).post(token))
        .with_state(Minting { issuer, base: base.to_owned() });
    idp.router().merge(minting)
}

#[derive(Clone)]
struct Minting {
    issuer: Arc<DevIssuer>,
    base: String,
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn index(State(s): State<Minting>) -> Response {
    let base = &s.base;
    let text = format!(
        "mfa-guard dev-issuer (development only)\n\n\
         GET {base}{DISCOVERY_PATH}\n\
         GET {base}{JWKS_PATH}\n\
         GET {base}/token?kind=user|app&mfa=true|false&roles=A,B&wids=SecurityAdmin&aud=…&lifetime=1h&v2=true&expired=true&format=raw\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

async fn token(State(s): State<Minting>, uri: Uri) -> Response {
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

/// The query's `application/x-www-form-urlencoded` pairs, read by `form_urlencoded`;
/// the accepted form is checked first, since that reader passes a stray `%` through
/// and replaces bytes that are not UTF-8: every `%` starts two hex digits, and the
/// decoded text is UTF-8.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    if query.len() > MAX_QUERY {
        return Err(format!("the query is longer than {MAX_QUERY} bytes"));
    }
    let escapes_well_formed = query
        .split('%')
        .skip(1)
        .all(|rest| rest.as_bytes().get(..2).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    if !escapes_well_formed {
        return Err("malformed %-escape in the query".to_owned());
    }
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(n, v)| (n.into_owned(), v.into_owned())).collect();
    if pairs.iter().any(|(n, v)| n.contains('\u{FFFD}') || v.contains('\u{FFFD}')) {
        return Err("the query is not UTF-8".to_owned());
    }
    Ok(pairs)
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
        let (spec, _) = spec_from_query("aud=api%3A%2F%2Fx+y&kind=app").unwrap();
        assert_eq!(spec.audience.as_deref(), Some("api://x y"));
        assert!(spec.app);
        assert_eq!(spec_from_query("kind=robot").unwrap_err(), "kind=\"robot\" is not user or app");
        assert_eq!(spec_from_query("mfa=maybe").unwrap_err(), "mfa=\"maybe\" is not true or false");
        assert_eq!(spec_from_query("bogus=1").unwrap_err(), "unknown parameter \"bogus\"");
    }

    #[test]
    fn a_redirect_uri_names_the_client_and_its_signed_out_page_beside_it() {
        let client = client_at("http://127.0.0.1:8080/.mfa-guard/callback").unwrap();
        assert_eq!(
            (
                client.id(),
                client.redirect_uri(),
                client.post_logout_redirect_uri(),
                client.backchannel_logout_uri()
            ),
            (
                DEV_CLIENT_ID,
                "http://127.0.0.1:8080/.mfa-guard/callback",
                "http://127.0.0.1:8080/.mfa-guard/signed-out",
                Some("http://127.0.0.1:8080/.mfa-guard/backchannel-logout")
            )
        );
        for (bad, why) in [
            ("/.mfa-guard/callback", "not an absolute http or https URL"),
            ("ftp://h/cb", "not an absolute http or https URL"),
            ("http://h/cb?x=1", "no query or fragment"),
            ("http://h/cb#top", "no query or fragment"),
            ("http://h/auth/", "names no page"),
            ("http://h", "names no page"),
            ("http://h /cb", "not a URL"),
        ] {
            let e = client_at(bad).unwrap_err();
            assert!(e.message.contains(why), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn a_malformed_escape_non_utf8_or_overlong_query_is_refused() {
        for bad in ["roles=%zz", "roles=%2", "roles=a%"] {
            assert_eq!(spec_from_query(bad).unwrap_err(), "malformed %-escape in the query", "{bad}");
        }
        assert_eq!(spec_from_query("roles=%FF").unwrap_err(), "the query is not UTF-8");
        let long = format!("roles={}", "a".repeat(MAX_QUERY));
        assert_eq!(spec_from_query(&long).unwrap_err(), "the query is longer than 4096 bytes");
    }
}
