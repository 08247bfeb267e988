//! Assigning seats to learners and releasing them.
//!
//! Every change happens under the seat's row lock, and the assignment itself is a
//! conditional update backed by a unique index: one seat never goes to two learners, and a
//! learner never holds two seats for one course, whatever the concurrency.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::domain::bulk::BulkLine;
use crate::domain::seat::SeatState;
use crate::domain::{Email, PersonName};
use crate::i18n::Locale;
use crate::mail::messages;
use crate::state::AppState;
use axum::http::StatusCode;

use crate::error::{AppError, Refusal};
use crate::services::enrolments::{self, Backend, Enrolment};
use crate::store::courses::{self, Course};
use crate::store::seats::{self, LockedSeat};
use crate::store::users::{self, NewUser};
use crate::store::{bills, lms, outbox, settings, tokens};

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("the seat is not available")]
    NotAvailable,
    #[error("the seat has expired")]
    Expired,
    #[error("this seat cannot be used for that course")]
    CourseNotAllowed,
    #[error("the learner is already enrolled in that course")]
    AlreadyEnrolled,
    #[error("first and last name are needed for a new learner")]
    NamesRequired,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl AssignError {
    /// What the customer is told, or `None` for a fault.
    pub fn refusal(&self) -> Option<Refusal> {
        let (status, key) = match self {
            AssignError::NotAvailable => (StatusCode::CONFLICT, "seat.not_available"),
            AssignError::Expired => (StatusCode::CONFLICT, "seat.expired"),
            AssignError::CourseNotAllowed => {
                (StatusCode::UNPROCESSABLE_ENTITY, "seat.course_not_allowed")
            }
            AssignError::AlreadyEnrolled => (StatusCode::CONFLICT, "seat.already_enrolled"),
            AssignError::NamesRequired => (StatusCode::UNPROCESSABLE_ENTITY, "seat.names_required"),
            AssignError::Db(_) => return None,
        };
        Some(Refusal { status, key })
    }
}

impl From<AssignError> for AppError {
    fn from(e: AssignError) -> Self {
        match (e.refusal(), e) {
            (Some(r), _) => AppError::Refused(r),
            (None, AssignError::Db(e)) => AppError::Db(e),
            (None, e) => AppError::Internal(anyhow::Error::new(e)),
        }
    }
}

/// A learner as the customer gave them: the names are what the customer typed (checked by
/// `PersonName`), needed only when the address has no account yet.
pub struct Learner {
    pub email: Email,
    pub firstname: Option<PersonName>,
    pub lastname: Option<PersonName>,
}

impl Learner {
    /// The typed names, for the pages and the mail: never the account's own (assigning an
    /// address must not tell the customer whose it is).
    fn typed_name(&self) -> String {
        fn part(n: &Option<PersonName>) -> &str {
            n.as_ref().map_or("", PersonName::as_str)
        }
        format!("{} {}", part(&self.firstname), part(&self.lastname))
            .trim()
            .to_owned()
    }
}

/// Who assigns: the customer's user (gets the supervisor role) and the mail language.
pub struct Assigner {
    pub customer_id: i64,
    pub customer_user_id: i64,
    pub locale: Locale,
}

/// Assigns one seat to a learner in a course, in its own transaction.
#[tracing::instrument(name = "assign_seat", skip_all, fields(seat = seat_id, course = %course.shortname))]
pub async fn assign(
    state: &AppState,
    by: &Assigner,
    seat_id: i64,
    course: &Course,
    learner: &Learner,
) -> Result<(), AssignError> {
    let mut tx = state.db.begin().await?;
    let seat = seats::lock(&mut tx, seat_id)
        .await?
        .filter(|s| s.customer_id == by.customer_id)
        .ok_or(AssignError::NotAvailable)?;
    assign_locked(&mut tx, state, by, &seat, course, learner).await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    state.lms_queued.notify_one();
    Ok(())
}

