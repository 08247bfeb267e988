//! Cryptographic building blocks: password hashing, random tokens, login throttling.

pub mod password;
pub mod signature;
pub mod throttle;
pub mod tokens;
