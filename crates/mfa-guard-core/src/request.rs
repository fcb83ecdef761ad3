//! What an adapter hands the engine about a request: method, path (as received and,
//! where it differs, as the router reads it), query and the header values core
//! reads. Borrowed, so building it costs nothing; which headers those are is
//! decided here ([`RequestHeaders`]), never in an adapter.

/// The parts of an HTTP request the engine decides on.
///
/// Adapters fill it from their framework's request; the engine never sees the body.
///
/// ```
/// use mfa_guard_core::RequestInfo;
///
/// let req = RequestInfo::new("GET", "/commerce/customers")
///     .with_query(Some("page=2"))
///     .with_authorization(b"Bearer eyJ...");
/// assert_eq!(req.authorization_count(), 1);
/// ```
#[derive(Clone, Copy)]
pub struct RequestInfo<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) routed_path: Option<&'a str>,
    pub(crate) query: Option<&'a str>,
    pub(crate) authorization: Option<&'a [u8]>,
    pub(crate) authorization_count: usize,
    pub(crate) content_type: Option<&'a [u8]>,
    /// `Cookie` header values (browser mode reads its session there).
    pub(crate) cookies: &'a [&'a [u8]],
    /// `Sec-Fetch-Mode`.
    pub(crate) fetch_mode: Option<&'a [u8]>,
    /// `Accept`.
    pub(crate) accept: Option<&'a [u8]>,
    /// `Sec-Fetch-Site`.
    pub(crate) fetch_site: Option<&'a [u8]>,
    /// `Origin`.
    pub(crate) origin: Option<&'a [u8]>,
}

