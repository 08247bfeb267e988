//! Categories, taxes and shop settings.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::TaxRate;
use crate::domain::bank::{Bic, Iban, IbanError};
use crate::domain::countries::is_country_code;
use crate::domain::form::{
    FieldErrors, TextProblem, optional, optional_text, required, text_problem,
};
use crate::domain::paymode::Paymode;
use crate::domain::product::SALES_CONDITIONS_MAX;
use crate::domain::vat::VatNumber;
use crate::error::AppResult;
use crate::http::context::{Page, flash};
use crate::http::render::{html, html_status};
use crate::state::AppState;
use crate::store::catalogue::{self, Category, Tax};
use crate::store::courses::{self, Course};
use crate::store::settings::{self, Settings};

// ----------------------------------------------------------------------------- categories

#[derive(Template)]
#[template(path = "admin/categories.html")]
struct CategoriesPage {
    page: Page,
    categories: Vec<Category>,
    error: Option<String>,
}

pub async fn categories(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(CategoriesPage {
        page,
        categories: catalogue::categories(&state.db).await?,
        error: None,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CategoryForm {
    name: String,
    sortorder: String,
    visible: String,
}

async fn save_category(
    state: &AppState,
    session: &Session,
    page: Page,
    id: Option<i64>,
    form: CategoryForm,
) -> AppResult<Response> {
    let name = form.name.trim();
    let problem = if name.is_empty() {
        Some("errors.category_name")
    } else {
        text_problem(name, 255, false).map(|p| match p {
            TextProblem::TooLong => "errors.category_name",
            p => p.message_key(),
        })
    };
    if let Some(key) = problem {
        let error = Some(page.t(key).into_owned());
        let categories = catalogue::categories(&state.db).await?;
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            CategoriesPage {
                page,
                categories,
                error,
            },
        );
    }
    let sortorder = form.sortorder.trim().parse().unwrap_or(0);
    let saved =
        catalogue::save_category(&state.db, id, name, sortorder, form.visible == "1").await?;
    if saved.is_none() {
        return Err(crate::error::AppError::NotFound);
    }
    state.catalogue.invalidate();
    flash(session, page.t("admin.saved")).await?;
    Ok(Redirect::to("/admin/categories").into_response())
}

pub async fn create_category(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    save_category(&state, &session, page, None, form).await
}

pub async fn update_category(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    save_category(&state, &session, page, Some(id), form).await
}

// ----------------------------------------------------------------------------- taxes

#[derive(Template)]
#[template(path = "admin/taxes.html")]
struct TaxesPage {
    page: Page,
    taxes: Vec<Tax>,
    form: TaxForm,
    errors: FieldErrors,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct TaxForm {
    code: String,
    name: String,
    rate: String,
    country: String,
}

pub async fn taxes(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(TaxesPage {
        page,
        taxes: catalogue::taxes(&state.db).await?,
        form: TaxForm::default(),
        errors: FieldErrors::default(),
    })
}

async fn save_tax(
    state: &AppState,
    session: &Session,
    page: Page,
    id: Option<i64>,
    form: TaxForm,
) -> AppResult<Response> {
    let mut errors = FieldErrors::default();
    let code = required(&mut errors, "code", &form.code, 32);
    let name = required(&mut errors, "name", &form.name, 100);
    let rate = TaxRate::parse_percent(&form.rate)
        .map_err(|_| errors.add("rate", "errors.rate"))
        .ok();
    let country = form.country.trim().to_uppercase();
    if !country.is_empty() && !is_country_code(&country) {
        errors.add("country", "errors.country");
    }
    if let (Some(rate), true) = (rate, errors.is_empty()) {
        let bp = i32::try_from(rate.basis_points()).unwrap_or(0);
        if catalogue::save_tax(&state.db, id, &code, &name, bp, &country)
            .await?
            .is_some()
        {
            state.catalogue.invalidate();
            flash(session, page.t("admin.saved")).await?;
            return Ok(Redirect::to("/admin/taxes").into_response());
        }
        errors.add("code", "errors.code_taken");
    }
    let taxes = catalogue::taxes(&state.db).await?;
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        TaxesPage {
            page,
            taxes,
            form,
            errors,
        },
    )
}

pub async fn create_tax(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(form): Form<TaxForm>,
) -> AppResult<Response> {
    save_tax(&state, &session, page, None, form).await
}

pub async fn update_tax(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Path(id): Path<i64>,
    Form(form): Form<TaxForm>,
) -> AppResult<Response> {
    save_tax(&state, &session, page, Some(id), form).await
}

// ----------------------------------------------------------------------------- settings

/// The seller's identity and bank details as posted, each parsed by its domain type: a
/// mistyped IBAN or BIC would send buyers' transfers nowhere, so it never reaches a page.
/// Returns the settings' seller fields (the others are left empty for the caller).
fn seller_identity(
    errors: &mut FieldErrors,
    posted: &dyn Fn(&str) -> Option<String>,
    current: &Settings,
) -> Settings {
    let field = |name: &str| posted(name).unwrap_or_default();
    let text = |errors: &mut FieldErrors, name: &str, max: usize| {
        optional(errors, name, &field(name), max).unwrap_or_default()
    };
    let seller_legal_name = text(errors, "seller_legal_name", 200);
    let seller_address =
        optional_text(errors, "seller_address", &field("seller_address"), 500).unwrap_or_default();
    // The two fields the rules depend on keep their value when a form does not carry them.
    let seller_country = posted("seller_country")
        .map(|c| c.to_uppercase())
        .unwrap_or_else(|| current.seller_country.clone());
    if !is_country_code(&seller_country) {
        errors.add("seller_country", "errors.country");
    }
    let seller_company_number = text(errors, "seller_company_number", 50);
    let mut seller_vat_number = text(errors, "seller_vat_number", 30);
    if !seller_vat_number.is_empty() {
        match VatNumber::parse(&seller_vat_number, &seller_country) {
            Ok(v) => seller_vat_number = v.as_str().to_owned(),
            Err(_) => errors.add("seller_vat_number", "errors.vat_format"),
        }
    }
    let mut bank_iban = field("bank_iban");
    if !bank_iban.is_empty() {
        match Iban::parse(&bank_iban) {
            Ok(iban) => bank_iban = iban.as_str().to_owned(),
            Err(IbanError::Shape) => errors.add("bank_iban", "errors.iban_shape"),
            Err(IbanError::Checksum) => errors.add("bank_iban", "errors.iban_checksum"),
        }
    }
    let mut bank_bic = field("bank_bic");
    if !bank_bic.is_empty() {
        match Bic::parse(&bank_bic) {
            Ok(bic) => bank_bic = bic.as_str().to_owned(),
            Err(_) => errors.add("bank_bic", "errors.bic"),
        }
    }
    let bank_holder = text(errors, "bank_holder", 200);
    let invoice_prefix = posted("invoice_prefix").unwrap_or_else(|| current.invoice_prefix.clone());
    let prefix_ok = invoice_prefix.len() <= 10
        && invoice_prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'/');
    if !prefix_ok {
        errors.add("invoice_prefix", "errors.invoice_prefix");
    }
    Settings {
        shop_name: String::new(),
        currency: String::new(),
        default_support_course_id: None,
        sales_conditions: String::new(),
        paymodes: Vec::new(),
        seller_legal_name,
        seller_address,
        seller_country,
        seller_company_number,
        seller_vat_number,
        bank_iban,
        bank_bic,
        bank_holder,
        invoice_prefix,
    }
}

pub const PAYMODES: [&str; 4] = ["stripe", "test", "transfer", "free"];

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    page: Page,
    settings: Settings,
    courses: Vec<Course>,
    errors: FieldErrors,
    /// Which Stripe mode the configured key works in; `None` when Stripe is not configured.
    stripe_mode: Option<crate::stripe::Mode>,
}