/// The assignment itself, on a seat the caller has locked, in the caller's transaction.
async fn assign_locked(
    tx: &mut PgConnection,
    state: &AppState,
    by: &Assigner,
    seat: &LockedSeat,
    course: &Course,
    learner: &Learner,
) -> Result<(), AssignError> {
    // Only a seat, and only an available one (the domain rule, as `seat_state` computes it).
    if !seat.kind.is_seat() {
        return Err(AssignError::NotAvailable);
    }
    match seat.state(OffsetDateTime::now_utc()) {
        s if s.can_assign() => {}
        SeatState::Expired => return Err(AssignError::Expired),
        _ => return Err(AssignError::NotAvailable),
    }
    if !course.visible || !seat.allows(course.id) {
        return Err(AssignError::CourseNotAllowed);
    }
    // With Moodle, only a course Moodle has (imported, not deleted there) can be given.
    let moodle_course = courses::moodle_id(&mut *tx, course.id).await?;
    if state.moodle.is_some() && moodle_course.is_none() {
        return Err(AssignError::CourseNotAllowed);
    }
    let shop = settings::load(&mut *tx).await?;
    let mut mail_name = learner.typed_name();
    let learner_id = match users::find_by_email(&mut *tx, learner.email.as_str()).await? {
        Some(user) => {
            if lms::is_enrolled(&mut *tx, course.id, user.id).await? {
                return Err(AssignError::AlreadyEnrolled);
            }
            // The mail goes to the account's owner: their own name is no secret to them.
            if mail_name.is_empty() {
                mail_name = user.display_name();
            }
            // An account nobody has proved yet (created at someone's checkout): what is given
            // to it is reached only through the owner's own link, sent to the address. With
            // Moodle the course is reached in Moodle, whose own login protects it.
            if !user.verified && state.moodle.is_none() {
                let token = tokens::issue(&mut *tx, user.id).await?;
                let link = format!("{}/password/set/{token}", state.config.base_url);
                let m = messages::welcome(by.locale, &shop.shop_name, &mail_name, &link);
                outbox::enqueue(&mut *tx, learner.email.as_str(), &m.subject, &m.body).await?;
            }
            user.id
        }
        None => {
            let (Some(firstname), Some(lastname)) = (&learner.firstname, &learner.lastname) else {
                return Err(AssignError::NamesRequired);
            };
            let new = NewUser {
                email: &learner.email,
                firstname: firstname.as_str(),
                lastname: lastname.as_str(),
                password_hash: None,
                is_operator: false,
            };
            let id = match users::insert(&mut *tx, new).await? {
                Some(id) => id,
                // Created a moment ago by a concurrent assignment: use it.
                None => {
                    users::find_by_email(&mut *tx, learner.email.as_str())
                        .await?
                        .ok_or(AssignError::NotAvailable)?
                        .id
                }
            };
            // With Moodle, the learner's password is Moodle's (its own mail), so no shop
            // set-password link: the assignment mail says where to get one.
            if state.moodle.is_none() {
                let token = tokens::issue(&mut *tx, id).await?;
                let link = format!("{}/password/set/{token}", state.config.base_url);
                let m = messages::welcome(by.locale, &shop.shop_name, firstname.as_str(), &link);
                outbox::enqueue(&mut *tx, learner.email.as_str(), &m.subject, &m.body).await?;
            }
            id
        }
    };
    let group_name = bills::find(&mut *tx, seat.bill_id)
        .await?
        .map(|b| b.reference())
        .unwrap_or_default();
    let backend = Backend::of(state);
    // Moodle gets the seat's time window; the built-in LMS never needed one.
    let (start_at, end_at) = match backend {
        Backend::Moodle => (Some(seat.start_at), seat.end_at),
        Backend::Builtin => (None, None),
    };
    let learner_enrolment = Enrolment {
        course_id: course.id,
        user_id: learner_id,
        role: "student",
        start_at,
        end_at,
        group: Some(&group_name),
        seat_id: Some(seat.id),
    };
    if !enrolments::enrol(&mut *tx, backend, &learner_enrolment).await? {
        return Err(AssignError::AlreadyEnrolled);
    }
    let supervisor = Enrolment {
        course_id: course.id,
        user_id: by.customer_user_id,
        role: &seat.supervisor_role,
        start_at: None,
        end_at: None,
        group: Some(&group_name),
        seat_id: Some(seat.id),
    };
    enrolments::enrol(&mut *tx, backend, &supervisor).await?;
    let typed = seats::TypedNames {
        firstname: learner.firstname.as_ref().map(PersonName::as_str),
        lastname: learner.lastname.as_ref().map(PersonName::as_str),
    };
    if !seats::set_assignment(&mut *tx, seat.id, learner_id, course.id, &typed).await? {
        return Err(AssignError::NotAvailable);
    }
    let course_name = format!("{} ({})", course.fullname, course.shortname);
    let m = match (&state.moodle, moodle_course) {
        (Some(moodle), Some(moodle_course)) => messages::seat_assigned_moodle(
            by.locale,
            &shop.shop_name,
            &mail_name,
            &course_name,
            &moodle.course_url(moodle_course),
            &moodle.forgot_password_url(),
        ),
        _ => {
            let link = format!("{}/course/{}", state.config.base_url, course.shortname);
            messages::seat_assigned(by.locale, &shop.shop_name, &mail_name, &course_name, &link)
        }
    };
    outbox::enqueue(&mut *tx, learner.email.as_str(), &m.subject, &m.body).await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum UnassignError {
    #[error("the seat is not assigned")]
    NotAssigned,
    #[error("the learner has already opened the course")]
    Locked,
    /// With Moodle: whether the learner opened the course could not be asked.
    #[error("Moodle cannot say whether the learner opened the course")]
    LmsUnavailable,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl UnassignError {
    /// What the customer or operator is told, or `None` for a fault.
    pub fn refusal(&self) -> Option<Refusal> {
        let (status, key) = match self {
            UnassignError::NotAssigned => (StatusCode::CONFLICT, "seat.not_assigned"),
            UnassignError::Locked => (StatusCode::CONFLICT, "seat.locked"),
            UnassignError::LmsUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, "seat.moodle_unreachable")
            }
            UnassignError::Db(_) => return None,
        };
        Some(Refusal { status, key })
    }
}

