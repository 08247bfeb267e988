//! Customer accounts: created at the checkout's customer step, linked to a user at completion.

use sqlx::{PgExecutor, PgPool};

use crate::domain::customer::{CustomerDetails, CustomerForm, InvoiceDetails};
use crate::domain::search::Search;

#[derive(Debug, Clone)]
pub struct Customer {
    pub id: i64,
    pub user_id: Option<i64>,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub organisation: String,
    pub address: String,
    pub zip: String,
    pub city: String,
    pub country: String,
    pub invoice_organisation: Option<String>,
    pub invoice_address: Option<String>,
    pub invoice_zip: Option<String>,
    pub invoice_city: Option<String>,
    pub invoice_country: Option<String>,
}

impl Customer {
    pub fn form(&self) -> CustomerForm {
        CustomerForm {
            firstname: self.firstname.clone(),
            lastname: self.lastname.clone(),
            email: self.email.clone(),
            organisation: self.organisation.clone(),
            address: self.address.clone(),
            zip: self.zip.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            invoice_distinct: if self.invoice_address.is_some() {
                "1".into()
            } else {
                String::new()
            },
            invoice_organisation: self.invoice_organisation.clone().unwrap_or_default(),
            invoice_address: self.invoice_address.clone().unwrap_or_default(),
            invoice_zip: self.invoice_zip.clone().unwrap_or_default(),
            invoice_city: self.invoice_city.clone().unwrap_or_default(),
            invoice_country: self.invoice_country.clone().unwrap_or_default(),
        }
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.firstname, self.lastname)
    }
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as!(
        Customer,
        "SELECT id, user_id, firstname, lastname, email, organisation, address, zip, city, country,
            invoice_organisation, invoice_address, invoice_zip, invoice_city, invoice_country
         FROM customers WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn find_by_user(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Option<Customer>> {
    sqlx::query_as!(
        Customer,
        "SELECT id, user_id, firstname, lastname, email, organisation, address, zip, city, country,
            invoice_organisation, invoice_address, invoice_zip, invoice_city, invoice_country
         FROM customers WHERE user_id = $1",
        user_id
    )
    .fetch_optional(db)
    .await
}

/// The optional invoicing columns, all set or all NULL.
struct InvoiceColumns<'a> {
    organisation: Option<&'a str>,
    address: Option<&'a str>,
    zip: Option<&'a str>,
    city: Option<&'a str>,
    country: Option<&'a str>,
}

fn invoice(d: &CustomerDetails) -> InvoiceColumns<'_> {
    let i: Option<&InvoiceDetails> = d.invoice.as_ref();
    InvoiceColumns {
        organisation: i.map(|i| i.organisation.as_str()),
        address: i.map(|i| i.address.as_str()),
        zip: i.map(|i| i.zip.as_str()),
        city: i.map(|i| i.city.as_str()),
        country: i.map(|i| i.country.as_str()),
    }
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    d: &CustomerDetails,
    user_id: Option<i64>,
) -> sqlx::Result<i64> {
    let inv = invoice(d);
    sqlx::query_scalar!(
        "INSERT INTO customers (user_id, firstname, lastname, email, organisation, address, zip, city, country,
            invoice_organisation, invoice_address, invoice_zip, invoice_city, invoice_country)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        user_id,
        d.firstname,
        d.lastname,
        d.email.as_str(),
        d.organisation,
        d.address,
        d.zip,
        d.city,
        d.country,
        inv.organisation,
        inv.address,
        inv.zip,
        inv.city,
        inv.country
    )
    .fetch_one(db)
    .await
}

