//! Login throttling, per account and per client address, with the `governor` crate.
//!
//! Limits are per app instance; with several instances behind a load balancer an attacker
//! gets at most N times the budget, still far below what a password guess needs.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        let nz = |n| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        LoginThrottle {
            // 5 attempts in a burst, then one every 12 seconds.
            per_account: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(5))),
            // A shared office NAT may hold many honest users.
            per_address: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(30))),
        }
    }
}

impl LoginThrottle {
    /// Counts one attempt; `false` when either budget is exhausted.
    pub fn allow(&self, account: &str, address: IpAddr) -> bool {
        let account_ok = self.per_account.check_key(&account.to_lowercase()).is_ok();
        let address_ok = self.per_address.check_key(&address).is_ok();
        account_ok && address_ok
    }

    /// Drops idle keys so memory stays bounded under a spray of addresses.
    pub fn prune(&self) {
        self.per_account.retain_recent();
        self.per_address.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_burst_per_account_and_per_address() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..5 {
            assert!(t.allow("x@example.org", a));
        }
        assert!(!t.allow("X@example.org", b), "same account from elsewhere");
        assert!(
            t.allow("y@example.org", a),
            "another account from the same address"
        );
    }
}
