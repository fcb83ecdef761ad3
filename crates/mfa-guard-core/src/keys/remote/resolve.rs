//! A key that is not in hand: fetched on a cold start, refetched at most once per
//! cooldown for an unknown `kid`, refused at once (or `key_source_unavailable`)
//! when neither applies.

use std::sync::Arc;

use super::store::Keys;
use super::{RemoteOptions, Shared};
use crate::algorithm::Algorithm;
use crate::keys::static_source::unknown_key_error;
use crate::keys::{KeyError, VerifyingKey};

impl Shared {
    pub(super) async fn resolve(
        self: Arc<Self>,
        kid: Option<String>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        let now = self.now();
        let find = |keys: &Keys| keys.set.find(kid.as_deref(), alg).map(Arc::clone);
        if let Some(keys) = self.keys(now) {
            let miss = match find(&keys) {
                Ok(key) => return Ok(key),
                Err(miss) => miss,
            };
            // The set is known and lacks this kid.
            let wait_for_fetch = {
                let mut state = self.state();
                let in_cooldown = state
                    .unknown_kid_at
                    .is_some_and(|t| now < t + RemoteOptions::secs(self.options.cooldown));
                let failed = state.last_failure.is_some();
                if in_cooldown && self.fetch_lock.try_lock().is_err() {
                    true
                } else if in_cooldown && !failed {
                    return Err(unknown_key_error(kid.as_deref(), miss));
                } else if now < state.retry_at {
                    return Err(self.unavailable(&state, now));
                } else {
                    state.unknown_kid_at = Some(now);
                    false
                }
            };
            if wait_for_fetch {
                // A refetch is under way: its result is the freshest answer there is.
                drop(self.fetch_lock.lock().await);
                let now = self.now();
                let state = self.state();
                return match self.keys(now).map(|k| find(&k)) {
                    Some(Ok(key)) => Ok(key),
                    Some(Err(miss)) if state.last_failure.is_none() => {
                        Err(unknown_key_error(kid.as_deref(), miss))
                    }
                    _ => Err(self.unavailable(&state, now)),
                };
            }
        } else if let Some(e) = self.backing_off(now) {
            // Nothing usable (cold start, or the stale-if-error window has passed)
            // and the last fetch failed moments ago.
            return Err(e);
        }
        let keys = self.load_detached().await?;
        find(&keys).map_err(|miss| unknown_key_error(kid.as_deref(), miss))
    }
}
