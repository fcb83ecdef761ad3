//! How a token's roles are resolved without trying every matcher of the role map.
//!
//! Each matcher names one claim value, so the map is turned around once, when the
//! policy is compiled: for every claim (`roles`, `scp`, `wids`, `groups`) a table
//! from value to the roles that value grants. A token's roles are then one lookup
//! per value it carries, whatever the number of group ids the map names. GUID claims
//! (`wids`, `groups`) compare without regard to ASCII case, so they are kept and
//! looked up in lowercase; app roles and scopes compare exactly.

use std::borrow::Cow;
use std::collections::HashMap;

use super::{ResolvedRoles, RoleMap, RoleMatcher, RoleSet};
use crate::claims::Claims;

/// The role map, by claim value.
#[derive(Debug, Default)]
pub(crate) struct RoleIndex {
    app_roles: HashMap<Box<str>, RoleSet>,
    scopes: HashMap<Box<str>, RoleSet>,
    directory_roles: HashMap<Box<str>, RoleSet>,
    groups: HashMap<Box<str>, RoleSet>,
    /// Roles some group grants: unknown, not refused, when the token's groups did
    /// not fit in it.
    granted_by_groups: RoleSet,
}

impl RoleIndex {
    pub(crate) fn new(map: &RoleMap) -> Self {
        let mut index = Self::default();
        for (position, role) in map.roles().enumerate() {
            for matcher in map.matchers(role) {
                let (table, value) = match matcher {
                    RoleMatcher::AppRole(v) => (&mut index.app_roles, Cow::Borrowed(v.as_str())),
                    RoleMatcher::Scope(v) => (&mut index.scopes, Cow::Borrowed(v.as_str())),
                    RoleMatcher::DirectoryRole(v) => (&mut index.directory_roles, lowercase(v)),
                    RoleMatcher::Group(v) => {
                        index.granted_by_groups.insert(position);
                        (&mut index.groups, lowercase(v))
                    }
                };
                table.entry(value.into()).or_default().insert(position);
            }
        }
        index
    }

    /// The roles a token holds, and those its groups overage leaves unknown (as
    /// [`RoleMap::resolve`] finds them, matcher by matcher).
    pub(crate) fn resolve(&self, claims: &Claims) -> ResolvedRoles {
        fn granted(table: &HashMap<Box<str>, RoleSet>, values: &Option<Vec<String>>, fold: bool) -> RoleSet {
            if table.is_empty() {
                return RoleSet::EMPTY;
            }
            values.iter().flatten().fold(RoleSet::EMPTY, |held, value| {
                let value = if fold { lowercase(value) } else { Cow::Borrowed(value.as_str()) };
                table.get(&*value).map_or(held, |roles| held.union(*roles))
            })
        }
        let held = granted(&self.app_roles, &claims.roles, false)
            .union(granted(&self.scopes, &claims.scp, false))
            .union(granted(&self.directory_roles, &claims.wids, true))
            .union(granted(&self.groups, &claims.groups, true));
        let unknown =
            if claims.groups_overage { self.granted_by_groups.difference(held) } else { RoleSet::EMPTY };
        ResolvedRoles { held, unknown }
    }
}

/// `value` in ASCII lowercase, copied only when it has an uppercase letter.
fn lowercase(value: &str) -> Cow<'_, str> {
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(value.to_ascii_lowercase())
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::policy::Role;

    fn value() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["a", "A", "b", "Admin", "admin", "g1", "G1", "ABC-def", "abc-DEF", ""])
    }

    fn matcher() -> impl Strategy<Value = RoleMatcher> {
        (0..4u8, value()).prop_map(|(kind, v)| match kind {
            0 => RoleMatcher::AppRole(v.into()),
            1 => RoleMatcher::Scope(v.into()),
            2 => RoleMatcher::DirectoryRole(v.into()),
            _ => RoleMatcher::Group(v.into()),
        })
    }

    fn list() -> impl Strategy<Value = Option<Vec<&'static str>>> {
        prop::option::of(prop::collection::vec(value(), 0..4))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn the_role_index_resolves_the_roles_the_matchers_of_the_role_map_resolve(
            grants in prop::collection::vec((0..6usize, matcher()), 0..16),
            defined in 0..3usize,
            roles in list(),
            scp in list(),
            wids in list(),
            groups in list(),
            overage in any::<bool>(),
        ) {
            let map = (0..defined).fold(RoleMap::new(), |m, i| m.define(Role::Custom(format!("D{i}").into())));
            let map = grants
                .into_iter()
                .fold(map, |m, (role, matcher)| m.grant(Role::Custom(format!("R{role}").into()), matcher));
            let mut claims = serde_json::json!({});
            for (name, values) in [("roles", roles), ("wids", wids), ("groups", groups)] {
                if let Some(values) = values {
                    claims[name] = serde_json::json!(values);
                }
            }
            if let Some(scp) = scp {
                claims["scp"] = serde_json::json!(scp.join(" "));
            }
            if overage {
                claims["hasgroups"] = serde_json::json!(true);
            }
            let claims = crate::claims::parse_claims(claims.to_string().as_bytes()).unwrap();
            prop_assert_eq!(RoleIndex::new(&map).resolve(&claims), map.resolve(&claims));
        }
    }
}
