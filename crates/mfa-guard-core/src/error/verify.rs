//! Why an expected issuer or a tenant allow-list cannot be used. (Here rather than
//! in `verify`, whose builder returns a [`BuildError`](super::BuildError) holding them.)

/// Why an expected issuer cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidIssuer {
    /// The issuer is empty.
    #[error("an issuer must not be empty")]
    Empty,
    /// A space, a control or a non-ASCII character.
    #[error("issuer {issuer:?} must be visible ASCII without spaces")]
    NotVisibleAscii {
        /// The issuer as given.
        issuer: String,
    },
    /// `{tenantid}` more than once.
    #[error("issuer {issuer:?} holds {{tenantid}} more than once")]
    PlaceholderTwice {
        /// The issuer as given.
        issuer: String,
    },
    /// A `{` or `}` that is not part of `{tenantid}`.
    #[error("issuer {issuer:?} holds a placeholder other than {{tenantid}}")]
    OtherPlaceholder {
        /// The issuer as given.
        issuer: String,
    },
}

/// Why a tenant allow-list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTenants {
    /// The list is empty (it would admit nothing).
    #[error(
        "the tenant allow-list is empty; name at least one tenant id, or leave the list out to accept every tenant"
    )]
    Empty,
    /// An entry that is not a GUID.
    #[error("tenant {tenant:?} is not a tenant id (a GUID like aaaabbbb-0000-cccc-1111-dddd2222eeee)")]
    NotATenantId {
        /// The entry as given.
        tenant: String,
    },
}
