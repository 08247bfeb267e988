//! Issue 11, first part: seller identity and bank details, invoice numbers, B2B buyers and
//! the tax rules, sales conditions.

use lms_shop::services::payment;

use crate::helpers::*;

const IBAN: &str = "FR76 3000 6000 0112 3456 7890 189";

/// The settings form as an operator posts it, with the seller's identity.
fn settings_form(iban: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("shop_name", "Formations Sûreté"),
        ("currency", "EUR"),
        ("paymodes", "test"),
        ("paymodes", "transfer"),
        ("seller_legal_name", "Sûreté Formation SAS"),
        ("seller_address", "12 rue des Pistes\n95700 Roissy"),
        ("seller_country", "FR"),
        ("seller_company_number", "RCS Pontoise 123 456 789"),
        ("seller_vat_number", "FR40303265045"),
        ("invoice_prefix", "F"),
        ("bank_holder", "Sûreté Formation SAS"),
        ("bank_iban", iban),
        ("bank_bic", "BNPAFRPP"),
    ]
}

/// The seat catalogue, a 20 % French VAT on its pack, and the seller's identity.
pub(crate) async fn b2b_shop(app: &TestApp) {
    app.seat_catalogue().await;
    app.login_operator().await;
    app.french_vat().await;
    app.exec("UPDATE products SET tax_code = 'FR20' WHERE code = 'X-PACK5'")
        .await;
    let saved = app.post("/admin/settings", &settings_form(IBAN)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    app.state.catalogue.invalidate();
}

pub(crate) fn business_form<'a>(
    email: &'a str,
    organisation: &'a str,
    country: &'a str,
    vat: &'a str,
) -> Vec<(&'static str, &'a str)> {
    vec![
        ("firstname", "Greta"),
        ("lastname", "Berger"),
        ("email", email),
        ("organisation", organisation),
        ("address", "Hauptstraße 1"),
        ("zip", "10115"),
        ("city", "Berlin"),
        ("country", country),
        ("vat_number", vat),
        ("po_reference", "PO-4711"),
        ("phone", "+49 30 1234567"),
    ]
}

/// Cart, customer step (must be accepted) and order for a business buyer.
pub(crate) async fn business_order(
    app: &TestApp,
    buyer: &reqwest::Client,
    form: &[(&str, &str)],
    paymode: &str,
) -> Page {
    app.add_to_cart(buyer, "X-PACK5", "1").await;
    let details = app.post_with(buyer, "/checkout/customer", form).await;
    assert_eq!(details.status, 303, "customer step: {}", details.body);
    let review = app.get_with(buyer, "/checkout/order").await;
    assert_eq!(review.status, 200);
    app.post_with(buyer, "/checkout/order", &[("paymode", paymode)])
        .await
}

#[tokio::test]
async fn settings_keep_the_sellers_identity_and_refuse_a_mistyped_iban_or_bic() {
    let app = spawn_app().await;
    app.login_operator().await;
    // One digit changed: the mod-97 check catches it.
    let typo = app
        .post(
            "/admin/settings",
            &settings_form("FR76 3000 6000 0112 3456 7890 198"),
        )
        .await;
    assert_eq!(typo.status, 422);
    assert!(
        typo.body.contains("check digits do not match"),
        "{}",
        typo.body
    );
    let mut bad_bic = settings_form(IBAN);
    bad_bic.retain(|(k, _)| *k != "bank_bic");
    bad_bic.push(("bank_bic", "BNP1FRPP"));
    assert_eq!(app.post("/admin/settings", &bad_bic).await.status, 422);
    assert_eq!(
        app.count("SELECT count(*) FROM settings WHERE bank_iban <> ''")
            .await,
        0
    );

    assert_eq!(
        app.post("/admin/settings", &settings_form(IBAN))
            .await
            .status,
        303
    );
    let (iban, bic, vat): (String, String, String) =
        sqlx::query_as("SELECT bank_iban, bank_bic, seller_vat_number FROM settings")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(iban, "FR7630006000011234567890189");
    assert_eq!(bic, "BNPAFRPP");
    assert_eq!(vat, "FR40303265045");
    let page = app.get("/admin/settings").await;
    assert!(page.body.contains("Sûreté Formation SAS"));
}

