//! The metrics listener of a server that runs an mfa-guard [`Guard`]: on an address
//! of its own (`MFA_METRICS_LISTEN` for the example servers and `mfa-guard serve`),
//!
//! | path | answer |
//! |---|---|
//! | `/metrics` | Prometheus' text format: every counter of [`mfa_guard_core::metrics`], `mfa_guard_mfa_adoption_total` among them |
//! | `/mfa-adoption` | the guard's [`AdoptionReport`](mfa_guard_core::AdoptionReport) as JSON: per client application, requests that met or missed their rule's MFA requirement, enforced and report-only apart |
//! | `/health` | `OK` |
//!
//! Anything else is `404 Not Found`. `/metrics` and `/health` answer as
//! metrics-exporter-prometheus' own listener does (same status line, media type and
//! body); that listener serves nothing else, hence this one.
//!
//! ```no_run
//! # async fn run(guard: mfa_guard_core::Guard) -> Result<(), mfa_guard_metrics::Error> {
//! use mfa_guard_metrics::MetricsListener;
//!
//! // Before the first request: counters attach to the recorder installed when
//! // they are first used.
//! let listener = MetricsListener::bind("127.0.0.1:9100".parse().unwrap())?;
//! println!("metrics on http://{}/metrics", listener.local_addr());
//! tokio::spawn(listener.serve(guard));
//! # Ok(()) }
//! ```
//!
//! Why a crate of its own: the example servers and `mfa-guard serve` both serve it,
//! and the CLI cannot depend on the examples; core decides and serves nothing, and
//! `mfa-guard-serve` is a proxy's authorizer (the examples would build its gRPC
//! stack to get a listener of twenty lines).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use mfa_guard_core::Guard;

/// How often histograms are drained into their summaries, as the exporter's own
/// listener does (without it, every recorded check duration is kept until a scrape).
const UPKEEP: Duration = Duration::from_secs(5);

/// The listener, bound and with the Prometheus recorder installed, not serving yet:
/// [`serve`](Self::serve) it once the guard is built.
#[derive(Debug)]
#[must_use = "a bound listener serves nothing until `serve` is awaited or spawned"]
pub struct MetricsListener {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    handle: PrometheusHandle,
}

/// Why the listener could not be made.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The address could not be bound.
    Bind,
    /// The Prometheus recorder could not be installed (another recorder is).
    Recorder,
}

impl Error {
    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl MetricsListener {
    /// Binds `addr` (port 0 picks one: see [`local_addr`](Self::local_addr)) and
    /// installs the Prometheus recorder as the process's global `metrics` recorder.
    /// Call it before the guard's first request.
    pub fn bind(addr: SocketAddr) -> Result<Self, Error> {
        let bind = |e: std::io::Error| Error {
            kind: ErrorKind::Bind,
            message: format!("cannot serve metrics on {addr}: {e}"),
        };
        let listener = std::net::TcpListener::bind(addr).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        let handle = PrometheusBuilder::new().install_recorder().map_err(|e| Error {
            kind: ErrorKind::Recorder,
            message: format!("cannot install the Prometheus recorder: {e}"),
        })?;
        Ok(Self { listener, addr, handle })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `/metrics`, `/mfa-adoption` (of `guard`) and `/health` until the
    /// runtime it runs on stops. Spawn it on a Tokio runtime (a current-thread one,
    /// such as actix's, will do).
    pub async fn serve(self, guard: Guard) {
        let Self { listener, addr, handle } = self;
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("metrics listener on {addr}: {e}");
                return;
            }
        };
        let upkeep = {
            let handle = handle.clone();
            async move {
                loop {
                    tokio::time::sleep(UPKEEP).await;
                    handle.run_upkeep();
                }
            }
        };
        let accept = async move {
            loop {
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors, typically: wait rather than spin.
                        tracing::debug!("metrics listener on {addr}: cannot accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (guard, handle) = (guard.clone(), handle.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (guard, handle) = (guard.clone(), handle.clone());
                        async move { Ok::<_, Infallible>(answer(&req, &guard, handle).await) }
                    });
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::debug!("metrics listener: connection ended: {e}");
                    }
                });
            }
        };
        tokio::join!(upkeep, accept);
    }
}

async fn answer(req: &Request<Incoming>, guard: &Guard, handle: PrometheusHandle) -> Response<Full<Bytes>> {
    let (body, content_type): (Bytes, &'static str) = match req.uri().path() {
        // Rendering formats every series: off the runtime's threads, as the
        // exporter's listener does.
        "/metrics" => match tokio::task::spawn_blocking(move || handle.render()).await {
            Ok(text) => (text.into(), "text/plain"),
            Err(_) => return status(StatusCode::INTERNAL_SERVER_ERROR),
        },
        "/mfa-adoption" => match serde_json::to_vec(&guard.adoption()) {
            Ok(json) => (json.into(), "application/json"),
            Err(_) => return status(StatusCode::INTERNAL_SERVER_ERROR),
        },
        "/health" => (Bytes::from_static(b"OK"), "text/plain"),
        _ => return status(StatusCode::NOT_FOUND),
    };
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::default());
    *response.status_mut() = code;
    response
}
