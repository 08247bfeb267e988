//! Integration tests: the real app over HTTP, a real PostgreSQL, a fresh database per test.

mod fake_moodle;
mod fake_smtp;
mod fake_stripe;
mod helpers;
#[path = "../support/real_moodle.rs"]
mod real_moodle_site;

mod attacks;
mod auth;
mod b2b;
mod basics;
mod catalogue;
mod checkout;
mod coupons;
mod customer_space;
mod edges;
mod email_change;
mod inputs;
mod mail;
mod moodle;
mod pages;
mod pdf;
mod real_moodle;
mod refunds;
mod scale;
mod seats;
mod security;
mod stripe;
