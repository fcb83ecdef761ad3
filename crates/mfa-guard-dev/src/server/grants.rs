//! Authorization codes waiting to be exchanged: single-use, one minute, bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long an authorization code can be exchanged.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Most codes outstanding (expired ones are dropped first).
pub(crate) const MAX_CODES: usize = 1024;

/// What a code stands for.
#[derive(Debug)]
pub(crate) struct Grant {
    /// Index into [`USERS`](super::users::USERS).
    pub(crate) user: usize,
    pub(crate) mfa: bool,
    pub(crate) nonce: Option<String>,
    pub(crate) challenge: String,
    pub(crate) redirect_uri: String,
    pub(crate) auth_time: i64,
    /// The provider session signed in (the ID token's `sid`).
    pub(crate) sid: String,
    pub(crate) issued: Instant,
}

/// No room for another code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Full;

/// The codes outstanding.
#[derive(Debug, Default)]
pub(crate) struct Grants(Mutex<HashMap<String, Grant>>);

impl Grants {
    /// Stores `grant` under a new random code, which is returned.
    pub(crate) fn issue(&self, grant: Grant) -> Result<String, Full> {
        let code = random_code();
        // A poisoned lock only means another request panicked mid-insert; the map
        // itself is still a map of codes.
        let mut codes = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        codes.retain(|_, g| g.issued.elapsed() < CODE_LIFETIME);
        if codes.len() >= MAX_CODES {
            return Err(Full);
        }
        codes.insert(code.clone(), grant);
        Ok(code)
    }

    /// Takes the grant of `code` (whatever happens next, the code is spent), when
    /// it exists and has not expired.
    pub(crate) fn redeem(&self, code: &str) -> Option<Grant> {
        let mut codes = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        codes.remove(code).filter(|g| g.issued.elapsed() < CODE_LIFETIME)
    }
}

/// 24 random bytes, base64url: codes, provider session ids and cookies, logout-token ids.
pub(crate) fn random_code() -> String {
    let mut bytes = [0u8; 24];
    // The server runs on a machine with an OS random source; should it fail, the
    // value is guessable (and the same every time), so say so loudly.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        tracing::error!("no randomness for an authorization code or session id");
    }
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of `verifier` (RFC 7636): base64url of its SHA-256.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            user: 0,
            mfa: true,
            nonce: None,
            challenge: "c".into(),
            redirect_uri: "r".into(),
            auth_time: 0,
            sid: "s".into(),
            issued: Instant::now(),
        }
    }

    #[test]
    fn a_code_is_redeemed_once() {
        let grants = Grants::default();
        let code = grants.issue(grant()).unwrap();
        assert_eq!(code.len(), 32, "24 random bytes, base64url");
        assert!(grants.redeem(&code).is_some());
        assert!(grants.redeem(&code).is_none());
    }

    #[test]
    fn an_expired_code_is_refused_and_room_is_bounded() {
        let grants = Grants::default();
        let mut old = grant();
        old.issued = Instant::now().checked_sub(CODE_LIFETIME).expect("the machine has been up a minute");
        let code = grants.issue(old).unwrap();
        assert!(grants.redeem(&code).is_none(), "a minute old is expired");
        for _ in 0..MAX_CODES {
            grants.issue(grant()).unwrap();
        }
        assert_eq!(grants.issue(grant()).unwrap_err(), Full);
    }

    #[test]
    fn the_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() {
        // Computed apart: python3 -c 'import hashlib,base64;
        // print(base64.urlsafe_b64encode(hashlib.sha256(b"dBjf...3YE").digest()))'
        assert_eq!(
            pkce_challenge("dBjftJeZ4CQP-1JgFwgWw9-q1Cx8jT1kAMfbtdmg3YE"),
            "FlOWMRdB8JoGwg5sukkrInc3XeMDo-Cffc9d9r0xPjU"
        );
    }
}
