//! Building the guard `verify` and `check` run: key source flags on top of a
//! builder (a fresh one, or one a configuration file filled).

use std::path::PathBuf;

use clap::Args;
use mfa_guard_core::{GuardBuilder, KeySource, RemoteOptions};

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
            Some(KeySource::jwks_url_with(url, remote))
        } else if let Some(url) = &self.discovery {
            Some(KeySource::discovery_with(url, remote))
        } else if let Some(path) = &self.jwks_file {
            Some(KeySource::jwks_file(path).map_err(|e| {
                Failure::error(e.to_string()).hint("the file must hold a JWKS document: {\"keys\":[{…}]}")
            })?)
        } else {
            None
        };
        if let Some(e) = keys.as_ref().and_then(KeySource::error) {
            return Err(Failure::usage(format!("the key source cannot be used: {e}"))
                .hint("key URLs must be HTTPS, or HTTP on a loopback address"));
        }
        match (issuer, keys) {
            (Some(iss), Some(keys)) => Ok(builder.issuer(iss).keys(keys)),
            (None, Some(keys)) if self.discovery.is_some() => Ok(builder.issuer_from_keys(keys)),
            (None, Some(_)) => Err(Failure::usage("--jwks-url and --jwks-file need --issuer")
                .hint("give the expected issuer, e.g. --issuer 'https://sts.windows.net/{tenantid}/', or use --discovery, which declares it")),
            (Some(_), None) => Err(Failure::usage("--issuer needs the issuer's keys")
                .hint("add --jwks-url, --discovery or --jwks-file")),
            (None, None) => Ok(builder),
        }
    }
}
