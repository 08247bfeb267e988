//! The public catalogue.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Redirect;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::cache::ShopCatalogue;
use crate::domain::cart::MAX_LINE_QUANTITY;
use crate::domain::product::ProductStatus;
use crate::domain::{Money, PageNo, TaxRate};
use crate::error::AppResult;
use crate::http::context::Page;
use crate::http::render::html;
use crate::services::pricing;
use crate::state::AppState;
use crate::store::catalogue::{Category, Product};

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

/// A category in the shop's navigation, with how many products it shows.
pub struct CategoryLink {
    pub id: i64,
    pub name: String,
    pub count: usize,
}

#[derive(Template)]
#[template(path = "shop/index.html")]
struct ShopPage {
    page: Page,
    sections: Vec<Section>,
    categories: Vec<CategoryLink>,
    category: Option<i64>,
    page_no: i64,
    pages: i64,
}

impl ShopPage {
    fn current(&self, category: &i64) -> bool {
        self.category == Some(*category)
    }

    fn query(&self, page_no: i64) -> String {
        let category = self.category.map(|c| c.to_string()).unwrap_or_default();
        serde_urlencoded::to_string([("category", category), ("page", page_no.to_string())])
            .unwrap_or_default()
    }
}

/// Products a page shows: a catalogue of 500 on one page was 432 KB of HTML a view (1 500
/// views a second where 30 000 of a small one were served); a page of PER_PAGE costs the same
/// whatever the catalogue's size, and the category links lead to the rest.
const PER_PAGE: usize = 24;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ShopQuery {
    category: String,
    page: PageNo,
}

/// The products a visitor may see, by visible category in order (uncategorised last).
/// Preview products are shown to operators only; suspended ones to nobody; products of a
/// hidden category disappear with it.
fn shown_by_category(
    catalogue: &ShopCatalogue,
    operator: bool,
) -> Vec<(Option<&Category>, Vec<&Product>)> {
    let shown = |p: &&Product| match p.status {
        ProductStatus::Available => true,
        ProductStatus::Preview => operator,
        ProductStatus::Suspended => false,
    };
    let of = |category: Option<i64>| -> Vec<&Product> {
        catalogue
            .products
            .iter()
            .filter(shown)
            .filter(|p| p.category_id == category)
            .collect()
    };
    let mut groups: Vec<(Option<&Category>, Vec<&Product>)> = catalogue
        .categories
        .iter()
        .filter(|c| c.visible)
        .map(|c| (Some(c), of(Some(c.id))))
        .collect();
    groups.push((None, of(None)));
    groups.retain(|(_, products)| !products.is_empty());
    groups
}

pub async fn index(
    State(state): State<AppState>,
    page: Page,
    Query(q): Query<ShopQuery>,
) -> AppResult<Response> {
    let catalogue = state.catalogue.get(&state.db).await?;
    let groups = shown_by_category(&catalogue, page.is_operator());
    let categories = groups
        .iter()
        .filter_map(|(c, products)| {
            c.map(|c| CategoryLink {
                id: c.id,
                name: c.name.clone(),
                count: products.len(),
            })
        })
        .collect();
    let category = q
        .category
        .parse::<i64>()
        .ok()
        .filter(|id| groups.iter().any(|(c, _)| c.is_some_and(|c| c.id == *id)));
    let chosen: Vec<_> = groups
        .into_iter()
        .filter(|(c, _)| category.is_none() || c.map(|c| c.id) == category)
        .collect();
    let total: usize = chosen.iter().map(|(_, p)| p.len()).sum();
    let per_page = PER_PAGE as i64;
    let pages = PageNo::count(total as i64, per_page);
    let page_no = q.page.at_most(pages);
    // Only the cards of this page are built.
    let (skip, mut room) = (page_no.offset(per_page) as usize, PER_PAGE);
    let mut seen = 0;
    let mut sections = Vec::new();
    for (c, products) in chosen {
        let start = skip.saturating_sub(seen).min(products.len());
        seen += products.len();
        let cards: Vec<ProductCard> = products[start..]
            .iter()
            .take(room)
            .map(|p| ProductCard::new(p, catalogue.tax_rate(p)))
            .collect();
        room -= cards.len();
        if !cards.is_empty() {
            sections.push(Section {
                name: c.map_or_else(
                    || page.t("shop.other_products").into_owned(),
                    |c| c.name.clone(),
                ),
                products: cards,
            });
        }
    }
    html(ShopPage {
        page,
        sections,
        categories,
        category,
        page_no: page_no.get(),
        pages,
    })
}

/// This area's routes (full paths: the security suite reads every route under src/http).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/shop") }))
        .route("/shop", get(index))
}
