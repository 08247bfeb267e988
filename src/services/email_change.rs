//! Changing a customer's sign-in address: one account per address, and the new address
//! proved before the account moves to it. The request mails a single-use, expiring link to
//! the new address and a notice to the current one (whose owner can then react if the
//! request was not theirs); the account, user and customer record together, changes only
//! when the link is used, and only if nobody took the address meanwhile.

use crate::domain::Email;
use crate::i18n::Locale;
use crate::mail::messages;
use crate::state::AppState;
use crate::store::{email_changes, outbox, users::User};

/// At most one mail to an address per this many minutes from a change request: a signed-in
/// customer cannot make the shop send a stream of mail to someone else's address.
pub const REQUEST_EVERY_MINUTES: i32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the address was mailed a few minutes ago")]
    TooSoon,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Starts a change of `user`'s address to `new_email` (already checked free by the caller;
/// checked again at confirmation). Only the latest request's link works.
pub async fn request(
    state: &AppState,
    user: &User,
    new_email: &Email,
    locale: Locale,
    shop: &str,
) -> Result<(), RequestError> {
    let mut tx = state.db.begin().await?;
    if outbox::mailed_recently(&mut *tx, new_email.as_str(), REQUEST_EVERY_MINUTES).await? {
        return Err(RequestError::TooSoon);
    }
    email_changes::void_pending(&mut *tx, user.id).await?;
    let token = email_changes::request(&mut *tx, user.id, new_email).await?;
    let link = format!("{}/account/email/{token}", state.config.base_url);
    let confirm = messages::email_change_confirm(locale, shop, new_email.as_str(), &link);
    outbox::enqueue(
        &mut *tx,
        new_email.as_str(),
        &confirm.subject,
        &confirm.body,
    )
    .await?;
    let notice = messages::email_change_notice(locale, shop, new_email.as_str());
    outbox::enqueue(&mut *tx, &user.email, &notice.subject, &notice.body).await?;
    tx.commit().await?;
    state.mail_queued.notify_one();
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Used, expired, unknown or superseded.
    #[error("the link is no longer valid")]
    Invalid,
    #[error("another account has this address")]
    Taken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Uses a confirmation link: the account's sign-in address and its customer record become
/// the new address; returns it.
pub async fn confirm(state: &AppState, token: &str) -> Result<String, ConfirmError> {
    let mut tx = state.db.begin().await?;
    let pending = email_changes::consume(&mut *tx, token)
        .await?
        .ok_or(ConfirmError::Invalid)?;
    // Taken meanwhile: nothing changes (the transaction is dropped, the link stays refused
    // for as long as the address belongs to someone else).
    if !email_changes::apply(&mut tx, pending.user_id, &pending.new_email).await? {
        return Err(ConfirmError::Taken);
    }
    email_changes::void_pending(&mut *tx, pending.user_id).await?;
    tx.commit().await?;
    Ok(pending.new_email)
}
