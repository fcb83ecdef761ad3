//! Replicas of the example servers behind one public origin on one real
//! `redis-server`: they share the session keys, the development identity server
//! (on an origin of its own, its client's redirect URI the first replica's) and
//! one session store under a prefix of their own. A scripted browser signs in on
//! the first replica; a copy of its cookie is what a thief, or another tab, sends to
//! the others.
//!
//! The suites that end sessions across replicas (sign-out and `Guard::revoke_user`
//! in `session_replicas.rs`, `mfa-guard revoke` in the CLI's tests) start their
//! fleets here, so they all read "refused" the same way ([`sent_to_sign_in`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use mfa_guard_dev::DevIssuer;
use mfa_guard_dev::server::Client;
use reqwest::Url;

use crate::browser::{Browser, SignIn, Visit, shown_answer};
use crate::gate::{provider_env, start_provider_for};
use crate::redis::RedisServer;
use crate::servers::{Started, start_actix_connected, start_axum_connected};

/// Upper bound on a propagation through the example servers: the design says one
/// second; this leaves room for a loaded CI machine without hiding a missing one.
pub const PROPAGATION_BOUND: Duration = Duration::from_secs(3);

/// How old the replicas' local view of the store may grow before MFA pages close
/// (`MFA_SESSION_STORE_STALE_AFTER`; the shortest allowed, for the outage tests).
pub const STALE_AFTER: Duration = Duration::from_secs(2);

/// The MFA page every check opens.
pub const MFA_PAGE: &str = "/commerce/customers";

/// One of the example servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Example {
    /// example-axum-server.
    Axum,
    /// example-actix-server.
    Actix,
}

impl Example {
    /// Every example server.
    pub const ALL: [Example; 2] = [Example::Axum, Example::Actix];

    /// Its framework's name.
    pub fn name(self) -> &'static str {
        match self {
            Example::Axum => "axum",
            Example::Actix => "actix",
        }
    }

    /// Started from `env` on `listener`, its session store connected.
    pub async fn start(
        self,
        env: &[(&str, String)],
        listener: std::net::TcpListener,
    ) -> Result<Started, String> {
        match self {
            Example::Axum => start_axum_connected(env, listener).await,
            Example::Actix => start_actix_connected(env, listener).await,
        }
    }
}

/// Replicas behind one public origin, one per entry of the list they were started
/// from (the same example several times, or a mixed fleet).
#[derive(Debug)]
pub struct Cluster {
    /// The replicas, in the order they were asked for; the first is the origin.
    pub replicas: Vec<Started>,
    /// The identity server's issuer (to sign bearer tokens it would accept).
    pub issuer: Arc<DevIssuer>,
    /// The store's key prefix (`MFA_SESSION_STORE_PREFIX`).
    pub prefix: String,
}

impl Cluster {
    /// Starts `examples` on `redis` under `prefix`; panics, naming the replica, if one
    /// does not start.
    pub async fn start(examples: &[Example], redis: &RedisServer, prefix: &str) -> Self {
        let listeners: Vec<_> =
            examples.iter().map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
        let first = listeners[0].local_addr().expect("addr");
        let (issuer, provider) = start_provider_for(Client::at(&format!("http://{first}"))).await;
        let mut env = provider_env(&issuer, &provider, format!("http://{first}/auth/callback"));
        env.extend([
            ("MFA_SESSION_STORE", redis.url()),
            ("MFA_SESSION_STORE_PREFIX", prefix.to_owned()),
            ("MFA_SESSION_STORE_STALE_AFTER", format!("{}s", STALE_AFTER.as_secs())),
        ]);
        let mut replicas = Vec::new();
        for (i, (example, listener)) in examples.iter().zip(listeners).enumerate() {
            let started = example
                .start(&env, listener)
                .await
                .unwrap_or_else(|e| panic!("{} replica {i}: {e}", example.name()));
            replicas.push(started);
        }
        Self { replicas, issuer, prefix: prefix.to_owned() }
    }

    /// `path` on `replica`.
    pub fn url(&self, replica: usize, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.replicas[replica].target.addr)).expect("a URL")
    }

    /// `replica`'s name and index, for messages (`actix replica 3`).
    pub fn name(&self, replica: usize) -> String {
        format!("{} replica {replica}", self.replicas[replica].target.name)
    }

    /// A browser signed in on the first replica as `who`, having opened the MFA page.
    pub async fn signed_in(&self, who: SignIn) -> Browser {
        let mut browser = Browser::new();
        let page = browser.open(&self.url(0, MFA_PAGE), &mut vec![who]).await;
        assert_eq!(page.status(), 200, "signed in as {who:?}: {}", page.text());
        assert!(browser.jar.contains_key("mfa-guard"), "a session cookie");
        browser
    }

    /// Signs `browser` out on `replica` with the sign-out page's button.
    pub async fn sign_out(&self, browser: &mut Browser, replica: usize) -> Visit {
        let page = browser.get(&self.url(replica, "/auth/sign-out")).await;
        assert_eq!(page.status(), 200, "{}", page.text());
        browser.submit_form(&page, "/auth/sign-out", &[]).await
    }

    /// `GET path` on `replica` carrying a copy of `cookies` (what a thief replays:
    /// the copy is never updated by the answer).
    pub async fn replay(&self, cookies: &Browser, replica: usize, path: &str) -> Visit {
        cookies.clone().get(&self.url(replica, path)).await
    }

    /// The revoked session ids in the store.
    pub fn revoked_ids(&self, redis: &RedisServer) -> usize {
        self.count(redis, "sessions")
    }

    /// The users signed out everywhere in the store.
    pub fn revoked_users(&self, redis: &RedisServer) -> usize {
        self.count(redis, "users")
    }

    fn count(&self, redis: &RedisServer, set: &str) -> usize {
        let key = format!("{}{set}", self.prefix);
        let count = redis.command(&["ZCARD", &key]).unwrap_or_else(|e| panic!("ZCARD {key}: {e}"));
        count.parse().unwrap_or_else(|_| panic!("ZCARD {key}: {count:?}"))
    }
}

/// Whether a navigation to an MFA page was refused the session it carried: sent to
/// sign in at the provider again, the cookie cleared.
pub fn sent_to_sign_in(visit: &Visit) -> bool {
    visit.status() == 302
        && visit.location().is_some_and(|l| l.path().ends_with("/dev-idp/authorize"))
        && visit.response.all("set-cookie").iter().any(|c| c.starts_with("mfa-guard=;"))
}

/// Polls `replica` with a copy of `cookies` until the MFA page refuses the session,
/// at most `bound`; how long it took. Any answer but `200` or that refusal is an
/// error at once.
pub async fn until_refused(
    cluster: &Cluster,
    cookies: &Browser,
    replica: usize,
    bound: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let visit = cluster.replay(cookies, replica, MFA_PAGE).await;
        if sent_to_sign_in(&visit) {
            return Ok(start.elapsed());
        }
        if visit.status() != 200 {
            return Err(format!("{} answered {}: {}", cluster.name(replica), visit.status(), visit.text()));
        }
        if start.elapsed() > bound {
            return Err(format!("{} still admits the session after {bound:?}", cluster.name(replica)));
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// The caller's object id on a page that shows the answer (the development
/// issuer's `sub` is the user's object id).
pub fn oid(page: &Visit) -> String {
    let answer = shown_answer(&page.text()).expect("the page shows the answer");
    answer["oid"].as_str().expect("a user's oid").to_owned()
}
