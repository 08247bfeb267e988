//! Crash-proof at the edges (issue 17), in process: mail leases, a repeated Confirm, unpaid
//! orders, a buyer who lost their session, and two instances on one database. The process
//! kills and PostgreSQL crashes are in `tests/resilience.rs`.

use std::time::{Duration, Instant};

use crate::fake_smtp::{fake_smtp, message_id};
use crate::helpers::*;

#[tokio::test]
async fn a_message_being_sent_is_leased_and_carries_a_stable_message_id() {
    let app = spawn_app().await;
    for i in 0..2 {
        lms_shop::store::outbox::enqueue(&app.db, &format!("m{i}@example.org"), "Hi", "body")
            .await
            .unwrap();
    }
    use lms_shop::store::outbox::claim_next;
    let first = claim_next(&app.db, 60).await.unwrap().unwrap();
    let second = claim_next(&app.db, 60).await.unwrap().unwrap();
    assert_ne!(first.id, second.id, "a leased message is not claimed twice");
    assert!(claim_next(&app.db, 60).await.unwrap().is_none());
    // The worker holding `first` died: once its lease is over, it is claimed again.
    app.exec(&format!(
        "UPDATE outbox SET next_attempt_at = now() - interval '1 second' WHERE id = {}",
        first.id
    ))
    .await;
    let again = claim_next(&app.db, 60).await.unwrap().unwrap();
    assert_eq!(again.id, first.id);

    // Delivered, each with the Message-ID its row will always have.
    app.exec("UPDATE outbox SET next_attempt_at = now()").await;
    let (port, received) = fake_smtp(0).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(lms_shop::mail::worker::run(
        app.state.clone(),
        format!("smtp://127.0.0.1:{port}"),
        rx,
    ));
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .count("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        .await
        > 0
    {
        assert!(Instant::now() < deadline, "mail not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap();
    let ids: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|m| message_id(m))
        .collect();
    let created: i64 = sqlx::query_scalar(
        "SELECT floor(extract(epoch FROM created_at))::bigint FROM outbox WHERE id = $1",
    )
    .bind(first.id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(
        ids.contains(&format!("<outbox.{}.{created}@example.org>", first.id)),
        "{ids:?}"
    );
    assert_eq!(ids.len(), 2);
}

async fn confirm(app: &TestApp, buyer: &reqwest::Client, submission: &str) -> Page {
    app.post_with(
        buyer,
        "/checkout/order",
        &[
            ("accept_terms", "1"),
            ("paymode", "test"),
            ("submission", submission),
        ],
    )
    .await
}

#[tokio::test]
async fn confirming_the_same_order_form_again_places_one_bill() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let details = app
        .cart_and_details(&buyer, "X-PACK5", "1", "again@example.org")
        .await;
    assert_eq!(details.status, 303);
    let form = app.get_with(&buyer, "/checkout/order").await;
    let submission = extract_between(&form.body, "name=\"submission\" value=\"", "\"")
        .expect("the order form carries its key");

    let first = confirm(&app, &buyer, &submission).await;
    let second = confirm(&app, &buyer, &submission).await;
    assert_eq!(first.status, 303);
    assert_eq!(first.location(), second.location());
    // Pressed many times at once.
    let presses: Vec<_> = (0..8).map(|_| confirm(&app, &buyer, &submission)).collect();
    for page in futures::future::join_all(presses).await {
        assert_eq!(page.location(), first.location());
    }
    assert_eq!(app.count("SELECT count(*) FROM bills").await, 1);

    // A new form (the buyer came back to the review step) is a new order.
    let form = app.get_with(&buyer, "/checkout/order").await;
    let other = extract_between(&form.body, "name=\"submission\" value=\"", "\"").unwrap();
    assert_ne!(other, submission);
}

#[tokio::test]
async fn unpaid_online_orders_are_cancelled_with_their_reason_and_stay_so() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "late@example.org", "test")
        .await;
    let public_id = placed
        .location()
        .unwrap()
        .trim_start_matches("/payment/test/")
        .to_owned();
    let transfer = app
        .order(&client(), "X-PACK5", "1", "slow@example.org", "transfer")
        .await;
    assert_eq!(transfer.status, 303);
    lms_shop::services::housekeeping::tidy(&app.state)
        .await
        .unwrap();
    assert_eq!(app.bill_state(&public_id).await, "PLACED", "not yet");

    app.exec("UPDATE bills SET created_at = now() - interval '25 hours'")
        .await;
    lms_shop::services::housekeeping::tidy(&app.state)
        .await
        .unwrap();
    assert_eq!(app.bill_state(&public_id).await, "CANCELLED");
    let note: String = sqlx::query_scalar(
        "SELECT e.note FROM bill_events e JOIN bills b ON b.id = e.bill_id
         WHERE b.public_id = $1 AND e.to_state = 'CANCELLED'",
    )
    .bind(&public_id)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(note.contains("not paid within 1440 minutes"), "{note}");
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE state = 'PENDING'")
            .await,
        1,
        "a bank transfer waits for the operator, it is not abandoned"
    );
    // The gateway's late answer changes nothing.
    let pay = app
        .post_with(&buyer, &format!("/payment/test/{public_id}/pay"), &[])
        .await;
    assert!(pay.status == 303 || pay.status == 409, "{}", pay.status);
    assert_eq!(app.bill_state(&public_id).await, "CANCELLED");
    assert_eq!(app.count("SELECT count(*) FROM product_instances").await, 0);
}

