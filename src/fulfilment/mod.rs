//! Product fulfilment: what a purchase delivers, by *product handler* (the catalogue's
//! `handler` column; not HTTP handlers, which live in `crate::http`). Each handler declares
//! its parameters, validates a parameter string against the catalogue, and produces inside
//! the production transaction. A new handler is one new file plus one line in [`registry`].

pub mod enrol_one_course;
pub mod generate_seats;
pub mod params;

use std::future::Future;
use std::pin::Pin;

use sqlx::PgConnection;

use crate::domain::handler_params::HandlerParams;
pub use params::{CatalogueFacts, Issue, ParamKind, ParamSpec, Validation};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One bill line to produce, with everything a handler needs to know about the sale.
#[derive(Debug, Clone)]
pub struct ProductionLine {
    pub bill_id: i64,
    pub bill_item_id: i64,
    pub product_id: i64,
    pub customer_id: i64,
    /// The customer's user account (linked before handlers run).
    pub customer_user_id: i64,
    /// Where enrolments go (the shop's tables, and Moodle's through its job queue).
    pub backend: crate::services::enrolments::Backend,
    pub quantity: u32,
    pub params: HandlerParams,
}

/// What a line produced, for the confirmation page, the mails and the production log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Produced {
    Seats(u32),
    Enrolment { course: String },
    Nothing,
}

pub trait ProductHandler: Send + Sync {
    /// Stored in `products.handler`.
    fn name(&self) -> &'static str;

    /// Translation key of a one-line description for operators.
    fn description_key(&self) -> &'static str;

    fn params(&self) -> &'static [ParamSpec];

    /// Largest quantity one order may hold, whatever the product says.
    fn max_quantity(&self) -> Option<u32> {
        None
    }

    /// Seats one unit of the product delivers, for handlers that deliver seats (the shop and
    /// the cart say "1 unit = 5 seats").
    fn seats_per_unit(&self, _params: &HandlerParams) -> Option<u32> {
        None
    }

    /// Errors block saving the product; warnings are shown after saving.
    fn validate(&self, params: &HandlerParams, facts: &CatalogueFacts<'_>) -> Validation;

    /// Delivers `line` inside the caller's transaction. Must be idempotent for a given
    /// bill item: production may be retried after a crash or a failure.
    fn produce<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        line: &'a ProductionLine,
    ) -> BoxFuture<'a, anyhow::Result<Produced>>;
}

static GENERATE_SEATS: generate_seats::GenerateSeats = generate_seats::GenerateSeats;
static ENROL_ONE_COURSE: enrol_one_course::EnrolOneCourse = enrol_one_course::EnrolOneCourse;

/// Every handler the shop knows.
pub fn registry() -> [&'static dyn ProductHandler; 2] {
    [&GENERATE_SEATS, &ENROL_ONE_COURSE]
}

pub fn find(name: &str) -> Option<&'static dyn ProductHandler> {
    registry().into_iter().find(|h| h.name() == name)
}

/// Validates a product's handler and parameter string. An empty handler name means a product
/// that delivers nothing automatically (fulfilled by hand).
pub fn validate(handler: &str, raw_params: &str, facts: &CatalogueFacts<'_>) -> Validation {
    let mut v = Validation::default();
    let params = match HandlerParams::parse(raw_params) {
        Ok(p) => p,
        Err(e) => {
            v.error("handlerparams", "handlers.malformed", &e.to_string());
            return v;
        }
    };
    if handler.is_empty() {
        if params.keys().next().is_some() {
            v.warn("handlerparams", "handlers.params_without_handler", "");
        }
        return v;
    }
    match find(handler) {
        Some(h) => {
            let mut hv = h.validate(&params, facts);
            for key in params.keys() {
                if !h.params().iter().any(|p| p.name == key) {
                    hv.warn(key, "handlers.unknown_param", key);
                }
            }
            hv
        }
        None => {
            v.error("handler", "handlers.unknown_handler", handler);
            v
        }
    }
}

#[cfg(test)]
mod tests;
