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
