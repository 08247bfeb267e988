//! The customer space: transactions, products (seats), assignment, account details.

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::bulk::{self, BulkLine};
use crate::domain::csv_output::spreadsheet_safe;
use crate::domain::customer::{CustomerDetails, CustomerForm};
use crate::domain::form::FieldErrors;
use crate::domain::search::LearnerSearch;
use crate::domain::seat::SeatState;
use crate::domain::{Email, PageNo, PersonName, SeatReference};
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::credit_notes::customer_bill;
use crate::http::extract::{RequireCustomer, RequireUser};
use crate::http::render::{html, html_status, uploaded_csv};
use crate::services::email_change;
use crate::services::seats::{self as seat_service, Assigner, BulkOutcome, Learner};
use crate::state::AppState;
use crate::store::bills::{self, Bill};
use crate::store::courses::{self, Course};
use crate::store::customers::{self, Customer};
use crate::store::seats::{self, SeatFilter, SeatRow};
use crate::store::users::{self, User};

const PER_PAGE: i64 = 50;

/// The signed-in user's customer account, for the account pages that need full access. A
/// user who never bought has none.
async fn require_customer(state: &AppState, user: &User) -> AppResult<Customer> {
    customers::find_by_user(&state.db, user.id)
        .await?
        .ok_or(AppError::NotFound)
}

fn assigner(customer: &Customer, user: &User, page: &Page) -> Assigner {
    Assigner {
        customer_id: customer.id,
        customer_user_id: user.id,
        locale: page.locale,
    }
}

// ----------------------------------------------------------------------------- space

#[derive(Template)]
#[template(path = "customer/index.html")]
struct SpacePage {
    page: Page,
    customer: Option<Customer>,
    bills: Vec<Bill>,
    /// Bills some refund gave money back on, still not REFUNDED.
    partly_refunded: Vec<i64>,
    products: Vec<SeatRow>,
    counts: Vec<(SeatState, i64)>,
    courses: Vec<Course>,
    state: String,
    course: String,
    learner: String,
    page_no: i64,
    /// `None` when the list was not counted (the course filter).
    pages: Option<i64>,
    has_next: bool,
    total: Option<i64>,
}

impl SpacePage {
    fn states(&self) -> [&'static str; 4] {
        SeatState::ALL.map(SeatState::as_str)
    }

    fn showing(&self) -> String {
        match self.total {
            Some(total) => self.page.tn("customer.showing", total),
            None => String::new(),
        }
    }

    fn select_label(&self, reference: &str) -> String {
        self.page.tf("seat.select", &[("reference", reference)])
    }

    /// Whether the page lists a seat that may be released (and so shows the bulk release).
    fn releasable(&self) -> bool {
        self.products
            .iter()
            .any(|p| p.kind.is_seat() && p.state == SeatState::InUse)
    }

    fn count_of(&self, state: &str) -> i64 {
        self.counts
            .iter()
            .find(|(s, _)| s.as_str() == state)
            .map_or(0, |(_, n)| *n)
    }

