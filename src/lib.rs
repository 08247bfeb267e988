//! lms-shop: a server-rendered storefront that sells training to organisations.

rust_i18n::i18n!("locales", fallback = "en");

pub mod backup;
pub mod cache;
pub mod config;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod embedded_pg;
pub mod error;
pub mod fulfilment;
pub mod http;
pub mod i18n;
pub mod mail;
pub mod moodle;
pub mod operators;
pub mod scale_data;
pub mod security;
pub mod services;
pub mod startup;
pub mod state;
pub mod store;
pub mod stripe;
