//! Trusted peers: `serve` believes what a request says about another request (the
//! `X-Forwarded-*` and `X-Original-*` headers, Envoy's check attributes, the
//! audience) only from the proxies it is configured to trust.
//!
//! The recipes keep `serve` off the public network; this makes it so rather than
//! advising it. The peer is the address of the TCP connection, never a header.
//! Every HTTP endpoint but `/health` and `/.well-known/jwks.json` (which say
//! nothing about a request) and the gRPC check answer any other peer `403
//! Forbidden`, before anything it sent is read. Each such request counts in
//! [`UNTRUSTED_PEERS_METRIC`]; each peer address is named in one `warn!` per
//! [`WARN_INTERVAL`] at most, so a scanner cannot flood the log.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

/// The peers trusted when none are configured: this host only.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1";
/// Requests refused because their peer is not a trusted proxy (a counter).
pub const UNTRUSTED_PEERS_METRIC: &str = "mfa_guard_untrusted_peer_requests_total";
/// How often one peer address may be named in a warning.
pub const WARN_INTERVAL: Duration = Duration::from_secs(600);
/// The paths any peer may ask: they describe `serve`, not a request.
const OPEN_PATHS: [&str; 2] = ["/health", crate::assertion::JWKS_PATH];

/// Why `MFA_TRUSTED_PROXIES` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidTrustedProxies {
    /// An entry that is neither a CIDR nor an address.
    #[error("{item:?} is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address")]
    NotANetwork {
        /// The entry as written.
        item: String,
    },
    /// A CIDR with host bits set.
    #[error("{item} has host bits set; did you mean {network}?")]
    HostBits {
        /// The entry as written.
        item: String,
        /// The network it probably means.
        network: IpNet,
    },
    /// No entry at all.
    #[error("name at least one trusted proxy network")]
    Empty,
}

/// The networks whose peers `serve` answers: CIDRs (`10.0.0.0/8`, `fd00::/8`) or
/// single addresses.
#[derive(Clone)]
pub struct TrustedProxies {
    nets: Arc<[IpNet]>,
    /// Peers already named in a warning, for [`WARN_INTERVAL`] (bounded).
    warned: moka::sync::Cache<IpAddr, ()>,
}

impl std::fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.nets.iter().map(ToString::to_string)).finish()
    }
}

impl Default for TrustedProxies {
    fn default() -> Self {
        Self::loopback()
    }
}

impl TrustedProxies {
    /// This host only: `127.0.0.0/8` and `::1` ([`DEFAULT_TRUSTED_PROXIES`]).
    pub fn loopback() -> Self {
        Self::of(vec![
            IpNet::from(ipnet::Ipv4Net::new_assert(std::net::Ipv4Addr::new(127, 0, 0, 0), 8)),
            IpNet::from(ipnet::Ipv6Net::new_assert(std::net::Ipv6Addr::LOCALHOST, 128)),
        ])
    }

    /// Comma-separated CIDRs or addresses (`MFA_TRUSTED_PROXIES`), at least one.
    pub fn parse(spec: &str) -> Result<Self, InvalidTrustedProxies> {
        let mut nets = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| InvalidTrustedProxies::NotANetwork { item: item.to_owned() })?;
            if net.addr() != net.network() {
                return Err(InvalidTrustedProxies::HostBits { item: item.to_owned(), network: net.trunc() });
            }
            nets.push(net);
        }
        if nets.is_empty() {
            return Err(InvalidTrustedProxies::Empty);
        }
        Ok(Self::of(nets))
    }

    fn of(nets: Vec<IpNet>) -> Self {
        let warned = moka::sync::Cache::builder().max_capacity(4096).time_to_live(WARN_INTERVAL).build();
        Self { nets: nets.into(), warned }
    }

    /// Whether `peer` is in a trusted network. An IPv4 peer reached over an IPv6
    /// socket (`::ffff:10.0.0.1`) is read as the IPv4 address it is.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.nets.iter().any(|n| n.contains(&peer))
    }

    /// Whether `ip` was not named in a warning within [`WARN_INTERVAL`] (and is now).
    fn first_in_interval(&self, ip: IpAddr) -> bool {
        self.warned.entry(ip).or_insert(()).is_fresh()
    }

    /// `Ok` for a trusted peer; else counts it, warns (once per interval per
    /// address) and says why, for the answer's body. `None`: the peer is unknown.
    pub(crate) fn admit(&self, peer: Option<SocketAddr>) -> Result<(), Untrusted> {
        if let Some(peer) = peer
            && self.trusts(peer.ip())
        {
            return Ok(());
        }
        metrics::counter!(UNTRUSTED_PEERS_METRIC).increment(1);
        let Some(peer) = peer else {
            tracing::warn!(
                "a request came without a peer address; refused (serve it with AuthServer::serve_http)"
            );
            return Err(Untrusted::Unknown);
        };
        let ip = peer.ip().to_canonical();
        if self.first_in_interval(ip) {
            tracing::warn!(
                peer = %ip,
                "refused a request from a peer outside MFA_TRUSTED_PROXIES (said once per {} minutes per address)",
                WARN_INTERVAL.as_secs() / 60
            );
        }
        Err(Untrusted::Outside { ip })
    }
}

