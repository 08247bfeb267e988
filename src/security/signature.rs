//! Signed payment notifications: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `"<t>.<body>"` with the secret shared between the shop and the gateway (Stripe's scheme).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

pub const HEADER: &str = "x-signature";
/// A notification older (or newer) than this is refused: a captured one cannot be replayed later.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing or malformed signature header")]
    Malformed,
    #[error("stale notification (timestamp outside the tolerance)")]
    Stale,
    #[error("signature does not match")]
    Forged,
}

fn mac(key: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

pub fn sign(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(key, timestamp, body).finalize().into_bytes())
    )
}

pub fn verify(key: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signature = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => signature = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Malformed);
    };
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    // `verify_slice` compares in constant time.
    mac(key, timestamp, body)
        .verify_slice(&signature)
        .map_err(|_| SignatureError::Forged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_body_verifies_and_any_change_is_caught() {
        let header = sign(b"secret", 1_000, b"bill=x&status=paid");
        assert_eq!(
            verify(b"secret", &header, b"bill=x&status=paid", 1_010),
            Ok(())
        );
        assert_eq!(
            verify(b"secret", &header, b"bill=x&status=paid&amount=1", 1_010),
            Err(SignatureError::Forged)
        );
        assert_eq!(
            verify(b"other", &header, b"bill=x&status=paid", 1_010),
            Err(SignatureError::Forged)
        );
        assert_eq!(
            verify(
                b"secret",
                &header,
                b"bill=x&status=paid",
                1_000 + TOLERANCE_SECS + 1
            ),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                b"secret",
                &header.replace("t=1000", "t=1001"),
                b"bill=x&status=paid",
                1_010
            ),
            Err(SignatureError::Forged)
        );
        assert_eq!(
            verify(b"secret", "nonsense", b"", 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"secret", "t=1,v1=zz", b"", 1),
            Err(SignatureError::Malformed)
        );
    }
}
