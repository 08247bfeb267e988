//! Stripe as a card provider, against the fake Stripe of `fake_stripe.rs`: the buyer is sent
//! to a Checkout Session made for the bill, Stripe's signed webhook settles or declines it
//! (once, whatever the redeliveries), forged, stale or mismatched events change nothing, and
//! refunds go through the API.

use lms_shop::domain::Money;
use lms_shop::stripe::StripeError;
use serde_json::{Value, json};

use crate::fake_stripe::{FakeStripe, WEBHOOK_SECRET, now, signature_header};
use crate::helpers::*;

async fn enable_paymodes(app: &TestApp, paymodes: &[&str]) -> Page {
    let op = client();
    assert_eq!(
        app.login_with(&op, OPERATOR_EMAIL, OPERATOR_PASSWORD)
            .await
            .status,
        303
    );
    let mut form = vec![("shop_name", "Shop"), ("currency", "EUR")];
    form.extend(paymodes.iter().map(|m| ("paymodes", *m)));
    app.post_with(&op, "/admin/settings", &form).await
}

/// The seat catalogue, with Stripe enabled against a fresh fake Stripe.
async fn stripe_shop() -> (TestApp, FakeStripe) {
    let fake = FakeStripe::start().await;
    let app = spawn_stripe_app(fake.config()).await;
    app.seat_catalogue().await;
    let saved = enable_paymodes(&app, &["stripe", "test"]).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    (app, fake)
}

struct Checkout {
    buyer: reqwest::Client,
    public_id: String,
    session_id: String,
}

/// A buyer orders a seat pack with Stripe: the pay page links to the Checkout Session made
/// for the bill on Stripe.
async fn to_stripe(app: &TestApp, fake: &FakeStripe, email: &str) -> Checkout {
    let buyer = client();
    let placed = app.order(&buyer, "X-PACK5", "1", email, "stripe").await;
    assert_eq!(placed.status, 303, "{}", placed.body);
    let pay_page = placed.location().unwrap().to_owned();
    assert!(pay_page.starts_with("/payment/stripe/"), "{pay_page}");
    let public_id = pay_page.trim_start_matches("/payment/stripe/").to_owned();
    let url = checkout_link(app, &buyer, &public_id).await;
    let prefix = format!("{}/c/pay/", fake.base);
    assert!(url.starts_with(&prefix), "{url}");
    Checkout {
        buyer,
        public_id,
        session_id: url.trim_start_matches(&prefix).to_owned(),
    }
}

