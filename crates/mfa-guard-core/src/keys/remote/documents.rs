//! Fetching a source's documents and reading them: the discovery document (its
//! issuer and `jwks_uri`), then the JWKS, each stored with the freshness its answer
//! earns (see `store.rs`).

use std::sync::Arc;

use reqwest::Url;
use serde::Deserialize;

use super::store::{Doc, DocKind, Keys, Metadata};
use super::{Origin, RemoteOptions, Shared};
use crate::keys::KeySet;
use crate::keys::error::DocumentError;
use crate::keys::fetch::{self, check_url};

impl Shared {
    pub(super) async fn fetch_all(&self) -> Result<Arc<Keys>, DocumentError> {
        let now = self.now();
        let jwks_uri = match &self.origin {
            Origin::Jwks(url) => url.clone(),
            Origin::Discovery(url) => match self.metadata(now) {
                Some(m) if now < m.fresh_until => m.jwks_uri.clone(),
                current => match self.fetch_metadata(url).await {
                    Ok(m) => m.jwks_uri.clone(),
                    Err(e) => match current {
                        Some(m) => {
                            tracing::warn!(source = %url, error = %e, "cannot refresh discovery; using the last good document");
                            m.jwks_uri.clone()
                        }
                        None => return Err(e),
                    },
                },
            },
        };
        let fetched = fetch::fetch(&self.client, &jwks_uri, self.options.max_bytes, self.options.timeout)
            .await
            .map_err(|error| DocumentError::JwksFetch { url: jwks_uri.to_string(), error })?;
        let set = KeySet::from_json(&fetched.body)
            .map_err(|error| DocumentError::Jwks { url: jwks_uri.to_string(), error })?;
        let now = self.now();
        let set = match self.keys(now) {
            Some(previous) => previous.set.succeed(set),
            None => set,
        };
        let ttl = self.ttl(fetched.max_age);
        let keys = Arc::new(Keys {
            set,
            refresh_at: now + ttl * 3 / 4,
            stale_until: now + ttl + RemoteOptions::secs(self.options.stale_if_error),
        });
        self.store.insert(DocKind::Keys, Doc::Keys(Arc::clone(&keys)));
        Ok(keys)
    }

    pub(super) async fn fetch_metadata(&self, url: &Url) -> Result<Arc<Metadata>, DocumentError> {
        #[derive(Deserialize)]
        struct Raw {
            issuer: String,
            jwks_uri: String,
        }
        let fetched = fetch::fetch(&self.client, url, self.options.max_bytes, self.options.timeout)
            .await
            .map_err(|error| DocumentError::DiscoveryFetch { url: url.to_string(), error })?;
        let raw: Raw = serde_json::from_slice(&fetched.body)
            .map_err(|_| DocumentError::NotDiscovery { url: url.to_string() })?;
        if raw.issuer.is_empty() {
            return Err(DocumentError::EmptyIssuer { url: url.to_string() });
        }
        let jwks_uri = check_url(&raw.jwks_uri)
            .map_err(|error| DocumentError::JwksUri { url: url.to_string(), error })?;
        let now = self.now();
        let ttl = self.ttl(fetched.max_age);
        let m = Arc::new(Metadata {
            issuer: raw.issuer,
            jwks_uri,
            fresh_until: now + ttl,
            stale_until: now + ttl + RemoteOptions::secs(self.options.stale_if_error),
        });
        self.store.insert(DocKind::Metadata, Doc::Metadata(Arc::clone(&m)));
        Ok(m)
    }
}
