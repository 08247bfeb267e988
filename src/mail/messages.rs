//! The texts of the mails the shop sends, in the recipient's language.

use crate::i18n::Locale;
use crate::i18n::fill;
use std::collections::BTreeMap;

use crate::domain::tax_rules::{REVERSE_CHARGE_MENTION, TaxTreatment};
use crate::domain::{Money, TaxRate};
use crate::i18n::formats;
use crate::store::bills::{Bill, Item};
use crate::store::settings::Settings;

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

pub fn transfer_instructions(
    locale: Locale,
    shop: &str,
    bill: &str,
    total: &str,
    settings: &Settings,
) -> Message {
    let bank = bank_details(locale, settings);
    compose(
        locale,
        "transfer",
        &[
            ("shop", shop),
            ("bill", bill),
            ("total", total),
            ("bank", &bank),
        ],
    )
}

/// Where to send a transfer, one labelled line each, then who the seller is.
pub fn bank_details(locale: Locale, s: &Settings) -> String {
    if !s.has_bank_details() {
        return locale.t("bank.missing").into_owned();
    }
    let colon = locale.colon();
    let mut lines = vec![
        format!("{}{colon} {}", locale.t("bank.holder"), s.bank_holder),
        format!("{}{colon} {}", locale.t("bank.iban"), s.iban_display()),
    ];
    if !s.bank_bic.is_empty() {
        lines.push(format!("{}{colon} {}", locale.t("bank.bic"), s.bank_bic));
    }
    if !s.seller_legal_name.is_empty() {
        lines.push(String::new());
        lines.push(s.seller_legal_name.clone());
        lines.extend(s.seller_address.lines().map(str::to_owned));
    }
    lines.join("\n")
}

#[allow(clippy::too_many_arguments)]
pub fn order_complete(
    locale: Locale,
    shop: &str,
    bill: &str,
    total: &str,
    produced: &str,
    space: &str,
    summary: &str,
    invoice: &str,
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
            ("summary", summary),
            ("invoice", invoice),
        ],
    )
}

/// To operators: a card refund failed after Stripe accepted it.
pub fn refund_failed(
    locale: Locale,
    shop: &str,
    bill: &str,
    credit_note: &str,
    amount: &str,
    reason: &str,
    link: &str,
) -> Message {
    compose(
        locale,
        "refund_failed",
        &[
            ("shop", shop),
            ("bill", bill),
            ("credit_note", credit_note),
            ("amount", amount),
            ("reason", reason),
            ("link", link),
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

/// To a learner whose place the organisation released (they had not opened the course).
pub fn seat_released(locale: Locale, shop: &str, name: &str, course: &str) -> Message {
    compose(
        locale,
        "released",
        &[("shop", shop), ("name", name), ("course", course)],
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

/// The order's lines and tax breakdown as the confirmation mail lists them: one line per
/// product, then the totals, one tax line per rate, and the tax mention if any.
pub fn order_summary(locale: Locale, bill: &Bill, items: &[Item]) -> String {
    let colon = locale.colon();
    let money = |minor: i64| formats::money(locale, Money::from_minor(minor), &bill.currency);
    let mut lines: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "[{}] {} × {}{colon} {}",
                i.code,
                i.name,
                i.quantity,
                money(i.gross())
            )
        })
        .collect();
    lines.push(String::new());
    let discount: i64 = items.iter().map(|i| i.discount).sum();
    if !bill.coupon_code.is_empty() {
        lines.push(format!(
            "{}{colon} −{}",
            crate::i18n::fill(&locale.t("coupon.line"), &[("code", &bill.coupon_code)]),
            money(discount)
        ));
    }
    lines.push(format!(
        "{}{colon} {}",
        locale.t("cart.untaxed"),
        money(bill.untaxed)
    ));
    let mut taxes: BTreeMap<i32, i64> = BTreeMap::new();
    for i in items {
        *taxes.entry(i.tax_rate_bp).or_default() += i.tax;
    }
    for (bp, tax) in taxes {
        let rate = u32::try_from(bp)
            .ok()
            .and_then(TaxRate::from_basis_points)
            .map(|r| r.to_string())
            .unwrap_or_default();
        lines.push(format!(
            "{} {rate} %{colon} {}",
            locale.t("admin.tax"),
            money(tax)
        ));
    }
    lines.push(format!(
        "{}{colon} {}",
        locale.t("cart.total"),
        money(bill.total)
    ));
    match bill.tax_treatment {
        TaxTreatment::Standard => {}
        TaxTreatment::ReverseCharge => lines.push(REVERSE_CHARGE_MENTION.to_owned()),
        TaxTreatment::Export => lines.push(locale.t("checkout.export_mention").into_owned()),
    }
    lines.join("\n")
}

/// To the customer: a refund was made, with its credit note.
#[allow(clippy::too_many_arguments)]
pub fn refund(
    locale: Locale,
    shop: &str,
    bill: &str,
    credit_note: &str,
    total: &str,
    lines: &str,
    how: &str,
    link: &str,
) -> Message {
    compose(
        locale,
        "refund",
        &[
            ("shop", shop),
            ("bill", bill),
            ("credit_note", credit_note),
            ("total", total),
            ("lines", lines),
            ("how", how),
            ("link", link),
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
