//! What may be refunded on a bill, and how much each refund gives back, exactly.
//!
//! A line's money is its net untaxed amount and its tax (after any discount: what was
//! charged). Refunding `q` of its `Q` units gives back the difference of a cumulative share,
//! `share(r + q) - share(r)` with `share(k) = round(amount × k / Q)`: however a line is refunded
//! in parts, the parts add up to the line exactly, and the last unit takes what is left. An
//! extra amount (a gesture, units kept) is split between untaxed and tax at the line's own
//! proportion, within what is left of each.

use thiserror::Error;

use super::Money;

/// One bill line as a refund sees it: what was charged and what earlier refunds gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: u32,
    pub untaxed: Money,
    pub tax: Money,
    pub refunded_quantity: u32,
    pub refunded_untaxed: Money,
    pub refunded_tax: Money,
}

/// What the operator asks for one line: units (their seats go too) and/or an amount, taxes
/// included, given back while the units stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Request {
    pub units: u32,
    pub amount: Money,
}

/// What one line of a refund gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Part {
    pub units: u32,
    pub untaxed: Money,
    pub tax: Money,
}

impl Part {
    pub fn total(&self) -> Money {
        Money::from_minor(self.untaxed.minor() + self.tax.minor())
    }

    pub fn is_empty(&self) -> bool {
        self.units == 0 && self.untaxed == Money::ZERO && self.tax == Money::ZERO
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RefundError {
    #[error("more units than are left to refund on the line")]
    TooManyUnits,
    #[error("more money than is left to refund on the line")]
    TooMuchMoney,
    #[error("nothing to refund")]
    Nothing,
}

impl Line {
    pub fn units_left(&self) -> u32 {
        self.quantity.saturating_sub(self.refunded_quantity)
    }

    pub fn untaxed_left(&self) -> Money {
        Money::from_minor((self.untaxed.minor() - self.refunded_untaxed.minor()).max(0))
    }

    pub fn tax_left(&self) -> Money {
        Money::from_minor((self.tax.minor() - self.refunded_tax.minor()).max(0))
    }

    /// What is left to give back, taxes included.
    pub fn money_left(&self) -> Money {
        Money::from_minor(self.untaxed_left().minor() + self.tax_left().minor())
    }

    /// Nothing left on the line: every unit and every cent went back.
    pub fn fully_refunded(&self) -> bool {
        self.units_left() == 0 && self.money_left() == Money::ZERO
    }

    /// Everything that is left: what a full refund gives back for this line.
    pub fn rest(&self) -> Part {
        Part {
            units: self.units_left(),
            untaxed: self.untaxed_left(),
            tax: self.tax_left(),
        }
    }

    /// This line after `part` was given back.
    pub fn after(&self, part: Part) -> Line {
        Line {
            refunded_quantity: self.refunded_quantity + part.units,
            refunded_untaxed: Money::from_minor(
                self.refunded_untaxed.minor() + part.untaxed.minor(),
            ),
            refunded_tax: Money::from_minor(self.refunded_tax.minor() + part.tax.minor()),
            ..*self
        }
    }

    /// What `request` gives back on this line, or why it cannot.
    pub fn refund(&self, request: Request) -> Result<Part, RefundError> {
        if request.units > self.units_left() {
            return Err(RefundError::TooManyUnits);
        }
        let (mut untaxed_left, mut tax_left) = (self.untaxed_left(), self.tax_left());
        let (untaxed, tax) = if request.units == 0 {
            (Money::ZERO, Money::ZERO)
        } else if request.units == self.units_left() {
            // The last units close the line: whatever is left, so the parts add up exactly.
            (untaxed_left, tax_left)
        } else {
            let before = self.refunded_quantity;
            let after = before + request.units;
            let share = |amount: Money, k: u32| share(amount, k, self.quantity);
            (
                Money::from_minor(
                    (share(self.untaxed, after) - share(self.untaxed, before))
                        .min(untaxed_left.minor()),
                ),
                Money::from_minor(
                    (share(self.tax, after) - share(self.tax, before)).min(tax_left.minor()),
                ),
            )
        };
        untaxed_left = Money::from_minor(untaxed_left.minor() - untaxed.minor());
        tax_left = Money::from_minor(tax_left.minor() - tax.minor());
        let (extra_untaxed, extra_tax) = self.split(request.amount, untaxed_left, tax_left)?;
        let part = Part {
            units: request.units,
            untaxed: Money::from_minor(untaxed.minor() + extra_untaxed.minor()),
            tax: Money::from_minor(tax.minor() + extra_tax.minor()),
        };
        if part.is_empty() {
            return Err(RefundError::Nothing);
        }
        Ok(part)
    }

    /// Splits an amount (taxes included) into untaxed and tax at the line's proportion,
    /// within what is left of each: all that is left splits into exactly what is left.
    fn split(
        &self,
        amount: Money,
        untaxed_left: Money,
        tax_left: Money,
    ) -> Result<(Money, Money), RefundError> {
        let (a, ul, tl) = (amount.minor(), untaxed_left.minor(), tax_left.minor());
        if a > ul + tl {
            return Err(RefundError::TooMuchMoney);
        }
        let charged = i128::from(self.untaxed.minor()) + i128::from(self.tax.minor());
        let proportional = if charged == 0 {
            a
        } else {
            let p = i128::from(a) * i128::from(self.untaxed.minor());
            i64::try_from((2 * p + charged) / (2 * charged)).unwrap_or(a)
        };
        let untaxed = proportional.clamp(a - tl, ul);
        Ok((Money::from_minor(untaxed), Money::from_minor(a - untaxed)))
    }
}

/// `round(amount × k / n)`, half up; `share(amount, n, n) == amount`.
fn share(amount: Money, k: u32, n: u32) -> i64 {
    if n == 0 {
        return 0;
    }
    let p = i128::from(amount.minor()) * i128::from(k);
    let n = i128::from(n);
    i64::try_from((2 * p + n) / (2 * n)).unwrap_or(i64::MAX)
}

/// How many seats a refunded unit takes back: a unit of a seat pack is `packsize` seats.
pub fn seats_per_unit(packsize: u32) -> u32 {
    packsize.max(1)
}

/// What the seats of a refunded line come to: `wanted` seats should go; `free` unassigned
/// and `assigned` (in use or locked) ones exist. Only free seats are revoked; the assigned
/// ones the refund should have taken are reported, never removed. Units never produced (a
/// bill refunded before production) have nothing to revoke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatOutcome {
    pub revoked: u32,
    /// Seats the refund should have taken back but that are assigned or locked: kept.
    pub kept: u32,
}

pub fn seat_outcome(wanted: u32, free: u32, assigned: u32) -> SeatOutcome {
    let revoked = wanted.min(free);
    SeatOutcome {
        revoked,
        kept: (wanted - revoked).min(assigned),
    }
}

/// After a refund: every line fully refunded makes the bill REFUNDED; otherwise it keeps
/// its state and reads "partially refunded" (a label, not a state).
pub fn bill_fully_refunded(lines: &[Line]) -> bool {
    lines.iter().all(Line::fully_refunded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn line(quantity: u32, untaxed: i64, tax: i64) -> Line {
        Line {
            quantity,
            untaxed: m(untaxed),
            tax: m(tax),
            refunded_quantity: 0,
            refunded_untaxed: Money::ZERO,
            refunded_tax: Money::ZERO,
        }
    }

    fn units(n: u32) -> Request {
        Request {
            units: n,
            amount: Money::ZERO,
        }
    }

    #[test]
    fn partial_refunds_of_a_line_add_up_to_the_line_exactly() {
        // 3 units for 100.00 + 20.00 tax: thirds do not divide evenly.
        let mut l = line(3, 10_000, 2_000);
        let mut parts = vec![];
        for _ in 0..3 {
            let p = l.refund(units(1)).unwrap();
            parts.push(p);
            l = l.after(p);
        }
        assert_eq!(parts[0].untaxed, m(3_333));
        assert_eq!(parts[1].untaxed, m(3_334));
        assert_eq!(parts[2].untaxed, m(3_333));
        let untaxed: i64 = parts.iter().map(|p| p.untaxed.minor()).sum();
        let tax: i64 = parts.iter().map(|p| p.tax.minor()).sum();
        assert_eq!((untaxed, tax), (10_000, 2_000));
        assert!(l.fully_refunded());
        assert_eq!(l.refund(units(1)), Err(RefundError::TooManyUnits));
    }

    #[test]
    fn every_split_of_units_sums_to_the_line() {
        for q in 1..=7u32 {
            for first in 1..q {
                let l = line(q, 99_999, 19_999);
                let a = l.refund(units(first)).unwrap();
                let b = l.after(a).refund(units(q - first)).unwrap();
                assert_eq!(a.untaxed.minor() + b.untaxed.minor(), 99_999);
                assert_eq!(a.tax.minor() + b.tax.minor(), 19_999);
            }
        }
    }

    #[test]
    fn the_whole_line_at_once_is_the_line() {
        let l = line(2, 240_000, 48_000);
        let p = l.refund(units(2)).unwrap();
        assert_eq!(
            (p.untaxed, p.tax, p.total()),
            (m(240_000), m(48_000), m(288_000))
        );
        assert_eq!(l.rest(), p);
    }

    #[test]
    fn an_amount_splits_at_the_lines_proportion_and_never_beyond_what_is_left() {
        let l = line(1, 10_000, 2_000);
        let p = l
            .refund(Request {
                units: 0,
                amount: m(1_200),
            })
            .unwrap();
        assert_eq!((p.untaxed, p.tax, p.units), (m(1_000), m(200), 0));
        let l = l.after(p);
        assert_eq!(
            l.refund(Request {
                units: 0,
                amount: m(10_801)
            }),
            Err(RefundError::TooMuchMoney)
        );
        // The unit after a gesture gives back what is left, exactly.
        let last = l.refund(units(1)).unwrap();
        assert_eq!((last.untaxed, last.tax), (m(9_000), m(1_800)));
        assert!(l.after(last).fully_refunded());
    }

    #[test]
    fn units_and_amount_together_must_fit_what_is_left() {
        let l = line(2, 10_000, 0);
        let p = l
            .refund(Request {
                units: 1,
                amount: m(5_000),
            })
            .unwrap();
        assert_eq!(p.untaxed, m(10_000));
        assert_eq!(
            l.refund(Request {
                units: 1,
                amount: m(5_001)
            }),
            Err(RefundError::TooMuchMoney)
        );
    }

    #[test]
    fn an_empty_request_is_refused_but_a_free_unit_is_not() {
        let l = line(2, 1_000, 200);
        assert_eq!(l.refund(Request::default()), Err(RefundError::Nothing));
        let free = line(2, 0, 0);
        let p = free.refund(units(1)).unwrap();
        assert_eq!((p.units, p.total()), (1, Money::ZERO));
    }

    #[test]
    fn seats_are_revoked_only_where_free_and_the_rest_is_reported() {
        assert_eq!(seats_per_unit(0), 1);
        assert_eq!(seats_per_unit(5), 5);
        assert_eq!(
            seat_outcome(10, 7, 3),
            SeatOutcome {
                revoked: 7,
                kept: 3
            }
        );
        assert_eq!(
            seat_outcome(5, 9, 1),
            SeatOutcome {
                revoked: 5,
                kept: 0
            }
        );
        // Not produced yet: nothing to revoke, nothing kept.
        assert_eq!(
            seat_outcome(5, 0, 0),
            SeatOutcome {
                revoked: 0,
                kept: 0
            }
        );
        assert_eq!(
            seat_outcome(10, 2, 20),
            SeatOutcome {
                revoked: 2,
                kept: 8
            }
        );
    }

    #[test]
    fn the_bill_is_refunded_when_every_line_is() {
        let a = line(2, 1_000, 200);
        let b = line(1, 500, 100);
        let a_done = a.after(a.rest());
        assert!(!bill_fully_refunded(&[a_done, b]));
        assert!(bill_fully_refunded(&[a_done, b.after(b.rest())]));
        // A gesture giving back all the money leaves the units: not fully refunded.
        let gesture = b.after(
            b.refund(Request {
                units: 0,
                amount: m(600),
            })
            .unwrap(),
        );
        assert!(!gesture.fully_refunded());
    }
}
