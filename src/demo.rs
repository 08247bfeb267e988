//! The demo catalogue a fresh embedded database starts with.

use anyhow::Result;
use sqlx::PgPool;

use crate::domain::Money;
use crate::domain::price::PriceTiers;
use crate::domain::product::{ProductDraft, ProductStatus};
use crate::store::catalogue;
use crate::store::courses::{self, CourseInput};

const COURSES: &[(&str, &str)] = &[
    (
        "A51-1123K-FI",
        "Formation initiale sûreté 11.2.3.7/11.2.3.8/11.2.3.9/11.2.3.10",
    ),
    ("11.2.3.9-Aha-FI", "11.2.3.9 Agent — formation initiale"),
    (
        "11.2.3.10-Appro-FI",
        "11.2.3.10 Approvisionnement — formation initiale",
    ),
    (
        "11.2.3.10-Four-FI",
        "11.2.3.10 Fournitures — formation initiale",
    ),
    ("CUSTOMER-SUPPORT", "Customer support — espace client"),
];

/// What differs between the demo products; the rest is the same for both.
struct Demo<'a> {
    code: &'a str,
    name: &'a str,
    description: &'a str,
    price: i64,
    tiers: Vec<(u32, Money)>,
    handler: &'a str,
    params: &'a str,
    max_quantity: Option<i32>,
}

impl Demo<'_> {
    fn draft(self, category: i64) -> Result<ProductDraft> {
        Ok(ProductDraft {
            code: self.code.into(),
            name: self.name.into(),
            description: self.description.into(),
            category_id: Some(category),
            status: ProductStatus::Available,
            tiers: PriceTiers::new(Money::from_minor(self.price), self.tiers)?,
            tax_code: Some("TVA20".into()),
            max_quantity: self.max_quantity,
            logged_in_only: false,
            handler: self.handler.into(),
            handler_params: self.params.into(),
            sales_conditions: String::new(),
            sortorder: 0,
        })
    }
}

pub async fn seed(db: &PgPool) -> Result<()> {
    let mut tx = db.begin().await?;
    let mut support = None;
    for (shortname, fullname) in COURSES {
        let id = courses::insert(
            &mut *tx,
            &CourseInput {
                shortname,
                fullname,
                visible: true,
                startdate: None,
            },
        )
        .await?;
        if *shortname == "CUSTOMER-SUPPORT" {
            support = id;
        }
    }
    catalogue::save_tax(&mut *tx, None, "TVA20", "TVA 20 %", 2000, "FR").await?;
    let category = catalogue::save_category(&mut *tx, None, "Formations sûreté", 1, true)
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo category not created"))?;
    let seats = Demo {
        code: "A51-1123K-FI",
        name: "Formation initiale sûreté — pack de 5 sièges",
        description: "Five seats to hand out later to your learners, in any of the 11.2.3 initial training courses.",
        price: 144_000,
        tiers: vec![
            (5, Money::from_minor(130_000)),
            (10, Money::from_minor(120_000)),
        ],
        handler: "std_generateseats",
        params: "courselist=A51-1123K-FI,11.2.3.*&packsize=5&supervisor=teacher&customersupport=CUSTOMER-SUPPORT",
        max_quantity: None,
    }
    .draft(category)?;
    let one = Demo {
        code: "11.2.3.9-AHA-1",
        name: "11.2.3.9 Agent — inscription individuelle",
        description: "Enrols you in the 11.2.3.9 Agent course for one year.",
        price: 35_000,
        tiers: vec![],
        handler: "std_enrolonecourse",
        params: "coursename=11.2.3.9-Aha-FI&role=student&endtime=%2B365D",
        max_quantity: Some(1),
    }
    .draft(category)?;
    catalogue::save_product(&mut *tx, None, &seats).await?;
    catalogue::save_product(&mut *tx, None, &one).await?;
    sqlx::query!("UPDATE settings SET shop_name = 'lms-shop demo', default_support_course_id = $1 WHERE id = 1", support)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
