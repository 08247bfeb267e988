//! Issue 11, PDF documents: every bill document (pro-forma, invoice, order) downloads as a
//! PDF for exactly those who may read its HTML page. Each PDF is parsed back (lopdf) and
//! its text checked.

use crate::b2b::{b2b_shop, business_form, business_order};
use crate::helpers::*;

struct Pdf {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

async fn get_pdf(app: &TestApp, client: &reqwest::Client, path: &str) -> Pdf {
    let r = client.get(app.url(path)).send().await.unwrap();
    Pdf {
        status: r.status().as_u16(),
        headers: r.headers().clone(),
        bytes: r.bytes().await.unwrap().to_vec(),
    }
}

impl Pdf {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every page's text as a viewer extracts it, whitespace runs (CLDR writes narrow
    /// no-break spaces in amounts) made one plain space.
    fn text(&self) -> (usize, String) {
        assert_eq!(self.status, 200);
        assert_eq!(self.header("content-type"), "application/pdf");
        assert_eq!(self.header("cache-control"), "private, no-store");
        assert!(self.bytes.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&self.bytes).expect("a PDF lopdf reads");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        let text = doc.extract_text(&pages).expect("text");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        (pages.len(), text)
    }
}

/// The text of the PDF at `path`, as `client` downloads it (for other areas' tests).
pub(crate) async fn pdf_text(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    get_pdf(app, client, path).await.text().1
}

fn assert_has(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "the PDF lacks {e:?}: {text}");
    }
}

fn public_id(placed: &Page) -> String {
    let to = placed.location().expect("redirect");
    to.trim_start_matches("/payment/test/")
        .trim_start_matches("/checkout/done/")
        .to_owned()
}

#[tokio::test]
async fn a_transfer_order_downloads_as_a_french_pro_forma_then_as_its_invoice() {
    let app = spawn_app().await;
    b2b_shop(&app).await;
    let buyer = client();
    assert_eq!(
        app.get_with(&buyer, "/lang/fr?next=/shop").await.status,
        303
    );
    let placed = app
        .order(&buyer, "X-PACK5", "1", "virement@example.org", "transfer")
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let id = public_id(&placed);

    // The HTML page links to its PDF.
    let page = app
        .get_with(&buyer, &format!("/checkout/done/{id}/document"))
        .await;
    let href = format!("/checkout/done/{id}/document.pdf");
    assert!(
        page.body.contains(&format!("href=\"{href}\"")),
        "{}",
        page.body
    );

    let pro_forma = get_pdf(&app, &buyer, &href).await;
    let (pages, text) = pro_forma.text();
    assert_eq!(pages, 1);
    let reference = app.count("SELECT number FROM bills").await;
    let reference = format!("B{reference:010}");
    assert_eq!(
        pro_forma.header("content-disposition"),
        format!("attachment; filename=\"{reference}.pdf\"")
    );
    assert_has(
        &text,
        &[
            &format!("Pro forma {reference}"),
            "Sûreté Formation SAS",
            "12 rue des Pistes",
            "RCS Pontoise 123 456 789",
            "FR40303265045",
            "Coordonnées pour le virement",
            "IBAN : FR76 3000 6000 0112 3456 7890 189",
            "BIC : BNPAFRPP",
            "Référence à indiquer : ",
            "TVA 20 %",
            "Total HT 1 200,00 €",
            "Total TTC 1 440,00 €",
            "ce document n’est pas une facture",
        ],
    );
    assert!(!text.contains("Facture "), "{text}");

    // Paid, the same address gives the invoice under its number.
    app.login_operator().await;
    let bill = app.count("SELECT id FROM bills").await;
    assert_eq!(
        app.post(&format!("/admin/bills/{bill}/paid"), &[])
            .await
            .status,
        303
    );
    let number: String = sqlx::query_scalar("SELECT invoice_number FROM bills")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let invoice = get_pdf(&app, &buyer, &href).await;
    let (_, text) = invoice.text();
    assert_eq!(
        invoice.header("content-disposition"),
        format!("attachment; filename=\"{number}.pdf\"")
    );
    assert_has(
        &text,
        &[
            &format!("Facture {number}"),
            "Payée par : Virement bancaire",
            "Sûreté Formation SAS",
            "Total TTC 1 440,00 €",
        ],
    );
    // Once paid, it no longer asks for a transfer.
    assert!(!text.contains("IBAN"), "{text}");
}

