//! Outgoing mail: message texts, and the worker that delivers the outbox over SMTP.

pub mod messages;
pub mod worker;
