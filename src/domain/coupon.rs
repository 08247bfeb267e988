//! Coupons: a code that takes a percentage or an amount off the lines it applies to.
//! Parsing the operator's form and computing a discount are pure; the store keeps the
//! redemptions and the service decides whether a code may be used now.

use time::Date;
use time::macros::format_description;

use super::form::FieldErrors;
use super::money::{Money, TaxRate};

/// A coupon code as buyers type it: compared case-insensitively, so kept upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CouponCode(String);

impl CouponCode {
    pub const MAX_LEN: usize = 32;

    /// Letters, digits, `-` and `_`, 3 to 32 of them; `None` for anything else (a code
    /// nobody could have been given).
    pub fn parse(input: &str) -> Option<Self> {
        let code = input.trim().to_uppercase();
        let ok = (3..=Self::MAX_LEN).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then_some(CouponCode(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a coupon takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discount {
    /// Basis points of the eligible lines, 100 (1 %) to 10 000 (100 %).
    Percent(u32),
    /// An amount, never more than the eligible lines.
    Fixed(Money),
}

impl Discount {
    /// From the stored columns (exactly one is set, a CHECK says so).
    pub fn from_columns(percent_bp: Option<i32>, amount: Option<i64>) -> Option<Self> {
        match (percent_bp, amount) {
            (Some(bp), None) => u32::try_from(bp).ok().map(Discount::Percent),
            (None, Some(a)) => Some(Discount::Fixed(Money::from_minor(a))),
            _ => None,
        }
    }

    pub fn percent_bp(self) -> Option<i32> {
        match self {
            Discount::Percent(bp) => i32::try_from(bp).ok(),
            Discount::Fixed(_) => None,
        }
    }

    pub fn amount(self) -> Option<i64> {
        match self {
            Discount::Percent(_) => None,
            Discount::Fixed(m) => Some(m.minor()),
        }
    }

    /// The untaxed amount taken off lines worth `eligible` in all: a percentage rounded
    /// half up to the minor unit, an amount capped at `eligible`.
    pub fn off(self, eligible: Money) -> Money {
        let e = eligible.minor().max(0);
        let off = match self {
            Discount::Percent(bp) => {
                let p = i128::from(e) * i128::from(bp.min(10_000));
                i64::try_from((p + 5_000) / 10_000).unwrap_or(e)
            }
            Discount::Fixed(m) => m.minor().max(0),
        };
        Money::from_minor(off.min(e))
    }
}

/// A line the discount may be spread on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineIn {
    pub eligible: bool,
    pub untaxed: Money,
    pub tax_rate: TaxRate,
}

/// A line after the discount: `untaxed` and `tax` are what is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOut {
    pub discount: Money,
    pub untaxed: Money,
    pub tax: Money,
}

/// Spreads `discount` over the eligible lines in proportion to their amounts (each share
/// rounded down, the remainder on the last eligible line so the shares add up exactly; a
/// remainder larger than that line goes back onto the lines before it, so that no line
/// goes below zero). Tax is recomputed on each line's net amount. Lines not eligible are
/// unchanged. `None` when no eligible line is worth anything: the coupon does not apply.
pub fn spread(discount: Discount, lines: &[LineIn]) -> Option<Vec<LineOut>> {
    let eligible: i64 = lines
        .iter()
        .filter(|l| l.eligible)
        .map(|l| l.untaxed.minor().max(0))
        .sum();
    if eligible <= 0 {
        return None;
    }
    let total = discount.off(Money::from_minor(eligible)).minor();
    let last = lines
        .iter()
        .rposition(|l| l.eligible && l.untaxed.minor() > 0)?;
    let mut shares: Vec<i64> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if !l.eligible || i == last {
                return 0;
            }
            let u = l.untaxed.minor().max(0);
            i64::try_from(i128::from(total) * i128::from(u) / i128::from(eligible)).unwrap_or(0)
        })
        .collect();
    let mut remainder = total - shares.iter().sum::<i64>();
    for i in (0..=last).rev() {
        if remainder == 0 {
            break;
        }
        if !lines[i].eligible {
            continue;
        }
        let room = lines[i].untaxed.minor().max(0) - shares[i];
        let put = remainder.min(room);
        shares[i] += put;
        remainder -= put;
    }
    Some(
        lines
            .iter()
            .zip(shares)
            .map(|(l, share)| {
                let untaxed = Money::from_minor(l.untaxed.minor() - share);
                LineOut {
                    discount: Money::from_minor(share),
                    untaxed,
                    tax: untaxed.tax_at(l.tax_rate),
                }
            })
            .collect(),
    )
}

