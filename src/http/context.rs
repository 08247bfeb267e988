//! What every page needs: language, the signed-in user (for the navigation), the CSRF token,
//! the shop name, a one-time flash message.

use std::borrow::{Borrow, Cow};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::domain::BillState;
use crate::domain::product::ProductStatus;
use crate::domain::seat::SeatState;
use crate::error::AppError;
use crate::http::csrf::{self, CsrfNonce};
use crate::http::signin::{self, Access};
use crate::i18n::{Locale, fill, formats};
use crate::state::AppState;

pub use crate::http::signin::{SESSION_USER, SessionUser};
const FLASH: &str = "flash";

pub struct Page {
    pub locale: Locale,
    pub user: Option<SessionUser>,
    pub csrf: String,
    pub shop_name: String,
    pub currency: String,
    pub path: String,
    pub flash: Option<String>,
    pub status: u16,
    /// Signed in by a purchase only (account not verified): the navigation offers the
    /// customer space, not the learner's courses.
    pub purchase_only: bool,
    /// This request's CSRF nonce, to re-derive the token after a sign-in.
    pub csrf_nonce: String,
    /// Units in the visitor's cart, shown beside the menu's cart link.
    pub cart_items: u32,
}

impl Page {
    pub fn t(&self, key: &str) -> Cow<'static, str> {
        self.locale.t(key)
    }

    /// A translated text with `%{name}` placeholders filled.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        fill(&self.t(key), args)
    }

    /// A text about `count` things, in the language's plural form for it.
    pub fn tn(&self, key: &str, count: impl Count) -> String {
        self.locale.tn(key, count.count())
    }

    /// Between a label and its value: `Amount: 12` / `Montant : 12`.
    pub fn colon(&self) -> &'static str {
        self.locale.colon()
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    pub fn is_operator(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_operator)
    }

    pub fn signed_in(&self) -> bool {
        self.user.is_some()
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.name.as_str())
    }

    /// An amount stored in minor units, for display.
    /// An amount of a bill, in its currency, as this language writes money.
    pub fn money(&self, minor: impl Borrow<i64>, currency: &str) -> String {
        let amount = crate::domain::Money::from_minor(*minor.borrow());
        formats::money(self.locale, amount, currency)
    }

    /// A catalogue amount, in the shop's currency.
    pub fn price(&self, amount: &crate::domain::Money) -> String {
        formats::money(self.locale, *amount, &self.currency)
    }

    /// A tax rate stored in basis points, as a percentage (`20`, `5.5`).
    pub fn rate(&self, basis_points: &i32) -> String {
        u32::try_from(*basis_points)
            .ok()
            .and_then(crate::domain::TaxRate::from_basis_points)
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    pub fn bill_state(&self, state: &BillState) -> String {
        self.t(&format!("bill.state.{state}")).into_owned()
    }

    pub fn seat_state(&self, state: &SeatState) -> String {
        self.t(&format!("seat.state.{state}")).into_owned()
    }

    pub fn product_status(&self, status: &ProductStatus) -> String {
        self.t(&format!("status.{status}")).into_owned()
    }

    /// A moment, as this language writes a date and a time (UTC, to the minute).
    pub fn datetime(&self, t: &time::OffsetDateTime) -> String {
        formats::datetime(self.locale, *t)
    }

    /// The day of a moment, as this language writes dates.
    pub fn date(&self, t: &time::OffsetDateTime) -> String {
        formats::date(self.locale, t.date())
    }

    /// A country's name in this language, from its ISO code.
    pub fn country(&self, code: &str) -> String {
        formats::country_name(self.locale, code)
    }

    /// Every country, `(code, name)`, in this language's alphabetical order.
    pub fn countries(&self) -> &'static [(&'static str, String)] {
        formats::countries(self.locale)
    }

    /// An end date, or "N.C." (non communiquée) when there is none.
    pub fn end_date(&self, t: &Option<time::OffsetDateTime>) -> String {
        t.as_ref()
            .map_or_else(|| "N.C.".to_owned(), |t| self.date(t))
    }

    /// After a sign-in during this request: the navigation and the forms' CSRF token follow
    /// the new session.
    pub fn signed_in_as(&mut self, su: SessionUser, csrf_key: &[u8]) {
        self.csrf = csrf::token(csrf_key, &self.csrf_nonce, Some(&su.csrf_salt));
        self.purchase_only = su.purchase.is_some();
        self.user = Some(su);
    }

    pub fn current(&self, prefix: &str) -> bool {
        self.path == prefix || self.path.starts_with(&format!("{prefix}/"))
    }
}

/// Sets a message shown once on the next page.
pub async fn flash(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session.insert(FLASH, message.into()).await?;
    Ok(())
}

/// The pending flash message, removed once read. `remove` marks the session modified (a
/// write to the store) even when the key is absent, so it is only called when there is one.
async fn take_flash(session: &Session) -> Result<Option<String>, AppError> {
    if session.get::<String>(FLASH).await?.is_none() {
        return Ok(None);
    }
    Ok(session.remove::<String>(FLASH).await?)
}

impl FromRequestParts<AppState> for Page {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let locale = Locale::from_headers(&parts.headers);
        let signed = signin::resolve(parts, state).await?;
        let nonce = parts.extensions.get::<CsrfNonce>().map(|n| n.0.clone());
        let salt = signed.as_ref().map(|s| s.session.csrf_salt.as_str());
        let csrf = nonce
            .as_deref()
            .map(|n| csrf::token(&state.csrf_key, n, salt))
            .unwrap_or_default();
        let (flash, cart_items) = match parts.extensions.get::<Session>() {
            Some(session) => (
                take_flash(session).await?,
                crate::http::cart::load(session).await?.units(),
            ),
            None => (None, 0),
        };
        let purchase_only = signed
            .as_ref()
            .is_some_and(|s| matches!(s.access, Access::Purchase { .. }));
        let user = signed.map(|s| s.session);
        let catalogue = state.catalogue.get(&state.db).await?;
        Ok(Page {
            locale,
            user,
            csrf,
            shop_name: catalogue.settings.shop_name.clone(),
            currency: catalogue.settings.currency.clone(),
            path: parts.uri.path().to_owned(),
            flash,
            status: 200,
            purchase_only,
            csrf_nonce: nonce.unwrap_or_default(),
            cart_items,
        })
    }
}

/// A number of things for `Page::tn`, however a template or handler holds it.
pub trait Count {
    fn count(&self) -> u64;
}

macro_rules! count_for {
    ($($t:ty),*) => {$(
        impl Count for $t {
            fn count(&self) -> u64 {
                u64::try_from(*self).unwrap_or(0)
            }
        }
    )*};
}
count_for!(u32, u64, usize, i32, i64);

impl<T: Count + ?Sized> Count for &T {
    fn count(&self) -> u64 {
        (**self).count()
    }
}
