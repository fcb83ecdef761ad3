use std::time::Duration;

use super::view::{Freshness, LocalView};
use super::*;
use crate::time::ManualClock;

const NOW: i64 = 1_900_000_000;

fn facts<'a>(
    sid: &'a SessionId,
    provider_sid: Option<&'a str>,
    sub: Option<&'a str>,
    at: i64,
) -> SessionFacts<'a> {
    SessionFacts { sid, provider_sid, sub, signed_in_at: at }
}

#[tokio::test]
async fn a_revoked_session_id_is_revoked_until_its_expiry_and_other_sessions_stay_valid() {
    let clock = ManualClock::new(NOW);
    let r = Revocations::memory_with_clock(clock.clone());
    let (a, b) = (SessionId::new().unwrap(), SessionId::new().unwrap());
    r.revoke_session(&a, NOW + 100).await.unwrap();
    assert_eq!(r.standing(&facts(&a, None, None, NOW - 10), NOW), Standing::Revoked);
    assert_eq!(r.standing(&facts(&b, None, None, NOW - 10), NOW), Standing::Valid);
    assert_eq!(
        r.standing(&facts(&a, None, None, NOW - 10), NOW + 100),
        Standing::Revoked,
        "until is inclusive"
    );
    // Past its absolute expiry the session is dead anyway; the entry is forgotten.
    assert_eq!(r.standing(&facts(&a, None, None, NOW - 10), NOW + 101), Standing::Valid);
}

#[tokio::test]
async fn a_revocation_already_expired_is_not_kept() {
    let r = Revocations::memory_with_clock(ManualClock::new(NOW));
    let a = SessionId::new().unwrap();
    r.revoke_session(&a, NOW - 1).await.unwrap();
    assert!(r.is_empty());
}

#[tokio::test]
async fn a_provider_session_revocation_revokes_every_session_signed_in_under_it() {
    let r = Revocations::memory_with_clock(ManualClock::new(NOW));
    let (a, b) = (SessionId::new().unwrap(), SessionId::new().unwrap());
    r.revoke_provider_session("op-session-1", NOW + 100).await.unwrap();
    assert_eq!(r.standing(&facts(&a, Some("op-session-1"), Some("u"), NOW), NOW), Standing::Revoked);
    assert_eq!(r.standing(&facts(&b, Some("op-session-2"), Some("u"), NOW), NOW), Standing::Valid);
    assert_eq!(r.standing(&facts(&b, None, Some("u"), NOW), NOW), Standing::Valid);
}

#[tokio::test]
async fn signing_a_user_out_everywhere_revokes_sessions_signed_in_at_or_before_the_cut_only() {
    let r = Revocations::memory_with_clock(ManualClock::new(NOW));
    let sid = SessionId::new().unwrap();
    r.revoke_user("alice", NOW, NOW + 3600).await.unwrap();
    assert_eq!(r.standing(&facts(&sid, None, Some("alice"), NOW - 3000), NOW), Standing::Revoked);
    assert_eq!(r.standing(&facts(&sid, None, Some("alice"), NOW), NOW), Standing::Revoked, "same second");
    assert_eq!(
        r.standing(&facts(&sid, None, Some("alice"), NOW + 1), NOW + 1),
        Standing::Valid,
        "signed in after"
    );
    assert_eq!(r.standing(&facts(&sid, None, Some("bob"), NOW - 3000), NOW), Standing::Valid);
    assert_eq!(r.standing(&facts(&sid, None, None, NOW - 3000), NOW), Standing::Valid);
}

#[tokio::test]
async fn a_later_user_cut_moves_forward_and_an_earlier_one_never_moves_it_back() {
    let r = Revocations::memory_with_clock(ManualClock::new(NOW));
    let sid = SessionId::new().unwrap();
    r.revoke_user("alice", NOW + 50, NOW + 3600).await.unwrap();
    r.revoke_user("alice", NOW, NOW + 60).await.unwrap();
    assert_eq!(r.standing(&facts(&sid, None, Some("alice"), NOW + 40), NOW + 100), Standing::Revoked);
    assert_eq!(r.standing(&facts(&sid, None, Some("alice"), NOW + 40), NOW + 3600), Standing::Revoked);
    assert_eq!(r.standing(&facts(&sid, None, Some("alice"), NOW + 51), NOW + 100), Standing::Valid);
}

