//! Issue 11, coupons: the operator's pages, applying a code on the cart, the discount on
//! bills and documents, and limits that hold under concurrent checkouts.

use crate::helpers::*;

/// The seat catalogue (X-PACK5, 1 200.00 at 20 % VAT) and a one-course product X-ONE
/// (300.00, no tax).
async fn shop(app: &TestApp) {
    app.seat_catalogue().await;
    app.login_operator().await;
    app.french_vat().await;
    app.exec("UPDATE products SET tax_code = 'FR20' WHERE code = 'X-PACK5'")
        .await;
    let one = app
        .create_product("X-ONE", "300", "std_enrolonecourse", "coursename=X-A1")
        .await;
    assert_eq!(one.status, 303, "{}", one.body);
    app.state.catalogue.invalidate();
}

/// Creates a coupon as the operator (already signed in on `app.client`).
async fn coupon(app: &TestApp, fields: &[(&str, &str)]) -> Page {
    let mut form = vec![("kind", "percent"), ("active", "1")];
    form.retain(|(k, _)| !fields.iter().any(|(f, _)| f == k));
    form.extend_from_slice(fields);
    app.post("/admin/coupons", &form).await
}

async fn product_id(app: &TestApp, code: &str) -> String {
    app.count(&format!("SELECT id FROM products WHERE code = '{code}'"))
        .await
        .to_string()
}

async fn apply(app: &TestApp, buyer: &reqwest::Client, code: &str) -> Page {
    app.post_with(buyer, "/cart/coupon", &[("code", code)])
        .await
}

fn day(offset: i64) -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(offset)).to_string()
}

#[tokio::test]
async fn operators_create_edit_and_disable_coupons_and_a_refused_form_keeps_what_was_typed() {
    let app = spawn_app().await;
    shop(&app).await;
    let bad = coupon(
        &app,
        &[
            ("code", "no spaces allowed"),
            ("value", "150"),
            ("valid_from", "2027-02-01"),
            ("valid_until", "2027-01-01"),
            ("usage_limit", "0"),
        ],
    )
    .await;
    assert_eq!(bad.status, 422);
    for expected in [
        "value=\"no spaces allowed\"",
        "value=\"150\"",
        "value=\"2027-02-01\"",
        "3 to 32 letters",
        "A percentage from 1 to 100",
        "The last day is before the first day.",
        "A whole number of 1 or more",
    ] {
        assert!(bad.body.contains(expected), "lacks {expected}");
    }
    assert_eq!(app.count("SELECT count(*) FROM coupons").await, 0);

    let one = product_id(&app, "X-ONE").await;
    let made = coupon(
        &app,
        &[
            ("code", "spring-25"),
            ("kind", "amount"),
            ("value", "25"),
            ("usage_limit", "10"),
            ("products", &one),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert_eq!(made.location(), Some("/admin/coupons"));
    // Codes are case-insensitive: the same code in lower case is taken.
    let twice = coupon(&app, &[("code", "SPRING-25"), ("value", "5")]).await;
    assert_eq!(twice.status, 422);
    assert!(twice.body.contains("Another coupon has this code."));

    let list = app.get("/admin/coupons").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("SPRING-25"), "{}", list.body);
    assert!(list.body.contains("0 / 10"));
    assert!(list.body.contains("1 product"));

    let id = app.count("SELECT id FROM coupons").await;
    let edit = app.get(&format!("/admin/coupons/{id}")).await;
    assert!(edit.body.contains("value=\"25.00\""), "{}", edit.body);
    let saved = app
        .post(
            &format!("/admin/coupons/{id}"),
            &[
                ("code", "SPRING-25"),
                ("kind", "percent"),
                ("value", "12.5"),
                ("active", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (bp, products): (Option<i32>, i64) =
        sqlx::query_as("SELECT percent_bp, (SELECT count(*) FROM coupon_products) FROM coupons")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!((bp, products), (Some(1_250), 0));

    let off = app.post(&format!("/admin/coupons/{id}/disable"), &[]).await;
    assert_eq!(off.status, 303);
    assert!(app.get("/admin/coupons").await.body.contains("Disabled"));
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let refused = apply(&app, &buyer, "spring-25").await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("This coupon code is not valid."));

    // Behind the operator guard, and no such coupon is a 404.
    let stranger = app.get_with(&client(), "/admin/coupons").await;
    assert_eq!(stranger.status, 303);
    assert_eq!(app.get("/admin/coupons/999999").await.status, 404);
    // Forms need their CSRF token.
    let forged = app
        .post_raw(&app.client, &format!("/admin/coupons/{id}/enable"), &[])
        .await;
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn a_code_is_applied_and_removed_on_the_cart_and_a_bad_one_keeps_the_cart() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(&app, &[("code", "WELCOME10"), ("value", "10")])
            .await
            .status,
        303
    );
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "2").await;

    let bad = apply(&app, &buyer, "NOPE").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("This coupon code is not valid."));
    assert!(bad.body.contains("X-PACK5"), "the cart is still there");
    assert!(bad.body.contains("value=\"NOPE\""), "what was typed stays");

    let applied = apply(&app, &buyer, "welcome10").await;
    assert_eq!(applied.status, 303, "{}", applied.body);
    let cart = app.get_with(&buyer, "/cart").await;
    assert!(cart.body.contains("Coupon WELCOME10"), "{}", cart.body);
    // 2 × 1 200.00 = 2 400.00, 10 % off = 240.00; net 2 160.00 + 20 % = 2 592.00.
    assert!(cart.body.contains("2,400.00"));
    assert!(cart.body.contains("−€240.00"), "{}", cart.body);
    assert!(cart.body.contains("2,160.00"));
    assert!(cart.body.contains("2,592.00"));

    let removed = app.post_with(&buyer, "/cart/coupon/remove", &[]).await;
    assert_eq!(removed.status, 303);
    let cart = app.get_with(&buyer, "/cart").await;
    assert!(!cart.body.contains("Coupon WELCOME10"));
    assert!(cart.body.contains("2,880.00"));
}

