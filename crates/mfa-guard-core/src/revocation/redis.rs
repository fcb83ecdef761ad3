//! The Redis store: revocations written to sorted sets and published; every
//! replica's local view kept current by a subscription, resynchronised in full
//! on every (re)connection, and confirmed live by a `PING` on the subscriber
//! every second (feature `redis`).
//!
//! Keys, all under the prefix `P` (default `mfa-guard:`):
//!
//! | key | type | member | score |
//! |---|---|---|---|
//! | `P sessions` | sorted set | session id (base64url) | expiry (unix seconds) |
//! | `P provider-sessions` | sorted set | the provider's `sid` | expiry |
//! | `P users` | sorted set | `<before> <sub>` | expiry |
//! | `P jti:<jti>` | string, `EXAT` expiry | `1` | |
//! | `P revocations` | pub/sub channel | one message per revocation | |
//!
//! Sorted sets scored by expiry make pruning one `ZREMRANGEBYSCORE … -inf (now`
//! per set, and let a resync of a million entries go in pages (`ZSCAN … COUNT
//! 10000`): a score cursor (`ZRANGE … BYSCORE LIMIT`) would have to skip every
//! member sharing the last page's second, and sign-outs share seconds. A resync
//! only adds to the local view (a revocation is never taken back), so entries
//! published while it runs, which the subscription already delivers, do no harm.
//!
//! Needs Redis 6.2 or later (`ZADD GT`, `SET EXAT`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use ::redis::{Client, Msg, RedisError, Value};
use futures_util::StreamExt as _;

use super::error::{StoreError, StoreErrorKind};
use super::id::SessionId;
use super::settings::RedisAddress;
use super::view::{Entry, LocalView};
use crate::time::{Clock as _, SystemClock};

/// How long connecting (TCP, TLS, `AUTH`, `SELECT`) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one command may take before the store counts as out of reach.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the subscription is confirmed live (the `PING`).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Expired entries are dropped (here and in Redis) this many heartbeats apart.
const PRUNE_EVERY: u32 = 60;
/// Members read per `ZSCAN` page in a resync.
const RESYNC_PAGE: usize = 10_000;
/// Reconnection backoff: first and longest wait.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Names of the keys and the channel under one prefix.
#[derive(Debug)]
struct Keys {
    prefix: String,
    sessions: String,
    provider_sessions: String,
    users: String,
    channel: String,
}

impl Keys {
    fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            sessions: format!("{prefix}sessions"),
            provider_sessions: format!("{prefix}provider-sessions"),
            users: format!("{prefix}users"),
            channel: format!("{prefix}revocations"),
        }
    }

    fn set_of(&self, entry: &Entry) -> &str {
        match entry {
            Entry::Session { .. } => &self.sessions,
            Entry::ProviderSession { .. } => &self.provider_sessions,
            Entry::User { .. } => &self.users,
        }
    }
}

/// The sorted-set member of an entry (its score is the expiry).
fn member(entry: &Entry) -> String {
    match entry {
        Entry::Session { sid, .. } => SessionId::from_bytes(*sid).to_string(),
        Entry::ProviderSession { sid, .. } => sid.to_string(),
        Entry::User { sub, before, .. } => format!("{before} {sub}"),
    }
}

/// The message published for an entry: `s|p|u <until> <member>`.
fn message(entry: &Entry) -> String {
    let kind = match entry {
        Entry::Session { .. } => 's',
        Entry::ProviderSession { .. } => 'p',
        Entry::User { .. } => 'u',
    };
    format!("{kind} {} {}", entry.until(), member(entry))
}

/// An entry from its set's member and score; `None` for what mfa-guard did not write.
fn from_member(kind: u8, member: &str, until: i64) -> Option<Entry> {
    if member.is_empty() || member.len() > super::MAX_ID_BYTES + 24 {
        return None;
    }
    match kind {
        b's' => SessionId::parse(member).ok().map(|sid| Entry::Session { sid: *sid.as_bytes(), until }),
        b'p' => Some(Entry::ProviderSession { sid: member.into(), until }),
        b'u' => {
            let (before, sub) = member.split_once(' ')?;
            let before = before.parse().ok()?;
            (!sub.is_empty()).then(|| Entry::User { sub: sub.into(), before, until })
        }
        _ => None,
    }
}

