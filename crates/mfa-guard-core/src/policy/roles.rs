//! Named roles and the role map that resolves them from claims.

use std::fmt;
use std::sync::Arc;

use crate::claims::Claims;

/// A named role a route can require.
///
/// The Partner Center roles are variants; anything else is [`Role::Custom`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// Partner Center Admin agent.
    AdminAgent,
    /// Partner Center Sales agent.
    SalesAgent,
    /// Partner Center Helpdesk agent.
    HelpdeskAgent,
    /// Entra Security administrator.
    SecurityAdmin,
    /// Entra Billing administrator.
    BillingAdmin,
    /// Entra Global administrator.
    GlobalAdmin,
    /// A role named by configuration.
    Custom(Arc<str>),
}

impl Role {
    /// The role's name, as in configuration and response bodies.
    pub fn name(&self) -> &str {
        match self {
            Role::AdminAgent => "AdminAgent",
            Role::SalesAgent => "SalesAgent",
            Role::HelpdeskAgent => "HelpdeskAgent",
            Role::SecurityAdmin => "SecurityAdmin",
            Role::BillingAdmin => "BillingAdmin",
            Role::GlobalAdmin => "GlobalAdmin",
            Role::Custom(name) => name,
        }
    }

    /// The role of that name (a well-known one, or a custom one).
    pub fn from_name(name: &str) -> Self {
        match name {
            "AdminAgent" => Role::AdminAgent,
            "SalesAgent" => Role::SalesAgent,
            "HelpdeskAgent" => Role::HelpdeskAgent,
            "SecurityAdmin" => Role::SecurityAdmin,
            "BillingAdmin" => Role::BillingAdmin,
            "GlobalAdmin" => Role::GlobalAdmin,
            other => Role::Custom(other.into()),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A claim value that grants a role.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RoleMatcher {
    /// `roles` contains this app role value (case-sensitive).
    AppRole(String),
    /// `wids` contains this directory role template id (GUID, any case).
    DirectoryRole(String),
    /// `groups` contains this group object id (GUID, any case).
    Group(String),
    /// `scp` contains this delegated scope (case-sensitive).
    Scope(String),
}

impl RoleMatcher {
    fn matches(&self, claims: &Claims) -> bool {
        fn has(list: &Option<Vec<String>>, f: impl Fn(&str) -> bool) -> bool {
            list.as_ref().is_some_and(|l| l.iter().any(|v| f(v)))
        }
        match self {
            RoleMatcher::AppRole(v) => has(&claims.roles, |c| c == v),
            RoleMatcher::DirectoryRole(v) => has(&claims.wids, |c| c.eq_ignore_ascii_case(v)),
            RoleMatcher::Group(v) => has(&claims.groups, |c| c.eq_ignore_ascii_case(v)),
            RoleMatcher::Scope(v) => has(&claims.scp, |c| c == v),
        }
    }
}

/// Well-known Entra directory role template ids.
pub mod wids {
    /// Security administrator.
    pub const SECURITY_ADMINISTRATOR: &str = "194ae4cb-b126-40b2-bd5b-6091b380977d";
    /// Billing administrator.
    pub const BILLING_ADMINISTRATOR: &str = "b0f54661-2d74-4c50-afa3-1ec803f12efe";
    /// Global administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
}

/// Most roles a map can define (roles are a 64-bit set on the hot path).
pub const MAX_ROLES: usize = 64;

/// How named roles resolve from claims.
///
/// A role is held when any of its matchers matches. When the token's groups did
/// not fit in it (groups overage), a role that only group membership could grant is
/// *unknown*, and a route needing it refuses with `groups_overage`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleMap {
    entries: Vec<(Role, Vec<RoleMatcher>)>,
}

impl RoleMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The Partner Center map: the agent roles by app role value, the
    /// administrators by directory role template id.
    pub fn partner_center() -> Self {
        Self::new()
            .grant(Role::AdminAgent, RoleMatcher::AppRole("AdminAgent".into()))
            .grant(Role::SalesAgent, RoleMatcher::AppRole("SalesAgent".into()))
            .grant(Role::HelpdeskAgent, RoleMatcher::AppRole("HelpdeskAgent".into()))
            .grant(Role::SecurityAdmin, RoleMatcher::DirectoryRole(wids::SECURITY_ADMINISTRATOR.into()))
            .grant(Role::BillingAdmin, RoleMatcher::DirectoryRole(wids::BILLING_ADMINISTRATOR.into()))
            .grant(Role::GlobalAdmin, RoleMatcher::DirectoryRole(wids::GLOBAL_ADMINISTRATOR.into()))
    }

    /// Adds a matcher granting `role` (defining the role if new).
    #[must_use]
    pub fn grant(mut self, role: Role, matcher: RoleMatcher) -> Self {
        match self.entries.iter_mut().find(|(r, _)| *r == role) {
            Some((_, matchers)) => matchers.push(matcher),
            None => self.entries.push((role, vec![matcher])),
        }
        self
    }

    /// Defines `role` with no matcher yet (it is held by nobody until granted).
    #[must_use]
    pub fn define(mut self, role: Role) -> Self {
        if !self.entries.iter().any(|(r, _)| *r == role) {
            self.entries.push((role, Vec::new()));
        }
        self
    }

    /// Removes every matcher of `role` (it stays defined).
    #[must_use]
    pub fn clear(mut self, role: &Role) -> Self {
        if let Some((_, m)) = self.entries.iter_mut().find(|(r, _)| r == role) {
            m.clear();
        }
        self
    }

    /// The roles defined, in definition order.
    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.entries.iter().map(|(r, _)| r)
    }

    /// The matchers of a role.
    pub fn matchers(&self, role: &Role) -> &[RoleMatcher] {
        self.entries.iter().find(|(r, _)| r == role).map_or(&[], |(_, m)| m)
    }

    pub(crate) fn index_of(&self, role: &Role) -> Option<usize> {
        self.entries.iter().position(|(r, _)| r == role)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Resolves the roles a token holds, and those its groups overage leaves unknown.
    pub(crate) fn resolve(&self, claims: &Claims) -> ResolvedRoles {
        let mut held = RoleSet::EMPTY;
        let mut unknown = RoleSet::EMPTY;
        for (i, (_, matchers)) in self.entries.iter().enumerate() {
            if matchers.iter().any(|m| m.matches(claims)) {
                held.insert(i);
            } else if claims.groups_overage && matchers.iter().any(|m| matches!(m, RoleMatcher::Group(_))) {
                unknown.insert(i);
            }
        }
        ResolvedRoles { held, unknown }
    }
}

/// A set of roles of one map, as bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RoleSet(u64);

impl RoleSet {
    pub(crate) const EMPTY: RoleSet = RoleSet(0);

    pub(crate) fn insert(&mut self, index: usize) {
        self.0 |= 1 << index;
    }

    pub(crate) fn contains(self, index: usize) -> bool {
        self.0 & (1 << index) != 0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) fn intersects(self, other: RoleSet) -> bool {
        self.0 & other.0 != 0
    }

    pub(crate) fn union(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 | other.0)
    }

    /// The roles of `self` not in `other`.
    pub(crate) fn difference(self, other: RoleSet) -> RoleSet {
        RoleSet(self.0 & !other.0)
    }
}

/// The outcome of resolving roles for one token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ResolvedRoles {
    pub(crate) held: RoleSet,
    pub(crate) unknown: RoleSet,
}