#[tokio::test]
async fn a_logout_token_id_is_accepted_once_and_again_only_after_it_expires() {
    let clock = ManualClock::new(NOW);
    let r = Revocations::memory_with_clock(clock.clone());
    assert!(r.first_use("jti-1", NOW + 60).await.unwrap());
    assert!(!r.first_use("jti-1", NOW + 60).await.unwrap(), "a replay is refused");
    assert!(r.first_use("jti-2", NOW + 60).await.unwrap());
    clock.set(NOW + 61);
    assert!(r.first_use("jti-1", NOW + 120).await.unwrap());
}

#[tokio::test]
async fn empty_and_oversized_ids_are_refused_as_invalid_input() {
    let r = Revocations::memory();
    let long = "x".repeat(MAX_ID_BYTES + 1);
    for err in [
        r.revoke_user("", NOW, NOW + 1).await.unwrap_err(),
        r.revoke_user(&long, NOW, NOW + 1).await.unwrap_err(),
        r.revoke_provider_session(&long, NOW + 1).await.unwrap_err(),
        r.first_use(&long, NOW + 1).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput);
        assert!(err.to_string().contains("1 to 512 bytes"), "{err}");
    }
    assert!(r.revoke_user(&"x".repeat(MAX_ID_BYTES), NOW, i64::MAX).await.is_ok());
    assert!(r.first_use("", NOW + 1).await.is_err());
}

#[tokio::test]
async fn expired_entries_are_pruned_as_new_ones_arrive() {
    let clock = ManualClock::new(NOW);
    let r = Revocations::memory_with_clock(clock.clone());
    for _ in 0..1000 {
        r.revoke_session(&SessionId::new().unwrap(), NOW + 10).await.unwrap();
    }
    assert_eq!(r.len(), 1000);
    clock.set(NOW + 11);
    for _ in 0..1100 {
        r.revoke_session(&SessionId::new().unwrap(), NOW + 100).await.unwrap();
    }
    assert!(r.len() <= 1100, "the 1000 expired entries were dropped: {} held", r.len());
}

#[test]
fn revocations_can_be_shared_between_threads_and_tasks() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Revocations>();
    shared::<StoreSettings>();
}

#[test]
fn the_memory_store_is_never_stale() {
    let r = Revocations::memory();
    std::thread::sleep(Duration::from_millis(5));
    let sid = SessionId::new().unwrap();
    assert_eq!(r.standing(&facts(&sid, None, None, NOW), NOW), Standing::Valid);
    assert_eq!(r.stale_for(), None);
}

fn aged_view(stale_after: Duration, fail: FailMode) -> LocalView {
    let view = LocalView::new(Some(Freshness { stale_after, fail }));
    view.confirm(std::time::Instant::now());
    std::thread::sleep(Duration::from_millis(20));
    view
}

#[test]
fn a_view_older_than_the_bound_answers_unknown_when_failing_closed() {
    let sid = SessionId::new().unwrap();
    let view = aged_view(Duration::from_millis(5), FailMode::Closed);
    assert_eq!(view.standing(&facts(&sid, None, None, NOW), NOW), Standing::Unknown);
    let view = aged_view(Duration::from_secs(60), FailMode::Closed);
    assert_eq!(view.standing(&facts(&sid, None, None, NOW), NOW), Standing::Valid);
}

#[test]
fn open_for_keeps_answering_from_the_view_for_its_grace_then_unknown() {
    let sid = SessionId::new().unwrap();
    let view = aged_view(Duration::from_millis(5), FailMode::OpenFor(Duration::from_secs(60)));
    assert_eq!(view.standing(&facts(&sid, None, None, NOW), NOW), Standing::Valid);
    let view = aged_view(Duration::from_millis(5), FailMode::OpenFor(Duration::from_millis(5)));
    assert_eq!(view.standing(&facts(&sid, None, None, NOW), NOW), Standing::Unknown);
}

#[test]
fn a_known_revocation_is_revoked_even_when_the_view_is_too_old() {
    let sid = SessionId::new().unwrap();
    let view = aged_view(Duration::from_millis(5), FailMode::Closed);
    view.insert(view::Entry::Session { sid: *sid.as_bytes(), until: NOW + 10 }, NOW);
    assert_eq!(view.standing(&facts(&sid, None, None, NOW), NOW), Standing::Revoked);
}

