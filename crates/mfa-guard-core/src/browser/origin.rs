//! Origins, as browsers send them in `Origin`: what a sign-out post is compared
//! with, and what a sign-out page's `form-action` lists.

/// The origin of an absolute URL as browsers serialise it (and send it in
/// `Origin`): scheme and host in lowercase, the port only when it is not the
/// scheme's default, no user information. `None` for anything else.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    let host = authority.host().to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(match authority.port_u16().filter(|p| *p != default_port) {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}
