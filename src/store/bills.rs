//! Bills, their lines, their history, and payment notifications.

use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;

use crate::domain::Cursor;
use crate::domain::bill_state::{BillState, IllegalTransition};
use crate::domain::paymode::Paymode;
use crate::domain::tax_rules::TaxTreatment;

/// A query returning whole [`Bill`]s: `$before` + the one column list + `$after`, checked at
/// compile time like any `query_as!` (the macro concatenates the literals).
macro_rules! bill_query {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            Bill,
            $before
                + r#" id, number, public_id, customer_id, buyer_user_id, state AS "state: BillState",
                   paymode AS "paymode: Paymode", currency, untaxed, tax, total, failure_reason,
                   created_at, paid_at, completed_at, locale, created_user_id, invoice_number,
                   tax_treatment AS "tax_treatment: TaxTreatment", buyer_vat_number, po_reference,
                   terms_version, coupon_code "#
                + $after
            $(, $arg)*
        )
    };
}

#[derive(Debug, Clone)]
pub struct Bill {
    pub id: i64,
    pub number: i64,
    pub public_id: String,
    pub customer_id: i64,
    pub buyer_user_id: Option<i64>,
    pub state: BillState,
    pub paymode: Paymode,
    pub currency: String,
    pub untaxed: i64,
    pub tax: i64,
    pub total: i64,
    pub failure_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub paid_at: Option<OffsetDateTime>,
    pub completed_at: Option<OffsetDateTime>,
    pub locale: String,
    pub created_user_id: Option<i64>,
    /// Given when the bill is paid (gap-free per year); `None` before, and for ever on a
    /// declined or cancelled bill.
    pub invoice_number: Option<String>,
    pub tax_treatment: TaxTreatment,
    pub buyer_vat_number: String,
    pub po_reference: String,
    /// Hash of the sales conditions accepted when ordering; empty when there were none.
    pub terms_version: String,
    /// The coupon applied (empty: none); the amounts above are already net of it.
    pub coupon_code: String,
}

/// What a bill's document is called: only a paid bill is an invoice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    Invoice,
    /// A transfer order awaiting its payment: what the buyer's accounts pay against.
    ProForma,
    /// Anything else (placed, declined, cancelled): an order, never an invoice.
    Order,
}

impl Bill {
    /// `B0000000123`: what customers and operators read and quote.
    pub fn reference(&self) -> String {
        reference(self.number)
    }

    pub fn document(&self) -> Document {
        match (&self.invoice_number, self.state) {
            (Some(_), _) => Document::Invoice,
            (None, BillState::Pending) => Document::ProForma,
            (None, _) => Document::Order,
        }
    }

    /// The translation key of the document's title.
    pub fn document_title_key(&self) -> &'static str {
        match self.document() {
            Document::Invoice => "customer.invoice",
            Document::ProForma => "customer.pro_forma",
            Document::Order => "customer.order",
        }
    }

    /// The number the document's title shows: the invoice number once there is one.
    pub fn document_number(&self) -> String {
        self.invoice_number
            .clone()
            .unwrap_or_else(|| self.reference())
    }
}

pub fn reference(number: i64) -> String {
    format!("B{number:010}")
}

pub struct NewBill<'a> {
    pub public_id: &'a str,
    pub customer_id: i64,
    pub buyer_user_id: Option<i64>,
    pub paymode: Paymode,
    pub currency: &'a str,
    pub untaxed: i64,
    pub tax: i64,
    pub total: i64,
    pub locale: &'a str,
    /// The order form's key: the same form confirmed twice gives one bill.
    pub submission_key: Option<&'a str>,
    pub tax_treatment: TaxTreatment,
    pub buyer_vat_number: &'a str,
    pub po_reference: &'a str,
    pub terms_version: &'a str,
    pub coupon_code: &'a str,
}

/// The bill an earlier press of the same order form placed, if any.
pub async fn find_by_submission(
    db: impl PgExecutor<'_>,
    customer_id: i64,
    submission_key: &str,
) -> sqlx::Result<Option<Bill>> {
    bill_query!(
        "SELECT",
        "FROM bills WHERE customer_id = $1 AND submission_key = $2",
        customer_id,
        submission_key
    )
    .fetch_optional(db)
    .await
}