impl<'a> RequestInfo<'a> {
    /// A request with this method (e.g. `GET`) and path as received, still
    /// percent-encoded (the URI's path, without the query).
    ///
    /// The route rule is chosen from this path unless the router reads it another
    /// way; then say how with [`with_routed_path`](Self::with_routed_path).
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self {
            method,
            path,
            routed_path: None,
            query: None,
            authorization: None,
            authorization_count: 0,
            content_type: None,
            cookies: &[],
            fetch_mode: None,
            accept: None,
            fetch_site: None,
            origin: None,
        }
    }

    /// A request of an `http` framework: its method, its URI's path (as received,
    /// still percent-encoded) and query, and the headers core reads.
    ///
    /// If the router reads the path another way, say how with
    /// [`with_routed_path`](Self::with_routed_path).
    pub fn from_http(method: &'a http::Method, uri: &'a http::Uri, headers: &'a RequestHeaders<'a>) -> Self {
        Self::new(method.as_str(), uri.path()).with_query(uri.query()).with_headers(headers)
    }

    /// Every header core reads, from what the framework held (see
    /// [`RequestHeaders`]); replaces whatever header values were set before.
    #[must_use]
    pub fn with_headers(mut self, headers: &'a RequestHeaders<'a>) -> Self {
        self.authorization = headers.authorization;
        self.authorization_count = headers.authorization_count;
        self.content_type = headers.content_type;
        self.cookies = headers.cookies.as_slice();
        self.fetch_mode = headers.fetch_mode;
        self.accept = headers.accept;
        self.fetch_site = headers.fetch_site;
        self.origin = headers.origin;
        self
    }

    /// The request's `Cookie` header values (HTTP/2 may split them over several).
    /// Only browser mode reads them, and only for top-level navigations.
    #[must_use]
    pub fn with_cookies(mut self, values: &'a [&'a [u8]]) -> Self {
        self.cookies = values;
        self
    }

    /// `Sec-Fetch-Mode` and `Accept`, by which browser mode tells a top-level
    /// navigation (answered with redirects and pages) from an API call (answered
    /// as without browser mode).
    #[must_use]
    pub fn with_navigation_headers(
        mut self,
        sec_fetch_mode: Option<&'a [u8]>,
        accept: Option<&'a [u8]>,
    ) -> Self {
        self.fetch_mode = sec_fetch_mode;
        self.accept = accept;
        self
    }

    /// `Sec-Fetch-Site` and `Origin`, by which browser mode tells a sign-out posted
    /// from the application's own pages from one another site makes a browser send
    /// (only the sign-out path reads them).
    #[must_use]
    pub fn with_origin_headers(mut self, sec_fetch_site: Option<&'a [u8]>, origin: Option<&'a [u8]>) -> Self {
        self.fetch_site = sec_fetch_site;
        self.origin = origin;
        self
    }

    /// The path exactly as the router that dispatches the request reads it, when
    /// that is not the path as received: actix-web decodes percent-escapes (except
    /// `%2F`, `%25`, `%2B`) before matching, nginx matches its normalised `$uri`. The
    /// route rule is then chosen from this reading, so it is the rule of the handler
    /// the router reaches; the path as received is still checked for forms that
    /// cannot be read one way (see [`PathRules`](crate::PathRules)).
    ///
    /// ```
    /// use mfa_guard_core::RequestInfo;
    ///
    /// // actix-web reads `/%63ommerce/x` as `/commerce/x` and routes it there.
    /// let req = RequestInfo::new("GET", "/%63ommerce/x").with_routed_path("/commerce/x");
    /// assert_eq!(req.routed_path(), "/commerce/x");
    /// ```
    #[must_use]
    pub fn with_routed_path(mut self, reading: &'a str) -> Self {
        self.routed_path = Some(reading);
        self
    }

    /// The query string, without the `?`.
    #[must_use]
    pub fn with_query(mut self, query: Option<&'a str>) -> Self {
        self.query = query;
        self
    }

    /// Adds one `Authorization` header value. Call once per header line received:
    /// more than one is refused as `invalid_request`.
    #[must_use]
    pub fn with_authorization(mut self, value: &'a [u8]) -> Self {
        if self.authorization.is_none() {
            self.authorization = Some(value);
        }
        self.authorization_count += 1;
        self
    }

    /// The `Content-Type` of the request: a gRPC request (`application/grpc…`) is
    /// refused the gRPC way (see [`Rejection::for_grpc`](crate::Rejection::for_grpc)).
    #[must_use]
    #[cfg(test)]
    pub(crate) fn with_content_type(mut self, value: Option<&'a [u8]>) -> Self {
        self.content_type = value;
        self
    }

    /// Whether the request is gRPC (its `Content-Type` is `application/grpc`, with
    /// or without a `+proto`-style suffix).
    pub(crate) fn is_grpc(&self) -> bool {
        self.content_type.is_some_and(|v| {
            v.len() >= 16
                && v[..16].eq_ignore_ascii_case(b"application/grpc")
                && matches!(v.get(16), None | Some(b'+' | b';'))
        })
    }

    /// Adds every value of an iterator of `Authorization` header values.
    #[must_use]
    pub fn with_authorizations<I>(mut self, values: I) -> Self
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        for v in values {
            self = self.with_authorization(v);
        }
        self
    }

    /// The method.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The path as received.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// The path the route rule is chosen from: the router's reading if one was
    /// given, else the path as received.
    pub fn routed_path(&self) -> &'a str {
        self.routed_path.unwrap_or(self.path)
    }

    /// How many `Authorization` header lines the request carried.
    pub fn authorization_count(&self) -> usize {
        self.authorization_count
    }

    /// Whether this is a top-level navigation of a browser: `GET` or `HEAD`, no
    /// `Authorization`, and `Sec-Fetch-Mode: navigate` — or, from a browser that
    /// sends no fetch metadata, an `Accept` naming `text/html`. Browser mode answers
    /// exactly these with redirects and pages; a handler that shows people a page
    /// and programs JSON asks the same question, so the two never disagree.
    ///
    /// ```
    /// use mfa_guard_core::RequestInfo;
    ///
    /// let address_bar = RequestInfo::new("GET", "/overview")
    ///     .with_navigation_headers(Some(b"navigate"), Some(b"text/html,*/*;q=0.8"));
    /// assert!(address_bar.is_navigation());
    /// let api = address_bar.with_authorization(b"Bearer eyJ...");
    /// assert!(!api.is_navigation(), "a bearer token makes it an API call");
    /// let fetch = RequestInfo::new("GET", "/overview").with_navigation_headers(Some(b"cors"), None);
    /// assert!(!fetch.is_navigation());
    /// ```
    #[cfg(feature = "browser")]
    pub fn is_navigation(&self) -> bool {
        // The one rule: browser mode decides with it too (its pages and redirects
        // answer exactly these), so it lives with the request's facts, not in
        // `browser`, which reads requests (a request never reads the browser).
        if !matches!(self.method, "GET" | "HEAD") || self.authorization_count > 0 {
            return false;
        }
        match self.fetch_mode {
            Some(mode) => mode.eq_ignore_ascii_case(b"navigate"),
            None => self.accept.is_some_and(|a| a.windows(9).any(|w| w.eq_ignore_ascii_case(b"text/html"))),
        }
    }
}