#[tokio::test]
async fn a_transfer_order_shows_the_bank_details_on_the_done_page_the_mail_and_the_pro_forma() {
    let app = spawn_app().await;
    b2b_shop(&app).await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "transfer@example.org", "transfer")
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let done_url = placed.location().unwrap().to_owned();
    let done = app.get_with(&buyer, &done_url).await;
    assert_eq!(done.status, 200);
    for expected in [
        "FR76 3000 6000 0112 3456 7890 189",
        "BNPAFRPP",
        "Sûreté Formation SAS",
    ] {
        assert!(done.body.contains(expected), "done page lacks {expected}");
    }
    let mails = app.mails_to("transfer@example.org").await;
    let (_, body) = mails
        .iter()
        .find(|(s, _)| s.contains("awaits your transfer"))
        .expect("transfer mail");
    assert!(
        body.contains("IBAN: FR76 3000 6000 0112 3456 7890 189"),
        "{body}"
    );
    assert!(body.contains("BIC: BNPAFRPP"), "{body}");
    assert!(body.contains("12 rue des Pistes"), "{body}");

    // The document of an order awaiting its transfer is a pro-forma, never an invoice.
    let doc = app.get_with(&buyer, &format!("{done_url}/document")).await;
    assert_eq!(doc.status, 200);
    assert!(
        doc.body.contains("<h1 id=\"document-title\">Pro-forma B"),
        "{}",
        doc.body
    );
    assert!(!doc.body.contains("Invoice"));
    assert!(doc.body.contains("FR76 3000 6000 0112 3456 7890 189"));
    assert!(doc.body.contains("RCS Pontoise 123 456 789"));
    assert!(doc.body.contains("FR40303265045"));
    // Nobody else reads it.
    let stranger = app
        .get_with(&client(), &format!("{done_url}/document"))
        .await;
    assert_eq!(stranger.status, 404);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE invoice_number IS NOT NULL")
            .await,
        0
    );

    // The operator records the transfer: now it is an invoice, under its number.
    let id = app.count("SELECT id FROM bills").await;
    let paid = app.post(&format!("/admin/bills/{id}/paid"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let doc = app.get_with(&buyer, &format!("{done_url}/document")).await;
    assert!(
        doc.body.contains("<h1 id=\"document-title\">Invoice F"),
        "{}",
        doc.body
    );
    assert!(doc.body.contains("Bank transfer"));
}

#[tokio::test]
async fn twenty_concurrent_payments_take_twenty_consecutive_invoice_numbers() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let mut notifications = Vec::new();
    for i in 0..20 {
        let buyer = client();
        let placed = app
            .order(
                &buyer,
                "X-PACK5",
                "1",
                &format!("payer{i}@example.org"),
                "test",
            )
            .await;
        assert_eq!(placed.status, 303, "{}", placed.body);
        let public_id = placed
            .location()
            .unwrap()
            .trim_start_matches("/payment/test/")
            .to_owned();
        let total: i64 = sqlx::query_scalar("SELECT total FROM bills WHERE public_id = $1")
            .bind(&public_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
        notifications.push(payment::notification(
            &app.state.gateway_key,
            &public_id,
            total,
            "EUR",
            true,
        ));
    }
    let mut calls = Vec::new();
    for (signature, body) in notifications {
        let url = app.url("/payment/test/notify");
        calls.push(tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("x-signature", signature)
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for call in calls {
        assert_eq!(call.await.unwrap(), 200);
    }
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT invoice_number FROM bills WHERE invoice_number IS NOT NULL ORDER BY invoice_number",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    let year: i32 = sqlx::query_scalar("SELECT EXTRACT(YEAR FROM now() AT TIME ZONE 'UTC')::INT")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let expected: Vec<String> = (1..=20).map(|n| format!("F{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn a_declined_bill_has_no_invoice_number_and_is_not_called_an_invoice() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "declined@example.org", "test")
        .await;
    let gateway = placed.location().unwrap().to_owned();
    let public_id = gateway.trim_start_matches("/payment/test/").to_owned();
    let declined = app
        .post_with(&buyer, &format!("{gateway}/decline"), &[])
        .await;
    assert_eq!(declined.status, 303);
    assert_eq!(app.bill_state(&public_id).await, "REFUSED");
    let doc = app
        .get_with(&buyer, &format!("/checkout/done/{public_id}/document"))
        .await;
    assert_eq!(doc.status, 200);
    assert!(
        doc.body.contains("<h1 id=\"document-title\">Order B"),
        "{}",
        doc.body
    );
    assert!(!doc.body.contains("Invoice"));

    // The next paid bill takes the year's first number: the declined one used none.
    let paid = app
        .buy_and_pay(&client(), "X-PACK5", "1", "payer@example.org")
        .await;
    let numbers: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT public_id, invoice_number FROM bills ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(numbers[0], (public_id, None));
    assert_eq!(numbers[1].0, paid);
    assert!(
        numbers[1]
            .1
            .as_deref()
            .is_some_and(|n| n.ends_with("-000001")),
        "{numbers:?}"
    );
}

#[tokio::test]
async fn a_german_business_with_a_vat_number_pays_no_vat_with_the_mention_a_french_one_pays_20_percent()
 {
    let app = spawn_app().await;
    b2b_shop(&app).await;

    let beta = client();
    let placed = business_order(
        &app,
        &beta,
        &business_form("einkauf@beta.example", "Beta GmbH", "DE", "DE 123 456 789"),
        "test",
    )
    .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let (treatment, tax, total, vat, po): (String, i64, i64, String, String) = sqlx::query_as(
        "SELECT tax_treatment, tax, total, buyer_vat_number, po_reference FROM bills ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (treatment.as_str(), tax, total),
        ("reverse_charge", 0, 120_000)
    );
    assert_eq!((vat.as_str(), po.as_str()), ("DE123456789", "PO-4711"));

    // Paid, the invoice carries the number, the buyer's VAT number and the legal mention.
    let public_id = placed
        .location()
        .unwrap()
        .trim_start_matches("/payment/test/")
        .to_owned();
    let paid = app
        .post_with(&beta, &format!("/payment/test/{public_id}/pay"), &[])
        .await;
    assert_eq!(paid.status, 303);
    let doc = app
        .get_with(&beta, &format!("/checkout/done/{public_id}/document"))
        .await;
    assert!(
        doc.body.contains("<h1 id=\"document-title\">Invoice F"),
        "{}",
        doc.body
    );
    assert!(
        doc.body
            .contains("Autoliquidation / Reverse charge – Article 196 of Directive 2006/112/EC")
    );
    assert!(doc.body.contains("DE123456789"));
    assert!(doc.body.contains("PO-4711"));
    assert!(doc.body.contains("Paid by"));
    // The operator sees the invoice number and the buyer's references on the bill.
    let (id, number): (i64, String) =
        sqlx::query_as("SELECT id, invoice_number FROM bills WHERE public_id = $1")
            .bind(&public_id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let admin = app.get(&format!("/admin/bills/{id}")).await;
    assert!(
        admin
            .body
            .contains(&format!("<span id=\"invoice-number\">{number}</span>"))
    );
    assert!(admin.body.contains("PO-4711") && admin.body.contains("DE123456789"));

    let french = client();
    let placed = business_order(
        &app,
        &french,
        &business_form("achats@alpha.example", "Alpha SARL", "FR", "FR40303265045"),
        "test",
    )
    .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let (treatment, tax, total): (String, i64, i64) =
        sqlx::query_as("SELECT tax_treatment, tax, total FROM bills ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (treatment.as_str(), tax, total),
        ("standard", 24_000, 144_000)
    );
}

#[tokio::test]
async fn the_review_shows_the_reverse_charge_and_outside_the_eu_there_is_no_vat() {
    let app = spawn_app().await;
    b2b_shop(&app).await;
    let beta = client();
    app.add_to_cart(&beta, "X-PACK5", "1").await;
    let form = business_form("einkauf@beta.example", "Beta GmbH", "DE", "DE123456789");
    assert_eq!(
        app.post_with(&beta, "/checkout/customer", &form)
            .await
            .status,
        303
    );
    let review = app.get_with(&beta, "/checkout/order").await;
    assert!(review.body.contains("Article 196 of Directive 2006/112/EC"));
    assert!(review.body.contains("DE123456789"));

    let swiss = client();
    app.add_to_cart(&swiss, "X-PACK5", "1").await;
    let form = business_form("kauf@gamma.example", "Gamma AG", "CH", "");
    assert_eq!(
        app.post_with(&swiss, "/checkout/customer", &form)
            .await
            .status,
        303
    );
    let review = app.get_with(&swiss, "/checkout/order").await;
    assert!(review.body.contains("buyer outside the European Union"));
    assert!(!review.body.contains("Article 196"));
}

#[tokio::test]
async fn a_malformed_vat_number_or_one_of_another_country_is_the_fields_error() {
    let app = spawn_app().await;
    b2b_shop(&app).await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    for (vat, message) in [
        ("DE12345", "does not have its country"),
        ("FR40303265045", "must be one of the invoiced country"),
    ] {
        let form = business_form("einkauf@beta.example", "Beta GmbH", "DE", vat);
        let page = app.post_with(&buyer, "/checkout/customer", &form).await;
        assert_eq!(page.status, 422, "{vat}");
        assert!(page.body.contains(message), "{vat}");
        assert!(page.body.contains("aria-describedby=\"vat_number-error\""));
    }
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}

#[tokio::test]
async fn without_sales_conditions_there_is_no_box_and_with_them_the_version_is_recorded() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.cart_and_details(&buyer, "X-PACK5", "1", "noterms@example.org")
        .await;
    let review = app.get_with(&buyer, "/checkout/order").await;
    assert!(!review.body.contains("accept_terms"));
    let placed = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "test")])
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE terms_version = ''")
            .await,
        1
    );

    app.exec("UPDATE settings SET sales_conditions = 'CGV 2026: payment within 30 days.'")
        .await;
    app.state.catalogue.invalidate();
    let buyer = client();
    app.cart_and_details(&buyer, "X-PACK5", "1", "terms@example.org")
        .await;
    let review = app.get_with(&buyer, "/checkout/order").await;
    assert!(review.body.contains("CGV 2026: payment within 30 days."));
    assert!(review.body.contains("name=\"accept_terms\""));
    let refused = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "test")])
        .await;
    assert_eq!(refused.status, 422);
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "test")],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let version: String =
        sqlx::query_scalar("SELECT terms_version FROM bills ORDER BY id DESC LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        version.starts_with("sha256:") && version.len() == 23,
        "{version}"
    );
}

#[tokio::test]
async fn the_confirmation_mail_lists_the_lines_the_tax_breakdown_and_links_the_invoice() {
    let app = spawn_app().await;
    b2b_shop(&app).await;
    let public_id = app
        .buy_and_pay(&client(), "X-PACK5", "2", "confirm@example.org")
        .await;
    let mails = app.mails_to("confirm@example.org").await;
    let (_, body) = mails
        .iter()
        .find(|(s, _)| s.contains("is delivered"))
        .expect("confirmation mail");
    for expected in [
        "[X-PACK5] Pack of 5 seats × 2: €2,400.00",
        "Total excl. tax: €2,400.00",
        "Tax 20 %: €480.00",
        "Total incl. tax: €2,880.00",
        &format!("/customer/bills/{public_id}"),
    ] {
        assert!(body.contains(expected), "{expected} not in {body}");
    }
}