pub async fn insert(db: &mut PgConnection, b: &NewBill<'_>) -> sqlx::Result<Bill> {
    let bill = bill_query!(
        "INSERT INTO bills (public_id, customer_id, buyer_user_id, state, paymode, currency, untaxed, tax, total, locale,
            submission_key, tax_treatment, buyer_vat_number, po_reference, terms_version, coupon_code)
         VALUES ($1, $2, $3, 'PLACED', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING",
        "",
        b.public_id,
        b.customer_id,
        b.buyer_user_id,
        b.paymode as Paymode,
        b.currency,
        b.untaxed,
        b.tax,
        b.total,
        b.locale,
        b.submission_key,
        b.tax_treatment as TaxTreatment,
        b.buyer_vat_number,
        b.po_reference,
        b.terms_version,
        b.coupon_code
    )
    .fetch_one(&mut *db)
    .await?;
    event(&mut *db, bill.id, None, BillState::Placed, "", "buyer").await?;
    Ok(bill)
}

pub struct NewItem<'a> {
    pub bill_id: i64,
    pub line_no: i32,
    pub product_id: i64,
    pub code: &'a str,
    pub name: &'a str,
    pub quantity: i32,
    pub unit_price: i64,
    pub tax_rate_bp: i32,
    pub untaxed: i64,
    pub tax: i64,
    /// Untaxed amount the coupon took off this line (`untaxed` is already net of it).
    pub discount: i64,
    pub handler: &'a str,
    pub handler_params: &'a str,
}

