//! Building the guard `verify` and `check` run: key source flags on top of a
//! builder (a fresh one, or one a configuration file filled).

use std::path::{Path, PathBuf};

use clap::Args;
use mfa_guard_core::config::{IssuerSource, KeyLocation, SourceError};
use mfa_guard_core::{Config, GuardBuilder, RemoteOptions};

use crate::exit::Failure;

/// Where the issuer's keys come from, and which issuer that is.
#[derive(Debug, Clone, Default, Args)]
#[group(id = "key_source", multiple = false)]
pub(crate) struct KeyArgs {
    /// URL of the issuer's JWKS document (HTTPS, or HTTP on loopback); needs --issuer
    #[arg(long, value_name = "URL")]
    pub(crate) jwks_url: Option<String>,
    /// URL of the issuer's OIDC discovery document (…/.well-known/openid-configuration);
    /// it declares the issuer, so --issuer is optional
    #[arg(long, value_name = "URL")]
    pub(crate) discovery: Option<String>,
    /// A JWKS document on disk (at most 512 KiB); needs --issuer
    #[arg(long, value_name = "PATH")]
    pub(crate) jwks_file: Option<PathBuf>,
}

impl KeyArgs {
    pub(crate) fn is_empty(&self) -> bool {
        self.jwks_url.is_none() && self.discovery.is_none() && self.jwks_file.is_none()
    }

    /// Adds `issuer` with these keys to `builder`; with neither, returns it as is.
    pub(crate) fn apply(
        &self,
        builder: GuardBuilder,
        issuer: Option<&str>,
        remote: RemoteOptions,
    ) -> Result<GuardBuilder, Failure> {
        let keys = if let Some(url) = &self.jwks_url {
            Some(KeyLocation::JwksUrl(url.clone()))
        } else if let Some(url) = &self.discovery {
            Some(KeyLocation::Discovery(url.clone()))
        } else {
            self.jwks_file.as_ref().map(|path| KeyLocation::JwksFile(path.clone()))
        };
        let Some(keys) = keys else {
            return match issuer {
                Some(_) => Err(Failure::usage("--issuer needs the issuer's keys")
                    .hint("add --jwks-url, --discovery or --jwks-file")),
                None => Ok(builder),
            };
        };
        IssuerSource::new(issuer.map(str::to_owned), keys).add_to(builder, &remote).map_err(|e| match e {
            SourceError::IssuerNeeded => Failure::usage("--jwks-url and --jwks-file need --issuer")
                .hint("give the expected issuer, e.g. --issuer 'https://sts.windows.net/{tenantid}/', or use --discovery, which declares it"),
            SourceError::UnusableUrl(e) => Failure::usage(format!("the key source cannot be used: {e}"))
                .hint("key URLs must be HTTPS, or HTTP on a loopback address"),
            other => Failure::error(other.to_string()).hint("the file must hold a JWKS document: {\"keys\":[{…}]}"),
        })
    }
}

/// A configuration file and the builder it fills (no token cache: every check of
/// the tool is a first one).
pub(crate) fn configured(path: &Path) -> Result<(Config, GuardBuilder), Failure> {
    let config = Config::from_file(path)
        .map_err(|e| Failure::error(e.to_string()).hint("fix the configuration file at the key named"))?;
    let builder = config
        .builder()
        .map_err(|e| Failure::error(e.to_string()).hint("fix the configuration file at the key named"))?
        .token_cache_capacity(0);
    Ok((config, builder))
}