/// An entry from a published message.
fn parse_message(payload: &[u8]) -> Option<Entry> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut parts = text.splitn(3, ' ');
    let kind = parts.next()?.as_bytes();
    let until = parts.next()?.parse().ok()?;
    match kind {
        [k] => from_member(*k, parts.next()?, until),
        _ => None,
    }
}

/// What the background task and the callers share.
struct Shared {
    view: Arc<LocalView>,
    keys: Keys,
    client: Client,
    conn: ConnectionManager,
    /// Revocations made while the store was out of reach, oldest first.
    pending: Mutex<Vec<Entry>>,
    /// Whether the subscription is believed live (false from a failed heartbeat
    /// until the next resync).
    connected: AtomicBool,
    /// The address, password replaced (for messages).
    shown: String,
}

impl Shared {
    fn now() -> i64 {
        SystemClock.now_unix()
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn write(&self, entry: &Entry) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("ZADD")
            .arg(self.keys.set_of(entry))
            .arg("GT")
            .arg(entry.until())
            .arg(member(entry))
            .ignore()
            .cmd("PUBLISH")
            .arg(&self.keys.channel)
            .arg(message(entry))
            .ignore();
        pipe.query_async::<()>(&mut conn).await
    }

    /// Writes the queued revocations; those that fail stay queued.
    async fn flush(&self) -> Result<(), RedisError> {
        let queued = std::mem::take(&mut *self.pending());
        let now = Self::now();
        let mut left = Vec::new();
        let mut failure = None;
        for entry in queued.into_iter().filter(|e| e.until() >= now) {
            if failure.is_some() {
                left.push(entry);
                continue;
            }
            if let Err(e) = self.write(&entry).await {
                failure = Some(e);
                left.push(entry);
            }
        }
        if !left.is_empty() {
            let mut pending = self.pending();
            left.append(&mut pending);
            *pending = left;
        }
        failure.map_or(Ok(()), Err)
    }