    fn query(&self, page_no: i64) -> String {
        serde_urlencoded::to_string([
            ("state", self.state.as_str()),
            ("course", self.course.as_str()),
            ("learner", self.learner.as_str()),
            ("page", &page_no.to_string()),
        ])
        .unwrap_or_default()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SpaceQuery {
    state: String,
    course: String,
    /// Part of a learner's name or address.
    learner: String,
    page: PageNo,
}

pub async fn index(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Query(q): Query<SpaceQuery>,
) -> AppResult<Response> {
    let Some(customer) = customer else {
        let p = SpacePage {
            page,
            customer: None,
            bills: vec![],
            partly_refunded: vec![],
            products: vec![],
            counts: vec![],
            courses: vec![],
            state: String::new(),
            course: String::new(),
            learner: String::new(),
            page_no: 1,
            pages: Some(1),
            has_next: false,
            total: Some(0),
        };
        return html(p);
    };
    let state_filter = q.state.parse::<SeatState>().ok();
    let course_filter = q.course.parse::<i64>().ok();
    let learner_filter = LearnerSearch::parse(&q.learner);
    let filter = SeatFilter {
        state: state_filter,
        course_id: course_filter,
        learner: learner_filter.clone(),
    };
    let counts = seats::counts(&state.db, customer.id).await?;
    // The counters give the total of every list but the course filter's and the learner
    // search's, which only a read of all the customer's products could count: those lists say
    // whether a next page exists.
    let counted = course_filter.is_none() && learner_filter.is_none();
    let total = match (counted, state_filter) {
        (true, None) => Some(counts.total()),
        (true, Some(s)) => Some(counts.of(s)),
        (false, _) => None,
    };
    let pages = total.map(|t| PageNo::count(t, PER_PAGE));
    // Past the last page (an old link, a hand-typed number): the last one.
    let page_no = pages.map_or(q.page, |p| q.page.at_most(p));
    let mut ids = seats::page_ids(
        &state.db,
        customer.id,
        &filter,
        PER_PAGE + 1,
        page_no.offset(PER_PAGE),
    )
    .await?;
    let has_next = ids.len() as i64 > PER_PAGE;
    ids.truncate(PER_PAGE as usize);
    let products = seats::by_ids(&state.db, &ids).await?;
    let bills = bills::for_customer(&state.db, customer.id).await?;
    let partly_refunded =
        crate::store::refunds::partly_refunded_bills(&state.db, customer.id).await?;
    // The filter offers the courses this customer's seats may be used for, not the site's.
    let lists = seats::allowed_course_lists(&state.db, customer.id).await?;
    let any_course = lists.iter().any(Vec::is_empty);
    let courses = courses::all(&state.db)
        .await?
        .into_iter()
        .filter(|c| {
            c.visible && (any_course || lists.iter().any(|l| l.contains(&c.id)))
                || course_filter == Some(c.id)
        })
        .collect();
    html(SpacePage {
        page,
        customer: Some(customer),
        bills,
        partly_refunded,
        products,
        counts: counts.by_state(),
        courses,
        state: state_filter
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        course: course_filter.map(|c| c.to_string()).unwrap_or_default(),
        learner: learner_filter
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        page_no: page_no.get(),
        pages,
        has_next,
        total,
    })
}

// ----------------------------------------------------------------------------- invoice

/// `{bill}` is the bill's public id; another customer's bill is a 404.
pub async fn bill(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let (bill, customer) = customer_bill(&state, customer, &public_id).await?;
    let pdf = format!("/customer/bills/{public_id}/document.pdf");
    crate::http::documents::render(&state, page, bill, customer, "/customer", pdf).await
}

/// The same document as a PDF; another customer's bill is a 404 here too.
pub async fn bill_pdf(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    Path(public_id): Path<String>,
) -> AppResult<Response> {
    let (bill, customer) = customer_bill(&state, customer, &public_id).await?;
    crate::http::documents::render_pdf(&state, bill, customer).await
}

// ----------------------------------------------------------------------------- one product

#[derive(Template)]
#[template(path = "customer/product.html")]
struct ProductPage {
    page: Page,
    seat: SeatRow,
    courses: Vec<Course>,
    form: AssignForm,
    error: Option<String>,
}

impl ProductPage {
    /// What the seat is for: its course once assigned, its product before.
    fn heading(&self) -> String {
        match (&self.seat.course_shortname, &self.seat.course_fullname) {
            (Some(short), Some(full)) => format!("[{short}] {full}"),
            _ => format!("[{}] {}", self.seat.code, self.seat.name),
        }
    }

    fn state(&self) -> SeatState {
        self.seat.state
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AssignForm {
    course: String,
    email: String,
    firstname: String,
    lastname: String,
}

/// The seat of this customer with this reference; anything else (typo, another customer's
/// seat, a reference that does not parse) is a 404.
async fn seat_of(state: &AppState, customer: &Customer, reference: &str) -> AppResult<SeatRow> {
    let reference: SeatReference = reference.parse().map_err(|_| AppError::NotFound)?;
    seats::find_for_customer(&state.db, customer.id, reference.as_str())
        .await?
        .ok_or(AppError::NotFound)
}

/// The courses a seat may be assigned to: its allowed ones, or every visible course; with
/// Moodle, only those Moodle has.
async fn assignable_courses(state: &AppState, seat: &SeatRow) -> AppResult<Vec<Course>> {
    let all = courses::all(&state.db).await?;
    let in_moodle: Option<Vec<i64>> = match state.moodle {
        Some(_) => Some(
            courses::moodle_states(&state.db)
                .await?
                .into_iter()
                .map(|m| m.id)
                .collect(),
        ),
        None => None,
    };
    Ok(all
        .into_iter()
        .filter(|c| {
            c.visible
                && (seat.allowed_course_ids.is_empty() || seat.allowed_course_ids.contains(&c.id))
                && in_moodle.as_ref().is_none_or(|ids| ids.contains(&c.id))
        })
        .collect())
}

async fn product_page(
    state: &AppState,
    customer: &Customer,
    page: Page,
    reference: &str,
    form: AssignForm,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let seat = seat_of(state, customer, reference).await?;
    let courses = assignable_courses(state, &seat).await?;
    html_status(
        status,
        ProductPage {
            page,
            seat,
            courses,
            form,
            error,
        },
    )
}

pub async fn product(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Path(reference): Path<String>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    product_page(
        &state,
        &customer,
        page,
        &reference,
        AssignForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

pub async fn assign(
    State(state): State<AppState>,
    RequireCustomer { user, customer }: RequireCustomer,
    session: Session,
    page: Page,
    Path(reference): Path<String>,
    Form(form): Form<AssignForm>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let seat = seat_of(&state, &customer, &reference).await?;
    let courses = assignable_courses(&state, &seat).await?;
    let outcome = match parse_assignment(&page, &courses, &form) {
        Err(refused) => Err(refused),
        Ok((course, learner)) => {
            let by = assigner(&customer, &user, &page);
            match seat_service::assign(&state, &by, seat.id, &course, &learner).await {
                Ok(()) => Ok((course, learner)),
                Err(e) => match e.refusal() {
                    Some(r) => Err((r.status, page.t(r.key).into_owned())),
                    None => return Err(e.into()),
                },
            }
        }
    };
    match outcome {
        Ok((course, learner)) => {
            let done = page.tf(
                "seat.assigned",
                &[
                    ("learner", learner.email.as_str()),
                    ("course", &course.shortname),
                ],
            );
            flash(&session, done).await?;
            Ok(Redirect::to(&format!("/customer/products/{}", seat.reference)).into_response())
        }
        Err((status, message)) => {
            product_page(
                &state,
                &customer,
                page,
                &reference,
                form,
                Some(message),
                status,
            )
            .await
        }
    }
}

/// The course and learner the assignment form names, or the status and message to show
/// beside the form (which keeps what was typed).
fn parse_assignment(
    page: &Page,
    courses: &[Course],
    form: &AssignForm,
) -> Result<(Course, Learner), (StatusCode, String)> {
    let invalid = |message: String| (StatusCode::UNPROCESSABLE_ENTITY, message);
    let course = courses
        .iter()
        .find(|c| c.id.to_string() == form.course)
        .cloned()
        .ok_or_else(|| invalid(page.t("seat.choose_course").into_owned()))?;
    let email =
        Email::parse(&form.email).map_err(|_| invalid(page.t("errors.email").into_owned()))?;
    // The name rules of every path that takes a learner's name (blank: an account that
    // already exists).
    let name = |label: &str, value: &str| {
        PersonName::parse_optional(value).map_err(|e| {
            invalid(page.tf(
                "seat.name_problem",
                &[
                    ("field", &page.t(label)),
                    ("problem", &page.t(e.message_key())),
                ],
            ))
        })
    };
    let firstname = name("checkout.firstname", &form.firstname)?;
    let lastname = name("checkout.lastname", &form.lastname)?;
    Ok((
        course,
        Learner {
            email,
            firstname,
            lastname,
        },
    ))
}

pub async fn unassign(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    session: Session,
    page: Page,
    Path(reference): Path<String>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let seat = seat_of(&state, &customer, &reference).await?;
    match seat_service::unassign(&state, Some(customer.id), seat.id).await {
        Ok(seat_service::Released::Free) => {
            flash(&session, page.t("seat.released")).await?;
            Ok(Redirect::to(&format!("/customer/products/{}", seat.reference)).into_response())
        }
        // Refunded while in use: released, it is gone from the space.
        Ok(seat_service::Released::Revoked) => {
            flash(&session, page.t("seat.released_refunded")).await?;
            Ok(Redirect::to("/customer").into_response())
        }
        Err(e) => {
            let Some(refused) = e.refusal() else {
                return Err(e.into());
            };
            let message = page.t(refused.key).into_owned();
            product_page(
                &state,
                &customer,
                page,
                &reference,
                AssignForm::default(),
                Some(message),
                refused.status,
            )
            .await
        }
    }
}

// ----------------------------------------------------------------------------- bulk release

/// At most one page of the list is released at once: each release may ask Moodle.
const MAX_RELEASE: usize = PER_PAGE as usize;

/// What became of one seat of a bulk release.
struct Released {
    reference: String,
    /// `None`: released; else why not, in the customer's language.
    refused: Option<String>,
}

#[derive(Template)]
#[template(path = "customer/released.html")]
struct ReleasedPage {
    page: Page,
    report: Vec<Released>,
    error: Option<String>,
}

impl ReleasedPage {
    fn summary(&self) -> String {
        let refused = self.report.iter().filter(|r| r.refused.is_some()).count();
        let released = self.report.len() - refused;
        let mut s = self.page.tn("seat.bulk_released", released);
        if refused > 0 {
            s.push(' ');
            s.push_str(&self.page.tn("seat.bulk_refused", refused));
        }
        s
    }
}

/// Releases the ticked seats (`reference`, repeated), each by the single release's rule
/// (`services::seats::unassign`), and reports seat by seat: one refusal does not stop the
/// others, since each seat is its own decision for the customer.
pub async fn bulk_unassign(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let mut references: Vec<String> = Vec::new();
    for (name, value) in fields {
        if name == "reference" && !references.contains(&value) {
            references.push(value);
        }
    }
    let refuse = |page: Page, key: &str| {
        let error = Some(page.tf(key, &[("max", &MAX_RELEASE.to_string())]));
        html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            ReleasedPage {
                page,
                report: vec![],
                error,
            },
        )
    };
    if references.is_empty() {
        return refuse(page, "seat.bulk_none_selected");
    }
    if references.len() > MAX_RELEASE {
        return refuse(page, "seat.bulk_too_many");
    }
    let mut report = Vec::with_capacity(references.len());
    for reference in references {
        let seat = match seat_of(&state, &customer, &reference).await {
            Ok(seat) => seat,
            Err(AppError::NotFound) => {
                report.push(Released {
                    reference,
                    refused: Some(page.t("seat.unknown_reference").into_owned()),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let refused = match seat_service::unassign(&state, Some(customer.id), seat.id).await {
            Ok(_) => None,
            Err(e) => match e.refusal() {
                Some(r) => Some(page.t(r.key).into_owned()),
                None => return Err(e.into()),
            },
        };
        report.push(Released {
            reference: seat.reference,
            refused,
        });
    }
    html(ReleasedPage {
        page,
        report,
        error: None,
    })
}

/// Mails the seat's learner again (a fresh invitation while they have no password).
pub async fn remind(
    State(state): State<AppState>,
    RequireCustomer { customer, user }: RequireCustomer,
    session: Session,
    page: Page,
    Path(reference): Path<String>,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let seat = seat_of(&state, &customer, &reference).await?;
    let by = assigner(&customer, &user, &page);
    seat_service::remind(&state, &by, seat.id).await?;
    flash(&session, page.t("seat.reminded")).await?;
    Ok(Redirect::to(&format!("/customer/products/{}", seat.reference)).into_response())
}

// ----------------------------------------------------------------------------- bulk

#[derive(Template)]
#[template(path = "customer/bulk.html")]
struct BulkPage {
    page: Page,
    available: i64,
    report: Vec<BulkLine>,
    error: Option<String>,
}

impl BulkPage {
    fn intro(&self) -> String {
        self.page.tn("seat.bulk_intro", self.available as u64)
    }
}

async fn available_count(state: &AppState, customer: &Customer) -> AppResult<i64> {
    Ok(seats::counts(&state.db, customer.id).await?.available)
}

pub async fn bulk_form(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let available = available_count(&state, &customer).await?;
    html(BulkPage {
        page,
        available,
        report: vec![],
        error: None,
    })
}

/// Every product of the customer the space's filters keep, as CSV: one line per seat with
/// its learner and course, dates as ISO days (for spreadsheets, not people).
pub async fn export(
    State(state): State<AppState>,
    RequireCustomer { customer, .. }: RequireCustomer,
    page: Page,
    Query(q): Query<SpaceQuery>,
) -> AppResult<Response> {
    let filter = SeatFilter {
        state: q.state.parse::<SeatState>().ok(),
        course_id: q.course.parse::<i64>().ok(),
        learner: LearnerSearch::parse(&q.learner),
    };
    let rows = match &customer {
        Some(c) => {
            let ids = seats::page_ids(&state.db, c.id, &filter, i64::MAX, 0).await?;
            seats::by_ids(&state.db, &ids).await?
        }
        None => vec![],
    };
    let mut out = csv::Writer::from_writer(Vec::new());
    let day = |t: &time::OffsetDateTime| t.date().to_string();
    let write = |out: &mut csv::Writer<Vec<u8>>, record: &[&str]| {
        out.write_record(record)
            .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))
    };
    write(
        &mut out,
        &[
            "reference",
            "product",
            "state",
            "start",
            "end",
            "email",
            "firstname",
            "lastname",
            "course",
        ],
    )?;
    for r in &rows {
        write(
            &mut out,
            &[
                &r.reference,
                &r.code,
                &page.seat_state(&r.state),
                &day(&r.start_at),
                &r.end_at.as_ref().map(day).unwrap_or_default(),
                &spreadsheet_safe(r.learner_email.as_deref().unwrap_or("")),
                &spreadsheet_safe(r.learner_first.as_deref().unwrap_or("")),
                &spreadsheet_safe(r.learner_last.as_deref().unwrap_or("")),
                r.course_shortname.as_deref().unwrap_or(""),
            ],
        )?;
    }
    let body = out
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e.to_string())))?;
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"products.csv\""),
        ],
        body,
    )
        .into_response())
}