/// The "Continue to payment" link of the bill's pay page.
async fn checkout_link(app: &TestApp, buyer: &reqwest::Client, public_id: &str) -> String {
    let page = app
        .get_with(buyer, &format!("/payment/stripe/{public_id}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    extract_between(&page.body, "id=\"pay-stripe\" href=\"", "\"")
        .expect("a link to Stripe")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
}

/// Posts `body` to the shop's webhook with `signature` as its `Stripe-Signature`.
async fn deliver(app: &TestApp, body: &str, signature: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(app.url("/payment/stripe/webhook"))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_owned());
    if let Some(s) = signature {
        request = request.header("Stripe-Signature", s);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Delivers `body` signed now, as Stripe would.
async fn signed(app: &TestApp, body: &str) -> (u16, String) {
    let header = signature_header(WEBHOOK_SECRET, now(), body);
    deliver(app, body, Some(&header)).await
}

async fn bill_id(app: &TestApp, public_id: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM bills WHERE public_id = $1")
        .bind(public_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

async fn seats_of(app: &TestApp, public_id: &str) -> i64 {
    let id = bill_id(app, public_id).await;
    app.count(&format!(
        "SELECT count(*) FROM product_instances WHERE bill_id = {id}"
    ))
    .await
}

fn form_field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn a_stripe_checkout_is_paid_by_the_signed_webhook() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "card@example.org").await;
    let total: i64 = sqlx::query_scalar("SELECT total FROM bills WHERE public_id = $1")
        .bind(&c.public_id)
        .fetch_one(&app.db)
        .await
        .unwrap();

    // What the shop asked Stripe for: the bill's amount to the cent, its reference, the way
    // back, under the bill's idempotency key.
    let requests = fake.requests("/v1/checkout/sessions");
    assert_eq!(requests.len(), 1);
    let (key, form) = &requests[0];
    assert_eq!(
        key.as_deref(),
        Some(format!("checkout-{}", c.public_id).as_str())
    );
    let f = |name| form_field(form, name);
    assert_eq!(f("mode"), Some("payment"));
    assert_eq!(f("line_items[0][price_data][currency]"), Some("eur"));
    assert_eq!(
        f("line_items[0][price_data][unit_amount]"),
        Some(total.to_string().as_str())
    );
    assert_eq!(f("line_items[0][quantity]"), Some("1"));
    assert!(f("line_items[0][price_data][product_data][name]").is_some_and(|n| n.contains("B0")));
    assert_eq!(f("client_reference_id"), Some(c.public_id.as_str()));
    assert_eq!(f("metadata[bill]"), Some(c.public_id.as_str()));
    assert_eq!(f("customer_email"), Some("card@example.org"));
    assert_eq!(
        f("success_url"),
        Some(app.url(&format!("/checkout/done/{}", c.public_id)).as_str())
    );
    assert_eq!(
        f("cancel_url"),
        Some(
            app.url(&format!("/payment/stripe/{}?cancelled=1", c.public_id))
                .as_str()
        )
    );

    // Coming again (or back from Stripe) reuses the session.
    let again = checkout_link(&app, &c.buyer, &c.public_id).await;
    assert_eq!(again, format!("{}/c/pay/{}", fake.base, c.session_id));
    assert_eq!(fake.session_count(), 1);
    let back = app
        .get_with(
            &c.buyer,
            &format!("/payment/stripe/{}?cancelled=1", c.public_id),
        )
        .await;
    assert!(
        back.body.contains("id=\"stripe-cancelled\""),
        "{}",
        back.body
    );

    // Back on the shop before the webhook: the payment is being confirmed.
    let done = app
        .get_with(&c.buyer, &format!("/checkout/done/{}", c.public_id))
        .await;
    assert_eq!(done.status, 200);
    assert!(
        done.body.contains("id=\"stripe-confirming\""),
        "{}",
        done.body
    );
    assert_eq!(app.bill_state(&c.public_id).await, "PLACED");

    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session.clone());
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "COMPLETE");
    assert_eq!(seats_of(&app, &c.public_id).await, 5);
    let id = bill_id(&app, &c.public_id).await;
    let intent: Option<String> =
        sqlx::query_scalar("SELECT payment_intent FROM stripe_checkouts WHERE bill_id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(intent.as_deref(), session["payment_intent"].as_str());
    let invoiced = app
        .count(&format!(
            "SELECT count(*) FROM bills WHERE id = {id} AND invoice_number IS NOT NULL"
        ))
        .await;
    assert_eq!(invoiced, 1);
    let done = app
        .get_with(&c.buyer, &format!("/checkout/done/{}", c.public_id))
        .await;
    assert!(!done.body.contains("stripe-confirming"));
    // Once paid, the pay page leads to the confirmation.
    let pay = app
        .get_with(&c.buyer, &format!("/payment/stripe/{}", c.public_id))
        .await;
    assert_eq!(pay.status, 303);
}

#[tokio::test]
async fn the_same_event_delivered_again_and_concurrently_is_applied_once() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "twice@example.org").await;
    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session);
    let deliveries = (0..10).map(|_| signed(&app, &event));
    let answers = futures::future::join_all(deliveries).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    let paid = answers.iter().filter(|(_, b)| b == "paid").count();
    assert_eq!(paid, 1, "{answers:?}");
    assert_eq!(signed(&app, &event).await, (200, "duplicate".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "COMPLETE");
    assert_eq!(seats_of(&app, &c.public_id).await, 5);
    let id = bill_id(&app, &c.public_id).await;
    let paid_lines = app
        .count(&format!(
            "SELECT count(*) FROM bill_events WHERE bill_id = {id} AND to_state = 'PAID'"
        ))
        .await;
    assert_eq!(paid_lines, 1);
    assert_eq!(app.count("SELECT count(*) FROM stripe_events").await, 1);
    // Another event of the same payment (a delayed method's confirmation) changes nothing.
    let session = fake.session(&c.session_id);
    let late = fake.event("checkout.session.async_payment_succeeded", session);
    assert_eq!(signed(&app, &late).await, (200, "ignored".into()));
    assert_eq!(seats_of(&app, &c.public_id).await, 5);
}

