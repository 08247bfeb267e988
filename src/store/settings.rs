use sqlx::PgExecutor;

use crate::domain::paymode::Paymode;

#[derive(Debug, Clone)]
pub struct Settings {
    pub shop_name: String,
    pub currency: String,
    pub default_support_course_id: Option<i64>,
    pub sales_conditions: String,
    /// The payment methods buyers may choose (`free` is always offered for a zero total).
    pub paymodes: Vec<Paymode>,
}

pub async fn load(db: impl PgExecutor<'_>) -> sqlx::Result<Settings> {
    sqlx::query_as!(
        Settings,
        r#"SELECT shop_name, currency, default_support_course_id, sales_conditions,
              paymodes AS "paymodes: Vec<Paymode>"
           FROM settings WHERE id = 1"#
    )
    .fetch_one(db)
    .await
}

pub async fn save(db: impl PgExecutor<'_>, s: &Settings) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE settings SET shop_name = $1, currency = $2, default_support_course_id = $3,
           sales_conditions = $4, paymodes = $5, updated_at = now() WHERE id = 1",
        s.shop_name,
        s.currency,
        s.default_support_course_id,
        s.sales_conditions,
        &s.paymodes[..] as &[Paymode]
    )
    .execute(db)
    .await?;
    Ok(())
}
