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
    /// The seller's legal identity, printed on invoices, pro-formas and transfer instructions.
    pub seller_legal_name: String,
    pub seller_address: String,
    /// Decides the tax rules (`domain::tax_rules`).
    pub seller_country: String,
    pub seller_company_number: String,
    pub seller_vat_number: String,
    /// Saved only once `domain::bank::Iban` accepted it (compact form).
    pub bank_iban: String,
    pub bank_bic: String,
    pub bank_holder: String,
    /// Invoice numbers read `{prefix}{year}-{n:06}`.
    pub invoice_prefix: String,
    /// Credit note numbers read `{prefix}{year}-{n:06}` (their own sequence).
    pub credit_note_prefix: String,
}

impl Settings {
    /// The IBAN as printed (groups of four); empty when none is set.
    pub fn iban_display(&self) -> String {
        crate::domain::bank::Iban::parse(&self.bank_iban)
            .map(|i| i.to_string())
            .unwrap_or_default()
    }

    /// Whether a buyer paying by transfer can be told where to send the money.
    pub fn has_bank_details(&self) -> bool {
        !self.bank_iban.is_empty()
    }
}

pub async fn load(db: impl PgExecutor<'_>) -> sqlx::Result<Settings> {
    sqlx::query_as!(
        Settings,
        r#"SELECT shop_name, currency, default_support_course_id, sales_conditions,
              paymodes AS "paymodes: Vec<Paymode>", seller_legal_name, seller_address,
              seller_country, seller_company_number, seller_vat_number, bank_iban, bank_bic,
              bank_holder, invoice_prefix, credit_note_prefix
           FROM settings WHERE id = 1"#
    )
    .fetch_one(db)
    .await
}

pub async fn save(db: impl PgExecutor<'_>, s: &Settings) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE settings SET shop_name = $1, currency = $2, default_support_course_id = $3,
           sales_conditions = $4, paymodes = $5, seller_legal_name = $6, seller_address = $7,
           seller_country = $8, seller_company_number = $9, seller_vat_number = $10,
           bank_iban = $11, bank_bic = $12, bank_holder = $13, invoice_prefix = $14,
           credit_note_prefix = $15,
           updated_at = now() WHERE id = 1",
        s.shop_name,
        s.currency,
        s.default_support_course_id,
        s.sales_conditions,
        &s.paymodes[..] as &[Paymode],
        s.seller_legal_name,
        s.seller_address,
        s.seller_country,
        s.seller_company_number,
        s.seller_vat_number,
        s.bank_iban,
        s.bank_bic,
        s.bank_holder,
        s.invoice_prefix,
        s.credit_note_prefix
    )
    .execute(db)
    .await?;
    Ok(())
}