#[tokio::test]
async fn validity_days_are_checked() {
    let app = spawn_app().await;
    shop(&app).await;
    let (yesterday, tomorrow, today) = (day(-1), day(1), day(0));
    for (code, from, until) in [
        ("GONE", "", yesterday.as_str()),
        ("SOON", tomorrow.as_str(), ""),
        ("TODAY", today.as_str(), today.as_str()),
    ] {
        let made = coupon(
            &app,
            &[
                ("code", code),
                ("value", "10"),
                ("valid_from", from),
                ("valid_until", until),
            ],
        )
        .await;
        assert_eq!(made.status, 303, "{}", made.body);
    }
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let gone = apply(&app, &buyer, "GONE").await;
    assert_eq!(gone.status, 422);
    assert!(gone.body.contains("This coupon has expired."));
    let soon = apply(&app, &buyer, "SOON").await;
    assert_eq!(soon.status, 422);
    assert!(soon.body.contains("This coupon is not valid yet."));
    assert_eq!(apply(&app, &buyer, "TODAY").await.status, 303);

    // A kept code that expires meanwhile is dropped, with the reason, at the next look.
    app.exec(
        "UPDATE coupons SET valid_from = NULL, valid_until = current_date - 1 WHERE code = 'TODAY'",
    )
    .await;
    let cart = app.get_with(&buyer, "/cart").await;
    assert!(cart.body.contains("This coupon has expired."));
    assert!(!cart.body.contains("id=\"coupon-line\""));
}

#[tokio::test]
async fn a_coupon_restricted_to_products_discounts_only_their_lines() {
    let app = spawn_app().await;
    shop(&app).await;
    let one = product_id(&app, "X-ONE").await;
    let made = coupon(
        &app,
        &[
            ("code", "ONLYONE"),
            ("kind", "amount"),
            ("value", "1000"),
            ("products", &one),
        ],
    )
    .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let refused = apply(&app, &buyer, "ONLYONE").await;
    assert_eq!(refused.status, 422);
    assert!(
        refused
            .body
            .contains("This coupon does not apply to anything in your cart.")
    );

    app.add_to_cart(&buyer, "X-ONE", "1").await;
    assert_eq!(apply(&app, &buyer, "ONLYONE").await.status, 303);
    let cart = app.get_with(&buyer, "/cart").await;
    // 1 000.00 asked, but X-ONE is worth 300.00: the discount stops there.
    assert!(cart.body.contains("−€300.00"), "{}", cart.body);
    // What is left: the pack, 1 200.00 + 20 %.
    assert!(cart.body.contains("1,440.00"));

    // Taking X-ONE out leaves nothing for the coupon: it is dropped with the reason.
    let out = app
        .post_with(&buyer, "/cart/remove", &[("code", "X-ONE")])
        .await;
    assert_eq!(out.status, 303);
    let cart = app.get_with(&buyer, "/cart").await;
    assert!(
        cart.body
            .contains("This coupon does not apply to anything in your cart.")
    );
}

