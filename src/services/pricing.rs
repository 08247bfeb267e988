//! A cart priced from the catalogue. Posted prices do not exist: only codes and quantities
//! come from the buyer.

use crate::cache::ShopCatalogue;
use crate::domain::cart::{Cart, MAX_LINE_QUANTITY};
use crate::domain::handler_params::HandlerParams;
use crate::domain::price::{AmountOverflow, PricedLine, Totals, price_line};
use crate::domain::product::ProductStatus;
use crate::domain::tax_rules::TaxTreatment;
use crate::domain::{Money, TaxRate};
use crate::fulfilment;
use crate::store::catalogue::Product;

pub struct PricedCartLine {
    pub product: Product,
    /// What is charged: with a coupon, `untaxed` and `tax` are net of `discount`.
    pub priced: PricedLine,
    pub limit: u32,
    /// Untaxed amount a coupon took off this line (`services::coupons::apply`).
    pub discount: Money,
}

impl PricedCartLine {
    /// The line before the coupon.
    pub fn gross(&self) -> Money {
        Money::from_minor(self.priced.untaxed.minor() + self.discount.minor())
    }
}

/// The coupon a cart is priced with, and how much it takes off in all (untaxed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCoupon {
    pub coupon_id: i64,
    pub code: String,
    pub discount: Money,
}

pub struct PricedCart {
    pub lines: Vec<PricedCartLine>,
    pub totals: Totals,
    /// Codes in the cart no longer on sale to this buyer; they are left out of the order.
    pub dropped: Vec<String>,
    pub coupon: Option<AppliedCoupon>,
}

impl PricedCart {
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The most one order may hold of `product`: its own limit, its handler's, and the shop's.
pub fn quantity_limit(product: &Product) -> u32 {
    let own = product
        .max_quantity
        .and_then(|m| u32::try_from(m).ok())
        .unwrap_or(u32::MAX);
    let handler = fulfilment::find(&product.handler)
        .and_then(|h| h.max_quantity())
        .unwrap_or(u32::MAX);
    own.min(handler).min(MAX_LINE_QUANTITY)
}

/// Seats one unit of `product` delivers, when it delivers seats.
pub fn seats_per_unit(product: &Product) -> Option<u32> {
    let params = HandlerParams::parse(&product.handler_params).unwrap_or_default();
    fulfilment::find(&product.handler)?.seats_per_unit(&params)
}

/// Why a buyer may not put `product` in a cart, as a translation key.
pub fn refusal(product: &Product, signed_in: bool, operator: bool) -> Option<&'static str> {
    match product.status {
        ProductStatus::Suspended => return Some("cart.not_on_sale"),
        ProductStatus::Preview if !operator => return Some("cart.not_on_sale"),
        _ => {}
    }
    (product.logged_in_only && !signed_in).then_some("cart.login_first")
}

pub fn price_cart(
    cart: &Cart,
    catalogue: &ShopCatalogue,
    signed_in: bool,
    operator: bool,
) -> Result<PricedCart, AmountOverflow> {
    price_cart_for(cart, catalogue, signed_in, operator, TaxTreatment::Standard)
}

/// [`price_cart`] for a buyer whose sale is taxed as `treatment` (`domain::tax_rules`): a
/// reverse-charged or exported sale has every line at 0 %.
pub fn price_cart_for(
    cart: &Cart,
    catalogue: &ShopCatalogue,
    signed_in: bool,
    operator: bool,
    treatment: TaxTreatment,
) -> Result<PricedCart, AmountOverflow> {
    let mut lines = Vec::new();
    let mut dropped = Vec::new();
    for line in &cart.lines {
        let Some(product) = catalogue
            .product_by_code(&line.code)
            .filter(|p| refusal(p, signed_in, operator).is_none())
        else {
            dropped.push(line.code.clone());
            continue;
        };
        let limit = quantity_limit(product);
        let quantity = line.quantity.min(limit);
        let rate = if treatment.charges_vat() {
            catalogue.tax_rate(product)
        } else {
            TaxRate::ZERO
        };
        let priced = price_line(&product.tiers(), quantity, rate)?;
        lines.push(PricedCartLine {
            product: product.clone(),
            priced,
            limit,
            discount: Money::ZERO,
        });
    }
    let totals = Totals::of(lines.iter().map(|l| &l.priced))?;
    Ok(PricedCart {
        lines,
        totals,
        dropped,
        coupon: None,
    })
}
