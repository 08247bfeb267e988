//! The attacker's findings of issue 15, each replayed: goods without payment, accounts
//! claimed before their owner arrives, redirects off-site, throttles that fill memory or
//! lock owners out, CSRF tokens that outlive their session.

use crate::helpers::*;

/// Sets the enabled payment methods as an operator would.
async fn enable_paymodes(app: &TestApp, paymodes: &[&str]) {
    let op = client();
    assert_eq!(
        app.login_with(&op, OPERATOR_EMAIL, OPERATOR_PASSWORD)
            .await
            .status,
        303
    );
    let mut form = vec![("shop_name", "Shop"), ("currency", "EUR")];
    form.extend(paymodes.iter().map(|m| ("paymodes", *m)));
    let saved = app.post_with(&op, "/admin/settings", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
}

fn public_id_of(placed: &Page) -> String {
    let location = placed.location().expect("a redirect after the order");
    location
        .trim_start_matches("/payment/test/")
        .trim_start_matches("/checkout/done/")
        .to_owned()
}

async fn signed_notify(app: &TestApp, public_id: &str, amount: i64, currency: &str) -> u16 {
    let (signature, body) = lms_shop::services::payment::notification(
        &app.state.gateway_key,
        public_id,
        amount,
        currency,
        true,
    );
    client()
        .post(app.url("/payment/test/notify"))
        .header("x-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn bill_total(app: &TestApp, public_id: &str) -> i64 {
    sqlx::query_scalar("SELECT total FROM bills WHERE public_id = $1")
        .bind(public_id)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_transfer_bill_cannot_be_paid_through_the_test_gateway() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "transfer@example.org", "transfer")
        .await;
    let public_id = public_id_of(&placed);
    assert_eq!(app.bill_state(&public_id).await, "PENDING");

    // The buyer's own browser, then a signed notification for the right amount.
    for action in ["", "/pay", "/decline"] {
        let path = format!("/payment/test/{public_id}{action}");
        let status = if action.is_empty() {
            app.get_with(&buyer, &path).await.status
        } else {
            app.post_with(&buyer, &path, &[]).await.status
        };
        assert_eq!(status, 404, "{path}");
    }
    let total = bill_total(&app, &public_id).await;
    assert_eq!(signed_notify(&app, &public_id, total, "EUR").await, 409);

    assert_eq!(app.bill_state(&public_id).await, "PENDING");
    assert_eq!(app.count("SELECT count(*) FROM product_instances").await, 0);
    // Only an operator settles it.
    app.login_operator().await;
    let bill_id: i64 = sqlx::query_scalar("SELECT id FROM bills")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let paid = app.post(&format!("/admin/bills/{bill_id}/paid"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
}

#[tokio::test]
async fn a_disabled_gateway_answers_404_and_settles_nothing() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let placed = app
        .order(&buyer, "X-PACK5", "1", "late@example.org", "test")
        .await;
    let public_id = public_id_of(&placed);
    enable_paymodes(&app, &["transfer"]).await;

    assert_eq!(
        app.get_with(&buyer, &format!("/payment/test/{public_id}"))
            .await
            .status,
        404
    );
    let pay = app
        .post_with(&buyer, &format!("/payment/test/{public_id}/pay"), &[])
        .await;
    assert_eq!(pay.status, 404);
    let total = bill_total(&app, &public_id).await;
    assert_eq!(signed_notify(&app, &public_id, total, "EUR").await, 409);
    assert_eq!(app.bill_state(&public_id).await, "PLACED");
    assert_eq!(app.count("SELECT count(*) FROM product_instances").await, 0);
}

#[tokio::test]
async fn another_browser_cannot_pay_or_decline_someone_elses_bill() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let placed = app
        .order(&client(), "X-PACK5", "1", "owner@example.org", "test")
        .await;
    let public_id = public_id_of(&placed);
    let stranger = client();
    for action in ["/pay", "/decline"] {
        let page = app
            .post_with(
                &stranger,
                &format!("/payment/test/{public_id}{action}"),
                &[],
            )
            .await;
        assert_eq!(page.status, 404, "{action}");
    }
    assert_eq!(
        app.get_with(&stranger, &format!("/payment/test/{public_id}"))
            .await
            .status,
        404
    );
    assert_eq!(app.bill_state(&public_id).await, "PLACED");
}

#[tokio::test]
async fn a_notification_in_another_currency_is_refused() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let placed = app
        .order(&client(), "X-PACK5", "1", "usd@example.org", "test")
        .await;
    let public_id = public_id_of(&placed);
    let total = bill_total(&app, &public_id).await;
    assert_eq!(signed_notify(&app, &public_id, total, "USD").await, 400);
    assert_eq!(app.bill_state(&public_id).await, "PLACED");
    assert_eq!(signed_notify(&app, &public_id, total, "EUR").await, 200);
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
}