#[tokio::test]
async fn a_forged_or_stale_signature_is_refused_and_changes_nothing() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "forged@example.org").await;
    let event = fake.event("checkout.session.completed", fake.pay(&c.session_id));
    let t = now();
    let cases = [
        ("no header", None),
        (
            "another secret",
            Some(signature_header("whsec_someone_else", t, &event)),
        ),
        (
            "older than the tolerance",
            Some(signature_header(WEBHOOK_SECRET, t - 301, &event)),
        ),
        (
            "from the future",
            Some(signature_header(WEBHOOK_SECRET, t + 301, &event)),
        ),
        (
            "another body",
            Some(signature_header(
                WEBHOOK_SECRET,
                t,
                &event.replace("paid", "unpaid"),
            )),
        ),
        ("garbage", Some("t=abc,v1=00".to_owned())),
    ];
    for (what, header) in cases {
        let (status, _) = deliver(&app, &event, header.as_deref()).await;
        assert_eq!(status, 400, "{what}");
    }
    assert_eq!(app.bill_state(&c.public_id).await, "PLACED");
    assert_eq!(app.count("SELECT count(*) FROM stripe_events").await, 0);
    assert_eq!(seats_of(&app, &c.public_id).await, 0);
    // Signed within the tolerance (an old-but-allowed delivery), it is applied.
    let header = signature_header(WEBHOOK_SECRET, t - 290, &event);
    assert_eq!(
        deliver(&app, &event, Some(&header)).await,
        (200, "paid".into())
    );
}

#[tokio::test]
async fn an_amount_or_currency_mismatch_is_recorded_and_not_settled() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "mismatch@example.org").await;
    let paid = fake.pay(&c.session_id);
    let total = paid["amount_total"].as_i64().unwrap();
    let mut less = paid.clone();
    less["amount_total"] = json!(total - 1);
    let mut dollars = paid.clone();
    dollars["currency"] = json!("usd");
    for session in [less, dollars] {
        let event = fake.event("checkout.session.completed", session);
        assert_eq!(signed(&app, &event).await, (200, "mismatch".into()));
    }
    assert_eq!(app.bill_state(&c.public_id).await, "PLACED");
    assert_eq!(seats_of(&app, &c.public_id).await, 0);
    let id = bill_id(&app, &c.public_id).await;
    let noted = app
        .count(&format!(
            "SELECT count(*) FROM bill_events WHERE bill_id = {id} AND note LIKE '%not settled%'"
        ))
        .await;
    assert_eq!(noted, 2);
    let recorded = app
        .count(&format!(
            "SELECT count(*) FROM stripe_events WHERE bill_id = {id} AND outcome = 'mismatch'"
        ))
        .await;
    assert_eq!(recorded, 2);
    // The operator sees it in the bill's history.
    app.login_operator().await;
    let page = app.get(&format!("/admin/bills/{id}")).await;
    assert!(page.body.contains("not settled"), "{}", page.body);
}

