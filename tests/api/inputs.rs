//! Inputs that used to reach PostgreSQL or the mail templates unchecked (issue 15): control
//! characters, page numbers, a support course that does not exist, learners' names and
//! addresses, names shown back to the customer. The enumeration of every route's inputs
//! lives with the security suite (`security.rs`).

use crate::helpers::*;

/// A customer (signed in on the returned client) holding the 5 seats of one X-PACK5.
async fn customer_with_seats(app: &TestApp, email: &str) -> (reqwest::Client, Vec<String>) {
    app.seat_catalogue().await;
    let buyer = client();
    let public_id = app.buy_and_pay(&buyer, "X-PACK5", "1", email).await;
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    let refs: Vec<String> = sqlx::query_scalar(
        "SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id
         WHERE c.email = $1 ORDER BY pi.id",
    )
    .bind(email)
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(refs.len(), 5);
    (buyer, refs)
}

async fn course_id(app: &TestApp, shortname: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = $1")
        .bind(shortname)
        .fetch_one(&app.db)
        .await
        .unwrap();
    id.to_string()
}

async fn assign(
    app: &TestApp,
    c: &reqwest::Client,
    reference: &str,
    course: &str,
    email: &str,
    firstname: &str,
    lastname: &str,
) -> Page {
    app.post_with(
        c,
        &format!("/customer/products/{reference}/assign"),
        &[
            ("course", course),
            ("email", email),
            ("firstname", firstname),
            ("lastname", lastname),
        ],
    )
    .await
}