/// The set-password link of the last mail to `email` that carries one.
async fn last_link(app: &TestApp, email: &str) -> String {
    app.password_links(email)
        .await
        .pop()
        .expect("a set-password link")
}

async fn choose_password(app: &TestApp, browser: &reqwest::Client, link: &str) -> Page {
    app.choose_password(browser, link).await
}

#[tokio::test]
async fn an_account_claimed_at_checkout_reaches_only_its_purchase_until_the_owner_proves_the_address()
 {
    let app = spawn_app().await;
    app.seat_catalogue().await;

    // The attacker buys with the victim's address and is signed in by the confirmation.
    let attacker = client();
    let bill = app
        .buy_and_pay(&attacker, "X-PACK5", "1", "victim@example.org")
        .await;
    let done = app
        .get_with(&attacker, &format!("/checkout/done/{bill}"))
        .await;
    assert_eq!(done.status, 200);
    let cookie = done
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("session="))
        .expect("the sign-in sets the session cookie");
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "the purchase sign-in ends with the browser session: {cookie}"
    );
    assert!(!done.body.contains("href=\"/my/courses\""));
    assert!(
        done.body.contains("id=\"verify-notice\""),
        "the buyer is told why"
    );
    assert_eq!(app.get_with(&attacker, "/customer").await.status, 200);
    assert_eq!(app.get_with(&attacker, "/my/courses").await.status, 403);
    assert_eq!(
        app.get_with(&attacker, "/customer/details").await.status,
        403
    );

    // The victim's employer gives them a seat: the course is not the attacker's to see.
    let employer = client();
    let employer_bill = app
        .buy_and_pay(&employer, "X-PACK5", "1", "employer@example.org")
        .await;
    app.get_with(&employer, &format!("/checkout/done/{employer_bill}"))
        .await;
    let reference: String = sqlx::query_scalar(
        "SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id
         WHERE c.email = 'employer@example.org' LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    let course: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = 'X-A1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let assigned = app
        .post_with(
            &employer,
            &format!("/customer/products/{reference}/assign"),
            &[
                ("course", &course.to_string()),
                ("email", "victim@example.org"),
                ("firstname", "Vic"),
                ("lastname", "Tim"),
            ],
        )
        .await;
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    assert_eq!(app.get_with(&attacker, "/my/courses").await.status, 403);
    assert_eq!(app.get_with(&attacker, "/course/X-A1").await.status, 403);
    assert_eq!(
        app.count("SELECT count(*) FROM enrolments e JOIN courses c ON c.id = e.course_id WHERE c.shortname = 'X-A1' AND e.first_access_at IS NOT NULL")
            .await,
        0,
        "the attacker's visit is not the learner's activity"
    );

    // The owner proves the address with the link the seat's mail brought them.
    let owner = client();
    let link = last_link(&app, "victim@example.org").await;
    let set = choose_password(&app, &owner, &link).await;
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(app.get_with(&owner, "/my/courses").await.status, 200);
    assert_eq!(app.get_with(&owner, "/course/X-A1").await.status, 200);

    // The attacker's session is over, and the older link (the checkout's welcome) is void.
    let after = app.get_with(&attacker, "/customer").await;
    assert_eq!(after.status, 303);
    assert!(after.location().unwrap().starts_with("/login"));
    let first_link = app.password_links("victim@example.org").await.remove(0);
    assert_ne!(first_link, link);
    assert_eq!(
        choose_password(&app, &client(), &first_link).await.status,
        410
    );
}