/// The coupon form as typed.
#[derive(Debug, Clone, Default)]
pub struct CouponForm {
    pub code: String,
    /// `percent` or `amount`.
    pub kind: String,
    pub value: String,
    pub valid_from: String,
    pub valid_until: String,
    pub usage_limit: String,
    pub per_customer_limit: String,
    /// Product ids, one `products` field per ticked box.
    pub products: Vec<i64>,
    pub active: String,
}

impl CouponForm {
    /// From the posted pairs (repeated `products` fields; an unparsable id is dropped, as a
    /// box that was never offered).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        CouponForm {
            code: field("code"),
            kind: field("kind"),
            value: field("value"),
            valid_from: field("valid_from"),
            valid_until: field("valid_until"),
            usage_limit: field("usage_limit"),
            per_customer_limit: field("per_customer_limit"),
            products: pairs
                .iter()
                .filter(|(k, _)| k == "products")
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect(),
            active: field("active"),
        }
    }
}

/// A coupon as the operator defined it, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponDraft {
    pub code: CouponCode,
    pub discount: Discount,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub products: Vec<i64>,
    pub active: bool,
}

fn parse_date(errors: &mut FieldErrors, field: &str, input: &str) -> Option<Date> {
    match input.trim() {
        "" => None,
        s => Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map_err(|_| errors.add(field, "errors.date"))
            .ok(),
    }
}

/// An optional limit: empty for none, else a whole number from 1.
fn parse_limit(errors: &mut FieldErrors, field: &str, input: &str) -> Option<i32> {
    match input.trim() {
        "" => None,
        s => s.parse::<i32>().ok().filter(|n| *n >= 1).or_else(|| {
            errors.add(field, "coupon.bad_limit");
            None
        }),
    }
}

impl CouponDraft {
    pub fn parse(form: &CouponForm) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let code = CouponCode::parse(&form.code);
        if code.is_none() {
            errors.add("code", "coupon.bad_code");
        }
        let discount = match form.kind.as_str() {
            "percent" => TaxRate::parse_percent(&form.value)
                .ok()
                .map(|r| r.basis_points())
                .filter(|bp| (100..=10_000).contains(bp))
                .map(Discount::Percent),
            "amount" => Money::parse(&form.value)
                .ok()
                .filter(|m| m.minor() > 0)
                .map(Discount::Fixed),
            _ => {
                errors.add("kind", "coupon.bad_kind");
                None
            }
        };
        if discount.is_none() {
            let key = if form.kind == "percent" {
                "coupon.bad_percent"
            } else {
                "coupon.bad_amount"
            };
            errors.add("value", key);
        }
        let valid_from = parse_date(&mut errors, "valid_from", &form.valid_from);
        let valid_until = parse_date(&mut errors, "valid_until", &form.valid_until);
        if let (Some(f), Some(u)) = (valid_from, valid_until)
            && f > u
        {
            errors.add("valid_until", "coupon.until_before_from");
        }
        let usage_limit = parse_limit(&mut errors, "usage_limit", &form.usage_limit);
        let per_customer_limit =
            parse_limit(&mut errors, "per_customer_limit", &form.per_customer_limit);
        let mut products = form.products.clone();
        products.sort_unstable();
        products.dedup();
        match (code, discount) {
            (Some(code), Some(discount)) if errors.is_empty() => Ok(CouponDraft {
                code,
                discount,
                valid_from,
                valid_until,
                usage_limit,
                per_customer_limit,
                products,
                active: matches!(form.active.as_str(), "1" | "on" | "true"),
            }),
            _ => Err(errors),
        }
    }
}

/// Why a code may not be used, as a translation key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouponRefusal {
    Unknown,
    NotYetValid,
    Expired,
    Exhausted,
    CustomerLimit,
    NotApplicable,
}

