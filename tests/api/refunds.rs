//! Issue 11, refunds part: operator refunds (full, per line), credit notes, revoked seats.

use crate::helpers::*;

/// The seat catalogue with a 20 % tax on its packs, plus `X-ONE` (one seat a unit, 33.33:
/// thirds that do not divide), the operator signed in on `app.client`.
async fn refund_shop(app: &TestApp) {
    app.seat_catalogue().await;
    app.login_operator().await;
    app.french_vat().await;
    let one = app
        .create_product(
            "X-ONE",
            "33.33",
            "std_generateseats",
            "courselist=X-A%&packsize=1&customersupport=X-SUPPORT",
        )
        .await;
    assert_eq!(one.status, 303, "{}", one.body);
    app.exec("UPDATE products SET tax_code = 'FR20' WHERE code IN ('X-PACK5', 'X-ONE')")
        .await;
    app.state.catalogue.invalidate();
}

/// A paid and produced purchase; the buyer's client is signed in to its customer space.
async fn bought(
    app: &TestApp,
    code: &str,
    quantity: &str,
    email: &str,
) -> (reqwest::Client, i64, String) {
    let buyer = client();
    let public_id = app.buy_and_pay(&buyer, code, quantity, email).await;
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
    let id: i64 = sqlx::query_scalar("SELECT id FROM bills WHERE public_id = $1")
        .bind(&public_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (buyer, id, public_id)
}

async fn first_item(app: &TestApp, bill: i64) -> i64 {
    app.count(&format!(
        "SELECT id FROM bill_items WHERE bill_id = {bill} ORDER BY line_no LIMIT 1"
    ))
    .await
}

/// The review page of a refund asked with `query`, and the confirmation's submission key.
pub(crate) async fn review(
    app: &TestApp,
    bill: i64,
    query: &[(&str, &str)],
) -> (Page, Option<String>) {
    let q = serde_urlencoded::to_string(query).unwrap();
    let page = app.get(&format!("/admin/bills/{bill}/refund?{q}")).await;
    let key = extract_between(&page.body, "name=\"submission\" value=\"", "\"");
    (page, key)
}

/// Reviews then confirms a refund; the confirmation's answer.
pub(crate) async fn refund(app: &TestApp, bill: i64, query: &[(&str, &str)]) -> Page {
    let (page, key) = review(app, bill, query).await;
    assert_eq!(page.status, 200, "review: {}", page.body);
    let key = key.expect("the review page carries a submission key");
    let mut form = query.to_vec();
    form.push(("submission", &key));
    app.post(&format!("/admin/bills/{bill}/refund"), &form)
        .await
}

async fn course_id(app: &TestApp, shortname: &str) -> String {
    app.count(&format!(
        "SELECT id FROM courses WHERE shortname = '{shortname}'"
    ))
    .await
    .to_string()
}

async fn assign(app: &TestApp, buyer: &reqwest::Client, reference: &str, email: &str) {
    let course = course_id(app, "X-A1").await;
    let page = app
        .post_with(
            buyer,
            &format!("/customer/products/{reference}/assign"),
            &[
                ("course", course.as_str()),
                ("email", email),
                ("firstname", "Ibrahima"),
                ("lastname", "Dou"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "assign: {}", page.body);
}

async fn references(app: &TestApp, bill: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT reference FROM product_instances WHERE bill_id = $1 ORDER BY id")
        .bind(bill)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_refund_makes_the_bill_refunded_revokes_the_free_seats_and_mails_a_credit_note() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (buyer, bill, public_id) = bought(&app, "X-PACK5", "3", "full@example.org").await;
    let refs = references(&app, bill).await;
    assert_eq!(refs.len(), 15);

    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // 3 × 1 200.00 + 20 % = 4 320.00; nothing changed yet.
    assert!(page.body.contains("€4,320.00"), "{}", page.body);
    assert!(
        page.body
            .contains("15 seats revoked; 0 assigned seats kept")
    );
    assert!(page.body.contains("the refund is recorded"), "test gateway");
    assert_eq!(app.count("SELECT count(*) FROM refunds").await, 0);

    let done = refund(&app, bill, &[("full", "1"), ("reason", "Course cancelled")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    let year = time::OffsetDateTime::now_utc().year();
    let (number, total, revoked): (String, i64, i32) =
        sqlx::query_as("SELECT credit_note_number, total, seats_revoked FROM refunds")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(number, format!("AV{year}-000001"));
    assert_eq!((total, revoked), (432_000, 15));
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        15
    );
    let admin = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(admin.body.contains(&number), "{}", admin.body);
    assert!(admin.body.contains("Course cancelled"));
    assert!(
        !admin.body.contains("id=\"refund\""),
        "nothing left to refund"
    );

    // The seats left the customer's space: not listed, not counted, not assignable.
    let space = app.get_with(&buyer, "/customer").await;
    assert_eq!(space.status, 200);
    assert!(!space.body.contains(&refs[0]), "{}", space.body);
    let csv = app.get_with(&buyer, "/customer/products/export.csv").await;
    assert_eq!(csv.body.lines().count(), 1, "{}", csv.body);
    assert_eq!(
        app.get_with(&buyer, &format!("/customer/products/{}", refs[0]))
            .await
            .status,
        404
    );
    let course = course_id(&app, "X-A1").await;
    let stolen = app
        .post_with(
            &buyer,
            &format!("/customer/products/{}/assign", refs[0]),
            &[
                ("course", course.as_str()),
                ("email", "late@example.org"),
                ("firstname", "Late"),
                ("lastname", "Comer"),
            ],
        )
        .await;
    assert_eq!(stolen.status, 404);
    let counters = app
        .count("SELECT coalesce(sum(unassigned), 0)::BIGINT FROM customer_product_counts")
        .await;
    assert_eq!(counters, 0);

    // The customer reads the credit note from the bill's page, and got a mail about it.
    let invoice = app
        .get_with(&buyer, &format!("/customer/bills/{public_id}"))
        .await;
    let link = extract_between(
        &invoice.body,
        &format!("href=\"/customer/bills/{public_id}/credit-notes/"),
        "\"",
    )
    .map(|id| format!("/customer/bills/{public_id}/credit-notes/{id}"))
    .expect("the bill's page links its credit note");
    let note = app.get_with(&buyer, &link).await;
    assert_eq!(note.status, 200);
    assert!(
        note.body.contains(&format!("Credit note {number}")),
        "{}",
        note.body
    );
    assert!(note.body.contains("-€4,320.00"), "{}", note.body);
    assert!(
        note.body.contains("-€720.00"),
        "tax breakdown: {}",
        note.body
    );
    assert!(
        note.body.contains(&format!("F{year}-000001")),
        "corrected invoice"
    );
    // The same credit note as a PDF, read back.
    assert!(note.body.contains(&format!("href=\"{link}/document.pdf\"")));
    let pdf = crate::pdf::pdf_text(&app, &buyer, &format!("{link}/document.pdf")).await;
    for expected in [
        format!("Credit note {number}"),
        format!("F{year}-000001"),
        "Course cancelled".to_owned(),
        "-€4,320.00".to_owned(),
    ] {
        assert!(pdf.contains(&expected), "the PDF lacks {expected:?}: {pdf}");
    }
    let mails = app.mails_to("full@example.org").await;
    let (subject, body) = mails
        .iter()
        .find(|(s, _)| s.contains("refund"))
        .expect("refund mail");
    assert!(subject.contains(&number), "{subject}");
    assert!(body.contains("€4,320.00"), "{body}");
    assert!(body.contains(&link), "{body}");
    assert!(body.contains("[X-PACK5] Pack of 5 seats × 3"), "{body}");
}

#[tokio::test]
async fn partial_refunds_of_a_line_are_exact_and_the_last_one_completes_the_bill() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    // 3 × 33.33 = 99.99, tax 20.00: thirds do not divide.
    let (buyer, bill, public_id) = bought(&app, "X-ONE", "3", "part@example.org").await;
    let item = first_item(&app, bill).await;
    let units = format!("units_{item}");
    let done = refund(&app, bill, &[(units.as_str(), "1")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
    let admin = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(admin.body.contains("Partially refunded"), "{}", admin.body);
    let space = app.get_with(&buyer, "/customer").await;
    assert!(space.body.contains("Partially refunded"), "{}", space.body);
    let first: (i64, i64) = sqlx::query_as("SELECT untaxed, tax FROM refund_lines")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(first, (3_333, 667));
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        1
    );

    let done = refund(&app, bill, &[(units.as_str(), "2")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    let sums: (i64, i64, i64) = sqlx::query_as(
        "SELECT sum(untaxed)::BIGINT, sum(tax)::BIGINT, sum(quantity)::BIGINT FROM refund_lines",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        sums,
        (9_999, 2_000, 3),
        "the parts add up to the line exactly"
    );
    let numbers: Vec<String> =
        sqlx::query_scalar("SELECT credit_note_number FROM refunds ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(
        numbers,
        [format!("AV{year}-000001"), format!("AV{year}-000002")]
    );
    let admin = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(!admin.body.contains("Partially refunded"));
    assert!(admin.body.contains(&numbers[1]));
}

#[tokio::test]
async fn assigned_and_locked_seats_are_reported_and_kept() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (buyer, bill, _) = bought(&app, "X-PACK5", "1", "kept@example.org").await;
    let refs = references(&app, bill).await;
    assign(&app, &buyer, &refs[0], "learner1@example.org").await;
    assign(&app, &buyer, &refs[1], "learner2@example.org").await;
    // The second learner opened the course: that seat is locked.
    app.exec(
        "UPDATE enrolments SET first_access_at = now() WHERE user_id = (SELECT id FROM users WHERE email = 'learner2@example.org')",
    )
    .await;

    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("3 seats revoked; 2 assigned seats kept"),
        "{}",
        page.body
    );
    for expected in [
        refs[0].as_str(),
        "learner1@example.org",
        "learner2@example.org",
        "X-A1",
        "Locked",
        "In use",
    ] {
        assert!(page.body.contains(expected), "review lacks {expected}");
    }
    let done = refund(&app, bill, &[("full", "1")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let (revoked, kept): (i32, i32) =
        sqlx::query_as("SELECT seats_revoked, seats_kept FROM refunds")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((revoked, kept), (3, 2));
    // The assigned seats are where they were, still the customer's.
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL AND revoked_at IS NULL")
            .await,
        2
    );
    let space = app
        .get_with(&buyer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert_eq!(space.status, 200);
    let admin = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(
        admin
            .body
            .contains("3 seats revoked; 2 assigned seats kept")
    );

    // The kept seats were paid back: the one whose learner never opened the course leaves
    // the space when the customer releases it, instead of becoming free again.
    let released = app
        .post_with(
            &buyer,
            &format!("/customer/products/{}/unassign", refs[0]),
            &[],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    assert_eq!(released.location(), Some("/customer"));
    let space = app
        .get_with(&buyer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert_eq!(space.status, 404, "revoked on release");
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NULL AND assigned_user_id IS NULL")
            .await,
        0,
        "no seat of the refunded line is free"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT seats_owed::BIGINT FROM bill_items WHERE bill_id = {bill}"
        ))
        .await,
        1,
        "the locked seat is still owed"
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(unassigned), 0)::BIGINT FROM customer_product_counts")
            .await,
        0
    );
}

#[tokio::test]
async fn a_refund_beyond_what_is_left_is_refused() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (_buyer, bill, public_id) = bought(&app, "X-PACK5", "2", "over@example.org").await;
    let item = first_item(&app, bill).await;
    let units = format!("units_{item}");
    let amount = format!("amount_{item}");
    let (page, _) = review(&app, bill, &[(units.as_str(), "3")]).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("exceeds what is left"), "{}", page.body);
    // 2 × 1 440.00 is all there is.
    let (page, _) = review(&app, bill, &[(amount.as_str(), "2880.01")]).await;
    assert_eq!(page.status, 422);
    assert_eq!(
        refund(&app, bill, &[(units.as_str(), "1")]).await.status,
        303
    );
    // Posted directly, past the review page: refused all the same.
    let over = app
        .post(
            &format!("/admin/bills/{bill}/refund"),
            &[(units.as_str(), "2"), ("submission", "direct-1")],
        )
        .await;
    assert_eq!(over.status, 422, "{}", over.body);
    let (page, _) = review(&app, bill, &[]).await;
    assert_eq!(page.status, 422, "nothing asked");
    assert_eq!(app.count("SELECT count(*) FROM refunds").await, 1);
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
    assert_eq!(
        refund(&app, bill, &[(units.as_str(), "1")]).await.status,
        303
    );
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    // Nothing is left: a refunded bill takes no more.
    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert_eq!(page.status, 409);
}

#[tokio::test]
async fn an_unpaid_order_is_cancelled_not_refunded() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "unpaid@example.org", "transfer")
        .await;
    assert_eq!(placed.status, 303);
    let bill = app.count("SELECT id FROM bills").await;
    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert_eq!(page.status, 409);
    let admin = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(!admin.body.contains("id=\"refund\""));
    // Paid by transfer, then refunded: the operator is told to send the money back.
    let paid = app.post(&format!("/admin/bills/{bill}/paid"), &[]).await;
    assert_eq!(paid.status, 303);
    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("send the money back from the bank yourself"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_refund_form_confirmed_twice_refunds_once() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (_buyer, bill, _) = bought(&app, "X-PACK5", "2", "twice@example.org").await;
    let item = first_item(&app, bill).await;
    let units = format!("units_{item}");
    let (_, key) = review(&app, bill, &[(units.as_str(), "1")]).await;
    let key = key.unwrap();
    let form = [(units.as_str(), "1"), ("submission", key.as_str())];
    let path = format!("/admin/bills/{bill}/refund");
    let (a, b) = tokio::join!(app.post(&path, &form), app.post(&path, &form));
    assert_eq!((a.status, b.status), (303, 303));
    let again = app.post(&path, &form).await;
    assert_eq!(again.status, 303);
    let shown = app.get(&format!("/admin/bills/{bill}")).await;
    assert!(shown.body.contains("already recorded"), "{}", shown.body);
    assert_eq!(app.count("SELECT count(*) FROM refunds").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        5
    );
    assert_eq!(
        app.count("SELECT count(*) FROM outbox WHERE subject LIKE '%refund%'")
            .await,
        1
    );
}

#[tokio::test]
async fn concurrent_refunds_of_one_line_never_exceed_it() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (_buyer, bill, public_id) = bought(&app, "X-PACK5", "2", "race@example.org").await;
    let item = first_item(&app, bill).await;
    let units = format!("units_{item}");
    let token = app.csrf_for(&app.client).await;
    let path = format!("/admin/bills/{bill}/refund");
    let keys: Vec<String> = (0..8).map(|i| format!("race-{i}")).collect();
    let answers = futures::future::join_all(keys.iter().map(|key| {
        let form = [
            (units.as_str(), "1"),
            ("submission", key.as_str()),
            ("csrf_token", token.as_str()),
        ];
        let path = path.clone();
        let app = &app;
        async move { app.post_raw(&app.client, &path, &form).await.status }
    }))
    .await;
    let ok = answers.iter().filter(|s| **s == 303).count();
    assert_eq!(ok, 2, "{answers:?}");
    assert!(
        answers.iter().all(|s| [303, 409, 422].contains(s)),
        "{answers:?}"
    );
    assert_eq!(
        app.count("SELECT coalesce(sum(quantity), 0)::BIGINT FROM refund_lines")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT sum(total)::BIGINT FROM refunds").await,
        288_000
    );
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        10
    );
}