#[tokio::test]
async fn a_german_business_invoice_pdf_carries_the_reverse_charge_mention_and_no_vat() {
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
    let id = public_id(&placed);
    let paid = app
        .post_with(&beta, &format!("/payment/test/{id}/pay"), &[])
        .await;
    assert_eq!(paid.status, 303);
    // The confirmation signs the buyer in to the purchase's customer space.
    let done = app.get_with(&beta, &format!("/checkout/done/{id}")).await;
    assert_eq!(done.status, 200);

    let pdf = get_pdf(&app, &beta, &format!("/checkout/done/{id}/document.pdf")).await;
    let (_, text) = pdf.text();
    let number: String = sqlx::query_scalar("SELECT invoice_number FROM bills")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_has(
        &text,
        &[
            &format!("Invoice {number}"),
            "Autoliquidation / Reverse charge – Article 196 of Directive 2006/112/EC",
            "Beta GmbH",
            "Hauptstraße 1",
            "Germany",
            "VAT number: DE123456789",
            "Purchase order reference: PO-4711",
            "VAT 0 %",
            "Total incl. tax €1,200.00",
        ],
    );

    // Signed in to its customer space, the buyer gets the same PDF there.
    let space = app.get_with(&beta, &format!("/customer/bills/{id}")).await;
    assert_eq!(space.status, 200, "{}", space.body);
    let there = format!("/customer/bills/{id}/document.pdf");
    assert!(space.body.contains(&there));
    let (_, again) = get_pdf(&app, &beta, &there).await.text();
    assert_eq!(again, text);
}

#[tokio::test]
async fn a_pdf_is_for_the_buyer_the_customer_and_operators_only() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let alice = client();
    let id = app
        .buy_and_pay(&alice, "X-PACK5", "1", "alice@example.org")
        .await;
    let bob = client();
    let bobs = app
        .buy_and_pay(&bob, "X-PACK5", "1", "bob@example.org")
        .await;
    // Their confirmations sign each buyer in to their own customer space.
    for (who, bill) in [(&alice, &id), (&bob, &bobs)] {
        let done = app.get_with(who, &format!("/checkout/done/{bill}")).await;
        assert_eq!(done.status, 200);
    }
    let bill = app
        .count(&format!("SELECT id FROM bills WHERE public_id = '{id}'"))
        .await;
    let paths = [
        format!("/checkout/done/{id}/document.pdf"),
        format!("/customer/bills/{id}/document.pdf"),
    ];
    for path in &paths {
        assert_eq!(get_pdf(&app, &alice, path).await.status, 200, "{path}");
        // Another customer, signed in to their own space: nothing to see.
        assert_eq!(get_pdf(&app, &bob, path).await.status, 404, "{path}");
        // Anonymous, no session at all.
        let anonymous = get_pdf(&app, &client(), path).await;
        assert_ne!(anonymous.status, 200, "{path}");
        assert!(!anonymous.bytes.starts_with(b"%PDF"), "{path}");
    }
    assert_eq!(get_pdf(&app, &client(), &paths[0]).await.status, 404);
    // An unknown bill is a 404 like someone else's.
    let unknown = get_pdf(&app, &alice, "/checkout/done/nope/document.pdf").await;
    assert_eq!(unknown.status, 404);

    // Operators download any bill's from the bill's page; customers never reach that.
    let admin = format!("/admin/bills/{bill}/document.pdf");
    assert_ne!(get_pdf(&app, &alice, &admin).await.status, 200);
    app.login_operator().await;
    let detail = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(detail.body.contains(&format!("href=\"{admin}\"")));
    let (_, text) = get_pdf(&app, &app.client, &admin).await.text();
    assert!(text.contains("Invoice F"), "{text}");
}

#[tokio::test]
async fn a_declined_bill_downloads_as_an_order_never_an_invoice() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "declined@example.org", "test")
        .await;
    let id = public_id(&placed);
    let declined = app
        .post_with(&buyer, &format!("/payment/test/{id}/decline"), &[])
        .await;
    assert_eq!(declined.status, 303);
    let pdf = get_pdf(&app, &buyer, &format!("/checkout/done/{id}/document.pdf")).await;
    let (_, text) = pdf.text();
    assert!(text.starts_with("Order B"), "{text}");
    assert!(!text.contains("Invoice"), "{text}");
    assert!(pdf.header("content-disposition").contains("filename=\"B"));
}

#[tokio::test]
async fn sixty_lines_flow_onto_several_pages_with_every_line_and_the_totals() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let id = app
        .buy_and_pay(&buyer, "X-PACK5", "1", "big@example.org")
        .await;
    // Fifty-nine more lines like the first, and the totals to match: the document prints
    // whatever a bill holds.
    app.exec(
        "INSERT INTO bill_items (bill_id, line_no, product_id, code, name, quantity, unit_price,
                                 tax_rate_bp, untaxed, tax, handler, handler_params)
         SELECT bill_id, n, product_id, code || '-' || n, name || ' n° ' || n, quantity,
                unit_price, tax_rate_bp, untaxed, tax, handler, handler_params
         FROM bill_items, generate_series(2, 60) AS n",
    )
    .await;
    app.exec(
        "UPDATE bills SET untaxed = s.untaxed, tax = s.tax, total = s.untaxed + s.tax
         FROM (SELECT sum(untaxed) AS untaxed, sum(tax) AS tax FROM bill_items) s",
    )
    .await;
    let pdf = get_pdf(&app, &buyer, &format!("/checkout/done/{id}/document.pdf")).await;
    let (pages, text) = pdf.text();
    assert!(pages > 1, "{pages} pages");
    assert_has(
        &text,
        &[
            "X-PACK5-2",
            "X-PACK5-60",
            "n° 60",
            "Total incl. tax €72,000.00",
            &format!("1 / {pages}"),
            &format!("{pages} / {pages}"),
        ],
    );
}