/// Behind login like the rest of the customer space.
pub async fn bulk_template(_: RequireCustomer) -> Response {
    (
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (CONTENT_DISPOSITION, "attachment; filename=\"seats.csv\""),
        ],
        bulk::TEMPLATE,
    )
        .into_response()
}

/// Multipart upload (`csv`); the CSRF token is a field of the form.
pub async fn bulk_upload(
    State(state): State<AppState>,
    RequireCustomer { user, customer }: RequireCustomer,
    session: Session,
    page: Page,
    multipart: Multipart,
) -> AppResult<Response> {
    let customer = customer.ok_or(AppError::NotFound)?;
    let data = uploaded_csv(multipart).await?;
    let lines = match bulk::parse(&data) {
        Ok(lines) => lines,
        Err(key) => {
            let available = available_count(&state, &customer).await?;
            let error = Some(page.t(key).into_owned());
            return html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                BulkPage {
                    page,
                    available,
                    report: vec![],
                    error,
                },
            );
        }
    };
    let by = assigner(&customer, &user, &page);
    match seat_service::bulk_assign(&state, &by, lines).await? {
        BulkOutcome::Assigned(n) => {
            flash(&session, page.tn("seat.bulk_done", n as u64)).await?;
            Ok(Redirect::to("/customer?state=in_use").into_response())
        }
        BulkOutcome::Refused {
            lines: report,
            summary,
        } => {
            let available = available_count(&state, &customer).await?;
            let mut error = page.t("seat.bulk_nothing_done").into_owned();
            if let Some(key) = summary {
                error = format!("{error} {}", page.t(key));
            }
            html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                BulkPage {
                    page,
                    available,
                    report,
                    error: Some(error),
                },
            )
        }
    }
}

