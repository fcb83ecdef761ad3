//! The parameters of a query string or form body (`application/x-www-form-urlencoded`).

use std::collections::HashMap;

/// Longest form or query read.
pub(crate) const MAX_FORM: usize = 16 * 1024;

/// The parameters of one request; a repeated one is ambiguous and counts as absent.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, Option<String>>);

/// A query or form longer than [`MAX_FORM`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl Params {
    /// Reads `text` (a query string without `?`, or a form body).
    pub(crate) fn parse(text: &[u8]) -> Result<Self, TooLarge> {
        if text.len() > MAX_FORM {
            return Err(TooLarge);
        }
        let mut out: HashMap<String, Option<String>> = HashMap::new();
        for (name, value) in form_urlencoded::parse(text) {
            out.entry(name.into_owned())
                .and_modify(|seen| *seen = None)
                .or_insert_with(|| Some(value.into_owned()));
        }
        Ok(Self(out))
    }

    /// The value of `name`, when given once.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Option::as_deref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_decoded_and_a_repeated_parameter_counts_as_absent() {
        let p = Params::parse(b"a=x+y%21&b=1&b=2&c").unwrap();
        assert_eq!(p.get("a"), Some("x y!"));
        assert_eq!(p.get("b"), None);
        assert_eq!(p.get("c"), Some(""));
        assert_eq!(p.get("d"), None);
    }

    #[test]
    fn a_form_longer_than_the_limit_is_refused() {
        assert!(Params::parse(&vec![b'a'; MAX_FORM]).is_ok());
        assert_eq!(Params::parse(&vec![b'a'; MAX_FORM + 1]).unwrap_err(), TooLarge);
    }
}
