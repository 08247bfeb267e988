//! Random tokens for links and ids, and their digests for storage.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes from the OS-seeded CSPRNG, URL-safe.
pub fn random_token() -> String {
    random_id(32)
}

/// `bytes` random bytes, URL-safe base64.
pub fn random_id(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// What we store instead of a token: a database leak gives no usable link.
pub fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A short human password for generated operator accounts: 20 URL-safe characters.
pub fn generated_password() -> String {
    random_id(15)
}
