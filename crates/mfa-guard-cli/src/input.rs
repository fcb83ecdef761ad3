//! Where a token comes from: an argument, standard input, or a whole
//! `Authorization: Bearer …` line pasted from a request.

use std::fmt;
use std::io::{IsTerminal, Read};

use mfa_guard_core::RequestInfo;
use mfa_guard_core::{DEFAULT_MAX_HEADER_BYTES, extract_bearer};

use crate::exit::Failure;

/// Most bytes read from standard input: a token is at most 16 KiB (the guard's
/// header cap); the rest leaves room for a header name and line endings.
pub(crate) const MAX_INPUT_BYTES: u64 = 20 * 1024;

/// A token given to the tool. A credential: `Debug` never shows it.
pub(crate) struct Token(String);

impl Token {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(******)")
    }
}

/// Reads the token from `arg`, or from standard input when `arg` is absent or `-`.
pub(crate) fn read_token(arg: Option<&str>) -> Result<Token, Failure> {
    let text = match arg {
        Some(a) if a != "-" => a.to_owned(),
        _ => read_stdin(arg.is_none())?,
    };
    parse_token_text(&text).map(Token)
}

fn read_stdin(implicit: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if implicit && stdin.is_terminal() {
        return Err(Failure::usage("no token given").hint(
            "pass the token as an argument, or `-` to read it from standard input (keeps it out of shell history)",
        ));
    }
    let mut buf = Vec::new();
    stdin
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Failure::error(format!("cannot read standard input: {e}")))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(Failure::invalid_token(format!(
            "standard input holds more than {} KiB; an access token is at most {} KiB",
            MAX_INPUT_BYTES / 1024,
            DEFAULT_MAX_HEADER_BYTES / 1024
        ))
        .hint("pipe in only the token or its Authorization line"));
    }
    String::from_utf8(buf).map_err(|_| {
        Failure::invalid_token("standard input is not text").hint("pipe in the token as text (eyJ…)")
    })
}

/// Finds the token in what the user gave: a bare token, `Bearer <token>`, or a
/// header line `Authorization: Bearer <token>` (possibly within a pasted request).
pub(crate) fn parse_token_text(text: &str) -> Result<String, Failure> {
    let text = text.trim();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let line = match lines.as_slice() {
        [] => return Err(Failure::invalid_token("the input is empty").hint("give the token (eyJ…)")),
        [one] => *one,
        many => {
            let auth: Vec<&str> = many.iter().copied().filter(|l| header_value(l).is_some()).collect();
            match auth.as_slice() {
                [one] => *one,
                [] => {
                    return Err(Failure::invalid_token(
                        "the input has several lines and no Authorization line",
                    )
                    .hint("give one token, or one `Authorization: Bearer …` line"));
                }
                _ => {
                    return Err(Failure::invalid_token(
                        "the input has several Authorization lines; a request must carry exactly one",
                    )
                    .hint("keep one `Authorization: Bearer …` line"));
                }
            }
        }
    };
    let line = strip_quotes(line);
    let value = header_value(line).unwrap_or(line);
    let has_scheme = value.split_once([' ', '\t']).is_some();
    if !has_scheme {
        return Ok(value.to_owned());
    }
    // `Bearer <token>`: read the way the guard reads an Authorization header.
    let req = RequestInfo::new("GET", "/").with_authorization(value.as_bytes());
    match extract_bearer(&req, DEFAULT_MAX_HEADER_BYTES) {
        Ok(Some(token)) => Ok(token.as_str().to_owned()),
        Ok(None) => {
            let scheme = value.split([' ', '\t']).next().unwrap_or_default();
            Err(Failure::invalid_token(format!(
                "the Authorization value uses the {:?} scheme, not Bearer",
                scheme.chars().take(20).collect::<String>()
            ))
            .hint("mfa-guard reads bearer access tokens only"))
        }
        Err(refusal) => Err(Failure::invalid_token(refusal.detail().to_owned())
            .hint("give the token alone, or a line `Authorization: Bearer <token>`")),
    }
}

/// The value of an `Authorization:` header line (name matched case-insensitively).
fn header_value(line: &str) -> Option<&str> {
    let (name, value) = line.split_once(':')?;
    name.trim().eq_ignore_ascii_case("authorization").then(|| value.trim())
}

fn strip_quotes(s: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner.trim();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_token_is_taken_as_is() {
        assert_eq!(parse_token_text("  a.b.c\n").unwrap(), "a.b.c");
    }

    #[test]
    fn a_bearer_value_and_a_header_line_yield_the_token() {
        assert_eq!(parse_token_text("Bearer a.b.c").unwrap(), "a.b.c");
        assert_eq!(parse_token_text("authorization: bearer a.b.c").unwrap(), "a.b.c");
        assert_eq!(parse_token_text("'Authorization: Bearer a.b.c'").unwrap(), "a.b.c");
    }

    #[test]
    fn the_authorization_line_of_a_pasted_request_is_found() {
        let req = "GET /commerce/x HTTP/1.1\nHost: api\nAuthorization: Bearer a.b.c\n";
        assert_eq!(parse_token_text(req).unwrap(), "a.b.c");
    }

    #[test]
    fn other_schemes_and_two_authorization_lines_are_refused() {
        assert!(parse_token_text("Basic dXNlcjpwYXNz").unwrap_err().message.contains("Basic"));
        let two = "Authorization: Bearer a.b.c\nAuthorization: Bearer d.e.f";
        assert!(parse_token_text(two).unwrap_err().message.contains("several Authorization"));
        assert!(parse_token_text("  ").is_err());
    }
}