// ----------------------------------------------------------------------------- details

#[derive(Template)]
#[template(path = "customer/details.html")]
struct DetailsPage {
    page: Page,
    form: CustomerForm,
    errors: FieldErrors,
}

impl DetailsPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.page.t(k).into_owned())
    }
}

/// One account per address: the customer's details may not take the address of another
/// user (whose purchases, seats and mails it would then receive).
pub(crate) async fn address_free_for(
    state: &AppState,
    user: &User,
    details: CustomerDetails,
) -> AppResult<Result<CustomerDetails, FieldErrors>> {
    match users::find_by_email(&state.db, details.email.as_str()).await? {
        Some(owner) if owner.id != user.id => {
            let mut errors = FieldErrors::default();
            errors.add("email", "errors.email_taken");
            Ok(Err(errors))
        }
        _ => Ok(Ok(details)),
    }
}

/// A signed-in user's details with a new address: the change is asked for (a link to the
/// new address, a notice to the current one) and `details` keeps the current address, so the
/// customer record and the sign-in email move together, on confirmation. Returns what to
/// tell the user, if a change was asked, or the form's error.
pub(crate) async fn keep_email_until_confirmed(
    state: &AppState,
    user: &User,
    page: &Page,
    details: &mut CustomerDetails,
) -> AppResult<Result<Option<String>, FieldErrors>> {
    if details.email.as_str().eq_ignore_ascii_case(&user.email) {
        return Ok(Ok(None));
    }
    let current = Email::parse(&user.email).map_err(|_| {
        AppError::Internal(anyhow::anyhow!("user {} has an invalid email", user.id))
    })?;
    match email_change::request(state, user, &details.email, page.locale, &page.shop_name).await {
        Ok(()) => {}
        Err(email_change::RequestError::TooSoon) => {
            let mut errors = FieldErrors::default();
            errors.add("email", "errors.email_change_too_soon");
            return Ok(Err(errors));
        }
        Err(email_change::RequestError::Db(e)) => return Err(e.into()),
    }
    let new_email = std::mem::replace(&mut details.email, current);
    Ok(Ok(Some(page.tf(
        "customer.email_pending",
        &[("email", new_email.as_str())],
    ))))
}