impl std::fmt::Debug for RequestInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Authorization value is a credential: never printed.
        f.debug_struct("RequestInfo")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("routed_path", &self.routed_path)
            .field("query", &self.query.map(|_| "<redacted>"))
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .field("authorization_count", &self.authorization_count)
            .field("grpc", &self.is_grpc())
            .finish()
    }
}

/// The header values the engine reads, gathered from a framework's header map
/// once per request, for [`RequestInfo::from_http`] and
/// [`RequestInfo::with_headers`] to borrow.
///
/// It exists because a request's `Cookie` values (HTTP/2 sends one header per
/// cookie) need a place to live while a [`RequestInfo`] borrows them; everything
/// else is borrowed from the map. Which headers core reads is core's business: an
/// adapter hands over the whole map ([`from_map`](Self::from_map)) or, for a
/// framework with a header map of its own, every `(name, value)` pair it holds
/// ([`from_pairs`](Self::from_pairs)).
///
/// ```
/// use mfa_guard_core::{RequestHeaders, RequestInfo};
///
/// let request = http::Request::get("/commerce/customers?page=2")
///     .header("authorization", "Bearer eyJ...")
///     .header("cookie", "a=1")
///     .header("cookie", "b=2")
///     .body(())
///     .unwrap();
/// let headers = RequestHeaders::from_map(request.headers());
/// let info = RequestInfo::from_http(request.method(), request.uri(), &headers);
/// assert_eq!((info.method(), info.path()), ("GET", "/commerce/customers"));
/// assert_eq!(info.authorization_count(), 1);
/// ```
#[derive(Default)]
pub struct RequestHeaders<'a> {
    authorization: Option<&'a [u8]>,
    authorization_count: usize,
    content_type: Option<&'a [u8]>,
    cookies: CookieValues<'a>,
    fetch_mode: Option<&'a [u8]>,
    accept: Option<&'a [u8]>,
    fetch_site: Option<&'a [u8]>,
    origin: Option<&'a [u8]>,
}

impl<'a> RequestHeaders<'a> {
    /// The headers of an `http` request (tower, axum, hyper, tonic): its pairs,
    /// read as [`from_pairs`](Self::from_pairs) reads any framework's, in one pass
    /// over the map (cheaper than looking up each header core reads).
    pub fn from_map(map: &'a http::HeaderMap) -> Self {
        Self::from_pairs(map.iter().map(|(name, value)| (name.as_str(), value.as_bytes())))
    }

    /// The headers of a framework with a header map of its own (actix-web): every
    /// `(name, value)` pair of the request, a name repeated once per value, in the
    /// order received. Names are compared without regard to case; where core reads
    /// one value of a header, the first wins, as [`from_map`](Self::from_map) reads
    /// it.
    pub fn from_pairs<I>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let mut headers = Self::default();
        for (name, value) in pairs {
            let slot = match name.len() {
                13 if name.eq_ignore_ascii_case("authorization") => {
                    headers.authorization.get_or_insert(value);
                    headers.authorization_count += 1;
                    continue;
                }
                6 if name.eq_ignore_ascii_case("cookie") => {
                    headers.cookies.push(value);
                    continue;
                }
                12 if name.eq_ignore_ascii_case("content-type") => &mut headers.content_type,
                14 if name.eq_ignore_ascii_case(SEC_FETCH_MODE) => &mut headers.fetch_mode,
                6 if name.eq_ignore_ascii_case("accept") => &mut headers.accept,
                14 if name.eq_ignore_ascii_case(SEC_FETCH_SITE) => &mut headers.fetch_site,
                6 if name.eq_ignore_ascii_case("origin") => &mut headers.origin,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        headers
    }
}

impl std::fmt::Debug for RequestHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Authorization and cookies are credentials: only their counts are printed.
        f.debug_struct("RequestHeaders")
            .field("authorization_count", &self.authorization_count)
            .field("cookie_headers", &self.cookies.as_slice().len())
            .finish_non_exhaustive()
    }
}

const SEC_FETCH_MODE: &str = "sec-fetch-mode";
const SEC_FETCH_SITE: &str = "sec-fetch-site";

/// A request's `Cookie` header values as the slice [`RequestInfo::with_cookies`]
/// takes, allocating only when there are several (HTTP/2 browsers send one header
/// per cookie).
#[derive(Default)]
struct CookieValues<'a>(Values<'a>);

