//! In-memory copy of what `/shop` shows. The front page is the hottest page and changes only
//! when an operator saves, so it is served from memory, for display only: orders are priced
//! from the database in their own transaction ([`ShopCatalogue::for_order`]). Any change to
//! the catalogue tables notifies every instance (`LISTEN catalogue_changed`, see
//! [`listen_for_changes`]), which drops its copy at once; `TTL` bounds the staleness should
//! a notification be missed while the listener reconnects.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::domain::TaxRate;
use crate::state::AppState;
use crate::store::catalogue::{self, Category, Product};
use crate::store::settings::{self, Settings};

/// A safety net only: changes reach every instance through `catalogue_changed` at once.
const TTL: Duration = Duration::from_secs(30);

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

    /// What an order is priced from: the settings, taxes and the products of `codes` read in
    /// the order's own transaction, never from a cache that may be a moment old.
    pub async fn for_order(
        tx: &mut sqlx::PgConnection,
        codes: &[String],
    ) -> sqlx::Result<ShopCatalogue> {
        Ok(ShopCatalogue {
            settings: settings::load(&mut *tx).await?,
            categories: Vec::new(),
            products: catalogue::products_for_order(&mut *tx, codes).await?,
            tax_rates: tax_rates(catalogue::taxes(&mut *tx).await?),
        })
    }
}

fn tax_rates(taxes: Vec<catalogue::Tax>) -> HashMap<String, TaxRate> {
    taxes
        .into_iter()
        .filter_map(|t| {
            Some((
                t.code,
                TaxRate::from_basis_points(u32::try_from(t.rate_bp).ok()?)?,
            ))
        })
        .collect()
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
            tax_rates: tax_rates(catalogue::taxes(&mut *tx).await?),
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

/// Drops this instance's copy of the catalogue whenever any instance (or any tool writing
/// to the database) changes it: the catalogue tables' triggers `NOTIFY catalogue_changed`.
pub async fn listen_for_changes(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        match PgListener::connect_with(&state.db).await {
            Ok(mut listener) => {
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "cannot LISTEN for catalogue changes");
                } else {
                    // Whatever changed while nobody listened.
                    state.catalogue.invalidate();
                    loop {
                        tokio::select! {
                            received = listener.try_recv() => match received {
                                Ok(Some(_)) => state.catalogue.invalidate(),
                                // Connection lost: notifications may have been missed; the
                                // listener reconnects on the next call.
                                Ok(None) => state.catalogue.invalidate(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "catalogue listener failed");
                                    break;
                                }
                            },
                            _ = shutdown.changed() => return,
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot connect the catalogue listener"),
        }
        state.catalogue.invalidate();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

const CHANNEL: &str = "catalogue_changed";
