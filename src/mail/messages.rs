//! The texts of the mails the shop sends, in the recipient's language.

use crate::http::context::fill;
use crate::i18n::Locale;

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