#[tokio::test]
async fn another_customer_cannot_read_a_credit_note() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (buyer, bill, public_id) = bought(&app, "X-PACK5", "1", "owner@example.org").await;
    assert_eq!(refund(&app, bill, &[("full", "1")]).await.status, 303);
    let refund_id = app.count("SELECT id FROM refunds").await;
    let path = format!("/customer/bills/{public_id}/credit-notes/{refund_id}");
    assert_eq!(app.get_with(&buyer, &path).await.status, 200);
    let (intruder, _, other_bill) = bought(&app, "X-PACK5", "1", "intruder@example.org").await;
    assert_eq!(app.get_with(&intruder, &path).await.status, 404);
    // Nor through a bill of its own: the credit note belongs to another bill.
    let crossed = format!("/customer/bills/{other_bill}/credit-notes/{refund_id}");
    assert_eq!(app.get_with(&intruder, &crossed).await.status, 404);
    for pdf in [
        format!("{path}/document.pdf"),
        format!("{crossed}/document.pdf"),
    ] {
        assert_eq!(app.get_with(&intruder, &pdf).await.status, 404, "{pdf}");
    }
    let theirs = app
        .get(&format!(
            "/admin/bills/{bill}/credit-notes/{refund_id}/document.pdf"
        ))
        .await;
    assert_eq!(theirs.status, 200, "the operator downloads it");
    assert_eq!(app.get_with(&client(), &path).await.status, 303);
    // The operator reads it from the bill.
    let op = app
        .get(&format!("/admin/bills/{bill}/credit-notes/{refund_id}"))
        .await;
    assert_eq!(op.status, 200);
    assert!(op.body.contains("Credit note AV"), "{}", op.body);
    // Issued in the bill's language, whoever reads it.
    app.exec("UPDATE bills SET locale = 'fr'").await;
    let op = app
        .get(&format!("/admin/bills/{bill}/credit-notes/{refund_id}"))
        .await;
    assert!(op.body.contains("Avoir AV"), "{}", op.body);
}

