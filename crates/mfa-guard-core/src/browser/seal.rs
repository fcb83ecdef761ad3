//! Sealed cookie values: AES-256-GCM-SIV (aws-lc-rs) under a key ring, so that any
//! replica holding the same keys reads what another wrote, and nothing else can.
//!
//! A value is `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The associated
//! data binds the cookie's name and the key id, so a value moved to another cookie
//! (a flow cookie presented as the session) does not open. GCM-SIV keeps random
//! nonces safe even at volumes where plain GCM's would start to collide.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM_SIV, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::error::{BrowserError, SessionKeyError};

/// Bytes of a session key.
pub(crate) const KEY_LEN: usize = 32;
/// Longest key id (ids travel in every cookie).
const MAX_KEY_ID: usize = 16;
/// Longest sealed value read (a cookie is at most 4096 bytes in browsers anyway).
const MAX_SEALED: usize = 4096;

/// The keys that seal browser cookies: the first seals, every one opens.
///
/// Rotate by putting a new key first and keeping the old ones until the longest
/// session they sealed has expired. `Debug` shows the ids only.
#[derive(Clone)]
pub struct SessionKeys {
    keys: Vec<(String, std::sync::Arc<LessSafeKey>)>,
}

impl SessionKeys {
    /// Parses `id:key[,id:key...]`, each key 32 bytes in base64 (standard or URL-safe,
    /// padding optional), the first the one that seals; ids are 1 to 16 characters
    /// of `A-Z a-z 0-9 _ -`.
    pub fn parse(spec: &str) -> Result<Self, BrowserError> {
        let mut ring = SessionKeys { keys: Vec::new() };
        for (n, entry) in spec.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let Some((id, key)) = entry.split_once(':') else {
                return Err(SessionKeyError::NotIdAndKey { entry: n + 1 }.into());
            };
            let key = key.trim();
            let bytes = URL_SAFE_NO_PAD
                .decode(key.trim_end_matches('='))
                .or_else(|_| STANDARD.decode(key))
                .map_err(|_| SessionKeyError::NotBase64 { id: id.trim().to_owned() })?;
            ring = ring.with_key(id.trim(), &bytes)?;
        }
        if ring.keys.is_empty() {
            return Err(SessionKeyError::Empty.into());
        }
        Ok(ring)
    }

    /// One random key with id `id`: sessions then last as long as the process (for
    /// development; replicas need a shared ring).
    pub fn random(id: &str) -> Result<Self, BrowserError> {
        let mut bytes = [0u8; KEY_LEN];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SessionKeyError::Randomness)?;
        SessionKeys { keys: Vec::new() }.with_key(id, &bytes)
    }

    /// This ring with one more key, which opens values but seals only if it is the
    /// first.
    pub fn with_key(mut self, id: &str, key: &[u8]) -> Result<Self, BrowserError> {
        let id_ok = !id.is_empty()
            && id.len() <= MAX_KEY_ID
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(SessionKeyError::KeyId { id: id.to_owned(), max: MAX_KEY_ID }.into());
        }
        if key.len() != KEY_LEN {
            return Err(
                SessionKeyError::KeyLength { id: id.to_owned(), len: key.len(), expected: KEY_LEN }.into()
            );
        }
        if self.keys.iter().any(|(k, _)| k == id) {
            return Err(SessionKeyError::DuplicateId { id: id.to_owned() }.into());
        }
        let unbound = UnboundKey::new(&AES_256_GCM_SIV, key).map_err(|_| SessionKeyError::Unusable)?;
        self.keys.push((id.to_owned(), std::sync::Arc::new(LessSafeKey::new(unbound))));
        Ok(self)
    }

    /// The ids, sealing key first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// Seals `plain` for the cookie `name`.
    pub(crate) fn seal(&self, name: &str, plain: &[u8]) -> Option<String> {
        let (id, key) = self.keys.first()?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut buf = Vec::with_capacity(NONCE_LEN + plain.len() + AES_256_GCM_SIV.tag_len());
        buf.extend_from_slice(&nonce);
        buf.extend_from_slice(plain);
        let mut body = buf.split_off(NONCE_LEN);
        let aad = Aad(name, id);
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), aad.bytes()?.as_aad(), &mut body)
            .ok()?;
        buf.extend_from_slice(&body);
        Some(format!("v1.{id}.{}", URL_SAFE_NO_PAD.encode(&buf)))
    }

    /// Opens a value sealed for the cookie `name` by any key of the ring; `None` for
    /// anything else (malformed, another cookie's, another deployment's, altered).
    pub(crate) fn open(&self, name: &str, value: &str) -> Option<Vec<u8>> {
        if value.len() > MAX_SEALED {
            return None;
        }
        let rest = value.strip_prefix("v1.")?;
        let (id, sealed) = rest.split_once('.')?;
        let (_, key) = self.keys.iter().find(|(k, _)| k == id)?;
        let mut bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN + AES_256_GCM_SIV.tag_len() {
            return None;
        }
        // Opened in place, behind the nonce: no copy of the ciphertext.
        let (nonce, body) = bytes.split_at_mut(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let aad = Aad(name, id);
        let len = key.open_in_place(nonce, aad.bytes()?.as_aad(), body).ok()?.len();
        bytes.drain(..NONCE_LEN);
        bytes.truncate(len);
        Some(bytes)
    }
}

