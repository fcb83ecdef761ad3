use super::*;

#[test]
fn return_paths_stay_on_this_origin() {
    for good in ["/", "/commerce/customers", "/a?b=c&d=%2F", "/x/%2Fy"] {
        assert_eq!(safe_return_to(good), Some(good), "{good}");
    }
    for evil in [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2Fevil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/%5cevil.example",
        "evil.example",
        "",
        "/a b",
        "/a\nb",
        "/\u{e9}",
        "/%ff",
    ] {
        assert_eq!(safe_return_to(evil), None, "{evil:?}");
    }
    assert_eq!(safe_return_to(&format!("/{}", "a".repeat(MAX_RETURN_TO))), None);
}

#[test]
fn navigations_are_told_from_api_calls() {
    let nav = |method, mode: Option<&'static [u8]>, accept: Option<&'static [u8]>| {
        is_navigation(&RequestInfo::new(method, "/").with_navigation_headers(mode, accept))
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
    assert!(!is_navigation(&with_token), "a bearer token makes it an API call");
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
    let generic = StepUp::Generic { acr_values: Some("urn:mfa".into()) }.parameters();
    let names: Vec<_> = generic.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["prompt", "max_age", "claims", "acr_values"]);
    assert!(generic[2].1.contains("\"amr\"") && generic[2].1.contains("mfa"));
    let entra = StepUp::Entra { auth_context: "c1".into() }.parameters();
    assert_eq!(entra[0].0, "claims");
    assert!(entra[0].1.contains("\"acrs\"") && entra[0].1.contains("\"c1\""));
}
