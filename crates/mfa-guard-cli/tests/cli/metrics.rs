//! `mfa-guard serve` with `MFA_METRICS_LISTEN`: the metrics listener the example
//! servers serve, with the adoption report of serve's own decisions.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::SocketAddr;
use std::process::Stdio;

use serde_json::json;

use crate::support::{http_get, issuer, issuer_config, serve_command};

/// serve's answer to nginx's `auth_request` for `GET uri` with `token`: the status.
fn auth_status(addr: &str, uri: &str, token: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /auth HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-Method: GET\r\n\
         X-Forwarded-Uri: {uri}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn serve_reports_mfa_adoption_per_application_beside_its_metrics() {
    let mut child = serve_command(&issuer_config())
        .env("MFA_METRICS_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines().map_while(Result::ok);
    let metrics: SocketAddr = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("metrics on http://")?.strip_suffix("/metrics").map(str::to_owned))
        .expect("serve says where it serves metrics")
        .parse()
        .unwrap();
    let addr = lines
        .find_map(|l| l.strip_prefix("listening on http://").map(str::to_owned))
        .expect("serve says where it listens");

    let token = |mfa: bool| issuer().user().mfa(mfa).claim("appid", json!("app-a")).sign().unwrap();
    let refused = auth_status(&addr, "/commerce/customers", &token(false));
    let admitted = auth_status(&addr, "/commerce/customers", &token(true));
    let (status, body) = http_get(metrics, "/mfa-adoption");
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(refused, "HTTP/1.1 401 Unauthorized - MFA required");
    assert_eq!(admitted, "HTTP/1.1 200 OK");
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        report["applications"][0],
        json!({"app": "app-a", "enforce": {"met": 1, "missed": 1}, "report-only": {"met": 0, "missed": 0}})
    );
}
