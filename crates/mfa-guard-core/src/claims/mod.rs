//! The access-token claims model.
//!
//! Tolerant where real tokens vary: `aud` is a string or an array, `amr`, `roles`,
//! `wids`, `groups`, `acrs` and `xms_cc` are arrays or a single string read as a
//! one-element list, `scp` is a space-delimited string (Entra) or an array (Okta),
//! NumericDates are integers or floats. Strict where security needs it: a known claim
//! of the wrong type (`aud: 5`, `amr: [["mfa"]]`, `exp: "tomorrow"`, `null`), or any
//! claim that appears twice, makes the whole token invalid rather than being skipped,
//! so that two parsers can never read one token two ways. Unknown claims are kept, in
//! [`Claims::extra`], for custom checks.

mod caller;
mod de;

pub use caller::{CallerKind, KindRule};
pub(crate) use de::parse_claims;

/// Why a token payload is not a set of claims the guard can read: a description
/// without token material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidClaims(std::borrow::Cow<'static, str>);

use serde_json::{Map, Value};

use crate::time::NumericDate;

/// The claims of a verified access token.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Claims {
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) aud: Vec<String>,
    pub(crate) exp: Option<NumericDate>,
    pub(crate) nbf: Option<NumericDate>,
    pub(crate) iat: Option<NumericDate>,
    pub(crate) auth_time: Option<NumericDate>,
    pub(crate) oid: Option<String>,
    pub(crate) tid: Option<String>,
    pub(crate) upn: Option<String>,
    pub(crate) unique_name: Option<String>,
    pub(crate) preferred_username: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) appid: Option<String>,
    pub(crate) azp: Option<String>,
    pub(crate) idtyp: Option<String>,
    pub(crate) ver: Option<String>,
    pub(crate) acr: Option<String>,
    pub(crate) scp: Option<Vec<String>>,
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) wids: Option<Vec<String>>,
    pub(crate) groups: Option<Vec<String>>,
    pub(crate) amr: Option<Vec<String>>,
    pub(crate) acrs: Option<Vec<String>>,
    pub(crate) xms_cc: Option<Vec<String>>,
    pub(crate) groups_overage: bool,
    pub(crate) extra: Map<String, Value>,
}

macro_rules! str_accessors {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Option<&str> {
            self.$name.as_deref()
        }
    )*};
}

macro_rules! list_accessors {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(&self) -> Option<&[String]> {
            self.$name.as_deref()
        }
    )*};
}

impl Claims {
    /// Reads a token payload (the JSON, already base64url-decoded) with the guard's
    /// rules: strict types for known claims, duplicate names refused, unknown claims
    /// kept. The error is a description without token material.
    pub fn from_json(json: &[u8]) -> Result<Claims, InvalidClaims> {
        parse_claims(json).map_err(InvalidClaims)
    }

    str_accessors! {
        /// `iss`: the issuer.
        iss;
        /// `sub`: the subject.
        sub;
        /// `oid`: the object id of the caller (user or service principal) in Entra ID.
        oid;
        /// `tid`: the tenant id.
        tid;
        /// `upn`: the user principal name (v1 user tokens).
        upn;
        /// `unique_name`: the v1 display login name.
        unique_name;
        /// `preferred_username`: the v2 login name.
        preferred_username;
        /// `name`: the display name.
        name;
        /// `appid`: the client application id (v1).
        appid;
        /// `azp`: the authorized party, i.e. client application id (v2).
        azp;
        /// `idtyp`: Entra's optional caller type, `app` or `user`.
        idtyp;
        /// `ver`: the token version (`1.0` or `2.0` for Entra ID).
        ver;
        /// `acr`: the authentication context class reference.
        acr;
    }

    list_accessors! {
        /// `scp`: delegated scopes, split on spaces.
        scp;
        /// `roles`: app roles assigned to the caller.
        roles;
        /// `wids`: directory role template ids of the user.
        wids;
        /// `groups`: group object ids of the user.
        groups;
        /// `amr`: authentication methods used (contains `mfa` after multi-factor sign-in).
        amr;
        /// `acrs`: authentication context ids satisfied.
        acrs;
        /// `xms_cc`: client capabilities (`cp1` means the client handles claims challenges).
        xms_cc;
    }

    /// `aud`: the audiences (a single string is read as a one-element list).
    pub fn aud(&self) -> &[String] {
        &self.aud
    }

    /// `exp`: expiry.
    pub fn exp(&self) -> Option<NumericDate> {
        self.exp
    }

    /// `nbf`: not before.
    pub fn nbf(&self) -> Option<NumericDate> {
        self.nbf
    }

    /// `iat`: issued at.
    pub fn iat(&self) -> Option<NumericDate> {
        self.iat
    }

    /// `auth_time`: when the user authenticated.
    pub fn auth_time(&self) -> Option<NumericDate> {
        self.auth_time
    }

    /// Whether group membership did not fit in the token (Entra's "groups overage":
    /// `_claim_names` names `groups`, or `hasgroups` is true). Group-based roles are
    /// then unknown and fail closed.
    pub fn groups_overage(&self) -> bool {
        self.groups_overage
    }

    /// Claims this model does not name, kept as JSON for custom checks.
    pub fn extra(&self) -> &Map<String, Value> {
        &self.extra
    }

    /// Any claim by name, known or not, as JSON.
    ///
    /// Known claims are returned in their normalised form (`aud` as an array, `scp`
    /// as an array of scopes).
    pub fn get(&self, name: &str) -> Option<Value> {
        fn s(v: &Option<String>) -> Option<Value> {
            v.as_ref().map(|s| Value::String(s.clone()))
        }
        fn l(v: &Option<Vec<String>>) -> Option<Value> {
            v.as_ref().map(|l| Value::Array(l.iter().cloned().map(Value::String).collect()))
        }
        fn d(v: Option<NumericDate>) -> Option<Value> {
            v.map(|d| Value::from(d.unix()))
        }
        match name {
            "iss" => s(&self.iss),
            "sub" => s(&self.sub),
            "aud" => (!self.aud.is_empty()).then(|| l(&Some(self.aud.clone()))).flatten(),
            "exp" => d(self.exp),
            "nbf" => d(self.nbf),
            "iat" => d(self.iat),
            "auth_time" => d(self.auth_time),
            "oid" => s(&self.oid),
            "tid" => s(&self.tid),
            "upn" => s(&self.upn),
            "unique_name" => s(&self.unique_name),
            "preferred_username" => s(&self.preferred_username),
            "name" => s(&self.name),
            "appid" => s(&self.appid),
            "azp" => s(&self.azp),
            "idtyp" => s(&self.idtyp),
            "ver" => s(&self.ver),
            "acr" => s(&self.acr),
            "scp" => l(&self.scp),
            "roles" => l(&self.roles),
            "wids" => l(&self.wids),
            "groups" => l(&self.groups),
            "amr" => l(&self.amr),
            "acrs" => l(&self.acrs),
            "xms_cc" => l(&self.xms_cc),
            other => self.extra.get(other).cloned(),
        }
    }

    /// The client application: `appid` (v1) or `azp` (v2).
    pub fn client_id(&self) -> Option<&str> {
        self.appid().or(self.azp())
    }
}

#[cfg(test)]
mod tests;
