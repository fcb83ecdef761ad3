//! `mfa-guard revoke` against running servers: one fleet of axum and actix example
//! server replicas on one real redis-server (`mfa_guard_conformance::replicas`:
//! shared session keys, one identity server, a scripted browser), two users signed
//! in. Signing one out everywhere with the binary refuses that user's cookie on
//! every replica within the bound and leaves the other signed in; pointed at a store
//! it cannot reach, the binary fails saying so and nothing changes.
//!
//! These run here rather than beside `session_replicas.rs` in the conformance
//! package because cargo builds a package's binary for that package's own tests
//! only (`CARGO_BIN_EXE_mfa-guard`): here it is always the binary of this source.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_guard_conformance::browser::{Browser, SignIn, shown_answer};
use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_conformance::replicas::{Cluster, Example, MFA_PAGE, PROPAGATION_BOUND, oid, until_refused};

use crate::revoke::{revoke, says_the_store_is_unreachable};
use crate::support::{Run, exit};

/// Both examples, twice each, behind one origin (an axum replica first).
const FLEET: [Example; 4] = [Example::Axum, Example::Actix, Example::Axum, Example::Actix];

/// The fleet's key prefix in the store, given to the binary as the servers get it.
const PREFIX: &str = "fleet:";

/// `mfa-guard revoke --sub SUB --store STORE`, with the fleet's
/// `MFA_SESSION_STORE_PREFIX`, off the runtime's threads (the replicas serve on
/// them meanwhile).
async fn revoke_sub(sub: &str, store: &str) -> Run {
    let (sub, store) = (sub.to_owned(), store.to_owned());
    tokio::task::spawn_blocking(move || {
        revoke(&["--sub", &sub, "--store", &store], &[("MFA_SESSION_STORE_PREFIX", PREFIX)])
    })
    .await
    .expect("the binary ran")
}

/// The MFA page on `replica` opens for a copy of `cookies`: `200`, MFA shown; the
/// page, for its answer.
async fn admitted(cluster: &Cluster, cookies: &Browser, replica: usize, who: &str) -> String {
    let page = cluster.replay(cookies, replica, MFA_PAGE).await;
    assert_eq!(page.status(), 200, "{who} on {}: {}", cluster.name(replica), page.text());
    assert_eq!(shown_answer(&page.text()).expect("the answer")["mfa"], true, "{who}");
    oid(&page)
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_sub_signs_one_user_out_on_every_axum_and_actix_replica_and_keeps_the_other_signed_in() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap_or_else(|e| panic!("{e}")) else { return };
    let cluster = Cluster::start(&FLEET, &redis, PREFIX).await;
    let admin = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
    let sales = cluster.signed_in(SignIn::PasswordAndMfa("sales")).await;
    let sub = admitted(&cluster, &admin, 0, "admin").await;
    for replica in 0..FLEET.len() {
        assert_eq!(admitted(&cluster, &admin, replica, "admin").await, sub);
        assert_ne!(admitted(&cluster, &sales, replica, "sales").await, sub, "two users");
    }

    let run = revoke_sub(&sub, &redis.url()).await.expect(exit::OK);
    let signed_out = now();
    assert_eq!(
        run.stdout,
        format!(
            "ok: revoked every session of {sub} signed in until now in {} (prefix {PREFIX}), kept 43200s\n",
            redis.url()
        )
    );
    for replica in 0..FLEET.len() {
        let took = until_refused(&cluster, &admin, replica, PROPAGATION_BOUND)
            .await
            .unwrap_or_else(|e| panic!("admin after `mfa-guard revoke`: {e}"));
        assert!(took < PROPAGATION_BOUND, "{}: {took:?}", cluster.name(replica));
        admitted(&cluster, &sales, replica, "sales, not signed out").await;
    }
    assert_eq!(cluster.revoked_users(&redis), 1, "one user signed out everywhere");
    assert_eq!(cluster.revoked_ids(&redis), 0, "no session id was written");

    // Signed out, not locked out: a sign-in after the cut (a second later, the
    // cut's unit) opens the MFA page on every replica.
    while now() <= signed_out {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
    for replica in 0..FLEET.len() {
        assert_eq!(admitted(&cluster, &again, replica, "admin, signed in again").await, sub);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_with_a_store_out_of_reach_fails_naming_it_and_every_replica_keeps_the_session() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap_or_else(|e| panic!("{e}")) else { return };
    let cluster = Cluster::start(&FLEET, &redis, PREFIX).await;
    let admin = cluster.signed_in(SignIn::PasswordAndMfa("admin")).await;
    let sub = admitted(&cluster, &admin, 0, "admin").await;

    // A port nothing listens on: the address a typo or a stopped store gives.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("redis://127.0.0.1:{port}/0");
    let run = revoke_sub(&sub, &unreachable).await.expect(exit::ERROR);
    assert_eq!(run.stdout, "", "no success is claimed");
    says_the_store_is_unreachable(&run, &unreachable);

    // Nothing half-done: the fleet's store holds nothing, and every replica keeps
    // admitting the user for longer than a revocation takes to reach them all.
    assert_eq!((cluster.revoked_users(&redis), cluster.revoked_ids(&redis)), (0, 0));
    let start = Instant::now();
    while start.elapsed() < PROPAGATION_BOUND {
        for replica in 0..FLEET.len() {
            admitted(&cluster, &admin, replica, "admin, after a failed revoke").await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same command at the fleet's store ends the session: the watch above
    // would have seen it.
    revoke_sub(&sub, &redis.url()).await.expect(exit::OK);
    for replica in 0..FLEET.len() {
        until_refused(&cluster, &admin, replica, PROPAGATION_BOUND)
            .await
            .unwrap_or_else(|e| panic!("admin after the revoke that reached the store: {e}"));
    }
}
