//! `mfa-guard serve` as a process: what it says about its configuration.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::Stdio;

use crate::support::{command, exit, issuer, issuer_config, jwks_file, serve_command};

/// Starts serve on `config`, waits until it listens (or ends), stops it, and
/// returns what it wrote to stderr.
fn stderr_of_serve_with(config: &str) -> String {
    let mut child = serve_command(config)
        .env_remove("MFA_OIDC_CLIENT_ID")
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let listening = stdout.lines().map_while(Result::ok).any(|l| l.starts_with("listening on http://"));
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(listening, "serve did not start:\n{stderr}");
    stderr
}

#[test]
fn serve_warns_when_its_browser_table_names_no_client() {
    let issuers = format!(
        "[[issuers]]\nissuer = {:?}\njwks_file = {:?}\n",
        issuer().issuer(),
        jwks_file().display().to_string()
    );
    let with = stderr_of_serve_with(&format!("{issuers}\n[browser]\nscopes = [\"openid\", \"profile\"]\n"));
    assert!(
        with.contains("MFA_CONFIG has a [browser] table but no client id"),
        "browsers would silently get the API's answers: {with}"
    );
    let without = stderr_of_serve_with(&issuers);
    assert!(!without.contains("[browser]"), "{without}");
}

#[test]
fn serve_signs_people_in_from_its_browser_table_and_asks_for_the_session_keys() {
    // A client in the [browser] table turns browser sign-in on at the gate, and
    // sign-in needs the session keys every replica shares: a start without them is
    // a configuration error naming the variable, not a gate that serves the API's
    // answers to people.
    let config = format!(
        "{}\n[browser]\nclient_id = \"app\"\nredirect_uri = \"https://app.example/.mfa-guard/callback\"\n\
         discovery_url = \"https://login.example/.well-known/openid-configuration\"\n",
        issuer_config()
    );
    let mut child = serve_command(&config)
        .env_remove("MFA_OIDC_CLIENT_ID")
        .env_remove("MFA_SESSION_KEYS")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    // A serve that ignored the table would start and listen: stop it rather than wait.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = status.unwrap_or_else(|| panic!("serve started without the session keys:\n{stderr}"));
    assert_eq!(status.code(), Some(exit::ERROR), "{stderr}");
    assert!(stderr.contains("MFA_SESSION_KEYS"), "{stderr}");
}

#[test]
fn serve_without_an_issuer_is_a_configuration_error_with_exit_1() {
    let out = command()
        .arg("serve")
        .env("MFA_LISTEN", "127.0.0.1:0")
        .env_remove("MFA_CONFIG")
        .env_remove("MFA_ISSUER")
        .env_remove("MFA_JWKS_URL")
        .env_remove("MFA_DISCOVERY_URL")
        .stdin(Stdio::null())
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::ERROR), "{stderr}");
    assert!(stderr.contains("mfa-guard serve needs an issuer and its keys"), "{stderr}");
    assert!(stderr.contains("mfa-guard dev-issuer"), "the hint says how to try it locally: {stderr}");
}

