//! The tenants a `{tenantid}` issuer template admits.
//!
//! A template is filled with the token's own `tid`, so on its own it admits every
//! tenant of the identity provider: with Entra discovery at `common`, every Entra
//! tenant there is. `wids` and `roles` mean something only inside the tenant that
//! issued them (a Global Administrator of any tenant carries the same `wids` id),
//! so a service names the tenants it serves and a token of any other is refused.
//!
//! Exact issuers are not affected: an exact Entra issuer already names its tenant.

use std::collections::HashSet;
use std::fmt;

use super::is_guid;
use crate::error::InvalidTenants;

/// A tenant id in lowercase: the form the allow-list holds and looks up.
type TenantId = [u8; 36];

/// An allow-list of tenant ids (GUIDs, compared without regard to case), looked up
/// by hash: a list of a hundred thousand tenants costs what a list of one does.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Tenants {
    /// As configured (lowercased, without repeats), for `Debug`.
    listed: Box<[String]>,
    set: HashSet<TenantId>,
}

impl Tenants {
    /// Checks every entry is a GUID; an empty list is refused (it would admit
    /// nothing, which is not what anyone configuring it means).
    pub(crate) fn new(list: Vec<String>) -> Result<Self, InvalidTenants> {
        if list.is_empty() {
            return Err(InvalidTenants::Empty);
        }
        let mut tenants = Vec::with_capacity(list.len());
        let mut set = HashSet::with_capacity(list.len());
        for tenant in list {
            if !is_guid(&tenant) {
                return Err(InvalidTenants::NotATenantId { tenant });
            }
            let tenant = tenant.to_ascii_lowercase();
            if lowercase_id(&tenant).is_some_and(|id| set.insert(id)) {
                tenants.push(tenant);
            }
        }
        Ok(Self { listed: tenants.into(), set })
    }

    /// Whether a token of tenant `tid` may pass.
    pub(crate) fn allows(&self, tid: &str) -> bool {
        lowercase_id(tid).is_some_and(|id| self.set.contains(&id))
    }
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.listed.iter()).finish()
    }
}

/// `tid` in lowercase, when it has a tenant id's length (no other can be listed).
fn lowercase_id(tid: &str) -> Option<TenantId> {
    let mut id: TenantId = tid.as_bytes().try_into().ok()?;
    id.make_ascii_lowercase();
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
    const B: &str = "11112222-3333-4444-5555-666677778888";

    #[test]
    fn only_listed_tenants_are_allowed_whatever_the_case() {
        let t = Tenants::new(vec![A.to_ascii_uppercase(), B.into()]).unwrap();
        assert!(t.allows(A) && t.allows(&A.to_ascii_uppercase()) && t.allows(B));
        assert!(!t.allows("aaaabbbb-0000-cccc-1111-dddd2222ffff"));
        assert!(!t.allows(""));
        assert!(!t.allows(&format!("{A}0")), "a longer id is another id");
    }

    #[test]
    fn repeats_in_any_case_are_listed_once() {
        let t = Tenants::new(vec![A.into(), A.to_ascii_uppercase(), B.into()]).unwrap();
        assert_eq!(format!("{t:?}"), format!("[{A:?}, {B:?}]"));
    }

    #[test]
    fn entries_that_are_not_guids_or_an_empty_list_are_refused() {
        for bad in ["common", "organizations", "contoso.onmicrosoft.com", "", &format!(" {A}")] {
            let err = Tenants::new(vec![bad.into()]).unwrap_err();
            assert_eq!(err, InvalidTenants::NotATenantId { tenant: bad.to_owned() });
            assert!(err.to_string().contains("is not a tenant id"), "{bad:?}: {err}");
        }
        assert_eq!(Tenants::new(Vec::new()).unwrap_err(), InvalidTenants::Empty);
    }
}
