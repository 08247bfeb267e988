//! Coupons: list, create, edit, disable (and enable again). A coupon is never deleted:
//! bills and redemptions name it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use crate::domain::coupon::{CouponDraft, CouponForm, Discount};
use crate::domain::form::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::http::context::{Page, flash};
use crate::http::render::{html, html_status};
use crate::state::AppState;
use crate::store::catalogue::{self, Product};
use crate::store::coupons::{self, Coupon};

#[derive(Template)]
#[template(path = "admin/coupons.html")]
struct ListPage {
    page: Page,
    coupons: Vec<Coupon>,
}

impl ListPage {
    fn discount(&self, c: &Coupon) -> String {
        describe(&self.page, c.discount())
    }

    fn days(&self, c: &Coupon) -> String {
        let day = |d: Option<time::Date>| {
            d.map(|d| crate::i18n::formats::date(self.page.locale, d))
                .unwrap_or_else(|| "…".to_owned())
        };
        match (c.valid_from, c.valid_until) {
            (None, None) => self.page.t("coupon.always").into_owned(),
            (from, until) => format!("{} – {}", day(from), day(until)),
        }
    }

    fn uses(&self, c: &Coupon) -> String {
        match c.usage_limit {
            Some(limit) => format!("{} / {limit}", c.used),
            None => c.used.to_string(),
        }
    }
}

fn describe(page: &Page, discount: Option<Discount>) -> String {
    match discount {
        Some(Discount::Percent(bp)) => crate::domain::TaxRate::from_basis_points(bp)
            .map(|r| format!("{r} %"))
            .unwrap_or_default(),
        Some(Discount::Fixed(m)) => page.price(&m),
        None => String::new(),
    }
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(ListPage {
        page,
        coupons: coupons::all(&state.db).await?,
    })
}

#[derive(Template)]
#[template(path = "admin/coupon_form.html")]
struct FormPage {
    page: Page,
    id: Option<i64>,
    form: CouponForm,
    errors: FieldErrors,
    products: Vec<Product>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.page.t(k).into_owned())
    }

    fn chosen(&self, product: &i64) -> bool {
        self.form.products.contains(product)
    }
}

async fn form_page(
    state: &AppState,
    page: Page,
    id: Option<i64>,
    form: CouponForm,
    errors: FieldErrors,
) -> AppResult<FormPage> {
    Ok(FormPage {
        page,
        id,
        form,
        errors,
        products: catalogue::all_products(&state.db).await?,
    })
}

pub async fn new(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    let form = CouponForm {
        kind: "percent".into(),
        active: "1".into(),
        ..Default::default()
    };
    html(form_page(&state, page, None, form, FieldErrors::default()).await?)
}

fn form_of(c: Coupon) -> CouponForm {
    let (kind, value) = match c.discount() {
        Some(Discount::Fixed(m)) => ("amount", m.to_input()),
        Some(Discount::Percent(bp)) => (
            "percent",
            crate::domain::TaxRate::from_basis_points(bp)
                .map(|r| r.to_string())
                .unwrap_or_default(),
        ),
        None => ("percent", String::new()),
    };
    let limit = |l: Option<i32>| l.map(|l| l.to_string()).unwrap_or_default();
    CouponForm {
        code: c.code,
        kind: kind.into(),
        value,
        valid_from: c.valid_from.map(|d| d.to_string()).unwrap_or_default(),
        valid_until: c.valid_until.map(|d| d.to_string()).unwrap_or_default(),
        usage_limit: limit(c.usage_limit),
        per_customer_limit: limit(c.per_customer_limit),
        products: c.products,
        active: if c.active { "1".into() } else { String::new() },
    }
}

pub async fn edit(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let coupon = coupons::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    html(
        form_page(
            &state,
            page,
            Some(id),
            form_of(coupon),
            FieldErrors::default(),
        )
        .await?,
    )
}

/// `POST /admin/coupons` (create) and `POST /admin/coupons/{id}` (update): errors show
/// the form again with what was typed.
async fn save(
    state: &AppState,
    session: &Session,
    page: Page,
    id: Option<i64>,
    pairs: &[(String, String)],
) -> AppResult<Response> {
    let form = CouponForm::from_pairs(pairs);
    let errors = match CouponDraft::parse(&form) {
        Ok(draft) => {
            let mut tx = state.db.begin().await?;
            let saved = match id {
                Some(id) => coupons::update(&mut tx, id, &draft).await?.then_some(id),
                None => coupons::insert(&mut tx, &draft).await?,
            };
            if saved.is_some() {
                tx.commit().await?;
                flash(
                    session,
                    page.tf("coupon.saved", &[("code", draft.code.as_str())]),
                )
                .await?;
                return Ok(Redirect::to("/admin/coupons").into_response());
            }
            let mut e = FieldErrors::default();
            e.add("code", "coupon.code_taken");
            e
        }
        Err(e) => e,
    };
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        form_page(state, page, id, form, errors).await?,
    )
}

pub async fn create(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    save(&state, &session, page, None, &pairs).await
}

pub async fn update(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    coupons::find(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    save(&state, &session, page, Some(id), &pairs).await
}

/// `POST /admin/coupons/{id}/disable`: the code stops applying at once (bills already
/// placed with it keep their discount).
pub async fn disable(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_active(&state, &session, &page, id, false).await
}

/// `POST /admin/coupons/{id}/enable`.
pub async fn enable(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    set_active(&state, &session, &page, id, true).await
}

async fn set_active(
    state: &AppState,
    session: &Session,
    page: &Page,
    id: i64,
    active: bool,
) -> AppResult<Response> {
    if !coupons::set_active(&state.db, id, active).await? {
        return Err(AppError::NotFound);
    }
    let key = if active {
        "coupon.enabled"
    } else {
        "coupon.disabled"
    };
    flash(session, page.t(key).into_owned()).await?;
    Ok(Redirect::to("/admin/coupons").into_response())
}