#[tokio::test]
async fn the_bill_keeps_net_amounts_and_the_document_and_mail_show_the_coupon() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(
            &app,
            &[("code", "FLAT100"), ("kind", "amount"), ("value", "100")]
        )
        .await
        .status,
        303
    );
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    app.add_to_cart(&buyer, "X-ONE", "1").await;
    assert_eq!(apply(&app, &buyer, "flat100").await.status, 303);
    let details = app
        .post_with(
            &buyer,
            "/checkout/customer",
            &customer_form("flat@example.org"),
        )
        .await;
    assert_eq!(details.status, 303, "{}", details.body);
    let review = app.get_with(&buyer, "/checkout/order").await;
    assert!(review.body.contains("Coupon FLAT100"), "{}", review.body);
    let total = extract_between(&review.body, "name=\"reviewed_total\" value=\"", "\"").unwrap();
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[("paymode", "transfer"), ("reviewed_total", &total)],
        )
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);

    // 100.00 over 1 200.00 + 300.00: 80.00 on the pack, the remainder 20.00 on X-ONE.
    let lines: Vec<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT code, untaxed, tax, discount FROM bill_items ORDER BY line_no")
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(
        lines,
        vec![
            ("X-PACK5".to_owned(), 112_000, 22_400, 8_000),
            ("X-ONE".to_owned(), 28_000, 0, 2_000),
        ]
    );
    let bill: (i64, i64, i64, String) =
        sqlx::query_as("SELECT untaxed, tax, total, coupon_code FROM bills")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(bill, (140_000, 22_400, 162_400, "FLAT100".to_owned()));
    assert_eq!(total, "162400", "the review showed what is billed");
    assert_eq!(
        app.count("SELECT count(*) FROM coupon_redemptions").await,
        1
    );

    let done = placed.location().unwrap().to_owned();
    let doc = app.get_with(&buyer, &format!("{done}/document")).await;
    assert_eq!(doc.status, 200);
    assert!(doc.body.contains("id=\"document-coupon\""), "{}", doc.body);
    assert!(doc.body.contains("Coupon FLAT100"));
    assert!(doc.body.contains("−€100.00"));
    // The lines show their amount before the coupon.
    assert!(doc.body.contains("€1,200.00"));
    assert!(doc.body.contains("€1,624.00"));
    // The PDF is the same document.
    let pdf = crate::pdf::pdf_text(&app, &buyer, &format!("{done}/document.pdf")).await;
    for expected in [
        "Coupon FLAT100 −€100.00",
        "€1,200.00",
        "Total incl. tax €1,624.00",
    ] {
        assert!(pdf.contains(expected), "{expected}: {pdf}");
    }

    let id = app.count("SELECT id FROM bills").await;
    let admin = app.get(&format!("/admin/bills/{id}")).await;
    assert!(admin.body.contains("id=\"bill-coupon\""), "{}", admin.body);
    assert!(admin.body.contains("−€100.00"));
    assert_eq!(
        app.post(&format!("/admin/bills/{id}/paid"), &[])
            .await
            .status,
        303
    );
    let mails = app.mails_to("flat@example.org").await;
    let summary = mails
        .iter()
        .map(|(_, b)| b.as_str())
        .find(|b| b.contains("Coupon FLAT100"))
        .unwrap_or_else(|| panic!("no mail with the coupon: {mails:?}"));
    assert!(summary.contains("−€100.00"), "{summary}");
}