#[tokio::test]
async fn a_buyer_whose_session_was_lost_still_reaches_their_confirmation() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "lost@example.org", "test")
        .await;
    let placed_cookie = placed
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("placed="))
        .expect("the order sets the signed placed-bill cookie");
    let gateway = placed.location().unwrap().to_owned();
    let public_id = gateway.trim_start_matches("/payment/test/").to_owned();
    assert_eq!(
        app.post_with(&buyer, &format!("{gateway}/pay"), &[])
            .await
            .status,
        303
    );

    // The session is gone (a crash between the sign-in and its response, say); the browser
    // still has the cookie of the bill it placed.
    app.exec(r#"DELETE FROM "tower_sessions"."session""#).await;
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let url: reqwest::Url = app.base.parse().unwrap();
    jar.add_cookie_str(placed_cookie.split(';').next().unwrap(), &url);
    let browser = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let done = app
        .get_with(&browser, &format!("/checkout/done/{public_id}"))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(app.get_with(&browser, "/customer").await.status, 200);
    // A forged cookie names nothing.
    let forged = client();
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&format!("placed={public_id}.AAAA"), &url);
    let forged = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or(forged);
    assert_eq!(
        app.get_with(&forged, &format!("/checkout/done/{public_id}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_cycled_session_id_stays_readable_briefly_without_the_sign_in() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    create_user(&app, "cycle@example.org", "a good password").await;
    let existing = app
        .count(r#"SELECT count(*) FROM "tower_sessions"."session""#)
        .await;
    let browser = client();
    app.add_to_cart(&browser, "X-PACK5", "1").await;
    // The cart's session: the newest row (the operator who set up the catalogue has one too).
    let before: String = sqlx::query_scalar(
        r#"SELECT id FROM "tower_sessions"."session" ORDER BY expiry_date DESC LIMIT 1"#,
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        app.login_with(&browser, "cycle@example.org", "a good password")
            .await
            .status,
        303
    );
    let (old_left, old_expires_soon): (i64, bool) = sqlx::query_as(
        r#"SELECT count(*), bool_and(expiry_date <= now() + interval '61 seconds')
           FROM "tower_sessions"."session" WHERE id = $1"#,
    )
    .bind(&before)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!((old_left, old_expires_soon), (1, true));
    assert_eq!(
        app.count(r#"SELECT count(*) FROM "tower_sessions"."session""#)
            .await,
        existing + 2,
        "the new session exists beside it"
    );
    // Logging out removes the session for good.
    let sessions = app
        .count(r#"SELECT count(*) FROM "tower_sessions"."session""#)
        .await;
    app.post_with(&browser, "/logout", &[]).await;
    assert_eq!(
        app.count(r#"SELECT count(*) FROM "tower_sessions"."session""#)
            .await,
        sessions - 1
    );
}

#[tokio::test]
async fn unused_checkout_customers_are_removed_once_no_session_can_hold_them() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let left = client();
    app.cart_and_details(&left, "X-PACK5", "1", "left@example.org")
        .await;
    app.buy_and_pay(&client(), "X-PACK5", "1", "bought@example.org")
        .await;
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 2);
    app.exec("UPDATE customers SET updated_at = now() - interval '9 days'")
        .await;
    lms_shop::services::housekeeping::tidy(&app.state)
        .await
        .unwrap();
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM customers")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(emails, vec!["bought@example.org".to_owned()]);
}

#[tokio::test]
async fn every_instance_bills_the_price_just_saved_and_refuses_what_was_just_suspended() {
    let a = spawn_app().await;
    a.seat_catalogue().await;
    let b = spawn_on(a.db_url.clone(), a.db.clone()).await;
    // B has the catalogue in memory.
    assert!(b.get("/shop").await.body.contains("X-PACK5"));

    // An operator on A changes the price; a buyer on B orders 5 ms later.
    a.exec("UPDATE products SET price1 = 99900 WHERE code = 'X-PACK5'")
        .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let buyer = client();
    let placed = b
        .order(&buyer, "X-PACK5", "1", "price@example.org", "test")
        .await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let untaxed: i64 = sqlx::query_scalar("SELECT untaxed FROM bills")
        .fetch_one(&a.db)
        .await
        .unwrap();
    assert_eq!(untaxed, 99900, "billed at the new price");

    // B's shop page follows at once (LISTEN/NOTIFY), well before its cache would expire.
    let deadline = Instant::now() + Duration::from_secs(2);
    while !b.get("/shop").await.body.contains("999.00") {
        assert!(Instant::now() < deadline, "B still shows the old price");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Suspended on A: no instance takes an order for it.
    let buyer = client();
    let details = b
        .cart_and_details(&buyer, "X-PACK5", "1", "late@example.org")
        .await;
    assert_eq!(details.status, 303);
    a.exec("UPDATE products SET status = 'suspended' WHERE code = 'X-PACK5'")
        .await;
    let refused = b
        .post_with(
            &buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "test")],
        )
        .await;
    assert_ne!(refused.status, 303, "{}", refused.body);
    assert_eq!(a.count("SELECT count(*) FROM bills").await, 1);
    b.stop().await;
}

#[tokio::test]
async fn an_order_is_not_billed_at_another_total_than_the_one_reviewed() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.cart_and_details(&buyer, "X-PACK5", "1", "review@example.org")
        .await;
    let form = app.get_with(&buyer, "/checkout/order").await;
    let reviewed = extract_between(&form.body, "name=\"reviewed_total\" value=\"", "\"").unwrap();
    app.exec("UPDATE products SET price1 = price1 * 2 WHERE code = 'X-PACK5'")
        .await;
    let page = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[
                ("accept_terms", "1"),
                ("paymode", "test"),
                ("reviewed_total", &reviewed),
            ],
        )
        .await;
    assert_eq!(page.status, 409, "shown again with the new amounts");
    assert_eq!(app.count("SELECT count(*) FROM bills").await, 0);
    let new_total = extract_between(&page.body, "name=\"reviewed_total\" value=\"", "\"").unwrap();
    assert_ne!(new_total, reviewed);
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[
                ("accept_terms", "1"),
                ("paymode", "test"),
                ("reviewed_total", &new_total),
            ],
        )
        .await;
    assert_eq!(placed.status, 303);
}

#[tokio::test]
async fn a_logged_out_session_is_never_written_back() {
    use lms_shop::store::sessions::Sessions;
    use tower_sessions::session::{Id, Record};
    use tower_sessions::session_store::SessionStore;
    let app = spawn_app().await;
    let store = Sessions::new(app.db.clone());
    let mut record = Record {
        id: Id::default(),
        data: Default::default(),
        expiry_date: time::OffsetDateTime::now_utc() + time::Duration::days(7),
    };
    store.create(&mut record).await.unwrap();
    lms_shop::store::sessions::destroy(&app.db, &record.id)
        .await
        .unwrap();
    // A request still in flight with that session saves it afterwards.
    store.save(&record).await.unwrap();
    assert_eq!(
        app.count(r#"SELECT count(*) FROM "tower_sessions"."session""#)
            .await,
        0
    );
}
