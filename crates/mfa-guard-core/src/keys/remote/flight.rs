//! One flight per fetch: every fetch of a source (cold start, unknown `kid`,
//! refresh) goes through one lock and whoever waited reuses its outcome; failures
//! back off exponentially with jitter; fetches run detached from the request that
//! needed them, refreshes in the background.

use std::sync::{Arc, MutexGuard};

use super::Shared;
use super::store::Keys;
use crate::keys::KeyError;
use crate::keys::error::DocumentError;

/// What the fetches so far have left: the latest outcome, the backoff, the
/// unknown-`kid` cooldown, whether a background refresh runs.
#[derive(Default)]
pub(super) struct State {
    /// Completed fetch attempts.
    attempts: u64,
    /// Why the latest attempt failed (`None`: it succeeded, or none ran yet).
    pub(super) last_failure: Option<DocumentError>,
    /// Consecutive failed attempts.
    failures: u32,
    /// No attempt before this time (backoff).
    pub(super) retry_at: i64,
    /// When an unknown `kid` last caused a refetch.
    pub(super) unknown_kid_at: Option<i64>,
    /// A background refresh task is running.
    refreshing: bool,
}

impl Shared {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data updated in one step; a panic elsewhere cannot leave
        // it half-written, so a poisoned lock is still good to read.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn unavailable(&self, state: &State, now: i64) -> KeyError {
        let retry_after = u64::try_from(state.retry_at - now).unwrap_or(0).max(1);
        let url = self.url();
        let message = match &state.last_failure {
            Some(why) => format!("the key source {url} cannot be fetched ({why})"),
            None => format!("the key source {url} cannot be fetched (no answer yet)"),
        };
        KeyError::unavailable(message, retry_after)
    }

    fn backoff(&self, failures: u32) -> i64 {
        let base = self.options.backoff_base.as_secs_f64();
        let max = self.options.backoff_max.as_secs_f64();
        let exp = base * 2f64.powi(failures.saturating_sub(1).min(30) as i32);
        let mut jitter = [0u8; 2];
        let _ = aws_lc_rs::rand::fill(&mut jitter);
        let factor = 0.8 + 0.4 * f64::from(u16::from_le_bytes(jitter)) / f64::from(u16::MAX);
        (exp.min(max) * factor).ceil() as i64
    }

    /// The answer to give without fetching while the backoff of a failed fetch
    /// lasts: `None` once it is over, or while a fetch is under way (whose outcome
    /// [`load`](Self::load) then shares).
    pub(super) fn backing_off(&self, now: i64) -> Option<KeyError> {
        let state = self.state();
        (now < state.retry_at && self.fetch_lock.try_lock().is_ok()).then(|| self.unavailable(&state, now))
    }

    /// Fetches, or waits for the fetch in progress and takes its outcome.
    async fn load(self: Arc<Self>) -> Result<Arc<Keys>, KeyError> {
        let seen = self.state().attempts;
        let _permit = self.fetch_lock.lock().await;
        {
            let state = self.state();
            let now = self.now();
            if state.attempts != seen {
                return match (&state.last_failure, self.keys(now)) {
                    (None, Some(keys)) => Ok(keys),
                    _ => Err(self.unavailable(&state, now)),
                };
            }
            // Callers check the backoff before coming here, but one that checked while
            // a failing fetch still held the lock (its state already written) would
            // otherwise fetch again at once.
            if now < state.retry_at {
                return Err(self.unavailable(&state, now));
            }
        }
        let started = std::time::Instant::now();
        let result = self.fetch_all().await;
        crate::metrics::key_fetch(result.is_ok());
        let now = self.now();
        let mut state = self.state();
        state.attempts += 1;
        match &result {
            Ok(keys) => {
                tracing::debug!(
                    source = %self.url(),
                    keys = keys.set.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "fetched signing keys"
                );
                state.failures = 0;
                state.retry_at = 0;
                state.last_failure = None;
                Ok(Arc::clone(keys))
            }
            Err(why) => {
                state.failures += 1;
                state.retry_at = now + self.backoff(state.failures);
                state.last_failure = Some(why.clone());
                tracing::warn!(
                    source = %self.url(),
                    error = %why,
                    failures = state.failures,
                    retry_in_s = state.retry_at - now,
                    "cannot fetch signing keys; serving the last good keys if any"
                );
                Err(self.unavailable(&state, now))
            }
        }
    }

    /// Runs [`load`](Self::load) detached from the caller, so dropping the caller's
    /// future (a client gone) does not cancel a fetch others may be waiting on.
    pub(super) async fn load_detached(self: &Arc<Self>) -> Result<Arc<Keys>, KeyError> {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => match handle.spawn(Arc::clone(self).load()).await {
                Ok(result) => result,
                Err(_) => Err(KeyError::unavailable("the key fetch task was cancelled", 1)),
            },
            Err(_) => Arc::clone(self).load().await,
        }
    }

    /// Starts one background refresh if none runs and backoff allows.
    pub(super) fn refresh_in_background(self: &Arc<Self>, now: i64) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        {
            let mut state = self.state();
            if state.refreshing || now < state.retry_at {
                return;
            }
            state.refreshing = true;
        }
        let shared = Arc::clone(self);
        handle.spawn(async move {
            let _ = Arc::clone(&shared).load().await;
            shared.state().refreshing = false;
        });
    }
}