#[tokio::test]
async fn the_credit_note_prefix_is_a_setting_of_its_own() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let form = |prefix: &'static str| {
        vec![
            ("shop_name", "Shop"),
            ("currency", "EUR"),
            ("paymodes", "test"),
            ("paymodes", "transfer"),
            ("seller_country", "FR"),
            ("invoice_prefix", "F"),
            ("credit_note_prefix", prefix),
        ]
    };
    // The invoices' own prefix would make credit notes look like invoices.
    assert_eq!(app.post("/admin/settings", &form("F")).await.status, 422);
    assert_eq!(app.post("/admin/settings", &form("")).await.status, 422);
    let saved = app.post("/admin/settings", &form("CN")).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    app.state.catalogue.invalidate();
    assert!(
        app.get("/admin/settings")
            .await
            .body
            .contains("value=\"CN\"")
    );
    let (_buyer, bill, _) = bought(&app, "X-PACK5", "1", "prefix@example.org").await;
    assert_eq!(refund(&app, bill, &[("full", "1")]).await.status, 303);
    let year = time::OffsetDateTime::now_utc().year();
    let number: String = sqlx::query_scalar("SELECT credit_note_number FROM refunds")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(number, format!("CN{year}-000001"));
}

#[tokio::test]
async fn a_bill_not_produced_is_refunded_in_full_or_not_at_all() {
    let app = spawn_app().await;
    refund_shop(&app).await;
    let (_buyer, bill, public_id) = bought(&app, "X-PACK5", "2", "failed@example.org").await;
    // As if its production had failed: paid, no seat to revoke (those made are set aside).
    app.exec(&format!(
        "UPDATE bills SET state = 'FAILED' WHERE id = {bill}"
    ))
    .await;
    app.exec(&format!(
        "UPDATE product_instances SET revoked_at = now() WHERE bill_id = {bill}"
    ))
    .await;
    let item = first_item(&app, bill).await;
    let units = format!("units_{item}");
    let (page, _) = review(&app, bill, &[(units.as_str(), "1")]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains("refund it in full"), "{}", page.body);
    let (page, _) = review(&app, bill, &[("full", "1")]).await;
    assert!(
        page.body.contains("0 seats revoked; 0 assigned seats kept"),
        "{}",
        page.body
    );
    assert_eq!(refund(&app, bill, &[("full", "1")]).await.status, 303);
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    // REFUNDED is final: no retry of the production can deliver it any more.
    let retry = app.post(&format!("/admin/bills/{bill}/retry"), &[]).await;
    assert_eq!(retry.status, 409);
}
