//! The revocation engine against a real redis-server: replicas (several
//! `Revocations` on one server) see each other's revocations within a second, a
//! missed message is caught by the resync, an unreachable store turns into
//! `Unknown` after the bound and back, revocations made meanwhile are queued and
//! flushed, and nothing but revocations is stored.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_core::revocation::{
    FailMode, Revocations, SessionFacts, SessionId, Standing, StoreErrorKind, StoreSettings,
};

/// Upper bound on a propagation in these tests: the design says one second; this
/// leaves room for a loaded CI machine without hiding a missing propagation.
const PROPAGATION_BOUND: Duration = Duration::from_secs(3);

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn settings(redis: &RedisServer) -> StoreSettings {
    StoreSettings::parse(&redis.url()).unwrap()
}

async fn replicas(settings: &StoreSettings, n: usize) -> Vec<Revocations> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Revocations::connect(settings.clone()).await.unwrap());
    }
    out
}

fn standing(r: &Revocations, sid: &SessionId, sub: Option<&str>, psid: Option<&str>) -> Standing {
    let facts = SessionFacts { sid, provider_sid: psid, sub, signed_in_at: now() - 60 };
    r.standing(&facts, now())
}

/// Waits until `r` answers `want` for the session, at most `bound`; how long it took.
async fn until_standing(
    r: &Revocations,
    sid: &SessionId,
    sub: Option<&str>,
    psid: Option<&str>,
    want: Standing,
    bound: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let got = standing(r, sid, sub, psid);
        if got == want {
            return Ok(start.elapsed());
        }
        if start.elapsed() > bound {
            return Err(format!("still {got:?} after {bound:?}, wanted {want:?} ({r:?})"));
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_replica_is_seen_by_the_others_within_a_second() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let rs = replicas(&settings(&redis), 3).await;
    let sid = SessionId::new().unwrap();
    for r in &rs {
        assert_eq!(standing(r, &sid, None, None), Standing::Valid);
    }
    rs[0].revoke_session(&sid, now() + 3600).await.unwrap();
    assert_eq!(standing(&rs[0], &sid, None, None), Standing::Revoked, "in force where it was made at once");
    for r in &rs[1..] {
        until_standing(r, &sid, None, None, Standing::Revoked, PROPAGATION_BOUND).await.unwrap();
    }

    let other = SessionId::new().unwrap();
    rs[1].revoke_user("alice", now(), now() + 3600).await.unwrap();
    rs[2].revoke_provider_session("op-sid-9", now() + 3600).await.unwrap();
    for r in &rs {
        until_standing(r, &other, Some("alice"), None, Standing::Revoked, PROPAGATION_BOUND).await.unwrap();
        until_standing(r, &other, Some("bob"), Some("op-sid-9"), Standing::Revoked, PROPAGATION_BOUND)
            .await
            .unwrap();
        assert_eq!(standing(r, &other, Some("bob"), Some("op-sid-1")), Standing::Valid);
    }
}

/// Propagation latency over 200 revocations (p50 and p99 printed for
/// BENCHMARKS.md): `cargo test -p mfa-guard-conformance --test session_store
/// propagation -- --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_to_two_other_replicas_stays_under_the_bound_over_200_revocations() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let rs = replicas(&settings(&redis), 3).await;
    let mut seen = Vec::new();
    for i in 0..200 {
        let sid = SessionId::new().unwrap();
        let start = Instant::now();
        rs[i % 3].revoke_session(&sid, now() + 3600).await.unwrap();
        for r in rs.iter().filter(|r| !std::ptr::eq(*r, &rs[i % 3])) {
            until_standing(r, &sid, None, None, Standing::Revoked, PROPAGATION_BOUND).await.unwrap();
        }
        seen.push(start.elapsed());
    }
    seen.sort();
    let (p50, p99, max) = (seen[99], seen[197], seen[199]);
    eprintln!(
        "propagation to both other replicas over 200 revocations: p50 {p50:?}, p99 {p99:?}, max {max:?}"
    );
    assert!(max < PROPAGATION_BOUND, "{max:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_missed_while_the_subscription_was_down_is_seen_after_the_resync() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let rs = replicas(&settings(&redis), 2).await;
    let sid = SessionId::new().unwrap();
    // Written as a replica writes it but never published: a message lost while
    // the subscription was down. Only a resync can bring it.
    let member = sid.to_string();
    let until = (now() + 3600).to_string();
    redis.command(&["ZADD", "mfa-guard:sessions", &until, &member]).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for r in &rs {
        assert_eq!(standing(r, &sid, None, None), Standing::Valid, "not published, not seen yet");
    }
    let killed = redis.command(&["CLIENT", "KILL", "TYPE", "pubsub"]).unwrap();
    assert_eq!(killed, "2", "one subscriber per replica");
    for r in &rs {
        until_standing(r, &sid, None, None, Standing::Revoked, PROPAGATION_BOUND + Duration::from_secs(2))
            .await
            .unwrap();
    }
    // And the subscription is live again. The view can show the resync's entries
    // a moment before the replica counts itself connected: a revocation made in
    // that moment is queued and flushed by the same reconnection, so it is shared
    // either way.
    let next = SessionId::new().unwrap();
    if let Err(e) = rs[0].revoke_session(&next, now() + 3600).await {
        assert_eq!(e.kind(), StoreErrorKind::Queued, "{e}");
    }
    until_standing(&rs[1], &next, None, None, Standing::Revoked, PROPAGATION_BOUND).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_out_of_reach_turns_unknown_after_the_bound_and_queued_revocations_are_flushed_on_return() {
    let Some(mut redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let bound = Duration::from_secs(2);
    let s = settings(&redis).stale_after(bound).unwrap();
    let rs = replicas(&s, 2).await;
    let (live, revoked_meanwhile) = (SessionId::new().unwrap(), SessionId::new().unwrap());

    redis.stop();
    assert_eq!(standing(&rs[1], &live, None, None), Standing::Valid, "within the bound, the view answers");
    until_standing(&rs[1], &live, None, None, Standing::Unknown, bound + Duration::from_secs(3))
        .await
        .unwrap();
    assert!(rs[1].stale_for().is_some_and(|d| d > bound), "{:?}", rs[1].stale_for());

    let err = rs[0].revoke_session(&revoked_meanwhile, now() + 3600).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Queued);
    assert!(err.to_string().starts_with("the revocation is in force in this process and queued"), "{err}");
    assert_eq!(standing(&rs[0], &revoked_meanwhile, None, None), Standing::Revoked, "in force here at once");
    assert_eq!(rs[0].pending(), 1);

    // A server without persistence comes back empty: the queue refills it.
    redis.restart().unwrap();
    let recover = bound + Duration::from_secs(8);
    until_standing(&rs[1], &live, None, None, Standing::Valid, recover).await.unwrap();
    until_standing(&rs[1], &revoked_meanwhile, None, None, Standing::Revoked, recover).await.unwrap();
    assert_eq!(rs[0].pending(), 0);
    assert_eq!(rs[1].stale_for(), None);
    let stored = redis.command(&["ZRANGE", "mfa-guard:sessions", "0", "-1"]).unwrap();
    assert_eq!(stored, revoked_meanwhile.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_for_keeps_answering_from_the_view_for_its_grace_then_unknown() {
    let Some(mut redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let s = settings(&redis)
        .stale_after(Duration::from_secs(2))
        .unwrap()
        .fail(FailMode::OpenFor(Duration::from_secs(3)));
    let r = Revocations::connect(s).await.unwrap();
    let sid = SessionId::new().unwrap();
    redis.stop();
    let stopped = Instant::now();
    // The last confirmation was at most a heartbeat (1 s) before the stop: the
    // view is at most 3.5 s old here, past the bound and within the grace.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(r.stale_for().is_some_and(|d| d > Duration::from_secs(2)), "{:?}", r.stale_for());
    assert_eq!(standing(&r, &sid, None, None), Standing::Valid, "past the bound, within the grace");
    until_standing(&r, &sid, None, None, Standing::Unknown, Duration::from_secs(6)).await.unwrap();
    // Bound + grace is 5 s from the last confirmation, at most 1 s before the stop.
    assert!(stopped.elapsed() >= Duration::from_secs(4), "not before bound + grace: {:?}", stopped.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_token_id_is_accepted_once_across_replicas() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let rs = replicas(&settings(&redis), 2).await;
    assert!(rs[0].first_use("jti-1", now() + 300).await.unwrap());
    assert!(!rs[1].first_use("jti-1", now() + 300).await.unwrap(), "replayed to another replica");
    assert!(!rs[0].first_use("jti-1", now() + 300).await.unwrap());
    assert!(rs[1].first_use("jti-2", now() + 300).await.unwrap());
    let ttl: i64 = redis.command(&["TTL", "mfa-guard:jti:jti-1"]).unwrap().parse().unwrap();
    assert!((250..=300).contains(&ttl), "expires with the token: {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_survives_a_restart_of_a_persistent_server() {
    let Some(mut redis) = RedisServer::start(Persistence::AppendOnly).unwrap() else { return };
    let sid = SessionId::new().unwrap();
    {
        let r = Revocations::connect(settings(&redis)).await.unwrap();
        r.revoke_session(&sid, now() + 3600).await.unwrap();
        r.revoke_user("alice", now(), now() + 3600).await.unwrap();
    }
    redis.stop();
    redis.restart().unwrap();
    let fresh = Revocations::connect(settings(&redis)).await.unwrap();
    assert_eq!(standing(&fresh, &sid, None, None), Standing::Revoked);
    assert_eq!(standing(&fresh, &SessionId::new().unwrap(), Some("alice"), None), Standing::Revoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_holds_revocations_only_under_its_prefix_and_prunes_expired_ones() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let shop = settings(&redis).prefix("shop:").unwrap();
    let other = settings(&redis).prefix("other:").unwrap();
    let (a, b) =
        (Revocations::connect(shop.clone()).await.unwrap(), Revocations::connect(other).await.unwrap());
    let sid = SessionId::new().unwrap();
    let until = now() + 3600;
    a.revoke_session(&sid, until).await.unwrap();
    a.revoke_user("alice", 1_900_000_000, until).await.unwrap();
    a.revoke_provider_session("op-sid", until).await.unwrap();
    assert!(a.first_use("jti-x", until).await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(standing(&b, &sid, None, None), Standing::Valid, "another prefix is another application");

    let mut keys: Vec<String> = redis.command(&["KEYS", "*"]).unwrap().lines().map(str::to_owned).collect();
    keys.sort();
    assert_eq!(keys, ["shop:jti:jti-x", "shop:provider-sessions", "shop:sessions", "shop:users"]);
    let expect = |key: &str, member: &str| {
        assert_eq!(
            redis.command(&["ZRANGE", key, "0", "-1", "WITHSCORES"]).unwrap(),
            format!("{member}\n{until}")
        );
    };
    expect("shop:sessions", &sid.to_string());
    expect("shop:users", "1900000000 alice");
    expect("shop:provider-sessions", "op-sid");

    // An expired entry is dropped from Redis by the next resync.
    redis.command(&["ZADD", "shop:sessions", "1000", "AAAAAAAAAAAAAAAAAAAAAA"]).unwrap();
    assert_eq!(redis.command(&["ZCARD", "shop:sessions"]).unwrap(), "2");
    let _c = Revocations::connect(shop).await.unwrap();
    assert_eq!(redis.command(&["ZCARD", "shop:sessions"]).unwrap(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_is_a_specific_error_that_never_shows_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let s = StoreSettings::parse(&format!("redis://app@127.0.0.1:{port}/0")).unwrap().password("hunter2");
    let err = Revocations::connect(s).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unreachable);
    let shown = format!("cannot reach the session store redis://app:***@127.0.0.1:{port}/0: ");
    assert!(err.to_string().starts_with(&shown), "{err}");
    assert!(!err.to_string().contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_at_connect_without_showing_either_password() {
    let Some(redis) = RedisServer::start_with(Persistence::None, Some("right-pass")).unwrap() else { return };
    let wrong = settings(&redis).password("wrong-pass");
    let err = Revocations::connect(wrong).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unreachable);
    let text = format!("{err} {err:?}");
    assert!(err.to_string().starts_with("cannot reach the session store redis://:***@127.0.0.1:"), "{err}");
    assert!(text.contains("WRONGPASS") || text.contains("uthentication"), "{text}");
    assert!(!text.contains("wrong-pass") && !text.contains("right-pass"), "{text}");

    let right = settings(&redis).password("right-pass");
    let r = Revocations::connect(right).await.unwrap();
    assert!(!format!("{r:?}").contains("right-pass"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_shares_its_revocations_but_vouches_for_no_other_session() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let follower = Revocations::connect(settings(&redis)).await.unwrap();
    let writer = Revocations::writer(settings(&redis)).await.unwrap();
    let (sid, other) = (SessionId::new().unwrap(), SessionId::new().unwrap());
    writer.revoke_session(&sid, now() + 3600).await.unwrap();
    until_standing(&follower, &sid, None, None, Standing::Revoked, PROPAGATION_BOUND).await.unwrap();
    assert_eq!(standing(&writer, &sid, None, None), Standing::Revoked);
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(standing(&writer, &other, None, None), Standing::Unknown, "it follows nothing");
    assert_eq!(
        redis.command(&["PUBSUB", "NUMSUB", "mfa-guard:revocations"]).unwrap(),
        "mfa-guard:revocations\n1"
    );

    let err = Revocations::writer(StoreSettings::memory()).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::InvalidUrl);
    assert!(err.to_string().starts_with("the memory store is one process's own"), "{err}");
}
