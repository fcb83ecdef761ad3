//! The development issuer's OpenID Provider configuration: the one discovery
//! document every development server serves.

use serde_json::{Value, json};

use crate::DEV_SIGN_IN_PREFIX;
use crate::key::DevIssuer;

/// Where the discovery document is served, from the server's root.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";
/// Where the JWKS is served, from the server's root.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The discovery document of `issuer` served at `base` (`http://host:port`): its
/// JWKS, and the sign-in endpoints under [`DEV_SIGN_IN_PREFIX`] (an authorization
/// code flow with PKCE S256 for public clients, an end-session endpoint, and
/// back-channel logout with `sid`).
pub fn discovery(issuer: &DevIssuer, base: &str) -> Value {
    json!({
        "issuer": issuer.issuer(),
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "authorization_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/authorize"),
        "token_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/token"),
        "end_session_endpoint": format!("{base}{DEV_SIGN_IN_PREFIX}/sign-out"),
        // "Sign out at the provider" posts logout tokens naming the ID token's sid.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none"],
        "claims_parameter_supported": true,
        "scopes_supported": ["openid", "profile"],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_names_the_issuer_as_configured_and_endpoints_under_the_base() {
        let issuer = DevIssuer::generate("http://127.0.0.1:9/{tenantid}/").unwrap();
        let doc = discovery(&issuer, "http://127.0.0.1:9");
        assert_eq!(doc["issuer"], "http://127.0.0.1:9/{tenantid}/");
        assert_eq!(doc["jwks_uri"], "http://127.0.0.1:9/.well-known/jwks.json");
        assert_eq!(doc["authorization_endpoint"], "http://127.0.0.1:9/dev-idp/authorize");
        assert_eq!(doc["token_endpoint"], "http://127.0.0.1:9/dev-idp/token");
        assert_eq!(doc["end_session_endpoint"], "http://127.0.0.1:9/dev-idp/sign-out");
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["backchannel_logout_supported"], json!(true));
        assert_eq!(doc["backchannel_logout_session_supported"], json!(true));
    }
}
