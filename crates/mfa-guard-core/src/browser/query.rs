//! The queries browser mode reads and writes: the callback's parameters and the
//! sign-in path's, read with `form_urlencoded` (percent-decoding, `+` as a space,
//! invalid UTF-8 replaced), and the values of the links it makes, escaped.

use super::MAX_CALLBACK_QUERY;

/// What is escaped in a query parameter value: everything but RFC 3986's
/// unreserved characters.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `value` escaped for a query parameter of a link or redirect browser mode makes.
pub(crate) fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY_VALUE).collect()
}

/// The first value of the parameter `name` in `query`, decoded.
pub(crate) fn param(query: Option<&str>, name: &str) -> Option<String> {
    let query = query.filter(|q| q.len() <= MAX_CALLBACK_QUERY)?;
    form_urlencoded::parse(query.as_bytes()).find(|(n, _)| n == name).map(|(_, v)| v.into_owned())
}

/// What the callback reads of its query.
#[derive(Default)]
pub(crate) struct Callback {
    pub(crate) code: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) error_description: Option<String>,
}

impl Callback {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = Callback::default();
        let Some(q) = query.filter(|q| q.len() <= MAX_CALLBACK_QUERY) else { return out };
        for (name, value) in form_urlencoded::parse(q.as_bytes()) {
            let slot = match &*name {
                "code" => &mut out.code,
                "state" => &mut out.state,
                "error" => &mut out.error,
                "error_description" => &mut out.error_description,
                _ => continue,
            };
            // A repeated parameter is ambiguous: keep neither reading.
            *slot = if slot.is_some() { Some(String::new()) } else { Some(value.into_owned()) };
        }
        out
    }
}
