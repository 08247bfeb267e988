//! Product instances (seats and enrolment products), seat states and what may be done in
//! each.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatState {
    /// Unassigned, still valid: can be assigned.
    Available,
    /// Assigned; the learner has not opened the course yet: can be unassigned.
    InUse,
    /// The learner opened the course: the seat is spent.
    Locked,
    /// Unassigned past its end date: can no longer be assigned.
    Expired,
}

impl SeatState {
    pub const ALL: [SeatState; 4] = [
        SeatState::Available,
        SeatState::InUse,
        SeatState::Locked,
        SeatState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeatState::Available => "available",
            SeatState::InUse => "in_use",
            SeatState::Locked => "locked",
            SeatState::Expired => "expired",
        }
    }

    /// The state of a seat from its facts; the same rule as the `seat_state` SQL function
    /// (migration 0004), which lists and counts use.
    pub fn of(assigned: bool, locked: bool, expired: bool) -> SeatState {
        match (assigned, locked, expired) {
            (true, true, _) => SeatState::Locked,
            (true, false, _) => SeatState::InUse,
            (false, _, true) => SeatState::Expired,
            (false, _, false) => SeatState::Available,
        }
    }

    pub fn can_assign(self) -> bool {
        self == SeatState::Available
    }

    pub fn can_unassign(self) -> bool {
        self == SeatState::InUse
    }
}

stored_as_text!(SeatState);

impl fmt::Display for SeatState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SeatState {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        SeatState::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

/// What a product instance is: a seat, assigned later by the customer, or an enrolment
/// product, given to the customer's own user at production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    Seat,
    Enrolment,
}

impl ProductKind {
    pub const ALL: [ProductKind; 2] = [ProductKind::Seat, ProductKind::Enrolment];

    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Seat => "seat",
            ProductKind::Enrolment => "enrolment",
        }
    }

    /// Only seats are assigned and released by the customer.
    pub fn is_seat(self) -> bool {
        self == ProductKind::Seat
    }
}

stored_as_text!(ProductKind);

impl fmt::Display for ProductKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProductKind {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ProductKind::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_available_seats_are_assigned_and_only_unused_ones_released() {
        assert!(SeatState::Available.can_assign());
        for s in [SeatState::InUse, SeatState::Locked, SeatState::Expired] {
            assert!(!s.can_assign(), "{s}");
        }
        assert!(SeatState::InUse.can_unassign());
        assert!(!SeatState::Locked.can_unassign());
        assert!(!SeatState::Available.can_unassign());
        for s in SeatState::ALL {
            assert_eq!(s.as_str().parse(), Ok(s));
        }
        for k in ProductKind::ALL {
            assert_eq!(k.as_str().parse(), Ok(k));
        }
    }

    #[test]
    fn state_from_facts_follows_the_sql_rule() {
        // (assigned, locked, expired): assignment wins over expiry, as in `seat_state`.
        assert_eq!(SeatState::of(true, true, true), SeatState::Locked);
        assert_eq!(SeatState::of(true, false, true), SeatState::InUse);
        assert_eq!(SeatState::of(false, false, true), SeatState::Expired);
        assert_eq!(SeatState::of(false, false, false), SeatState::Available);
    }
}
