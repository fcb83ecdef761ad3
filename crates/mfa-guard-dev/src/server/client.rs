//! The relying party the sign-in pages serve: the one place that knows its URLs.

use crate::DEV_CLIENT_ID;

/// A client of the development issuer: its id and every URL of it the issuer sends
/// a browser to. Only these are accepted; a request naming another is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    id: String,
    redirect_uri: String,
    post_logout_redirect_uri: String,
}

impl Client {
    /// Development mode's client of a server at `base` (`http://host:port`):
    /// [`DEV_CLIENT_ID`], signed in at `{base}/auth/callback`, back after sign-out at
    /// `{base}/auth/signed-out` (browser mode's default paths).
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self::new(DEV_CLIENT_ID, format!("{base}/auth/callback"), format!("{base}/auth/signed-out"))
    }

    /// A client with this id, redirect URI and post-logout redirect URI.
    pub fn new(
        id: impl Into<String>,
        redirect_uri: impl Into<String>,
        post_logout_redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            redirect_uri: redirect_uri.into(),
            post_logout_redirect_uri: post_logout_redirect_uri.into(),
        }
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where codes are sent.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Where a signed-out browser is sent back to, when it asks.
    pub fn post_logout_redirect_uri(&self) -> &str {
        &self.post_logout_redirect_uri
    }

    /// Whether a request's `client_id` and `redirect_uri` name this client; why not.
    pub(crate) fn check(
        &self,
        client_id: Option<&str>,
        redirect_uri: Option<&str>,
    ) -> Result<(), NotThisClient> {
        if client_id != Some(self.id.as_str()) {
            return Err(NotThisClient::ClientId { known: self.id.clone() });
        }
        if redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(NotThisClient::RedirectUri { expected: self.redirect_uri.clone() });
        }
        Ok(())
    }
}

/// Why a request does not come from the development issuer's client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NotThisClient {
    #[error("unknown client_id (the development issuer knows only {known})")]
    ClientId { known: String },
    #[error("redirect_uri must be {expected}")]
    RedirectUri { expected: String },
}
