//! SQL, one module per aggregate. Functions take an executor so callers choose the transaction.

pub mod bills;
pub mod catalogue;
pub mod coupons;
pub mod courses;
pub mod customers;
pub mod email_changes;
pub mod lms;
pub mod lms_jobs;
pub mod outbox;
pub mod seats;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod stripe;
pub mod tokens;
pub mod users;

use sqlx::{PgPool, Postgres, Transaction};

/// A read-only transaction whose statements are planned for the values they get. A prepared
/// statement with optional filters (`$1 IS NULL OR col = $1`) may get a generic plan after
/// five executions, one that ignores which filters are set: the seat search walked the whole
/// primary key backwards that way (68 ms instead of 3 ms). Searches run in one of these; it
/// ends (rolled back, nothing written) when dropped.
pub async fn custom_plans(db: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = db.begin().await?;
    sqlx::query!("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A `LIKE … ESCAPE '\\'` pattern matching `typed` anywhere, trimmed, with the pattern
/// characters of what was typed taken literally (`50%` finds "50%", not "50 anything").
pub fn contains_pattern(typed: &str) -> String {
    let escaped = typed
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn typed_pattern_characters_are_literal() {
        assert_eq!(contains_pattern(" ada "), "%ada%");
        assert_eq!(contains_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(contains_pattern("a\\b"), "%a\\\\b%");
    }
}