pub async fn details_form(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    page: Page,
) -> AppResult<Response> {
    let customer = require_customer(&state, &user).await?;
    html(DetailsPage {
        page,
        form: customer.form(),
        errors: FieldErrors::default(),
    })
}

pub async fn save_details(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    session: Session,
    page: Page,
    Form(form): Form<CustomerForm>,
) -> AppResult<Response> {
    let customer = require_customer(&state, &user).await?;
    let parsed = match CustomerDetails::parse(&form) {
        Ok(details) => address_free_for(&state, &user, details).await?,
        Err(errors) => Err(errors),
    };
    // A new address is only asked for: the account keeps the one it signs in with until the
    // link mailed to the new one is used (`services::email_change`).
    let parsed = match parsed {
        Ok(mut details) => keep_email_until_confirmed(&state, &user, &page, &mut details)
            .await?
            .map(|pending| (details, pending)),
        Err(errors) => Err(errors),
    };
    match parsed {
        Ok((details, pending)) => {
            let mut message = page.t("admin.saved").into_owned();
            if let Some(pending) = pending {
                message.push(' ');
                message.push_str(&pending);
            }
            customers::update(&state.db, customer.id, &details).await?;
            flash(&session, message).await?;
            Ok(Redirect::to("/customer").into_response())
        }
        Err(errors) => html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            DetailsPage { page, form, errors },
        ),
    }
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customer", get(index))
        .route("/customer/details", get(details_form).post(save_details))
        .route("/customer/bills/{bill}", get(bill))
        .route("/customer/bills/{bill}/document.pdf", get(bill_pdf))
        .route("/customer/products/bulk", get(bulk_form).post(bulk_upload))
        .route("/customer/products/bulk/template.csv", get(bulk_template))
        .route("/customer/products/export.csv", get(export))
        .route("/customer/products/unassign", post(bulk_unassign))
        .route("/customer/products/{reference}", get(product))
        .route("/customer/products/{reference}/assign", post(assign))
        .route("/customer/products/{reference}/unassign", post(unassign))
        .route("/customer/products/{reference}/remind", post(remind))
}