impl SettingsPage {
    fn is_default_support(&self, course: &Course) -> bool {
        self.settings.default_support_course_id == Some(course.id)
    }

    fn paymode_on(&self, mode: &&str) -> bool {
        self.settings.paymodes.iter().any(|m| m.as_str() == *mode)
    }

    /// A method this process cannot take (Stripe without its keys) is not offered.
    fn paymode_unavailable(&self, mode: &&str) -> bool {
        *mode == "stripe" && self.stripe_mode.is_none()
    }
}

pub async fn settings(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(SettingsPage {
        page,
        settings: settings::load(&state.db).await?,
        courses: courses::all(&state.db).await?,
        errors: FieldErrors::default(),
        stripe_mode: state.stripe.as_ref().map(|s| s.mode()),
    })
}

pub async fn save_settings(
    State(state): State<AppState>,
    session: Session,
    page: Page,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let posted = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let field = |name: &str| posted(name).unwrap_or_default();
    let mut errors = FieldErrors::default();
    let shop_name = required(&mut errors, "shop_name", &field("shop_name"), 100);
    let currency = field("currency").to_uppercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
        errors.add("currency", "errors.currency");
    }
    // A course of the list, or none: anything else (a course deleted meanwhile, a forged
    // id) is the field's error, not a foreign-key failure.
    let courses = courses::all(&state.db).await?;
    let support = field("default_support_course_id");
    let default_support_course_id = if support.is_empty() {
        None
    } else {
        let id = support
            .parse::<i64>()
            .ok()
            .filter(|id| courses.iter().any(|c| c.id == *id));
        if id.is_none() {
            errors.add("default_support_course_id", "errors.invalid_choice");
        }
        id
    };
    let sales_conditions = optional_text(
        &mut errors,
        "sales_conditions",
        &field("sales_conditions"),
        SALES_CONDITIONS_MAX,
    )
    .unwrap_or_default();
    let paymodes: Vec<Paymode> = pairs
        .iter()
        .filter(|(k, _)| k == "paymodes")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if paymodes.is_empty() {
        errors.add("paymodes", "errors.paymodes");
    }
    if paymodes.iter().any(|m| !state.can_take(*m)) {
        errors.add("paymodes", "errors.stripe_not_configured");
    }
    let current = settings::load(&state.db).await?;
    let seller = seller_identity(&mut errors, &posted, &current);
    let new = Settings {
        shop_name,
        currency,
        default_support_course_id,
        sales_conditions,
        paymodes,
        ..seller
    };
    if errors.is_empty() {
        match settings::save(&state.db, &new).await {
            Ok(()) => {
                state.catalogue.invalidate();
                flash(&session, page.t("admin.saved")).await?;
                return Ok(Redirect::to("/admin/settings").into_response());
            }
            // The course was deleted between the check and the save.
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                errors.add("default_support_course_id", "errors.invalid_choice");
            }
            Err(e) => return Err(e.into()),
        }
    }
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        SettingsPage {
            page,
            settings: new,
            courses,
            errors,
            stripe_mode: state.stripe.as_ref().map(|s| s.mode()),
        },
    )
}