#[tokio::test]
async fn setting_a_password_ends_every_other_session_and_link() {
    let app = spawn_app().await;
    create_user(&app, "owner@example.org", "the old password").await;
    let elsewhere = client();
    assert_eq!(
        app.login_with(&elsewhere, "owner@example.org", "the old password")
            .await
            .status,
        303
    );
    assert_eq!(app.get_with(&elsewhere, "/my/courses").await.status, 200);

    let here = client();
    for _ in 0..2 {
        let asked = app
            .post_with(&here, "/password/forgot", &[("email", "owner@example.org")])
            .await;
        assert_eq!(asked.status, 200);
    }
    let links = app.password_links("owner@example.org").await;
    assert_eq!(links.len(), 2);
    assert_eq!(choose_password(&app, &here, &links[1]).await.status, 303);

    let page = app.get_with(&elsewhere, "/my/courses").await;
    assert_eq!(page.status, 303, "the other session is over");
    assert_eq!(
        choose_password(&app, &client(), &links[0]).await.status,
        410
    );
    assert_eq!(app.get_with(&here, "/my/courses").await.status, 200);
}

#[tokio::test]
async fn next_never_leads_off_site_and_control_characters_never_break_the_redirect() {
    let app = spawn_app().await;
    create_user(&app, "nav@example.org", "a good password").await;
    for (i, next) in [
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "/customer\r\nSet-Cookie: x=y",
        "/\u{1}",
        "/\u{7f}",
    ]
    .into_iter()
    .enumerate()
    {
        // One client address each: the throttle allows five attempts per account and client.
        let browser = client_from([127, 0, 1, u8::try_from(i).unwrap() + 1]);
        let page = app
            .post_with(
                &browser,
                "/login",
                &[
                    ("email", "nav@example.org"),
                    ("password", "a good password"),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{next:?}");
        assert_eq!(
            page.location(),
            Some("/my/courses"),
            "the default landing: {next:?}"
        );
        let form = app
            .get_with(
                &browser,
                &format!(
                    "/login?{}",
                    serde_urlencoded::to_string([("next", next)]).unwrap()
                ),
            )
            .await;
        assert_eq!(form.status, 200, "{next:?}");
    }
}

/// A client whose requests come from `ip` (any 127.x address reaches the test server).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

#[tokio::test]
async fn guesses_from_elsewhere_do_not_lock_the_owner_out() {
    let app = spawn_app().await;
    create_user(&app, "locked@example.org", "the right password").await;
    let attacker = client_from([127, 0, 0, 2]);
    for _ in 0..8 {
        app.login_with(&attacker, "locked@example.org", "wrong guess")
            .await;
    }
    let refused = app
        .login_with(&attacker, "locked@example.org", "the right password")
        .await;
    assert_eq!(refused.status, 429, "the guessing client is throttled");
    let owner = client_from([127, 0, 0, 3]);
    let page = app
        .login_with(&owner, "locked@example.org", "the right password")
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
}

#[tokio::test]
async fn huge_emails_cost_no_memory_in_the_throttle() {
    let app = spawn_app().await;
    let before = app.state.login_throttle.tracked_keys();
    let huge = format!("{}@example.org", "a".repeat(60_000));
    let browser = client_from([127, 0, 0, 4]);
    for path in ["/login", "/password/forgot"] {
        for _ in 0..5 {
            let page = app
                .post_with(
                    &browser,
                    path,
                    &[("email", huge.as_str()), ("password", "x")],
                )
                .await;
            assert!(page.status < 500, "{path}: {}", page.status);
            assert!(page.body.len() < 50_000, "the page does not echo it");
        }
    }
    assert_eq!(
        app.state.login_throttle.tracked_keys(),
        before,
        "no key for what is not an address"
    );
}

#[tokio::test]
async fn the_details_step_cannot_be_used_to_list_accounts_quickly() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let prober = client_from([127, 0, 0, 5]);
    app.add_to_cart(&prober, "X-PACK5", "1").await;
    let mut statuses = Vec::new();
    for i in 0..35 {
        let email = format!("probe{i}@example.org");
        let page = app
            .post_with(&prober, "/checkout/customer", &customer_form(&email))
            .await;
        statuses.push(page.status);
    }
    assert!(statuses[..30].iter().all(|s| *s == 303), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
}

#[tokio::test]
async fn a_customer_cannot_take_another_users_address() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    create_user(&app, "someone@example.org", "a good password").await;
    let customer = client();
    app.buy_and_pay(&customer, "X-PACK5", "1", "me@example.org")
        .await;
    // A customer with a password (full access) edits their details.
    let link = last_link(&app, "me@example.org").await;
    assert_eq!(choose_password(&app, &customer, &link).await.status, 303);
    let mut form = customer_form("someone@example.org");
    form.retain(|(k, _)| *k != "firstname");
    form.push(("firstname", "Kept"));
    let page = app.post_with(&customer, "/customer/details", &form).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("value=\"Kept\""), "what was typed stays");
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE email = 'someone@example.org'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_csrf_token_is_valid_only_in_the_session_it_was_issued_to() {
    let app = spawn_app().await;
    create_user(&app, "victim2@example.org", "a good password").await;
    // The attacker's own anonymous token and nonce.
    let attacker = client();
    let login_page = app.get_with(&attacker, "/login").await;
    let token = login_page.csrf().unwrap();
    let nonce = login_page
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find_map(|c| {
            c.strip_prefix("csrf=")
                .map(|rest| rest.split(';').next().unwrap().to_owned())
        })
        .unwrap();

    // The victim is signed in; the attacker plants its nonce in the victim's browser.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let victim = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        app.login_with(&victim, "victim2@example.org", "a good password")
            .await
            .status,
        303
    );
    let url: reqwest::Url = app.base.parse().unwrap();
    jar.add_cookie_str(&format!("csrf={nonce}; Path=/"), &url);
    let forged = app
        .post_raw(&victim, "/logout", &[("csrf_token", &token)])
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.get_with(&victim, "/my/courses").await.status, 200);
}

