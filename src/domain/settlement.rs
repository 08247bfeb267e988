//! Who may settle a bill: the one rule every way of paying goes through.
//!
//! A payment settles only a bill placed with that payment method, in the state that waits
//! for it: an online provider's notification settles a PLACED bill of that provider; an
//! offline bill (bank transfer) waits PENDING and only an operator who received the money
//! settles it; a free order is settled by the shop itself when it is placed. Whether the
//! method is enabled, and whether amount and currency match, are checked by the payment
//! service (they need the settings and the notification).

use super::BillState;
use super::paymode::Paymode;

/// Who brings a bill to PAID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settler {
    /// An online payment provider (its signed notification).
    Provider(Paymode),
    /// An operator who received an offline payment.
    Operator,
    /// The shop itself: a bill with nothing to pay.
    Shop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettleRefusal {
    #[error("the bill was placed with another payment method")]
    WrongMethod,
    #[error("the bill is not waiting for this payment")]
    NotAwaiting,
}

impl Paymode {
    /// Who settles bills of this method.
    pub fn settler(self) -> Settler {
        match self {
            Paymode::Test => Settler::Provider(Paymode::Test),
            Paymode::Transfer => Settler::Operator,
            Paymode::Free => Settler::Shop,
            Paymode::Stripe => Settler::Provider(Paymode::Stripe),
        }
    }

    /// The state in which a bill of this method waits for its payment.
    pub fn awaiting_state(self) -> BillState {
        match self {
            Paymode::Transfer => BillState::Pending,
            Paymode::Test | Paymode::Stripe | Paymode::Free => BillState::Placed,
        }
    }

    /// Whether an online provider answers for bills of this method (and may decline them).
    pub fn is_online(self) -> bool {
        matches!(self.settler(), Settler::Provider(_))
    }
}

/// Whether `by` may move a bill of `paymode` in `state` to PAID.
pub fn may_settle(paymode: Paymode, state: BillState, by: Settler) -> Result<(), SettleRefusal> {
    if paymode.settler() != by {
        return Err(SettleRefusal::WrongMethod);
    }
    if state != paymode.awaiting_state() || !state.can_become(BillState::Paid) {
        return Err(SettleRefusal::NotAwaiting);
    }
    Ok(())
}

/// Whether `by` may record a declined payment (REFUSED) on a bill of `paymode` in `state`.
pub fn may_decline(paymode: Paymode, state: BillState, by: Settler) -> Result<(), SettleRefusal> {
    if !paymode.is_online() || paymode.settler() != by {
        return Err(SettleRefusal::WrongMethod);
    }
    if state != paymode.awaiting_state() || !state.can_become(BillState::Refused) {
        return Err(SettleRefusal::NotAwaiting);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use BillState::*;

    const GATEWAY: Settler = Settler::Provider(Paymode::Test);

    #[test]
    fn each_method_is_settled_by_its_own_settler_only() {
        assert_eq!(may_settle(Paymode::Test, Placed, GATEWAY), Ok(()));
        assert_eq!(
            may_settle(Paymode::Transfer, Pending, Settler::Operator),
            Ok(())
        );
        assert_eq!(may_settle(Paymode::Free, Placed, Settler::Shop), Ok(()));

        // The attack of issue 15: the gateway paying a transfer bill.
        assert_eq!(
            may_settle(Paymode::Transfer, Pending, GATEWAY),
            Err(SettleRefusal::WrongMethod)
        );
        assert_eq!(
            may_settle(Paymode::Test, Placed, Settler::Operator),
            Err(SettleRefusal::WrongMethod)
        );
        assert_eq!(
            may_settle(Paymode::Free, Placed, GATEWAY),
            Err(SettleRefusal::WrongMethod)
        );
    }

    #[test]
    fn only_the_awaiting_state_is_settled() {
        for state in BillState::ALL {
            let expected = if state == Placed {
                Ok(())
            } else {
                Err(SettleRefusal::NotAwaiting)
            };
            assert_eq!(
                may_settle(Paymode::Test, state, GATEWAY),
                expected,
                "{state}"
            );
        }
        for state in BillState::ALL {
            let ok = may_settle(Paymode::Transfer, state, Settler::Operator).is_ok();
            assert_eq!(ok, state == Pending, "{state}");
        }
    }

    #[test]
    fn only_online_bills_are_declined_by_their_provider() {
        assert_eq!(may_decline(Paymode::Test, Placed, GATEWAY), Ok(()));
        assert!(may_decline(Paymode::Transfer, Pending, GATEWAY).is_err());
        assert!(may_decline(Paymode::Transfer, Pending, Settler::Operator).is_err());
        assert!(may_decline(Paymode::Test, Complete, GATEWAY).is_err());
    }

    #[test]
    fn stripe_settles_only_its_own_placed_bills() {
        let stripe = Settler::Provider(Paymode::Stripe);
        assert_eq!(may_settle(Paymode::Stripe, Placed, stripe), Ok(()));
        assert_eq!(may_decline(Paymode::Stripe, Placed, stripe), Ok(()));
        // Neither provider speaks for the other's bills.
        assert_eq!(
            may_settle(Paymode::Test, Placed, stripe),
            Err(SettleRefusal::WrongMethod)
        );
        assert_eq!(
            may_settle(Paymode::Stripe, Placed, GATEWAY),
            Err(SettleRefusal::WrongMethod)
        );
        assert!(may_settle(Paymode::Stripe, Cancelled, stripe).is_err());
    }
}
