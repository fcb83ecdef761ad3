//! The guard every adapter is tested with, and the tokens of the case table.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mfa_guard_core::policy::wids;
use mfa_guard_core::{
    AssuranceLevel, Challenge, ChallengeStyle, Clock, Guard, GuardBuilder, KeySource, ManualClock, Policy,
    RemoteOptions, Requirement, Role, RoleMap, RoleMatcher, Rule,
};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use serde_json::{Value, json};

/// The issuer of the fixture's tokens (Entra v1 template).
pub const ISSUER: &str = "https://sts.windows.net/{tenantid}/";
/// An issuer whose key source is down (connection refused).
pub const DOWN_ISSUER: &str = "https://down.example/";
/// The longest token lifetime (`exp - iat`) the fixture guard accepts.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// A group whose members are Admin agents (to exercise the groups overage).
pub const ADMIN_GROUP: &str = "0e9f5d2c-1111-4444-8888-123456789abc";

/// The development issuer shared by every test of the process.
pub fn issuer() -> &'static Arc<DevIssuer> {
    static I: OnceLock<Arc<DevIssuer>> = OnceLock::new();
    I.get_or_init(|| Arc::new(DevIssuer::generate(ISSUER).expect("RSA key generation")))
}

/// How the MFA refusal is phrased, as the three configurations of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Partner Center's answer (the default).
    PartnerCenter,
    /// RFC 9470 step-up, `acr_values="c1"`.
    StepUp,
    /// Microsoft's claims challenge for `cp1` clients, auth context `c1`.
    EntraClaims,
    /// A rollout: `/commerce/*` report-only, `/billing/*` enforced from
    /// [`ENFORCE_AFTER`] seconds after the guard's clock started, the compliance
    /// header [`COMPLIANCE_HEADER`] on.
    Rollout,
    /// Per-route assurance: a `phishing-resistant` level (`acrs` ∋ `c2`); the
    /// Security workspace asks it within an hour with Entra's claims challenge for
    /// `c2`; Billing asks any MFA within ten minutes with an RFC 9470 step-up for
    /// `c1`; GDAP asks the strong level with Partner Center's answer; Customers is
    /// the preset's.
    Assurance,
}

impl Style {
    /// Every configuration of the suite: each suite that runs the table runs all.
    pub const ALL: [Style; 5] =
        [Style::PartnerCenter, Style::StepUp, Style::EntraClaims, Style::Rollout, Style::Assurance];
}

/// The compliance header of the rollout configuration.
pub const COMPLIANCE_HEADER: &str = "mfa-compliance";
/// When `/billing/*` becomes enforced in the rollout configuration.
pub const ENFORCE_AFTER: i64 = 600;

/// An address on loopback where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/keys")
}

/// The guard under test: the Partner Center preset, Admin agents also granted by
/// [`ADMIN_GROUP`], the development issuer admitting [`DEV_TENANT`] only,
/// [`DOWN_ISSUER`] whose keys cannot be fetched, and tokens living at most
/// [`MAX_TOKEN_LIFETIME`].
pub fn guard(style: Style) -> Guard {
    guard_with_clock(style, ManualClock::new(now()))
}

/// [`guard`] reading time from `clock` (the rollout's enforcement date is
/// [`ENFORCE_AFTER`] seconds after the clock's time now).
pub fn guard_with_clock(style: Style, clock: ManualClock) -> Guard {
    guard_builder_with_clock(style, clock).build().expect("the fixture guard builds")
}

/// [`guard`]'s builder, for suites that add a setting of their own.
pub fn guard_builder(style: Style) -> GuardBuilder {
    guard_builder_with_clock(style, ManualClock::new(now()))
}

