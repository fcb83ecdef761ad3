//! Ending sessions across replicas of the example servers: two and three replicas
//! of each example (axum, actix) on one real `redis-server`, sharing session keys,
//! the development identity server on an origin of its own, and a scripted browser
//! (the fleet of `mfa_guard_conformance::replicas`; the CLI's tests run `mfa-guard
//! revoke` against the same). A sign-out on one replica (or `Guard::revoke_user`)
//! refuses the copied cookie on the others within a second; a store out of reach
//! turns MFA pages into the 503 page after the bound and back; a revocation made
//! meanwhile is refused after the recovery; a sign-in and a step-up replace the
//! session and its id. Servers started from nothing but an environment that names
//! the store (`MFA_SESSION_STORE`) follow it too, or refuse to start.
//!
//! The propagation figures of BENCHMARKS.md:
//! `cargo test -p mfa-guard-conformance --test session_replicas propagation -- --nocapture`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_guard_conformance::browser::{Browser, SignIn, Visit, shown_answer};
use mfa_guard_conformance::http1;
use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_conformance::replicas::{
    Cluster, Example, MFA_PAGE, PROPAGATION_BOUND, STALE_AFTER, oid, sent_to_sign_in, until_refused,
};
use mfa_guard_conformance::servers::all_from_env;
use mfa_guard_core::browser::RevokeError;
use mfa_guard_core::revocation::{Revocations, StoreErrorKind, StoreSettings};
use reqwest::Url;

