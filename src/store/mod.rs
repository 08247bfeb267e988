//! SQL, one module per aggregate. Functions take an executor so callers choose the transaction.

pub mod bills;
pub mod catalogue;
pub mod courses;
pub mod customers;
pub mod lms;
pub mod outbox;
pub mod seats;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod users;
