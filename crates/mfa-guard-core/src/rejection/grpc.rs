//! A refusal for a gRPC client: a trailers-only `200` whose `grpc-status` carries
//! the refusal (gRPC over HTTP/2: a status in the headers, the message
//! percent-encoded), with the same challenge and code as over HTTP.

use std::borrow::Cow;
use std::sync::Arc;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::Rejection;

/// The gRPC status codes a refusal maps to.
const GRPC_INVALID_ARGUMENT: u16 = 3;
const GRPC_PERMISSION_DENIED: u16 = 7;
const GRPC_UNAVAILABLE: u16 = 14;
const GRPC_UNAUTHENTICATED: u16 = 16;

/// What `grpc-message` percent-encodes (gRPC over HTTP/2, "Responses"): every byte
/// outside visible ASCII and space — the control characters here, and every
/// non-ASCII byte, which `percent_encoding` always encodes — and `%` itself.
const GRPC_MESSAGE: &AsciiSet = &CONTROLS.add(b'%');

impl Rejection {
    /// The status the response carries: [`status`](Self::status), except for a
    /// gRPC client, whose refusal travels in a trailers-only `200` with
    /// `grpc-status` (see [`grpc_status`](Self::grpc_status)).
    pub fn response_status(&self) -> u16 {
        if self.0.grpc { 200 } else { self.status() }
    }

    /// The gRPC status of the refusal: `UNAUTHENTICATED` (16) for the 401 cases,
    /// `PERMISSION_DENIED` (7) for the 403 cases, `UNAVAILABLE` (14) for 503 and
    /// `INVALID_ARGUMENT` (3) for 400.
    pub fn grpc_status(&self) -> u16 {
        match self.status() {
            400 => GRPC_INVALID_ARGUMENT,
            403 => GRPC_PERMISSION_DENIED,
            503 => GRPC_UNAVAILABLE,
            _ => GRPC_UNAUTHENTICATED,
        }
    }

    /// This rejection rendered for a gRPC client (the guard does it when the request
    /// is gRPC): status `200`, no body, and in the headers (a trailers-only
    /// response) `grpc-status`, `grpc-message`, `mfa-guard-code`, and the same
    /// `WWW-Authenticate` and `Retry-After` as for HTTP. For the MFA refusal
    /// `grpc-message` is `Unauthorized - MFA required`, so it stays recognisable.
    #[must_use]
    pub(crate) fn for_grpc(mut self) -> Self {
        Arc::make_mut(&mut self.0).grpc = true;
        self
    }

    /// `grpc-status`, `grpc-message` and `mfa-guard-code`, for a gRPC client only.
    pub(super) fn grpc_headers(&self) -> Option<[(&'static str, Cow<'_, str>); 3]> {
        self.0.grpc.then(|| {
            let message = self.0.reason.unwrap_or(&self.0.detail);
            [
                ("grpc-status", Cow::Owned(self.grpc_status().to_string())),
                ("grpc-message", Cow::Owned(grpc_message(message))),
                ("mfa-guard-code", Cow::Borrowed(self.0.code.as_str())),
            ]
        })
    }
}

/// `message` as `grpc-message` carries it.
fn grpc_message(message: &str) -> String {
    utf8_percent_encode(message, GRPC_MESSAGE).to_string()
}

#[cfg(test)]
mod tests {
    use super::grpc_message;

    #[test]
    fn grpc_message_percent_encodes_percent_controls_and_non_ascii_and_nothing_else() {
        assert_eq!(grpc_message("100% sure"), "100%25 sure");
        assert_eq!(grpc_message("caf\u{e9}\tend\u{7f}"), "caf%C3%A9%09end%7F");
        let visible: String = (0x20u8..0x7f).filter(|&b| b != b'%').map(char::from).collect();
        assert_eq!(grpc_message(&visible), visible, "visible ASCII and space stay as they are");
    }
}
