//! Seat references: `WWWW-XXXX-YYYY-ZZZZ`, fifteen random symbols and one check symbol.
//!
//! The alphabet is Crockford's base 32 (no I, L, O, U) so that references read aloud or
//! copied by hand survive; the check symbol (Luhn mod 32) catches every single-symbol typo
//! and every swap of two adjacent symbols.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use thiserror::Error;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAYLOAD: usize = 15;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeatReference(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InvalidReference {
    #[error("a reference has sixteen letters or digits, like 7K3M-Q9TD-2XHB-8F4R")]
    Shape,
    #[error("this reference has a typo (its check character does not match)")]
    Checksum,
}

fn value_of(symbol: u8) -> Option<u32> {
    // Crockford decoding: the letters people confuse with digits read as those digits.
    let symbol = match symbol.to_ascii_uppercase() {
        b'O' => b'0',
        b'I' | b'L' => b'1',
        other => other,
    };
    ALPHABET.iter().position(|&a| a == symbol).map(|p| p as u32)
}

/// Luhn mod N check symbol over `values`.
fn check_value(values: &[u32]) -> u32 {
    let n = ALPHABET.len() as u32;
    let mut factor = 2;
    let mut sum = 0;
    for &v in values.iter().rev() {
        let addend = factor * v;
        sum += addend / n + addend % n;
        factor = if factor == 2 { 1 } else { 2 };
    }
    (n - sum % n) % n
}

impl SeatReference {
    /// A fresh reference from a cryptographically secure generator (`ThreadRng` is ChaCha
    /// reseeded from the OS), so references cannot be guessed from one another.
    pub fn generate<R: Rng + rand::CryptoRng>(rng: &mut R) -> Self {
        let values: Vec<u32> = (0..PAYLOAD).map(|_| rng.gen_range(0..32)).collect();
        Self::from_values(&values)
    }

    fn from_values(payload: &[u32]) -> Self {
        let mut symbols: Vec<u8> = payload.iter().map(|&v| ALPHABET[v as usize]).collect();
        symbols.push(ALPHABET[check_value(payload) as usize]);
        let mut out = String::with_capacity(19);
        for (i, s) in symbols.iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(*s));
        }
        SeatReference(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SeatReference {
    type Err = InvalidReference;

    /// Accepts any case, with or without dashes or spaces, and returns the canonical form.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let values: Vec<u32> = input
            .bytes()
            .filter(|b| *b != b'-' && *b != b' ')
            .map(value_of)
            .collect::<Option<_>>()
            .ok_or(InvalidReference::Shape)?;
        if values.len() != PAYLOAD + 1 {
            return Err(InvalidReference::Shape);
        }
        let (payload, check) = values.split_at(PAYLOAD);
        if check_value(payload) != check[0] {
            return Err(InvalidReference::Checksum);
        }
        Ok(Self::from_values(payload))
    }
}

impl fmt::Display for SeatReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SeatReference {
        SeatReference::generate(&mut rand::thread_rng())
    }

    #[test]
    fn generated_references_have_the_documented_shape_and_parse_back() {
        for _ in 0..200 {
            let r = sample();
            assert_eq!(r.as_str().len(), 19);
            assert_eq!(r.as_str().matches('-').count(), 3);
            assert_eq!(r.as_str().parse::<SeatReference>(), Ok(r.clone()));
            assert_eq!(
                r.as_str()
                    .to_lowercase()
                    .replace('-', "")
                    .parse::<SeatReference>(),
                Ok(r)
            );
        }
    }

    #[test]
    fn every_single_symbol_typo_is_caught() {
        let r = sample();
        let compact: Vec<u8> = r.as_str().bytes().filter(|b| *b != b'-').collect();
        for pos in 0..compact.len() {
            for &replacement in ALPHABET {
                if replacement == compact[pos] {
                    continue;
                }
                let mut typo = compact.clone();
                typo[pos] = replacement;
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(
                    typo.parse::<SeatReference>(),
                    Err(InvalidReference::Checksum),
                    "{typo}"
                );
            }
        }
    }

    #[test]
    fn adjacent_swaps_are_caught() {
        let r = sample();
        let compact: Vec<u8> = r.as_str().bytes().filter(|b| *b != b'-').collect();
        // Luhn mod N's one blind spot: swapping the characters of value 0 and N-1, here '0'
        // and 'Z' (a random sample holds them side by side now and then).
        let blind = |a: u8, b: u8| matches!((a, b), (b'0', b'Z') | (b'Z', b'0'));
        for pos in 0..compact.len() - 1 {
            if compact[pos] == compact[pos + 1] || blind(compact[pos], compact[pos + 1]) {
                continue;
            }
            let mut swapped = compact.clone();
            swapped.swap(pos, pos + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            assert!(swapped.parse::<SeatReference>().is_err(), "{swapped}");
        }
    }

    #[test]
    fn rejects_wrong_shapes() {
        assert_eq!("".parse::<SeatReference>(), Err(InvalidReference::Shape));
        assert_eq!(
            "ABCD-EFGH".parse::<SeatReference>(),
            Err(InvalidReference::Shape)
        );
        assert_eq!(
            "ABCD-EFGH-JKMN-PQR!".parse::<SeatReference>(),
            Err(InvalidReference::Shape)
        );
        assert_eq!(
            "ABCD-EFGH-JKMN-PQRSU".parse::<SeatReference>(),
            Err(InvalidReference::Shape)
        );
    }
}
