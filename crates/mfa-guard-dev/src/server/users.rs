//! The accounts of the sign-in page.

/// A user of the development sign-in page.
pub(crate) struct User {
    pub(crate) id: &'static str,
    pub(crate) label: &'static str,
    pub(crate) oid: &'static str,
    pub(crate) upn: &'static str,
    pub(crate) roles: &'static [&'static str],
    /// What "password + MFA" gives: `mfa`, or an MFA the platform does not know.
    pub(crate) mfa_amr: &'static str,
}

pub(crate) const USERS: &[User] = &[
    User {
        id: "admin",
        label: "Adele Vance — admin agent",
        oid: "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
        upn: "adminagent@dev.example",
        roles: &["AdminAgent"],
        mfa_amr: "mfa",
    },
    User {
        id: "sales",
        label: "Sam Lee — sales agent",
        oid: "aaaaaaaa-0000-1111-2222-cccccccccccc",
        upn: "salesagent@dev.example",
        roles: &["SalesAgent"],
        mfa_amr: "mfa",
    },
    User {
        id: "incompatible",
        label: "Ivan Petrov — admin agent whose MFA provider is not recognised",
        oid: "aaaaaaaa-0000-1111-2222-dddddddddddd",
        upn: "incompatible.mfa@dev.example",
        roles: &["AdminAgent"],
        mfa_amr: "otp",
    },
];
