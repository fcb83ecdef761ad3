//! The Partner Center preset (DESIGN §3), the policy both example servers use.

use super::{MfaPolicy, Policy, Requirement, Role, RoleMap, Rule};

/// The preset's areas: name, pattern, requirement. Shared by the preset and by
/// tools that explain a verdict per area.
pub(crate) fn partner_center_rules() -> Vec<Rule> {
    use Role::*;
    vec![
        Rule::new("/health", Requirement::public()).name("health"),
        Rule::new("/overview", Requirement::authenticated()).name("overview"),
        Rule::new("/commerce/*", Requirement::mfa().any_role([AdminAgent, SalesAgent, HelpdeskAgent]))
            .name("customers"),
        Rule::new(
            "/dashboard/v2/support/customers/*",
            Requirement::mfa().any_role([AdminAgent, HelpdeskAgent]),
        )
        .name("support-customer-requests"),
        Rule::new("/billing/*", Requirement::mfa().any_role([AdminAgent, SecurityAdmin, BillingAdmin]))
            .name("billing"),
        Rule::new("/security/*", Requirement::mfa().any_role([AdminAgent, SecurityAdmin]))
            .name("security-workspace"),
        Rule::new("/v1/catalog/*", Requirement::mfa().allow_apps()).name("catalog-api"),
        Rule::new("/v1/customers/*", Requirement::mfa().users_only().any_role([AdminAgent]))
            .name("customers-api"),
    ]
}

impl Policy {
    /// Partner Center's protection, as in DESIGN §3:
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
        partner_center_rules()
            .into_iter()
            .fold(Policy::new(), Policy::rule)
            .fallback(Requirement::authenticated())
            .role_map(RoleMap::partner_center())
            .mfa(MfaPolicy::default())
    }
}