impl From<UnassignError> for AppError {
    fn from(e: UnassignError) -> Self {
        match (e.refusal(), e) {
            (Some(r), _) => AppError::Refused(r),
            (None, UnassignError::Db(e)) => AppError::Db(e),
            (None, e) => AppError::Internal(anyhow::Error::new(e)),
        }
    }
}

/// What became of a released seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Free again, for another learner.
    Free,
    /// Its money was refunded while it was in use: released, it leaves the customer's space.
    Revoked,
}

/// Releases a seat whose learner never opened the course. `customer_id` restricts it to
/// that customer's seats (`None` for operators).
#[tracing::instrument(name = "unassign_seat", skip(state), fields(seat = seat_id))]
pub async fn unassign(
    state: &AppState,
    customer_id: Option<i64>,
    seat_id: i64,
) -> Result<Released, UnassignError> {
    if let Some(moodle) = &state.moodle {
        refresh_lock_from_moodle(state, moodle, seat_id).await?;
    }
    let mut tx = state.db.begin().await?;
    let seat = seats::lock(&mut tx, seat_id)
        .await?
        .filter(|s| customer_id.is_none_or(|c| c == s.customer_id))
        .ok_or(UnassignError::NotAssigned)?;
    // Only a seat in use: a locked one (the learner opened the course) stays assigned.
    if !seat.kind.is_seat() {
        return Err(UnassignError::NotAssigned);
    }
    match seat.state(OffsetDateTime::now_utc()) {
        s if s.can_unassign() => {}
        SeatState::Locked => return Err(UnassignError::Locked),
        _ => return Err(UnassignError::NotAssigned),
    }
    let (Some(user_id), Some(course_id)) = (seat.assigned_user_id, seat.assigned_course_id) else {
        return Err(UnassignError::NotAssigned);
    };
    let bill = bills::find(&mut *tx, seat.bill_id).await?;
    let group_name = bill.as_ref().map(|b| b.reference()).unwrap_or_default();
    // Deleting only an unopened enrolment is the check and the change in one statement.
    if !enrolments::unenrol_unused(&mut tx, Backend::of(state), course_id, user_id, &group_name)
        .await?
    {
        return Err(UnassignError::Locked);
    }
    seats::clear_assignment(&mut tx, seat.id).await?;
    let released = if crate::store::refunds::revoke_if_owed(&mut *tx, seat.id).await? {
        Released::Revoked
    } else {
        Released::Free
    };
    let locale = bill
        .as_ref()
        .and_then(|b| Locale::parse(&b.locale))
        .unwrap_or_default();
    tell_learner_released(&mut tx, locale, user_id, course_id).await?;
    tx.commit().await?;
    state.lms_queued.notify_one();
    state.mail_queued.notify_one();
    Ok(released)
}

