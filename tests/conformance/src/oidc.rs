//! A real OpenID provider for the end-to-end suite: `tests/idp/provider.mjs`
//! (oidc-provider on node) started on loopback as a child process, and the flows that
//! get access tokens from it over HTTP (authorization code with PKCE, refresh token,
//! client credentials, and the provider's custom test-login grant).
//!
//! Where node is missing (or older than 20), or npm is missing while the provider's
//! packages are not installed, or `npm ci` cannot install them (no registry), the
//! suite is skipped — except under continuous integration, where it fails: the rule
//! of [`crate::tools`]. Where node is present but `tests/idp/node_modules` is not,
//! `npm ci` runs once per process before the first provider starts.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::Value;

use crate::tools::Missing;

/// The resource indicator the provider issues JWT access tokens for (their `aud`).
pub const RESOURCE: &str = "https://api.partnercenter.microsoft.com";
/// The custom grant that logs an account in with the `amr` the caller names.
pub const CUSTOM_GRANT: &str = "urn:mfa-guard:params:oauth:grant-type:test-login";
/// The web client (authorization code, refresh token, custom grant): id and secret.
pub const WEB_CLIENT: (&str, &str) = ("e2e-web", "e2e-web-secret");
/// The daemon client (client credentials): id and secret.
pub const DAEMON_CLIENT: (&str, &str) = ("e2e-daemon", "e2e-daemon-secret");
/// The web client's registered redirect URI (never followed: the code is read from it).
pub const REDIRECT_URI: &str = "http://127.0.0.1/callback";
/// An account of the provider that holds the `AdminAgent` role.
pub const ADMIN_AGENT: &str = "admin-agent";
/// The `tid` of every user the provider signs in.
pub const TENANT: &str = "5f1d3c7a-9b2e-4c61-8a0d-2e7b9c4f6a13";
/// The `oid` of [`ADMIN_AGENT`].
pub const ADMIN_AGENT_OID: &str = "0a8f4e3c-1d2b-4e5f-9a6b-7c8d9e0f1a2b";

/// How long a provider may take to start (node, oidc-provider, an RSA key).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of the provider's stderr is kept for error messages.
const STDERR_KEPT: usize = 8 * 1024;

/// The node project of the provider (`tests/idp`).
pub fn idp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("idp")
}

/// The suite, as the skip line and the CI failure name it.
const SUITE: &str = "the end-to-end IdP tests";

/// The provider's node project, as messages name it.
const PROJECT: &str = "tests/idp";

/// Checks node once per process and installs the provider's packages if they are
/// missing. `Ok(false)`: a tool is missing outside CI, the suite is skipped (said
/// once). `Err`: a tool is missing under CI ([`crate::tools::require`]).
pub fn prepare() -> Result<bool, String> {
    static SETUP: OnceLock<Result<bool, String>> = OnceLock::new();
    SETUP.get_or_init(|| crate::tools::require(SUITE, probe_tools().and_then(|()| install()))).clone()
}

fn installed(dir: &Path) -> bool {
    dir.join("node_modules/oidc-provider/package.json").is_file()
}

/// Node 20 or later, and npm where the provider's packages still have to be installed.
fn probe_tools() -> Result<(), Missing> {
    crate::tools::probe_node()?;
    if !installed(&idp_dir()) {
        crate::tools::probe_npm(PROJECT)?;
    }
    Ok(())
}

/// Installs the provider's packages unless they are there.
fn install() -> Result<(), Missing> {
    let dir = idp_dir();
    if installed(&dir) {
        return Ok(());
    }
    crate::tools::npm_ci(&dir, PROJECT)
}

/// Tokens from a token endpoint. `Debug` never shows them.
#[derive(Clone)]
pub struct Tokens {
    /// The access token (a JWT).
    pub access_token: String,
    /// The refresh token, when one was issued.
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"******")
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "******"))
            .finish()
    }
}

/// A running provider. Dropping it kills the process.
pub struct Idp {
    child: Child,
    issuer: String,
    port: u16,
    kid: String,
    authorization_endpoint: String,
    token_endpoint: String,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp").field("issuer", &self.issuer).field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    /// Prepares (see [`prepare`]) and starts a provider on an ephemeral port.
    /// `Ok(None)`: node is not usable here and the suite is skipped.
    pub async fn start_or_skip() -> Result<Option<Self>, String> {
        if !tokio::task::spawn_blocking(prepare).await.map_err(|e| e.to_string())?? {
            return Ok(None);
        }
        Self::start(0).await.map(Some)
    }

    /// Starts a provider on `port` (0: ephemeral) with a freshly made signing key, and
    /// returns once its discovery document and JWKS answer.
    pub async fn start(port: u16) -> Result<Self, String> {
        Self::start_with(port, &[]).await
    }