#[test]
fn session_ids_round_trip_through_their_text_and_debug_shows_a_prefix_only() {
    let sid = SessionId::from_bytes([0xfb; 16]);
    let text = sid.to_string();
    assert_eq!(text, "-_v7-_v7-_v7-_v7-_v7-w");
    assert_eq!(SessionId::parse(&text).unwrap(), sid);
    assert_eq!(format!("{sid:?}"), "SessionId(-_v7…)");
    assert_ne!(SessionId::new().unwrap(), SessionId::new().unwrap());
    for bad in ["", "short", "-_v7-_v7-_v7-_v7-_v7-w=", "-_v7-_v7-_v7-_v7-_v7+w", "-_v7-_v7-_v7-_v7-_v7-_"] {
        let err = SessionId::parse(bad).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput, "{bad:?}");
        assert!(err.to_string().starts_with("a session id is 22 characters"), "{err}");
    }
}

#[test]
fn store_addresses_of_the_accepted_forms_parse() {
    let s = StoreSettings::parse("redis://127.0.0.1:6390/3").unwrap();
    assert_eq!(s.to_string(), "redis://127.0.0.1:6390/3");
    assert!(!s.is_memory() && !s.has_password());
    assert_eq!(
        StoreSettings::parse("rediss://cache.internal").unwrap().to_string(),
        "rediss://cache.internal:6379/0"
    );
    assert_eq!(StoreSettings::parse("redis://[::1]:7000/").unwrap().to_string(), "redis://[::1]:7000/0");
    assert_eq!(StoreSettings::parse("redis://app@h/1").unwrap().to_string(), "redis://app@h:6379/1");
    assert!(StoreSettings::parse(" memory ").unwrap().is_memory());
    let s = StoreSettings::parse("redis://h").unwrap();
    assert_eq!(
        (s.key_prefix(), s.fail_mode(), s.stale_bound()),
        ("mfa-guard:", FailMode::Closed, Duration::from_secs(30))
    );
}

#[test]
fn a_store_address_with_a_password_never_shows_it() {
    let s = StoreSettings::parse("redis://app:s3cr%40t@cache:6379/0").unwrap();
    assert!(s.has_password());
    assert_eq!(s.to_string(), "redis://app:***@cache:6379/0");
    assert!(!format!("{s:?}").contains("s3cr"), "{s:?}");
    let s = StoreSettings::parse("redis://cache").unwrap().password("hunter2");
    assert_eq!(s.to_string(), "redis://:***@cache:6379/0");
    assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
}

#[test]
fn bad_store_addresses_are_refused_with_the_reason_and_no_password() {
    let cases = [
        ("http://u:hunter2@cache:6379", "must start redis:// or rediss://"),
        ("redis://u:hunter2@cache:6379/?protocol=resp3", "no query or fragment"),
        ("rediss://u:hunter2@cache:6379/#insecure", "no query or fragment"),
        ("redis://u:hunter2@cache:6379/zero", "a database number"),
        ("redis://u:hunter2@cache:0", "port 0"),
        ("redis://u:hunter2@cache:99999", "not a URL"),
        ("redis://u:hunter2@:6379", "not a URL"),
        ("hunter2", "not a URL"),
    ];
    for (text, why) in cases {
        let err = StoreSettings::parse(text).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidUrl, "{text}");
        assert!(err.to_string().contains(why), "{text}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{text}: {err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{text}: {err:?}");
    }
    let long = format!("redis://{}", "h".repeat(3000));
    assert!(StoreSettings::parse(&long).unwrap_err().to_string().contains("longer than 2048 bytes"));
}

#[test]
fn fail_modes_read_closed_and_open_for_a_duration_only() {
    assert_eq!("closed".parse::<FailMode>().unwrap(), FailMode::Closed);
    assert_eq!("open-for 5m".parse::<FailMode>().unwrap(), FailMode::OpenFor(Duration::from_secs(300)));
    assert_eq!(" open-for  90s ".parse::<FailMode>().unwrap(), FailMode::OpenFor(Duration::from_secs(90)));
    assert_eq!(FailMode::OpenFor(Duration::from_secs(300)).to_string(), "open-for 5m");
    for bad in ["open", "open-for", "open-for5m", "open-for soon", "Closed", ""] {
        let err = bad.parse::<FailMode>().unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput, "{bad:?}");
    }
    assert!("open-for soon".parse::<FailMode>().unwrap_err().to_string().contains("not a duration"));
    assert!(
        "open".parse::<FailMode>().unwrap_err().to_string().contains("\"closed\" or \"open-for <duration>\"")
    );
}

