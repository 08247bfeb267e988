//! Products, with a parameter editor generated from the handler's declared parameters.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::Money;
use crate::domain::form::FieldErrors;
use crate::domain::handler_params::{CoursePatterns, HandlerParams, parse_date};
use crate::domain::product::{ProductDraft, ProductForm, ProductStatus};
use crate::error::{AppError, AppResult};
use crate::fulfilment::{self, CatalogueFacts, Issue, ParamKind, Validation};
use crate::http::context::Page;
use crate::http::render::{html, html_status};
use crate::state::AppState;
use crate::store::catalogue::{self, Category, Product, Tax};
use crate::store::courses::{self, Course};

#[derive(Template)]
#[template(path = "admin/products.html")]
struct ListPage {
    page: Page,
    products: Vec<Product>,
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    html(ListPage {
        page,
        products: catalogue::all_products(&state.db).await?,
    })
}

/// One generated input of the parameter editor.
pub struct ParamField {
    pub name: &'static str,
    /// `courselist`, `course`, `role`, `int`, `date`, `duration`, `when`.
    pub kind: &'static str,
    pub value: String,
    pub placeholder: String,
    pub help: String,
    pub required: bool,
}

pub struct HandlerChoice {
    pub name: &'static str,
    pub description: String,
}

#[derive(Template)]
#[template(path = "admin/product_form.html")]
struct FormPage {
    page: Page,
    id: Option<i64>,
    form: ProductForm,
    errors: FieldErrors,
    /// (parameter, message)
    param_errors: Vec<(String, String)>,
    param_warnings: Vec<(String, String)>,
    fields: Vec<ParamField>,
    handlers: Vec<HandlerChoice>,
    courses: Vec<Course>,
    roles: Vec<String>,
    categories: Vec<Category>,
    taxes: Vec<Tax>,
    /// (pattern, shortnames it matches now)
    preview: Vec<(String, Vec<String>)>,
    saved: bool,
    /// A handler was just chosen: its parameters are shown, nothing was saved or checked.
    chosen: bool,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|k| self.page.t(k).into_owned())
    }

    fn param_error(&self, name: &str) -> Option<&str> {
        self.param_errors
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, m)| m.as_str())
    }

    /// A stored value the pickers do not offer (a course deleted since): still shown, marked.
    fn unknown_course(&self, f: &ParamField) -> bool {
        !f.value.is_empty() && !self.courses.iter().any(|c| c.shortname == f.value)
    }

    fn unknown_role(&self, f: &ParamField) -> bool {
        !f.value.is_empty() && !self.roles.contains(&f.value)
    }

    /// A form field as its label names it (errors name the field the operator sees).
    fn label(&self, field: &str) -> String {
        let tier = |prefix: &str| {
            field
                .strip_prefix(prefix)
                .filter(|n| n.parse::<u8>().is_ok_and(|n| n >= 2))
        };
        if let Some(n) = tier("range") {
            return format!("{} ({n})", self.page.t("shop.from_quantity"));
        }
        if let Some(n) = tier("price") {
            return format!("{} ({n})", self.page.t("shop.unit_excl"));
        }
        let key = match field {
            "code" => "admin.code",
            "name" => "admin.name",
            "status" => "admin.status",
            "category_id" => "admin.category",
            "sortorder" => "admin.sortorder",
            "description" => "admin.description",
            "price1" => "admin.price1",
            "tax_code" => "admin.tax",
            "max_quantity" => "admin.max_quantity",
            "sales_conditions" => "admin.product_conditions",
            "handler" => "admin.handler",
            "handlerparams" => "admin.raw_params",
            other => return other.to_owned(),
        };
        self.page.t(key).into_owned()
    }

    fn status_options(&self) -> [&'static str; 3] {
        ProductStatus::ALL.map(ProductStatus::as_str)
    }
}

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::CourseList => "courselist",
        ParamKind::Course => "course",
        ParamKind::Role => "role",
        ParamKind::PositiveInt => "int",
        ParamKind::Date => "date",
        ParamKind::Duration => "duration",
        ParamKind::When => "when",
    }
}

fn messages(page: &Page, issues: &[Issue]) -> Vec<(String, String)> {
    issues
        .iter()
        .map(|i| {
            (
                i.param.clone(),
                page.tf(i.key, &[("param", &i.param), ("value", &i.value)]),
            )
        })
        .collect()
}