pub async fn update(db: impl PgExecutor<'_>, id: i64, d: &CustomerDetails) -> sqlx::Result<()> {
    let inv = invoice(d);
    sqlx::query!(
        "UPDATE customers SET firstname = $2, lastname = $3, email = $4, organisation = $5, address = $6,
            zip = $7, city = $8, country = $9, invoice_organisation = $10, invoice_address = $11,
            invoice_zip = $12, invoice_city = $13, invoice_country = $14, updated_at = now()
         WHERE id = $1",
        id,
        d.firstname,
        d.lastname,
        d.email.as_str(),
        d.organisation,
        d.address,
        d.zip,
        d.city,
        d.country,
        inv.organisation,
        inv.address,
        inv.zip,
        inv.city,
        inv.country
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Links an unlinked customer account to `user_id`; `false` when it was linked already.
pub async fn link_user(db: impl PgExecutor<'_>, id: i64, user_id: i64) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "UPDATE customers SET user_id = $2, updated_at = now() WHERE id = $1 AND user_id IS NULL",
        id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub struct CustomerRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organisation: String,
    pub user_id: Option<i64>,
    pub bills: i64,
}

/// The customer accounts with this address (checkout may have made several).
pub async fn ids_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM customers WHERE lower(email) = lower($1) ORDER BY id",
        email
    )
    .fetch_all(db)
    .await
}

/// Customers for the back-office, newest first: an address, a bill number or a seat
/// reference finds its customer through a unique index; other text is looked for in names,
/// organisations and addresses through the trigram index.
pub async fn search(db: &PgPool, search: &Search, limit: i64) -> sqlx::Result<Vec<CustomerRow>> {
    let mut tx = super::custom_plans(db).await?;
    let (email, number, reference, like) = match search {
        Search::All => (None, None, None, None),
        Search::Email(e) => (Some(e.as_str()), None, None, None),
        Search::BillNumber(n) => (None, Some(*n), None, None),
        Search::Reference(r) => (None, None, Some(r.as_str()), None),
        Search::Text(t) => (None, None, None, Some(super::contains_pattern(t))),
    };
    sqlx::query_as!(
        CustomerRow,
        r#"SELECT c.id, c.firstname || ' ' || c.lastname AS "name!", c.email, c.organisation, c.user_id,
              (SELECT count(*) FROM bills b WHERE b.customer_id = c.id) AS "bills!"
           FROM customers c
           WHERE ($1::TEXT IS NULL OR lower(c.email) = lower($1))
             AND ($2::BIGINT IS NULL OR c.id = (SELECT b.customer_id FROM bills b WHERE b.number = $2))
             AND ($3::TEXT IS NULL OR c.id = (SELECT pi.customer_id FROM product_instances pi WHERE pi.reference = $3))
             AND ($4::TEXT IS NULL OR (c.firstname || ' ' || c.lastname || ' ' || c.organisation || ' ' || c.email) ILIKE $4)
           ORDER BY c.id DESC LIMIT $5"#,
        email,
        number,
        reference,
        like,
        limit
    )
    .fetch_all(&mut *tx)
    .await
}

/// Deletes checkout customer accounts untouched since `before` that never got a bill nor a
/// user: no session can point at them any more.
pub async fn delete_unused(
    db: impl PgExecutor<'_>,
    before: time::OffsetDateTime,
) -> sqlx::Result<u64> {
    let deleted = sqlx::query!(
        "DELETE FROM customers c
         WHERE c.user_id IS NULL AND c.updated_at < $1
           AND NOT EXISTS (SELECT 1 FROM bills b WHERE b.customer_id = c.id)",
        before
    )
    .execute(db)
    .await?;
    Ok(deleted.rows_affected())
}

/// The B2B details of a customer account (kept apart from [`Customer`]: only the checkout
/// reads and writes them).
pub struct Business {
    pub vat_number: String,
    pub phone: String,
    pub po_reference: String,
}

pub async fn business(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Business>> {
    sqlx::query_as!(
        Business,
        "SELECT vat_number, phone, po_reference FROM customers WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await
}

pub async fn set_business(
    db: impl PgExecutor<'_>,
    id: i64,
    d: &crate::domain::buyer::BuyerDetails,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE customers SET vat_number = $2, phone = $3, po_reference = $4, updated_at = now()
         WHERE id = $1",
        id,
        d.vat_number.as_ref().map(|v| v.as_str()).unwrap_or(""),
        d.phone,
        d.po_reference
    )
    .execute(db)
    .await?;
    Ok(())
}
