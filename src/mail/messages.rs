//! The texts of the mails the shop sends, in the recipient's language.

use crate::i18n::Locale;
use crate::i18n::fill;

pub struct Message {
    pub subject: String,
    pub body: String,
}

fn compose(locale: Locale, key: &str, args: &[(&str, &str)]) -> Message {
    Message {
        subject: fill(&locale.t(&format!("mail.{key}.subject")), args),
        body: fill(&locale.t(&format!("mail.{key}.body")), args),
    }
}

pub fn password_reset(locale: Locale, shop: &str, link: &str) -> Message {
    compose(locale, "reset", &[("shop", shop), ("link", link)])
}

pub fn welcome(locale: Locale, shop: &str, name: &str, link: &str) -> Message {
    compose(
        locale,
        "welcome",
        &[("shop", shop), ("name", name), ("link", link)],
    )
}

pub fn transfer_instructions(locale: Locale, shop: &str, bill: &str, total: &str) -> Message {
    compose(
        locale,
        "transfer",
        &[("shop", shop), ("bill", bill), ("total", total)],
    )
}

pub fn order_complete(
    locale: Locale,
    shop: &str,
    bill: &str,
    total: &str,
    produced: &str,
    space: &str,
) -> Message {
    compose(
        locale,
        "complete",
        &[
            ("shop", shop),
            ("bill", bill),
            ("total", total),
            ("produced", produced),
            ("space", space),
        ],
    )
}

pub fn sale_notification(
    locale: Locale,
    shop: &str,
    bill: &str,
    total: &str,
    customer: &str,
    produced: &str,
) -> Message {
    compose(
        locale,
        "sale",
        &[
            ("shop", shop),
            ("bill", bill),
            ("total", total),
            ("customer", customer),
            ("produced", produced),
        ],
    )
}

pub fn seat_assigned(locale: Locale, shop: &str, name: &str, course: &str, link: &str) -> Message {
    compose(
        locale,
        "assigned",
        &[
            ("shop", shop),
            ("name", name),
            ("course", course),
            ("link", link),
        ],
    )
}

/// With Moodle: the course is in Moodle, and a new learner's password comes from Moodle's
/// own mail (or its forgotten-password page), not from a shop link.
pub fn seat_assigned_moodle(
    locale: Locale,
    shop: &str,
    name: &str,
    course: &str,
    link: &str,
    forgot: &str,
) -> Message {
    compose(
        locale,
        "assigned_moodle",
        &[
            ("shop", shop),
            ("name", name),
            ("course", course),
            ("link", link),
            ("forgot", forgot),
        ],
    )
}

/// To the new address of an account: the link that moves the account to it.
pub fn email_change_confirm(locale: Locale, shop: &str, email: &str, link: &str) -> Message {
    compose(
        locale,
        "email_confirm",
        &[("shop", shop), ("email", email), ("link", link)],
    )
}

/// To the current address of an account: a move to `email` was asked.
pub fn email_change_notice(locale: Locale, shop: &str, email: &str) -> Message {
    compose(locale, "email_notice", &[("shop", shop), ("email", email)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_their_link_in_both_languages() {
        for locale in Locale::ALL {
            let m = password_reset(locale, "Shop", "http://x/password/set/abc");
            assert!(m.body.contains("http://x/password/set/abc"));
            assert!(!m.subject.contains("%{"));
        }
    }
}
