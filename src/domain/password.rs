//! A password chosen by a user: long enough, not absurdly long (argon2 cost is per byte).

use thiserror::Error;

pub struct NewPassword(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WeakPassword {
    #[error("use at least 10 characters")]
    TooShort,
    #[error("use at most 200 characters")]
    TooLong,
    #[error("the two passwords differ")]
    Mismatch,
}

impl NewPassword {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(password: &str, confirmation: &str) -> Result<Self, WeakPassword> {
        let n = password.chars().count();
        if n < Self::MIN_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if n > 200 {
            return Err(WeakPassword::TooLong);
        }
        if password != confirmation {
            return Err(WeakPassword::Mismatch);
        }
        Ok(NewPassword(password.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_length_and_confirmation() {
        assert_eq!(
            NewPassword::parse("short", "short").unwrap_err(),
            WeakPassword::TooShort
        );
        assert_eq!(
            NewPassword::parse("longenough1", "longenough2").unwrap_err(),
            WeakPassword::Mismatch
        );
        assert!(NewPassword::parse("longenough1", "longenough1").is_ok());
        let huge = "x".repeat(201);
        assert_eq!(
            NewPassword::parse(&huge, &huge).unwrap_err(),
            WeakPassword::TooLong
        );
        assert_eq!(
            format!(
                "{:?}",
                NewPassword::parse("longenough1", "longenough1").unwrap()
            ),
            "NewPassword(***)"
        );
    }
}
