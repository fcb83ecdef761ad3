//! An issuer and where its keys come from: the one wiring behind a configuration
//! file's `[[issuers]]`, the example servers' `MFA_ISSUER` with `MFA_JWKS_URL` or
//! `MFA_DISCOVERY_URL`, and the CLI's `--issuer` with `--jwks-url`, `--discovery` or
//! `--jwks-file`. Each of those only names the pieces; the rules (which locations
//! need an issuer, how a location becomes a [`KeySource`]) are here, and each caller
//! words the typed error in its own terms.

use std::path::PathBuf;

use crate::guard::GuardBuilder;
use crate::keys::{KeySetError, KeySource, RemoteOptions, UnusableUrl};

/// Where an issuer's signing keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyLocation {
    /// A JWKS document at this URL (HTTPS, or HTTP on loopback).
    JwksUrl(String),
    /// An OIDC discovery document at this URL; it names the JWKS and declares the
    /// issuer.
    Discovery(String),
    /// A JWKS document in this file (read once, at most 512 KiB).
    JwksFile(PathBuf),
    /// A JWKS document given inline.
    Jwks(String),
}

impl KeyLocation {
    /// Whether the location declares its issuer (only discovery does).
    pub fn declares_issuer(&self) -> bool {
        matches!(self, KeyLocation::Discovery(_))
    }

    /// The key source, remote ones with `remote`'s options.
    pub fn key_source(&self, remote: &RemoteOptions) -> Result<KeySource, SourceError> {
        let source = match self {
            KeyLocation::JwksUrl(url) => KeySource::jwks_url_with(url, remote.clone()),
            KeyLocation::Discovery(url) => KeySource::discovery_with(url, remote.clone()),
            KeyLocation::JwksFile(path) => KeySource::jwks_file(path)?,
            KeyLocation::Jwks(json) => KeySource::jwks_json(json.as_bytes())?,
        };
        match source.error() {
            Some(e) => Err(SourceError::UnusableUrl(e.clone())),
            None => Ok(source),
        }
    }
}

/// An issuer and its keys, as configuration names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSource {
    /// The expected issuer (`iss`), exact or `{tenantid}`-templated; `None` for a
    /// discovery document to declare.
    pub issuer: Option<String>,
    /// Where its keys are.
    pub keys: KeyLocation,
}

/// Why an issuer and its keys cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// A JWKS location without the issuer it belongs to (only discovery declares one).
    #[error("the expected issuer must be named: only an OIDC discovery document declares one")]
    IssuerNeeded,
    /// A key URL that cannot be used (not HTTPS off loopback, not a URL).
    #[error(transparent)]
    UnusableUrl(#[from] UnusableUrl),
    /// A JWKS document (inline or in a file) that cannot be read or holds no usable key.
    #[error(transparent)]
    Jwks(#[from] KeySetError),
}

impl IssuerSource {
    /// An issuer and its keys.
    pub fn new(issuer: Option<String>, keys: KeyLocation) -> Self {
        Self { issuer, keys }
    }

    /// Adds this issuer, with its keys, to `builder`.
    pub fn add_to(&self, builder: GuardBuilder, remote: &RemoteOptions) -> Result<GuardBuilder, SourceError> {
        if self.issuer.is_none() && !self.keys.declares_issuer() {
            return Err(SourceError::IssuerNeeded);
        }
        let keys = self.keys.key_source(remote)?;
        Ok(match &self.issuer {
            Some(issuer) => builder.verifier(|v| v.issuer(issuer.clone()).keys(keys)),
            None => builder.verifier(|v| v.issuer_from_keys(keys)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_discovery_may_leave_the_issuer_out() {
        let remote = RemoteOptions::new();
        let discovery = IssuerSource::new(
            None,
            KeyLocation::Discovery("https://idp.example/.well-known/openid-configuration".into()),
        );
        assert!(discovery.add_to(GuardBuilder::default(), &remote).is_ok());
        for keys in [
            KeyLocation::JwksUrl("https://idp.example/keys".into()),
            KeyLocation::Jwks(r#"{"keys":[]}"#.into()),
            KeyLocation::JwksFile("keys.json".into()),
        ] {
            let e = IssuerSource::new(None, keys).add_to(GuardBuilder::default(), &remote).unwrap_err();
            assert_eq!(e, SourceError::IssuerNeeded);
        }
    }

    #[test]
    fn an_unusable_url_or_document_is_a_typed_error() {
        let remote = RemoteOptions::new();
        let plain_http = KeyLocation::JwksUrl("http://idp.example/keys".into());
        assert!(matches!(plain_http.key_source(&remote), Err(SourceError::UnusableUrl(_))));
        let not_json = KeyLocation::Jwks("not json".into());
        assert!(matches!(not_json.key_source(&remote), Err(SourceError::Jwks(_))));
        let missing = KeyLocation::JwksFile("/nonexistent/keys.json".into());
        assert!(matches!(missing.key_source(&remote), Err(SourceError::Jwks(_))));
    }
}
