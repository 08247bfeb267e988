//! Changing a customer's address (issue 12): one account per address, and the account moves
//! to a new address only through a single-use, expiring link mailed to it.

use crate::helpers::*;

/// A customer with a password (full access), signed in on the returned client.
async fn customer(app: &TestApp, email: &str) -> reqwest::Client {
    app.seat_catalogue().await;
    let c = client();
    app.buy_and_pay(&c, "X-PACK5", "1", email).await;
    let link = app.password_links(email).await.pop().expect("a link");
    assert_eq!(app.choose_password(&c, &link).await.status, 303);
    c
}

/// The confirmation links mailed to `recipient`, oldest first, as paths of this app.
async fn confirmation_links(app: &TestApp, recipient: &str) -> Vec<String> {
    let prefix = format!("{}/account/email/", app.base);
    app.mails_to(recipient)
        .await
        .iter()
        .filter_map(|(_, body)| find_link(body, &prefix))
        .map(|l| l.trim_start_matches(&app.base).to_owned())
        .collect()
}

async fn signs_in(app: &TestApp, email: &str) -> bool {
    app.login_with(&client(), email, "a long passphrase")
        .await
        .status
        == 303
}

async fn emails_of_the_account(app: &TestApp) -> (String, String) {
    sqlx::query_as(
        "SELECT u.email, c.email FROM customers c JOIN users u ON u.id = c.user_id WHERE u.is_operator = FALSE",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_address_is_used_only_once_confirmed_from_it() {
    let app = spawn_app().await;
    let c = customer(&app, "old@example.org").await;
    let mut form = customer_form("new@example.org");
    form.retain(|(k, _)| *k != "city");
    form.push(("city", "Lyon"));
    let saved = app.post_with(&c, "/customer/details", &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let space = app.get_with(&c, "/customer").await;
    assert!(
        space.body.contains("We sent a link to new@example.org"),
        "{}",
        space.body
    );

    // Pending: the other details are saved, the address is not, and only the old one signs in.
    assert_eq!(
        emails_of_the_account(&app).await,
        ("old@example.org".into(), "old@example.org".into())
    );
    assert_eq!(
        app.count("SELECT count(*) FROM customers WHERE city = 'Lyon'")
            .await,
        1
    );
    assert!(signs_in(&app, "old@example.org").await);
    assert!(!signs_in(&app, "new@example.org").await);
    let notice = app.mails_to("old@example.org").await;
    assert!(
        notice
            .iter()
            .any(|(s, b)| s.contains("change of your email") && b.contains("new@example.org")),
        "the current address is told: {notice:?}"
    );
    let links = confirmation_links(&app, "new@example.org").await;
    assert_eq!(links.len(), 1);
    assert!(
        confirmation_links(&app, "old@example.org").await.is_empty(),
        "the link goes to the new address only"
    );

    // Opening the link changes nothing (mail scanners open links); its button does, once,
    // from any browser (the link is the proof).
    let shown = app.get_with(&client(), &links[0]).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("new@example.org"));
    assert_eq!(emails_of_the_account(&app).await.0, "old@example.org");
    let done = app.post_with(&client(), &links[0], &[]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("now signs in with new@example.org"));
    assert_eq!(
        emails_of_the_account(&app).await,
        ("new@example.org".into(), "new@example.org".into())
    );
    assert!(signs_in(&app, "new@example.org").await);
    assert!(!signs_in(&app, "old@example.org").await);

    // Single use.
    assert_eq!(app.post_with(&client(), &links[0], &[]).await.status, 410);
    assert_eq!(app.get_with(&client(), &links[0]).await.status, 410);
}

#[tokio::test]
async fn a_customer_cannot_make_the_shop_mail_an_address_again_and_again() {
    let app = spawn_app().await;
    let c = customer(&app, "sender@example.org").await;
    let form = customer_form("target@example.org");
    assert_eq!(
        app.post_with(&c, "/customer/details", &form).await.status,
        303
    );
    let again = app.post_with(&c, "/customer/details", &form).await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("a few minutes ago"));
    assert_eq!(app.mails_to("target@example.org").await.len(), 1);
    // The first link still works.
    let link = confirmation_links(&app, "target@example.org")
        .await
        .pop()
        .unwrap();
    assert_eq!(app.post_with(&client(), &link, &[]).await.status, 200);
}

#[tokio::test]
async fn a_link_for_an_address_taken_meanwhile_is_refused() {
    let app = spawn_app().await;
    let c = customer(&app, "first@example.org").await;
    let form = customer_form("wanted@example.org");
    assert_eq!(
        app.post_with(&c, "/customer/details", &form).await.status,
        303
    );
    let link = confirmation_links(&app, "wanted@example.org")
        .await
        .pop()
        .unwrap();
    // Someone else gets the address first (in another case: addresses match whatever the case).
    create_user(&app, "Wanted@Example.org", "another password").await;
    let refused = app.post_with(&client(), &link, &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("Another account already uses this address")
    );
    assert_eq!(
        emails_of_the_account(&app).await,
        ("first@example.org".into(), "first@example.org".into())
    );
    assert!(signs_in(&app, "first@example.org").await);
    // Taken before the request: refused on the form, nothing mailed.
    let page = app
        .post_with(
            &c,
            "/customer/details",
            &customer_form("wanted@example.org"),
        )
        .await;
    assert_eq!(page.status, 422);
    assert_eq!(
        confirmation_links(&app, "wanted@example.org").await.len(),
        1
    );
}

#[tokio::test]
async fn an_expired_or_superseded_link_does_nothing() {
    let app = spawn_app().await;
    let c = customer(&app, "me@example.org").await;
    for to in ["one@example.org", "two@example.org"] {
        let page = app
            .post_with(&c, "/customer/details", &customer_form(to))
            .await;
        assert_eq!(page.status, 303);
    }
    let first = confirmation_links(&app, "one@example.org")
        .await
        .pop()
        .unwrap();
    let second = confirmation_links(&app, "two@example.org")
        .await
        .pop()
        .unwrap();
    // Only the latest request counts.
    assert_eq!(app.post_with(&client(), &first, &[]).await.status, 410);
    // Past its lifetime.
    app.exec("UPDATE email_changes SET expires_at = now() - interval '1 second'")
        .await;
    assert_eq!(app.get_with(&client(), &second).await.status, 410);
    assert_eq!(app.post_with(&client(), &second, &[]).await.status, 410);
    assert_eq!(
        emails_of_the_account(&app).await,
        ("me@example.org".into(), "me@example.org".into())
    );
    // A link that never existed.
    assert_eq!(
        app.post_with(&client(), "/account/email/nope", &[])
            .await
            .status,
        410
    );
}

#[tokio::test]
async fn a_signed_in_buyer_changing_the_address_at_checkout_gets_the_same_confirmation() {
    let app = spawn_app().await;
    let c = customer(&app, "buyer@example.org").await;
    app.add_to_cart(&c, "X-PACK5", "1").await;
    let page = app
        .post_with(
            &c,
            "/checkout/customer",
            &customer_form("elsewhere@example.org"),
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(
        emails_of_the_account(&app).await,
        ("buyer@example.org".into(), "buyer@example.org".into()),
        "the customer record keeps the address the account signs in with"
    );
    assert_eq!(
        confirmation_links(&app, "elsewhere@example.org")
            .await
            .len(),
        1
    );
}
