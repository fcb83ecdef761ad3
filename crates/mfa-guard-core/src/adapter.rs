//! What every framework adapter does with core's decision, written once: the
//! caller put into the request's extensions, core's headers merged into the
//! handler's response, an [`Answer`] written as a response. An adapter implements
//! two small traits for its framework's types ([`Extensions`], [`HeaderSink`]) —
//! core implements both for the `http` crate's — and is left with glue only.

use http::{HeaderName, HeaderValue};

use crate::answer::Answer;
use crate::guard::{Admission, Admitted};
use crate::principal::{HeaderMerge, Principal};

/// A request's typed extensions, where an admitted caller (or the marker of a
/// request let through without one) is put for handlers and extractors to find.
///
/// Implemented for [`http::Extensions`]; a framework with its own (actix-web)
/// implements it on a wrapper of its own type.
pub trait Extensions {
    /// Inserts `value`, replacing any value of its type.
    fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T);
}

impl Extensions for http::Extensions {
    fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        http::Extensions::insert(self, value);
    }
}

/// A response's header map, as core writes into it. Names are lowercase.
///
/// Implemented for [`http::HeaderMap`]; a framework with its own (actix-web)
/// implements it on a wrapper of its own type.
pub trait HeaderSink {
    /// Adds a value beside those already there.
    fn append(&mut self, name: &str, value: &str);
    /// Sets the only value of `name`, removing those already there.
    fn replace(&mut self, name: &str, value: &str);
    /// Whether the response has a value of `name`.
    fn contains(&self, name: &str) -> bool;
    /// Sets `name` to `value` only where the response has no value of it.
    fn set_if_absent(&mut self, name: &str, value: &str) {
        if !self.contains(name) {
            self.replace(name, value);
        }
    }

    /// Puts one of core's headers, typed as the `http` crate types it, as `how`
    /// says. By default as text, through the methods above; the `http` crate's own
    /// map takes the value as it is, neither parsed nor copied again.
    fn merge_typed(&mut self, name: &HeaderName, value: &HeaderValue, how: HeaderMerge) {
        if let Ok(text) = value.to_str() {
            merge(std::iter::once((name.as_str(), text, how)), self);
        }
    }
}

impl HeaderSink for http::HeaderMap {
    fn append(&mut self, name: &str, value: &str) {
        if let Some((name, value)) = typed(name, value) {
            http::HeaderMap::append(self, name, value);
        }
    }

    fn replace(&mut self, name: &str, value: &str) {
        if let Some((name, value)) = typed(name, value) {
            self.insert(name, value);
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.contains_key(name)
    }

    /// One lookup of `name`, where `contains` and `replace` take two.
    fn set_if_absent(&mut self, name: &str, value: &str) {
        if let Some((name, value)) = typed(name, value) {
            set_if_absent(self, name, value);
        }
    }

    fn merge_typed(&mut self, name: &HeaderName, value: &HeaderValue, how: HeaderMerge) {
        let (name, value) = (name.clone(), value.clone());
        match how {
            HeaderMerge::Append => {
                http::HeaderMap::append(self, name, value);
            }
            HeaderMerge::Replace => {
                self.insert(name, value);
            }
            HeaderMerge::IfAbsent => set_if_absent(self, name, value),
        }
    }
}

fn set_if_absent(headers: &mut http::HeaderMap, name: HeaderName, value: HeaderValue) {
    if let http::header::Entry::Vacant(slot) = headers.entry(name) {
        slot.insert(value);
    }
}

/// Core renders header names and values from visible ASCII only; one that still
/// failed to convert is dropped rather than turned into a 500. A value of a
/// [credential](is_credential) (the session cookie core sets) is marked sensitive.
fn typed(name: &str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    let (name, mut value) =
        (HeaderName::from_bytes(name.as_bytes()).ok()?, HeaderValue::from_str(value).ok()?);
    value.set_sensitive(is_credential(name.as_str()));
    Some((name, value))
}

/// The request headers that carry credentials: a bearer token or other
/// `Authorization`, a proxy's credentials, the cookies (the session cookie among
/// them).
pub const REQUEST_CREDENTIALS: [HeaderName; 3] =
    [http::header::AUTHORIZATION, http::header::PROXY_AUTHORIZATION, http::header::COOKIE];

/// Whether a header named `name` (in any case) carries a credential: one of the
/// [`REQUEST_CREDENTIALS`], or the session cookie core sets (`set-cookie`).
///
/// Their values are marked sensitive — by the tower adapter in the request before
/// the inner service sees it ([`mark_credentials`]), by both adapters in the headers
/// core adds to a response — so that the `Debug` of a `HeaderValue` shows
/// `Sensitive`, and tower-http's trace and logging layers behind the guard leave them
/// out. Code that reads the bytes still gets them, and a layer outside the guard
/// runs before the marking: it marks them itself (the axum example does, when it
/// adds the trace layer).
pub fn is_credential(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie") || REQUEST_CREDENTIALS.iter().any(|credential| credential == name)
}

/// Marks every value of the [`REQUEST_CREDENTIALS`] of a request sensitive (what
/// the tower adapter does before the inner service sees the request).
pub fn mark_credentials(headers: &mut http::HeaderMap) {
    for (name, value) in headers.iter_mut() {
        if REQUEST_CREDENTIALS.contains(name) {
            value.set_sensitive(true);
        }
    }
}

/// The headers core puts on the response of the handler a request reached (the
/// compliance signal when configured; in browser mode the session cookie and the
/// response's caching), kept from admission until that response exists. Holding
/// one costs no allocation.
#[derive(Debug, Clone, Default)]
#[must_use = "the headers are only added by `apply`"]
pub struct ResponseEdits(Option<Principal>);

impl ResponseEdits {
    /// Puts every header on the handler's response, each as its [`HeaderMerge`]
    /// says: beside the handler's, instead of them, or only where it set none.
    pub fn apply(&self, headers: &mut impl HeaderSink) {
        if let Some(principal) = &self.0 {
            merge(principal.compliance().map(|(name, value)| (name, value, HeaderMerge::Append)), headers);
            for (name, value, how) in principal.typed_edits() {
                headers.merge_typed(name, value, *how);
            }
        }
    }
}

fn merge<'e, S: HeaderSink + ?Sized>(
    edits: impl IntoIterator<Item = (&'e str, &'e str, HeaderMerge)>,
    headers: &mut S,
) {
    for (name, value, how) in edits {
        match how {
            HeaderMerge::Append => headers.append(name, value),
            HeaderMerge::Replace => headers.replace(name, value),
            HeaderMerge::IfAbsent => headers.set_if_absent(name, value),
        }
    }
}

