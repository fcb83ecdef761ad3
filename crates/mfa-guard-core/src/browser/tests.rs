use super::*;
use crate::request::RequestInfo;

#[test]
fn navigations_are_told_from_api_calls() {
    let nav = |method, mode: Option<&'static [u8]>, accept: Option<&'static [u8]>| {
        RequestInfo::new(method, "/").with_navigation_headers(mode, accept).is_navigation()
    };
    assert!(nav("GET", Some(b"navigate"), None));
    assert!(nav("HEAD", Some(b"navigate"), Some(b"*/*")));
    assert!(nav("GET", None, Some(b"text/html,application/xhtml+xml")));
    assert!(!nav("GET", Some(b"cors"), Some(b"text/html")), "fetch metadata wins over Accept");
    assert!(!nav("GET", Some(b"no-cors"), None));
    assert!(!nav("GET", None, Some(b"application/json")));
    assert!(!nav("GET", None, None));
    assert!(!nav("POST", Some(b"navigate"), Some(b"text/html")));
    let with_token = RequestInfo::new("GET", "/")
        .with_navigation_headers(Some(b"navigate"), None)
        .with_authorization(b"Bearer x");
    assert!(!with_token.is_navigation(), "a bearer token makes it an API call");
}

#[test]
fn callback_queries_are_read_with_limits() {
    let q = Callback::parse(Some("code=a%2Bb&state=s+t&error_description=x%20y&other=1"));
    assert_eq!(q.code.as_deref(), Some("a+b"));
    assert_eq!(q.state.as_deref(), Some("s t"));
    assert_eq!(q.error_description.as_deref(), Some("x y"));
    let twice = Callback::parse(Some("state=a&state=b"));
    assert_eq!(twice.state.as_deref(), Some(""), "a repeated parameter is no reading");
    assert!(Callback::parse(Some(&"a".repeat(MAX_CALLBACK_QUERY + 1))).code.is_none());
}

#[test]
fn step_up_profiles_ask_for_mfa() {
    let generic = StepUp::Generic { acr_values: Some("urn:mfa".into()) }.parameters(0);
    let names: Vec<_> = generic.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["prompt", "max_age", "claims", "acr_values"]);
    assert_eq!(generic[1].1, "0");
    assert_eq!(StepUp::Generic { acr_values: None }.parameters(300)[1], ("max_age", "300".to_owned()));
    assert!(generic[2].1.contains("\"amr\"") && generic[2].1.contains("mfa"));
    let entra = StepUp::Entra { auth_context: "c1".into() }.parameters(0);
    assert_eq!(entra[0].0, "claims");
    assert!(entra[0].1.contains("\"acrs\"") && entra[0].1.contains("\"c1\""));
}

#[test]
fn origins_are_serialised_as_browsers_send_them() {
    assert_eq!(origin_of("https://App.Example/auth/callback").as_deref(), Some("https://app.example"));
    assert_eq!(origin_of("https://app.example:443/cb").as_deref(), Some("https://app.example"));
    assert_eq!(origin_of("http://127.0.0.1:3000/cb").as_deref(), Some("http://127.0.0.1:3000"));
    assert_eq!(origin_of("https://user:pw@app.example:8443/").as_deref(), Some("https://app.example:8443"));
    assert_eq!(origin_of("https://[::1]:8443/").as_deref(), Some("https://[::1]:8443"));
    for bad in ["/auth/callback", "ftp://x.example/", "not a url", ""] {
        assert_eq!(origin_of(bad), None, "{bad:?}");
    }
}
