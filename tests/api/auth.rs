use crate::helpers::*;

#[tokio::test]
async fn operator_logs_in_and_reaches_the_back_office() {
    let app = spawn_app().await;
    let page = app
        .login_with(&app.client, OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/admin"));
    let admin = app.get("/admin").await;
    assert_eq!(admin.status, 200);
    assert!(admin.body.contains("Dashboard"));
}

#[tokio::test]
async fn a_login_without_csrf_token_is_refused_and_signs_nobody_in() {
    let app = spawn_app().await;
    let _ = app.get("/login").await; // has the cookie, but sends no token
    let page = app
        .post_raw(
            &app.client,
            "/login",
            &[("email", OPERATOR_EMAIL), ("password", OPERATOR_PASSWORD)],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("did not come from this site"));
    assert_eq!(app.get("/admin").await.status, 303, "still anonymous");
    // A token from another visitor does not work either.
    let other = client();
    let foreign = app.csrf_for(&other).await;
    let page = app
        .post_raw(
            &app.client,
            "/login",
            &[
                ("email", OPERATOR_EMAIL),
                ("password", OPERATOR_PASSWORD),
                ("csrf_token", &foreign),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn wrong_password_keeps_the_email_and_says_so() {
    let app = spawn_app().await;
    let page = app
        .login_with(&app.client, OPERATOR_EMAIL, "not-the-password")
        .await;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("Wrong email or password"));
    assert!(page.body.contains(&format!("value=\"{OPERATOR_EMAIL}\"")));
    let unknown = app
        .login_with(&app.client, "nobody@example.org", "whatever-password")
        .await;
    assert_eq!(unknown.status, 401, "unknown accounts answer the same");
}

#[tokio::test]
async fn login_attempts_are_throttled_per_account() {
    let app = spawn_app().await;
    for _ in 0..5 {
        assert_eq!(
            app.login_with(&app.client, OPERATOR_EMAIL, "bad-password")
                .await
                .status,
            401
        );
    }
    let page = app
        .login_with(&app.client, OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    assert_eq!(
        page.status, 429,
        "even the right password waits once the budget is spent"
    );
    // Another visitor trying the same account is throttled too (per account, not per cookie).
    let other = client();
    assert_eq!(
        app.login_with(&other, OPERATOR_EMAIL, OPERATOR_PASSWORD)
            .await
            .status,
        429
    );
}

fn session_cookie(page: &Page) -> Option<String> {
    page.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("session="))
        .map(|c| c.split(';').next().unwrap_or("").to_owned())
}

#[tokio::test]
async fn the_session_id_changes_at_login_and_dies_at_logout() {
    let app = spawn_app().await;
    // Put something in an anonymous session first (the language is a cookie; use a failed login).
    let client = client();
    let before = app
        .login_with(&client, OPERATOR_EMAIL, "wrong-password")
        .await;
    let after = app
        .login_with(&client, OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await;
    let new_id = session_cookie(&after).expect("a session cookie is set at login");
    if let Some(old) = session_cookie(&before) {
        assert_ne!(old, new_id);
    }
    // Replaying the old session cookie after logout gets nothing.
    let page = app.post_with(&client, "/logout", &[]).await;
    assert_eq!(page.status, 303);
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = replay
        .get(app.url("/admin"))
        .header("cookie", &new_id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "a logged-out session id is dead");
}

#[tokio::test]
async fn a_signed_in_customer_gets_404_from_the_back_office_and_anonymous_gets_the_login() {
    let app = spawn_app().await;
    let anon = app.get("/admin/mail").await;
    assert_eq!(anon.status, 303);
    assert_eq!(anon.location(), Some("/login?next=%2Fadmin%2Fmail"));

    create_user(&app, "customer@example.org", "customer-password").await;
    let client = client();
    assert_eq!(
        app.login_with(&client, "customer@example.org", "customer-password")
            .await
            .status,
        303
    );
    for path in ["/admin", "/admin/mail"] {
        assert_eq!(app.get_with(&client, path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn forgot_password_mails_a_single_use_link_that_signs_in() {
    let app = spawn_app().await;
    let page = app
        .post("/password/forgot", &[("email", OPERATOR_EMAIL)])
        .await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("If an account exists"));
    // Unknown addresses get the same answer and no mail.
    let page = app
        .post("/password/forgot", &[("email", "ghost@example.org")])
        .await;
    assert!(page.body.contains("If an account exists"));
    assert!(app.mails_to("ghost@example.org").await.is_empty());

    let mails = app.mails_to(OPERATOR_EMAIL).await;
    assert_eq!(mails.len(), 1);
    let link =
        find_link(&mails[0].1, &format!("{}/password/set/", app.base)).expect("link in mail");
    let path = link.trim_start_matches(&app.base).to_owned();

    let client = client();
    let form = app.get_with(&client, &path).await;
    assert_eq!(form.status, 200);
    let short = app
        .post_with(
            &client,
            &path,
            &[("password", "short"), ("confirm", "short")],
        )
        .await;
    assert_eq!(short.status, 422);
    let done = app
        .post_with(
            &client,
            &path,
            &[
                ("password", "a-brand-new-password"),
                ("confirm", "a-brand-new-password"),
            ],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        app.get_with(&client, "/admin").await.status,
        200,
        "signed in by the link"
    );

    // The link works once; the new password works, the old one not.
    assert_eq!(app.get_with(&client, &path).await.status, 410);
    assert_eq!(
        app.login_with(
            &crate::helpers::client(),
            OPERATOR_EMAIL,
            "a-brand-new-password"
        )
        .await
        .status,
        303
    );
    assert_eq!(
        app.login_with(&crate::helpers::client(), OPERATOR_EMAIL, OPERATOR_PASSWORD)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn the_mail_page_shows_every_message_in_full() {
    let app = spawn_app().await;
    lms_shop::store::outbox::enqueue(
        &app.db,
        "someone@example.org",
        "Hello <b>there</b>",
        "Line one\nhttp://x/y?a=1&b=2",
    )
    .await
    .unwrap();
    app.login_operator().await;
    let page = app.get("/admin/mail").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("someone@example.org"));
    assert!(
        page.body.contains("Hello &#60;b&#62;there&#60;/b&#62;")
            || page.body.contains("Hello &lt;b&gt;there&lt;/b&gt;"),
        "escaped: {}",
        page.body
    );
    assert!(
        page.body.contains("http://x/y?a=1&#38;b=2")
            || page.body.contains("http://x/y?a=1&amp;b=2")
    );
}
