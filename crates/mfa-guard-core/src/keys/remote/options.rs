//! The settings of a remote key source ([`RemoteOptions`]) and their documented
//! defaults.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::time::{Clock, SystemClock};

/// Settings of a remote key source; the defaults are the documented ones.
#[derive(Clone)]
#[must_use]
pub struct RemoteOptions {
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) max_bytes: usize,
    pub(crate) default_max_age: Duration,
    pub(crate) min_max_age: Duration,
    pub(crate) max_max_age: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) client: Option<reqwest::Client>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(5),
            max_bytes: 512 * 1024,
            default_max_age: Duration::from_secs(3600),
            min_max_age: Duration::from_secs(60),
            max_max_age: Duration::from_secs(24 * 3600),
            cooldown: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(24 * 3600),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            client: None,
            clock: Arc::new(SystemClock),
        }
    }
}

impl RemoteOptions {
    /// The defaults: timeouts 2 s (connect) and 5 s (total), 512 KiB answers, 1 h
    /// when no max-age, max-age clamped to 1 min..24 h, 30 s unknown-kid cooldown,
    /// 24 h stale-if-error, backoff from 1 s to 5 min.
    pub fn new() -> Self {
        Self::default()
    }

    /// Time allowed to connect (for the built-in client).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Time allowed for a whole fetch, body included (applies to any client).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Largest answer read.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Freshness when the answer has no `Cache-Control: max-age`.
    pub fn default_max_age(mut self, t: Duration) -> Self {
        self.default_max_age = t;
        self
    }

    /// Bounds applied to the server's max-age.
    pub fn max_age_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_max_age = min;
        self.max_max_age = max;
        self
    }

    /// Least time between two refetches caused by unknown `kid`s.
    pub fn unknown_kid_cooldown(mut self, t: Duration) -> Self {
        self.cooldown = t;
        self
    }

    /// How long the last good keys keep serving while the source fails.
    pub fn stale_if_error(mut self, t: Duration) -> Self {
        self.stale_if_error = t;
        self
    }

    /// Backoff after failed fetches: first wait and cap (doubling, ±20% jitter).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// Uses this HTTP client (proxies, custom CAs, its own timeouts). The total
    /// timeout and size cap above still apply.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The clock that ages documents (tests pin it).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// `d` in whole seconds, as the documents' times are kept.
    pub(super) fn secs(d: Duration) -> i64 {
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
    }
}

impl fmt::Debug for RemoteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .field("default_max_age", &self.default_max_age)
            .field("cooldown", &self.cooldown)
            .field("stale_if_error", &self.stale_if_error)
            .field("custom_client", &self.client.is_some())
            .finish_non_exhaustive()
    }
}
