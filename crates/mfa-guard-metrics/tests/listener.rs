//! The listener over a real socket: what each path answers, with the guard's own
//! counts. One test: the recorder is global to the process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use mfa_guard_core::{Admission, Evaluation, Guard, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use mfa_guard_metrics::MetricsListener;

const ISSUER: &str = "https://sts.windows.net/{tenantid}/";

fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_the_adoption_report_are_served_with_the_guards_counts() {
    let listener = MetricsListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr();
    assert_ne!(addr.port(), 0, "the bound port, not the one asked for");
    let issuer = DevIssuer::generate(ISSUER).unwrap();
    let guard = Guard::partner_center()
        .verifier(|v| v.issuer(ISSUER).keys(issuer.key_source().unwrap()).audience(DEV_AUDIENCE))
        .build()
        .unwrap();
    tokio::spawn(listener.serve(guard.clone()));

    let token = issuer.user().mfa(false).claim("appid", serde_json::json!("app-a")).sign().unwrap();
    let header = format!("Bearer {token}");
    let req = RequestInfo::new("GET", "/commerce/customers").with_authorization(header.as_bytes());
    assert!(matches!(guard.evaluate(&req), Evaluation::Ready(Admission::Refused(_))));

    let (metrics, adoption, health, missing) = tokio::task::spawn_blocking(move || {
        (get(addr, "/metrics"), get(addr, "/mfa-adoption"), get(addr, "/health"), get(addr, "/nothing"))
    })
    .await
    .unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"), "{metrics}");
    assert!(
        metrics.contains(r#"mfa_guard_mfa_adoption_total{app="app-a",mode="enforce",mfa="missed"} 1"#),
        "{metrics}"
    );
    let (head, body) = adoption.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"), "{head}");
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json, serde_json::to_value(guard.adoption()).unwrap());
    assert_eq!(json["applications"][0]["app"], "app-a");
    assert_eq!(json["applications"][0]["enforce"], serde_json::json!({"met": 0, "missed": 1}));
    assert!(health.starts_with("HTTP/1.1 200 OK\r\n") && health.ends_with("\r\n\r\nOK"), "{health}");
    assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{missing}");
}
