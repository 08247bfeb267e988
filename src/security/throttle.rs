//! Throttling of guesses (passwords, "does this address have an account?"), with the
//! `governor` crate.
//!
//! Password guesses are limited per account *and client* (so an attacker elsewhere cannot
//! lock the owner out of their own device), per client address, and per account across all
//! clients with a wider budget (a slow spread-out guess still stalls). Accounts are keyed
//! by a digest of the normalised address: whatever is typed, a key costs 16 bytes, and a
//! client may create only as many keys as its own budget allows.
//!
//! Limits are per app instance; with several instances behind a load balancer an attacker
//! gets at most N times the budget, still far below what a password guess needs.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};

type AccountKey = [u8; 16];

/// Beyond this many tracked keys the limiter is pruned; if it is still full (a spray from
/// thousands of addresses within a minute), every attempt is refused until keys age out:
/// memory stays bounded, at the price of a minute without logins under such an attack.
const MAX_KEYS: usize = 200_000;

pub struct LoginThrottle {
    per_account_client: DefaultKeyedRateLimiter<(AccountKey, IpAddr)>,
    per_account: DefaultKeyedRateLimiter<AccountKey>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Anonymous checks of whether an address has an account (checkout's details step).
    probes: DefaultKeyedRateLimiter<IpAddr>,
    /// Set-password mails asked for one account, whoever asks: nobody is mail-bombed.
    reset_mails: DefaultKeyedRateLimiter<AccountKey>,
    /// Coupon codes tried on the cart: codes are short, so guessing them is throttled.
    coupon_tries: DefaultKeyedRateLimiter<IpAddr>,
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// Anonymous "does this address have an account" answers per client and minute, unless
/// `SHOP_CHECKOUT_PROBE_LIMIT` says otherwise.
pub const DEFAULT_PROBES_PER_MINUTE: u32 = 30;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle::new(DEFAULT_PROBES_PER_MINUTE)
    }
}

impl LoginThrottle {
    /// `probes_per_minute`: how many checkout details steps a client may submit anonymously
    /// per minute (each tells whether an address has an account), and how many coupon codes
    /// it may try.
    pub fn new(probes_per_minute: u32) -> Self {
        LoginThrottle {
            // 5 attempts in a burst, then one every 12 seconds.
            per_account_client: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(5))),
            // Many clients guessing one account: 60 in a burst, then one a second.
            per_account: DefaultKeyedRateLimiter::keyed(
                Quota::per_second(nz(1)).allow_burst(nz(60)),
            ),
            // A shared office NAT may hold many honest users.
            per_address: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(30))),
            probes: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(probes_per_minute))),
            // 3 in a burst, then one every 20 minutes.
            reset_mails: DefaultKeyedRateLimiter::keyed(Quota::per_hour(nz(3))),
            // The same budget as the probes: a buyer types a few codes, a guesser thousands.
            coupon_tries: DefaultKeyedRateLimiter::keyed(Quota::per_minute(nz(probes_per_minute))),
        }
    }
}

/// The key of an account as typed: trimmed, case-folded, digested.
fn account_key(account: &str) -> AccountKey {
    let digest = Sha256::digest(account.trim().to_lowercase().as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

impl LoginThrottle {
    /// Counts one password attempt on `account` from `address`; `false` when a budget is
    /// exhausted. The client's own budget is checked first, so a client over its budget
    /// creates no account keys.
    pub fn allow(&self, account: &str, address: IpAddr) -> bool {
        if self.per_address.check_key(&address).is_err() {
            return false;
        }
        if self.is_full() {
            self.prune();
            if self.is_full() {
                return false;
            }
        }
        let key = account_key(account);
        self.per_account_client.check_key(&(key, address)).is_ok()
            && self.per_account.check_key(&key).is_ok()
    }

    /// Counts one set-password mail for `account`; `false` when it had its share.
    pub fn allow_reset_mail(&self, account: &str) -> bool {
        self.reset_mails.check_key(&account_key(account)).is_ok()
    }

    /// Counts one "does this address have an account" answer given to `address`.
    pub fn allow_probe(&self, address: IpAddr) -> bool {
        self.probes.check_key(&address).is_ok()
    }

    /// Counts one coupon code tried from `address`.
    pub fn allow_coupon_try(&self, address: IpAddr) -> bool {
        self.coupon_tries.check_key(&address).is_ok()
    }

    fn is_full(&self) -> bool {
        self.per_account_client.len() >= MAX_KEYS || self.per_account.len() >= MAX_KEYS
    }

    /// Drops idle keys so memory stays bounded under a spray of addresses.
    pub fn prune(&self) {
        self.per_account_client.retain_recent();
        self.per_account.retain_recent();
        self.per_address.retain_recent();
        self.probes.retain_recent();
        self.reset_mails.retain_recent();
        self.coupon_tries.retain_recent();
        self.per_account_client.shrink_to_fit();
        self.per_account.shrink_to_fit();
        self.per_address.shrink_to_fit();
        self.probes.shrink_to_fit();
        self.reset_mails.shrink_to_fit();
        self.coupon_tries.shrink_to_fit();
    }

    /// Tracked keys, for tests and metrics.
    pub fn tracked_keys(&self) -> usize {
        self.per_account_client.len() + self.per_account.len() + self.per_address.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_from_one_client_do_not_lock_the_owner_out_elsewhere() {
        let t = LoginThrottle::default();
        let attacker: IpAddr = "10.0.0.1".parse().unwrap();
        let owner: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..5 {
            assert!(t.allow("x@example.org", attacker));
        }
        assert!(
            !t.allow("X@example.org ", attacker),
            "same account, same client"
        );
        assert!(t.allow("x@example.org", owner), "the owner's own device");
        assert!(
            t.allow("y@example.org", attacker),
            "another account from the same client"
        );
    }

    #[test]
    fn a_client_is_limited_across_accounts() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.3".parse().unwrap();
        let allowed = (0..100)
            .filter(|i| t.allow(&format!("u{i}@example.org"), a))
            .count();
        assert_eq!(allowed, 30);
        // Refused attempts created no keys beyond the client's budget.
        assert!(t.tracked_keys() <= 2 * 30 + 1);
    }

    #[test]
    fn keys_cost_the_same_whatever_is_typed() {
        let t = LoginThrottle::default();
        let a: IpAddr = "10.0.0.4".parse().unwrap();
        let huge = "a".repeat(2_000_000);
        assert!(t.allow(&huge, a));
        assert_eq!(account_key(&huge).len(), 16);
    }

    #[test]
    fn many_clients_on_one_account_are_stopped_too() {
        let t = LoginThrottle::default();
        let allowed = (0..100u8)
            .filter(|i| t.allow("x@example.org", IpAddr::from([10, 1, 0, *i])))
            .count();
        assert_eq!(allowed, 60);
    }
}