#[tokio::test]
async fn an_expired_session_declines_the_bill_and_other_events_are_ignored() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "late@example.org").await;
    let other = fake.event(
        "customer.created",
        json!({"id": "cus_1", "object": "customer"}),
    );
    assert_eq!(signed(&app, &other).await, (200, "ignored".into()));
    let event = fake.event("checkout.session.expired", fake.expire(&c.session_id));
    assert_eq!(signed(&app, &event).await, (200, "refused".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "REFUSED");
    let id = bill_id(&app, &c.public_id).await;
    let invoiced = app
        .count(&format!(
            "SELECT count(*) FROM bills WHERE id = {id} AND invoice_number IS NOT NULL"
        ))
        .await;
    assert_eq!(invoiced, 0, "a declined bill takes no invoice number");
    let done = app
        .get_with(&c.buyer, &format!("/checkout/done/{}", c.public_id))
        .await;
    assert!(
        done.body.contains("/checkout/order"),
        "a retry: {}",
        done.body
    );
    // A payment arriving for it anyway is not settled, and is noted for a refund.
    let mut paid: Value = fake.session(&c.session_id);
    paid["payment_status"] = json!("paid");
    paid["payment_intent"] = json!("pi_late");
    let event = fake.event("checkout.session.completed", paid);
    assert_eq!(signed(&app, &event).await, (200, "not_awaiting".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "REFUSED");
}

#[tokio::test]
async fn a_refund_goes_through_stripes_api_once_per_key() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "refund@example.org").await;
    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session.clone());
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    let stripe = app.state.stripe.as_ref().unwrap();
    let intent =
        lms_shop::services::stripe::payment_intent(&app.state, bill_id(&app, &c.public_id).await)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(Some(intent.as_str()), session["payment_intent"].as_str());

    let refund = stripe
        .refund(&intent, Money::from_minor(1000), "refund-1")
        .await
        .unwrap();
    assert_eq!(refund.amount, 1000);
    assert_eq!(refund.currency, "eur");
    assert_eq!(refund.status, "succeeded");
    assert_eq!(refund.payment_intent.as_deref(), Some(intent.as_str()));
    // The same refund retried (a timeout): the same object, no second refund.
    let again = stripe
        .refund(&intent, Money::from_minor(1000), "refund-1")
        .await
        .unwrap();
    assert_eq!(again, refund);
    let requests = fake.requests("/v1/refunds");
    assert_eq!(requests[0].0.as_deref(), Some("refund-1"));
    assert_eq!(
        form_field(&requests[0].1, "payment_intent"),
        Some(intent.as_str())
    );
    assert_eq!(form_field(&requests[0].1, "amount"), Some("1000"));

    // More than what is left is Stripe's refusal, with its message.
    let total = session["amount_total"].as_i64().unwrap();
    let over = stripe
        .refund(&intent, Money::from_minor(total), "refund-2")
        .await;
    assert!(
        matches!(&over, Err(StripeError::Api { status: 400, .. })),
        "{over:?}"
    );
    let unknown = stripe
        .refund("pi_unknown", Money::from_minor(1), "refund-3")
        .await;
    assert!(
        matches!(&unknown, Err(StripeError::Api { .. })),
        "{unknown:?}"
    );
    // The rest, exactly.
    let rest = stripe
        .refund(&intent, Money::from_minor(total - 1000), "refund-4")
        .await
        .unwrap();
    assert_eq!(rest.amount, total - 1000);
}

