//! `mfa-guard mint`: development tokens, signed by mfa-guard-dev's development issuer.
//!
//! **Development only.** The key is made on the spot unless `--key` names one; the
//! private key leaves the process only when `--save-key` asks for it.

use std::io::{IsTerminal, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use mfa_guard_core::policy::wids;
use mfa_guard_core::{Clock, SystemClock};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use serde_json::{Value, json};

use crate::exit::{Exit, Failure};
use crate::out::outln;

/// The issuer of minted tokens unless `--issuer` says otherwise: Entra's v1.0
/// issuer, so tokens read like the real ones Partner Center receives.
pub(crate) const DEFAULT_ISSUER: &str = "https://sts.windows.net/{tenantid}/";
/// The issuer of `--v2` tokens unless `--issuer` says otherwise.
pub(crate) const DEFAULT_V2_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

/// Largest private key file read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// What to put in a token; shared by `mint` and `dev-issuer`'s token endpoint.
#[derive(Debug, Clone, Default)]
pub(crate) struct MintSpec {
    pub(crate) app: bool,
    pub(crate) no_mfa: bool,
    /// `None`: the development issuer's defaults (AdminAgent for users).
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) wids: Vec<String>,
    pub(crate) audience: Option<String>,
    pub(crate) lifetime: Option<Duration>,
    pub(crate) expired: bool,
    pub(crate) v2: bool,
    /// `name=value` claims, the value JSON or else a string; `null` removes.
    pub(crate) claims: Vec<String>,
}

impl MintSpec {
    /// Signs a token with `issuer`'s key.
    pub(crate) fn sign(&self, issuer: &DevIssuer) -> Result<String, Failure> {
        let mut spec = if self.app { issuer.app() } else { issuer.user().mfa(!self.no_mfa) };
        if let Some(roles) = &self.roles {
            spec = if roles.is_empty() { spec.claim("roles", Value::Null) } else { spec.roles(roles) };
        }
        if !self.wids.is_empty() {
            let ids = self.wids.iter().map(|w| wid(w)).collect::<Result<Vec<_>, _>>()?;
            spec = spec.wids(ids);
        }
        spec = spec.audience(self.audience.as_deref().unwrap_or(DEV_AUDIENCE));
        if let Some(lifetime) = self.lifetime {
            spec = spec.lifetime(lifetime);
        }
        if self.expired {
            let now = SystemClock.now_unix();
            spec = spec
                .claim("iat", json!(now - 7200))
                .claim("nbf", json!(now - 7200))
                .claim("exp", json!(now - 3600));
        }
        if self.v2 {
            // What Entra puts in a v2.0 access token: azp instead of appid, and no amr.
            let client = spec.claims().get("appid").cloned().unwrap_or(Value::Null);
            spec = spec
                .claim("ver", json!("2.0"))
                .claim("azp", client)
                .claim("appid", Value::Null)
                .claim("amr", Value::Null);
        }
        for c in &self.claims {
            let (name, value) = parse_claim(c)?;
            spec = spec.claim(name, value);
        }
        spec.sign().map_err(|e| Failure::error(format!("cannot sign the token: {e}")))
    }
}

/// A `wids` value: a directory role template id, or a well-known role's name.
fn wid(value: &str) -> Result<String, Failure> {
    let id = match value.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
        "securityadmin" | "securityadministrator" => wids::SECURITY_ADMINISTRATOR,
        "billingadmin" | "billingadministrator" => wids::BILLING_ADMINISTRATOR,
        "globaladmin" | "globaladministrator" => wids::GLOBAL_ADMINISTRATOR,
        _ if is_guid(value) => value,
        _ => {
            return Err(Failure::usage(format!("{value:?} is not a directory role template id"))
                .hint("give a GUID, or SecurityAdmin, BillingAdmin or GlobalAdmin"));
        }
    };
    Ok(id.to_owned())
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `name=value`: the value as JSON when it is an array, object, quoted string,
/// `true`, `false`, `null` or an integer (dates); anything else is a string, so
/// `ver=2.0` is the string Entra sends, not a number.
fn parse_claim(text: &str) -> Result<(String, Value), Failure> {
    let Some((name, value)) = text.split_once('=').filter(|(n, _)| !n.trim().is_empty()) else {
        return Err(Failure::usage(format!("--claim {text:?} is not NAME=VALUE"))
            .hint("e.g. --claim ver=2.0, --claim 'groups=[\"…\"]', or --claim amr=null to remove one"));
    };
    let value = match serde_json::from_str::<Value>(value) {
        Ok(Value::Number(n)) if !n.is_i64() && !n.is_u64() => Value::String(value.to_owned()),
        Ok(v) => v,
        Err(_) => Value::String(value.to_owned()),
    };
    Ok((name.trim().to_owned(), value))
}

