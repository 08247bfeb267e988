//! Delivers the outbox over SMTP. Several instances may run it: rows are claimed with
//! `FOR UPDATE SKIP LOCKED`, so each message goes out once.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;

use crate::state::AppState;
use crate::store::outbox;

const BATCH: i64 = 20;
const TICK: Duration = Duration::from_secs(10);

pub async fn run(state: AppState, smtp_url: String, mut shutdown: watch::Receiver<bool>) {
    let transport = match AsyncSmtpTransport::<Tokio1Executor>::from_url(&smtp_url) {
        Ok(builder) => builder.build(),
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
        match deliver_batch(&state, &transport, &from).await {
            Ok(n) if n as i64 == BATCH => continue,
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
) -> anyhow::Result<usize> {
    let mut tx = state.db.begin().await?;
    let due = outbox::claim_due(&mut tx, BATCH).await?;
    for message in &due {
        let result = async {
            let email = Message::builder()
                .from(from.clone())
                .to(message.recipient.parse()?)
                .subject(&message.subject)
                .body(message.body.clone())?;
            transport.send(email).await?;
            anyhow::Ok(())
        }
        .await;
        match result {
            Ok(()) => outbox::mark_sent(&mut tx, message.id).await?,
            Err(e) => {
                tracing::warn!(id = message.id, error = %e, "mail not delivered, will retry");
                outbox::mark_failed(&mut tx, message.id, &e.to_string()).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(due.len())
}
