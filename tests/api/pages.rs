//! Pages as people use them (issue 12): what operators and buyers read on the product form,
//! the shop card and the cart.

use crate::helpers::*;

#[tokio::test]
async fn product_form_errors_name_the_label_and_give_one_outcome() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1", "X-SUPPORT"]).await;
    // A bad price (an error) and a course list matching nothing (a warning).
    let page = app
        .post(
            "/admin/products",
            &[
                ("code", "P-1"),
                ("name", "Pack"),
                ("price1", "twelve"),
                ("handler", "std_generateseats"),
                (
                    "handlerparams",
                    "courselist=NOPE%&customersupport=X-SUPPORT",
                ),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("Nothing was saved"), "{}", page.body);
    assert!(
        page.body.contains(">Unit price excl. tax</a>"),
        "the label, not price1: {}",
        page.body
    );
    assert!(!page.body.contains(">price1<"));
    assert!(
        !page.body.contains("Saved"),
        "nothing was saved: no \"Saved\" anywhere"
    );
    assert!(page.body.contains("To check as well"));
}

#[tokio::test]
async fn choosing_a_handler_shows_its_parameters_and_saves_nothing() {
    let app = spawn_app().await;
    app.login_operator().await;
    let new = app.get("/admin/products/new").await;
    assert!(!new.body.contains("id=\"p_courselist\""));
    let page = app
        .post(
            "/admin/products",
            &[
                ("code", "P-2"),
                ("name", "Pack"),
                ("price1", "10"),
                ("handler", "std_generateseats"),
                ("params_mode", "choose"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("id=\"p_courselist\""),
        "the parameter editor"
    );
    assert!(page.body.contains("value=\"P-2\""), "typed values kept");
    assert!(page.body.contains("Nothing is saved yet"));
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
    // The default supervisor is a choice like any other: selected, named, no warning.
    assert!(
        page.body
            .contains("<option value=\"teacher\" selected>teacher (Default)</option>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("buyers do not see it"),
        "preview explained"
    );
}

#[tokio::test]
async fn shop_and_cart_say_what_a_unit_is_and_how_many_an_order_may_hold() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    app.login_operator().await;
    let page = app
        .post(
            "/admin/products",
            &[
                ("code", "ONE-ONLY"),
                ("name", "Once"),
                ("price1", "10"),
                ("status", "available"),
                ("max_quantity", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let buyer = client();
    let shop = app.get_with(&buyer, "/shop").await.body;
    assert!(shop.contains("1 unit = 5 seats"), "{shop}");
    assert!(shop.contains("One per order."));
    assert!(
        !shop.contains("id=\"qty-ONE-ONLY\""),
        "no spinner that refuses all but 1"
    );
    app.add_to_cart(&buyer, "X-PACK5", "2").await;
    let cart = app.get_with(&buyer, "/cart").await.body;
    assert!(cart.contains("1 unit = 5 seats · 10 seats"), "{cart}");
}

#[tokio::test]
async fn uploads_carry_the_token_in_the_form_not_the_address() {
    let app = spawn_app().await;
    app.login_operator().await;
    let token = app.csrf_for(&app.client).await;
    let upload = |token: Option<String>| {
        let mut form = reqwest::multipart::Form::new();
        if let Some(token) = token {
            form = form.text("csrf_token", token);
        }
        let form = form.part(
            "csv",
            reqwest::multipart::Part::bytes(b"shortname,fullname\nU-1,One\n".to_vec())
                .file_name("courses.csv"),
        );
        app.client
            .post(app.url("/admin/courses/import"))
            .multipart(form)
            .send()
    };
    assert_eq!(upload(None).await.unwrap().status(), 403);
    assert_eq!(upload(Some("forged".into())).await.unwrap().status(), 403);
    assert_eq!(upload(Some(token)).await.unwrap().status(), 303);
    assert_eq!(
        app.count("SELECT count(*) FROM courses WHERE shortname = 'U-1'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_learner_lands_on_their_courses_after_login() {
    let app = spawn_app().await;
    create_user(&app, "learner@example.org", "a good password").await;
    let page = app
        .post(
            "/login",
            &[
                ("email", "learner@example.org"),
                ("password", "a good password"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/my/courses"));
}

#[tokio::test]
async fn the_menu_counts_the_units_in_the_cart() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "2").await;
    let shop = app.get_with(&buyer, "/shop").await.body;
    assert!(
        shop.contains("<span aria-hidden=\"true\">(2)</span>"),
        "{shop}"
    );
    assert!(shop.contains("2 items"));
}

#[tokio::test]
async fn the_details_step_shows_what_is_being_bought() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "2").await;
    let details = app.get_with(&buyer, "/checkout/customer").await.body;
    assert!(details.contains("[X-PACK5] Pack of 5 seats"), "{details}");
    assert!(details.contains("€2,400.00"));
}

#[tokio::test]
async fn saving_from_one_handlers_editor_after_choosing_another_shows_the_new_editor_first() {
    let app = spawn_app().await;
    app.login_operator().await;
    let page = app
        .post(
            "/admin/products",
            &[
                ("code", "P-3"),
                ("name", "Pack"),
                ("price1", "10"),
                ("handler", "std_enrolonecourse"),
                ("shown_handler", "std_generateseats"),
                ("params_mode", "fields"),
                ("p_courselist", "X%"),
            ],
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("id=\"p_coursename\""),
        "the chosen handler's editor"
    );
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
}
