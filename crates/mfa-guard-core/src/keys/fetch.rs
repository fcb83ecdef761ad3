//! Fetching a key document over HTTP: HTTPS (or loopback), timeouts, a size cap,
//! and the `Cache-Control: max-age` of the answer.

use std::time::Duration;

use reqwest::Url;

use super::error::{FetchError, UnusableUrl};

/// Whether a URL may be fetched for keys: HTTPS anywhere, plain HTTP only on
/// loopback (a JWKS fetched over plain HTTP from the network could be swapped by
/// anyone on the path, and every token would then verify).
pub(crate) fn check_url(raw: &str) -> Result<Url, UnusableUrl> {
    let url =
        Url::parse(raw).map_err(|e| UnusableUrl::NotAUrl { url: raw.to_owned(), reason: e.to_string() })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(UnusableUrl::PlainHttp { url: shown(raw, &url) }),
        other => Err(UnusableUrl::Scheme { url: shown(raw, &url), scheme: other.to_owned() }),
    }
}

/// A URL as an error may show it: as written, unless it holds a password.
fn shown(raw: &str, url: &Url) -> String {
    if url.password().is_none() {
        return raw.to_owned();
    }
    let mut url = url.clone();
    let _ = url.set_password(Some("***"));
    url.to_string()
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    }
}

/// A document fetched, with the freshness its server gave it.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub(crate) body: Vec<u8>,
    /// `Cache-Control: max-age`, when the server sent one; `Some(0)` for
    /// `no-cache`/`no-store`.
    pub(crate) max_age: Option<u64>,
}

/// Builds the client used when the user supplies none.
pub(crate) fn default_client(
    connect_timeout: Duration,
    timeout: Duration,
) -> Result<reqwest::Client, UnusableUrl> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(concat!("mfa-guard/", env!("CARGO_PKG_VERSION")))
        // Redirects must obey the same HTTPS-or-loopback rule as the configured URL.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 3 {
                attempt.error("too many redirects")
            } else if check_url(attempt.url().as_str()).is_err() {
                attempt.error("redirect to a URL that is not HTTPS")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| UnusableUrl::Client { reason: e.to_string() })
}

/// GETs `url`, reading at most `max_bytes` of body, within `timeout` overall.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    url: &Url,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Fetched, FetchError> {
    match tokio::time::timeout(timeout, fetch_inner(client, url, max_bytes)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout { ms: timeout.as_millis() }),
    }
}

async fn fetch_inner(client: &reqwest::Client, url: &Url, max_bytes: usize) -> Result<Fetched, FetchError> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status { status: status.as_u16() });
    }
    if response.content_length().is_some_and(|len| len > max_bytes as u64) {
        return Err(FetchError::TooLarge { max_bytes });
    }
    let max_age = response
        .headers()
        .get_all(reqwest::header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_max_age);
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > max_bytes {
            return Err(FetchError::TooLarge { max_bytes });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched { body, max_age })
}

/// reqwest's errors chain their causes; a log line wants the innermost one too.
fn describe(e: &reqwest::Error) -> FetchError {
    let mut msg = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.source().is_none() {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
        }
        source = s.source();
    }
    FetchError::Transport(msg)
}

/// `max-age=N` of one `Cache-Control` value; `no-cache`/`no-store` read as 0.
pub(crate) fn parse_max_age(value: &str) -> Option<u64> {
    let mut result = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) =
            directive.split_once('=').map_or((directive, None), |(n, a)| (n.trim(), Some(a.trim())));
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(0);
        }
        if name.eq_ignore_ascii_case("max-age") {
            result = arg.map(|a| a.trim_matches('"')).and_then(|a| a.parse().ok());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_required_except_on_loopback() {
        assert!(check_url("https://login.microsoftonline.com/common/discovery/keys").is_ok());
        assert!(check_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(check_url("http://[::1]:8080/jwks").is_ok());
        assert!(check_url("http://localhost/jwks").is_ok());
        assert!(
            check_url("http://login.microsoftonline.com/keys")
                .unwrap_err()
                .to_string()
                .contains("plain HTTP")
        );
        assert!(check_url("http://127.0.0.1.evil.example/keys").is_err());
        assert!(
            matches!(check_url("file:///etc/keys.json"), Err(UnusableUrl::Scheme { scheme, .. }) if scheme == "file")
        );
        let with_password = check_url("http://user:hunter2@keys.example/jwks").unwrap_err().to_string();
        assert!(with_password.contains("user:***@keys.example") && !with_password.contains("hunter2"));
        assert!(check_url("not a url").is_err());
    }

    #[test]
    fn max_age_is_read_from_cache_control() {
        assert_eq!(parse_max_age("public, max-age=86400"), Some(86400));
        assert_eq!(parse_max_age("max-age=\"60\", must-revalidate"), Some(60));
        assert_eq!(parse_max_age("no-cache"), Some(0));
        assert_eq!(parse_max_age("private"), None);
        assert_eq!(parse_max_age("max-age=soon"), None);
    }
}
