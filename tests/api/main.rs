//! Integration tests: the real app over HTTP, a real PostgreSQL, a fresh database per test.

mod helpers;

mod attacks;
mod auth;
mod basics;
mod catalogue;
mod checkout;
mod mail;
mod seats;
mod security;
