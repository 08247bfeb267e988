//! `std_generateseats`: a pack of unassigned seats the customer hands out later.

use anyhow::{Context, bail};
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::params::{CatalogueFacts, ParamKind, ParamSpec, Validation};
use super::{BoxFuture, Produced, ProductHandler, ProductionLine};
use crate::domain::SeatReference;
use crate::domain::handler_params::{CoursePatterns, HandlerParams, parse_date, parse_duration};
use crate::store::{courses, seats};

pub struct GenerateSeats;

/// One order line may not create more seats than this (quantity × packsize).
pub const MAX_SEATS_PER_LINE: u32 = 100_000;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "courselist",
        kind: ParamKind::CourseList,
        required: false,
        default: None,
        help: "handlers.help.courselist",
    },
    ParamSpec {
        name: "packsize",
        kind: ParamKind::PositiveInt,
        required: false,
        default: Some("1"),
        help: "handlers.help.packsize",
    },
    ParamSpec {
        name: "supervisor",
        kind: ParamKind::Role,
        required: false,
        default: Some("teacher"),
        help: "handlers.help.supervisor",
    },
    ParamSpec {
        name: "customersupport",
        kind: ParamKind::Course,
        required: false,
        default: None,
        help: "handlers.help.customersupport",
    },
    ParamSpec {
        name: "enddate",
        kind: ParamKind::Date,
        required: false,
        default: None,
        help: "handlers.help.enddate",
    },
    ParamSpec {
        name: "duration",
        kind: ParamKind::Duration,
        required: false,
        default: None,
        help: "handlers.help.duration",
    },
];

fn packsize(params: &HandlerParams) -> u32 {
    params
        .get("packsize")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

fn end_at(params: &HandlerParams, now: OffsetDateTime) -> Option<OffsetDateTime> {
    if let Some(date) = params.get("enddate").and_then(|v| parse_date(v).ok()) {
        return Some(date);
    }
    params
        .get("duration")
        .and_then(|v| parse_duration(v).ok())
        .map(|d| now + d)
}

impl ProductHandler for GenerateSeats {
    fn name(&self) -> &'static str {
        "std_generateseats"
    }

    fn description_key(&self) -> &'static str {
        "handlers.std_generateseats"
    }

    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }

    fn seats_per_unit(&self, params: &HandlerParams) -> Option<u32> {
        Some(packsize(params))
    }

    fn validate(&self, params: &HandlerParams, facts: &CatalogueFacts<'_>) -> Validation {
        let mut v = Validation::default();
        v.course_list(params, "courselist", facts);
        v.positive_int(params, "packsize", "1");
        v.role(params, "supervisor", "teacher", facts, true);
        v.course(params, "customersupport", facts, false);
        v.date(params, "enddate");
        v.duration(params, "duration");
        if params.get("enddate").is_some() && params.get("duration").is_some() {
            v.warn("duration", "handlers.enddate_wins", "");
        }
        v
    }

    fn produce<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        line: &'a ProductionLine,
    ) -> BoxFuture<'a, anyhow::Result<Produced>> {
        Box::pin(async move {
            let count = line
                .quantity
                .checked_mul(packsize(&line.params))
                .filter(|n| *n <= MAX_SEATS_PER_LINE)
                .with_context(|| format!("more than {MAX_SEATS_PER_LINE} seats on one line"))?;
            let patterns = CoursePatterns::parse(line.params.get("courselist").unwrap_or(""));
            // Patterns are resolved now: a seat's allowed courses do not change under it.
            // An empty list stays empty, meaning "any visible course".
            let allowed: Vec<i64> = if patterns.is_empty() {
                Vec::new()
            } else {
                let all = courses::all(&mut *tx).await?;
                let ids: Vec<i64> = all
                    .iter()
                    .filter(|c| patterns.matches(&c.shortname))
                    .map(|c| c.id)
                    .collect();
                if ids.is_empty() {
                    bail!(
                        "courselist {:?} matches no course",
                        line.params.get("courselist").unwrap_or("")
                    );
                }
                ids
            };
            let supervisor = line.params.get("supervisor").unwrap_or("teacher");
            let references: Vec<String> = {
                let mut rng = rand::thread_rng();
                (0..count)
                    .map(|_| SeatReference::generate(&mut rng).as_str().to_owned())
                    .collect()
            };
            seats::insert_seats(
                &mut *tx,
                &seats::NewSeats {
                    product_id: line.product_id,
                    bill_id: line.bill_id,
                    bill_item_id: line.bill_item_id,
                    customer_id: line.customer_id,
                    references: &references,
                    end_at: end_at(&line.params, OffsetDateTime::now_utc()),
                    allowed_course_ids: &allowed,
                    supervisor_role: supervisor,
                },
            )
            .await?;
            Ok(Produced::Seats(count))
        })
    }
}
