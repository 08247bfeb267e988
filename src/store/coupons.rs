//! Coupons, the products they are restricted to, and their redemptions.

use sqlx::{PgConnection, PgExecutor};
use time::Date;

use crate::domain::coupon::{CouponCode, CouponDraft, Discount};

#[derive(Debug, Clone)]
pub struct Coupon {
    pub id: i64,
    pub code: String,
    pub percent_bp: Option<i32>,
    pub amount: Option<i64>,
    pub valid_from: Option<Date>,
    pub valid_until: Option<Date>,
    pub usage_limit: Option<i32>,
    pub per_customer_limit: Option<i32>,
    pub active: bool,
    /// Live redemptions (bills placed with it, not refused or cancelled).
    pub used: i64,
    /// Ids of the products it is restricted to; empty: every product.
    pub products: Vec<i64>,
}

impl Coupon {
    pub fn discount(&self) -> Option<Discount> {
        Discount::from_columns(self.percent_bp, self.amount)
    }
}

macro_rules! coupon_query {
    ($after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Coupon,
            r#"SELECT c.id, c.code, c.percent_bp, c.amount, c.valid_from, c.valid_until,
                   c.usage_limit, c.per_customer_limit, c.active,
                   (SELECT count(*) FROM coupon_redemptions r
                     WHERE r.coupon_id = c.id AND r.released_at IS NULL) AS "used!",
                   ARRAY(SELECT cp.product_id FROM coupon_products cp
                     WHERE cp.coupon_id = c.id ORDER BY cp.product_id) AS "products!"
               FROM coupons c "# + $after
            $(, $arg)*
        )
    };
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Coupon>> {
    coupon_query!("ORDER BY c.code").fetch_all(db).await
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Coupon>> {
    coupon_query!("WHERE c.id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_code(
    db: impl PgExecutor<'_>,
    code: &CouponCode,
) -> sqlx::Result<Option<Coupon>> {
    coupon_query!("WHERE c.code = $1", code.as_str())
        .fetch_optional(db)
        .await
}

/// [`find_by_code`] with the coupon row locked until the transaction ends: every checkout
/// using this code waits here for the one before it to commit or roll back, so the
/// redemptions it then counts are final (race-safe limits).
pub async fn lock_by_code(
    db: &mut PgConnection,
    code: &CouponCode,
) -> sqlx::Result<Option<Coupon>> {
    // Two statements: a statement that waited for the lock still reads with the snapshot
    // it started with, so counting in the locking one would miss the redemption of the
    // transaction it waited for (two bills for a coupon of one use). The second statement
    // starts after the lock is ours and sees every committed redemption.
    let locked = sqlx::query_scalar!(
        "SELECT id FROM coupons WHERE code = $1 FOR UPDATE",
        code.as_str()
    )
    .fetch_optional(&mut *db)
    .await?;
    match locked {
        Some(id) => find(&mut *db, id).await,
        None => Ok(None),
    }
}

/// Live redemptions of `coupon_id` by `customer_id`.
pub async fn used_by(
    db: impl PgExecutor<'_>,
    coupon_id: i64,
    customer_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM coupon_redemptions
           WHERE coupon_id = $1 AND customer_id = $2 AND released_at IS NULL"#,
        coupon_id,
        customer_id
    )
    .fetch_one(db)
    .await
}

/// Inserts the coupon; `None` when its code is taken.
pub async fn insert(db: &mut PgConnection, d: &CouponDraft) -> sqlx::Result<Option<i64>> {
    let id = sqlx::query_scalar!(
        "INSERT INTO coupons (code, percent_bp, amount, valid_from, valid_until, usage_limit,
             per_customer_limit, active)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (code) DO NOTHING RETURNING id",
        d.code.as_str(),
        d.discount.percent_bp(),
        d.discount.amount(),
        d.valid_from,
        d.valid_until,
        d.usage_limit,
        d.per_customer_limit,
        d.active
    )
    .fetch_optional(&mut *db)
    .await?;
    if let Some(id) = id {
        set_products(db, id, &d.products).await?;
    }
    Ok(id)
}

/// Updates the coupon; `false` when its new code belongs to another one.
pub async fn update(db: &mut PgConnection, id: i64, d: &CouponDraft) -> sqlx::Result<bool> {
    let taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM coupons WHERE code = $1 AND id <> $2) AS "taken!""#,
        d.code.as_str(),
        id
    )
    .fetch_one(&mut *db)
    .await?;
    if taken {
        return Ok(false);
    }
    sqlx::query!(
        "UPDATE coupons SET code = $2, percent_bp = $3, amount = $4, valid_from = $5,
             valid_until = $6, usage_limit = $7, per_customer_limit = $8, active = $9
         WHERE id = $1",
        id,
        d.code.as_str(),
        d.discount.percent_bp(),
        d.discount.amount(),
        d.valid_from,
        d.valid_until,
        d.usage_limit,
        d.per_customer_limit,
        d.active
    )
    .execute(&mut *db)
    .await?;
    set_products(db, id, &d.products).await?;
    Ok(true)
}

/// Replaces the coupon's products with those of `products` that exist.
async fn set_products(db: &mut PgConnection, id: i64, products: &[i64]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM coupon_products WHERE coupon_id = $1", id)
        .execute(&mut *db)
        .await?;
    sqlx::query!(
        "INSERT INTO coupon_products (coupon_id, product_id)
         SELECT $1, p.id FROM products p WHERE p.id = ANY($2)",
        id,
        products
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

pub async fn set_active(db: impl PgExecutor<'_>, id: i64, active: bool) -> sqlx::Result<bool> {
    let r = sqlx::query!("UPDATE coupons SET active = $2 WHERE id = $1", id, active)
        .execute(db)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Records that `bill_id` used the coupon (in the transaction placing the bill).
pub async fn redeem(
    db: impl PgExecutor<'_>,
    coupon_id: i64,
    bill_id: i64,
    customer_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO coupon_redemptions (coupon_id, bill_id, customer_id) VALUES ($1, $2, $3)",
        coupon_id,
        bill_id,
        customer_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives the bill's use of its coupon back (the bill was refused or cancelled); the row
/// stays, dated, as history.
pub async fn release(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE coupon_redemptions SET released_at = now()
         WHERE bill_id = $1 AND released_at IS NULL",
        bill_id
    )
    .execute(db)
    .await?;
    Ok(())
}
