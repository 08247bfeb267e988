//! Delivers the outbox over SMTP. Several instances may run it: each message is claimed with
//! `FOR UPDATE SKIP LOCKED` under a lease, in its own commit, and recorded as sent in its own
//! commit as soon as the SMTP server accepted it. A crash can resend at most the message in
//! flight, and that one carries the same `Message-ID` so receivers can tell.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::state::AppState;
use crate::store::outbox;

/// Messages sent in a row before the worker looks at the shutdown signal again.
const BATCH: usize = 20;
const TICK: Duration = Duration::from_secs(10);

pub async fn run(state: AppState, smtp_url: String, mut shutdown: watch::Receiver<bool>) {
    let lease = state.config.mail_lease_seconds;
    // A send gives up well before its lease ends, so two workers never hold one message.
    let send_timeout = Duration::from_secs(u64::from(lease / 2).max(1));
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp_url) {
        Ok(builder) => builder.timeout(Some(send_timeout)).build(),
        Err(e) => {
            tracing::error!(error = %e, "SMTP_URL is not usable; mail stays in the outbox (see /admin/mail)");
            return;
        }
    };
    let from: Mailbox = match state.config.mail_from.parse() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "SHOP_MAIL_FROM is not a mailbox");
            return;
        }
    };
    loop {
        match deliver_batch(&state, &transport, &from, send_timeout).await {
            Ok(n) if n == BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "mail delivery round failed"),
        }
        tokio::select! {
            _ = state.mail_queued.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn deliver_batch(
    state: &AppState,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    send_timeout: Duration,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    while sent < BATCH {
        let Some(message) = outbox::claim_next(&state.db, state.config.mail_lease_seconds).await?
        else {
            break;
        };
        // The whole send within half the lease (lettre's timeout is per SMTP command): a
        // slow server cannot keep a message past its lease and get it sent twice.
        let outcome = tokio::time::timeout(send_timeout, send(transport, from, &message))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("SMTP send timed out")));
        match outcome {
            Ok(()) => outbox::mark_sent(&state.db, message.id).await?,
            Err(e) => {
                tracing::warn!(id = message.id, error = %format!("{e:#}"), "mail not delivered, will retry");
                outbox::mark_failed(&state.db, message.id, &format!("{e:#}")).await?;
            }
        }
        sent += 1;
    }
    Ok(sent)
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    message: &outbox::Message,
) -> anyhow::Result<()> {
    let email = Message::builder()
        .message_id(Some(message_id(message, from)))
        .from(from.clone())
        .to(message.recipient.parse()?)
        .subject(&message.subject)
        .body(message.body.clone())?;
    transport.send(email).await?;
    Ok(())
}

/// The same for every delivery attempt of one outbox row: a message resent after a crash is
/// recognisably the same message.
pub fn message_id(message: &outbox::Message, from: &Mailbox) -> String {
    format!(
        "<outbox.{}.{}@{}>",
        message.id,
        message.created_at.unix_timestamp(),
        from.email.domain()
    )
}
