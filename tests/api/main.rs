//! Integration tests: the real app over HTTP, a real PostgreSQL, a fresh database per test.

mod fake_smtp;
mod helpers;

mod attacks;
mod auth;
mod basics;
mod catalogue;
mod checkout;
mod edges;
mod inputs;
mod mail;
mod scale;
mod seats;
mod security;
