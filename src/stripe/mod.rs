//! Stripe as a card payment provider: Checkout Sessions and refunds through its HTTP API
//! (`client`), the webhook's signature scheme (`signature`) and the events it posts
//! (`event`). The payment flow itself is `services::stripe`.

pub mod client;
pub mod event;
pub mod signature;

pub use client::{NewCheckout, Stripe, StripeError};
pub use event::StripeRefund;

/// Which of Stripe's two worlds the configured key works in: test payments (test cards, no
/// money moves) or live ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    /// From a secret key's documented prefix (`sk_test_`, `sk_live_`; restricted keys
    /// `rk_test_`, `rk_live_`). Anything else (a publishable `pk_` key) is not a secret key.
    pub fn of_key(key: &str) -> Option<Mode> {
        if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
            Some(Mode::Test)
        } else if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
            Some(Mode::Live)
        } else {
            None
        }
    }

    pub fn of_livemode(livemode: bool) -> Mode {
        if livemode { Mode::Live } else { Mode::Test }
    }

    /// The translation key naming this mode.
    pub fn key(self) -> &'static str {
        match self {
            Mode::Test => "stripe.mode_test",
            Mode::Live => "stripe.mode_live",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_the_key_prefix() {
        assert_eq!(Mode::of_key("sk_test_abc"), Some(Mode::Test));
        assert_eq!(Mode::of_key("sk_live_abc"), Some(Mode::Live));
        assert_eq!(Mode::of_key("rk_live_abc"), Some(Mode::Live));
        assert_eq!(Mode::of_key("pk_live_abc"), None);
        assert_eq!(Mode::of_key("whsec_abc"), None);
    }
}