/// Twenty buyers, each with the pack in the cart and the code applied, confirm at once.
#[tokio::test]
async fn a_coupon_for_one_use_confirmed_by_twenty_checkouts_at_once_is_used_once() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(
            &app,
            &[("code", "ONLY1"), ("value", "50"), ("usage_limit", "1")]
        )
        .await
        .status,
        303
    );
    let mut buyers = Vec::new();
    for i in 0..20 {
        let buyer = client();
        app.add_to_cart(&buyer, "X-PACK5", "1").await;
        assert_eq!(apply(&app, &buyer, "ONLY1").await.status, 303);
        let email = format!("racer{i}@example.org");
        let details = app
            .post_with(&buyer, "/checkout/customer", &customer_form(&email))
            .await;
        assert_eq!(details.status, 303, "{}", details.body);
        let token = app.csrf_for(&buyer).await;
        buyers.push((buyer, token));
    }
    let app = &app;
    let confirms = buyers.iter().map(|(buyer, token)| async move {
        app.post_raw(
            buyer,
            "/checkout/order",
            &[("paymode", "test"), ("csrf_token", token)],
        )
        .await
    });
    let pages = futures::future::join_all(confirms).await;
    let placed = pages.iter().filter(|p| p.status == 303).count();
    let refused: Vec<&Page> = pages.iter().filter(|p| p.status == 409).collect();
    assert_eq!(
        placed,
        1,
        "{:?}",
        pages.iter().map(|p| p.status).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 19);
    for page in refused {
        assert!(
            page.body
                .contains("This coupon has been used as many times as it allows."),
            "{}",
            page.body
        );
        assert!(page.body.contains("X-PACK5"), "the order is shown again");
    }
    assert_eq!(app.count("SELECT count(*) FROM bills").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE coupon_code = 'ONLY1' AND total = 72000")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM coupon_redemptions").await,
        1
    );
    // The others keep their cart, now without the coupon, and may order at full price.
    let (buyer, _) = buyers
        .iter()
        .zip(&pages)
        .find(|(_, p)| p.status == 409)
        .map(|(b, _)| b)
        .unwrap();
    let cart = app.get_with(buyer, "/cart").await;
    assert!(cart.body.contains("X-PACK5"));
    assert!(!cart.body.contains("id=\"coupon-line\""));
    let again = app
        .post_with(buyer, "/checkout/order", &[("paymode", "test")])
        .await;
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE total = 144000")
            .await,
        1
    );
}

#[tokio::test]
async fn the_per_customer_limit_holds_and_a_refused_payment_gives_the_use_back() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(
            &app,
            &[
                ("code", "ONCE"),
                ("value", "10"),
                ("per_customer_limit", "1")
            ]
        )
        .await
        .status,
        303
    );
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    assert_eq!(apply(&app, &buyer, "ONCE").await.status, 303);
    let details = app
        .post_with(
            &buyer,
            "/checkout/customer",
            &customer_form("once@example.org"),
        )
        .await;
    assert_eq!(details.status, 303);
    let placed = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "test")])
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let gateway = placed.location().unwrap().to_owned();

    // While that bill may still be paid, the same customer may not use the code again:
    // neither on the cart nor when confirming an order.
    let second = apply(&app, &buyer, "ONCE").await;
    assert_eq!(second.status, 409, "{}", second.body);
    assert!(
        second
            .body
            .contains("You have already used this coupon as many times as it allows.")
    );
    let customer = app.count("SELECT id FROM customers").await;
    let mut cart = lms_shop::domain::cart::Cart::default();
    cart.add("X-PACK5", 1, 10).unwrap();
    let code = lms_shop::domain::coupon::CouponCode::parse("ONCE").unwrap();
    let refused = lms_shop::services::ordering::place(
        &app.state,
        lms_shop::services::ordering::OrderRequest {
            cart: &cart,
            customer_id: customer,
            buyer: None,
            paymode: "test",
            accept_terms: true,
            locale: lms_shop::i18n::Locale::En,
            submission_key: None,
            reviewed_total: None,
            coupon: Some(&code),
        },
    )
    .await;
    assert!(
        matches!(
            refused,
            Err(lms_shop::services::ordering::OrderError::Coupon(
                lms_shop::domain::coupon::CouponRefusal::CustomerLimit
            ))
        ),
        "{refused:?}"
    );

    // The payment is declined: the bill is REFUSED and its use of the coupon given back in
    // the same transaction, so the customer may use it again.
    let declined = app
        .post_with(&buyer, &format!("{gateway}/decline"), &[])
        .await;
    assert_eq!(declined.status, 303);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE state = 'REFUSED'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM coupon_redemptions WHERE released_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(apply(&app, &buyer, "ONCE").await.status, 303);
}

