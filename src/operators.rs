//! Operator accounts: from `SHOP_ADMIN_*`, the CLI, or generated for a fresh demo.

use anyhow::{Context, Result, bail};
use sqlx::PgPool;

use crate::domain::Email;
use crate::security::{password, tokens};
use crate::store::users::{self, NewUser};

pub enum Outcome {
    Created,
    /// The account existed: made an operator if it was not, password left unchanged.
    AlreadyThere,
}

pub async fn ensure(db: &PgPool, email: &str, clear_password: &str) -> Result<Outcome> {
    let email = Email::parse(email).context("operator email")?;
    if let Some(user) = users::find_by_email(db, email.as_str()).await? {
        if !user.is_operator {
            users::make_operator(db, user.id).await?;
        }
        return Ok(Outcome::AlreadyThere);
    }
    if clear_password.chars().count() < 10 {
        bail!("the operator password must have at least 10 characters");
    }
    let hash = password::hash(clear_password.to_owned()).await?;
    let new = NewUser {
        email: &email,
        firstname: "Shop",
        lastname: "Operator",
        password_hash: Some(&hash),
        is_operator: true,
    };
    match users::insert(db, new).await? {
        Some(_) => Ok(Outcome::Created),
        None => Ok(Outcome::AlreadyThere),
    }
}

/// Creates an operator with a generated password and returns the credentials to print once.
pub async fn generate(db: &PgPool, email: &str) -> Result<(String, String)> {
    let password = tokens::generated_password();
    ensure(db, email, &password).await?;
    Ok((email.to_owned(), password))
}
