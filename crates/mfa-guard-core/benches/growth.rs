//! One decision as the configuration grows, each size against the smallest in the
//! same run: routes (10 / 1,000 / 10,000), issuers (1 / 10 / 100), tenants in the
//! allow-list (1 / 1,000 / 100,000), verified tokens cached (1 thousand / 1 million),
//! group ids in the role map (10 / 1,000). Every lookup is by hash, so each size
//! should cost what the smallest does; `benches/growth.sh` prints the ratios.
//!
//! Run: `cargo bench -p mfa-guard-core --bench growth` (the million-token cache takes
//! a minute and about 1 GiB to fill). Tokens are HS256 where the point is the lookup
//! (issuers, tenants, role map: every request verified), so a signature does not hide
//! what the lookup costs.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mfa_guard_core::{
    Admission, Algorithm, Evaluation, Guard, GuardBuilder, KeySource, Policy, RequestInfo, Requirement, Role,
    RoleMap, RoleMatcher, VerifierBuilder,
};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use serde_json::{Value, json};

const SECRET: &[u8] = b"growth benchmark secret, 32 bytes+";
const TEMPLATE: &str = "https://sts.windows.net/{tenantid}/";

/// The `i`th tenant id (a GUID).
fn guid(i: usize) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", i, i)
}

fn sign(claims: &Value) -> String {
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    format!(
        "Bearer {}",
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_secret(SECRET)).expect("sign")
    )
}

/// A realistic user token (the development issuer's claims), with `changes` applied.
fn claims(changes: &[(&str, Value)]) -> Value {
    let issuer = DevIssuer::generate(TEMPLATE).expect("key");
    let mut claims = issuer.user().claims();
    for (name, value) in changes {
        claims[*name] = value.clone();
    }
    claims
}

/// A guard with Partner Center's policy whose verifier takes HS256 tokens of the
/// issuers `issuers` adds.
fn hs256(issuers: impl FnOnce(VerifierBuilder) -> VerifierBuilder) -> GuardBuilder {
    Guard::partner_center().verifier(|v| issuers(v).audience(DEV_AUDIENCE).algorithms([Algorithm::HS256]))
}

/// The `{tenantid}` template with the benchmark's secret.
fn template(v: VerifierBuilder) -> VerifierBuilder {
    v.issuer(TEMPLATE).keys(KeySource::hmac_secret(SECRET))
}

fn admitted(guard: &Guard, path: &str, header: &str) -> bool {
    let req = RequestInfo::new("GET", path).with_authorization(header.as_bytes());
    matches!(guard.evaluate(&req), Evaluation::Ready(Admission::Admitted(_)))
}

/// Routes: `n` rules, a cached token; the path under the last rule written, and a
/// path no rule matches (the fallback, which a scan reached last).
fn routes(c: &mut Criterion) {
    let header = sign(&claims(&[]));
    let mut group = c.benchmark_group("growth/routes");
    for n in [10usize, 1_000, 10_000] {
        let policy = (0..n).fold(Policy::partner_center(), |p, i| {
            p.route(format!("/svc{i}/items/*"), Requirement::mfa().any_role([Role::AdminAgent]))
        });
        let guard = hs256(template).policy(policy).build().expect("guard");
        let last = format!("/svc{}/items/42/details", n - 1);
        assert!(admitted(&guard, &last, &header));
        assert!(admitted(&guard, "/unrouted/x", &header));
        group.bench_with_input(BenchmarkId::new("matched", n), &n, |b, _| {
            b.iter(|| admitted(&guard, black_box(&last), &header))
        });
        group.bench_with_input(BenchmarkId::new("fallback", n), &n, |b, _| {
            b.iter(|| admitted(&guard, black_box("/unrouted/x"), &header))
        });
    }
    group.finish();
}