/// The learner whose place was released hears it from the shop, in the same transaction as
/// the release: otherwise they find out by losing the course.
async fn tell_learner_released(
    tx: &mut PgConnection,
    locale: Locale,
    user_id: i64,
    course_id: i64,
) -> sqlx::Result<()> {
    let (Some(learner), Some(course)) = (
        users::find(&mut *tx, user_id).await?,
        courses::find(&mut *tx, course_id).await?,
    ) else {
        return Ok(());
    };
    let shop = settings::load(&mut *tx).await?;
    let course_name = format!("{} ({})", course.fullname, course.shortname);
    let m = messages::seat_released(
        locale,
        &shop.shop_name,
        &learner.display_name(),
        &course_name,
    );
    outbox::enqueue(&mut *tx, &learner.email, &m.subject, &m.body).await
}

/// Asks Moodle, before a release, whether the learner opened the course, and records it
/// (which locks the seat). Refuses when Moodle cannot be asked: releasing a seat whose
/// learner is working in the course would take their place away.
async fn refresh_lock_from_moodle(
    state: &AppState,
    moodle: &crate::moodle::Moodle,
    seat_id: i64,
) -> Result<(), UnassignError> {
    let Some(course) = sqlx::query!(
        r#"SELECT c.id, c.moodle_id FROM product_instances pi
           JOIN courses c ON c.id = pi.assigned_course_id WHERE pi.id = $1"#,
        seat_id
    )
    .fetch_optional(&state.db)
    .await?
    else {
        return Ok(());
    };
    let Some(moodle_course) = course.moodle_id else {
        return Ok(());
    };
    match crate::moodle::activity::refresh_course(state, moodle, course.id, moodle_course).await {
        Ok(_) => Ok(()),
        Err(crate::moodle::activity::RefreshError::Db(e)) => Err(e.into()),
        Err(crate::moodle::activity::RefreshError::Moodle(e)) => {
            tracing::warn!(seat = seat_id, error = %e, "cannot ask Moodle before a release");
            Err(UnassignError::LmsUnavailable)
        }
    }
}

/// What a bulk upload did: everything, or nothing with the reasons.
pub enum BulkOutcome {
    Assigned(usize),
    /// Nothing assigned: each line with its problems, and a reason for the whole file.
    Refused {
        lines: Vec<BulkLine>,
        summary: Option<&'static str>,
    },
}

