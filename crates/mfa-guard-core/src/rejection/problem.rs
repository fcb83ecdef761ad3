//! The `application/problem+json` body of a refusal (RFC 9457).
//!
//! `type` is a URN per code (RFC 9457 §3.1.1 allows non-resolvable URIs), `title` a
//! fixed summary, `status` the HTTP status, `detail` the description, and the
//! extension member `code` the machine-readable reason. Nothing here comes from the
//! token except through `detail`, which never holds token material.

use serde::Serialize;

use super::RejectionCode;

/// The media type of the body.
pub(crate) const CONTENT_TYPE: &str = "application/problem+json";

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'static str,
    status: u16,
    detail: &'a str,
    code: &'static str,
}

pub(crate) fn render(code: RejectionCode, detail: &str) -> Vec<u8> {
    let problem = Problem {
        kind: format!("urn:mfa-guard:problem:{}", code.as_str()),
        title: code.title(),
        status: code.status(),
        detail,
        code: code.as_str(),
    };
    // Serializing a struct of strings and an integer cannot fail.
    serde_json::to_vec(&problem).unwrap_or_default()
}