/// Everything the form page shows besides the typed values.
struct Context {
    courses: Vec<Course>,
    roles: Vec<String>,
    categories: Vec<Category>,
    taxes: Vec<Tax>,
}

async fn context(state: &AppState) -> AppResult<Context> {
    Ok(Context {
        courses: courses::all(&state.db).await?,
        roles: courses::role_names(&state.db).await?,
        categories: catalogue::categories(&state.db).await?,
        taxes: catalogue::taxes(&state.db).await?,
    })
}

fn form_page(
    page: Page,
    id: Option<i64>,
    form: ProductForm,
    errors: FieldErrors,
    validation: &Validation,
    ctx: Context,
    saved: bool,
) -> FormPage {
    let params = HandlerParams::parse(&form.handlerparams).unwrap_or_default();
    let fields = fulfilment::find(&form.handler)
        .map(|h| {
            h.params()
                .iter()
                .map(|spec| {
                    let raw = params.get(spec.name).unwrap_or("").to_owned();
                    // A date input shows ISO; a date stored as Unix seconds is shown converted.
                    let value = if spec.kind == ParamKind::Date {
                        parse_date(&raw)
                            .map(|d| d.date().to_string())
                            .unwrap_or(raw)
                    } else {
                        raw
                    };
                    ParamField {
                        name: spec.name,
                        kind: kind_name(spec.kind),
                        value,
                        placeholder: spec.default.unwrap_or("").to_owned(),
                        help: page.t(spec.help).into_owned(),
                        required: spec.required,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let facts = CatalogueFacts {
        courses: &ctx.courses,
        roles: &ctx.roles,
    };
    let preview = CoursePatterns::parse(params.get("courselist").unwrap_or(""))
        .patterns()
        .iter()
        .map(|p| {
            let matched = facts
                .matching(&CoursePatterns::parse(p))
                .into_iter()
                .map(|c| c.shortname.clone())
                .collect();
            (p.clone(), matched)
        })
        .collect();
    let handlers = fulfilment::registry()
        .into_iter()
        .map(|h| HandlerChoice {
            name: h.name(),
            description: page.t(h.description_key()).into_owned(),
        })
        .collect();
    FormPage {
        param_errors: messages(&page, &validation.errors),
        param_warnings: messages(&page, &validation.warnings),
        page,
        id,
        form,
        errors,
        fields,
        handlers,
        courses: ctx.courses,
        roles: ctx.roles,
        categories: ctx.categories,
        taxes: ctx.taxes,
        preview,
        saved,
        chosen: false,
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    handler: String,
}

pub async fn new(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let handler = fulfilment::find(&q.handler)
        .map(|h| h.name().to_owned())
        .unwrap_or_default();
    let form = ProductForm {
        handler,
        status: "preview".into(),
        ..Default::default()
    };
    html(form_page(
        page,
        None,
        form,
        FieldErrors::default(),
        &Validation::default(),
        context(&state).await?,
        false,
    ))
}

fn to_form(p: &Product) -> ProductForm {
    let money = |m: Option<i64>| {
        m.map(|v| Money::from_minor(v).to_input())
            .unwrap_or_default()
    };
    let int = |n: Option<i32>| n.map(|v| v.to_string()).unwrap_or_default();
    ProductForm {
        code: p.code.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        category_id: p.category_id.map(|c| c.to_string()).unwrap_or_default(),
        status: p.status.as_str().to_owned(),
        price1: Money::from_minor(p.price1).to_input(),
        range2: int(p.range2),
        price2: money(p.price2),
        range3: int(p.range3),
        price3: money(p.price3),
        range4: int(p.range4),
        price4: money(p.price4),
        range5: int(p.range5),
        price5: money(p.price5),
        tax_code: p.tax_code.clone().unwrap_or_default(),
        max_quantity: int(p.max_quantity),
        logged_in_only: if p.logged_in_only {
            "1".into()
        } else {
            String::new()
        },
        handler: p.handler.clone(),
        handlerparams: p.handler_params.clone(),
        sales_conditions: p.sales_conditions.clone(),
        sortorder: p.sortorder.to_string(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditQuery {
    saved: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Query(q): Query<EditQuery>,
) -> AppResult<Response> {
    let product = catalogue::product(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let ctx = context(&state).await?;
    // Warnings are a function of the parameters and today's catalogue: recomputed on view.
    let validation = fulfilment::validate(
        &product.handler,
        &product.handler_params,
        &CatalogueFacts {
            courses: &ctx.courses,
            roles: &ctx.roles,
        },
    );
    html(form_page(
        page,
        Some(id),
        to_form(&product),
        FieldErrors::default(),
        &validation,
        ctx,
        q.saved.is_some(),
    ))
}

/// The form as posted: the product fields, plus `p_<name>` inputs of the generated editor and
/// `params_mode` (`fields` when saved from the generated inputs, otherwise the raw string).
#[derive(Deserialize)]
pub struct Submission {
    #[serde(flatten)]
    product: ProductForm,
    #[serde(flatten)]
    extra: HashMap<String, String>,
}

fn params_from_fields(handler: &str, extra: &HashMap<String, String>) -> Option<String> {
    let h = fulfilment::find(handler)?;
    let pairs = h.params().iter().filter_map(|spec| {
        extra
            .get(&format!("p_{}", spec.name))
            .map(|v| (spec.name.to_owned(), v.clone()))
    });
    Some(HandlerParams::from_pairs(pairs).encode())
}

async fn save(
    state: &AppState,
    page: Page,
    id: Option<i64>,
    submission: Submission,
) -> AppResult<Response> {
    let Submission { mut product, extra } = submission;
    let mode = extra.get("params_mode").map(String::as_str);
    // The form names the handler whose editor it showed: saved from that editor with another
    // handler chosen, the new handler's parameters were never seen, so show them first.
    let switched = mode == Some("fields")
        && extra
            .get("shown_handler")
            .is_some_and(|shown| shown != product.handler.trim());
    if mode == Some("choose") || switched {
        // Only a handler was chosen: show its parameter editor, check and save nothing yet.
        let mut form = form_page(
            page,
            id,
            product,
            FieldErrors::default(),
            &Validation::default(),
            context(state).await?,
            false,
        );
        form.chosen = true;
        return html(form);
    }
    if extra.get("params_mode").map(String::as_str) == Some("fields")
        && let Some(encoded) = params_from_fields(&product.handler, &extra)
    {
        product.handlerparams = encoded;
    }
    let ctx = context(state).await?;
    let validation = fulfilment::validate(
        product.handler.trim(),
        &product.handlerparams,
        &CatalogueFacts {
            courses: &ctx.courses,
            roles: &ctx.roles,
        },
    );
    let mut errors = match ProductDraft::parse(&product) {
        Ok(_) => FieldErrors::default(),
        Err(e) => e,
    };
    if let Some(code) = product.tax_code.trim().get(..).filter(|c| !c.is_empty())
        && !ctx.taxes.iter().any(|t| t.code == code)
    {
        errors.add("tax_code", "errors.invalid_choice");
    }
    if let Ok(cat) = product.category_id.trim().parse::<i64>()
        && !ctx.categories.iter().any(|c| c.id == cat)
    {
        errors.add("category_id", "errors.invalid_choice");
    }
    let draft = ProductDraft::parse(&product)
        .ok()
        .filter(|_| errors.is_empty() && validation.is_ok());
    if let Some(mut draft) = draft {
        // A handler's own limit (one enrolment per order) caps the product's.
        if let Some(limit) = fulfilment::find(&draft.handler).and_then(|h| h.max_quantity()) {
            let limit = i32::try_from(limit).unwrap_or(i32::MAX);
            draft.max_quantity = Some(draft.max_quantity.map_or(limit, |m| m.min(limit)));
        }
        match catalogue::save_product(&state.db, id, &draft).await? {
            Some(saved) => {
                state.catalogue.invalidate();
                return Ok(
                    Redirect::to(&format!("/admin/products/{saved}?saved=1")).into_response()
                );
            }
            None if id.is_some()
                && catalogue::product(&state.db, id.unwrap_or_default())
                    .await?
                    .is_none() =>
            {
                return Err(AppError::NotFound);
            }
            None => errors.add("code", "errors.code_taken"),
        }
    }
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        form_page(page, id, product, errors, &validation, ctx, false),
    )
}

pub async fn create(
    State(state): State<AppState>,
    page: Page,
    Form(s): Form<Submission>,
) -> AppResult<Response> {
    save(&state, page, None, s).await
}

pub async fn update(
    State(state): State<AppState>,
    page: Page,
    Path(id): Path<i64>,
    Form(s): Form<Submission>,
) -> AppResult<Response> {
    catalogue::product(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    save(&state, page, Some(id), s).await
}
