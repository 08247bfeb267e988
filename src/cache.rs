//! In-memory copy of what `/shop` shows. The front page is the hottest page and changes only
//! when an operator saves, so it is served from memory, for display only: orders are priced
//! from the database in their own transaction ([`ShopCatalogue::for_order`]). Any change to
//! the catalogue tables notifies every instance (`LISTEN catalogue_changed`, see
//! [`listen_for_changes`]), which drops its copy at once; `TTL` bounds the staleness should
//! a notification be missed while the listener reconnects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// The copy in memory, with what it knows of its own freshness.
struct Slot {
    loaded_at: Instant,
    /// The invalidation generation the copy was read under; an older one is stale.
    generation: u64,
    catalogue: Arc<ShopCatalogue>,
}

#[derive(Default)]
pub struct CatalogueCache {
    slot: RwLock<Option<Slot>>,
    /// Bumped by every invalidation: a reload that began before one stores its copy as
    /// already stale, so a notification arriving during a reload is never lost.
    generation: AtomicU64,
    /// When a reload last failed: for a second after, requests get the last copy at once
    /// instead of each waiting for the database (an outage answers fast).
    failed_at: RwLock<Option<Instant>>,
    /// One reload at a time: a burst of requests after expiry waits for one query, not N.
    reload: tokio::sync::Mutex<()>,
}

/// How long a failed reload is not retried.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

impl CatalogueCache {
    fn current(&self) -> Option<(bool, Arc<ShopCatalogue>)> {
        let slot = self.slot.read().ok()?;
        let slot = slot.as_ref()?;
        let fresh = slot.loaded_at.elapsed() < TTL
            && slot.generation == self.generation.load(Ordering::Acquire);
        Some((fresh, Arc::clone(&slot.catalogue)))
    }

    fn recently_failed(&self) -> bool {
        self.failed_at
            .read()
            .ok()
            .and_then(|f| *f)
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
    }

    /// The catalogue for display: the copy in memory if fresh, else reloaded. When the
    /// database cannot be read, the last copy serves (orders never use it: they are priced
    /// from the database), and only without any copy is it an error.
    pub async fn get(&self, db: &PgPool) -> sqlx::Result<Arc<ShopCatalogue>> {
        let stale = match self.current() {
            Some((true, c)) => return Ok(c),
            Some((false, c)) => Some(c),
            None => None,
        };
        if let Some(c) = &stale
            && self.recently_failed()
        {
            return Ok(Arc::clone(c));
        }
        let _guard = self.reload.lock().await;
        if let Some((true, c)) = self.current() {
            return Ok(c);
        }
        // The reload this request waited for failed: no second wait for the same outage.
        if let Some(c) = &stale
            && self.recently_failed()
        {
            return Ok(Arc::clone(c));
        }
        let generation = self.generation.load(Ordering::Acquire);
        match load(db).await {
            Ok(loaded) => {
                let loaded = Arc::new(loaded);
                if let Ok(mut slot) = self.slot.write() {
                    *slot = Some(Slot {
                        loaded_at: Instant::now(),
                        generation,
                        catalogue: Arc::clone(&loaded),
                    });
                }
                if let Ok(mut failed) = self.failed_at.write() {
                    *failed = None;
                }
                Ok(loaded)
            }
            Err(e) => {
                if let Ok(mut failed) = self.failed_at.write() {
                    *failed = Some(Instant::now());
                }
                match stale {
                    Some(c) => {
                        tracing::warn!(error = %e, "catalogue reload failed; serving the last copy");
                        Ok(c)
                    }
                    None => Err(e),
                }
            }
        }
    }

    /// Marks the copy stale: the next request reloads it (and keeps it for an outage).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

async fn load(db: &PgPool) -> sqlx::Result<ShopCatalogue> {
    let mut tx = db.begin().await?;
    let loaded = ShopCatalogue {
        settings: settings::load(&mut *tx).await?,
        categories: catalogue::categories(&mut *tx).await?,
        products: catalogue::all_products(&mut *tx).await?,
        tax_rates: tax_rates(catalogue::taxes(&mut *tx).await?),
    };
    tx.commit().await?;
    Ok(loaded)
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
