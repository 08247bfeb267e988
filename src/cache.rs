//! In-memory copy of what `/shop` shows. The front page is the hottest page and changes only
//! when an operator saves, so it is served from memory: invalidated at once on this instance
//! when an operator saves, and refreshed at most `TTL` later on the others.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::domain::TaxRate;
use crate::store::catalogue::{self, Category, Product};
use crate::store::settings::{self, Settings};

const TTL: Duration = Duration::from_secs(2);

pub struct ShopCatalogue {
    pub settings: Settings,
    pub categories: Vec<Category>,
    /// Every product, in display order; callers filter by status.
    pub products: Vec<Product>,
    pub tax_rates: HashMap<String, TaxRate>,
}

impl ShopCatalogue {
    pub fn tax_rate(&self, product: &Product) -> TaxRate {
        product
            .tax_code
            .as_ref()
            .and_then(|code| self.tax_rates.get(code).copied())
            .unwrap_or(TaxRate::ZERO)
    }

    pub fn product_by_code(&self, code: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.code == code)
    }
}

#[derive(Default)]
pub struct CatalogueCache {
    slot: RwLock<Option<(Instant, Arc<ShopCatalogue>)>>,
    /// One reload at a time: a burst of requests after expiry waits for one query, not N.
    reload: tokio::sync::Mutex<()>,
}

impl CatalogueCache {
    fn fresh(&self) -> Option<Arc<ShopCatalogue>> {
        let slot = self.slot.read().ok()?;
        slot.as_ref()
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, c)| Arc::clone(c))
    }

    pub async fn get(&self, db: &PgPool) -> sqlx::Result<Arc<ShopCatalogue>> {
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let _guard = self.reload.lock().await;
        if let Some(c) = self.fresh() {
            return Ok(c);
        }
        let mut tx = db.begin().await?;
        let loaded = Arc::new(ShopCatalogue {
            settings: settings::load(&mut *tx).await?,
            categories: catalogue::categories(&mut *tx).await?,
            products: catalogue::all_products(&mut *tx).await?,
            tax_rates: catalogue::taxes(&mut *tx)
                .await?
                .into_iter()
                .filter_map(|t| {
                    Some((
                        t.code,
                        TaxRate::from_basis_points(u32::try_from(t.rate_bp).ok()?)?,
                    ))
                })
                .collect(),
        });
        tx.commit().await?;
        if let Ok(mut slot) = self.slot.write() {
            *slot = Some((Instant::now(), Arc::clone(&loaded)));
        }
        Ok(loaded)
    }

    pub fn invalidate(&self) {
        if let Ok(mut slot) = self.slot.write() {
            *slot = None;
        }
    }
}
