//! What an adapter hands the engine about a request: method, path, query and the
//! raw `Authorization` header values. Borrowed, so building it costs nothing.

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
    pub(crate) query: Option<&'a str>,
    pub(crate) authorization: Option<&'a [u8]>,
    pub(crate) authorization_count: usize,
}

impl<'a> RequestInfo<'a> {
    /// A request with this method (e.g. `GET`) and path (without the query).
    pub fn new(method: &'a str, path: &'a str) -> Self {
        Self { method, path, query: None, authorization: None, authorization_count: 0 }
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

    /// The path.
    pub fn path(&self) -> &'a str {
        self.path
    }

    /// How many `Authorization` header lines the request carried.
    pub fn authorization_count(&self) -> usize {
        self.authorization_count
    }
}

impl std::fmt::Debug for RequestInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Authorization value is a credential: never printed.
        f.debug_struct("RequestInfo")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query.map(|_| "<redacted>"))
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .field("authorization_count", &self.authorization_count)
            .finish()
    }
}
