use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn reject(challenges: &Challenges, code: RejectionCode, detail: &'static str) -> Rejection {
    challenges.reject(Refusal::new(code, detail), false)
}

fn body_code(r: &Rejection) -> String {
    let body: serde_json::Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(body["status"], r.status());
    assert!(body["title"].is_string());
    assert!(body["type"].as_str().unwrap().starts_with("urn:mfa-guard:problem:"));
    body["code"].as_str().unwrap().to_owned()
}

#[test]
fn missing_token_is_401_with_a_bare_bearer_challenge() {
    let r = reject(&Challenges::default(), RejectionCode::MissingToken, "no token");
    assert_eq!((r.status(), r.reason_phrase()), (401, None));
    assert_eq!(r.www_authenticate(), Some("Bearer"));
    assert_eq!(body_code(&r), "missing_token");
}

#[test]
fn missing_token_carries_the_realm_when_configured() {
    let c = Challenges { realm: Some("partner".into()), ..Challenges::default() };
    let r = reject(&c, RejectionCode::MissingToken, "no token");
    assert_eq!(r.www_authenticate(), Some(r#"Bearer realm="partner""#));
}

#[test]
fn invalid_token_is_401_with_error_and_description() {
    let r = reject(&Challenges::default(), RejectionCode::InvalidToken, "the token has expired");
    assert_eq!((r.status(), r.reason_phrase()), (401, None));
    assert_eq!(
        r.www_authenticate(),
        Some(r#"Bearer error="invalid_token", error_description="the token has expired""#)
    );
    assert_eq!(body_code(&r), "invalid_token");
}

#[test]
fn mfa_required_is_partner_centers_exact_answer() {
    let c = Challenges { realm: Some("ignored-for-this-row".into()), ..Challenges::default() };
    let r = reject(&c, RejectionCode::MfaRequired, "needs mfa");
    assert_eq!(r.status(), 401);
    assert_eq!(r.reason_phrase(), Some("Unauthorized - MFA required"));
    assert_eq!(r.www_authenticate(), Some(r#"Bearer error="invalid_token""#));
    assert_eq!(body_code(&r), "mfa_required");
}

#[test]
fn app_only_role_and_overage_refusals_are_403_insufficient_scope() {
    for (code, name) in [
        (RejectionCode::AppOnlyNotAllowed, "app_only_not_allowed"),
        (RejectionCode::InsufficientRole, "insufficient_role"),
        (RejectionCode::GroupsOverage, "groups_overage"),
    ] {
        let r = reject(&Challenges::default(), code, "no");
        assert_eq!((r.status(), r.reason_phrase()), (403, None));
        assert_eq!(r.www_authenticate(), Some(r#"Bearer error="insufficient_scope""#));
        assert_eq!(body_code(&r), name);
    }
}

#[test]
fn invalid_request_is_400() {
    let r = reject(&Challenges::default(), RejectionCode::InvalidRequest, "two headers");
    assert_eq!((r.status(), r.reason_phrase()), (400, None));
    assert_eq!(r.www_authenticate(), Some(r#"Bearer error="invalid_request""#));
    assert_eq!(body_code(&r), "invalid_request");
}

#[test]
fn key_source_unavailable_is_503_with_retry_after_and_no_challenge() {
    let r = Challenges::default()
        .reject(Refusal::new(RejectionCode::KeySourceUnavailable, "down").retry_after(7), false);
    assert_eq!((r.status(), r.reason_phrase()), (503, None));
    assert_eq!(r.www_authenticate(), None);
    assert_eq!(r.retry_after(), Some(7));
    assert_eq!(body_code(&r), "key_source_unavailable");
    let headers: Vec<_> = r.headers().map(|(k, v)| (k, v.into_owned())).collect();
    assert_eq!(headers, [("content-type", "application/problem+json".into()), ("retry-after", "7".into())]);
}

#[test]
fn step_up_style_changes_only_the_mfa_row() {
    let c = Challenges {
        style: ChallengeStyle::StepUp,
        acr_values: Some("c1 mfa".into()),
        max_age: Some(3600),
        ..Challenges::default()
    };
    let r = reject(&c, RejectionCode::MfaRequired, "needs mfa");
    assert_eq!((r.status(), r.reason_phrase()), (401, None));
    assert_eq!(
        r.www_authenticate(),
        Some(
            r#"Bearer error="insufficient_user_authentication", error_description="needs mfa", acr_values="c1 mfa", max_age="3600""#
        )
    );
    assert_eq!(body_code(&r), "mfa_required");
    let other = reject(&c, RejectionCode::InvalidToken, "x");
    assert_eq!(other.www_authenticate(), Some(r#"Bearer error="invalid_token", error_description="x""#));
}

#[test]
fn entra_claims_style_challenges_only_cp1_clients() {
    let c = Challenges {
        style: ChallengeStyle::EntraClaims,
        authorization_uri: Some("https://login.microsoftonline.com/common/oauth2/authorize".into()),
        claims: Some(Challenges::entra_claims_for("c1")),
        ..Challenges::default()
    };
    let capable = c.reject(Refusal::new(RejectionCode::MfaRequired, "needs mfa"), true);
    assert_eq!((capable.status(), capable.reason_phrase()), (401, None));
    let expected_claims =
        URL_SAFE_NO_PAD.encode(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#);
    assert_eq!(
        capable.www_authenticate().unwrap(),
        format!(
            r#"Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="{expected_claims}""#
        )
    );
    let legacy = c.reject(Refusal::new(RejectionCode::MfaRequired, "needs mfa"), false);
    assert_eq!(legacy.reason_phrase(), Some(MFA_REQUIRED_REASON));
    assert_eq!(legacy.www_authenticate(), Some(r#"Bearer error="invalid_token""#));
}

#[test]
fn descriptions_from_untrusted_text_are_sanitized_before_rendering() {
    let r = Challenges::default()
        .reject(Refusal::new(RejectionCode::InvalidToken, "bad \"kid\" \\ \u{7}".to_owned()), false);
    assert_eq!(
        r.www_authenticate(),
        Some(r#"Bearer error="invalid_token", error_description="bad 'kid' / ?""#)
    );
}

#[test]
fn every_code_has_the_documented_status() {
    let statuses: Vec<_> = RejectionCode::ALL.iter().map(|c| (c.as_str(), c.status())).collect();
    assert_eq!(
        statuses,
        [
            ("missing_token", 401),
            ("invalid_request", 400),
            ("invalid_token", 401),
            ("mfa_required", 401),
            ("app_only_not_allowed", 403),
            ("insufficient_role", 403),
            ("groups_overage", 403),
            ("claim_check_failed", 403),
            ("key_source_unavailable", 503),
        ]
    );
}

#[test]
fn rejection_debug_shows_no_body_or_headers() {
    let r = reject(&Challenges::default(), RejectionCode::InvalidToken, "x");
    assert_eq!(format!("{r:?}"), r#"Rejection { code: InvalidToken, status: 401, detail: "x" }"#);
}

#[test]
fn a_grpc_refusal_is_a_trailers_only_200_with_the_same_challenge_and_code() {
    let challenges = Challenges::default();
    let mfa = challenges.reject(Refusal::new(RejectionCode::MfaRequired, "needs mfa"), false).for_grpc();
    assert_eq!((mfa.status(), mfa.response_status(), mfa.grpc_status()), (401, 200, 16));
    assert_eq!(mfa.reason_phrase(), None);
    assert!(mfa.body().is_empty());
    let headers: Vec<(String, String)> = mfa.headers().map(|(n, v)| (n.to_owned(), v.into_owned())).collect();
    assert_eq!(
        headers,
        [
            ("content-type", "application/grpc"),
            ("grpc-status", "16"),
            ("grpc-message", "Unauthorized - MFA required"),
            ("mfa-guard-code", "mfa_required"),
            ("www-authenticate", r#"Bearer error="invalid_token""#),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
    let codes = [
        (RejectionCode::InvalidRequest, 3),
        (RejectionCode::MissingToken, 16),
        (RejectionCode::InvalidToken, 16),
        (RejectionCode::AppOnlyNotAllowed, 7),
        (RejectionCode::InsufficientRole, 7),
        (RejectionCode::KeySourceUnavailable, 14),
    ];
    for (code, grpc) in codes {
        let r = challenges.reject(Refusal::new(code, "100% sure"), false).for_grpc();
        assert_eq!(r.grpc_status(), grpc, "{code}");
        if code != RejectionCode::MfaRequired {
            let message = r.headers().find(|(n, _)| *n == "grpc-message").map(|(_, v)| v.into_owned());
            assert_eq!(message.as_deref(), Some("100%25 sure"), "grpc-message is percent-encoded");
        }
    }
}

#[test]
fn a_grpc_request_is_recognised_by_its_content_type_only() {
    use crate::RequestInfo;
    for (value, grpc) in [
        (&b"application/grpc"[..], true),
        (b"application/grpc+proto", true),
        (b"Application/GRPC", true),
        (b"application/grpc-web", false),
        (b"application/json", false),
        (b"application/grpcx", false),
    ] {
        assert_eq!(
            RequestInfo::new("POST", "/x").with_content_type(Some(value)).is_grpc(),
            grpc,
            "{value:?}"
        );
    }
    assert!(!RequestInfo::new("POST", "/x").is_grpc());
}
