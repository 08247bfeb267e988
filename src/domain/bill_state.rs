//! The bill life cycle. Every state change goes through [`BillState::transition`].

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BillState {
    /// Order confirmed by the buyer, payment not yet received.
    Placed,
    /// Waiting for an offline payment (bank transfer).
    Pending,
    Paid,
    /// Paid and produced: seats and enrolments exist.
    Complete,
    Refused,
    Cancelled,
    /// Production failed; the reason is recorded and an operator may retry.
    Failed,
    Refunded,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("a bill cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: BillState,
    pub to: BillState,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown bill state {0:?}")]
pub struct UnknownBillState(pub String);

impl BillState {
    pub const ALL: [BillState; 8] = [
        BillState::Placed,
        BillState::Pending,
        BillState::Paid,
        BillState::Complete,
        BillState::Refused,
        BillState::Cancelled,
        BillState::Failed,
        BillState::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BillState::Placed => "PLACED",
            BillState::Pending => "PENDING",
            BillState::Paid => "PAID",
            BillState::Complete => "COMPLETE",
            BillState::Refused => "REFUSED",
            BillState::Cancelled => "CANCELLED",
            BillState::Failed => "FAILED",
            BillState::Refunded => "REFUNDED",
        }
    }

    /// The only place that knows which moves are legal.
    pub fn can_become(self, to: BillState) -> bool {
        use BillState::*;
        matches!(
            (self, to),
            (Placed, Pending | Paid | Refused | Cancelled)
                | (Pending, Paid | Cancelled)
                | (Paid, Complete | Failed | Refunded)
                // A retry puts a failed bill back in the production queue.
                | (Failed, Paid | Cancelled | Refunded)
                | (Complete, Refunded)
        )
    }

    pub fn transition(self, to: BillState) -> Result<BillState, IllegalTransition> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Whether a payment notification may still move this bill to PAID.
    pub fn awaits_payment(self) -> bool {
        self.can_become(BillState::Paid) && self != BillState::Failed
    }
}

stored_as_text!(BillState);

impl fmt::Display for BillState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BillState {
    type Err = UnknownBillState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BillState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownBillState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::BillState::*;
    use super::*;

    #[test]
    fn happy_paths_are_legal() {
        assert_eq!(Placed.transition(Paid), Ok(Paid));
        assert_eq!(
            Placed.transition(Pending).and_then(|s| s.transition(Paid)),
            Ok(Paid)
        );
        assert_eq!(Paid.transition(Complete), Ok(Complete));
        assert_eq!(
            Paid.transition(Failed).and_then(|s| s.transition(Paid)),
            Ok(Paid)
        );
    }

    #[test]
    fn illegal_moves_are_errors() {
        assert_eq!(
            Complete.transition(Paid),
            Err(IllegalTransition {
                from: Complete,
                to: Paid
            })
        );
        assert!(Placed.transition(Complete).is_err());
        assert!(Cancelled.transition(Paid).is_err());
        assert!(Refused.transition(Paid).is_err());
        assert!(Complete.transition(Complete).is_err());
    }

    #[test]
    fn round_trips_through_text() {
        for state in BillState::ALL {
            assert_eq!(state.as_str().parse::<BillState>(), Ok(state));
        }
        assert!("paid".parse::<BillState>().is_err());
    }

    #[test]
    fn only_unpaid_bills_await_payment() {
        assert!(Placed.awaits_payment());
        assert!(Pending.awaits_payment());
        assert!(!Failed.awaits_payment());
        assert!(!Complete.awaits_payment());
    }
}
