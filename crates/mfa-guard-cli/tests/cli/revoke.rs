//! `mfa-guard revoke` against a real redis-server: what it writes is what the
//! servers following the store refuse, and the password is never shown.

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mfa_guard_conformance::redis::{Persistence, RedisServer};
use mfa_guard_core::revocation::{Revocations, SessionFacts, SessionId, Standing, StoreSettings};

use crate::support::{Run, command, exit};

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

/// `mfa-guard revoke ARGS` with these variables and no other store variable.
pub(crate) fn revoke(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut cmd = command();
    cmd.arg("revoke").args(args);
    for name in ["MFA_SESSION_STORE", "MFA_SESSION_STORE_PASSWORD", "MFA_SESSION_STORE_PREFIX"] {
        cmd.env_remove(name);
    }
    cmd.envs(vars.iter().copied()).stdin(Stdio::null());
    let out = cmd.output().expect("the mfa-guard binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap()
}

#[test]
fn revoke_sub_signs_the_user_out_on_a_server_following_the_store() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let rt = runtime();
    let follower = rt.block_on(Revocations::connect(StoreSettings::parse(&redis.url()).unwrap())).unwrap();
    let sid = SessionId::new().unwrap();
    let alice = SessionFacts { sid: &sid, provider_sid: None, sub: Some("alice"), signed_in_at: now() - 60 };
    assert_eq!(follower.standing(&alice, now()), Standing::Valid);

    let before = now();
    let run = revoke(&["--sub", "alice", "--store", &redis.url()], &[]).expect(exit::OK);
    assert_eq!(
        run.stdout,
        format!(
            "ok: revoked every session of alice signed in until now in {} (prefix mfa-guard:), kept 43200s\n",
            redis.url()
        )
    );
    let start = Instant::now();
    while follower.standing(&alice, now()) != Standing::Revoked {
        assert!(start.elapsed() < Duration::from_secs(3), "not seen: {follower:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stored = redis.command(&["ZRANGE", "mfa-guard:users", "0", "-1", "WITHSCORES"]).unwrap();
    let (member, score) = stored.split_once('\n').unwrap();
    let (cut, sub) = member.split_once(' ').unwrap();
    assert_eq!(sub, "alice");
    assert!((before..=now()).contains(&cut.parse::<i64>().unwrap()), "{stored}");
    let kept = score.parse::<i64>().unwrap() - cut.parse::<i64>().unwrap();
    assert_eq!(kept, 43_200, "{stored}");
}

#[test]
fn revoke_session_reads_the_store_and_prefix_from_the_environment() {
    let Some(redis) = RedisServer::start(Persistence::None).unwrap() else { return };
    let sid = SessionId::new().unwrap().to_string();
    let vars = [("MFA_SESSION_STORE", redis.url()), ("MFA_SESSION_STORE_PREFIX", "shop:".to_owned())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let run = revoke(&["--session", &sid, "--keep", "2h"], &vars).expect(exit::OK);
    assert!(run.stdout.starts_with(&format!("ok: revoked session {sid} in ")), "{}", run.stdout);
    assert!(run.stdout.ends_with("(prefix shop:), kept 7200s\n"), "{}", run.stdout);
    let stored = redis.command(&["ZRANGE", "shop:sessions", "0", "-1"]).unwrap();
    assert_eq!(stored, sid);
    assert_eq!(redis.command(&["EXISTS", "mfa-guard:sessions"]).unwrap(), "0");
}

#[test]
fn the_store_password_comes_from_the_environment_and_is_never_printed() {
    let Some(redis) = RedisServer::start_with(Persistence::None, Some("right-pass")).unwrap() else { return };
    let url = redis.url();
    let run = revoke(&["--sub", "alice", "--store", &url], &[]).expect(exit::ERROR);
    assert!(run.stderr.contains(&format!("cannot reach the session store {url}")), "{}", run.stderr);
    assert!(run.stderr.contains("NOAUTH") || run.stderr.contains("uthentication"), "{}", run.stderr);

    let run = revoke(&["--sub", "alice", "--store", &url], &[("MFA_SESSION_STORE_PASSWORD", "wrong-pass")])
        .expect(exit::ERROR);
    assert!(!run.stderr.contains("wrong-pass"), "{}", run.stderr);
    assert!(run.stderr.contains("redis://:***@127.0.0.1:"), "{}", run.stderr);

    let run = revoke(&["--sub", "alice", "--store", &url], &[("MFA_SESSION_STORE_PASSWORD", "right-pass")])
        .expect(exit::OK);
    assert!(run.stdout.contains("in redis://:***@127.0.0.1:"), "{}", run.stdout);
    assert!(!run.stdout.contains("right-pass"), "{}", run.stdout);

    // A password in --store is taken, and not shown either.
    let with_password = url.replacen("redis://", "redis://:right-pass@", 1);
    let run = revoke(&["--sub", "bob", "--store", &with_password], &[]).expect(exit::OK);
    assert!(!run.stdout.contains("right-pass"), "{}", run.stdout);
}

#[test]
fn revoke_without_a_usable_store_or_target_is_a_usage_error() {
    let cases: [(&[&str], &str); 5] = [
        (&["--sub", "alice"], "no session store: pass --store redis://host:port/db or set MFA_SESSION_STORE"),
        (&["--sub", "alice", "--store", "memory"], "the memory store is one process's own"),
        (&["--sub", "alice", "--store", "http://cache:6379"], "must start redis:// or rediss://"),
        (
            &["--session", "not-a-session-id", "--store", "redis://127.0.0.1:9/0"],
            "a session id is 22 characters",
        ),
        (&["--sub", " ", "--store", "redis://127.0.0.1:9/0"], "--sub is empty"),
    ];
    for (args, why) in cases {
        let run = revoke(args, &[]).expect(exit::USAGE);
        assert!(run.stderr.contains(why), "{args:?}: {}", run.stderr);
    }
    let run = revoke(&["--sub", "a", "--session", "b"], &[]).expect(exit::USAGE);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    let run = revoke(&["--sub", "a", "--keep", "0s", "--store", "redis://h"], &[]).expect(exit::USAGE);
    assert!(run.stderr.contains("kept for no time"), "{}", run.stderr);
}

#[test]
fn an_unreachable_store_fails_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let run = revoke(&["--sub", "alice", "--store", &url], &[]).expect(exit::ERROR);
    says_the_store_is_unreachable(&run, &url);
}

/// `revoke`'s error for a store at `url` it could not reach: named, with a hint.
pub(crate) fn says_the_store_is_unreachable(run: &Run, url: &str) {
    assert!(
        run.stderr.starts_with(&format!("mfa-guard: error: cannot reach the session store {url}: ")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: are the store's address, database and password right?"),
        "{}",
        run.stderr
    );
}
