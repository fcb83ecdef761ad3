//! The relying party the sign-in pages serve: the one place that knows its URLs.

use crate::DEV_CLIENT_ID;

/// A client of the development issuer: its id, every URL of it the issuer sends
/// a browser to (only these are accepted; a request naming another is refused),
/// and where the issuer posts back-channel logout tokens, when it takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    id: String,
    redirect_uri: String,
    post_logout_redirect_uri: String,
    backchannel_logout_uri: Option<String>,
}

impl Client {
    /// Development mode's client of a server at `base` (`http://host:port`):
    /// [`DEV_CLIENT_ID`], signed in at `{base}/auth/callback`, back after sign-out at
    /// `{base}/auth/signed-out`, logout tokens posted to `{base}/auth/backchannel-logout`
    /// (browser mode's default paths).
    pub fn at(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self::new(DEV_CLIENT_ID, format!("{base}/auth/callback"), format!("{base}/auth/signed-out"))
            .with_backchannel_logout_uri(format!("{base}/auth/backchannel-logout"))
    }

    /// A client with this id, redirect URI and post-logout redirect URI, which takes
    /// no back-channel logout (see
    /// [`with_backchannel_logout_uri`](Self::with_backchannel_logout_uri)).
    pub fn new(
        id: impl Into<String>,
        redirect_uri: impl Into<String>,
        post_logout_redirect_uri: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            redirect_uri: redirect_uri.into(),
            post_logout_redirect_uri: post_logout_redirect_uri.into(),
            backchannel_logout_uri: None,
        }
    }

    /// Where "Sign out at the provider" posts a back-channel logout token (OpenID
    /// Connect Back-Channel Logout 1.0, the client's `backchannel_logout_uri`).
    #[must_use]
    pub fn with_backchannel_logout_uri(mut self, uri: impl Into<String>) -> Self {
        self.backchannel_logout_uri = Some(uri.into());
        self
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

    /// Where logout tokens are posted, when the client takes them.
    pub fn backchannel_logout_uri(&self) -> Option<&str> {
        self.backchannel_logout_uri.as_deref()
    }

    /// The application's own address, for a link back to it: the origin of the
    /// redirect URI, with `/`.
    pub(crate) fn home(&self) -> String {
        let uri = self.redirect_uri.as_str();
        let origin_end = uri.find("://").map_or(uri.len(), |scheme| {
            let rest = scheme + 3;
            uri[rest..].find('/').map_or(uri.len(), |slash| rest + slash)
        });
        format!("{}/", &uri[..origin_end])
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