/// Why a peer is not answered (the words are the `403`'s body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Untrusted {
    /// The connection has no peer address.
    #[error("mfa-guard serve cannot tell which peer is asking, so it answers no one")]
    Unknown,
    /// A peer outside `MFA_TRUSTED_PROXIES`.
    #[error(
        "mfa-guard serve answers only its trusted proxies (MFA_TRUSTED_PROXIES); {ip} is not one of them"
    )]
    Outside { ip: IpAddr },
}

/// The `403` of a peer that is not trusted.
fn forbidden(why: String) -> Response {
    let mut response = (StatusCode::FORBIDDEN, why).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

/// Every HTTP endpoint but [`OPEN_PATHS`]: a peer outside the trusted networks gets
/// `403` before its request is read.
pub(crate) async fn only_trusted(
    State(peers): State<TrustedProxies>,
    req: Request<Body>,
    next: Next,
) -> Response {
    if OPEN_PATHS.contains(&req.uri().path()) {
        return next.run(req).await;
    }
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    match peers.admit(peer) {
        Ok(()) => next.run(req).await,
        Err(why) => forbidden(why.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_trusted_by_default_and_nothing_else() {
        let peers = TrustedProxies::default();
        for trusted in ["127.0.0.1", "127.9.8.7", "::1", "::ffff:127.0.0.1"] {
            assert!(peers.trusts(trusted.parse().unwrap()), "{trusted}");
        }
        for untrusted in ["10.0.0.1", "192.0.2.1", "::2", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0"] {
            assert!(!peers.trusts(untrusted.parse().unwrap()), "{untrusted}");
        }
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let peers = TrustedProxies::parse(" 10.1.0.0/16, fd00::/8 ,192.0.2.7").unwrap();
        for trusted in ["10.1.200.3", "fd12::1", "192.0.2.7", "::ffff:10.1.0.9"] {
            assert!(peers.trusts(trusted.parse().unwrap()), "{trusted}");
        }
        for untrusted in ["10.2.0.1", "127.0.0.1", "192.0.2.8", "fe00::1"] {
            assert!(!peers.trusts(untrusted.parse().unwrap()), "{untrusted}");
        }
    }

    #[test]
    fn a_malformed_trusted_proxy_list_is_refused_saying_which_entry() {
        let e = TrustedProxies::parse("10.0.0.0/8,10.0.0.0/33").unwrap_err();
        assert_eq!(e.to_string(), r#""10.0.0.0/33" is not a CIDR (10.0.0.0/8, fd00::/8) or an IP address"#);
        let e = TrustedProxies::parse("example.com").unwrap_err();
        assert!(e.to_string().starts_with(r#""example.com" is not a CIDR"#), "{e}");
        let e = TrustedProxies::parse("10.1.2.3/8").unwrap_err();
        assert_eq!(e.to_string(), "10.1.2.3/8 has host bits set; did you mean 10.0.0.0/8?");
        let e = TrustedProxies::parse(" , ").unwrap_err();
        assert_eq!(e.to_string(), "name at least one trusted proxy network");
    }

    #[test]
    fn an_untrusted_peer_is_refused_naming_its_address_and_an_unknown_peer_is_refused_too() {
        let peers = TrustedProxies::default();
        assert_eq!(peers.admit(Some("127.0.0.1:5000".parse().unwrap())), Ok(()));
        let why = peers.admit(Some("192.0.2.1:5000".parse().unwrap())).unwrap_err();
        assert_eq!(why, Untrusted::Outside { ip: "192.0.2.1".parse().unwrap() });
        assert_eq!(
            why.to_string(),
            "mfa-guard serve answers only its trusted proxies (MFA_TRUSTED_PROXIES); 192.0.2.1 is not one of them"
        );
        let why = peers.admit(None).unwrap_err();
        assert!(why.to_string().contains("cannot tell which peer"), "{why}");
    }

    #[test]
    fn each_untrusted_peer_is_named_in_one_warning_per_interval() {
        let peers = TrustedProxies::default();
        let (a, b) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert!(peers.first_in_interval(a));
        assert!(!peers.first_in_interval(a), "the same peer again within the interval: no warning");
        assert!(peers.first_in_interval(b), "another peer: its own warning");
        assert!(!peers.first_in_interval("::ffff:192.0.2.1".parse::<IpAddr>().unwrap().to_canonical()));
    }

    #[tokio::test]
    async fn a_peer_outside_the_trusted_proxies_gets_403_on_every_endpoint_but_health_and_jwks() {
        use axum::http::StatusCode;

        use crate::testing::{Issuer, call, user_with_mfa};
        use crate::{AssertionKeys, Assertions, AuthServer};

        let issuer = Issuer::new();
        let assertions = Assertions::new("mfa-guard-serve", AssertionKeys::generate().unwrap()).unwrap();
        let server = AuthServer::new(issuer.guard.clone())
            .assertions(assertions)
            .trusted_proxies(TrustedProxies::parse("10.0.0.0/8").unwrap());
        let router = server.router();
        let bearer = format!("Bearer {}", issuer.token(user_with_mfa()));
        let headers = [
            ("authorization", bearer.as_str()),
            ("x-forwarded-method", "GET"),
            ("x-forwarded-uri", "/commerce/customers"),
            ("x-original-method", "GET"),
            ("x-original-uri", "/commerce/customers"),
            ("x-mfa-guard-audience", "partner-center"),
        ];
        for endpoint in
            ["/auth", "/nginx/auth", "/nginx/refusal", "/envoy/commerce/customers", "/no/such/endpoint"]
        {
            let (status, answer, body) = call(&router, "192.0.2.1:5000", "GET", endpoint, &headers).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{endpoint}");
            assert_eq!(answer["content-type"], "text/plain; charset=utf-8", "{endpoint}");
            assert_eq!(
                body,
                "mfa-guard serve answers only its trusted proxies (MFA_TRUSTED_PROXIES); 192.0.2.1 is not one of them",
                "{endpoint}"
            );
            assert!(answer.get("x-mfa-guard-oid").is_none() && answer.get("x-mfa-guard-assertion").is_none());
        }
        // The trusted proxy gets its decision; anyone may ask for health and keys.
        let (status, answer, _) = call(&router, "10.1.2.3:5000", "GET", "/auth", &headers).await;
        assert_eq!((status, answer["x-mfa-guard-oid"].to_str().unwrap()), (StatusCode::OK, "oid-1"));
        let (status, _, body) = call(&router, "192.0.2.1:5000", "GET", "/health", &[]).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        let (status, _, body) = call(&router, "192.0.2.1:5000", "GET", crate::JWKS_PATH, &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with(r#"{"keys":[{"#), "{body}");
        // By default: this host only, over IPv4 and IPv6.
        let router = AuthServer::new(issuer.guard.clone()).router();
        for (peer, expected) in [
            ("127.0.0.1:5000", StatusCode::OK),
            ("[::1]:5000", StatusCode::OK),
            ("10.1.2.3:5000", StatusCode::FORBIDDEN),
        ] {
            let (status, _, _) = call(&router, peer, "GET", "/auth", &headers).await;
            assert_eq!(status, expected, "{peer}");
        }
    }
}
