//! Sessions: tower-sessions' PostgreSQL store, with a cheaper `create` and a `delete` that
//! never leaves a signing-in browser with no session at all.

use async_trait::async_trait;
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

/// A purchase creates a session twice (first cart line, then the new id of the sign-in);
/// upstream spends a transaction and an existence check on each (four round trips). An
/// insert that does nothing on an id collision gives the same guarantee in one.
#[derive(Clone, Debug)]
pub struct Sessions {
    upstream: PostgresStore,
    pool: PgPool,
}

impl Sessions {
    pub fn new(pool: PgPool) -> Sessions {
        Sessions {
            upstream: PostgresStore::new(pool.clone()),
            pool,
        }
    }

    /// The session table, created by the upstream store (idempotent), and the index that lets
    /// housekeeping delete expired sessions without reading every live one. Instances starting
    /// together take turns (`CREATE INDEX IF NOT EXISTS` alone races on the catalog).
    pub async fn migrate(&self) -> sqlx::Result<()> {
        self.upstream.migrate().await?;
        // Looked up first: CREATE INDEX takes a lock on the table even when the index exists,
        // and a restarting instance must not queue behind (and hold up) every session write.
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('tower_sessions.session_expiry_idx')::text")
                .fetch_one(&self.pool)
                .await?;
        if exists.is_some() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('lms-shop session schema'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            r#"CREATE INDEX IF NOT EXISTS session_expiry_idx
               ON "tower_sessions"."session" (expiry_date)"#,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}

fn backend(e: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let data = rmp_serde::to_vec(&record)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            // Not `query!`: the table belongs to the upstream store, outside our migrations.
            let inserted = sqlx::query(
                r#"INSERT INTO "tower_sessions"."session" (id, data, expiry_date) VALUES ($1, $2, $3)
                   ON CONFLICT (id) DO NOTHING"#,
            )
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    /// Updates a live session; never inserts (upstream upserts). A request still in flight
    /// when its session was logged out (deleted) or cycled (shortened to its grace period)
    /// must not bring it back to life, nor lengthen it.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data =
            rmp_serde::to_vec(&record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            r#"UPDATE "tower_sessions"."session"
               SET data = $2,
                   expiry_date = CASE WHEN expiry_date <= now() + make_interval(secs => $4)
                                      THEN expiry_date ELSE $3 END
               WHERE id = $1 AND expiry_date > now()"#,
        )
        .bind(record.id.to_string())
        .bind(data)
        .bind(record.expiry_date)
        .bind(f64::from(CYCLE_GRACE_SECONDS))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.upstream.load(id).await
    }

    /// Called when a session id is cycled (sign-in) or flushed. tower-sessions deletes the old
    /// row at once but writes the new one only with the response: a crash in between would
    /// sign the buyer out and lose their checkout. So the old row is only shortened to a grace
    /// period; it keeps what it held before this request (never the new sign-in), so a fixed
    /// session id gains nothing. Logout removes the row for good ([`destroy`]).
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query(
            r#"UPDATE "tower_sessions"."session"
               SET expiry_date = least(expiry_date, now() + make_interval(secs => $2))
               WHERE id = $1"#,
        )
        .bind(id.to_string())
        .bind(f64::from(CYCLE_GRACE_SECONDS))
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

/// How long a cycled-out session row stays readable.
const CYCLE_GRACE_SECONDS: i32 = 60;

/// Removes a session row at once (logout).
pub async fn destroy(pool: &PgPool, id: &Id) -> sqlx::Result<()> {
    sqlx::query(r#"DELETE FROM "tower_sessions"."session" WHERE id = $1"#)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// Deletes expired sessions (a background task does it every few minutes).
pub async fn delete_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let deleted =
        sqlx::query(r#"DELETE FROM "tower_sessions"."session" WHERE expiry_date < now()"#)
            .execute(pool)
            .await?;
    Ok(deleted.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `create` writes what the upstream store reads back.
    #[test]
    fn records_are_encoded_as_upstream_decodes_them() {
        let record = Record {
            id: Id::default(),
            data: [("cart".to_owned(), serde_json::json!({"A": 2}))].into(),
            expiry_date: time::OffsetDateTime::UNIX_EPOCH,
        };
        let bytes = rmp_serde::to_vec(&record).unwrap();
        let back: Record = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back.id, record.id);
        assert_eq!(back.data, record.data);
    }
}
