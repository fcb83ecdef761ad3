//! Where the revocations live and how the local view may age: the store's address
//! (`memory`, `redis://…`, `rediss://…`), its key prefix, the bound on the view's
//! age and what happens past it. Read from `MFA_SESSION_STORE*` and the `[browser]`
//! table's `session_store*` keys by the configuration (`Environment::session_store`).
//!
//! Accepted addresses, and nothing else:
//!
//! ```text
//! memory
//! redis://[user[:password]@]host[:port][/db]
//! rediss://[user[:password]@]host[:port][/db]     TLS (rustls, the system's roots)
//! ```
//!
//! `host` is a name, an IPv4 address or a bracketed IPv6 address; `port` defaults to
//! 6379; `db` is a number (default 0). No query and no fragment: the client's other
//! URL options (`?protocol=`, `#insecure`) would change security-relevant behaviour
//! behind the operator's back, so an address carrying one is refused. A password
//! belongs in `MFA_SESSION_STORE_PASSWORD`; configuration files may not hold one.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::error::StoreError;

/// The key prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "mfa-guard:";
/// The default bound on the local view's age.
pub(crate) const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(30);
/// The shortest bound on the local view's age: two heartbeats.
pub(crate) const MIN_STALE_AFTER: Duration = Duration::from_secs(2);
/// Longest key prefix.
pub(crate) const MAX_PREFIX_BYTES: usize = 64;
/// Longest store address read.
const MAX_URL_BYTES: usize = 2048;

/// What `standing` answers once the local view is older than the bound
/// (`session_store_fail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// `closed`: [`Standing::Unknown`](super::Standing::Unknown) at once; browser
    /// mode then shows MFA pages' 503 page. The default: an unreachable store must
    /// not silently admit a session revoked meanwhile.
    #[default]
    Closed,
    /// `open-for 5m`: the local view keeps answering for this much longer, then
    /// `Unknown`. For operators who choose availability over revocations made
    /// during the outage.
    OpenFor(Duration),
}

impl FromStr for FailMode {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        let text = text.trim();
        if text == "closed" {
            return Ok(FailMode::Closed);
        }
        let bad = || {
            StoreError::invalid_input(format!(
                "{text:?} is not a fail mode: write \"closed\" or \"open-for <duration>\" (\"open-for 5m\")"
            ))
        };
        let rest = text.strip_prefix("open-for").ok_or_else(bad)?;
        if !rest.starts_with(char::is_whitespace) {
            return Err(bad());
        }
        let duration = crate::time::parse_duration(rest).map_err(|e| {
            StoreError::invalid_input(format!("{text:?}: the time after open-for is not a duration: {e}"))
        })?;
        Ok(FailMode::OpenFor(duration))
    }
}

impl fmt::Display for FailMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailMode::Closed => f.write_str("closed"),
            FailMode::OpenFor(d) => write!(f, "open-for {}", humantime::format_duration(*d)),
        }
    }
}

/// A password, never shown.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Password(String);

impl Password {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A Redis server's address, as accepted above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedisAddress {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) db: u32,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Password>,
}

impl RedisAddress {
    fn parse(text: &str) -> Result<Self, StoreError> {
        let url = url::Url::parse(text).map_err(|e| {
            StoreError::invalid_url(format!("the session store address is not a URL ({e}): {}", redact(text)))
        })?;
        let shown = redact(text);
        let tls = match url.scheme() {
            "redis" => false,
            "rediss" => true,
            other => {
                return Err(StoreError::invalid_url(format!(
                    "the session store address must start redis:// or rediss:// (or be `memory`), not \
                     {other}:// ({shown})"
                )));
            }
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(StoreError::invalid_url(format!(
                "the session store address takes no query or fragment (client options are not read from \
                 it): {shown}"
            )));
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
            _ => {
                return Err(StoreError::invalid_url(format!(
                    "the session store address has no host: {shown}"
                )));
            }
        };
        let port = url.port().unwrap_or(6379);
        if port == 0 {
            return Err(StoreError::invalid_url(format!("port 0 cannot be connected to: {shown}")));
        }
        let db = match url.path() {
            "" | "/" => 0,
            path => path
                .strip_prefix('/')
                .filter(|d| !d.is_empty() && d.len() <= 5 && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u32>().ok())
                .ok_or_else(|| {
                    StoreError::invalid_url(format!(
                        "the path of a session store address is a database number (/0): {shown}"
                    ))
                })?,
        };
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        let username = match url.username() {
            "" => None,
            u => Some(decode(u).map_err(|_| {
                StoreError::invalid_url(format!("the user name is not UTF-8 once decoded: {shown}"))
            })?),
        };
        let password = match url.password() {
            None => None,
            Some(p) => Some(Password(decode(p).map_err(|_| {
                StoreError::invalid_url(format!("the password is not UTF-8 once decoded: {shown}"))
            })?)),
        };
        Ok(Self { tls, host, port, db, username, password })
    }

