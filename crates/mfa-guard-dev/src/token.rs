//! Development tokens: a realistic Entra v1 access token by default, each claim
//! changeable.

use std::time::Duration;

use mfa_guard_core::policy::wids;
use mfa_guard_core::{Clock, SystemClock};
use serde_json::{Map, Value, json};

use crate::key::{DevIssuer, DevKeyError};
use crate::{DEV_AUDIENCE, DEV_TENANT};

/// Who the token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// A user (delegated token).
    User,
    /// An application (client credentials).
    App,
}

/// A token to mint; defaults are a realistic Entra v1 access token.
#[derive(Debug, Clone)]
#[must_use]
pub struct TokenSpec<'a> {
    issuer: &'a DevIssuer,
    caller: Caller,
    claims: Map<String, Value>,
    lifetime: Duration,
    clock_now: Option<i64>,
}

// The minting entry points live with what they mint: the key knows nothing of tokens.
impl DevIssuer {
    /// Starts a token for a user with MFA, AdminAgent, one hour of validity.
    pub fn user(&self) -> TokenSpec<'_> {
        TokenSpec::new(self, Caller::User)
    }

    /// Starts an app-only token (client credentials), one hour of validity.
    pub fn app(&self) -> TokenSpec<'_> {
        TokenSpec::new(self, Caller::App)
    }
}

impl<'a> TokenSpec<'a> {
    pub(crate) fn new(issuer: &'a DevIssuer, caller: Caller) -> Self {
        let mut claims = Map::new();
        claims.insert("aud".into(), json!(DEV_AUDIENCE));
        claims.insert("iss".into(), json!(issuer.token_issuer()));
        claims.insert("tid".into(), json!(DEV_TENANT));
        claims.insert("ver".into(), json!("1.0"));
        claims.insert("appid".into(), json!("00001111-aaaa-2222-bbbb-3333cccc4444"));
        match caller {
            Caller::User => {
                let oid = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
                claims.insert("oid".into(), json!(oid));
                claims.insert("sub".into(), json!("user-subject-0001"));
                claims.insert("scp".into(), json!("user_impersonation"));
                claims.insert("amr".into(), json!(["pwd", "mfa"]));
                claims.insert("roles".into(), json!(["AdminAgent"]));
                claims.insert("upn".into(), json!("adminagent@dev.example"));
                claims.insert("name".into(), json!("Dev Admin Agent"));
            }
            Caller::App => {
                let oid = "cccccccc-0000-1111-2222-dddddddddddd";
                claims.insert("oid".into(), json!(oid));
                claims.insert("sub".into(), json!(oid));
                claims.insert("idtyp".into(), json!("app"));
                claims.insert("roles".into(), json!(["Catalog.Read"]));
            }
        }
        Self { issuer, caller, claims, lifetime: Duration::from_secs(3600), clock_now: None }
    }

    /// With or without `mfa` in `amr` (users only).
    pub fn mfa(mut self, mfa: bool) -> Self {
        if self.caller == Caller::User {
            self.claims.insert("amr".into(), if mfa { json!(["pwd", "mfa"]) } else { json!(["pwd"]) });
        }
        self
    }

    /// Sets `roles`.
    pub fn roles<I: IntoIterator<Item = S>, S: Into<String>>(mut self, roles: I) -> Self {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        self.claims.insert("roles".into(), json!(roles));
        self
    }

    /// Sets `wids` (e.g. [`wids::SECURITY_ADMINISTRATOR`]).
    pub fn wids<I: IntoIterator<Item = S>, S: Into<String>>(mut self, ids: I) -> Self {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        self.claims.insert("wids".into(), json!(ids));
        self
    }

    /// Makes the user a Security administrator (by `wids`), with no agent role.
    pub fn security_admin(self) -> Self {
        self.roles(Vec::<String>::new()).wids([wids::SECURITY_ADMINISTRATOR])
    }

    /// Sets the object id (and, for apps, `sub` with it).
    pub fn oid(mut self, oid: impl Into<String>) -> Self {
        let oid = oid.into();
        if self.caller == Caller::App {
            self.claims.insert("sub".into(), json!(oid));
        }
        self.claims.insert("oid".into(), json!(oid));
        self
    }

    /// Sets the audience.
    pub fn audience(mut self, aud: impl Into<String>) -> Self {
        self.claims.insert("aud".into(), json!(aud.into()));
        self
    }

    /// Sets any claim (or removes it with `Value::Null`).
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        let name = name.into();
        if value.is_null() {
            self.claims.remove(&name);
        } else {
            self.claims.insert(name, value);
        }
        self
    }

    /// How long the token is valid from now (an expired token: set `exp` with
    /// [`claim`](Self::claim)).
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Issues the token as of this clock's time instead of the system clock's.
    pub fn at(mut self, clock: &dyn Clock) -> Self {
        self.clock_now = Some(clock.now_unix());
        self
    }

    /// The claims the token will carry.
    pub fn claims(&self) -> Value {
        let now = self.clock_now.unwrap_or_else(|| SystemClock.now_unix());
        let mut claims = self.claims.clone();
        let lifetime = i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        claims.entry("iat").or_insert(json!(now));
        claims.entry("nbf").or_insert(json!(now));
        claims.entry("exp").or_insert(json!(now.saturating_add(lifetime)));
        Value::Object(claims)
    }

    /// Signs the token.
    pub fn sign(&self) -> Result<String, DevKeyError> {
        self.issuer.sign(&self.claims())
    }
}
