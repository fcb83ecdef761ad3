//! Why browser mode cannot be set up: which setting, which key id (never a key).
//! (Here rather than in `browser`, which builds on the verifier: a build error names
//! them without the engine depending on itself.)

use std::time::Duration;

/// Why browser mode cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    /// The session keys are unusable.
    #[error("session keys: {0}")]
    Keys(#[from] SessionKeyError),
    /// A setting is unusable.
    #[error("browser sign-in: {0}")]
    Config(#[from] BrowserSettingError),
}

/// Why session keys are unusable (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionKeyError {
    /// An entry of the list without `:`.
    #[error("entry {entry} is not `id:base64-key` (no `:`)")]
    NotIdAndKey {
        /// The entry's position, from 1.
        entry: usize,
    },
    /// A key that is not base64.
    #[error("the key of `{id}` is not base64")]
    NotBase64 {
        /// The key's id.
        id: String,
    },
    /// No key at all.
    #[error("no key given (expected `id:base64-key[,id:base64-key...]`)")]
    Empty,
    /// The operating system gave no randomness for a key.
    #[error("no randomness")]
    Randomness,
    /// A key id outside `A-Z a-z 0-9 _ -`, or too long.
    #[error("key id {id:?} must be 1 to {max} characters of A-Z a-z 0-9 _ -")]
    KeyId {
        /// The key id.
        id: String,
        /// The longest id.
        max: usize,
    },
    /// A key that is not 32 bytes.
    #[error(
        "the key of `{id}` is {len} bytes; session keys are {expected} bytes (e.g. `openssl rand -base64 32`)"
    )]
    KeyLength {
        /// The key's id.
        id: String,
        /// Its length in bytes.
        len: usize,
        /// The length of a session key.
        expected: usize,
    },
    /// Two keys with one id.
    #[error("key id `{id}` is given twice")]
    DuplicateId {
        /// The key id.
        id: String,
    },
    /// The cipher refused the key.
    #[error("unusable key")]
    Unusable,
}

/// Which setting of browser sign-in is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserSettingError {
    /// The redirect URI is not a URI.
    #[error("the redirect URI {uri:?} is not a URI")]
    RedirectNotUri {
        /// The redirect URI.
        uri: String,
    },
    /// The redirect URI is relative.
    #[error("the redirect URI {uri:?} must be absolute (https://host/path)")]
    RedirectNotAbsolute {
        /// The redirect URI.
        uri: String,
    },
    /// The redirect URI is not HTTPS, and not HTTP on loopback.
    #[error("the redirect URI {uri:?} must be https (plain http only on loopback, for development)")]
    RedirectNotHttps {
        /// The redirect URI.
        uri: String,
    },
    /// The redirect URI has no origin a browser would send.
    #[error("the redirect URI {uri:?} has no usable origin")]
    RedirectOrigin {
        /// The redirect URI.
        uri: String,
    },
    /// The client id is empty.
    #[error("the client id is empty")]
    EmptyClientId,
    /// A sign-in, sign-out, signed-out or back-channel path that is not absolute.
    #[error("{path:?} is not an absolute path")]
    Path {
        /// The path.
        path: String,
    },
    /// An idle timeout under the minimum (twice the interval at which a session in
    /// use has its cookie written again).
    #[error(
        "idle_timeout is {}, under the {} minimum: a session in use has its cookie written again at \
         most once every {} seconds, so an idle timeout under twice that signs out people \
         who are using the application",
        humantime::format_duration(*idle),
        humantime::format_duration(*minimum),
        minimum.as_secs() / 2
    )]
    IdleTimeout {
        /// The idle timeout given.
        idle: Duration,
        /// The shortest idle timeout.
        minimum: Duration,
    },
    /// An absolute timeout of zero.
    #[error("absolute_timeout must be longer than zero")]
    AbsoluteTimeout,
    /// The HTTP client for the provider could not be made.
    #[error("cannot make the HTTP client: {reason}")]
    Client {
        /// What the HTTP library said.
        reason: String,
    },
}