#[tokio::test]
async fn stripe_is_not_offered_without_its_keys() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let refused = enable_paymodes(&app, &["stripe", "test"]).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    app.login_operator().await;
    let settings = app.get("/admin/settings").await;
    assert!(
        settings.body.contains("STRIPE_SECRET_KEY"),
        "{}",
        settings.body
    );
    assert!(
        settings
            .body
            .contains("name=\"paymodes\" value=\"stripe\" disabled"),
        "{}",
        settings.body
    );
    // Even enabled behind the shop's back (keys removed after it was enabled), the checkout
    // neither offers nor takes it.
    app.exec("UPDATE settings SET paymodes = ARRAY['stripe', 'test']")
        .await;
    app.state.catalogue.invalidate();
    let buyer = client();
    let details = app
        .cart_and_details(&buyer, "X-PACK5", "1", "nokeys@example.org")
        .await;
    assert_eq!(details.status, 303);
    let review = app.get_with(&buyer, "/checkout/order").await;
    assert!(!review.body.contains("value=\"stripe\""), "{}", review.body);
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "stripe")],
        )
        .await;
    assert_ne!(placed.status, 303, "{}", placed.body);
    assert_eq!(app.count("SELECT count(*) FROM bills").await, 0);
    let (status, _) = signed(&app, "{}").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_operator_sees_whether_stripe_is_in_test_or_live_mode() {
    let (app, fake) = stripe_shop().await;
    app.login_operator().await;
    let settings = app.get("/admin/settings").await;
    assert!(settings.body.contains("id=\"stripe-mode\""));
    assert!(settings.body.contains("Test mode"), "{}", settings.body);
    let review_client = client();
    app.cart_and_details(&review_client, "X-PACK5", "1", "review@example.org")
        .await;
    let review = app.get_with(&review_client, "/checkout/order").await;
    assert!(review.body.contains("value=\"stripe\""), "{}", review.body);

    let c = to_stripe(&app, &fake, "mode@example.org").await;
    let event = fake.event("checkout.session.completed", fake.pay(&c.session_id));
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    let id = bill_id(&app, &c.public_id).await;
    let bill = app.get(&format!("/admin/bills/{id}")).await;
    assert!(bill.body.contains("id=\"stripe-details\""), "{}", bill.body);
    assert!(bill.body.contains("Test mode"));
    assert!(bill.body.contains(&c.session_id));

    // A live key says so.
    let mut live = fake.config();
    live.secret_key = "sk_live_51SomethingReal".to_owned().into();
    let live_app = spawn_stripe_app(live).await;
    live_app.login_operator().await;
    let settings = live_app.get("/admin/settings").await;
    assert!(settings.body.contains("Live mode"), "{}", settings.body);
}

#[tokio::test]
async fn an_unpaid_stripe_order_is_not_cancelled_while_its_session_is_open() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "slow@example.org").await;
    // Older than the shop's expiry of unpaid orders, but its session is still open.
    app.exec("UPDATE bills SET created_at = now() - interval '3 days'")
        .await;
    let cancelled = lms_shop::services::housekeeping::cancel_abandoned_orders(&app.state)
        .await
        .unwrap();
    assert_eq!(cancelled, 0);
    assert_eq!(app.bill_state(&c.public_id).await, "PLACED");
    // Once the session has closed (its expiry event lost), the order is cancelled.
    app.exec("UPDATE stripe_checkouts SET expires_at = now() - interval '1 minute'")
        .await;
    let cancelled = lms_shop::services::housekeeping::cancel_abandoned_orders(&app.state)
        .await
        .unwrap();
    assert_eq!(cancelled, 1);
    assert_eq!(app.bill_state(&c.public_id).await, "CANCELLED");
    // A payment arriving after all is noted for a refund, not settled.
    let event = fake.event("checkout.session.completed", fake.pay(&c.session_id));
    assert_eq!(signed(&app, &event).await, (200, "not_awaiting".into()));
    let id = bill_id(&app, &c.public_id).await;
    let noted = app
        .count(&format!(
            "SELECT count(*) FROM bill_events WHERE bill_id = {id} AND note LIKE '%to be refunded%'"
        ))
        .await;
    assert_eq!(noted, 1);
}