fn guard_builder_with_clock(style: Style, clock: ManualClock) -> GuardBuilder {
    let map = RoleMap::partner_center().grant(Role::AdminAgent, RoleMatcher::Group(ADMIN_GROUP.into()));
    let down = RemoteOptions::new()
        .timeout(Duration::from_secs(2))
        .backoff(Duration::from_secs(30), Duration::from_secs(60));
    let mut b = Guard::builder()
        .verifier(|v| {
            v.issuer(ISSUER)
                .keys(issuer().key_source().expect("dev keys"))
                .issuer(DOWN_ISSUER)
                .keys(KeySource::jwks_url_with(closed_port_url(), down))
                .audience(DEV_AUDIENCE)
                .tenants([DEV_TENANT])
                .max_token_lifetime(MAX_TOKEN_LIFETIME)
                .clock(clock.clone())
        })
        .policy(Policy::partner_center().role_map(map));
    b = match style {
        Style::PartnerCenter => b,
        Style::StepUp => b.challenge_style(ChallengeStyle::StepUp).step_up_acr_values("c1"),
        Style::EntraClaims => b
            .challenge_style(ChallengeStyle::EntraClaims)
            .entra_claims("https://login.microsoftonline.com/common/oauth2/authorize", "c1"),
        Style::Rollout => {
            let map =
                RoleMap::partner_center().grant(Role::AdminAgent, RoleMatcher::Group(ADMIN_GROUP.into()));
            let agents = [Role::AdminAgent, Role::SalesAgent, Role::HelpdeskAgent];
            let billing = [Role::AdminAgent, Role::SecurityAdmin, Role::BillingAdmin];
            let policy = Policy::partner_center()
                .role_map(map)
                .rule(
                    Rule::new("/commerce/*", Requirement::mfa().any_role(agents).report_only())
                        .name("customers"),
                )
                .rule(
                    Rule::new(
                        "/billing/*",
                        Requirement::mfa().any_role(billing).enforce_from(clock.now_unix() + ENFORCE_AFTER),
                    )
                    .name("billing"),
                );
            b.policy(policy).compliance_header(COMPLIANCE_HEADER)
        }
        Style::Assurance => {
            let map =
                RoleMap::partner_center().grant(Role::AdminAgent, RoleMatcher::Group(ADMIN_GROUP.into()));
            let policy = Policy::partner_center()
                .role_map(map)
                .assurance_level(AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]))
                .route(
                    "/security/*",
                    Requirement::mfa()
                        .any_role([Role::AdminAgent, Role::SecurityAdmin])
                        .assurance("phishing-resistant")
                        .max_age(Duration::from_secs(3600))
                        .challenge(Challenge::EntraClaims { auth_context: Some("c2".into()) }),
                )
                .route(
                    "/billing/*",
                    Requirement::mfa()
                        .any_role([Role::AdminAgent, Role::SecurityAdmin, Role::BillingAdmin])
                        .max_age(Duration::from_secs(600))
                        .challenge(Challenge::StepUp { acr_values: Some("c1".into()) }),
                )
                .route(
                    "/v1/customers/*",
                    Requirement::mfa()
                        .any_role([Role::AdminAgent])
                        .assurance("phishing-resistant")
                        .challenge(Challenge::PartnerCenter),
                );
            b.policy(policy)
        }
    };
    b
}

/// The tokens of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tok {
    /// Admin agent, MFA.
    AdminMfa,
    /// Admin agent, no MFA.
    AdminNoMfa,
    /// Admin agent, v2 token without `amr`.
    AdminNoAmr,
    /// Sales agent, MFA.
    SalesMfa,
    /// Helpdesk agent, MFA.
    HelpdeskMfa,
    /// Security administrator (wids), MFA.
    SecurityAdminMfa,
    /// Billing administrator (wids), MFA.
    BillingAdminMfa,
    /// A user with MFA and no role.
    NoRoleMfa,
    /// A user whose groups did not fit in the token, MFA.
    OverageMfa,
    /// A `cp1`-capable client's user, no MFA.
    Cp1NoMfa,
    /// App-only by `idtyp`.
    App,
    /// App-only by roles with `oid == sub`.
    AppByRoles,
    /// Expired an hour ago.
    Expired,
    /// Valid only from tomorrow.
    NotYetValid,
    /// For another audience.
    WrongAudience,
    /// From another issuer.
    WrongIssuer,
    /// The signature altered.
    BadSignature,
    /// Signed under a kid the issuer does not publish.
    UnknownKid,
    /// Neither `scp` nor `roles`.
    NoScopesNoRoles,
    /// `alg: none`.
    AlgNone,
    /// HS256 with the public JWKS as secret.
    Hs256,
    /// Not a JWT.
    Garbage,
    /// A `tid` that is not a GUID.
    NonGuidTid,
    /// From [`DOWN_ISSUER`].
    DownIssuer,
    /// Admin agent, MFA a minute ago.
    MfaRecent,
    /// Admin agent, MFA two hours ago.
    MfaOld,
    /// Admin agent, phishing-resistant MFA (`acrs` ∋ `c2`) a minute ago.
    StrongRecent,
    /// Admin agent, phishing-resistant MFA two hours ago, no `mfa` in `amr`.
    StrongOld,
    /// A `cp1`-capable client's Admin agent, MFA (not phishing-resistant) a minute ago.
    Cp1MfaRecent,
}

