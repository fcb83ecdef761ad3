//! The identity provider as a relying party sees it: its discovery document (fetched
//! once, with single flight and a cooldown after failure), the authorization request
//! and the code exchange (the `openidconnect` crate, over our own HTTP client with
//! size limits and timeouts), and the verifier of its ID tokens (core's own, sharing
//! the key source of the API path when the provider is one of its issuers).

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest, HttpResponse, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
};

use crate::error::BrowserSettingError;
use crate::verify::Verifier;

/// Largest discovery document or token response read.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long one request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long after a failed discovery fetch the next one is tried (browsers in the
/// meantime get the 503 page, with this as `Retry-After`).
pub(crate) const COOLDOWN: Duration = Duration::from_secs(10);

/// Why the provider could not do what was asked.
#[derive(Debug, Clone)]
pub(crate) enum ProviderError {
    /// It cannot be reached or answered garbage: try again later.
    Unavailable(String),
    /// It answered, and refused (a replayed code, a wrong PKCE verifier...).
    Refused(String),
}

/// What discovery gave.
pub(crate) struct Loaded {
    pub(crate) metadata: CoreProviderMetadata,
    pub(crate) end_session: Option<String>,
    /// Verifies this provider's ID tokens for our client id.
    pub(crate) id_tokens: Verifier,
}

/// The settings of the client at the provider.
#[derive(Clone)]
pub(crate) struct ClientSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) redirect_uri: String,
}

pub(crate) struct Provider {
    discovery_url: String,
    client: ClientSettings,
    http: reqwest::Client,
    loaded: RwLock<Option<Arc<Loaded>>>,
    failed: Mutex<Option<(Instant, String)>>,
    fetching: tokio::sync::Mutex<()>,
    /// The API path's verifier: its key sources are reused for the provider's issuer.
    api: Verifier,
}

/// The state of discovery, without waiting.
pub(crate) enum Ready {
    Loaded(Arc<Loaded>),
    /// Failed recently: the reason, and seconds until the next try.
    CoolingDown(String, u64),
    NotYet,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HttpError(String);

/// Why the provider's discovery document, or a request to the provider, failed
/// (logged, and shown on the 503 page; never a URL's query, which may carry a code).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum DiscoveryError {
    #[error("GET {url}: {reason}")]
    Request { url: String, reason: String },
    #[error("GET {url}: status {status}")]
    Status { url: String, status: reqwest::StatusCode },
    #[error("{0}")]
    Body(String),
    #[error("the response exceeds {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the discovery document is not OpenID provider metadata: {reason}")]
    NotMetadata { reason: String },
    #[error("the provider's issuer {issuer:?} is unusable: {error}")]
    Issuer { issuer: String, error: crate::verify::InvalidIssuer },
    #[error("{reason}")]
    RedirectUri { reason: String },
}

