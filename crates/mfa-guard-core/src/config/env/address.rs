//! Listening addresses (`MFA_LISTEN`, `MFA_GRPC_LISTEN`, `MFA_METRICS_LISTEN`):
//! checked when read, resolved when bound, in one place for every listener.

use std::net::{SocketAddr, ToSocketAddrs as _};

use super::{EnvError, variable};

/// `host:port`, the port a number: checked when read, resolved when bound.
pub(super) fn check_address(name: &'static str, value: &str) -> Result<(), EnvError> {
    if value.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()) {
        return Err(variable(
            name,
            format!("{name}={value:?} is not an address like 127.0.0.1:3000 or localhost:3000"),
        ));
    }
    Ok(())
}

pub(super) fn resolve(name: &'static str, value: &str) -> Result<SocketAddr, EnvError> {
    let mut addrs = value
        .to_socket_addrs()
        .map_err(|e| variable(name, format!("{name}={value:?} cannot be resolved: {e}")))?;
    addrs.next().ok_or_else(|| variable(name, format!("{name}={value:?} resolves to no address")))
}

/// Development mode listens on loopback only: its issuer signs in anyone who asks,
/// and browser sign-in accepts a plain-http redirect URI only on loopback (the
/// server names its own, after the address it binds).
pub(super) fn development_address(listen: &str, addr: SocketAddr) -> Result<(), EnvError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    Err(variable(
        "MFA_LISTEN",
        format!(
            "MFA_LISTEN={listen:?}: development mode (no MFA_ISSUER, MFA_JWKS_URL, MFA_DISCOVERY_URL or \
             [[issuers]] set) listens on loopback only, since its development issuer signs in anyone who \
             asks; set MFA_LISTEN=127.0.0.1:{port} (or localhost:{port}) and reach it from other machines \
             through a tunnel, or configure an identity provider to listen on {listen}",
            port = addr.port()
        ),
    ))
}