impl Tok {
    /// Mints the token.
    pub fn mint(self) -> String {
        let i = issuer();
        let sign = |spec: mfa_guard_dev::TokenSpec<'_>| spec.sign().expect("sign");
        match self {
            Tok::AdminMfa => sign(i.user()),
            Tok::AdminNoMfa => sign(i.user().mfa(false)),
            Tok::AdminNoAmr => sign(i.user().claim("amr", Value::Null).claim("ver", json!("2.0"))),
            Tok::SalesMfa => sign(i.user().roles(["SalesAgent"])),
            Tok::HelpdeskMfa => sign(i.user().roles(["HelpdeskAgent"])),
            Tok::SecurityAdminMfa => sign(i.user().security_admin()),
            Tok::BillingAdminMfa => {
                sign(i.user().roles(Vec::<String>::new()).wids([wids::BILLING_ADMINISTRATOR]))
            }
            Tok::NoRoleMfa => sign(i.user().roles(Vec::<String>::new())),
            Tok::OverageMfa => sign(
                i.user().roles(Vec::<String>::new()).claim("_claim_names", json!({"groups": "src1"})).claim(
                    "_claim_sources",
                    json!({"src1": {"endpoint": "https://graph.microsoft.com/v1.0/x"}}),
                ),
            ),
            Tok::Cp1NoMfa => sign(i.user().mfa(false).claim("xms_cc", json!(["cp1"]))),
            Tok::App => sign(i.app()),
            Tok::AppByRoles => sign(i.app().claim("idtyp", Value::Null)),
            Tok::Expired => {
                sign(i.user().claim("exp", json!(now() - 3600)).claim("nbf", json!(now() - 7200)))
            }
            Tok::NotYetValid => {
                sign(i.user().claim("nbf", json!(now() + 86_400)).claim("exp", json!(now() + 90_000)))
            }
            Tok::WrongAudience => sign(i.user().audience("https://graph.microsoft.com")),
            Tok::WrongIssuer => sign(i.user().claim("iss", json!("https://evil.example/"))),
            Tok::BadSignature => {
                let t = sign(i.user());
                let (rest, sig) = t.rsplit_once('.').expect("three parts");
                let flipped = if sig.starts_with('A') { "B" } else { "A" };
                format!("{rest}.{flipped}{}", &sig[1..])
            }
            Tok::UnknownKid => i
                .sign_with_header(&json!({"alg": "RS256", "kid": "unknown-kid"}), &i.user().claims())
                .expect("sign"),
            Tok::NoScopesNoRoles => sign(i.user().claim("scp", Value::Null).claim("roles", Value::Null)),
            Tok::AlgNone => {
                let b64 = |v: &Value| {
                    use base64::Engine as _;
                    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
                };
                format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&i.user().claims()))
            }
            Tok::Hs256 => jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                &i.user().claims(),
                &jsonwebtoken::EncodingKey::from_secret(i.jwks_json().as_bytes()),
            )
            .expect("sign"),
            Tok::Garbage => "this-is-not-a-jwt".to_owned(),
            Tok::NonGuidTid => sign(
                i.user()
                    .claim("tid", json!("evil.example"))
                    .claim("iss", json!("https://sts.windows.net/evil.example/")),
            ),
            Tok::DownIssuer => {
                sign(i.user().claim("iss", json!(DOWN_ISSUER)).claim("tid", json!(DEV_TENANT)))
            }
            Tok::MfaRecent => sign(i.user().claim("auth_time", json!(now() - 60))),
            Tok::MfaOld => sign(i.user().claim("auth_time", json!(now() - 7200))),
            Tok::StrongRecent => {
                sign(i.user().claim("acrs", json!(["c1", "c2"])).claim("auth_time", json!(now() - 60)))
            }
            Tok::StrongOld => sign(
                i.user()
                    .claim("amr", json!(["pwd"]))
                    .claim("acrs", json!(["c2"]))
                    .claim("auth_time", json!(now() - 7200)),
            ),
            Tok::Cp1MfaRecent => {
                sign(i.user().claim("xms_cc", json!(["cp1"])).claim("auth_time", json!(now() - 60)))
            }
        }
    }
}

fn now() -> i64 {
    mfa_guard_core::Clock::now_unix(&mfa_guard_core::SystemClock)
}
