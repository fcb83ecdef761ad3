//! Expected issuers: exact, or templated with `{tenantid}` as Microsoft.Identity.Web
//! does for multi-tenant apps.
//!
//! A template is matched by substituting the token's `tid` claim, which must be a
//! GUID, and comparing the result with `iss` exactly. Checking the GUID shape first
//! is what stops template injection: a `tid` of `x/` or `{tenantid}` could otherwise
//! make a foreign issuer string line up with the template.

use std::fmt;

use crate::error::InvalidIssuer;

const PLACEHOLDER: &str = "{tenantid}";

/// An expected issuer: an exact string or a `{tenantid}` template.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct IssuerPattern {
    raw: String,
    /// Byte offset of the placeholder, for templates.
    placeholder: Option<usize>,
}

/// How a token's `iss` relates to a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IssuerMatch {
    /// The token was issued by this issuer.
    Yes,
    /// Another issuer.
    No,
    /// The token's `iss` has this template's shape, but `tid` is absent or not a GUID.
    BadTenant,
}

impl IssuerPattern {
    /// Parses an expected issuer; `{tenantid}` may appear at most once.
    pub(crate) fn new(issuer: &str) -> Result<Self, InvalidIssuer> {
        if issuer.is_empty() {
            return Err(InvalidIssuer::Empty);
        }
        if !issuer.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(InvalidIssuer::NotVisibleAscii { issuer: issuer.to_owned() });
        }
        let placeholder = issuer.find(PLACEHOLDER);
        if let Some(at) = placeholder
            && issuer[at + PLACEHOLDER.len()..].contains(PLACEHOLDER)
        {
            return Err(InvalidIssuer::PlaceholderTwice { issuer: issuer.to_owned() });
        }
        if issuer.replace(PLACEHOLDER, "").contains(['{', '}']) {
            return Err(InvalidIssuer::OtherPlaceholder { issuer: issuer.to_owned() });
        }
        Ok(Self { raw: issuer.to_owned(), placeholder })
    }

    /// The pattern as configured.
    pub(crate) fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the pattern holds `{tenantid}`.
    pub(crate) fn is_template(&self) -> bool {
        self.placeholder.is_some()
    }

    /// A template's text before and after the placeholder; `None` for an exact issuer.
    pub(crate) fn template_parts(&self) -> Option<(&str, &str)> {
        let at = self.placeholder?;
        Some((&self.raw[..at], &self.raw[at + PLACEHOLDER.len()..]))
    }

    pub(crate) fn matches(&self, iss: &str, tid: Option<&str>) -> IssuerMatch {
        let Some(at) = self.placeholder else {
            return if iss == self.raw { IssuerMatch::Yes } else { IssuerMatch::No };
        };
        let prefix = &self.raw[..at];
        let suffix = &self.raw[at + PLACEHOLDER.len()..];
        if iss.len() < prefix.len() + suffix.len() || !iss.starts_with(prefix) || !iss.ends_with(suffix) {
            return IssuerMatch::No;
        }
        match tid {
            Some(tid) if is_guid(tid) => {
                // Same as comparing `for_tenant(tid)` with `iss`, without allocating.
                if &iss[prefix.len()..iss.len() - suffix.len()] == tid {
                    IssuerMatch::Yes
                } else {
                    IssuerMatch::No
                }
            }
            _ => IssuerMatch::BadTenant,
        }
    }
}

impl fmt::Debug for IssuerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.raw, f)
    }
}

impl fmt::Display for IssuerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits in either case.
pub(crate) fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

    #[test]
    fn exact_issuers_compare_exactly() {
        let p = IssuerPattern::new("https://issuer.example/").unwrap();
        assert_eq!(p.matches("https://issuer.example/", None), IssuerMatch::Yes);
        assert_eq!(p.matches("https://issuer.example", None), IssuerMatch::No);
        assert_eq!(p.matches("HTTPS://issuer.example/", None), IssuerMatch::No);
    }

    #[test]
    fn templates_substitute_a_guid_tid_then_compare_exactly() {
        let p = IssuerPattern::new("https://sts.windows.net/{tenantid}/").unwrap();
        let iss = format!("https://sts.windows.net/{TID}/");
        assert_eq!(p.matches(&iss, Some(TID)), IssuerMatch::Yes);
        let other = "aaaabbbb-0000-cccc-1111-dddd2222ffff";
        assert_eq!(p.matches(&iss, Some(other)), IssuerMatch::No);
        assert_eq!(p.matches("https://evil.example/", Some(TID)), IssuerMatch::No);
    }

    #[test]
    fn template_injection_through_tid_is_refused() {
        let p = IssuerPattern::new("https://sts.windows.net/{tenantid}/").unwrap();
        for tid in ["evil.example/x", "{tenantid}", "not-a-guid", "", "aaaabbbb-0000-cccc-1111-dddd2222eeee/"]
        {
            let iss = format!("https://sts.windows.net/{tid}/");
            assert_eq!(p.matches(&iss, Some(tid)), IssuerMatch::BadTenant, "{tid:?}");
        }
        assert_eq!(p.matches(&format!("https://sts.windows.net/{TID}/"), None), IssuerMatch::BadTenant);
    }

    #[test]
    fn v2_template_matches() {
        let p = IssuerPattern::new("https://login.microsoftonline.com/{tenantid}/v2.0").unwrap();
        assert_eq!(
            p.matches(&format!("https://login.microsoftonline.com/{TID}/v2.0"), Some(TID)),
            IssuerMatch::Yes
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(IssuerPattern::new("").is_err());
        assert!(IssuerPattern::new("https://a/{tenantid}/{tenantid}").is_err());
        assert!(IssuerPattern::new("https://a/{tenant}/").is_err());
        assert!(IssuerPattern::new("https://a b/").is_err());
    }

    #[test]
    fn guid_shape() {
        assert!(is_guid(TID));
        assert!(is_guid("AAAABBBB-0000-CCCC-1111-DDDD2222EEEE"));
        assert!(!is_guid("aaaabbbb00000cccc-1111-dddd2222eeee"));
        assert!(!is_guid("gaaabbbb-0000-cccc-1111-dddd2222eeee"));
    }
}
