//! Reading claims from the token payload: one pass over the JSON, strict types for
//! known claims, duplicate names refused, unknown claims kept.
//!
//! The visitor is hand-written rather than derived: derive with `flatten` buffers
//! every value twice and cannot see duplicate unknown keys, and a derived error
//! message carries serde_json's "at line 1 column 57", which means nothing to a
//! person looking at a token. The precise reason is written into a slot carried by
//! the seed instead.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::Claims;
use crate::json::JsonStr;
use crate::rejection::quote_untrusted;
use crate::time::NumericDate;

/// Parses a token payload (already base64url-decoded) into [`Claims`].
///
/// The error is a description fit for `error_description` (no token material).
pub(crate) fn parse_claims(json: &[u8]) -> Result<Claims, Cow<'static, str>> {
    let mut reason = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    let parsed = ClaimsSeed { reason: &mut reason }.deserialize(&mut de).and_then(|c| {
        de.end()?;
        Ok(c)
    });
    match parsed {
        Ok(claims) => Ok(claims),
        // A syntax error inside a value is the JSON's fault, not the claim's type.
        Err(e) if e.is_syntax() || e.is_eof() => Err("the token payload is not valid JSON".into()),
        Err(e) => Err(match reason {
            Some(r) => r,
            None if e.is_data() => "the token payload is not a JSON object".into(),
            None => "the token payload is not valid JSON".into(),
        }),
    }
}

struct ClaimsSeed<'r> {
    reason: &'r mut Option<Cow<'static, str>>,
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claims, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let mut c = Claims::default();
        let reason = self.reason;
        let mut aud_seen = false;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            // Each arm reads the value with the type the claim must have; a type error
            // names the claim and what it must be.
            macro_rules! read {
                ($field:expr, $ty:ty, $what:literal) => {{
                    if $field.is_some() {
                        return Err(fail(reason, duplicate(&key)));
                    }
                    match map.next_value::<$ty>() {
                        Ok(v) => $field = Some(v.0),
                        Err(e) => {
                            *reason = Some(format!("claim `{key}` must be {}", $what).into());
                            return Err(e);
                        }
                    }
                }};
            }
            match &*key {
                "iss" => read!(c.iss, Str, "a string"),
                "sub" => read!(c.sub, Str, "a string"),
                "oid" => read!(c.oid, Str, "a string"),
                "tid" => read!(c.tid, Str, "a string"),
                "upn" => read!(c.upn, Str, "a string"),
                "unique_name" => read!(c.unique_name, Str, "a string"),
                "preferred_username" => read!(c.preferred_username, Str, "a string"),
                "name" => read!(c.name, Str, "a string"),
                "appid" => read!(c.appid, Str, "a string"),
                "azp" => read!(c.azp, Str, "a string"),
                "idtyp" => read!(c.idtyp, Str, "a string"),
                "ver" => read!(c.ver, Str, "a string"),
                "acr" => read!(c.acr, Str, "a string"),
                "exp" => read!(c.exp, Date, "a NumericDate (seconds since 1970, years 1 to 9999)"),
                "nbf" => read!(c.nbf, Date, "a NumericDate (seconds since 1970, years 1 to 9999)"),
                "iat" => read!(c.iat, Date, "a NumericDate (seconds since 1970, years 1 to 9999)"),
                "auth_time" => {
                    read!(c.auth_time, Date, "a NumericDate (seconds since 1970, years 1 to 9999)")
                }
                "scp" => read!(c.scp, Scopes, "a space-delimited string or an array of strings"),
                "roles" => read!(c.roles, List, "a string or an array of strings"),
                "wids" => read!(c.wids, List, "a string or an array of strings"),
                "groups" => read!(c.groups, List, "a string or an array of strings"),
                "amr" => read!(c.amr, List, "a string or an array of strings"),
                "acrs" => read!(c.acrs, List, "a string or an array of strings"),
                "xms_cc" => read!(c.xms_cc, List, "a string or an array of strings"),
                "aud" => {
                    if aud_seen {
                        return Err(fail(reason, duplicate("aud")));
                    }
                    aud_seen = true;
                    match map.next_value::<List>() {
                        Ok(list) => c.aud = list.0,
                        Err(e) => {
                            *reason = Some("claim `aud` must be a string or an array of strings".into());
                            return Err(e);
                        }
                    }
                }
                other => {
                    let value: Value = map.next_value()?;
                    match other {
                        // Entra's groups overage: membership is elsewhere, so unknown here.
                        "_claim_names" if value.get("groups").is_some() => c.groups_overage = true,
                        "hasgroups" if value == Value::Bool(true) => c.groups_overage = true,
                        _ => {}
                    }
                    if c.extra.insert(other.to_owned(), value).is_some() {
                        return Err(fail(reason, duplicate(other)));
                    }
                }
            }
        }
        Ok(c)
    }
}

/// The name comes from the token, escapes decoded: any bytes at all, so it is shown
/// only when plain, like every other untrusted value in a description.
fn duplicate(name: &str) -> String {
    format!("claim {} appears more than once", quote_untrusted(name))
}

fn fail<E: de::Error>(slot: &mut Option<Cow<'static, str>>, reason: String) -> E {
    let err = E::custom(&reason);
    *slot = Some(reason.into());
    err
}

/// A JSON string, nothing else (not null, not a number).
struct Str(String);

impl<'de> de::Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str, E> {
                Ok(Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str, E> {
                Ok(Str(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// A string read as a one-element list, or an array of strings.
struct List(Vec<String>);

impl<'de> de::Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = List;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<List, E> {
                Ok(List(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(64));
                while let Some(Str(s)) = seq.next_element::<Str>()? {
                    out.push(s);
                }
                Ok(List(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `scp`: a space-delimited string (RFC 8693 §4.2, Entra) or an array (Okta).
struct Scopes(Vec<String>);

impl<'de> de::Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scopes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a space-delimited string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scopes, E> {
                Ok(Scopes(v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scopes, A::Error> {
                <List as de::Deserialize>::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(|l| Scopes(l.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A NumericDate: integer or float, in range.
struct Date(NumericDate);

impl<'de> de::Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Date;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Date, E> {
                NumericDate::from_unix(v).map(Date).ok_or_else(|| E::custom("out of range"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Date, E> {
                i64::try_from(v)
                    .ok()
                    .and_then(NumericDate::from_unix)
                    .map(Date)
                    .ok_or_else(|| E::custom("out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Date, E> {
                NumericDate::from_json_f64(v).map(Date).ok_or_else(|| E::custom("out of range"))
            }
        }
        d.deserialize_any(V)
    }
}