/// Polls `replica` until `path` with a copy of `cookies` answers `status`, at most
/// `bound`; the last answer either way, and how long it took.
async fn until_status(
    cluster: &Cluster,
    cookies: &Browser,
    replica: usize,
    path: &str,
    status: u16,
    bound: Duration,
) -> (Visit, Duration) {
    let start = Instant::now();
    loop {
        let visit = cluster.replay(cookies, replica, path).await;
        assert_ne!(visit.status(), 500, "never a 500: {}", visit.text());
        if visit.status() == status || start.elapsed() > bound {
            return (visit, start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_on_one_replica_refuses_the_copied_cookie_on_the_others_within_a_second() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    for example in Example::ALL {
        for n in [2, 3] {
            let name = format!("{} ×{n}", example.name());
            let cluster =
                Cluster::start(&vec![example; n], &redis, &format!("{}-{n}:", example.name())).await;
            let mut browser = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
            let copy = browser.clone();
            // Every replica opens the copied cookie: they share the keys and the issuer.
            for replica in 0..n {
                let page = cluster.replay(&copy, replica, MFA_PAGE).await;
                assert_eq!(page.status(), 200, "{name}, replica {replica}: {}", page.text());
                assert_eq!(shown_answer(&page.text()).unwrap()["mfa"], true);
            }
            let out = cluster.sign_out(&mut browser, 0).await;
            assert_eq!(out.status(), 302, "{name}: {}", out.text());
            assert!(!browser.jar.contains_key("mfa-guard"), "{name}: the browser's cookie is cleared");
            assert_eq!(cluster.revoked_ids(&redis), 1, "{name}: the session id is in the store");
            for replica in 0..n {
                let took = until_refused(&cluster, &copy, replica, PROPAGATION_BOUND)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(took < PROPAGATION_BOUND, "{name}, replica {replica}: {took:?}");
            }
            // Refused, not an error: the copy is sent to sign in on every replica, and
            // a public page still opens with it.
            for replica in 0..n {
                let health = cluster.replay(&copy, replica, "/health").await;
                assert_eq!(health.status(), 200, "{name}, replica {replica}");
            }
        }
    }
}

/// Propagation through the example servers over 50 sign-outs on three replicas
/// (p50 and p99 printed for BENCHMARKS.md): from the sign-out posted on replica A
/// to the copied cookie refused on both B and C. Baseline, in the same rounds: one
/// signed-in navigation to the MFA page on B (what each poll costs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_of_50_sign_outs_to_two_other_replicas_stays_under_the_bound() {
    const ROUNDS: usize = 50;
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let percentiles = |mut seen: Vec<Duration>| {
        seen.sort();
        (seen[ROUNDS / 2 - 1], seen[ROUNDS * 99 / 100 - 1], seen[ROUNDS - 1])
    };
    for example in Example::ALL {
        let cluster = Cluster::start(&[example; 3], &redis, &format!("{}-bench:", example.name())).await;
        let (mut propagation, mut navigation) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
        for round in 0..ROUNDS {
            let mut browser = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
            let copy = browser.clone();
            for replica in 1..3 {
                let start = Instant::now();
                let page = cluster.replay(&copy, replica, MFA_PAGE).await;
                navigation.extend((replica == 1).then(|| start.elapsed()));
                assert_eq!(page.status(), 200, "round {round}");
            }
            let page = browser.get(&cluster.url(0, "/auth/sign-out")).await;
            let start = Instant::now();
            let out = browser.submit_form(&page, "/auth/sign-out", &[]).await;
            assert_eq!(out.status(), 302, "round {round}");
            for replica in 1..3 {
                until_refused(&cluster, &copy, replica, PROPAGATION_BOUND)
                    .await
                    .unwrap_or_else(|e| panic!("{} round {round}: {e}", example.name()));
            }
            propagation.push(start.elapsed());
        }
        assert_eq!(cluster.revoked_ids(&redis), ROUNDS);
        let (p50, p99, max) = percentiles(propagation);
        let (n50, n99, _) = percentiles(navigation);
        eprintln!(
            "{}, {ROUNDS} rounds: sign-out posted on A to the cookie refused on B and C: p50 {p50:?}, p99 {p99:?}, \
             max {max:?}; one signed-in navigation on B: p50 {n50:?}, p99 {n99:?}",
            example.name()
        );
        assert!(max < PROPAGATION_BOUND, "{max:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_user_on_one_replica_refuses_the_users_sessions_on_every_replica() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    for example in Example::ALL {
        let name = example.name();
        let cluster = Cluster::start(&[example; 3], &redis, &format!("{name}-user:")).await;
        let admin = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
        let sales = cluster.signed_in(SignIn::PasswordAndMfa("sales")).await;
        let page = cluster.replay(&admin, 2, MFA_PAGE).await;
        assert_eq!(page.status(), 200, "{name}: {}", page.text());
        // The development issuer's `sub` is the user's object id.
        let sub = oid(&page);
        // Sign out everywhere, from code, on the second replica.
        cluster.replicas[1].guard.revoke_user(&sub).await.unwrap();
        for replica in 0..3 {
            let took = until_refused(&cluster, &admin, replica, PROPAGATION_BOUND)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(took < PROPAGATION_BOUND, "{name}, replica {replica}: {took:?}");
            let other = cluster.replay(&sales, replica, MFA_PAGE).await;
            assert_eq!(other.status(), 200, "{name}, replica {replica}: another user stays signed in");
        }
        assert_eq!(cluster.revoked_users(&redis), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_out_of_reach_closes_mfa_pages_after_the_bound_and_revocations_made_meanwhile_hold_after_it_returns()
 {
    let Some(mut redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    for example in Example::ALL {
        let name = example.name();
        let cluster = Cluster::start(&[example; 2], &redis, &format!("{name}-outage:")).await;
        let kept = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
        let mut signing_out = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
        let signed_out = signing_out.clone();
        let everywhere = cluster.signed_in(SignIn::PasswordAndMfa("sales")).await;
        let page = cluster.replay(&everywhere, 1, MFA_PAGE).await;
        assert_eq!(page.status(), 200, "{name}: {}", page.text());
        let sales = oid(&page);
        let token = cluster.issuer.user().sign().unwrap();
        let bearer = format!("Authorization: Bearer {token}").into_bytes();

        redis.stop();
        let stopped = Instant::now();
        // Within the bound, the replicas answer from their copy; past it, MFA pages
        // wait with the 503 page rather than admit a session revoked meanwhile.
        let bound = STALE_AFTER + Duration::from_secs(4);
        let (closed, took) = until_status(&cluster, &kept, 1, MFA_PAGE, 503, bound).await;
        assert_eq!(closed.status(), 503, "{name}: after {took:?}: {}", closed.text());
        // The view was last confirmed at most a heartbeat (1 s) before the stop.
        assert!(
            stopped.elapsed() >= STALE_AFTER - Duration::from_secs(1),
            "{name}: closed {:?} after the stop, before the bound",
            stopped.elapsed()
        );
        assert!(closed.response.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
        let text = closed.text();
        assert!(text.contains("<h1>Signed-in pages are unavailable</h1>"), "{name}: {text}");
        assert!(text.contains("The session store cannot be reached right now (last reached "), "{text}");
        assert!(!text.contains("identity provider"), "{name}: the store is the cause: {text}");
        for replica in 0..2 {
            // Public pages open with the session as without.
            let health = cluster.replay(&kept, replica, "/health").await;
            assert_eq!(health.status(), 200, "{name}, replica {replica}");
            // Bearer-token API calls never touch the store.
            for path in [MFA_PAGE, "/v1/customers/contoso"] {
                let api = http1::request(
                    cluster.replicas[replica].target.addr,
                    "GET",
                    path,
                    std::slice::from_ref(&bearer),
                )
                .await
                .unwrap();
                assert_eq!(api.status, 200, "{name}, replica {replica}, {path}: {api:?}");
            }
        }

        // Revoked while the store is out of reach: a sign-out on the first replica,
        // and the sales agent signed out everywhere from code there.
        let out = cluster.sign_out(&mut signing_out, 0).await;
        assert_eq!(out.status(), 302, "{name}: a sign-out completes without the store: {}", out.text());
        let err = cluster.replicas[0].guard.revoke_user(&sales).await.unwrap_err();
        assert!(
            matches!(&err, RevokeError::Store(e) if e.kind() == StoreErrorKind::Queued),
            "{name}: {err:?}"
        );

        // Redis comes back empty (no persistence): the queued revocations refill it.
        redis.restart().unwrap();
        let recover = STALE_AFTER + Duration::from_secs(10);
        for replica in 0..2 {
            let (open, took) = until_status(&cluster, &kept, replica, MFA_PAGE, 200, recover).await;
            assert_eq!(open.status(), 200, "{name}, replica {replica}: not recovered after {took:?}");
            for revoked in [&signed_out, &everywhere] {
                until_refused(&cluster, revoked, replica, recover)
                    .await
                    .unwrap_or_else(|e| panic!("{name}, after the store came back: {e}"));
            }
        }
        assert_eq!(cluster.revoked_ids(&redis), 1, "{name}: the sign-out's session id was written");
        assert_eq!(cluster.revoked_users(&redis), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_and_a_step_up_replace_the_cookie_and_its_session_id_and_refuse_the_old_one() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    for example in Example::ALL {
        let name = example.name();
        let cluster = Cluster::start(&[example; 2], &redis, &format!("{name}-fixation:")).await;
        let mut browser = Browser::new();
        let overview = browser.open(&cluster.url(0, "/overview"), &mut vec![SignIn::Password("admin")]).await;
        assert_eq!(overview.status(), 200, "{name}: {}", overview.text());
        let first = browser.clone();
        assert_eq!(cluster.revoked_ids(&redis), 0);

        // A sign-in over a session this browser holds (one planted by someone else,
        // say): the result is a new cookie and a new session id; the old id is revoked.
        let sign_in = cluster.url(0, "/auth/sign-in?return_to=%2Foverview");
        let again = browser.open(&sign_in, &mut vec![SignIn::Password("admin")]).await;
        assert_eq!((again.status(), again.url.path()), (200, "/overview"), "{name}: {}", again.text());
        assert_ne!(browser.jar["mfa-guard"], first.jar["mfa-guard"], "{name}: a new cookie at sign-in");
        assert_eq!(cluster.revoked_ids(&redis), 1, "{name}: the old session id is revoked");
        let signed_in = browser.clone();

        // A step-up on the MFA page: again a new cookie and a new id.
        let mut steps = vec![SignIn::PasswordAndMfa("admin")];
        let customers = browser.open(&cluster.url(0, MFA_PAGE), &mut steps).await;
        assert!(steps.is_empty(), "{name}: the step-up was asked for");
        assert_eq!(customers.status(), 200, "{name}: {}", customers.text());
        assert_ne!(browser.jar["mfa-guard"], signed_in.jar["mfa-guard"], "{name}: a new cookie at step-up");
        assert_eq!(cluster.revoked_ids(&redis), 2, "{name}: the pre-step-up session id is revoked");

        // The old cookies are refused on every replica; the new one opens the page.
        for replica in 0..2 {
            for (old, what) in [(&first, "before the sign-in"), (&signed_in, "before the step-up")] {
                until_refused(&cluster, old, replica, PROPAGATION_BOUND)
                    .await
                    .unwrap_or_else(|e| panic!("{name}: the cookie {what}: {e}"));
                let overview = cluster.replay(old, replica, "/overview").await;
                assert!(sent_to_sign_in(&overview), "{name}: the cookie {what} on /overview");
            }
            let page = cluster.replay(&browser, replica, MFA_PAGE).await;
            assert_eq!(page.status(), 200, "{name}, replica {replica}: {}", page.text());
            assert_eq!(shown_answer(&page.text()).unwrap()["mfa"], true);
        }
        // Signing out revokes a third id: all three differed.
        let out = cluster.sign_out(&mut browser, 1).await;
        assert_eq!(out.status(), 302, "{name}");
        assert_eq!(cluster.revoked_ids(&redis), 3, "{name}: three distinct session ids");
    }
}

/// The starters from an environment alone (`all_from_env`, in development mode
/// here, each server with its own development issuer) connect the store that
/// `MFA_SESSION_STORE` names, as the examples' `run` does: a user signed out
/// everywhere by another writer to that store is refused on each; a store out of
/// reach is a start-up error that names it, not a server that ignores it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_started_from_an_environment_naming_the_store_follow_it() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let prefix = "from-env:";
    let env = [("MFA_SESSION_STORE", redis.url()), ("MFA_SESSION_STORE_PREFIX", prefix.to_owned())];
    let targets = all_from_env(&env).await.unwrap_or_else(|e| panic!("the example servers start: {e}"));
    let settings = StoreSettings::parse(&redis.url()).unwrap().prefix(prefix.to_owned()).unwrap();
    let writer = Revocations::writer(settings).await.unwrap();
    // A user of its own on each server: a revocation is by `sub`, and both
    // development issuers name their users alike.
    for (target, user) in targets.iter().zip(["admin", "sales"]) {
        let name = target.name;
        let page_url = Url::parse(&format!("http://{}{MFA_PAGE}", target.addr)).unwrap();
        let mut browser = Browser::new();
        let page = browser.open(&page_url, &mut vec![SignIn::PasswordAndMfa(user)]).await;
        assert_eq!(page.status(), 200, "{name}: {}", page.text());
        let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
        writer.revoke_user(&oid(&page), now, now + 3600).await.unwrap();
        let start = Instant::now();
        loop {
            let visit = browser.clone().get(&page_url).await;
            if sent_to_sign_in(&visit) {
                break;
            }
            assert_eq!(visit.status(), 200, "{name}: {}", visit.text());
            assert!(
                start.elapsed() < PROPAGATION_BOUND,
                "{name} still admits {user} after {PROPAGATION_BOUND:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("redis://127.0.0.1:{port}/0");
    let err = all_from_env(&[("MFA_SESSION_STORE", unreachable.clone())])
        .await
        .err()
        .unwrap_or_else(|| panic!("started without the store at {unreachable}"));
    assert!(
        err.starts_with(&format!("session store: cannot reach the session store {unreachable}: ")),
        "{err}"
    );
}
