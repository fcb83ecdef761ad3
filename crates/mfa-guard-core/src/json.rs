//! A helper shared by the strict JSON readers of tokens (claims and JOSE header).

use std::borrow::Cow;

use serde::Deserialize;

/// A JSON string, borrowed from the input whenever it holds no escape sequence:
/// serde's own borrowing of a `Cow<str>` field marked `#[serde(borrow)]` (a bare
/// `Cow<'de, str>` always copies, which cost every claim name and header parameter an
/// allocation on each verification).
#[derive(Deserialize)]
#[serde(transparent)]
pub(crate) struct JsonStr<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Cow<'_, str>, serde_json::Error> {
        serde_json::from_str::<JsonStr<'_>>(json).map(|s| s.0)
    }

    #[test]
    fn plain_strings_are_borrowed_from_the_input() {
        assert!(matches!(read(r#""amr""#).unwrap(), Cow::Borrowed("amr")));
    }

    #[test]
    fn escaped_strings_are_unescaped_into_an_owned_copy() {
        let s = read(r#""a\u006dr""#).unwrap();
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(s, "amr");
    }

    #[test]
    fn anything_but_a_string_is_refused() {
        for json in ["5", "null", "true", r#"["amr"]"#, r#"{"a":1}"#] {
            assert!(read(json).is_err(), "{json}");
        }
    }
}