    /// The URL the Redis client is given, password included: never shown.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn client_url(&self) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, USERINFO).to_string();
        let auth = match (&self.username, &self.password) {
            (None, None) => String::new(),
            (Some(u), None) => format!("{}@", enc(u)),
            (u, Some(p)) => format!("{}:{}@", u.as_deref().map(enc).unwrap_or_default(), enc(p.expose())),
        };
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://{auth}{}:{}/{}", self.host, self.port, self.db)
    }
}

/// Everything but RFC 3986's unreserved characters, escaped in user names and
/// passwords.
const USERINFO: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl fmt::Display for RedisAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "rediss" } else { "redis" };
        write!(f, "{scheme}://")?;
        match (&self.username, &self.password) {
            (None, None) => {}
            (Some(u), None) => write!(f, "{u}@")?,
            (u, Some(_)) => write!(f, "{}:***@", u.as_deref().unwrap_or_default())?,
        }
        write!(f, "{}:{}/{}", self.host, self.port, self.db)
    }
}

/// `text` with anything between `://` and the last `@` of its authority replaced,
/// for messages about an address that did not parse.
fn redact(text: &str) -> String {
    let text: String = text.chars().take(200).collect();
    let Some((scheme, rest)) = text.split_once("://") else {
        // Not even a scheme: could be a bare password pasted by mistake.
        return "(not shown)".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => text.clone(),
    }
}

/// Where revocations are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Memory,
    Redis(RedisAddress),
}

/// How to reach the revocation store and how far to trust the local view.
///
/// ```
/// use std::time::Duration;
/// use mfa_guard_core::revocation::{FailMode, StoreSettings};
///
/// let settings = StoreSettings::parse("redis://cache.internal:6379/2")?
///     .password("from-the-environment")
///     .prefix("shop:")?
///     .fail(FailMode::OpenFor(Duration::from_secs(300)))
///     .stale_after(Duration::from_secs(10))?;
/// assert_eq!(settings.to_string(), "redis://:***@cache.internal:6379/2");
/// assert!(!format!("{settings:?}").contains("from-the-environment"));
/// # Ok::<(), mfa_guard_core::revocation::StoreError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    pub(crate) location: Location,
    pub(crate) prefix: String,
    pub(crate) fail: FailMode,
    pub(crate) stale_after: Duration,
}

impl StoreSettings {
    fn at(location: Location) -> Self {
        Self {
            location,
            prefix: DEFAULT_PREFIX.to_owned(),
            fail: FailMode::Closed,
            stale_after: DEFAULT_STALE_AFTER,
        }
    }

    /// The in-process store: one process, nothing shared.
    pub fn memory() -> Self {
        Self::at(Location::Memory)
    }