/// The development issuer: the key of `key` (PKCS#8 PEM) or a fresh one.
pub(crate) fn issuer(issuer: &str, key: Option<&Path>) -> Result<DevIssuer, Failure> {
    match key {
        None => DevIssuer::generate(issuer).map_err(|e| Failure::error(format!("cannot make a key: {e}"))),
        Some(path) => {
            let pem = read_key(path)?;
            DevIssuer::from_pem(issuer, &pem).map_err(|e| {
                Failure::error(format!("{}: {e}", path.display()))
                    .hint("give a PKCS#8 RSA private key (-----BEGIN PRIVATE KEY-----), e.g. one saved with --save-key")
            })
        }
    }
}

fn read_key(path: &Path) -> Result<String, Failure> {
    let file = std::fs::File::open(path).map_err(|e| {
        Failure::error(format!("cannot read {}: {e}", path.display())).hint("check the --key path")
    })?;
    let mut buf = Vec::new();
    file.take(MAX_KEY_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::error(format!("cannot read {}: {e}", path.display())))?;
    if buf.len() as u64 > MAX_KEY_BYTES {
        return Err(Failure::error(format!(
            "{} is larger than {} KiB",
            path.display(),
            MAX_KEY_BYTES / 1024
        ))
        .hint("give a PEM private key file"));
    }
    String::from_utf8(buf).map_err(|_| {
        Failure::error(format!("{} is not a PEM file", path.display())).hint("give a PEM private key file")
    })
}

/// Writes the private key, readable by the owner only, never over an existing file.
pub(crate) fn save_key(issuer: &DevIssuer, path: &Path) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            "it is never overwritten; reuse it with --key, or remove it first"
        } else {
            "check the directory exists and is writable"
        };
        Failure::error(format!("cannot create {}: {e}", path.display())).hint(hint)
    })?;
    file.write_all(issuer.private_key_pem().as_bytes())
        .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))
}

/// Options of `mint`.
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) spec: MintSpec,
    pub(crate) issuer: Option<String>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) save_key: Option<PathBuf>,
    pub(crate) print_jwks: bool,
    pub(crate) jwks_out: Option<PathBuf>,
    pub(crate) json: bool,
}

/// Runs `mint`: the token on standard output (and the JWKS when asked).
pub(crate) fn run(options: &Options) -> Result<Exit, Failure> {
    let default = if options.spec.v2 { DEFAULT_V2_ISSUER } else { DEFAULT_ISSUER };
    let dev = issuer(options.issuer.as_deref().unwrap_or(default), options.key.as_deref())?;
    let token = options.spec.sign(&dev)?;
    if let Some(path) = &options.save_key {
        save_key(&dev, path)?;
    }
    if let Some(path) = &options.jwks_out {
        std::fs::write(path, format!("{}\n", dev.jwks_json()))
            .map_err(|e| Failure::error(format!("cannot write {}: {e}", path.display())))?;
    }
    let jwks: Value = serde_json::from_str(dev.jwks_json()).unwrap_or(Value::Null);
    if options.json {
        let mut out = json!({
            "development_only": true,
            "token": token,
            "issuer": dev.token_issuer(),
            "kid": dev.kid(),
        });
        if options.print_jwks {
            out["jwks"] = jwks;
        }
        outln!("{out}")?;
    } else {
        outln!("{token}")?;
        if options.print_jwks {
            outln!("{jwks}")?;
        }
    }
    let verifiable = options.key.is_some()
        || options.save_key.is_some()
        || options.print_jwks
        || options.jwks_out.is_some();
    if std::io::stderr().is_terminal() {
        let mut note = String::from("mfa-guard mint: a DEVELOPMENT token");
        if !verifiable {
            note.push_str(", signed with a throwaway key; add --print-jwks or --jwks-out to verify it");
        }
        eprintln!("{note}");
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_directory_roles_are_named_or_given_as_guids() {
        assert_eq!(wid("SecurityAdmin").unwrap(), wids::SECURITY_ADMINISTRATOR);
        assert_eq!(wid("billing-admin").unwrap(), wids::BILLING_ADMINISTRATOR);
        assert_eq!(wid(wids::GLOBAL_ADMINISTRATOR).unwrap(), wids::GLOBAL_ADMINISTRATOR);
        assert!(wid("root").is_err());
    }

    #[test]
    fn claim_values_are_json_when_they_parse() {
        assert_eq!(parse_claim("ver=2.0").unwrap(), ("ver".into(), json!("2.0")));
        assert_eq!(parse_claim("exp=1000").unwrap(), ("exp".into(), json!(1000)));
        assert_eq!(parse_claim("ver=\"2.0\"").unwrap(), ("ver".into(), json!("2.0")));
        assert_eq!(parse_claim("upn=a@b").unwrap(), ("upn".into(), json!("a@b")));
        assert_eq!(parse_claim("amr=null").unwrap(), ("amr".into(), Value::Null));
        assert!(parse_claim("=x").is_err());
    }
}
