//! Integration tests: the real app over HTTP, a real PostgreSQL, a fresh database per test.

mod helpers;

mod auth;
mod basics;
mod catalogue;
mod checkout;
mod inputs;
mod mail;
mod seats;
mod security;
