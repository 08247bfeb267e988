//! `std_enrolonecourse`: enrols the customer user in one course.

use anyhow::Context;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::params::{CatalogueFacts, ParamKind, ParamSpec, Validation};
use super::{BoxFuture, Produced, ProductHandler, ProductionLine};
use crate::domain::SeatReference;
use crate::domain::handler_params::{HandlerParams, When};
use crate::services::enrolments::{self, Enrolment};
use crate::store::{courses, seats};

pub struct EnrolOneCourse;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "coursename",
        kind: ParamKind::Course,
        required: true,
        default: None,
        help: "handlers.help.coursename",
    },
    ParamSpec {
        name: "role",
        kind: ParamKind::Role,
        required: false,
        default: Some("student"),
        help: "handlers.help.role",
    },
    ParamSpec {
        name: "starttime",
        kind: ParamKind::When,
        required: false,
        default: None,
        help: "handlers.help.starttime",
    },
    ParamSpec {
        name: "endtime",
        kind: ParamKind::When,
        required: false,
        default: None,
        help: "handlers.help.endtime",
    },
    ParamSpec {
        name: "customersupport",
        kind: ParamKind::Course,
        required: false,
        default: None,
        help: "handlers.help.customersupport",
    },
];

impl ProductHandler for EnrolOneCourse {
    fn name(&self) -> &'static str {
        "std_enrolonecourse"
    }

    fn description_key(&self) -> &'static str {
        "handlers.std_enrolonecourse"
    }

    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }

    fn max_quantity(&self) -> Option<u32> {
        Some(1)
    }

    fn validate(&self, params: &HandlerParams, facts: &CatalogueFacts<'_>) -> Validation {
        let mut v = Validation::default();
        v.course(params, "coursename", facts, true);
        v.role(params, "role", "student", facts, false);
        let start = v.when(params, "starttime");
        let end = v.when(params, "endtime");
        if let (Some(When::At(s)), Some(When::At(e))) = (start, end)
            && e <= s
        {
            v.error("endtime", "handlers.end_before_start", "");
        }
        v.course(params, "customersupport", facts, false);
        v
    }

    fn produce<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        line: &'a ProductionLine,
    ) -> BoxFuture<'a, anyhow::Result<Produced>> {
        Box::pin(async move {
            let shortname = line
                .params
                .get("coursename")
                .context("coursename is missing")?;
            let course = courses::find_by_shortname(&mut *tx, shortname)
                .await?
                .with_context(|| format!("course {shortname:?} does not exist"))?;
            let now = OffsetDateTime::now_utc();
            let resolve = |name: &str| {
                line.params
                    .get(name)
                    .and_then(|v| When::parse(v).ok())
                    .map(|w| w.resolve(now))
            };
            let (start, end) = (resolve("starttime"), resolve("endtime"));
            let role = line.params.get("role").unwrap_or("student");
            let enrolment = Enrolment {
                course_id: course.id,
                user_id: line.customer_user_id,
                role,
                start_at: start,
                end_at: end,
                group: None,
                seat_id: None,
            };
            enrolments::enrol(&mut *tx, line.backend, &enrolment).await?;
            let reference = SeatReference::generate(&mut rand::thread_rng());
            seats::insert_enrolment_product(
                &mut *tx,
                &seats::NewEnrolmentProduct {
                    reference: reference.as_str(),
                    product_id: line.product_id,
                    bill_id: line.bill_id,
                    bill_item_id: line.bill_item_id,
                    customer_id: line.customer_id,
                    user_id: line.customer_user_id,
                    course_id: course.id,
                    start_at: start.unwrap_or(now),
                    end_at: end,
                },
            )
            .await?;
            Ok(Produced::Enrolment {
                course: course.shortname,
            })
        })
    }
}
