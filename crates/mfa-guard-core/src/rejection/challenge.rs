//! `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 7235 §2.1): rendering
//! with quoted, escaped, comma-separated parameters, and parsing back.

use std::fmt::Write as _;

/// Renders a Bearer challenge: `Bearer` alone, or `Bearer k="v", k2="v2"`.
///
/// Every value is a quoted-string; `"` and `\` are escaped with a backslash (RFC 7230
/// §3.2.6). Values are expected to be visible ASCII or space; anything else is
/// replaced by `?` so the header is always a valid field value.
pub(crate) fn render_bearer<'a, I>(params: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut out = String::from("Bearer");
    for (i, (name, value)) in params.into_iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '"' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                ' '..='~' => out.push(c),
                _ => out.push('?'),
            }
        }
        out.push('"');
    }
    out
}

/// Makes a human description safe for `error_description` (RFC 6750 §3: visible
/// ASCII and space, but not `"` or `\`) and bounded in length, without escaping.
pub(crate) fn sanitize_description(text: &str) -> String {
    const MAX: usize = 300;
    let mut out = String::with_capacity(text.len().min(MAX));
    for c in text.chars() {
        if out.len() >= MAX {
            out.push_str("...");
            break;
        }
        out.push(match c {
            '"' => '\'',
            '\\' => '/',
            ' '..='~' => c,
            _ => '?',
        });
    }
    out
}

/// Shows an untrusted value (say, a `kid` or `alg` from a token) inside a message:
/// only `[A-Za-z0-9._:+/=-]`, at most 64 characters, else a placeholder.
pub(crate) fn quote_untrusted(value: &str) -> String {
    let ok = value.len() <= 64
        && !value.is_empty()
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:+/=-".contains(&b));
    if ok {
        let mut s = String::with_capacity(value.len() + 2);
        let _ = write!(s, "'{value}'");
        s
    } else {
        "(value not shown)".to_owned()
    }
}

/// A parsed challenge: its scheme and its parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedChallenge {
    /// The auth scheme, e.g. `Bearer`.
    pub scheme: String,
    /// The auth parameters, names as sent, values unquoted and unescaped.
    pub params: Vec<(String, String)>,
}

/// Parses one challenge of a `WWW-Authenticate` value (RFC 7235 §2.1 grammar:
/// `scheme [ 1*SP #auth-param ]`, values as tokens or quoted-strings). Returns `None`
/// when the value does not follow the grammar.
pub fn parse_challenge(value: &str) -> Option<ParsedChallenge> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, mut rest) = match value.find([' ', '\t']) {
        Some(i) => (&value[..i], value[i..].trim_start_matches([' ', '\t'])),
        None => (value, ""),
    };
    if scheme.is_empty() || !scheme.bytes().all(is_tchar) {
        return None;
    }
    let mut params = Vec::new();
    while !rest.is_empty() {
        let name_len = rest.bytes().take_while(|&b| is_tchar(b)).count();
        if name_len == 0 {
            return None;
        }
        let name = &rest[..name_len];
        rest = rest[name_len..].trim_start_matches([' ', '\t']);
        rest = rest.strip_prefix('=')?.trim_start_matches([' ', '\t']);
        let val;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => out.push(chars.next()?.1),
                    (_, c) => out.push(c),
                }
            };
            val = out;
            rest = &quoted[end + 1..];
        } else {
            let len = rest.bytes().take_while(|&b| is_tchar(b)).count();
            if len == 0 {
                return None;
            }
            val = rest[..len].to_owned();
            rest = &rest[len..];
        }
        params.push((name.to_owned(), val));
        rest = rest.trim_start_matches([' ', '\t']);
        if let Some(r) = rest.strip_prefix(',') {
            rest = r.trim_start_matches([' ', '\t']);
            if rest.is_empty() {
                return None;
            }
        } else if !rest.is_empty() {
            return None;
        }
    }
    Some(ParsedChallenge { scheme: scheme.to_owned(), params })
}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_quoted_and_comma_separated() {
        let h = render_bearer([("realm", "api"), ("error", "invalid_token")]);
        assert_eq!(h, r#"Bearer realm="api", error="invalid_token""#);
    }

    #[test]
    fn quotes_and_backslashes_are_escaped_and_parse_back() {
        let h = render_bearer([("error_description", r#"a "b" \c"#)]);
        assert_eq!(h, r#"Bearer error_description="a \"b\" \\c""#);
        let p = parse_challenge(&h).unwrap();
        assert_eq!(p.params, vec![("error_description".to_owned(), r#"a "b" \c"#.to_owned())]);
    }

    #[test]
    fn bare_bearer_parses_with_no_parameters() {
        let p = parse_challenge("Bearer").unwrap();
        assert_eq!(p.scheme, "Bearer");
        assert!(p.params.is_empty());
    }

    #[test]
    fn malformed_challenges_do_not_parse() {
        for bad in ["", "Bearer error=", "Bearer error=\"x", "Bearer =x", "Bearer a=b,", "Bearer a=b c=d"] {
            assert_eq!(parse_challenge(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn descriptions_are_sanitized_to_rfc6750_characters() {
        assert_eq!(sanitize_description("a\"b\\c\u{e9}\n"), "a'b/c??");
    }

    #[test]
    fn untrusted_values_are_shown_only_when_plain() {
        assert_eq!(quote_untrusted("abc-1"), "'abc-1'");
        assert_eq!(quote_untrusted("../../etc/passwd\"; drop"), "(value not shown)");
        assert_eq!(quote_untrusted(&"k".repeat(65)), "(value not shown)");
    }
}