/// Issuers: `n` exact issuers (one per tenant, as per-tenant Entra issuers are
/// configured), each with its own secret; the token is the last one's, verified on
/// every request (cache off).
fn issuers(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth/issuers");
    for n in [1usize, 10, 100] {
        let guard = hs256(|mut v| {
            for i in 0..n {
                // The same secret everywhere: which issuer matched is the lookup's answer.
                v = v
                    .issuer(format!("https://login.microsoftonline.com/{}/v2.0", guid(i)))
                    .keys(KeySource::hmac_secret(SECRET));
            }
            v
        })
        .token_cache_capacity(0)
        .build()
        .expect("guard");
        let tid = guid(n - 1);
        let header = sign(&claims(&[
            ("iss", json!(format!("https://login.microsoftonline.com/{tid}/v2.0"))),
            ("tid", json!(tid)),
        ]));
        assert!(admitted(&guard, "/commerce/customers", &header));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| admitted(&guard, "/commerce/customers", black_box(&header)))
        });
    }
    group.finish();
}

/// Tenants: a `{tenantid}` template restricted to `n` tenants; the token is of the
/// last one listed, verified on every request (cache off).
fn tenants(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth/tenants");
    for n in [1usize, 1_000, 100_000] {
        let guard =
            hs256(|v| template(v).tenants((0..n).map(guid))).token_cache_capacity(0).build().expect("guard");
        let tid = guid(n - 1);
        let header =
            sign(&claims(&[("iss", json!(format!("https://sts.windows.net/{tid}/"))), ("tid", json!(tid))]));
        assert!(admitted(&guard, "/commerce/customers", &header));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| admitted(&guard, "/commerce/customers", black_box(&header)))
        });
    }
    group.finish();
}

/// The token cache holding `n` verified tokens; hits cycle through 64 of them, more
/// than a thread remembers, so each goes to the shared cache.
fn token_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth/token_cache");
    group.sample_size(30);
    let base = claims(&[]);
    for n in [1_000usize, 1_000_000] {
        let guard = hs256(template).token_cache_capacity(n as u64 * 2).build().expect("guard");
        let mut probes = Vec::with_capacity(64);
        for i in 0..n {
            let mut claims = base.clone();
            claims["uti"] = json!(format!("uti{i:019}"));
            let header = sign(&claims);
            assert!(admitted(&guard, "/commerce/customers", &header));
            if i % (n / 64) == 0 && probes.len() < 64 {
                probes.push(header);
            }
        }
        let mut turn = 0;
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                turn = (turn + 1) % probes.len();
                admitted(&guard, "/commerce/customers", black_box(&probes[turn]))
            })
        });
    }
    group.finish();
}

/// The role map granting roles through `n` group ids; the token is in 8 groups, the
/// last of them the map's last id (the role the route needs), and is verified on
/// every request (roles are resolved once per verified token).
fn role_map(c: &mut Criterion) {
    let mut group = c.benchmark_group("growth/role_map_groups");
    for n in [10usize, 1_000] {
        let roles = (0..n - 1).fold(RoleMap::partner_center(), |m, i| {
            m.grant(Role::Custom(format!("Team{}", i % 32).into()), RoleMatcher::Group(guid(1_000_000 + i)))
        });
        let roles = roles.grant(Role::Custom("Owners".into()), RoleMatcher::Group(guid(1_000_000 + n - 1)));
        let policy = Policy::partner_center()
            .role_map(roles)
            .route("/teams/*", Requirement::mfa().any_role([Role::Custom("Owners".into())]));
        let guard = hs256(template).policy(policy).token_cache_capacity(0).build().expect("guard");
        // Seven groups the map does not know, then the map's last id.
        let mut groups: Vec<String> = (0..7).map(|i| guid(2_000_000 + i)).collect();
        groups.push(guid(1_000_000 + n - 1));
        let header = sign(&claims(&[("groups", json!(groups))]));
        assert!(admitted(&guard, "/teams/owners", &header));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| admitted(&guard, "/teams/owners", black_box(&header)))
        });
    }
    group.finish();
}

criterion_group!(benches, routes, issuers, tenants, token_cache, role_map);
criterion_main!(benches);