impl Admission {
    /// Acts on the decision for a request about to reach its handler: puts the
    /// caller (or the anonymous marker) into `extensions` and hands back the
    /// headers for the handler's response; or hands back the [`Answer`] to send
    /// instead of calling the handler.
    pub fn admit(self, extensions: &mut impl Extensions) -> Result<ResponseEdits, Answer> {
        match self.into_answer()? {
            Admitted::Caller(principal) => {
                let edits = ResponseEdits(Some(principal.clone()));
                extensions.insert(principal);
                Ok(edits)
            }
            Admitted::Anonymous(marker) => {
                extensions.insert(marker);
                Ok(ResponseEdits::default())
            }
        }
    }
}

impl Answer {
    /// Writes every header of the answer, in order (a name may repeat).
    pub fn write_headers(&self, headers: &mut impl HeaderSink) {
        for (name, value) in self.headers() {
            headers.append(name, &value);
        }
    }

    /// The answer as an `http` response, with the body type made by `body`; the
    /// [`Rejection`](crate::Rejection) behind it, if any, is in its extensions, so
    /// outer layers can see why.
    ///
    /// The HTTP/1.1 reason phrase ([`reason_phrase`](Self::reason_phrase)) is the
    /// server's to send (hyper's `ext::ReasonPhrase`), so the adapter adds it.
    pub fn to_http<B>(&self, body: impl FnOnce(Vec<u8>) -> B) -> http::Response<B> {
        let mut response = http::Response::new(body(self.body()));
        // Core only produces 200 (gRPC), 302, 400, 401, 403 and 503, all valid codes.
        *response.status_mut() =
            http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::UNAUTHORIZED);
        self.write_headers(response.headers_mut());
        if let Some(rejection) = self.rejection() {
            response.extensions_mut().insert(rejection.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::{Refusal, Rejection, RejectionCode};

    /// A sink that only writes text: what an adapter on another framework's header
    /// map implements, so `merge_typed` takes its default path.
    struct TextOnly(http::HeaderMap);

    impl HeaderSink for TextOnly {
        fn append(&mut self, name: &str, value: &str) {
            HeaderSink::append(&mut self.0, name, value);
        }

        fn replace(&mut self, name: &str, value: &str) {
            self.0.replace(name, value);
        }

        fn contains(&self, name: &str) -> bool {
            self.0.contains(name)
        }
    }

    #[test]
    fn each_header_meets_the_handlers_own_as_its_merge_says_as_text_or_typed() {
        let handler = || {
            let mut handler = http::HeaderMap::new();
            handler.append("set-cookie", HeaderValue::from_static("theirs=1"));
            handler.append("cache-control", HeaderValue::from_static("public"));
            handler.append("cache-control", HeaderValue::from_static("max-age=60"));
            handler.append("vary", HeaderValue::from_static("accept"));
            handler
        };
        let edits = [
            ("set-cookie", "ours=2", HeaderMerge::Append),
            ("cache-control", "private, no-store", HeaderMerge::Replace),
            ("vary", "cookie", HeaderMerge::IfAbsent),
            ("x-absent", "set", HeaderMerge::IfAbsent),
        ];
        let typed = edits.map(|(n, v, how)| (HeaderName::from_static(n), HeaderValue::from_static(v), how));
        let mut as_text = handler();
        merge(edits, &mut as_text);
        let mut typed_into_http = handler();
        let mut typed_into_text = TextOnly(handler());
        for (name, value, how) in &typed {
            typed_into_http.merge_typed(name, value, *how);
            typed_into_text.merge_typed(name, value, *how);
        }
        for (way, headers) in
            [("text", as_text), ("typed", typed_into_http), ("typed as text", typed_into_text.0)]
        {
            let all =
                |name: &str| headers.get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>();
            assert_eq!(all("set-cookie"), ["theirs=1", "ours=2"], "{way}");
            assert_eq!(all("cache-control"), ["private, no-store"], "{way}");
            assert_eq!(all("vary"), ["accept"], "{way}");
            assert_eq!(all("x-absent"), ["set"], "{way}");
        }
    }

    #[test]
    fn the_session_cookie_core_sets_is_sensitive_and_its_other_headers_are_not() {
        let mut handler = http::HeaderMap::new();
        handler.append("set-cookie", HeaderValue::from_static("theirs=1"));
        let edits = [
            ("set-cookie", "__Host-mfa-guard=v1.sealed", HeaderMerge::Append),
            ("cache-control", "private", HeaderMerge::IfAbsent),
        ];
        merge(edits, &mut handler);
        let ours =
            handler.get_all("set-cookie").iter().find(|v| v.as_bytes().starts_with(b"__Host")).unwrap();
        assert!(ours.is_sensitive());
        assert!(!handler["cache-control"].is_sensitive());
        assert!(!format!("{handler:?}").contains("sealed"), "{handler:?}");
    }

    #[test]
    fn every_value_of_every_credential_of_a_request_is_marked_sensitive_and_nothing_else() {
        let mut headers = http::HeaderMap::new();
        for (name, value) in [
            ("authorization", "Bearer secret-token"),
            ("authorization", "Basic c2VjcmV0"),
            ("cookie", "__Host-mfa-guard=secret-session"),
            ("cookie", "theme=secret-theme"),
            ("proxy-authorization", "Basic c2VjcmV0LXByb3h5"),
            ("accept", "text/html"),
            ("x-request-id", "r-1"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        mark_credentials(&mut headers);
        for (name, value) in &headers {
            assert_eq!(value.is_sensitive(), name != "accept" && name != "x-request-id", "{name}");
        }
        let shown = format!("{headers:?}");
        assert!(!shown.contains("secret") && !shown.contains("c2Vj"), "{shown}");
        assert!(shown.contains("text/html"), "{shown}");
    }

    #[test]
    fn credentials_are_the_four_headers_that_carry_one_in_any_case() {
        for name in
            ["authorization", "proxy-authorization", "cookie", "set-cookie", "Authorization", "SET-COOKIE"]
        {
            assert!(is_credential(name), "{name}");
        }
        for name in ["accept", "cookie2", "x-authorization", "authorization ", "www-authenticate", ""] {
            assert!(!is_credential(name), "{name}");
        }
    }

    #[test]
    fn an_admitted_caller_is_put_in_the_extensions_and_a_refusal_is_answered() {
        let mut extensions = http::Extensions::new();
        let refused =
            Admission::Refused(Rejection::standalone(Refusal::new(RejectionCode::MfaRequired, "no mfa")));
        let answer = refused.admit(&mut extensions).unwrap_err();
        assert!(extensions.is_empty(), "a refused request reaches no handler");
        let response = answer.to_http(|b| b);
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer error=\"invalid_token\"");
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["code"], "mfa_required");
        assert_eq!(
            response.extensions().get::<Rejection>().map(Rejection::code),
            Some(RejectionCode::MfaRequired),
            "outer layers see why"
        );
    }
}