    /// `memory`, or a `redis://` / `rediss://` address (see the module
    /// documentation for the grammar). Errors show the address with its password
    /// replaced by `***`.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let text = text.trim();
        if text.len() > MAX_URL_BYTES {
            return Err(StoreError::invalid_url(format!(
                "the session store address is longer than {MAX_URL_BYTES} bytes"
            )));
        }
        if text == "memory" {
            return Ok(Self::memory());
        }
        RedisAddress::parse(text).map(|a| Self::at(Location::Redis(a)))
    }

    /// Sets the Redis password (`MFA_SESSION_STORE_PASSWORD`), replacing one given
    /// in the address. Ignored by the memory store.
    #[must_use]
    pub fn password(mut self, password: impl Into<String>) -> Self {
        if let Location::Redis(a) = &mut self.location {
            a.password = Some(Password(password.into()));
        }
        self
    }

    /// Whether a password is set (in the address or by [`password`](Self::password)).
    pub(crate) fn has_password(&self) -> bool {
        matches!(&self.location, Location::Redis(a) if a.password.is_some())
    }

    /// The prefix of every key and of the channel (default `mfa-guard:`): 1 to 64
    /// printable ASCII characters, no spaces. Distinct prefixes keep applications
    /// sharing one Redis apart.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let prefix = prefix.into();
        if prefix.is_empty()
            || prefix.len() > MAX_PREFIX_BYTES
            || !prefix.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(StoreError::invalid_input(format!(
                "a session store prefix is 1 to {MAX_PREFIX_BYTES} printable ASCII characters without \
                 spaces (like \"mfa-guard:\"), not {:?}",
                prefix.chars().take(80).collect::<String>()
            )));
        }
        self.prefix = prefix;
        Ok(self)
    }

    /// What happens once the local view is older than the bound (default closed).
    #[must_use]
    pub fn fail(mut self, fail: FailMode) -> Self {
        self.fail = fail;
        self
    }

    /// The bound on the local view's age (default 30 s): how long after the store
    /// last confirmed the view it is still trusted. At least 2 s: the view is
    /// confirmed every second, so a shorter bound would turn the sessions of a
    /// healthy store `Unknown` between two confirmations.
    pub fn stale_after(mut self, bound: Duration) -> Result<Self, StoreError> {
        if bound < MIN_STALE_AFTER {
            return Err(StoreError::invalid_input(format!(
                "the bound on the session store view's age is at least {}s (it is confirmed every second), \
                 not {bound:?}",
                MIN_STALE_AFTER.as_secs()
            )));
        }
        self.stale_after = bound;
        Ok(self)
    }

    /// Whether this is the in-process store.
    pub(crate) fn is_memory(&self) -> bool {
        matches!(self.location, Location::Memory)
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The fail mode.
    #[cfg(test)]
    pub(crate) fn fail_mode(&self) -> FailMode {
        self.fail
    }

    /// The bound on the local view's age.
    #[cfg(test)]
    pub(crate) fn stale_bound(&self) -> Duration {
        self.stale_after
    }
}

/// The address, password replaced by `***` (`memory` for the memory store).
impl fmt::Display for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Memory => f.write_str("memory"),
            Location::Redis(a) => a.fmt(f),
        }
    }
}

/// The session store's environment variables, as given.
#[derive(Clone, Default)]
pub(crate) struct StoreVariables {
    url: Option<String>,
    password: Option<String>,
    prefix: Option<String>,
    fail: Option<String>,
    stale_after: Option<String>,
}

impl fmt::Debug for StoreVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreVariables")
            .field(
                "url",
                &self.url.as_deref().map(|u| {
                    StoreSettings::parse(u).map(|s| s.to_string()).unwrap_or_else(|_| "<invalid>".into())
                }),
            )
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("prefix", &self.prefix)
            .field("fail", &self.fail)
            .field("stale_after", &self.stale_after)
            .finish()
    }
}

/// The variables, in the order they are read.
pub(crate) const VARIABLES: [&str; 5] = [
    "MFA_SESSION_STORE",
    "MFA_SESSION_STORE_PASSWORD",
    "MFA_SESSION_STORE_PREFIX",
    "MFA_SESSION_STORE_FAIL",
    "MFA_SESSION_STORE_STALE_AFTER",
];

impl StoreVariables {
    /// Reads `MFA_SESSION_STORE`, `…_PASSWORD`, `…_PREFIX`, `…_FAIL` and
    /// `…_STALE_AFTER` through `get`.
    pub(crate) fn read(get: &impl Fn(&str) -> Option<String>) -> Self {
        let [url, password, prefix, fail, stale_after] = VARIABLES.map(get);
        // The password is taken as given (spaces may belong to it); the rest trimmed.
        let trim = |v: Option<String>| v.map(|v| v.trim().to_owned());
        Self {
            url: trim(url),
            password,
            prefix: trim(prefix),
            fail: trim(fail),
            stale_after: trim(stale_after),
        }
    }
}