    /// [`start`](Self::start) with these variables of the provider's environment
    /// (`IDP_REDIRECT_URIS`, `IDP_POST_LOGOUT_URIS`, `IDP_BACKCHANNEL_LOGOUT_URI`:
    /// the `e2e-browser` client's URIs, see `tests/idp/provider.mjs`).
    pub async fn start_with(port: u16, env: &[(&str, String)]) -> Result<Self, String> {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .arg(port.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(idp_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start node: {e}"))?;
        let stdout = child.stdout.take();
        let stderr_pipe = child.stderr.take();
        // From here on, dropping `idp` kills the child whatever fails.
        let mut idp = Self {
            child,
            issuer: String::new(),
            port,
            kid: String::new(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            stderr: Arc::new(Mutex::new(String::new())),
        };
        if let Some(mut err) = stderr_pipe {
            let kept = Arc::clone(&idp.stderr);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = err.read(&mut buf) {
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    kept.push_str(&String::from_utf8_lossy(&buf[..n]));
                    if kept.len() > STDERR_KEPT {
                        let cut = kept.len() - STDERR_KEPT;
                        let cut = (cut..kept.len()).find(|&i| kept.is_char_boundary(i)).unwrap_or(0);
                        kept.drain(..cut);
                    }
                }
            });
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let out = stdout.ok_or("no stdout pipe")?;
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let _ = tx.send(lines.next());
            // Keep reading so the pipe never fills.
            for _ in lines {}
        });
        let line = match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(Some(Ok(line)))) => line,
            Ok(_) => {
                // Let the stderr reader catch the last words.
                let _ = idp.child.wait();
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(idp.failure("exited before it was ready"));
            }
            Err(_) => return Err(idp.failure("not ready within 30 s")),
        };
        let ready: Value =
            serde_json::from_str(&line).map_err(|_| idp.failure(&format!("said {line:?} when ready")))?;
        idp.issuer =
            ready["issuer"].as_str().ok_or_else(|| idp.failure("no issuer in its ready line"))?.into();
        idp.kid = ready["kid"].as_str().unwrap_or_default().to_owned();
        idp.port = Url::parse(&idp.issuer)
            .ok()
            .and_then(|u| u.port())
            .ok_or_else(|| idp.failure("its issuer has no port"))?;
        idp.read_discovery().await?;
        Ok(idp)
    }

    /// The keys are made at start: read discovery only now that it answers, and check
    /// that it declares this issuer and that its JWKS holds the announced key.
    async fn read_discovery(&mut self) -> Result<(), String> {
        let http = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        let doc: Value = get_json(&http, &self.discovery_url()).await?;
        if doc["issuer"] != Value::String(self.issuer.clone()) {
            return Err(self.failure(&format!("discovery declares issuer {}", doc["issuer"])));
        }
        let url = |name: &str| {
            doc[name]
                .as_str()
                .filter(|u| Url::parse(u).is_ok())
                .map(str::to_owned)
                .ok_or_else(|| format!("discovery has no {name}"))
        };
        self.authorization_endpoint = url("authorization_endpoint")?;
        self.token_endpoint = url("token_endpoint")?;
        let jwks: Value = get_json(&http, &url("jwks_uri")?).await?;
        let kids: Vec<&str> =
            jwks["keys"].as_array().into_iter().flatten().filter_map(|k| k["kid"].as_str()).collect();
        if kids != [self.kid.as_str()] {
            return Err(self.failure(&format!("JWKS holds kids {kids:?}, not the announced {:?}", self.kid)));
        }
        Ok(())
    }

    fn failure(&self, what: &str) -> String {
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        format!("the OpenID provider {what}; its stderr:\n{}", stderr.trim())
    }

    /// The issuer, which is also the base URL (`http://127.0.0.1:PORT`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `kid` of its signing key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Its OpenID discovery document.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// Stops it (the process is killed and reaped).
    pub fn stop(self) {
        drop(self);
    }

    /// Stops it and starts a new provider on the same port: same issuer, a new
    /// signing key (oidc-provider's keys are fixed for a process's life).
    pub async fn rotate(self) -> Result<Self, String> {
        let port = self.port;
        self.stop();
        Self::start(port).await
    }

    /// Authorization code with PKCE (S256), driven over HTTP: `/auth`, the provider's
    /// non-interactive login (for `account`, with these `amr` values) and automatic
    /// consent, the redirect to [`REDIRECT_URI`] (read, not followed), then the code
    /// exchanged at the token endpoint with its verifier and the resource indicator.
    /// Asks for `offline_access`, so a refresh token comes too.
    pub async fn authorization_code(&self, account: &str, amr: &[&str]) -> Result<Tokens, String> {
        // A cookie jar per login: the provider keeps its interaction and session state
        // in cookies, and a fresh jar means a fresh login with the asked amr.
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .build()
            .map_err(|e| e.to_string())?;
        let verifier = random_b64url(32);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        let challenge = URL_SAFE_NO_PAD.encode(digest.as_ref());
        let state = random_b64url(16);
        let amr = amr.join(" ");
        let mut url = Url::parse_with_params(
            &self.authorization_endpoint,
            [
                ("client_id", WEB_CLIENT.0),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid offline_access user_impersonation"),
                ("resource", RESOURCE),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("state", &state),
                // offline_access is granted only with an explicit consent prompt.
                ("prompt", "consent"),
                ("login_hint", account),
                ("test_amr", &amr),
            ],
        )
        .map_err(|e| e.to_string())?;
        let mut callback = None;
        for _ in 0..10 {
            let res =
                browser.get(url.clone()).send().await.map_err(|e| format!("GET {}: {e}", url.path()))?;
            let status = res.status();
            let location = res.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok());
            let Some(location) = location.filter(|_| status.is_redirection()) else {
                let body = res.text().await.unwrap_or_default();
                return Err(self.failure(&format!("answered GET {} with {status}: {body}", url.path())));
            };
            let next = url.join(location).map_err(|e| format!("bad redirect {location:?}: {e}"))?;
            if next.as_str().starts_with(REDIRECT_URI) {
                callback = Some(next);
                break;
            }
            url = next;
        }
        let callback = callback.ok_or("the login did not come back to the redirect URI in 10 hops")?;
        let param = |name: &str| callback.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        if let Some(error) = param("error") {
            return Err(format!(
                "authorization failed: {error}: {}",
                param("error_description").unwrap_or_default()
            ));
        }
        if param("state").as_deref() != Some(state.as_str()) {
            return Err("the authorization response does not carry the request's state".into());
        }
        // RFC 9207: the response names the issuer that produced the code.
        if param("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(format!("the authorization response names issuer {:?}", param("iss")));
        }
        let code = param("code").ok_or("the authorization response has no code")?;
        self.token(
            WEB_CLIENT,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("resource", RESOURCE),
            ],
        )
        .await
    }

    /// A new access token from a refresh token (the `amr` stays the login's).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, String> {
        self.token(
            WEB_CLIENT,
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("resource", RESOURCE)],
        )
        .await
    }

    /// An app-only token by client credentials for [`RESOURCE`].
    pub async fn client_credentials(&self) -> Result<String, String> {
        let tokens = self
            .token(DAEMON_CLIENT, &[("grant_type", "client_credentials"), ("resource", RESOURCE)])
            .await?;
        Ok(tokens.access_token)
    }

    /// A user token from the custom grant: `account` logged in with these `amr` values.
    pub async fn custom_grant(&self, account: &str, amr: &[&str]) -> Result<String, String> {
        let amr = amr.join(" ");
        let params =
            [("grant_type", CUSTOM_GRANT), ("account", account), ("amr", &amr), ("resource", RESOURCE)];
        Ok(self.token(WEB_CLIENT, &params).await?.access_token)
    }

    async fn token(&self, (id, secret): (&str, &str), form: &[(&str, &str)]) -> Result<Tokens, String> {
        let http = reqwest::Client::new();
        let res = http
            .post(&self.token_endpoint)
            .basic_auth(id, Some(secret))
            .form(form)
            .send()
            .await
            .map_err(|e| format!("POST {}: {e}", self.token_endpoint))?;
        let status = res.status();
        let body: Value = res.json().await.map_err(|e| format!("token endpoint answer: {e}"))?;
        if !status.is_success() {
            // An error answer carries error and error_description only, never a token.
            return Err(format!(
                "token endpoint answered {status}: {} {}",
                body["error"], body["error_description"]
            ));
        }
        let access_token =
            body["access_token"].as_str().ok_or("token endpoint answer has no access_token")?;
        // JWT access tokens, not opaque ones: three dot-separated parts.
        if access_token.split('.').count() != 3 {
            return Err("the access token is not a JWT (is the resource indicator absolute?)".into());
        }
        Ok(Tokens {
            access_token: access_token.to_owned(),
            refresh_token: body["refresh_token"].as_str().map(str::to_owned),
        })
    }
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let res = http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = res.status();
    if !status.is_success() {
        return Err(format!("GET {url}: {status}"));
    }
    res.json().await.map_err(|e| format!("GET {url}: {e}"))
}

fn random_b64url(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The system RNG does not fail on supported platforms; a zeroed buffer would
    // still make a valid (if guessable) PKCE verifier for a test.
    let _ = aws_lc_rs::rand::fill(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The claims of a JWT, read without verifying it (to report what a token says).
pub fn unverified_claims(jwt: &str) -> Option<Value> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}
