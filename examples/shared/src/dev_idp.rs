//! The development issuer's sign-in: an authorization endpoint with a real sign-in
//! page, a token endpoint and an end-session endpoint, so the browser journeys can be
//! walked locally without an identity provider. Framework-neutral: each example
//! server routes `/dev-idp/*` here and copies the [`DevReply`] out.
//!
//! Users: an admin agent and a sales agent, whose "password + MFA" sign-in yields
//! `amr: ["pwd","mfa"]`, and a user whose MFA is **incompatible**: their
//! "password + MFA" yields `["pwd","otp"]`, never `mfa` (the seed's example 4).
//! Authorization codes are single-use, live one minute, and need the PKCE verifier.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_core::dev::{DEV_CLIENT_ID, DEV_SIGN_IN_PREFIX, DevIssuer};
use serde_json::json;

/// How long an authorization code can be exchanged.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Longest form or query read.
const MAX_FORM: usize = 16 * 1024;
/// Most codes outstanding (older ones are dropped first).
const MAX_CODES: usize = 1024;

/// A user of the development sign-in page.
struct User {
    id: &'static str,
    label: &'static str,
    oid: &'static str,
    upn: &'static str,
    roles: &'static [&'static str],
    /// What "password + MFA" gives: `mfa`, or an MFA the platform does not know.
    mfa_amr: &'static str,
}

const USERS: &[User] = &[
    User {
        id: "admin",
        label: "Adele Vance — admin agent",
        oid: "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
        upn: "adminagent@dev.example",
        roles: &["AdminAgent"],
        mfa_amr: "mfa",
    },
    User {
        id: "sales",
        label: "Sam Lee — sales agent",
        oid: "aaaaaaaa-0000-1111-2222-cccccccccccc",
        upn: "salesagent@dev.example",
        roles: &["SalesAgent"],
        mfa_amr: "mfa",
    },
    User {
        id: "incompatible",
        label: "Ivan Petrov — admin agent whose MFA provider is not recognised",
        oid: "aaaaaaaa-0000-1111-2222-dddddddddddd",
        upn: "incompatible.mfa@dev.example",
        roles: &["AdminAgent"],
        mfa_amr: "otp",
    },
];

/// What an endpoint answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevReply {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Vec<u8>,
}

struct Grant {
    user: usize,
    mfa: bool,
    nonce: Option<String>,
    challenge: String,
    redirect_uri: String,
    auth_time: i64,
    issued: Instant,
}

/// The sign-in endpoints of a development issuer, for one client (the example
/// server's own, [`DEV_CLIENT_ID`]).
pub struct DevIdp {
    issuer: Arc<DevIssuer>,
    redirect_uri: String,
    post_logout_uri: String,
    codes: Mutex<HashMap<String, Grant>>,
}

impl std::fmt::Debug for DevIdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIdp").field("redirect_uri", &self.redirect_uri).finish_non_exhaustive()
    }
}

