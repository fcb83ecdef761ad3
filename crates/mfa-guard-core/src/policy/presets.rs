//! The Partner Center preset, the policy both example servers use: its areas are
//! written here once, and the preset, the examples' route tables and the CLI's
//! per-area verdicts are all made from them.

use super::{MfaPolicy, Policy, Requirement, Role, RoleMap, Rule};

/// One area of Partner Center that the preset protects.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Area {
    /// The rule's name (in logs, metrics and the example servers' answers).
    pub name: &'static str,
    /// What Partner Center calls it.
    pub title: &'static str,
    /// Its path pattern: exact (`/health`) or a prefix (`/commerce/*`).
    pub pattern: &'static str,
    /// What it requires.
    pub requirement: Requirement,
}

impl Area {
    /// The literal path of the pattern (`/commerce` for `/commerce/*`).
    pub fn path(&self) -> &'static str {
        self.pattern.strip_suffix("/*").unwrap_or(self.pattern)
    }

    /// Whether the pattern covers everything below [`path`](Self::path) too.
    pub fn is_prefix(&self) -> bool {
        self.pattern.ends_with("/*")
    }

    /// The area as a route rule.
    pub fn rule(&self) -> Rule {
        Rule::new(self.pattern, self.requirement.clone()).name(self.name)
    }
}

impl Policy {
    /// The areas of [`Policy::partner_center`], in the order of Partner Center's
    /// own table.
    pub fn partner_center_areas() -> Vec<Area> {
        use Role::*;
        let area = |name, title, pattern, requirement| Area { name, title, pattern, requirement };
        vec![
            area("health", "Health check", "/health", Requirement::public()),
            area("overview", "Overview", "/overview", Requirement::authenticated()),
            area(
                "customers",
                "Customers",
                "/commerce/*",
                Requirement::mfa().any_role([AdminAgent, SalesAgent, HelpdeskAgent]),
            ),
            area(
                "support-customer-requests",
                "Support > Customer requests",
                "/dashboard/v2/support/customers/*",
                Requirement::mfa().any_role([AdminAgent, HelpdeskAgent]),
            ),
            area(
                "billing",
                "Billing",
                "/billing/*",
                Requirement::mfa().any_role([AdminAgent, SecurityAdmin, BillingAdmin]),
            ),
            area(
                "security-workspace",
                "Security workspace",
                "/security/*",
                Requirement::mfa().any_role([AdminAgent, SecurityAdmin]),
            ),
            area("catalog-api", "Catalog API", "/v1/catalog/*", Requirement::mfa().allow_apps()),
            area(
                "customers-api",
                "Customers API",
                "/v1/customers/*",
                Requirement::mfa().users_only().any_role([AdminAgent]),
            ),
        ]
    }
}

impl Policy {
    /// Partner Center's protection ([`Policy::partner_center_areas`]):
    ///
    /// | path | who | MFA | roles (any of) |
    /// |---|---|---|---|
    /// | `/health` | anyone, no token | no | - |
    /// | `/overview`, anything unmatched | any valid token | no | - |
    /// | `/commerce/*` | users | yes | AdminAgent, SalesAgent, HelpdeskAgent |
    /// | `/dashboard/v2/support/customers/*` | users | yes | AdminAgent, HelpdeskAgent |
    /// | `/billing/*` | users | yes | AdminAgent, SecurityAdmin, BillingAdmin |
    /// | `/security/*` | users | yes | AdminAgent, SecurityAdmin |
    /// | `/v1/catalog/*` | users and apps | users: yes | - |
    /// | `/v1/customers/*` (GDAP) | users only | yes | AdminAgent |
    ///
    /// Roles resolve through [`RoleMap::partner_center`]; MFA is `amr` ∋ `mfa`.
    pub fn partner_center() -> Self {
        Self::partner_center_areas()
            .iter()
            .map(Area::rule)
            .fold(Policy::new(), Policy::rule)
            .fallback(Requirement::authenticated())
            .role_map(RoleMap::partner_center())
            .mfa(MfaPolicy::default())
    }
}