    /// Drops expired entries from the three sets.
    async fn prune_store(&self) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let bound = format!("({}", Self::now());
        let mut pipe = ::redis::pipe();
        for key in [&self.keys.sessions, &self.keys.provider_sessions, &self.keys.users] {
            pipe.cmd("ZREMRANGEBYSCORE").arg(key).arg("-inf").arg(&bound).ignore();
        }
        pipe.query_async::<()>(&mut conn).await
    }

    /// Reads every set whole, page by page, into the local view.
    async fn resync(&self) -> Result<usize, RedisError> {
        self.prune_store().await?;
        let mut conn = self.conn.clone();
        let mut read = 0;
        for (kind, key) in
            [(b's', &self.keys.sessions), (b'p', &self.keys.provider_sessions), (b'u', &self.keys.users)]
        {
            let mut cursor: u64 = 0;
            loop {
                let (next, page): (u64, Vec<(String, f64)>) = ::redis::cmd("ZSCAN")
                    .arg(key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(RESYNC_PAGE)
                    .query_async(&mut conn)
                    .await?;
                read += page.len();
                // Scores are whole seconds written by us; `as` saturates anything else.
                #[allow(clippy::cast_possible_truncation)]
                let entries = page.iter().filter_map(|(m, score)| from_member(kind, m, *score as i64));
                self.view.extend(entries, Self::now());
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(read)
    }

    /// Subscribes, resynchronises and flushes the queue: a live view from here on.
    async fn establish(&self) -> Result<(PubSubSink, PubSubStream), RedisError> {
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| timeout_error("connecting the subscriber"))??;
        let (mut sink, stream) = pubsub.split();
        tokio::time::timeout(RESPONSE_TIMEOUT, sink.subscribe(&self.keys.channel))
            .await
            .map_err(|_| timeout_error("subscribing"))??;
        // Subscribed first: what is published from here on arrives as messages, so
        // the resync only has to cover what came before.
        let subscribed = Instant::now();
        let read = self.resync().await?;
        tracing::debug!(entries = read, "session store resynchronised");
        self.view.confirm(subscribed);
        {
            // Under the queue's lock: a revocation that found the store
            // disconnected is in the queue before `connected` turns true, so the
            // flush below takes it (see `share`).
            let _queue = self.pending();
            self.connected.store(true, Ordering::SeqCst);
        }
        self.flush().await?;
        Ok((sink, stream))
    }

    /// Applies messages and confirms the subscription every second, until it fails.
    async fn serve(&self, mut sink: PubSubSink, mut stream: PubSubStream) -> String {
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut beats: u32 = 0;
        loop {
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(msg) => self.apply(&msg),
                    None => return "the subscription was closed".to_owned(),
                },
                _ = heartbeat.tick() => {
                    let sent = Instant::now();
                    match tokio::time::timeout(RESPONSE_TIMEOUT, sink.ping::<Value>()).await {
                        Ok(Ok(_)) => self.view.confirm(sent),
                        Ok(Err(e)) => return e.to_string(),
                        Err(_) => return format!("no answer to PING within {RESPONSE_TIMEOUT:?}"),
                    }
                    beats = beats.wrapping_add(1);
                    if !self.pending().is_empty()
                        && let Err(e) = self.flush().await
                    {
                        return e.to_string();
                    }
                    if beats.is_multiple_of(PRUNE_EVERY) {
                        self.view.prune(Self::now());
                        if let Err(e) = self.prune_store().await {
                            return e.to_string();
                        }
                    }
                    crate::metrics::session_store(self.view.len(), self.pending().len());
                }
            }
        }
    }

    fn apply(&self, msg: &Msg) {
        match parse_message(msg.get_payload_bytes()) {
            Some(entry) => self.view.insert(entry, Self::now()),
            None => {
                tracing::debug!(channel = msg.get_channel_name(), "ignored a message mfa-guard did not write")
            }
        }
    }

    /// The background task: serve, and on failure reconnect with backoff.
    async fn run(self: Arc<Self>, mut sink: PubSubSink, mut stream: PubSubStream) {
        loop {
            let why = self.serve(sink, stream).await;
            self.connected.store(false, Ordering::SeqCst);
            let down = Instant::now();
            // One warning per outage, never one per request.
            tracing::warn!(
                store = %self.shown,
                reason = %why,
                "session store out of reach: revocations made now are in force here and queued; \
                 reconnecting"
            );
            crate::metrics::session_store_outage();
            let mut wait = BACKOFF_FIRST;
            (sink, stream) = loop {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(BACKOFF_MAX);
                match self.establish().await {
                    Ok(live) => break live,
                    Err(e) => tracing::debug!(error = %e, "session store still out of reach"),
                }
            };
            tracing::info!(
                store = %self.shown,
                outage_ms = u64::try_from(down.elapsed().as_millis()).unwrap_or(u64::MAX),
                "session store reachable again; resynchronised"
            );
        }
    }
}

fn timeout_error(what: &'static str) -> RedisError {
    RedisError::from((::redis::ErrorKind::Io, "timed out", what.to_owned()))
}

