//! Stripe's webhook signature (`Stripe-Signature: t=<unix seconds>,v1=<hex>,v1=<hex>,…`):
//! each `v1` is the HMAC-SHA256, keyed with the endpoint's signing secret, of
//! `"<t>.<raw body>"`. Several `v1` appear while a secret is being rolled; one matching is
//! enough. Other schemes (`v0`, the test-mode legacy one) are ignored, as Stripe advises.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use thiserror::Error;

pub const HEADER: &str = "stripe-signature";
/// Stripe's documented default: an event signed longer ago (or ahead) is a replay.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("missing or malformed Stripe-Signature header")]
    Malformed,
    #[error("Stripe-Signature timestamp outside the tolerance")]
    Stale,
    #[error("no v1 signature matches the body")]
    Forged,
}

/// The parts of a `Stripe-Signature` header the shop uses.
#[derive(Debug, PartialEq, Eq)]
pub struct Header {
    pub timestamp: i64,
    pub v1: Vec<Vec<u8>>,
}

impl Header {
    pub fn parse(header: &str) -> Result<Header, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) => {
                    // A second `t` would leave it unclear which time was signed.
                    if timestamp.is_some() {
                        return Err(SignatureError::Malformed);
                    }
                    timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
                }
                // An undecodable `v1` cannot match; another one still may.
                Some(("v1", sig)) => v1.extend(hex::decode(sig).ok()),
                _ => {}
            }
        }
        match timestamp {
            Some(timestamp) if !v1.is_empty() => Ok(Header { timestamp, v1 }),
            _ => Err(SignatureError::Malformed),
        }
    }
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Checks `header` for `body` at time `now` (unix seconds): well formed, within the
/// tolerance, and one `v1` equal (in constant time) to the expected signature.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
    let header = Header::parse(header)?;
    if (now - header.timestamp).abs() > TOLERANCE_SECS {
        return Err(SignatureError::Stale);
    }
    let expected = mac(secret, header.timestamp, body);
    // `verify_slice` compares in constant time; every candidate is tried.
    let matched = header.v1.iter().fold(false, |ok, sig| {
        expected.clone().verify_slice(sig).is_ok() | ok
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Forged)
    }
}

/// The header Stripe would send (the fake Stripe of the tests signs independently).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test_secret";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    const T: i64 = 1_700_000_000;
    /// `hmac.new(b'whsec_test_secret', b'1700000000.{"id":"evt_1"}', hashlib.sha256)
    /// .hexdigest()`, computed outside this code (Python).
    const BY_HAND: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
    /// The same with the secret `whsec_other`.
    const OTHER_SECRET: &str = "d8d091c76b586cff4dbd317fc47ebddff4b86de3ce18d3c03753c3c1901d475a";

    #[test]
    fn a_vector_computed_by_hand_verifies() {
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={BY_HAND}"));
        let header = format!("t={T},v1={BY_HAND}");
        assert_eq!(verify(SECRET, &header, BODY, T + 10), Ok(()));
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        // A secret being rolled: the old one's signature first.
        let header = format!("t={T},v1={OTHER_SECRET},v0=abcd,v1={BY_HAND}");
        assert_eq!(verify(SECRET, &header, BODY, T), Ok(()));
        let header = format!("t={T}, v1=zz-not-hex, v1={BY_HAND}");
        assert_eq!(verify(SECRET, &header, BODY, T), Ok(()));
    }

    #[test]
    fn a_wrong_secret_body_or_scheme_is_forged() {
        let header = format!("t={T},v1={OTHER_SECRET}");
        assert_eq!(
            verify(SECRET, &header, BODY, T),
            Err(SignatureError::Forged)
        );
        let header = format!("t={T},v1={BY_HAND}");
        assert_eq!(
            verify(SECRET, &header, br#"{"id":"evt_2"}"#, T),
            Err(SignatureError::Forged)
        );
        // The signature is over the timestamp too.
        let header = format!("t={},v1={BY_HAND}", T + 1);
        assert_eq!(
            verify(SECRET, &header, BODY, T),
            Err(SignatureError::Forged)
        );
        // Only v1 counts: the same digest under v0 is no signature.
        let header = format!("t={T},v0={BY_HAND}");
        assert_eq!(
            verify(SECRET, &header, BODY, T),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn outside_the_tolerance_is_stale_either_way() {
        let header = format!("t={T},v1={BY_HAND}");
        assert_eq!(verify(SECRET, &header, BODY, T + 300), Ok(()));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(SECRET, &header, BODY, T - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in [
            "",
            "v1=abcd",
            &format!("t={T}"),
            &format!("t=soon,v1={BY_HAND}"),
            &format!("t={T},t={T},v1={BY_HAND}"),
            "garbage",
        ] {
            assert_eq!(
                verify(SECRET, header, BODY, T),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }
}