#[derive(Default)]
enum Values<'a> {
    #[default]
    None,
    One([&'a [u8]; 1]),
    Many(Vec<&'a [u8]>),
}

impl<'a> CookieValues<'a> {
    /// Adds the next value.
    fn push(&mut self, value: &'a [u8]) {
        self.0 = match std::mem::take(&mut self.0) {
            Values::None => Values::One([value]),
            Values::One([first]) => Values::Many(vec![first, value]),
            Values::Many(mut many) => {
                many.push(value);
                Values::Many(many)
            }
        };
    }

    /// The values as a slice.
    fn as_slice(&self) -> &[&'a [u8]] {
        match &self.0 {
            Values::None => &[],
            Values::One(one) => one,
            Values::Many(many) => many,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{CookieValues, RequestHeaders, RequestInfo};

    #[test]
    fn every_value_comes_back_in_order() {
        let mut values = CookieValues::default();
        assert!(values.as_slice().is_empty());
        values.push(b"a=1");
        assert_eq!(values.as_slice(), &[&b"a=1"[..]]);
        values.push(b"b=2");
        values.push(b"c=3");
        let three: [&[u8]; 3] = [b"a=1", b"b=2", b"c=3"];
        assert_eq!(values.as_slice(), &three[..]);
    }

    /// One request's headers, as `(name, value)` pairs in the order received.
    const RECEIVED: [(&str, &str); 11] = [
        ("host", "api.example"),
        ("authorization", "Bearer first"),
        ("cookie", "a=1"),
        ("content-type", "application/grpc"),
        ("sec-fetch-mode", "navigate"),
        ("accept", "text/html"),
        ("sec-fetch-site", "same-origin"),
        ("origin", "https://api.example"),
        ("authorization", "Bearer second"),
        ("cookie", "b=2"),
        ("accept", "application/json"),
    ];

    fn facts(info: &RequestInfo<'_>) -> String {
        let text = |v: Option<&[u8]>| v.map(|v| String::from_utf8_lossy(v).into_owned());
        format!(
            "{} {} {:?} auth={:?}x{} ct={:?} cookies={:?} mode={:?} accept={:?} site={:?} origin={:?}",
            info.method,
            info.path,
            info.query,
            text(info.authorization),
            info.authorization_count,
            text(info.content_type),
            info.cookies.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>(),
            text(info.fetch_mode),
            text(info.accept),
            text(info.fetch_site),
            text(info.origin),
        )
    }

    const EXPECTED: &str = "GET /commerce/x Some(\"page=2\") auth=Some(\"Bearer first\")x2 \
        ct=Some(\"application/grpc\") cookies=[\"a=1\", \"b=2\"] mode=Some(\"navigate\") \
        accept=Some(\"text/html\") site=Some(\"same-origin\") origin=Some(\"https://api.example\")";

    #[test]
    fn an_http_request_is_read_with_every_header_core_decides_on() {
        let mut request = http::Request::get("/commerce/x?page=2");
        for (name, value) in RECEIVED {
            request = request.header(name, value);
        }
        let request = request.body(()).unwrap();
        let headers = RequestHeaders::from_map(request.headers());
        let info = RequestInfo::from_http(request.method(), request.uri(), &headers);
        assert_eq!(facts(&info), EXPECTED);
        assert!(info.is_grpc());
    }

    #[test]
    fn pairs_of_another_framework_are_read_as_an_http_map_is() {
        // Another framework's map may hand names in any case; the first value of a
        // header read once wins, every Authorization line is counted.
        let upper: Vec<(String, &str)> = RECEIVED.iter().map(|(n, v)| (n.to_ascii_uppercase(), *v)).collect();
        let headers = RequestHeaders::from_pairs(upper.iter().map(|(n, v)| (n.as_str(), v.as_bytes())));
        let info = RequestInfo::new("GET", "/commerce/x").with_query(Some("page=2")).with_headers(&headers);
        assert_eq!(facts(&info), EXPECTED);
    }

    #[test]
    fn headers_are_never_printed() {
        let headers = RequestHeaders::from_pairs(RECEIVED.iter().map(|(n, v)| (*n, v.as_bytes())));
        let debug = format!("{headers:?}");
        assert!(!debug.contains("Bearer") && !debug.contains("a=1"), "{debug}");
        assert!(debug.contains("authorization_count: 2"), "{debug}");
    }
}