pub async fn insert_item(db: impl PgExecutor<'_>, i: &NewItem<'_>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO bill_items (bill_id, line_no, product_id, code, name, quantity, unit_price, tax_rate_bp,
            untaxed, tax, handler, handler_params, discount)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        i.bill_id,
        i.line_no,
        i.product_id,
        i.code,
        i.name,
        i.quantity,
        i.unit_price,
        i.tax_rate_bp,
        i.untaxed,
        i.tax,
        i.handler,
        i.handler_params,
        i.discount
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn find(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Bill>> {
    bill_query!("SELECT", "FROM bills WHERE id = $1", id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_public_id(
    db: impl PgExecutor<'_>,
    public_id: &str,
) -> sqlx::Result<Option<Bill>> {
    bill_query!("SELECT", "FROM bills WHERE public_id = $1", public_id)
        .fetch_optional(db)
        .await
}

/// Locks the bill row for the rest of the transaction: one producer at a time per bill.
pub async fn lock(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<Bill>> {
    bill_query!("SELECT", "FROM bills WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(db)
        .await
}

/// [`lock`] by the public id a payment provider knows the bill by.
pub async fn lock_by_public_id(
    db: &mut PgConnection,
    public_id: &str,
) -> sqlx::Result<Option<Bill>> {
    bill_query!(
        "SELECT",
        "FROM bills WHERE public_id = $1 FOR UPDATE",
        public_id
    )
    .fetch_optional(db)
    .await
}

/// Like [`lock`], but gives up at once when another transaction holds the bill (workers).
pub async fn try_lock(db: &mut PgConnection, id: i64) -> sqlx::Result<Option<Bill>> {
    bill_query!(
        "SELECT",
        "FROM bills WHERE id = $1 FOR UPDATE SKIP LOCKED",
        id
    )
    .fetch_optional(db)
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Moves a bill (locked by the caller) from `from` to `to`, with its history line.
/// The domain decides legality; the `state = from` guard makes a stale caller a no-op error.
pub async fn transition(
    db: &mut PgConnection,
    bill: &Bill,
    to: BillState,
    note: &str,
    actor: &str,
) -> Result<(), TransitionError> {
    let from = bill.state;
    from.transition(to)?;
    // The move and its history line in one statement: a round trip less at every step of a bill.
    let moved = sqlx::query_scalar!(
        r#"WITH moved AS (
               UPDATE bills SET state = $3, updated_at = now(),
                   paid_at = CASE WHEN $3 = 'PAID' AND paid_at IS NULL THEN clock_timestamp() ELSE paid_at END,
                   completed_at = CASE WHEN $3 = 'COMPLETE' THEN clock_timestamp() ELSE completed_at END,
                   failure_reason = CASE WHEN $3 = 'FAILED' THEN $4 WHEN $3 = 'COMPLETE' THEN NULL ELSE failure_reason END
               WHERE id = $1 AND state = $2
               RETURNING id
           ), logged AS (
               INSERT INTO bill_events (bill_id, from_state, to_state, note, actor)
               SELECT id, $2, $3, $4, $5 FROM moved
               RETURNING 1
           )
           SELECT count(*) AS "n!" FROM logged"#,
        bill.id,
        from as BillState,
        to as BillState,
        note,
        actor
    )
    .fetch_one(&mut *db)
    .await?;
    if moved != 1 {
        return Err(IllegalTransition { from, to }.into());
    }
    if to == BillState::Paid {
        assign_invoice_number(db, bill.id).await?;
    }
    // A bill that will never be paid gives its coupon use back, in the same transaction.
    if matches!(to, BillState::Refused | BillState::Cancelled) {
        super::coupons::release(&mut *db, bill.id).await?;
    }
    Ok(())
}

/// Gives a bill that has none the next invoice number of the year, in the paying
/// transaction. The year's counter row stays locked until that transaction ends, so
/// concurrent payments take consecutive numbers, and a rollback gives its number back: no
/// gap. A bill paid again (FAILED, then PAID) keeps its number and draws none.
async fn assign_invoice_number(db: &mut PgConnection, bill_id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        r#"WITH target AS (
               SELECT id FROM bills WHERE id = $1 AND invoice_number IS NULL
           ), drawn AS (
               INSERT INTO invoice_counters (year, last)
               SELECT EXTRACT(YEAR FROM now() AT TIME ZONE 'UTC')::INTEGER, 1 FROM target
               ON CONFLICT (year) DO UPDATE SET last = invoice_counters.last + 1
               RETURNING year, last
           )
           UPDATE bills SET invoice_number = (SELECT invoice_prefix FROM settings WHERE id = 1)
               || drawn.year || '-' || repeat('0', greatest(0, 6 - length(drawn.last::TEXT)))
               || drawn.last
           FROM drawn WHERE bills.id = $1"#,
        bill_id
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn event(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    from: Option<BillState>,
    to: BillState,
    note: &str,
    actor: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO bill_events (bill_id, from_state, to_state, note, actor) VALUES ($1, $2, $3, $4, $5)",
        bill_id,
        from as Option<BillState>,
        to as BillState,
        note,
        actor
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_created_user(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    user_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE bills SET created_user_id = $2 WHERE id = $1",
        bill_id,
        user_id
    )
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: i64,
    pub line_no: i32,
    pub product_id: i64,
    pub code: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price: i64,
    pub tax_rate_bp: i32,
    pub untaxed: i64,
    pub tax: i64,
    pub handler: String,
    pub handler_params: String,
    /// Untaxed amount the coupon took off (`untaxed` is net of it).
    pub discount: i64,
}

impl Item {
    /// The line before the coupon.
    pub fn gross(&self) -> i64 {
        self.untaxed + self.discount
    }
}

pub async fn items(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<Vec<Item>> {
    sqlx::query_as!(
        Item,
        "SELECT id, line_no, product_id, code, name, quantity, unit_price, tax_rate_bp, untaxed, tax, handler, handler_params, discount
         FROM bill_items WHERE bill_id = $1 ORDER BY line_no",
        bill_id
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, Clone)]
pub struct Event {
    pub from_state: Option<BillState>,
    pub to_state: BillState,
    pub note: String,
    pub actor: String,
    pub created_at: OffsetDateTime,
}

pub async fn events(db: impl PgExecutor<'_>, bill_id: i64) -> sqlx::Result<Vec<Event>> {
    sqlx::query_as!(
        Event,
        r#"SELECT from_state AS "from_state: BillState", to_state AS "to_state: BillState", note, actor, created_at
           FROM bill_events WHERE bill_id = $1 ORDER BY id"#,
        bill_id
    )
    .fetch_all(db)
    .await
}

/// Records a gateway notification; `false` when this transaction id was seen before (replay).
pub async fn record_notification(
    db: impl PgExecutor<'_>,
    bill_id: i64,
    txn_id: &str,
    status: &str,
) -> sqlx::Result<bool> {
    let r = sqlx::query!(
        "INSERT INTO payment_notifications (bill_id, txn_id, status) VALUES ($1, $2, $3) ON CONFLICT (txn_id) DO NOTHING",
        bill_id,
        txn_id,
        status
    )
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Paid bills still waiting for production (a crash between payment and production).
/// Online orders placed before `placed_before` and never paid: locked (skipping those another
/// instance holds) for the caller to cancel. Not while a Stripe session for the bill is still
/// open: its buyer could pay a cancelled bill (its end, or its expiry event, comes later).
pub async fn lock_abandoned(
    db: &mut PgConnection,
    placed_before: OffsetDateTime,
    limit: i64,
) -> sqlx::Result<Vec<Bill>> {
    bill_query!(
        "SELECT",
        "FROM bills WHERE state = 'PLACED' AND created_at < $1
           AND NOT EXISTS (SELECT 1 FROM stripe_checkouts c
                            WHERE c.bill_id = bills.id AND c.expires_at > now())
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        placed_before,
        limit
    )
    .fetch_all(db)
    .await
}

pub async fn stranded_paid(db: impl PgExecutor<'_>, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM bills WHERE state = 'PAID' AND updated_at < now() - interval '2 seconds' ORDER BY id LIMIT $1",
        limit
    )
    .fetch_all(db)
    .await
}

pub struct BillRow {
    pub id: i64,
    pub number: i64,
    pub public_id: String,
    pub state: BillState,
    pub paymode: Paymode,
    pub total: i64,
    pub created_at: OffsetDateTime,
    pub customer_id: i64,
    pub customer: String,
}

impl BillRow {
    pub fn reference(&self) -> String {
        reference(self.number)
    }
}

/// Which bills an operator's search is about, each kind read through its own index.
pub enum AdminBills<'a> {
    All,
    Number(i64),
    /// Bills of these customers (found by address, or the one customer's page).
    Customers(&'a [i64]),
    /// Bills of the customers whose name, organisation or address contains this (a
    /// `contains_pattern`), through the trigram index.
    CustomerText(&'a str),
    /// The bill that produced this seat.
    SeatReference(&'a str),
}

/// Runs one statement per kind and direction (see `seats::admin_search`).
macro_rules! admin_bills {
    ($tx:expr, $state:expr, $cursor:expr, $limit:expr, $kind:literal $(, $arg:expr)*) => {{
        let (state, cursor): (Option<BillState>, Cursor) = ($state, $cursor);
        if cursor.ascending() {
            sqlx::query_as!(
                BillRow,
                r#"SELECT b.id, b.number, b.public_id, b.state AS "state: BillState", b.paymode AS "paymode: Paymode", b.total, b.created_at, b.customer_id,
                      c.firstname || ' ' || c.lastname || ' <' || c.email || '>' AS "customer!"
                   FROM bills b JOIN customers c ON c.id = b.customer_id
                   WHERE b.id < $1 AND b.id > $2 AND ($3::TEXT IS NULL OR b.state = $3) AND "#
                    + $kind
                    + " ORDER BY b.id LIMIT $4",
                cursor.upper(),
                cursor.lower(),
                state as Option<BillState>,
                $limit
                $(, $arg)*
            )
            .fetch_all(&mut *$tx)
            .await
        } else {
            sqlx::query_as!(
                BillRow,
                r#"SELECT b.id, b.number, b.public_id, b.state AS "state: BillState", b.paymode AS "paymode: Paymode", b.total, b.created_at, b.customer_id,
                      c.firstname || ' ' || c.lastname || ' <' || c.email || '>' AS "customer!"
                   FROM bills b JOIN customers c ON c.id = b.customer_id
                   WHERE b.id < $1 AND b.id > $2 AND ($3::TEXT IS NULL OR b.state = $3) AND "#
                    + $kind
                    + " ORDER BY b.id DESC LIMIT $4",
                cursor.upper(),
                cursor.lower(),
                state as Option<BillState>,
                $limit
                $(, $arg)*
            )
            .fetch_all(&mut *$tx)
            .await
        }
    }};
}

/// Bills for the back-office, optionally in one state, in the cursor's direction (newest
/// first, or upwards for a "previous" page).
pub async fn search(
    db: &PgPool,
    which: &AdminBills<'_>,
    state: Option<BillState>,
    cursor: Cursor,
    limit: i64,
) -> sqlx::Result<Vec<BillRow>> {
    let mut tx = super::custom_plans(db).await?;
    match which {
        AdminBills::All => admin_bills!(tx, state, cursor, limit, "TRUE"),
        AdminBills::Number(n) => admin_bills!(tx, state, cursor, limit, "b.number = $5", n),
        AdminBills::Customers(ids) => {
            admin_bills!(tx, state, cursor, limit, "b.customer_id = ANY($5)", ids)
        }
        AdminBills::CustomerText(like) => admin_bills!(
            tx,
            state,
            cursor,
            limit,
            "b.customer_id IN (SELECT c2.id FROM customers c2
                 WHERE (c2.firstname || ' ' || c2.lastname || ' ' || c2.organisation || ' ' || c2.email) ILIKE $5)",
            like
        ),
        AdminBills::SeatReference(r) => admin_bills!(
            tx,
            state,
            cursor,
            limit,
            "b.id = (SELECT pi.bill_id FROM product_instances pi WHERE pi.reference = $5)",
            r
        ),
    }
}

/// Bills of one customer, newest first.
pub async fn for_customer(db: impl PgExecutor<'_>, customer_id: i64) -> sqlx::Result<Vec<Bill>> {
    bill_query!(
        "SELECT",
        "FROM bills WHERE customer_id = $1 ORDER BY id DESC",
        customer_id
    )
    .fetch_all(db)
    .await
}
