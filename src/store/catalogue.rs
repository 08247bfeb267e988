//! Products, categories and taxes.

use sqlx::PgExecutor;

use crate::domain::Money;
use crate::domain::price::PriceTiers;
use crate::domain::product::{ProductDraft, ProductStatus};

/// A query returning whole [`Product`]s: the one column list, then `$tail` (FROM ...). The
/// literals are concatenated by `query_as!`, still checked at compile time.
macro_rules! product_query {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Product,
            r#"SELECT id, code, name, description, category_id, status AS "status: ProductStatus",
                  price1, range2, price2, range3, price3, range4, price4, range5, price5, tax_code,
                  max_quantity, logged_in_only, handler, handler_params, sales_conditions, sortorder "#
                + $tail
            $(, $arg)*
        )
    };
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub status: ProductStatus,
    pub price1: i64,
    pub range2: Option<i32>,
    pub price2: Option<i64>,
    pub range3: Option<i32>,
    pub price3: Option<i64>,
    pub range4: Option<i32>,
    pub price4: Option<i64>,
    pub range5: Option<i32>,
    pub price5: Option<i64>,
    pub tax_code: Option<String>,
    pub max_quantity: Option<i32>,
    pub logged_in_only: bool,
    pub handler: String,
    pub handler_params: String,
    pub sales_conditions: String,
    pub sortorder: i32,
}

impl Product {
    pub fn tiers(&self) -> PriceTiers {
        let tiers: Vec<(u32, Money)> = [
            (self.range2, self.price2),
            (self.range3, self.price3),
            (self.range4, self.price4),
            (self.range5, self.price5),
        ]
        .into_iter()
        .filter_map(|(r, p)| Some((u32::try_from(r?).ok()?, Money::from_minor(p?))))
        .collect();
        // Stored tiers were validated on save; should a hand-edited row be inconsistent, the
        // base price alone is the safe reading.
        let base = Money::from_minor(self.price1);
        PriceTiers::new(base, tiers).unwrap_or_else(|_| PriceTiers::flat(base))
    }
}

pub async fn all_products(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Product>> {
    product_query!("FROM products ORDER BY sortorder, code")
        .fetch_all(db)
        .await
}

/// The products an order names, as committed now, share-locked until the order commits: an
/// operator's price change waits for the order or is seen by it, never half of each.
pub async fn products_for_order(
    db: impl PgExecutor<'_>,
    codes: &[String],
) -> sqlx::Result<Vec<Product>> {
    product_query!(
        "FROM products WHERE code = ANY($1) ORDER BY id FOR SHARE",
        codes
    )
    .fetch_all(db)
    .await
}

pub async fn product(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Product>> {
    product_query!("FROM products WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn product_by_code(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<Product>> {
    product_query!("FROM products WHERE code = $1", code)
        .fetch_optional(db)
        .await
}

fn tier(d: &ProductDraft, n: usize) -> (Option<i32>, Option<i64>) {
    d.tiers
        .tiers()
        .get(n)
        .map_or((None, None), |(from, price)| {
            (i32::try_from(*from).ok(), Some(price.minor()))
        })
}

/// Inserts or, with `id`, updates a product. `Ok(None)` when the code belongs to another product.
pub async fn save_product(
    db: impl PgExecutor<'_>,
    id: Option<i64>,
    d: &ProductDraft,
) -> sqlx::Result<Option<i64>> {
    let (r2, p2) = tier(d, 0);
    let (r3, p3) = tier(d, 1);
    let (r4, p4) = tier(d, 2);
    let (r5, p5) = tier(d, 3);
    // One statement for both cases: the CTE updates when `id` is given, the insert runs
    // otherwise; a taken code yields no row instead of an error.
    sqlx::query_scalar!(
        r#"WITH updated AS (
            UPDATE products SET code = $2, name = $3, description = $4, category_id = $5,
                status = $6, price1 = $7, range2 = $8, price2 = $9, range3 = $10, price3 = $11,
                range4 = $12, price4 = $13, range5 = $14, price5 = $15, tax_code = $16,
                max_quantity = $17, logged_in_only = $18, handler = $19, handler_params = $20,
                sales_conditions = $21, sortorder = $22, updated_at = now()
            WHERE id = $1
              AND NOT EXISTS (SELECT 1 FROM products p WHERE p.code = $2 AND p.id <> $1)
            RETURNING id
        ), inserted AS (
            INSERT INTO products (code, name, description, category_id, status, price1, range2,
                price2, range3, price3, range4, price4, range5, price5, tax_code, max_quantity,
                logged_in_only, handler, handler_params, sales_conditions, sortorder)
            SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19, $20, $21, $22
            WHERE $1::BIGINT IS NULL
            ON CONFLICT (code) DO NOTHING
            RETURNING id
        )
        SELECT id AS "id!" FROM updated UNION ALL SELECT id FROM inserted"#,
        id,
        d.code,
        d.name,
        d.description,
        d.category_id,
        d.status as ProductStatus,
        d.tiers.base().minor(),
        r2,
        p2,
        r3,
        p3,
        r4,
        p4,
        r5,
        p5,
        d.tax_code,
        d.max_quantity,
        d.logged_in_only,
        d.handler,
        d.handler_params,
        d.sales_conditions,
        d.sortorder
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub sortorder: i32,
    pub visible: bool,
}

pub async fn categories(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Category>> {
    sqlx::query_as!(
        Category,
        "SELECT id, name, sortorder, visible FROM categories ORDER BY sortorder, name"
    )
    .fetch_all(db)
    .await
}

pub async fn save_category(
    db: impl PgExecutor<'_>,
    id: Option<i64>,
    name: &str,
    sortorder: i32,
    visible: bool,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"WITH updated AS (
            UPDATE categories SET name = $2, sortorder = $3, visible = $4 WHERE id = $1 RETURNING id
        ), inserted AS (
            INSERT INTO categories (name, sortorder, visible) SELECT $2, $3, $4 WHERE $1::BIGINT IS NULL
            RETURNING id
        )
        SELECT id AS "id!" FROM updated UNION ALL SELECT id FROM inserted"#,
        id,
        name,
        sortorder,
        visible
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Tax {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub rate_bp: i32,
    pub country: String,
}

pub async fn taxes(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Tax>> {
    sqlx::query_as!(
        Tax,
        "SELECT id, code, name, rate_bp, country FROM taxes ORDER BY code"
    )
    .fetch_all(db)
    .await
}

/// `None` when the code belongs to another tax.
pub async fn save_tax(
    db: impl PgExecutor<'_>,
    id: Option<i64>,
    code: &str,
    name: &str,
    rate_bp: i32,
    country: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        r#"WITH updated AS (
            UPDATE taxes SET code = $2, name = $3, rate_bp = $4, country = $5
            WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM taxes t WHERE t.code = $2 AND t.id <> $1)
            RETURNING id
        ), inserted AS (
            INSERT INTO taxes (code, name, rate_bp, country)
            SELECT $2, $3, $4, $5 WHERE $1::BIGINT IS NULL
            ON CONFLICT (code) DO NOTHING
            RETURNING id
        )
        SELECT id AS "id!" FROM updated UNION ALL SELECT id FROM inserted"#,
        id,
        code,
        name,
        rate_bp,
        country
    )
    .fetch_optional(db)
    .await
}
