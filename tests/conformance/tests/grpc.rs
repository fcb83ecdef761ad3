//! A real gRPC service (tonic-health's `grpc.health.v1.Health`) behind `MfaLayer`,
//! called by a tonic client over HTTP/2: each refusal arrives as the gRPC status a
//! gRPC client understands — `UNAUTHENTICATED` with the message `Unauthorized - MFA
//! required` for the MFA refusal, `PERMISSION_DENIED`, `INVALID_ARGUMENT`,
//! `UNAVAILABLE` — with `www-authenticate` and `mfa-guard-code` in its metadata; an
//! admitted call reaches the service.

use mfa_guard_conformance::fixture::{ADMIN_GROUP, Style, Tok, guard_builder};
use mfa_guard_core::{Policy, Requirement, Role, RoleMap, RoleMatcher};
use mfa_guard_tower::MfaLayer;
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The Health service behind `MfaLayer`: `Check` needs an Admin agent with MFA,
/// `Watch` is public.
async fn start() -> std::net::SocketAddr {
    let map = RoleMap::partner_center().grant(Role::AdminAgent, RoleMatcher::Group(ADMIN_GROUP.into()));
    let policy = Policy::partner_center()
        .role_map(map)
        .route("/grpc.health.v1.Health/Check", Requirement::mfa().any_role([Role::AdminAgent]))
        .route("/grpc.health.v1.Health/Watch", Requirement::public());
    let guard = guard_builder(Style::PartnerCenter).policy(policy).build().expect("the guard builds");
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(MfaLayer::new(guard))
            .add_service(health)
            .serve_with_incoming(mfa_guard_serve::nodelay(listener)),
    );
    addr
}

/// Calls `Health/Check` (at `path`, to send one a generated client would not).
async fn call(
    addr: std::net::SocketAddr,
    path: &'static str,
    authorization: Option<String>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel(addr).await);
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
    if let Some(a) = authorization {
        request.metadata_mut().insert("authorization", MetadataValue::try_from(a).expect("ASCII"));
    }
    let codec =
        tonic_prost::ProstCodec::<HealthCheckRequest, tonic_health::pb::HealthCheckResponse>::default();
    grpc.unary(request, http::uri::PathAndQuery::from_static(path), codec).await.map(|_| ())
}

async fn check(addr: std::net::SocketAddr, authorization: Option<String>) -> Result<(), tonic::Status> {
    call(addr, CHECK, authorization).await
}

const CHECK: &str = "/grpc.health.v1.Health/Check";

async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("a URI")
        .connect()
        .await
        .expect("connect")
}

fn bearer(tok: Tok) -> Option<String> {
    Some(format!("Bearer {}", tok.mint()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_reaches_a_grpc_client_as_its_grpc_status() {
    let addr = start().await;
    let cases = [
        ("no token", None, Code::Unauthenticated, "missing_token"),
        ("admin without MFA", bearer(Tok::AdminNoMfa), Code::Unauthenticated, "mfa_required"),
        ("expired token", bearer(Tok::Expired), Code::Unauthenticated, "invalid_token"),
        ("sales agent with MFA", bearer(Tok::SalesMfa), Code::PermissionDenied, "insufficient_role"),
        ("keys unavailable", bearer(Tok::DownIssuer), Code::Unavailable, "key_source_unavailable"),
        ("not a JWT", bearer(Tok::Garbage), Code::Unauthenticated, "invalid_token"),
    ];
    let mut failures = Vec::new();
    let cases = cases.into_iter().map(|(n, a, c, m)| (n, CHECK, a, c, m)).chain([(
        "a dot segment in the method path",
        "/grpc.health.v1.Health/x/../Check",
        bearer(Tok::AdminMfa),
        Code::InvalidArgument,
        "invalid_request",
    )]);
    for (name, path, authorization, code, mfa_guard_code) in cases {
        let status = match call(addr, path, authorization).await {
            Ok(()) => {
                failures.push(format!("{name}: admitted"));
                continue;
            }
            Err(status) => status,
        };
        if status.code() != code {
            failures.push(format!("{name}: {:?} instead of {code:?} ({})", status.code(), status.message()));
        }
        let meta = status.metadata();
        let got = meta.get("mfa-guard-code").and_then(|v| v.to_str().ok());
        if got != Some(mfa_guard_code) {
            failures.push(format!("{name}: mfa-guard-code {got:?} instead of {mfa_guard_code}"));
        }
        let www: Vec<_> = meta.get_all("www-authenticate").iter().collect();
        let expected_challenges = usize::from(code != Code::Unavailable);
        if www.len() != expected_challenges {
            failures.push(format!("{name}: {} www-authenticate entries: {www:?}", www.len()));
        }
        if mfa_guard_code == "mfa_required" {
            if status.message() != "Unauthorized - MFA required" {
                failures.push(format!("{name}: message {:?}", status.message()));
            }
            if www.first().and_then(|v| v.to_str().ok()) != Some(r#"Bearer error="invalid_token""#) {
                failures.push(format!("{name}: challenge {www:?}"));
            }
        }
        if code == Code::Unavailable && meta.get("retry-after").is_none() {
            failures.push(format!("{name}: no retry-after"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admitted_call_reaches_the_service() {
    let addr = start().await;
    check(addr, bearer(Tok::AdminMfa)).await.expect("an Admin agent with MFA is served");
    // The public method needs no token; the service answers it.
    let mut client = HealthClient::new(channel(addr).await);
    let mut stream = client
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .expect("Watch is public")
        .into_inner();
    let first = stream.message().await.expect("a status").expect("one message");
    assert_eq!(first.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}