async fn upload(app: &TestApp, c: &reqwest::Client, path: &str, csv: &[u8]) -> Page {
    let token = app.csrf_for(c).await;
    let form = reqwest::multipart::Form::new().part(
        "csv",
        reqwest::multipart::Part::bytes(csv.to_vec()).file_name("upload.csv"),
    );
    let res = c
        .post(app.url(&format!("{path}?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[tokio::test]
async fn control_characters_in_a_form_re_render_it_with_what_was_typed() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let mut form = customer_form("ctrl@example.org");
    form[0] = ("firstname", "Ada\u{1}");
    form[4] = ("address", "1 rue\u{7f} de la Paix");
    let page = app.post_with(&buyer, "/checkout/customer", &form).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("invisible control characters"));
    for typed in [
        "value=\"Lovelace\"",
        "Analytical Engines Ltd",
        "ctrl@example.org",
    ] {
        assert!(page.body.contains(typed), "{typed} kept");
    }
    // A NUL byte is refused before any handler: a 400 page, never a 500.
    form[0] = ("firstname", "Ada\0");
    let page = app.post_with(&buyer, "/checkout/customer", &form).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("NUL byte"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}

#[tokio::test]
async fn csv_uploads_report_nul_and_control_characters_per_line() {
    let app = spawn_app().await;
    let (customer, refs) = customer_with_seats(&app, "csvctrl@example.org").await;
    app.login_operator().await;
    let courses_before = app.count("SELECT count(*) FROM courses").await;
    let page = upload(
        &app,
        &app.client,
        "/admin/courses/import",
        b"shortname,fullname\nX-OK,Fine\nX-N\0UL,Nul in the short name\nX-CTRL,Bell\x07 in the name\n",
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(
        page.body.matches("invisible control characters").count(),
        2,
        "one error per bad line: {}",
        page.body
    );
    assert_eq!(
        app.count("SELECT count(*) FROM courses").await,
        courses_before
    );

    let page = upload(
        &app,
        &customer,
        "/customer/products/bulk",
        b"email,firstname,lastname,course\na@example.org,An\0n,A,X-A1\nb@example.org,Bob,B\x01,X-A1\nc@example.org,Cy,C,X-A1\n",
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(
        page.body.matches("invisible control characters").count(),
        2,
        "{}",
        page.body
    );
    let assigned = app
        .count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL")
        .await;
    assert_eq!(assigned, 0, "all or nothing ({} seats)", refs.len());
}

#[tokio::test]
async fn huge_page_numbers_show_a_page_instead_of_failing() {
    let app = spawn_app().await;
    let (customer, _) = customer_with_seats(&app, "pages@example.org").await;
    app.login_operator().await;
    for page in [
        "9223372036854775807",
        "99999999999999999999999",
        "-9223372036854775808",
        "0",
        "abc",
        "",
    ] {
        for path in ["/admin/bills", "/admin/mail", "/admin/seats"] {
            let got = app.get(&format!("{path}?page={page}")).await;
            assert_eq!(got.status, 200, "{path}?page={page}: {}", got.body);
        }
        let got = app
            .get_with(&customer, &format!("/customer?page={page}"))
            .await;
        assert_eq!(got.status, 200, "/customer?page={page}");
    }
    // The last page of the customer's list, not an empty one.
    let got = app
        .get_with(&customer, "/customer?page=9223372036854775807")
        .await;
    assert!(got.body.contains("X-PACK5"));
}

#[tokio::test]
async fn settings_refuse_a_support_course_that_does_not_exist() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-SUPPORT"]).await;
    let before: String = sqlx::query_scalar("SELECT shop_name FROM settings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for bad in ["999999", "-1", "abc"] {
        let page = app
            .post(
                "/admin/settings",
                &[
                    ("shop_name", "Renamed shop"),
                    ("currency", "EUR"),
                    ("default_support_course_id", bad),
                    ("sales_conditions", "Line 1\r\nLine 2"),
                    ("paymodes", "test"),
                ],
            )
            .await;
        assert_eq!(page.status, 422, "{bad}: {}", page.body);
        assert!(page.body.contains("Choose one of the proposed values"));
        assert!(page.body.contains("value=\"Renamed shop\""), "form kept");
        assert!(page.body.contains("Line 1\r\nLine 2"), "form kept");
    }
    let after: String = sqlx::query_scalar("SELECT shop_name FROM settings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(after, before);
    let support = course_id(&app, "X-SUPPORT").await;
    let page = app
        .post(
            "/admin/settings",
            &[
                ("shop_name", "Renamed shop"),
                ("currency", "EUR"),
                ("default_support_course_id", &support),
                ("paymodes", "test"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let saved: Option<i64> = sqlx::query_scalar("SELECT default_support_course_id FROM settings")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(saved.map(|id| id.to_string()), Some(support));
}

#[tokio::test]
async fn single_assignment_takes_the_names_and_addresses_checkout_takes() {
    let app = spawn_app().await;
    let (customer, refs) = customer_with_seats(&app, "names@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    let long = "N".repeat(101);
    let refused = [
        ("new@example.org", long.as_str(), "Dou", "too long"),
        ("new@example.org", "Ibrahima", long.as_str(), "too long"),
        (
            "new@example.org",
            "Ibra\u{1}hima",
            "Dou",
            "control characters",
        ),
        ("\"a\"@example.test", "Ibrahima", "Dou", "email address"),
        ("a<b>@example.test", "Ibrahima", "Dou", "email address"),
    ];
    for (email, first, last, message) in refused {
        let page = assign(&app, &customer, &refs[0], &a1, email, first, last).await;
        assert_eq!(page.status, 422, "{email} {first} {last}: {}", page.body);
        assert!(page.body.contains(message), "{message}: {}", page.body);
    }
    assert_eq!(
        app.count(
            "SELECT count(*) FROM users WHERE email <> 'names@example.org' AND NOT is_operator"
        )
        .await,
        0,
        "no account created"
    );
    let longest = "N".repeat(100);
    let page = assign(
        &app,
        &customer,
        &refs[0],
        &a1,
        "new@example.org",
        &longest,
        "Dou",
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let stored: String =
        sqlx::query_scalar("SELECT firstname FROM users WHERE email = 'new@example.org'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(stored, longest);
}

#[tokio::test]
async fn a_name_holding_a_placeholder_stays_text_in_the_mails() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    // At checkout: the buyer's welcome mail carries one set-password link, and the name as typed.
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let mut form = customer_form("eve@example.org");
    form[0] = ("firstname", "Eve %{link}");
    let details = app.post_with(&buyer, "/checkout/customer", &form).await;
    assert_eq!(details.status, 303, "{}", details.body);
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "test")],
        )
        .await;
    let gateway = placed.location().unwrap().to_owned();
    let paid = app.post_with(&buyer, &format!("{gateway}/pay"), &[]).await;
    assert_eq!(paid.status, 303);
    let mails = app.mails_to("eve@example.org").await;
    let (_, welcome) = mails
        .iter()
        .find(|(_, body)| body.contains("/password/set/"))
        .expect("a welcome mail");
    assert!(welcome.contains("Eve %{link}"), "{welcome}");
    assert_eq!(welcome.matches("/password/set/").count(), 1, "{welcome}");

    // At a seat's assignment: the learner's two mails.
    let public_id = gateway.trim_start_matches("/payment/test/");
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    let reference: String =
        sqlx::query_scalar("SELECT reference FROM product_instances ORDER BY id LIMIT 1")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let a1 = course_id(&app, "X-A1").await;
    let page = assign(
        &app,
        &buyer,
        &reference,
        &a1,
        "mallory@example.org",
        "%{link}",
        "%{course}",
    )
    .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mails = app.mails_to("mallory@example.org").await;
    assert_eq!(mails.len(), 2, "welcome and assignment");
    assert!(
        mails[1].1.contains("Hello %{link} %{course},"),
        "{}",
        mails[1].1
    );
    for (_, body) in &mails {
        assert!(body.contains("Hello %{link}"), "{body}");
        assert_eq!(
            body.matches("http://").count(),
            1,
            "one link per mail: {body}"
        );
    }
}

#[tokio::test]
async fn assigning_a_seat_to_an_existing_account_shows_only_what_the_customer_typed() {
    let app = spawn_app().await;
    let (customer, refs) = customer_with_seats(&app, "employer@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    for (email, first, last) in [
        ("known@example.org", "Secret", "Identity"),
        ("other@example.org", "Hidden", "Person"),
    ] {
        let email = lms_shop::domain::Email::parse(email).unwrap();
        lms_shop::store::users::insert(
            &app.db,
            lms_shop::store::users::NewUser {
                email: &email,
                firstname: first,
                lastname: last,
                password_hash: None,
                is_operator: false,
            },
        )
        .await
        .unwrap()
        .unwrap();
    }
    // Only the address typed: the pages show the address, never the account's name.
    let done = assign(&app, &customer, &refs[0], &a1, "known@example.org", "", "").await;
    assert_eq!(done.status, 303, "{}", done.body);
    // Names typed: the pages show those, not the account's.
    let done = assign(
        &app,
        &customer,
        &refs[1],
        &a1,
        "other@example.org",
        "Typed",
        "Name",
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let pages = [
        format!("/customer/products/{}", refs[0]),
        format!("/customer/products/{}", refs[1]),
        "/customer".to_owned(),
        "/customer?state=in_use".to_owned(),
    ];
    for path in &pages {
        let page = app.get_with(&customer, path).await;
        assert_eq!(page.status, 200);
        for secret in ["Secret", "Identity", "Hidden", "Person"] {
            assert!(!page.body.contains(secret), "{secret} shown on {path}");
        }
    }
    let seat = app
        .get_with(&customer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert!(seat.body.contains("known@example.org"));
    let seat = app
        .get_with(&customer, &format!("/customer/products/{}", refs[1]))
        .await;
    assert!(seat.body.contains("Typed Name") && seat.body.contains("other@example.org"));
    // Released, the seat forgets the typed names.
    let released = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", refs[1]),
            &[],
        )
        .await;
    assert_eq!(released.status, 303);
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE learner_firstname IS NOT NULL")
            .await,
        0
    );
}