#[tokio::test]
async fn signed_in_pages_are_never_cached() {
    let app = spawn_app().await;
    app.login_operator().await;
    for path in ["/admin", "/shop", "/login"] {
        let page = app.get(path).await;
        assert_eq!(
            page.headers.get("cache-control").unwrap(),
            "no-store",
            "{path}"
        );
    }
    let css = app.get("/static/style.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("max-age")
    );
}

#[tokio::test]
async fn the_purchase_sign_in_is_not_given_again_after_logout_nor_for_a_transfer() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    let bill = app
        .buy_and_pay(&buyer, "X-PACK5", "1", "shared-pc@example.org")
        .await;
    app.get_with(&buyer, &format!("/checkout/done/{bill}"))
        .await;
    assert_eq!(app.get_with(&buyer, "/customer").await.status, 200);
    app.post_with(&buyer, "/logout", &[]).await;
    // The next person at this browser opens the confirmation from the history.
    let again = app
        .get_with(&buyer, &format!("/checkout/done/{bill}"))
        .await;
    assert_ne!(
        again.status, 200,
        "the right to the bill left with the logout"
    );
    assert_eq!(app.get_with(&buyer, "/customer").await.status, 303);

    // A transfer completed later by an operator signs nobody in.
    let payer = client();
    let placed = app
        .order(
            &payer,
            "X-PACK5",
            "1",
            "transfer-later@example.org",
            "transfer",
        )
        .await;
    let public_id = public_id_of(&placed);
    app.login_operator().await;
    let bill_id: i64 = sqlx::query_scalar("SELECT id FROM bills WHERE public_id = $1")
        .bind(&public_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    app.post(&format!("/admin/bills/{bill_id}/paid"), &[]).await;
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
    let done = app
        .get_with(&payer, &format!("/checkout/done/{public_id}"))
        .await;
    assert_eq!(done.status, 200);
    assert_eq!(app.get_with(&payer, "/customer").await.status, 303);
}

#[tokio::test]
async fn a_signed_in_buyer_cannot_give_their_account_another_users_address_at_checkout() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    create_user(&app, "owner@example.org", "a good password").await;
    create_user(&app, "buyer@example.org", "a good password").await;
    let buyer = client();
    assert_eq!(
        app.login_with(&buyer, "buyer@example.org", "a good password")
            .await
            .status,
        303
    );
    let page = app
        .cart_and_details(&buyer, "X-PACK5", "1", "owner@example.org")
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE email = 'owner@example.org'")
            .await,
        0
    );
}