#[tokio::test]
async fn an_operator_cancelling_a_bill_gives_its_coupon_use_back() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(
            &app,
            &[("code", "SOLO"), ("value", "10"), ("usage_limit", "1")]
        )
        .await
        .status,
        303
    );
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    assert_eq!(apply(&app, &buyer, "SOLO").await.status, 303);
    let details = app
        .post_with(
            &buyer,
            "/checkout/customer",
            &customer_form("solo@example.org"),
        )
        .await;
    assert_eq!(details.status, 303);
    let placed = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "transfer")])
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let other = client();
    app.add_to_cart(&other, "X-PACK5", "1").await;
    assert_eq!(apply(&app, &other, "SOLO").await.status, 409);

    let id = app.count("SELECT id FROM bills").await;
    let cancelled = app
        .post(
            &format!("/admin/bills/{id}/cancel"),
            &[("note", "changed mind")],
        )
        .await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE state = 'CANCELLED'")
            .await,
        1
    );
    assert_eq!(apply(&app, &other, "SOLO").await.status, 303);
    let list = app.get("/admin/coupons").await;
    assert!(list.body.contains("0 / 1"), "{}", list.body);
}

#[tokio::test]
async fn a_hundred_percent_coupon_places_a_free_order() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(&app, &[("code", "GIFT"), ("value", "100")])
            .await
            .status,
        303
    );
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    assert_eq!(apply(&app, &buyer, "GIFT").await.status, 303);
    let details = app
        .post_with(
            &buyer,
            "/checkout/customer",
            &customer_form("gift@example.org"),
        )
        .await;
    assert_eq!(details.status, 303);
    let review = app.get_with(&buyer, "/checkout/order").await;
    // Nothing to pay: `free` is the only way offered.
    assert!(review.body.contains("value=\"free\""), "{}", review.body);
    assert!(!review.body.contains("value=\"test\""));
    let refused = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "test")])
        .await;
    assert_eq!(refused.status, 422);
    let placed = app
        .post_with(&buyer, "/checkout/order", &[("paymode", "free")])
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let (state, total, paymode): (String, i64, String) =
        sqlx::query_as("SELECT state, total, paymode FROM bills WHERE state <> 'REFUSED'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        (state.as_str(), total, paymode.as_str()),
        ("COMPLETE", 0, "free")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances").await,
        5,
        "the seats are produced"
    );
}

/// One customer (signed in from five browsers) confirms five orders at once with a code of
/// one use per customer: one gets it.
#[tokio::test]
async fn the_per_customer_limit_holds_under_concurrent_checkouts_of_one_customer() {
    let app = spawn_app().await;
    shop(&app).await;
    assert_eq!(
        coupon(
            &app,
            &[
                ("code", "MINE"),
                ("value", "10"),
                ("per_customer_limit", "1")
            ]
        )
        .await
        .status,
        303
    );
    create_user(&app, "grace@example.org", "a long passphrase").await;
    let mut browsers = Vec::new();
    for _ in 0..5 {
        let browser = client();
        let login = app
            .login_with(&browser, "grace@example.org", "a long passphrase")
            .await;
        assert_eq!(login.status, 303);
        app.add_to_cart(&browser, "X-PACK5", "1").await;
        assert_eq!(apply(&app, &browser, "MINE").await.status, 303);
        let details = app
            .post_with(
                &browser,
                "/checkout/customer",
                &customer_form("grace@example.org"),
            )
            .await;
        assert_eq!(details.status, 303, "{}", details.body);
        let token = app.csrf_for(&browser).await;
        browsers.push((browser, token));
    }
    let app = &app;
    let confirms = browsers.iter().map(|(browser, token)| async move {
        app.post_raw(
            browser,
            "/checkout/order",
            &[("paymode", "transfer"), ("csrf_token", token)],
        )
        .await
    });
    let statuses: Vec<u16> = futures::future::join_all(confirms)
        .await
        .iter()
        .map(|p| p.status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        4,
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM coupon_redemptions").await,
        1
    );
}

#[tokio::test]
async fn guessing_codes_is_throttled_per_client() {
    let app = spawn_app().await;
    shop(&app).await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let budget = lms_shop::security::throttle::DEFAULT_PROBES_PER_MINUTE;
    for n in 0..budget {
        let tried = apply(&app, &buyer, &format!("GUESS{n:04}")).await;
        assert_eq!(tried.status, 422, "try {n}: {}", tried.body);
    }
    let throttled = apply(&app, &buyer, "GUESS9999").await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.body.contains("Too many attempts"));
    assert!(
        throttled.body.contains("value=\"GUESS9999\""),
        "what was typed is kept"
    );
}