impl CouponRefusal {
    pub fn message_key(self) -> &'static str {
        match self {
            CouponRefusal::Unknown => "coupon.unknown",
            CouponRefusal::NotYetValid => "coupon.not_yet_valid",
            CouponRefusal::Expired => "coupon.expired",
            CouponRefusal::Exhausted => "coupon.exhausted",
            CouponRefusal::CustomerLimit => "coupon.customer_limit",
            CouponRefusal::NotApplicable => "coupon.not_applicable",
        }
    }
}

/// The date rule: valid from the first day to the last day included (UTC days).
pub fn check_dates(
    today: Date,
    from: Option<Date>,
    until: Option<Date>,
) -> Result<(), CouponRefusal> {
    if from.is_some_and(|f| today < f) {
        return Err(CouponRefusal::NotYetValid);
    }
    if until.is_some_and(|u| today > u) {
        return Err(CouponRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn m(minor: i64) -> Money {
        Money::from_minor(minor)
    }

    fn line(untaxed: i64, bp: u32) -> LineIn {
        LineIn {
            eligible: true,
            untaxed: m(untaxed),
            tax_rate: TaxRate::from_basis_points(bp).unwrap(),
        }
    }

    #[test]
    fn codes_are_case_insensitive_and_plain() {
        assert_eq!(
            CouponCode::parse(" welcome-10 ").unwrap().as_str(),
            "WELCOME-10"
        );
        for bad in ["", "ab", "with space", "émoji", &"X".repeat(33), "a;b"] {
            assert!(CouponCode::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_percentage_rounds_half_up_to_the_cent() {
        // 10 % of 0.05 is 0.005: half a cent rounds up.
        assert_eq!(Discount::Percent(1_000).off(m(5)), m(1));
        assert_eq!(Discount::Percent(1_000).off(m(4)), m(0));
        assert_eq!(Discount::Percent(1_250).off(m(120_000)), m(15_000));
        assert_eq!(Discount::Percent(10_000).off(m(999)), m(999));
    }

    #[test]
    fn a_fixed_amount_is_never_more_than_the_eligible_lines() {
        assert_eq!(Discount::Fixed(m(5_000)).off(m(120_000)), m(5_000));
        assert_eq!(Discount::Fixed(m(500_000)).off(m(120_000)), m(120_000));
    }

    #[test]
    fn the_spread_is_proportional_and_exact_with_the_remainder_last() {
        // 10.00 off 100.00 + 200.00: 3.33 and the remainder 6.67 on the last line.
        let out = spread(
            Discount::Fixed(m(1_000)),
            &[line(10_000, 2_000), line(20_000, 2_000)],
        )
        .unwrap();
        assert_eq!(out[0].discount, m(333));
        assert_eq!(out[1].discount, m(667));
        assert_eq!(out[0].untaxed, m(9_667));
        // Tax is on the net amount: 20 % of 96.67 = 19.334 -> 19.33.
        assert_eq!(out[0].tax, m(1_933));
        assert_eq!(out[1].untaxed, m(19_333));
        assert_eq!(out[1].tax, m(3_867));
    }

    #[test]
    fn lines_not_eligible_are_untouched() {
        let other = LineIn {
            eligible: false,
            ..line(5_000, 2_000)
        };
        let out = spread(Discount::Percent(5_000), &[other, line(10_000, 550)]).unwrap();
        assert_eq!(out[0].discount, m(0));
        assert_eq!(out[0].untaxed, m(5_000));
        assert_eq!(out[0].tax, m(1_000));
        assert_eq!(out[1].discount, m(5_000));
        assert_eq!(out[1].tax, m(275));
    }

    #[test]
    fn a_remainder_bigger_than_the_last_line_goes_back_to_earlier_lines() {
        // Three lines of 0.01, 0.02 off: floors are 0 and 0, remainder 2 > 1 on the last.
        let out = spread(Discount::Fixed(m(2)), &[line(1, 0), line(1, 0), line(1, 0)]).unwrap();
        let shares: Vec<i64> = out.iter().map(|o| o.discount.minor()).collect();
        assert_eq!(shares.iter().sum::<i64>(), 2);
        assert!(out.iter().all(|o| o.untaxed.minor() >= 0), "{shares:?}");
        assert_eq!(shares, vec![0, 1, 1]);
    }

    #[test]
    fn a_hundred_percent_zeroes_the_eligible_lines() {
        let out = spread(
            Discount::Percent(10_000),
            &[line(12_345, 2_000), line(1, 2_000)],
        )
        .unwrap();
        assert!(out.iter().all(|o| o.untaxed == m(0) && o.tax == m(0)));
    }

    #[test]
    fn nothing_eligible_means_the_coupon_does_not_apply() {
        let other = LineIn {
            eligible: false,
            ..line(5_000, 0)
        };
        assert_eq!(spread(Discount::Percent(1_000), &[other]), None);
        assert_eq!(spread(Discount::Percent(1_000), &[line(0, 0)]), None);
    }

    #[test]
    fn sums_are_exact_for_many_shapes() {
        for n in 1..8_i64 {
            for off in [1, 7, 99, 1_000, 123_456] {
                let lines: Vec<LineIn> = (0..n).map(|i| line(i * 37 + 11, 2_000)).collect();
                let eligible: i64 = lines.iter().map(|l| l.untaxed.minor()).sum();
                let out = spread(Discount::Fixed(m(off)), &lines).unwrap();
                let sum: i64 = out.iter().map(|o| o.discount.minor()).sum();
                assert_eq!(sum, off.min(eligible), "n={n} off={off}");
                assert!(out.iter().all(|o| o.untaxed.minor() >= 0));
            }
        }
    }

    fn form(kind: &str, value: &str) -> CouponForm {
        CouponForm {
            code: "spring".into(),
            kind: kind.into(),
            value: value.into(),
            active: "1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_form_parses_into_a_draft() {
        let d = CouponDraft::parse(&CouponForm {
            valid_from: "2027-01-01".into(),
            valid_until: "2027-01-31".into(),
            usage_limit: "10".into(),
            per_customer_limit: "1".into(),
            products: vec![3, 1, 3],
            ..form("percent", "12.5")
        })
        .unwrap();
        assert_eq!(d.code.as_str(), "SPRING");
        assert_eq!(d.discount, Discount::Percent(1_250));
        assert_eq!(d.valid_until, Some(date!(2027 - 01 - 31)));
        assert_eq!((d.usage_limit, d.per_customer_limit), (Some(10), Some(1)));
        assert_eq!(d.products, vec![1, 3]);
        assert!(d.active);
        let d = CouponDraft::parse(&form("amount", "50")).unwrap();
        assert_eq!(d.discount, Discount::Fixed(m(5_000)));
    }

    #[test]
    fn the_form_reports_every_bad_field() {
        for (kind, value) in [
            ("percent", "0.5"),
            ("percent", "101"),
            ("amount", "0"),
            ("amount", "x"),
        ] {
            let e = CouponDraft::parse(&form(kind, value)).unwrap_err();
            assert!(e.has("value"), "{kind} {value}");
        }
        let e = CouponDraft::parse(&CouponForm {
            code: "a b".into(),
            valid_from: "2027-02-01".into(),
            valid_until: "2027-01-01".into(),
            usage_limit: "0".into(),
            per_customer_limit: "-1".into(),
            ..form("what", "1")
        })
        .unwrap_err();
        for f in [
            "code",
            "kind",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
        ] {
            assert!(e.has(f), "{f}");
        }
    }

    #[test]
    fn validity_days_are_inclusive() {
        let (from, until) = (Some(date!(2027 - 01 - 01)), Some(date!(2027 - 01 - 31)));
        assert_eq!(check_dates(date!(2027 - 01 - 01), from, until), Ok(()));
        assert_eq!(check_dates(date!(2027 - 01 - 31), from, until), Ok(()));
        assert_eq!(
            check_dates(date!(2026 - 12 - 31), from, until),
            Err(CouponRefusal::NotYetValid)
        );
        assert_eq!(
            check_dates(date!(2027 - 02 - 01), from, until),
            Err(CouponRefusal::Expired)
        );
        assert_eq!(check_dates(date!(2000 - 01 - 01), None, None), Ok(()));
    }
}