/// The `[browser]` table's `session_store*` keys, each with the byte offset of its
/// value (for an error at its line).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FileStoreKeys<'a> {
    pub(crate) url: Option<(&'a str, usize)>,
    pub(crate) prefix: Option<(&'a str, usize)>,
    pub(crate) fail: Option<(&'a str, usize)>,
    pub(crate) stale_after: Option<(Duration, usize)>,
}

/// A file's key that is wrong: its name, where its value is, and why.
#[derive(Debug)]
pub(crate) struct FileKeyError {
    pub(crate) key: &'static str,
    pub(crate) offset: usize,
    pub(crate) error: StoreError,
}

/// The settings a file's keys make, `None` without `session_store`. A password
/// in the file's address is refused without showing it.
pub(crate) fn from_file(keys: &FileStoreKeys<'_>) -> Result<Option<StoreSettings>, FileKeyError> {
    let at = |key, offset| move |error| FileKeyError { key, offset, error };
    let mut settings = match keys.url {
        None => None,
        Some((url, offset)) => {
            let settings = StoreSettings::parse(url).map_err(at("browser.session_store", offset))?;
            if settings.has_password() {
                return Err(at("browser.session_store", offset)(StoreError::invalid_url(
                    "a password is not read from configuration files (they end up in repositories and \
                     backups): remove it from the address and set MFA_SESSION_STORE_PASSWORD",
                )));
            }
            Some(settings)
        }
    };
    // The other keys are checked whether or not the file names the store: the
    // environment may name it.
    let mut rest = StoreSettings::memory();
    if let Some((prefix, offset)) = keys.prefix {
        rest = rest.prefix(prefix).map_err(at("browser.session_store_prefix", offset))?;
    }
    if let Some((fail, offset)) = keys.fail {
        rest = rest.fail(fail.parse().map_err(at("browser.session_store_fail", offset))?);
    }
    if let Some((bound, offset)) = keys.stale_after {
        rest = rest.stale_after(bound).map_err(at("browser.session_store_stale_after", offset))?;
    }
    if let Some(s) = &mut settings {
        s.prefix = rest.prefix;
        s.fail = rest.fail;
        s.stale_after = rest.stale_after;
    }
    Ok(settings)
}

/// The settings the environment and the file make together: each variable wins
/// over its key. `None` when neither names a store; a variable or key that tunes a
/// store nobody named is refused, as is a password for the memory store.
pub(crate) fn resolve(
    vars: &StoreVariables,
    file: &FileStoreKeys<'_>,
) -> Result<Option<StoreSettings>, (&'static str, StoreError)> {
    let [v_url, v_password, v_prefix, v_fail, v_stale] = VARIABLES;
    let file_error = |e: FileKeyError| (e.key, e.error);
    let tuning = from_file_tuning(file).map_err(file_error)?;
    let mut settings = match (&vars.url, from_file(file).map_err(file_error)?) {
        (Some(url), _) => {
            let mut settings = StoreSettings::parse(url).map_err(|e| (v_url, e))?;
            // The file's tuning applies to a store the environment names too.
            settings.prefix = tuning.prefix;
            settings.fail = tuning.fail;
            settings.stale_after = tuning.stale_after;
            settings
        }
        (None, Some(settings)) => settings,
        (None, None) => {
            let set = [
                (v_password, vars.password.is_some()),
                (v_prefix, vars.prefix.is_some()),
                (v_fail, vars.fail.is_some()),
                (v_stale, vars.stale_after.is_some()),
                ("browser.session_store_prefix", file.prefix.is_some()),
                ("browser.session_store_fail", file.fail.is_some()),
                ("browser.session_store_stale_after", file.stale_after.is_some()),
            ];
            return match set.into_iter().find(|(_, set)| *set) {
                Some((name, _)) => Err((
                    name,
                    StoreError::invalid_input(format!(
                        "{name} is set but no session store is: set MFA_SESSION_STORE (or [browser] \
                         session_store) to redis://… or memory, or remove it"
                    )),
                )),
                None => Ok(None),
            };
        }
    };
    if let Some(password) = &vars.password {
        if settings.is_memory() {
            return Err((
                v_password,
                StoreError::invalid_input(format!("{v_password} is set but the session store is `memory`")),
            ));
        }
        settings = settings.password(password.clone());
    }
    if let Some(prefix) = &vars.prefix {
        settings = settings.prefix(prefix.clone()).map_err(|e| (v_prefix, e))?;
    }
    if let Some(fail) = &vars.fail {
        settings = settings.fail(fail.parse().map_err(|e| (v_fail, e))?);
    }
    if let Some(stale) = &vars.stale_after {
        let bound = crate::time::parse_duration(stale)
            .map_err(|e| (v_stale, StoreError::invalid_input(format!("{v_stale}: {e}"))))?;
        settings = settings.stale_after(bound).map_err(|e| (v_stale, e))?;
    }
    Ok(Some(settings))
}

/// The file's prefix, fail mode and bound on their own (defaults where unset).
fn from_file_tuning(file: &FileStoreKeys<'_>) -> Result<StoreSettings, FileKeyError> {
    let keys = FileStoreKeys { url: Some(("memory", 0)), ..*file };
    from_file(&keys).map(|s| s.unwrap_or_else(StoreSettings::memory))
}
