//! The public catalogue.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Redirect;
use axum::response::Response;
use axum::routing::get;

use crate::cache::ShopCatalogue;
use crate::domain::cart::MAX_LINE_QUANTITY;
use crate::domain::product::ProductStatus;
use crate::domain::{Money, TaxRate};
use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::render::html;
use crate::services::pricing;
use crate::state::AppState;
use crate::store::catalogue::Product;

pub struct TierRow {
    pub from: u32,
    pub untaxed: Money,
    pub taxed: Money,
}

pub struct ProductCard {
    pub code: String,
    pub name: String,
    pub description: String,
    pub preview: bool,
    pub logged_in_only: bool,
    /// The most one order may hold (the product's, its handler's and the shop's limit).
    pub limit: u32,
    pub seats_per_unit: Option<u32>,
    pub untaxed: Money,
    pub taxed: Money,
    pub tax_rate: TaxRate,
    pub tiers: Vec<TierRow>,
}

impl ProductCard {
    /// The limit when it is one a buyer may meet (below the shop's own line maximum).
    pub fn limited(&self) -> Option<u32> {
        (self.limit < MAX_LINE_QUANTITY).then_some(self.limit)
    }

    pub fn new(product: &Product, rate: TaxRate) -> Self {
        let tiers = product.tiers();
        let taxed = |m: Money| Money::from_minor(m.minor() + m.tax_at(rate).minor());
        ProductCard {
            code: product.code.clone(),
            name: product.name.clone(),
            description: product.description.clone(),
            preview: product.status == ProductStatus::Preview,
            logged_in_only: product.logged_in_only,
            limit: pricing::quantity_limit(product),
            seats_per_unit: pricing::seats_per_unit(product),
            untaxed: tiers.base(),
            taxed: taxed(tiers.base()),
            tax_rate: rate,
            tiers: tiers
                .tiers()
                .iter()
                .map(|(from, price)| TierRow {
                    from: *from,
                    untaxed: *price,
                    taxed: taxed(*price),
                })
                .collect(),
        }
    }
}

pub struct Section {
    pub name: String,
    pub products: Vec<ProductCard>,
}

#[derive(Template)]
#[template(path = "shop/index.html")]
struct ShopPage {
    page: Page,
    sections: Vec<Section>,
}

/// Products by visible category (uncategorised last). Preview products are shown to
/// operators only; suspended ones to nobody.
fn sections(catalogue: &ShopCatalogue, operator: bool, other: &str) -> Vec<Section> {
    let shown = |p: &&Product| match p.status {
        ProductStatus::Available => true,
        ProductStatus::Preview => operator,
        ProductStatus::Suspended => false,
    };
    let cards = |category: Option<i64>| -> Vec<ProductCard> {
        catalogue
            .products
            .iter()
            .filter(shown)
            .filter(|p| p.category_id == category)
            .map(|p| ProductCard::new(p, catalogue.tax_rate(p)))
            .collect()
    };
    let mut sections: Vec<Section> = catalogue
        .categories
        .iter()
        .filter(|c| c.visible)
        .map(|c| Section {
            name: c.name.clone(),
            products: cards(Some(c.id)),
        })
        .collect();
    // Products of a hidden category disappear with it; those without one are listed last.
    sections.push(Section {
        name: other.to_owned(),
        products: cards(None),
    });
    sections.retain(|s| !s.products.is_empty());
    sections
}

pub async fn index(State(state): State<AppState>, page: Page) -> AppResult<Response> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let sections = sections(
        &catalogue,
        page.is_operator(),
        &page.t("shop.other_products"),
    );
    html(ShopPage { page, sections })
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/shop") }))
        .route("/shop", get(index))
}