/// Assigns one seat per CSV line, all in one transaction, or none. A database failure is
/// an error (logged and shown as such by `AppError`), not a line's problem.
pub async fn bulk_assign(
    state: &AppState,
    by: &Assigner,
    mut lines: Vec<BulkLine>,
) -> Result<BulkOutcome, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    seats::bulk_turn(&mut tx, by.customer_id).await?;
    let wanted = i64::try_from(lines.len()).unwrap_or(i64::MAX);
    if !seats::has_free(&mut tx, by.customer_id, wanted).await? {
        return Ok(BulkOutcome::Refused {
            lines,
            summary: Some("seat.bulk_not_enough"),
        });
    }
    let all_courses = courses::all(&mut *tx).await?;
    let mut failed = lines.iter().any(|l| !l.problems.is_empty());
    for line in lines.iter_mut().filter(|l| l.problems.is_empty()) {
        let Some(course) = all_courses
            .iter()
            .find(|c| c.shortname == line.course && c.visible)
        else {
            line.problems.push("seat.unknown_course".into());
            failed = true;
            continue;
        };
        let Some(email) = line.parsed_email() else {
            continue;
        };
        // Taken line by line: a seat this upload assigned is no longer free, one another
        // upload holds is skipped.
        let Some(seat) = seats::lock_free_for(&mut tx, by.customer_id, course.id).await? else {
            line.problems.push("seat.bulk_no_seat_for_course".into());
            failed = true;
            continue;
        };
        let (firstname, lastname) = line.names();
        let learner = Learner {
            email,
            firstname,
            lastname,
        };
        // A savepoint per line: a refused line is reported and the others still checked.
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        match assign_locked(&mut sp, state, by, &seat, course, &learner).await {
            Ok(()) => {
                sp.commit().await?;
            }
            Err(AssignError::Db(e)) => return Err(e),
            Err(e) => {
                sp.rollback().await?;
                if let Some(refused) = e.refusal() {
                    line.problems.push(refused.key.into());
                }
                failed = true;
            }
        }
    }
    if failed {
        // Dropping the transaction rolls every line back.
        return Ok(BulkOutcome::Refused {
            lines,
            summary: None,
        });
    }
    tx.commit().await?;
    state.mail_queued.notify_one();
    state.lms_queued.notify_one();
    Ok(BulkOutcome::Assigned(lines.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seat_errors_are_refusals_or_faults() {
        let taken: AppError = AssignError::NotAvailable.into();
        assert_eq!(taken.status_and_key().0, StatusCode::CONFLICT);
        let down: AppError = UnassignError::Db(sqlx::Error::PoolTimedOut).into();
        assert_eq!(down.status_and_key().0, StatusCode::SERVICE_UNAVAILABLE);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemindError {
    #[error("the seat is not assigned")]
    NotAssigned,
    #[error("a mail went to this learner a moment ago")]
    TooSoon,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<RemindError> for AppError {
    fn from(e: RemindError) -> Self {
        let key = match e {
            RemindError::NotAssigned => "seat.not_assigned",
            RemindError::TooSoon => "seat.remind_too_soon",
            RemindError::Db(e) => return AppError::Db(e),
        };
        AppError::Refused(Refusal {
            status: StatusCode::CONFLICT,
            key,
        })
    }
}

/// One mail to a learner per this many minutes, whatever a customer presses.
const REMIND_EVERY_MINUTES: i32 = 10;

/// Mails the learner of an assigned seat again: a fresh set-password link while their account
/// has no password (the first link may have expired or been lost), else the course's link.
#[tracing::instrument(name = "remind_learner", skip(state, by), fields(seat = seat_id))]
pub async fn remind(state: &AppState, by: &Assigner, seat_id: i64) -> Result<(), RemindError> {
    let mut tx = state.db.begin().await?;
    let seat = seats::lock(&mut tx, seat_id)
        .await?
        .filter(|s| s.customer_id == by.customer_id)
        .ok_or(RemindError::NotAssigned)?;
    let (Some(user_id), Some(course_id)) = (seat.assigned_user_id, seat.assigned_course_id) else {
        return Err(RemindError::NotAssigned);
    };
    let learner = users::find(&mut *tx, user_id)
        .await?
        .ok_or(RemindError::NotAssigned)?;
    let course = courses::find(&mut *tx, course_id)
        .await?
        .ok_or(RemindError::NotAssigned)?;
    if outbox::mailed_recently(&mut *tx, &learner.email, REMIND_EVERY_MINUTES).await? {
        return Err(RemindError::TooSoon);
    }
    let shop = settings::load(&mut *tx).await?;
    let name = learner.display_name();
    let what = format!("{} ({})", course.fullname, course.shortname);
    // With Moodle the learner signs in to Moodle, not to the shop: a shop password link
    // would lead nowhere useful.
    let moodle_course = match &state.moodle {
        Some(_) => courses::moodle_id(&mut *tx, course.id).await?,
        None => None,
    };
    let m = if let (Some(moodle), Some(moodle_course)) = (&state.moodle, moodle_course) {
        messages::seat_assigned_moodle(
            by.locale,
            &shop.shop_name,
            &name,
            &what,
            &moodle.course_url(moodle_course),
            &moodle.forgot_password_url(),
        )
    } else if learner.verified {
        let link = format!("{}/course/{}", state.config.base_url, course.shortname);
        messages::seat_assigned(by.locale, &shop.shop_name, &name, &what, &link)
    } else {
        let token = tokens::issue(&mut *tx, learner.id).await?;
        let link = format!("{}/password/set/{token}", state.config.base_url);
        messages::welcome(by.locale, &shop.shop_name, &name, &link)
    };
    outbox::enqueue(&mut *tx, &learner.email, &m.subject, &m.body).await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    Ok(())
}