#[test]
fn a_bound_shorter_than_two_heartbeats_is_refused() {
    let err = StoreSettings::memory().stale_after(Duration::from_millis(1999)).unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::InvalidInput);
    assert!(err.to_string().contains("at least 2s"), "{err}");
    let s = StoreSettings::memory().stale_after(MIN_STALE_AFTER).unwrap();
    assert_eq!(s.stale_bound(), Duration::from_secs(2));
}

#[test]
fn prefixes_are_printable_ascii_of_bounded_length() {
    let s = StoreSettings::memory();
    assert_eq!(s.clone().prefix("shop:").unwrap().key_prefix(), "shop:");
    for bad in ["", "has space", "tab\t", "é", &"p".repeat(65)] {
        let err = s.clone().prefix(bad).unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::InvalidInput, "{bad:?}");
    }
}

#[test]
fn debug_of_the_revocations_shows_the_store_and_counts_only() {
    let r = Revocations::memory();
    assert_eq!(format!("{r:?}"), "Revocations { store: \"memory\", held: 0, pending: 0, stale_for: None }");
}

mod configuration {
    use super::*;
    use crate::config::{Config, Environment};

    fn file(body: &str) -> Result<Config, crate::ConfigError> {
        Config::from_toml_str(&format!("[browser]\n{body}"), "mfa.toml")
    }

