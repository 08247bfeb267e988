//! How a bill is paid.

use std::fmt;
use std::str::FromStr;

use super::Money;

/// Stripe's minimum charge, in minor units (0.50 EUR, USD, CHF; a little above GBP's 0.30).
const STRIPE_MINIMUM_MINOR: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paymode {
    /// The test gateway: an online payment with a signed notification.
    Test,
    /// Bank transfer: the bill waits (PENDING) until an operator marks it paid.
    Transfer,
    /// Nothing to pay.
    Free,
    /// A card payment through Stripe Checkout, confirmed by Stripe's signed webhook.
    Stripe,
}

impl Paymode {
    pub const ALL: [Paymode; 4] = [
        Paymode::Stripe,
        Paymode::Test,
        Paymode::Transfer,
        Paymode::Free,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Paymode::Test => "test",
            Paymode::Transfer => "transfer",
            Paymode::Free => "free",
            Paymode::Stripe => "stripe",
        }
    }

    /// `free` is the only way to pay nothing, and cannot pay something. Stripe refuses to
    /// charge less than 0.50 in the major currencies (its documented minimum charge): a
    /// smaller total (a coupon can leave one) is not offered to it rather than failing there.
    pub fn fits(self, total: Money) -> bool {
        let payable = (self == Paymode::Free) == (total == Money::ZERO);
        payable && (self != Paymode::Stripe || total.minor() >= STRIPE_MINIMUM_MINOR)
    }
}

stored_as_text!(Paymode);

impl fmt::Display for Paymode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Paymode {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Paymode::ALL.into_iter().find(|p| p.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_is_for_zero_totals_only() {
        assert!(Paymode::Free.fits(Money::ZERO));
        assert!(!Paymode::Free.fits(Money::from_minor(1)));
        assert!(Paymode::Test.fits(Money::from_minor(1)));
        assert!(!Paymode::Transfer.fits(Money::ZERO));
        assert_eq!("transfer".parse(), Ok(Paymode::Transfer));
        assert_eq!("stripe".parse(), Ok(Paymode::Stripe));
        assert!(!Paymode::Stripe.fits(Money::from_minor(49)));
        assert!(Paymode::Stripe.fits(Money::from_minor(50)));
        assert!(!Paymode::Stripe.fits(Money::ZERO));
        assert!("cash".parse::<Paymode>().is_err());
    }
}