#[tokio::test]
async fn a_session_the_shop_did_not_record_is_taken_from_the_signed_event_but_no_other() {
    let (app, fake) = stripe_shop().await;
    let c = to_stripe(&app, &fake, "lost@example.org").await;
    // Another session naming this bill, while the bill has its own: not this bill's payment.
    let mut stranger = fake.pay(&c.session_id);
    stranger["id"] = json!("cs_test_stranger");
    let event = fake.event("checkout.session.completed", stranger.clone());
    assert_eq!(signed(&app, &event).await, (200, "ignored".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "PLACED");
    // The shop stopped before recording its session: Stripe's signed event names it.
    app.exec("DELETE FROM stripe_checkouts").await;
    let event = fake.event("checkout.session.completed", fake.session(&c.session_id));
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    assert_eq!(app.bill_state(&c.public_id).await, "COMPLETE");
    let intent: Option<String> = sqlx::query_scalar("SELECT payment_intent FROM stripe_checkouts")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(intent.as_deref(), stranger["payment_intent"].as_str());
}

#[tokio::test]
async fn an_operator_refund_of_a_card_payment_goes_back_through_stripe() {
    let (app, fake) = stripe_shop().await;
    app.login_operator().await;
    let c = to_stripe(&app, &fake, "card-refund@example.org").await;
    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session.clone());
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    let bill = bill_id(&app, &c.public_id).await;
    assert_eq!(app.bill_state(&c.public_id).await, "COMPLETE");
    let total = session["amount_total"].as_i64().unwrap();

    let (review, _) = crate::refunds::review(&app, bill, &[("full", "1")]).await;
    assert!(
        review.body.contains("through Stripe"),
        "the operator is told how the money goes back: {}",
        review.body
    );
    let done = crate::refunds::refund(&app, bill, &[("full", "1")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(app.bill_state(&c.public_id).await, "REFUNDED");

    // Stripe was asked once, for the whole amount of this bill's payment, under a key that
    // names the bill.
    let requests = fake.requests("/v1/refunds");
    assert_eq!(requests.len(), 1);
    let (key, form) = &requests[0];
    // The bill's first refund: the same key whichever form asks it again (after a timeout).
    assert_eq!(
        key.as_deref(),
        Some(format!("refund-{}-1", c.public_id).as_str())
    );
    assert_eq!(
        form_field(form, "payment_intent"),
        session["payment_intent"].as_str()
    );
    assert_eq!(form_field(form, "amount"), Some(total.to_string().as_str()));
    let provider_id: Option<String> =
        sqlx::query_scalar("SELECT provider_refund_id FROM refunds WHERE bill_id = $1")
            .bind(bill)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        provider_id
            .as_deref()
            .is_some_and(|id| id.starts_with("re_")),
        "{provider_id:?}"
    );
    let mails = app.mails_to("card-refund@example.org").await;
    assert!(
        mails.iter().any(|(_, b)| b.contains("back to the card")),
        "{mails:?}"
    );

    // Later the bank refuses it: Stripe says so once (or again); the bill's history says the
    // money is still here, and the operators are told, once.
    let refund_id = provider_id.unwrap();
    let failed = fake.event(
        "refund.failed",
        json!({
            "id": refund_id,
            "object": "refund",
            "amount": total,
            "currency": "eur",
            "status": "failed",
            "failure_reason": "expired_or_canceled_card",
            "payment_intent": session["payment_intent"],
        }),
    );
    assert_eq!(signed(&app, &failed).await, (200, "refund_failed".into()));
    assert_eq!(signed(&app, &failed).await, (200, "duplicate".into()));
    let noted = app
        .count(&format!(
            "SELECT count(*) FROM bill_events WHERE bill_id = {bill} AND note LIKE '%failed: expired_or_canceled_card%'"
        ))
        .await;
    assert_eq!(noted, 1);
    let told = app.mails_to(OPERATOR_EMAIL).await;
    let warnings: Vec<_> = told
        .iter()
        .filter(|(s, _)| s.contains("card refund") && s.contains("failed"))
        .collect();
    assert_eq!(warnings.len(), 1, "{told:?}");
    assert!(warnings[0].1.contains(&format!("/admin/bills/{bill}")));
}

#[tokio::test]
async fn a_refund_stripe_refuses_records_nothing() {
    let (app, fake) = stripe_shop().await;
    app.login_operator().await;
    let c = to_stripe(&app, &fake, "refused-refund@example.org").await;
    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session.clone());
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    let bill = bill_id(&app, &c.public_id).await;
    // The whole payment was already refunded from Stripe's dashboard: Stripe refuses more.
    let intent = session["payment_intent"].as_str().unwrap();
    let total = session["amount_total"].as_i64().unwrap();
    app.state
        .stripe
        .as_ref()
        .unwrap()
        .refund(intent, Money::from_minor(total), "dashboard")
        .await
        .unwrap();

    let refused = crate::refunds::refund(&app, bill, &[("full", "1")]).await;
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(
        refused.body.contains("nothing was recorded"),
        "{}",
        refused.body
    );
    assert_eq!(app.bill_state(&c.public_id).await, "COMPLETE");
    assert_eq!(app.count("SELECT count(*) FROM refunds").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        0,
        "no seat taken back"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM credit_note_counters WHERE last > 0")
            .await,
        0,
        "no credit-note number used"
    );
}