impl Provider {
    pub(crate) fn new(
        discovery_url: String,
        client: ClientSettings,
        api: Verifier,
    ) -> Result<Self, BrowserSettingError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BrowserSettingError::Client { reason: e.to_string() })?;
        Ok(Provider {
            discovery_url,
            client,
            http,
            loaded: RwLock::new(None),
            failed: Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            api,
        })
    }

    pub(crate) fn ready(&self) -> Ready {
        if let Some(loaded) = self.loaded.read().ok().and_then(|l| l.clone()) {
            return Ready::Loaded(loaded);
        }
        if let Some((at, why)) = self.failed.lock().ok().and_then(|f| f.clone()) {
            let left = COOLDOWN.saturating_sub(at.elapsed());
            if !left.is_zero() {
                return Ready::CoolingDown(why, left.as_secs().max(1));
            }
        }
        Ready::NotYet
    }

    /// The discovery document, fetched now if it must be (one fetch at a time).
    pub(crate) async fn get(&self) -> Result<Arc<Loaded>, (String, u64)> {
        match self.ready() {
            Ready::Loaded(l) => return Ok(l),
            Ready::CoolingDown(why, secs) => return Err((why, secs)),
            Ready::NotYet => {}
        }
        let _one = self.fetching.lock().await;
        match self.ready() {
            Ready::Loaded(l) => return Ok(l),
            Ready::CoolingDown(why, secs) => return Err((why, secs)),
            Ready::NotYet => {}
        }
        match self.load().await {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                if let Ok(mut slot) = self.loaded.write() {
                    *slot = Some(Arc::clone(&loaded));
                }
                Ok(loaded)
            }
            Err(why) => {
                tracing::warn!(url = %self.discovery_url, reason = %why, "browser sign-in: provider discovery failed");
                let why = why.to_string();
                if let Ok(mut f) = self.failed.lock() {
                    *f = Some((Instant::now(), why.clone()));
                }
                Err((why, COOLDOWN.as_secs()))
            }
        }
    }

    async fn load(&self) -> Result<Loaded, DiscoveryError> {
        let bytes = self.fetch(&self.discovery_url).await?;
        let metadata: CoreProviderMetadata = serde_json::from_slice(&bytes)
            .map_err(|e| DiscoveryError::NotMetadata { reason: e.to_string() })?;
        let document: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let end_session = document.get("end_session_endpoint").and_then(|v| v.as_str()).map(str::to_owned);
        let issuer = metadata.issuer().as_str().to_owned();
        let id_tokens = self
            .api
            .for_id_tokens(&issuer, metadata.jwks_uri().url().as_str(), &self.client.client_id)
            .map_err(|error| DiscoveryError::Issuer { issuer: issuer.clone(), error })?;
        Ok(Loaded { metadata, end_session, id_tokens })
    }

    async fn fetch(&self, url: &str) -> Result<Vec<u8>, DiscoveryError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| DiscoveryError::Request { url: url.to_owned(), reason: without_url(&e) })?;
        if !response.status().is_success() {
            return Err(DiscoveryError::Status { url: url.to_owned(), status: response.status() });
        }
        read_capped(response).await
    }

    /// Our HTTP client, as `openidconnect` calls it.
    fn client_fn(
        &self,
    ) -> impl Fn(HttpRequest) -> std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send>>
    {
        let http = self.http.clone();
        move |request: HttpRequest| {
            let http = http.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let mut builder = http.request(parts.method, parts.uri.to_string()).body(body);
                for (name, value) in &parts.headers {
                    builder = builder.header(name, value);
                }
                let response = builder.send().await.map_err(|e| HttpError(without_url(&e)))?;
                let mut out = http::Response::builder().status(response.status());
                for (name, value) in response.headers() {
                    out = out.header(name, value);
                }
                let body = read_capped(response).await.map_err(|e| HttpError(e.to_string()))?;
                out.body(body).map_err(|e| HttpError(e.to_string()))
            })
        }
    }

    /// The authorization request: its URL, and the state, nonce and PKCE verifier to
    /// keep for the callback. `extra` are the step-up parameters.
    pub(crate) fn authorize(
        &self,
        loaded: &Loaded,
        scopes: &[String],
        extra: &[(&'static str, String)],
    ) -> Result<(String, String, String, String), DiscoveryError> {
        let client = self.client(loaded)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        for (name, value) in extra {
            request = request.add_extra_param(*name, value.clone());
        }
        let (url, state, nonce) = request.url();
        Ok((url.to_string(), state.secret().clone(), nonce.secret().clone(), verifier.secret().clone()))
    }

    /// Exchanges `code` (with its PKCE verifier) for an ID token, returned unverified.
    pub(crate) async fn exchange(
        &self,
        loaded: &Loaded,
        code: &str,
        verifier: &str,
    ) -> Result<String, ProviderError> {
        let client = self.client(loaded).map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let http = self.client_fn();
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| ProviderError::Unavailable(format!("the provider has no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        let response = request.request_async(&http).await.map_err(|e| {
            use openidconnect::RequestTokenError as E;
            match e {
                E::ServerResponse(r) => ProviderError::Refused(format!(
                    "{}{}",
                    r.error(),
                    r.error_description().map(|d| format!(": {d}")).unwrap_or_default()
                )),
                E::Request(e) => ProviderError::Unavailable(format!("token endpoint: {e}")),
                E::Parse(e, _) => ProviderError::Unavailable(format!("token endpoint answered garbage: {e}")),
                E::Other(e) => ProviderError::Unavailable(format!("token endpoint: {e}")),
            }
        })?;
        use openidconnect::TokenResponse as _;
        response
            .id_token()
            .map(ToString::to_string)
            .ok_or_else(|| ProviderError::Refused("the token response has no id_token".into()))
    }

    fn client(
        &self,
        loaded: &Loaded,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        DiscoveryError,
    > {
        let redirect = RedirectUrl::new(self.client.redirect_uri.clone())
            .map_err(|e| DiscoveryError::RedirectUri { reason: e.to_string() })?;
        Ok(CoreClient::from_provider_metadata(
            loaded.metadata.clone(),
            ClientId::new(self.client.client_id.clone()),
            self.client.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }
}

/// A response body, refused beyond [`MAX_RESPONSE_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, DiscoveryError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| DiscoveryError::Body(without_url(&e)))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(DiscoveryError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error without the URL (which may carry a code or secret).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut why = String::new();
    while let Some(s) = source {
        why = s.to_string();
        source = s.source();
    }
    if why.is_empty() { kind.to_owned() } else { format!("{kind} ({why})") }
}
