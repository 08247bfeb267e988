//! The course import: Moodle's courses (all, or one category) become the shop's, matched by
//! Moodle id, then by shortname. A course hidden in Moodle is imported hidden; one the shop
//! had from Moodle that Moodle no longer lists is marked gone. Neither can be assigned.

use super::Moodle;
use super::api;
use super::client::CallError;
use crate::state::AppState;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub courses: usize,
    pub hidden: usize,
    pub gone: usize,
    /// Courses not in separate groups mode: there a customer's supervisor sees the learners
    /// of every other customer of the course (the bill groups isolate nobody).
    pub not_separate: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Moodle: {0}")]
    Moodle(#[from] CallError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Imports every course, or those of `category` (a Moodle category id).
pub async fn import(
    state: &AppState,
    moodle: &Moodle,
    category: Option<i64>,
) -> Result<Imported, SyncError> {
    let categories = api::categories(&moodle.client).await?;
    let courses: Vec<api::Course> = api::courses(&moodle.client)
        .await?
        .into_iter()
        .filter(|c| category.is_none_or(|cat| c.categoryid == cat))
        .collect();
    let mut tx = state.db.begin().await?;
    let mut out = Imported::default();
    for c in &courses {
        let category_name = categories
            .iter()
            .find(|k| k.id == c.categoryid)
            .map(|k| k.name.clone());
        let visible = c.visible != 0;
        // A course renamed in Moodle keeps its shop row (and its seats).
        sqlx::query!(
            "UPDATE courses SET shortname = $2 WHERE moodle_id = $1 AND shortname <> $2
               AND NOT EXISTS (SELECT 1 FROM courses WHERE shortname = $2)",
            c.id,
            c.shortname
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO courses (shortname, fullname, visible, moodle_id, moodle_category, moodle_gone)
             VALUES ($1, $2, $3, $4, $5, FALSE)
             ON CONFLICT (shortname) DO UPDATE SET fullname = EXCLUDED.fullname,
               visible = EXCLUDED.visible, moodle_id = EXCLUDED.moodle_id,
               moodle_category = EXCLUDED.moodle_category, moodle_gone = FALSE",
            c.shortname,
            c.fullname,
            visible,
            c.id,
            category_name
        )
        .execute(&mut *tx)
        .await?;
        out.courses += 1;
        if c.groupmode != Some(api::SEPARATE_GROUPS) {
            out.not_separate.push(c.shortname.clone());
        }
        if !visible {
            out.hidden += 1;
        }
    }
    let listed: Vec<i64> = courses.iter().map(|c| c.id).collect();
    let category_names: Vec<String> = categories
        .iter()
        .filter(|k| category.is_none_or(|cat| k.id == cat))
        .map(|k| k.name.clone())
        .collect();
    // Gone: imported from Moodle, not listed now (within the category synced, if one).
    out.gone = usize::try_from(
        sqlx::query!(
            "UPDATE courses SET moodle_gone = TRUE, visible = FALSE
             WHERE moodle_id IS NOT NULL AND NOT moodle_gone AND moodle_id <> ALL($1)
               AND ($2 OR moodle_category = ANY($3))",
            &listed,
            category.is_none(),
            &category_names
        )
        .execute(&mut *tx)
        .await?
        .rows_affected(),
    )
    .unwrap_or(0);
    tx.commit().await?;
    state.catalogue.invalidate();
    Ok(out)
}

/// Whether courses were imported from Moodle before (the shop can serve without asking it).
pub async fn has_imported(state: &AppState) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM courses WHERE moodle_id IS NOT NULL) AS "some!""#
    )
    .fetch_one(&state.db)
    .await
}