fn form(text: &[u8]) -> HashMap<String, String> {
    if text.len() > MAX_FORM {
        return HashMap::new();
    }
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(text) {
        // A repeated parameter is ambiguous: it counts as absent.
        if out.insert(k.to_string(), v.to_string()).is_some() {
            out.insert(k.to_string(), String::new());
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn page(status: u16, title: &str, body: &str) -> DevReply {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}}\
         fieldset{{border:1px solid #ccc;padding:1rem}} label{{display:block;margin:.4rem 0}}\
         button{{margin:.8rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}}\
         .note{{background:#fff7e0;border-left:4px solid #e0a000;padding:.5rem 1rem}}\
         .dev{{color:#666;font-size:.85rem}}</style></head><body><h1>{t}</h1>{body}\
         <p class=\"dev\">Development identity provider of mfa-guard's example server. Never use it in production.</p>\
         </body></html>\n",
        t = escape(title)
    );
    DevReply {
        status,
        headers: vec![
            ("content-type", "text/html; charset=utf-8".into()),
            ("cache-control", "no-store".into()),
            ("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'".into()),
        ],
        body: html.into_bytes(),
    }
}

fn json_reply(status: u16, value: &serde_json::Value) -> DevReply {
    DevReply {
        status,
        headers: vec![("content-type", "application/json".into()), ("cache-control", "no-store".into())],
        body: value.to_string().into_bytes(),
    }
}

fn oauth_error(error: &str, description: &str) -> DevReply {
    json_reply(400, &json!({ "error": error, "error_description": description }))
}

fn redirect(location: String) -> DevReply {
    DevReply {
        status: 302,
        headers: vec![("location", location), ("cache-control", "no-store".into())],
        body: Vec::new(),
    }
}

fn random_code() -> String {
    let mut bytes = [0u8; 24];
    // The example server runs on a machine with an OS random source; should it
    // fail, the code is still unique per grant (time and counter) but guessable, so
    // say so loudly.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("no randomness for an authorization code");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of `verifier` (RFC 7636): base64url of its SHA-256.
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

/// Whether an authorization request asks for MFA (what the page tells the user).
fn asks_for_mfa(params: &HashMap<String, String>) -> bool {
    params.get("claims").is_some_and(|c| c.contains("\"mfa\"") || c.contains("\"acrs\""))
        || params.get("acr_values").is_some_and(|a| !a.is_empty())
}

impl DevIdp {
    /// The sign-in of `issuer` for the example server at `base` (`http://host:port`).
    pub fn new(issuer: Arc<DevIssuer>, base: &str) -> Self {
        DevIdp {
            issuer,
            redirect_uri: format!("{base}/auth/callback"),
            post_logout_uri: format!("{base}/auth/signed-out"),
            codes: Mutex::new(HashMap::new()),
        }
    }

    /// Answers a request under [`DEV_SIGN_IN_PREFIX`]: `GET /authorize` (the
    /// sign-in page), `POST /authorize` (the page's form), `POST /token`,
    /// `GET /sign-out`. `body` is the request body (forms), `authorization` its
    /// `Authorization` header (client authentication at the token endpoint).
    pub fn handle(&self, method: &str, path: &str, query: Option<&str>, body: &[u8]) -> DevReply {
        let Some(endpoint) = path.strip_prefix(DEV_SIGN_IN_PREFIX) else {
            return page(404, "Not found", "<p>No such development endpoint.</p>");
        };
        match (method, endpoint) {
            ("GET", "/authorize") => self.sign_in_page(&form(query.unwrap_or("").as_bytes())),
            ("POST", "/authorize") => self.sign_in(&form(body)),
            ("POST", "/token") => self.token(&form(body)),
            ("GET", "/sign-out") => self.sign_out(&form(query.unwrap_or("").as_bytes())),
            _ => page(404, "Not found", "<p>No such development endpoint.</p>"),
        }
    }

    fn check_client(&self, params: &HashMap<String, String>) -> Result<(), String> {
        if params.get("client_id").map(String::as_str) != Some(DEV_CLIENT_ID) {
            return Err(format!("unknown client_id (the development issuer knows only {DEV_CLIENT_ID})"));
        }
        if params.get("redirect_uri") != Some(&self.redirect_uri) {
            return Err(format!("redirect_uri must be {}", self.redirect_uri));
        }
        Ok(())
    }

    fn sign_in_page(&self, params: &HashMap<String, String>) -> DevReply {
        if let Err(why) = self.check_client(params) {
            return page(400, "Sign-in request refused", &format!("<p>{}</p>", escape(&why)));
        }
        if params.get("response_type").map(String::as_str) != Some("code")
            || params.get("code_challenge_method").map(String::as_str) != Some("S256")
            || params.get("code_challenge").is_none_or(String::is_empty)
        {
            return page(
                400,
                "Sign-in request refused",
                "<p>The request must be an authorization code request with a PKCE S256 challenge.</p>",
            );
        }
        let hidden: String = ["client_id", "redirect_uri", "state", "nonce", "code_challenge"]
            .iter()
            .filter_map(|name| params.get(*name).map(|v| (name, v)))
            .map(|(n, v)| format!("<input type=\"hidden\" name=\"{n}\" value=\"{}\">", escape(v)))
            .collect();
        let users: String = USERS
            .iter()
            .enumerate()
            .map(|(i, u)| {
                format!(
                    "<label><input type=\"radio\" name=\"user\" id=\"user-{id}\" value=\"{id}\"{checked}> {label} \
                     <span class=\"dev\">({upn})</span></label>",
                    id = u.id,
                    checked = if i == 0 { " checked" } else { "" },
                    label = escape(u.label),
                    upn = escape(u.upn),
                )
            })
            .collect();
        let note = if asks_for_mfa(params) {
            "<p class=\"note\" id=\"mfa-requested\">The application asks for multi-factor authentication.</p>"
        } else {
            ""
        };
        page(
            200,
            "Sign in",
            &format!(
                "{note}<form method=\"post\" action=\"{DEV_SIGN_IN_PREFIX}/authorize\">{hidden}\
                 <fieldset><legend>Account</legend>{users}</fieldset>\
                 <button type=\"submit\" name=\"method\" value=\"password\" id=\"sign-in-password\">Sign in with password</button>\
                 <button type=\"submit\" name=\"method\" value=\"mfa\" id=\"sign-in-mfa\">Sign in with password + MFA</button>\
                 </form>"
            ),
        )
    }

    fn sign_in(&self, params: &HashMap<String, String>) -> DevReply {
        if let Err(why) = self.check_client(params) {
            return page(400, "Sign-in refused", &format!("<p>{}</p>", escape(&why)));
        }
        let Some(user) = params.get("user").and_then(|id| USERS.iter().position(|u| u.id == id)) else {
            return page(400, "Sign-in refused", "<p>Choose an account.</p>");
        };
        let mfa = match params.get("method").map(String::as_str) {
            Some("password") => false,
            Some("mfa") => true,
            _ => return page(400, "Sign-in refused", "<p>Choose how to sign in.</p>"),
        };
        let Some(challenge) = params.get("code_challenge").filter(|c| !c.is_empty()) else {
            return page(400, "Sign-in refused", "<p>The request carries no PKCE challenge.</p>");
        };
        let code = random_code();
        let grant = Grant {
            user,
            mfa,
            nonce: params.get("nonce").cloned(),
            challenge: challenge.clone(),
            redirect_uri: self.redirect_uri.clone(),
            auth_time: now_unix(),
            issued: Instant::now(),
        };
        if let Ok(mut codes) = self.codes.lock() {
            codes.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME);
            if codes.len() >= MAX_CODES {
                return page(503, "Busy", "<p>Too many sign-ins in progress; try again in a minute.</p>");
            }
            codes.insert(code.clone(), grant);
        }
        let mut location = format!("{}?code={code}", self.redirect_uri);
        if let Some(state) = params.get("state") {
            location.push_str("&state=");
            location.extend(form_urlencoded::byte_serialize(state.as_bytes()));
        }
        redirect(location)
    }

    fn token(&self, params: &HashMap<String, String>) -> DevReply {
        if params.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return oauth_error("unsupported_grant_type", "only authorization_code");
        }
        if let Err(why) = self.check_client(params) {
            return oauth_error("invalid_client", &why);
        }
        let code = params.get("code").cloned().unwrap_or_default();
        let grant = self.codes.lock().ok().and_then(|mut codes| codes.remove(&code));
        let Some(grant) = grant.filter(|g| g.issued.elapsed() < CODE_LIFETIME) else {
            return oauth_error("invalid_grant", "unknown, expired or already used code");
        };
        if grant.redirect_uri != self.redirect_uri {
            return oauth_error("invalid_grant", "redirect_uri differs from the authorization request's");
        }
        let verifier = params.get("code_verifier").map_or("", String::as_str);
        if pkce_challenge(verifier) != grant.challenge {
            return oauth_error("invalid_grant", "PKCE verifier does not match the challenge");
        }
        let user = &USERS[grant.user];
        let amr = if grant.mfa { json!(["pwd", user.mfa_amr]) } else { json!(["pwd"]) };
        let sign = |spec: mfa_guard_core::dev::TokenSpec<'_>| spec.lifetime(Duration::from_secs(3600)).sign();
        let id_token = sign(
            self.issuer
                .user()
                .audience(DEV_CLIENT_ID)
                .oid(user.oid)
                .roles(user.roles.iter().copied())
                .claim("sub", json!(user.oid))
                .claim("upn", json!(user.upn))
                .claim("name", json!(user.label))
                .claim("amr", amr.clone())
                .claim("auth_time", json!(grant.auth_time))
                .claim("nonce", grant.nonce.map_or(serde_json::Value::Null, |n| json!(n)))
                .claim("scp", serde_json::Value::Null)
                .claim("appid", serde_json::Value::Null)
                .claim("azp", json!(DEV_CLIENT_ID)),
        );
        let access_token =
            sign(self.issuer.user().oid(user.oid).roles(user.roles.iter().copied()).claim("amr", amr));
        match (id_token, access_token) {
            (Ok(id), Ok(access)) => json_reply(
                200,
                &json!({ "access_token": access, "token_type": "Bearer", "expires_in": 3600, "id_token": id }),
            ),
            _ => json_reply(500, &json!({ "error": "server_error", "error_description": "cannot sign" })),
        }
    }

    fn sign_out(&self, params: &HashMap<String, String>) -> DevReply {
        match params.get("post_logout_redirect_uri") {
            Some(uri) if *uri == self.post_logout_uri => redirect(uri.clone()),
            _ => page(200, "Signed out", "<p>You are signed out of the development identity provider.</p>"),
        }
    }
}

/// The discovery document of the development issuer for a server at `base`.
pub fn discovery(issuer: &DevIssuer, base: &str) -> serde_json::Value {
    json!({
        "issuer": issuer.issuer(),
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/authorize"),
        "token_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/token"),
        "end_session_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/sign-out"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_parameter_supported": true,
        "scopes_supported": ["openid", "profile"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idp() -> DevIdp {
        DevIdp::new(
            Arc::new(DevIssuer::generate("http://127.0.0.1:1/{tenantid}/").unwrap()),
            "http://127.0.0.1:1",
        )
    }

    fn location(reply: &DevReply) -> &str {
        reply.headers.iter().find(|(n, _)| *n == "location").map(|(_, v)| v.as_str()).unwrap_or("")
    }

    const REDIRECT: &str = "http%3A%2F%2F127.0.0.1%3A1%2Fauth%2Fcallback";

    /// Signs `user` in with MFA through the page's form; the code and the redirect.
    fn sign_in(idp: &DevIdp, user: &str, verifier: &str, state: &str) -> (String, DevReply) {
        let form = format!(
            "client_id={DEV_CLIENT_ID}&redirect_uri={REDIRECT}&state={state}&nonce=n\
             &code_challenge={}&user={user}&method=mfa",
            pkce_challenge(verifier)
        );
        let back = idp.handle("POST", "/dev-idp/authorize", None, form.as_bytes());
        let code = location(&back).split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        (code, back)
    }

    fn exchange(idp: &DevIdp, code: &str, verifier: &str) -> DevReply {
        let body = format!(
            "grant_type=authorization_code&code={code}&client_id={DEV_CLIENT_ID}\
             &redirect_uri={REDIRECT}&code_verifier={verifier}"
        );
        idp.handle("POST", "/dev-idp/token", None, body.as_bytes())
    }

    #[test]
    fn a_code_is_exchanged_once_with_its_verifier() {
        let idp = idp();
        let verifier = "v".repeat(43);
        let (code, back) = sign_in(&idp, "incompatible", &verifier, "s1");
        assert_eq!(back.status, 302);
        assert!(location(&back).ends_with("&state=s1"));
        let wrong = exchange(&idp, &code, "w");
        assert_eq!(wrong.status, 400, "a wrong verifier spends the code too");
        let again = exchange(&idp, &code, &verifier);
        assert!(String::from_utf8_lossy(&again.body).contains("invalid_grant"));
    }

    #[test]
    fn the_incompatible_users_mfa_never_says_mfa() {
        let idp = idp();
        let verifier = "x".repeat(43);
        let (code, _) = sign_in(&idp, "incompatible", &verifier, "s");
        let tokens = exchange(&idp, &code, &verifier);
        assert_eq!(tokens.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&tokens.body).unwrap();
        let id = v["id_token"].as_str().unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(claims["amr"], json!(["pwd", "otp"]));
        assert_eq!(claims["aud"], json!(DEV_CLIENT_ID));
        assert_eq!(claims["nonce"], json!("n"));
    }

    #[test]
    fn foreign_clients_and_redirects_are_refused() {
        let idp = idp();
        let page = idp.handle("GET", "/dev-idp/authorize", Some("client_id=other&redirect_uri=x"), b"");
        assert_eq!(page.status, 400);
        let evil = format!(
            "client_id={DEV_CLIENT_ID}&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code\
             &code_challenge=c&code_challenge_method=S256"
        );
        assert_eq!(idp.handle("GET", "/dev-idp/authorize", Some(&evil), b"").status, 400);
        let text =
            String::from_utf8(idp.handle("GET", "/dev-idp/authorize", Some("client_id=<script>"), b"").body)
                .unwrap();
        assert!(!text.contains("<script>"));
    }
}
