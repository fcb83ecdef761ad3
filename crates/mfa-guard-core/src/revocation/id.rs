//! Our own session id: 16 random bytes, minted at sign-in and at every step-up and
//! carried inside the sealed session cookie. It is what a sign-out revokes; the
//! provider's `sid` and the user's `sub` are revoked separately.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::StoreError;

/// Bytes of a session id: 128 bits, beyond guessing.
pub(crate) const SESSION_ID_BYTES: usize = 16;

/// A session id: 16 bytes from the operating system's random generator.
///
/// `Display` writes it as unpadded base64url (22 characters), the form stored in
/// Redis and accepted by `mfa-guard revoke --session`; `Debug` shows its first four
/// characters only, enough to tell two apart in a log and too few to revoke or
/// forge anything.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; SESSION_ID_BYTES]);

impl SessionId {
    /// A fresh random id. Fails only when the operating system cannot give
    /// randomness (then no cookie can be sealed either).
    pub fn new() -> Result<Self, StoreError> {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| StoreError::randomness())?;
        Ok(Self(bytes))
    }

    /// The id with these bytes (as read back from a cookie).
    pub const fn from_bytes(bytes: [u8; SESSION_ID_BYTES]) -> Self {
        Self(bytes)
    }

    /// The id's bytes (as sealed into a cookie).
    pub const fn as_bytes(&self) -> &[u8; SESSION_ID_BYTES] {
        &self.0
    }

    /// Reads the `Display` form (22 characters of unpadded base64url); anything else
    /// is refused.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        let invalid = || {
            StoreError::invalid_input(
                "a session id is 22 characters of unpadded base64url (16 bytes), as mfa-guard writes it",
            )
        };
        if text.len() != 22 {
            return Err(invalid());
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let bytes: [u8; SESSION_ID_BYTES] = bytes.try_into().map_err(|_| invalid())?;
        Ok(Self(bytes))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 22];
        let n = URL_SAFE_NO_PAD.encode_slice(self.0, &mut buf).map_err(|_| fmt::Error)?;
        f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.to_string();
        write!(f, "SessionId({}…)", &full[..4])
    }
}
