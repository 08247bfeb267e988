//! Whether a coupon code may be used now, by this customer, on this cart, and what it does
//! to the cart's lines. The cart page asks without locking (a preview); placing the order
//! asks again with the coupon row locked, and records the redemption in that transaction.

use sqlx::{PgConnection, PgExecutor};
use time::{Date, OffsetDateTime};

use crate::domain::Money;
use crate::domain::coupon::{self, CouponCode, CouponRefusal, LineIn};
use crate::domain::price::Totals;
use crate::services::pricing::{AppliedCoupon, PricedCart};
use crate::store::coupons::{self, Coupon};

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// The coupon's own rules: active, within its days, total and per-customer limits.
/// `used_by_customer` is `None` while the buyer is not known yet (the cart before the
/// details step); the per-customer limit is then checked when the order is placed.
pub fn usable(c: &Coupon, today: Date, used_by_customer: Option<i64>) -> Result<(), CouponRefusal> {
    if !c.active {
        return Err(CouponRefusal::Unknown);
    }
    coupon::check_dates(today, c.valid_from, c.valid_until)?;
    if c.usage_limit.is_some_and(|l| c.used >= i64::from(l)) {
        return Err(CouponRefusal::Exhausted);
    }
    if let (Some(limit), Some(used)) = (c.per_customer_limit, used_by_customer)
        && used >= i64::from(limit)
    {
        return Err(CouponRefusal::CustomerLimit);
    }
    Ok(())
}

/// Applies `c` to the priced cart: the discount spread on the lines it is restricted to,
/// tax recomputed on the net amounts, totals again.
pub fn apply(priced: &mut PricedCart, c: &Coupon) -> Result<(), CouponRefusal> {
    let discount = c.discount().ok_or(CouponRefusal::Unknown)?;
    let lines: Vec<LineIn> = priced
        .lines
        .iter()
        .map(|l| LineIn {
            eligible: c.products.is_empty() || c.products.contains(&l.product.id),
            untaxed: l.priced.untaxed,
            tax_rate: l.priced.tax_rate,
        })
        .collect();
    let out = coupon::spread(discount, &lines).ok_or(CouponRefusal::NotApplicable)?;
    let mut total = Money::ZERO;
    for (line, o) in priced.lines.iter_mut().zip(out) {
        line.discount = o.discount;
        line.priced.untaxed = o.untaxed;
        line.priced.tax = o.tax;
        total = Money::from_minor(total.minor() + o.discount.minor());
    }
    // The amounts only went down: what summed before sums now.
    priced.totals = Totals::of(priced.lines.iter().map(|l| &l.priced)).unwrap_or_default();
    priced.coupon = Some(AppliedCoupon {
        coupon_id: c.id,
        code: c.code.clone(),
        discount: total,
    });
    Ok(())
}

/// The cart page's and review step's check (no lock): the code typed or kept in the
/// session, for the customer when known.
pub async fn preview(
    db: impl PgExecutor<'_> + Copy,
    code: &str,
    customer_id: Option<i64>,
    priced: &mut PricedCart,
) -> sqlx::Result<Result<(), CouponRefusal>> {
    let Some(code) = CouponCode::parse(code) else {
        return Ok(Err(CouponRefusal::Unknown));
    };
    let Some(c) = coupons::find_by_code(db, &code).await? else {
        return Ok(Err(CouponRefusal::Unknown));
    };
    let used = match customer_id {
        Some(id) => Some(coupons::used_by(db, c.id, id).await?),
        None => None,
    };
    Ok(usable(&c, today(), used).and_then(|()| apply(priced, &c)))
}

/// Placing the order: the coupon row locked until the order's transaction ends, every rule
/// checked against redemptions that are final, the cart discounted. The caller records the
/// redemption (`store::coupons::redeem`) in the same transaction once the bill exists.
pub async fn lock_and_apply(
    tx: &mut PgConnection,
    code: &CouponCode,
    customer_id: i64,
    priced: &mut PricedCart,
) -> sqlx::Result<Result<(), CouponRefusal>> {
    let Some(c) = coupons::lock_by_code(&mut *tx, code).await? else {
        return Ok(Err(CouponRefusal::Unknown));
    };
    let used = coupons::used_by(&mut *tx, c.id, customer_id).await?;
    Ok(usable(&c, today(), Some(used)).and_then(|()| apply(priced, &c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn coupon() -> Coupon {
        Coupon {
            id: 1,
            code: "X".into(),
            percent_bp: Some(1_000),
            amount: None,
            valid_from: None,
            valid_until: None,
            usage_limit: Some(2),
            per_customer_limit: Some(1),
            active: true,
            used: 1,
            products: Vec::new(),
        }
    }

    #[test]
    fn limits_and_activity_decide() {
        let d = date!(2027 - 01 - 01);
        assert_eq!(usable(&coupon(), d, Some(0)), Ok(()));
        assert_eq!(usable(&coupon(), d, None), Ok(()));
        assert_eq!(
            usable(&coupon(), d, Some(1)),
            Err(CouponRefusal::CustomerLimit)
        );
        let used_up = Coupon {
            used: 2,
            ..coupon()
        };
        assert_eq!(usable(&used_up, d, Some(0)), Err(CouponRefusal::Exhausted));
        let off = Coupon {
            active: false,
            ..coupon()
        };
        assert_eq!(usable(&off, d, Some(0)), Err(CouponRefusal::Unknown));
        let late = Coupon {
            valid_until: Some(date!(2026 - 12 - 31)),
            ..coupon()
        };
        assert_eq!(usable(&late, d, Some(0)), Err(CouponRefusal::Expired));
    }
}