/// A connected Redis store; dropping it stops its background task.
pub(super) struct RedisStore {
    shared: Arc<Shared>,
    /// The background task; `None` for a writer, which keeps no view current.
    task: Option<tokio::task::AbortHandle>,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

impl RedisStore {
    /// Connects, subscribes and resynchronises (see [`Revocations::connect`](super::Revocations::connect));
    /// a writer (`follow` false) only connects.
    pub(super) async fn connect(
        address: &RedisAddress,
        prefix: &str,
        view: Arc<LocalView>,
        follow: bool,
    ) -> Result<Self, StoreError> {
        let shown = address.to_string();
        let client = Client::open(address.client_url()).map_err(|e| {
            StoreError::invalid_url(format!("{shown}: the Redis client refused the address ({:?})", e.kind()))
        })?;
        let unreachable = |e: &dyn std::fmt::Display| {
            StoreError::new(
                StoreErrorKind::Unreachable,
                format!("cannot reach the session store {shown}: {e}"),
            )
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(BACKOFF_MAX);
        let conn =
            tokio::time::timeout(CONNECT_TIMEOUT * 2, client.get_connection_manager_with_config(config))
                .await
                .map_err(|_| unreachable(&format!("no connection within {:?}", CONNECT_TIMEOUT * 2)))?
                .map_err(|e| unreachable(&e))?;
        let shared = Arc::new(Shared {
            view,
            keys: Keys::new(prefix),
            client,
            conn,
            pending: Mutex::new(Vec::new()),
            connected: AtomicBool::new(false),
            shown: shown.clone(),
        });
        if !follow {
            // A connection manager connects lazily past its first connection: ask
            // once, so that a wrong database or password fails here.
            let mut conn = shared.conn.clone();
            ::redis::cmd("PING").query_async::<()>(&mut conn).await.map_err(|e| unreachable(&e))?;
            shared.connected.store(true, Ordering::SeqCst);
            return Ok(Self { shared, task: None });
        }
        let (sink, stream) = shared.establish().await.map_err(|e| unreachable(&e))?;
        let task = tokio::spawn(Arc::clone(&shared).run(sink, stream)).abort_handle();
        Ok(Self { shared, task: Some(task) })
    }

    /// Writes and publishes `entry` (already in the local view); queued when the
    /// store is out of reach.
    pub(super) async fn share(&self, entry: Entry) -> Result<(), StoreError> {
        let shared = &self.shared;
        if self.task.is_none() {
            // A writer has nobody to flush a queue: its caller learns at once.
            return match tokio::time::timeout(RESPONSE_TIMEOUT, shared.write(&entry)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("the session store {} did not take the revocation: {e}", shared.shown),
                )),
                Err(_) => Err(StoreError::new(
                    StoreErrorKind::Unavailable,
                    format!("the session store {} did not answer within {RESPONSE_TIMEOUT:?}", shared.shown),
                )),
            };
        }
        {
            // Checked and queued under one lock, which `establish` holds while it
            // marks the store connected: an entry can never be queued just after
            // the reconnection's flush and wait there for the next outage.
            let mut queue = shared.pending();
            if !shared.connected.load(Ordering::SeqCst) {
                queue.push(entry);
                return Err(StoreError::queued("reconnecting"));
            }
        }
        match tokio::time::timeout(RESPONSE_TIMEOUT, shared.write(&entry)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                shared.pending().push(entry);
                Err(StoreError::queued(e))
            }
            Err(_) => {
                shared.pending().push(entry);
                Err(StoreError::queued(format!("no answer within {RESPONSE_TIMEOUT:?}")))
            }
        }
    }

    /// `SET P jti:<jti> 1 NX EXAT until`: whether this is the first use.
    pub(super) async fn first_use(&self, jti: &str, until: i64) -> Result<bool, StoreError> {
        let key = format!("{}jti:{jti}", self.shared.keys.prefix);
        let mut conn = self.shared.conn.clone();
        let mut command = ::redis::cmd("SET");
        command.arg(&key).arg(1).arg("NX").arg("EXAT").arg(until.max(1));
        let set = command.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(RESPONSE_TIMEOUT, set).await {
            Ok(Ok(reply)) => Ok(reply.is_some()),
            Ok(Err(e)) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "the session store {} cannot tell whether the logout token was used before: {e}",
                    self.shared.shown
                ),
            )),
            Err(_) => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "the session store {} did not answer within {RESPONSE_TIMEOUT:?} whether the logout token was used before",
                    self.shared.shown
                ),
            )),
        }
    }

    /// Revocations waiting to be shared.
    pub(super) fn pending(&self) -> usize {
        self.shared.pending().len()
    }

    /// The address, password replaced.
    pub(super) fn shown(&self) -> &str {
        &self.shared.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_members_read_back_as_the_entries_written() {
        let entries = [
            Entry::Session { sid: [7; 16], until: 1_900_000_000 },
            Entry::ProviderSession { sid: "op sid with spaces".into(), until: 1_900_000_001 },
            Entry::User { sub: "alice@example.com".into(), before: 1_899_999_999, until: 1_900_000_002 },
        ];
        for entry in entries {
            assert_eq!(parse_message(message(&entry).as_bytes()), Some(entry.clone()), "{}", message(&entry));
        }
    }

    #[test]
    fn messages_mfa_guard_did_not_write_are_ignored() {
        for bad in [
            &b""[..],
            b"x 1 a",
            b"s 1 not-a-session-id",
            b"s soon AAAAAAAAAAAAAAAAAAAAAA",
            b"u 1 nobefore",
            b"u 1 5 ",
            b"\xff\xfe",
            b"ss 1 a",
        ] {
            assert_eq!(parse_message(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