/// The associated data of a value: `mfa-guard/v1/<cookie name>/<key id>`, built on
/// the stack (this runs on every request that carries a session).
struct Aad<'a>(&'a str, &'a str);

struct AadBytes {
    buf: [u8; 128],
    len: usize,
}

impl AadBytes {
    fn as_aad(&self) -> aws_lc_rs::aead::Aad<&[u8]> {
        aws_lc_rs::aead::Aad::from(&self.buf[..self.len])
    }
}

impl Aad<'_> {
    /// `None` for a cookie name too long to be one of ours.
    fn bytes(&self) -> Option<AadBytes> {
        let mut out = AadBytes { buf: [0; 128], len: 0 };
        for part in [b"mfa-guard/v1/".as_slice(), self.0.as_bytes(), b"/", self.1.as_bytes()] {
            out.buf.get_mut(out.len..out.len + part.len())?.copy_from_slice(part);
            out.len += part.len();
        }
        Some(out)
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys").field("ids", &self.ids().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> SessionKeys {
        SessionKeys::parse(spec).unwrap()
    }

    const A: &str = "a:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const B: &str = "b:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA";

    #[test]
    fn the_newest_key_seals_and_every_key_opens() {
        let old = ring(A);
        let rotated = ring(&format!("{B},{A}"));
        let by_old = old.seal("s", b"facts").unwrap();
        assert!(by_old.starts_with("v1.a."));
        assert_eq!(rotated.open("s", &by_old).as_deref(), Some(&b"facts"[..]));
        let by_new = rotated.seal("s", b"facts").unwrap();
        assert!(by_new.starts_with("v1.b."));
        assert_eq!(old.open("s", &by_new), None, "a key the ring does not hold never opens");
    }

    #[test]
    fn altered_moved_or_foreign_values_do_not_open() {
        let keys = ring(A);
        let sealed = keys.seal("session", b"facts").unwrap();
        assert_eq!(keys.open("flow", &sealed), None, "bound to its cookie name");
        let mut bytes = sealed.clone().into_bytes();
        let last = bytes.len() - 3;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(keys.open("session", std::str::from_utf8(&bytes).unwrap()), None);
        let same_id_other_key = ring("a:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA");
        assert_eq!(same_id_other_key.open("session", &sealed), None, "another deployment's key");
        for junk in ["", "v1", "v1.a", "v1.a.", "v1.a.!!!", "v2.a.AAAA", "v1.zz.AAAA", &"v1.a.A".repeat(2000)]
        {
            assert_eq!(keys.open("session", junk), None, "{junk:.20}");
        }
    }

    #[test]
    fn bad_key_specs_say_what_is_wrong() {
        let err = |s: &str| SessionKeys::parse(s).unwrap_err().to_string();
        assert!(err("").contains("no key"));
        assert!(err("nocolon").contains("`id:base64-key`"));
        assert!(err("a:c2hvcnQ").contains("5 bytes"));
        assert!(err("a:!!!").contains("not base64"));
        assert!(err(&format!("{A},{A}")).contains("twice"));
        assert!(err("a b:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").contains("key id"));
    }

    #[test]
    fn debug_shows_ids_not_keys() {
        let shown = format!("{:?}", ring(A));
        assert!(shown.contains("\"a\"") && !shown.contains("AAAA"), "{shown}");
    }
}
