//! Use cases that span several aggregates: pricing a cart, placing an order, receiving a
//! payment, producing a bill. HTTP handlers and workers call these; they hold the rules
//! about order of operations and transactions.

pub mod buyer_terms;
pub mod coupons;
pub mod email_change;
pub mod enrolments;
pub mod housekeeping;
pub mod ordering;
pub mod payment;
pub mod pricing;
pub mod production;
pub mod seats;
pub mod stripe;