#[tokio::test]
async fn units_taken_back_after_their_money_ask_stripe_for_nothing() {
    let (app, fake) = stripe_shop().await;
    app.login_operator().await;
    let c = to_stripe(&app, &fake, "gesture@example.org").await;
    let session = fake.pay(&c.session_id);
    let event = fake.event("checkout.session.completed", session.clone());
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    let bill = bill_id(&app, &c.public_id).await;
    let item = app
        .count(&format!(
            "SELECT id FROM bill_items WHERE bill_id = {bill} ORDER BY line_no LIMIT 1"
        ))
        .await;
    let total = session["amount_total"].as_i64().unwrap();
    let amount = format!("{}.{:02}", total / 100, total % 100);

    // All the money back first (a gesture), the seats kept...
    let field = format!("amount_{item}");
    let money = crate::refunds::refund(&app, bill, &[(field.as_str(), amount.as_str())]).await;
    assert_eq!(money.status, 303, "{}", money.body);
    assert_eq!(fake.requests("/v1/refunds").len(), 1);
    // ...then the units: nothing more to send, so Stripe is not asked, and the bill is done.
    let units = crate::refunds::refund(&app, bill, &[("full", "1")]).await;
    assert_eq!(units.status, 303, "{}", units.body);
    assert_eq!(fake.requests("/v1/refunds").len(), 1);
    assert_eq!(app.bill_state(&c.public_id).await, "REFUNDED");
}

#[tokio::test]
async fn an_operator_cancelling_a_stripe_order_closes_its_session_unless_the_buyer_paid() {
    let (app, fake) = stripe_shop().await;
    app.login_operator().await;
    // Unpaid: the session is expired at Stripe, then the order cancelled.
    let c = to_stripe(&app, &fake, "cancel-me@example.org").await;
    let id = bill_id(&app, &c.public_id).await;
    let cancelled = app.post(&format!("/admin/bills/{id}/cancel"), &[]).await;
    assert_eq!(cancelled.status, 303, "{}", cancelled.body);
    assert_eq!(app.bill_state(&c.public_id).await, "CANCELLED");
    assert_eq!(fake.session(&c.session_id)["status"], json!("expired"));

    // Paid on Stripe, its webhook not arrived yet: the order is kept, and delivered when
    // the event comes.
    let paid = to_stripe(&app, &fake, "paid-already@example.org").await;
    let session = fake.pay(&paid.session_id);
    let id = bill_id(&app, &paid.public_id).await;
    let refused = app.post(&format!("/admin/bills/{id}/cancel"), &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("already paid"), "{}", refused.body);
    assert_eq!(app.bill_state(&paid.public_id).await, "PLACED");
    let event = fake.event("checkout.session.completed", session);
    assert_eq!(signed(&app, &event).await, (200, "paid".into()));
    assert_eq!(app.bill_state(&paid.public_id).await, "COMPLETE");
}
