//! A helper shared by the strict JSON readers of tokens (claims and JOSE header).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A JSON string, borrowed from the input whenever it holds no escape sequence.
///
/// serde's own `Cow<'de, str>` always copies (it borrows only for fields marked
/// `#[serde(borrow)]` in derived code), which cost every claim name and header
/// parameter an allocation on each verification.
pub(crate) struct JsonStr<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<JsonStr<'de>, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

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