    fn env_with(vars: &[(&str, &str)], config: Option<&str>) -> Result<Option<StoreSettings>, String> {
        let path = config.map(|body| {
            let path = std::env::temp_dir().join(format!(
                "mfa-guard-store-{}-{}.toml",
                std::process::id(),
                SessionId::new().unwrap()
            ));
            std::fs::write(&path, format!("[browser]\n{body}")).unwrap();
            path
        });
        let lookup = |name: &str| {
            if name == "MFA_CONFIG" {
                return path.as_ref().map(|p| p.display().to_string());
            }
            vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        let result = Environment::from_lookup(lookup)
            .map_err(|e| e.to_string())
            .and_then(|env| env.session_store().map_err(|e| e.to_string()));
        if let Some(path) = path {
            let _ = std::fs::remove_file(path);
        }
        result
    }

    #[test]
    fn no_store_configured_means_cookie_only_sessions() {
        assert_eq!(env_with(&[], None).unwrap(), None);
        assert_eq!(file("client_id = \"x\"").unwrap().session_store().unwrap(), None);
    }

    #[test]
    fn the_file_names_the_store_its_prefix_fail_mode_and_bound() {
        let config = file(
            "session_store = \"redis://cache:6380/2\"\nsession_store_prefix = \"shop:\"\n\
             session_store_fail = \"open-for 5m\"\nsession_store_stale_after = \"10s\"",
        )
        .unwrap();
        let s = config.session_store().unwrap().unwrap();
        assert_eq!(s.to_string(), "redis://cache:6380/2");
        assert_eq!(s.key_prefix(), "shop:");
        assert_eq!(s.fail_mode(), FailMode::OpenFor(Duration::from_secs(300)));
        assert_eq!(s.stale_bound(), Duration::from_secs(10));
    }

    #[test]
    fn a_password_in_the_file_is_refused_at_its_line_without_echoing_it() {
        let err =
            file("client_id = \"x\"\nsession_store = \"redis://app:hunter2@cache:6379/0\"").unwrap_err();
        assert_eq!(err.line(), Some(3));
        assert_eq!(err.key(), Some("browser.session_store"));
        assert!(err.message().contains("set MFA_SESSION_STORE_PASSWORD"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = file("session_store_password = \"hunter2\"").unwrap_err();
        assert_eq!(err.key(), Some("browser.session_store_password"));
        assert!(err.message().contains("set MFA_SESSION_STORE_PASSWORD in the environment"), "{err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn bad_store_keys_in_the_file_are_refused_at_their_line() {
        let err = file("session_store = \"memcached://cache\"").unwrap_err();
        assert_eq!((err.line(), err.key()), (Some(2), Some("browser.session_store")));
        assert!(err.message().contains("must start redis:// or rediss://"), "{err}");
        let err = file("session_store = \"memory\"\n\nsession_store_fail = \"open\"").unwrap_err();
        assert_eq!((err.line(), err.key()), (Some(4), Some("browser.session_store_fail")));
        let err = file("session_store = \"memory\"\nsession_store_prefix = \"a b\"").unwrap_err();
        assert_eq!((err.line(), err.key()), (Some(3), Some("browser.session_store_prefix")));
        let err = file("session_store_stale_after = \"soon\"").unwrap_err();
        assert!(err.to_string().contains("not a duration"), "{err}");
        let err = file("session_store = \"memory\"\nsession_store_stale_after = \"1s\"").unwrap_err();
        assert_eq!((err.line(), err.key()), (Some(3), Some("browser.session_store_stale_after")));
        assert!(err.message().contains("at least 2s (it is confirmed every second)"), "{err}");
    }

    #[test]
    fn the_environment_wins_over_the_file_and_brings_the_password() {
        let s = env_with(
            &[
                ("MFA_SESSION_STORE", "rediss://cache.internal:6390/1"),
                ("MFA_SESSION_STORE_PASSWORD", "hunter2"),
                ("MFA_SESSION_STORE_FAIL", "closed"),
            ],
            Some("session_store = \"redis://other:6379\"\nsession_store_prefix = \"shop:\"\nsession_store_fail = \"open-for 1m\""),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.to_string(), "rediss://:***@cache.internal:6390/1");
        assert_eq!((s.key_prefix(), s.fail_mode()), ("shop:", FailMode::Closed));
        assert!(s.has_password());

        let s = env_with(
            &[("MFA_SESSION_STORE_PREFIX", "env:"), ("MFA_SESSION_STORE_STALE_AFTER", "5s")],
            Some("session_store = \"redis://other:6379\""),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (s.to_string().as_str(), s.key_prefix(), s.stale_bound()),
            ("redis://other:6379/0", "env:", Duration::from_secs(5))
        );
        assert!(env_with(&[("MFA_SESSION_STORE", "memory")], None).unwrap().unwrap().is_memory());
    }

    #[test]
    fn store_variables_that_cannot_be_used_name_the_variable_and_never_the_password() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("MFA_SESSION_STORE", "redis://u:hunter2@cache:6379/db")], "a database number"),
            (
                &[("MFA_SESSION_STORE", "memory"), ("MFA_SESSION_STORE_PASSWORD", "hunter2")],
                "MFA_SESSION_STORE_PASSWORD is set but the session store is `memory`",
            ),
            (
                &[("MFA_SESSION_STORE_PASSWORD", "hunter2")],
                "MFA_SESSION_STORE_PASSWORD is set but no session store is",
            ),
            (
                &[("MFA_SESSION_STORE", "memory"), ("MFA_SESSION_STORE_FAIL", "open-for ever")],
                "not a duration",
            ),
            (
                &[("MFA_SESSION_STORE", "memory"), ("MFA_SESSION_STORE_STALE_AFTER", "soon")],
                "MFA_SESSION_STORE_STALE_AFTER: \"soon\" is not a duration",
            ),
        ];
        for (vars, why) in cases {
            let err = env_with(vars, None).unwrap_err();
            assert!(err.contains(why), "{vars:?}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        let err = env_with(&[], Some("session_store_prefix = \"shop:\"")).unwrap_err();
        assert!(err.contains("browser.session_store_prefix is set but no session store is"), "{err}");
    }

    #[test]
    fn debug_of_the_environment_never_shows_the_store_password() {
        let env = Environment::from_lookup(|n| match n {
            "MFA_SESSION_STORE" => Some("redis://app:pw-in-url@cache".into()),
            "MFA_SESSION_STORE_PASSWORD" => Some("hunter2".into()),
            _ => None,
        })
        .unwrap();
        let debug = format!("{env:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("pw-in-url"), "{debug}");
        assert!(debug.contains("redis://app:***@cache:6379/0"), "{debug}");
    }
}