#[test]
fn serve_decides_on_a_proxys_request_of_many_headers_and_stops_on_sigterm() {
    let mut child = serve_command(&issuer_config()).stderr(Stdio::null()).spawn().expect("serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on http://").map(str::to_owned))
        .expect("serve says where it listens");
    // nginx passes on up to 1,000 header lines of a client's; hyper's default
    // refused more than 100 with 431, which nginx turns into its own 500.
    let mut request = format!(
        "GET /auth HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Forwarded-Method: GET\r\nX-Forwarded-Uri: /health\r\n"
    );
    for i in 0..200 {
        request.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(&mut stream, request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status_line = response.lines().next().unwrap_or_default().to_owned();

    let stopped = std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let mut status = None;
    for _ in 0..100 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert_eq!(status_line, "HTTP/1.1 200 OK", "the public /health, asked with 205 header lines");
    assert!(stopped.is_ok_and(|s| s.success()), "kill -TERM");
    assert_eq!(status.and_then(|s| s.code()), Some(exit::OK), "serve ends with 0 on SIGTERM");
}

/// A `[browser]` table with a client (and `pages`, more of the table's keys).
fn browser_config(pages: &str) -> String {
    format!(
        "{}\n[browser]\nclient_id = \"app\"\nredirect_uri = \"https://app.example/.mfa-guard/callback\"\n\
         discovery_url = \"https://login.example/.well-known/openid-configuration\"\n{pages}",
        issuer_config()
    )
}

const SESSION_KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Sends `request` (without `Host` and `Connection`) to serve at `addr` and returns
/// the status line and body.
fn ask(addr: &str, request: &str) -> (String, String) {
    let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
    let raw = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n{body}");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    std::io::Write::write_all(&mut stream, raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status_line = response.lines().next().unwrap_or_default().to_owned();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status_line, body)
}

#[test]
fn serve_refuses_a_browser_page_path_outside_its_prefix_by_its_key() {
    // serve places the browser's pages under MFA_BROWSER_PREFIX, the only paths the
    // proxy sends it: a page of the [browser] table elsewhere would reach the
    // application, so it is refused by name rather than silently moved.
    let out = serve_command(&browser_config("sign_in_path = \"/login\"\n"))
        .env_remove("MFA_OIDC_CLIENT_ID")
        .env("MFA_SESSION_KEYS", SESSION_KEYS)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("serve runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(exit::ERROR), "{stderr}");
    assert!(
        stderr.contains(
            "browser.sign_in_path = \"/login\" is outside /.mfa-guard/, the only paths the proxy sends to serve"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("/.mfa-guard/sign-in"), "where serve would place it: {stderr}");
}

/// serve with `config`, `MFA_SESSION_KEYS` and `store` (`MFA_SESSION_STORE`, or
/// none): its address and the child.
fn start_browser_serve(config: &str, store: Option<&str>) -> (String, std::process::Child) {
    let mut cmd = serve_command(config);
    cmd.env_remove("MFA_OIDC_CLIENT_ID").env("MFA_SESSION_KEYS", SESSION_KEYS).stderr(Stdio::piped());
    match store {
        Some(store) => cmd.env("MFA_SESSION_STORE", store),
        None => cmd.env_remove("MFA_SESSION_STORE"),
    };
    let mut child = cmd.spawn().expect("serve starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on http://").map(str::to_owned));
    let Some(addr) = addr else {
        let _ = child.kill();
        let _ = child.wait();
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        panic!("serve did not start:\n{stderr}");
    };
    (addr, child)
}

fn stop(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    stderr
}

#[test]
fn serve_honours_browser_pages_under_its_prefix_and_connects_its_session_store() {
    let config = browser_config("sign_out_path = \"/.mfa-guard/logout\"\n");
    // A body back-channel logout refuses for its type, once a store can end sessions.
    let logout = "POST /.mfa-guard/backchannel-logout HTTP/1.1\r\nContent-Type: text/plain\r\n\
                  Content-Length: 1\r\n\r\nx";

    let (addr, child) = start_browser_serve(&config, Some("memory"));
    let page = ask(&addr, "GET /.mfa-guard/logout HTTP/1.1\r\n\r\n");
    let default_page = ask(&addr, "GET /.mfa-guard/sign-out HTTP/1.1\r\n\r\n");
    let with_store = ask(&addr, logout);
    let stderr = stop(child);
    assert_eq!(page.0, "HTTP/1.1 200 OK", "the table's sign-out page: {page:?}\n{stderr}");
    assert!(page.1.contains("action=\"/.mfa-guard/logout\""), "{page:?}");
    assert_eq!(default_page.0, "HTTP/1.1 404 Not Found", "{default_page:?}");
    assert_eq!(with_store.0, "HTTP/1.1 400 Bad Request", "{with_store:?}");
    assert!(with_store.1.contains("must be application/x-www-form-urlencoded"), "{with_store:?}");
    assert!(!stderr.contains("cookie-only"), "{stderr}");

    let (addr, child) = start_browser_serve(&config, None);
    let without_store = ask(&addr, logout);
    let stderr = stop(child);
    assert!(without_store.1.contains("back-channel logout needs a session store"), "{without_store:?}");
    assert!(stderr.contains("sessions are cookie-only"), "serve says so at start: {stderr}");
}
