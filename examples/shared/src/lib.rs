//! What both example servers share, so the axum and actix examples differ only in
//! framework glue: the environment contract (DESIGN §6), the embedded development
//! issuer, the Partner Center route table (the preset's own areas) and the JSON their handlers answer.

pub mod testkit;

use std::net::SocketAddr;
use std::time::Duration;

use mfa_guard_core::dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use mfa_guard_core::verify::is_guid;
use mfa_guard_core::{Config, Guard, GuardBuilder, KeySource, Policy, Principal, Requirement, Role};
use serde_json::{Value, json};

/// Where a server listens when `MFA_LISTEN` is not set.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// How long the printed development tokens are valid.
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// The settings of an example server, read from the environment.
#[derive(Debug)]
pub struct Settings {
    /// `MFA_LISTEN`.
    pub listen: SocketAddr,
    issuer: Option<String>,
    audiences: Vec<String>,
    tenants: Vec<String>,
    jwks_url: Option<String>,
    discovery_url: Option<String>,
    config: Option<Config>,
    token_cache_capacity: Option<u64>,
}

impl Settings {
    /// Reads `MFA_LISTEN`, `MFA_ISSUER`, `MFA_AUDIENCE`, `MFA_TENANTS`, `MFA_JWKS_URL`,
    /// `MFA_DISCOVERY_URL`, `MFA_CONFIG` and `MFA_TOKEN_CACHE_CAPACITY`.
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the same variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let listen = get("MFA_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen
            .parse()
            .map_err(|_| format!("MFA_LISTEN={listen:?} is not an address like 127.0.0.1:3000"))?;
        let config = match get("MFA_CONFIG") {
            Some(path) => Some(Config::from_file(&path).map_err(|e| format!("MFA_CONFIG: {e}"))?),
            None => None,
        };
        let token_cache_capacity = match get("MFA_TOKEN_CACHE_CAPACITY") {
            Some(v) => Some(v.trim().parse().map_err(|_| {
                format!("MFA_TOKEN_CACHE_CAPACITY={v:?} is not a number of entries (0 disables the cache)")
            })?),
            None => None,
        };
        let (jwks_url, discovery_url) = (get("MFA_JWKS_URL"), get("MFA_DISCOVERY_URL"));
        if jwks_url.is_some() && discovery_url.is_some() {
            return Err("set MFA_JWKS_URL or MFA_DISCOVERY_URL, not both".into());
        }
        let audiences = get("MFA_AUDIENCE")
            .map(|a| a.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let tenants = match get("MFA_TENANTS") {
            Some(list) => {
                let tenants: Vec<String> =
                    list.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
                if tenants.is_empty() {
                    return Err(format!("MFA_TENANTS={list:?} names no tenant id"));
                }
                if let Some(bad) = tenants.iter().find(|t| !is_guid(t)) {
                    return Err(format!(
                        "MFA_TENANTS: {bad:?} is not a tenant id (a GUID like aaaabbbb-0000-cccc-1111-dddd2222eeee)"
                    ));
                }
                tenants
            }
            None => Vec::new(),
        };
        Ok(Self {
            listen,
            issuer: get("MFA_ISSUER"),
            audiences,
            tenants,
            jwks_url,
            discovery_url,
            config,
            token_cache_capacity,
        })
    }

    /// Development mode: no issuer and no key source configured anywhere.
    pub fn is_dev_mode(&self) -> bool {
        self.issuer.is_none()
            && self.jwks_url.is_none()
            && self.discovery_url.is_none()
            && !self.config.as_ref().is_some_and(Config::has_issuers)
    }

    /// Builds the guard. In development mode `bound` (the address actually bound)
    /// names the embedded issuer, whose key is made here.
    pub fn guard(&self, bound: SocketAddr) -> Result<(Guard, Option<DevIssuer>), String> {
        let mut builder = match &self.config {
            Some(config) => config.builder().map_err(|e| format!("MFA_CONFIG: {e}"))?,
            None => GuardBuilder::default().policy(Policy::partner_center()),
        };
        let policy = match &self.config {
            Some(config) => config.policy().map_err(|e| format!("MFA_CONFIG: {e}"))?,
            None => Policy::partner_center(),
        };
        if let Some(n) = self.token_cache_capacity {
            builder = builder.token_cache_capacity(n);
        }
        if !self.tenants.is_empty() {
            builder = builder.tenants(self.tenants.iter().cloned());
        }
        let dev = if self.is_dev_mode() {
            let issuer = DevIssuer::generate(format!("http://{bound}/{{tenantid}}/"))
                .map_err(|e| format!("development issuer: {e}"))?;
            let keys = issuer.key_source().map_err(|e| format!("development issuer: {e}"))?;
            // Its tokens are all of one tenant: say so, rather than warn that every
            // tenant is accepted.
            if self.tenants.is_empty() {
                builder = builder.tenants([DEV_TENANT]);
            }
            // The discovery and JWKS documents it serves are public.
            builder = builder
                .policy(policy.route("/.well-known/*", Requirement::public()))
                .issuer(issuer.issuer())
                .keys(keys)
                .audience(DEV_AUDIENCE);
            Some(issuer)
        } else {
            let remote = self.config.as_ref().map(Config::remote_options).unwrap_or_default();
            let keys = match (&self.jwks_url, &self.discovery_url) {
                (Some(url), None) => Some(KeySource::jwks_url_with(url, remote)),
                (None, Some(url)) => Some(KeySource::discovery_with(url, remote)),
                _ => None,
            };
            builder = match (&self.issuer, keys) {
                (Some(iss), Some(keys)) => builder.issuer(iss.clone()).keys(keys),
                (None, Some(keys)) if self.discovery_url.is_some() => builder.issuer_from_keys(keys),
                (None, Some(_)) => {
                    return Err("MFA_JWKS_URL needs MFA_ISSUER (only discovery declares one)".into());
                }
                (Some(_), None) => return Err("MFA_ISSUER needs MFA_JWKS_URL or MFA_DISCOVERY_URL".into()),
                (None, None) => builder,
            };
            if self.audiences.is_empty() && self.config.as_ref().is_none_or(|c| c.audiences().is_empty()) {
                return Err("set MFA_AUDIENCE (comma-separated accepted audiences)".into());
            }
            None
        };
        let guard = builder.audiences(self.audiences.iter().cloned()).build().map_err(|e| e.to_string())?;
        Ok((guard, dev))
    }
}

/// The routes both servers serve: the areas of the Partner Center preset (the same
/// list the policy is made from); anything else answers as `unmatched`.
pub fn areas() -> Vec<mfa_guard_core::policy::Area> {
    Policy::partner_center_areas()
}

/// The answer of `/health`.
pub fn health_body() -> Value {
    json!({ "status": "ok" })
}

/// The answer of every other route: who called, and how they were admitted. A
/// request that report-only mode let through says what it would have been refused
/// with (`report_only`).
pub fn caller_body(area: &str, method: &str, path: &str, caller: Option<&Principal>) -> Value {
    let mut body = match caller {
        Some(p) => json!({
            "area": area,
            "method": method,
            "path": path,
            "kind": p.kind().as_str(),
            "oid": p.oid(),
            "tid": p.tid(),
            "upn": p.upn(),
            "roles": p.roles().map(Role::name).collect::<Vec<_>>(),
            "mfa": p.mfa(),
        }),
        None => json!({ "area": area, "method": method, "path": path, "kind": null }),
    };
    if let Some(r) = caller.and_then(Principal::report_only_refusal) {
        body["report_only"] = json!({ "would_refuse": r.code().as_str(), "status": r.status() });
    }
    body
}

/// The OpenID configuration the development issuer serves.
pub fn discovery_document(dev: &DevIssuer, bound: SocketAddr) -> Value {
    json!({
        "issuer": dev.issuer(),
        "jwks_uri": format!("http://{bound}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

/// The development tokens printed at start: user with MFA, user without, app-only.
pub fn dev_tokens(dev: &DevIssuer) -> Result<[(&'static str, String); 3], String> {
    let sign = |spec: mfa_guard_core::dev::TokenSpec<'_>| {
        spec.lifetime(DEV_TOKEN_LIFETIME).sign().map_err(|e| e.to_string())
    };
    Ok([
        ("TOKEN_MFA", sign(dev.user())?),
        ("TOKEN_NO_MFA", sign(dev.user().mfa(false))?),
        ("TOKEN_APP", sign(dev.app())?),
    ])
}

/// What a development-mode server prints: where it listens, ready-to-paste tokens
/// and curl lines showing a 200, the MFA-required 401 and a 403.
pub fn dev_banner(framework: &str, dev: &DevIssuer, bound: SocketAddr) -> Result<String, String> {
    let tokens = dev_tokens(dev)?;
    let base = format!("http://{bound}");
    let mut out = format!(
        "mfa-guard example ({framework}) in development mode\n\
         listening on http://{bound}\n\
         issuer       {}  (embedded development issuer; its key was made at start)\n\
         discovery    {base}/.well-known/openid-configuration\n\n\
         Development tokens, valid {} hours (paste into your shell):\n",
        dev.issuer(),
        DEV_TOKEN_LIFETIME.as_secs() / 3600,
    );
    for (name, token) in &tokens {
        out.push_str(&format!("export {name}='{token}'\n"));
    }
    out.push_str(&format!(
        "\nTry:\n\
         curl -i {base}/health\n\
         curl -i -H \"Authorization: Bearer $TOKEN_MFA\" {base}/commerce/customers      # 200\n\
         curl -i -H \"Authorization: Bearer $TOKEN_NO_MFA\" {base}/commerce/customers   # 401 Unauthorized - MFA required\n\
         curl -i -H \"Authorization: Bearer $TOKEN_APP\" {base}/v1/customers/contoso    # 403 app_only_not_allowed\n\
         curl -i -H \"Authorization: Bearer $TOKEN_APP\" {base}/v1/catalog/prices       # 200 (apps allowed)\n"
    ));
    Ok(out)
}

/// Says on stdout where the server listens: in development mode the whole banner
/// (tokens and curl lines), otherwise one `listening on http://ADDR` line, which
/// scripts that bind port 0 read.
pub fn announce(framework: &str, dev: Option<&DevIssuer>, bound: SocketAddr) -> Result<(), String> {
    use std::io::Write as _;
    match dev {
        Some(issuer) => print!("{}", dev_banner(framework, issuer, bound)?),
        None => println!("listening on http://{bound}"),
    }
    std::io::stdout().flush().map_err(|e| format!("cannot write to stdout: {e}"))
}

/// Logs to stderr, `RUST_LOG` to tune (default `info`; mfa-guard logs refusals at
/// `debug`, key-source trouble at `warn`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
