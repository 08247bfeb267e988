use crate::helpers::*;

const SEATS: &str = "courselist=X-A%&packsize=5&supervisor=teacher&customersupport=X-SUPPORT";

#[tokio::test]
async fn operator_builds_the_reference_catalogue_and_it_is_on_sale() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1", "X-A2", "X-SUPPORT"]).await;
    let saved = app
        .create_product("X-PACK5", "1200", "std_generateseats", SEATS)
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let edit = app.get(saved.location().unwrap()).await;
    assert!(edit.body.contains("Saved."));
    assert!(
        !edit.body.contains("Saved, with warnings"),
        "no warning for the reference product"
    );
    assert!(
        edit.body.contains("X-A1, X-A2"),
        "pattern preview lists the matching courses"
    );

    let shop = app.get_with(&client(), "/shop").await;
    assert!(shop.body.contains("X-PACK5"));
    assert!(shop.body.contains("€1,200.00"));
}

#[tokio::test]
async fn invalid_handler_parameters_are_refused_naming_the_parameter_and_nothing_is_saved() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1", "X-A2", "X-SUPPORT"]).await;
    for (params, named) in [
        (
            "courselist=X-A%&packsize=0&supervisor=teacher&customersupport=X-SUPPORT",
            "packsize",
        ),
        (
            "courselist=X-A%&packsize=5&supervisor=nosuchrole&customersupport=X-SUPPORT",
            "supervisor",
        ),
        (
            "courselist=X-A%&packsize=5&supervisor=teacher&customersupport=NO-SUCH-COURSE",
            "customersupport",
        ),
    ] {
        let page = app
            .create_product("X-BAD", "10", "std_generateseats", params)
            .await;
        assert_eq!(page.status, 422, "{params}");
        assert!(
            page.body.contains(&format!("Parameter {named}")),
            "{params}: {}",
            page.body
        );
        assert!(page.body.contains("Nothing was saved"));
        // What was typed is kept.
        assert!(page.body.contains("value=\"X-BAD\""));
        assert!(page.body.contains(&html_escape(params)), "raw string kept");
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&#38;")
}

#[tokio::test]
async fn a_course_list_matching_nothing_saves_with_a_warning() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1"]).await;
    let page = app
        .create_product(
            "X-NONE",
            "10",
            "std_generateseats",
            "courselist=Z-%&packsize=2&supervisor=teacher",
        )
        .await;
    assert_eq!(page.status, 303);
    let edit = app.get(page.location().unwrap()).await;
    assert!(edit.body.contains("Saved, with warnings"));
    assert!(edit.body.contains("Z-% matches no course"), "{}", edit.body);
}

#[tokio::test]
async fn the_generated_parameter_editor_saves_its_fields() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1", "X-SUPPORT"]).await;
    let page = app
        .get("/admin/products/new?handler=std_generateseats")
        .await;
    for input in [
        "name=\"p_courselist\"",
        "name=\"p_packsize\"",
        "name=\"p_supervisor\"",
        "name=\"p_customersupport\"",
        "type=\"date\"",
    ] {
        assert!(page.body.contains(input), "{input}");
    }
    let saved = app
        .post(
            "/admin/products",
            &[
                ("code", "X-FIELDS"),
                ("name", "Fields"),
                ("price1", "99,90"),
                ("handler", "std_generateseats"),
                ("handlerparams", "ignored=1"),
                ("p_courselist", "X-A1"),
                ("p_packsize", "3"),
                ("p_supervisor", "editingteacher"),
                ("p_customersupport", "X-SUPPORT"),
                ("p_enddate", "2027-01-31"),
                ("p_duration", ""),
                ("params_mode", "fields"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let (params, price): (String, i64) =
        sqlx::query_as("SELECT handler_params, price1 FROM products WHERE code = 'X-FIELDS'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(
        params,
        "courselist=X-A1&customersupport=X-SUPPORT&enddate=2027-01-31&packsize=3&supervisor=editingteacher"
    );
    assert_eq!(price, 9_990);
}

#[tokio::test]
async fn unix_second_dates_are_accepted_and_shown_as_dates() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1"]).await;
    let saved = app
        .create_product(
            "X-UNIX",
            "10",
            "std_generateseats",
            "courselist=X-A1&packsize=1&supervisor=teacher&enddate=1800000000",
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let edit = app.get(saved.location().unwrap()).await;
    assert!(
        edit.body.contains("value=\"2027-01-15\""),
        "date input shows the ISO date"
    );
    let bad = app
        .create_product(
            "X-BADDATE",
            "10",
            "std_generateseats",
            "packsize=1&supervisor=teacher&enddate=31/01/2027",
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("Parameter enddate"));
}

#[tokio::test]
async fn preview_suspended_and_logged_in_only_products_show_as_they_should() {
    let app = spawn_app().await;
    app.login_operator().await;
    for (code, status, logged) in [
        ("P-AVAIL", "available", ""),
        ("P-PREVIEW", "preview", ""),
        ("P-SUSP", "suspended", ""),
        ("P-MEMBERS", "available", "1"),
    ] {
        let page = app
            .post(
                "/admin/products",
                &[
                    ("code", code),
                    ("name", code),
                    ("price1", "10"),
                    ("status", status),
                    ("logged_in_only", logged),
                    ("handler", ""),
                    ("handlerparams", ""),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }
    let operator_view = app.get("/shop").await;
    assert!(operator_view.body.contains("P-PREVIEW"));
    assert!(!operator_view.body.contains("P-SUSP"));
    let visitor = app.get_with(&client(), "/shop").await;
    assert!(visitor.body.contains("P-AVAIL"));
    assert!(!visitor.body.contains("P-PREVIEW"));
    assert!(!visitor.body.contains("P-SUSP"));
    assert!(visitor.body.contains("sold to signed-in customers only"));
}

#[tokio::test]
async fn saving_a_product_updates_the_shop_at_once() {
    let app = spawn_app().await;
    app.login_operator().await;
    let saved = app.create_product("P-PRICE", "10", "", "").await;
    let path = saved
        .location()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    assert!(app.get("/shop").await.body.contains("10.00"));
    let page = app
        .post(
            &path,
            &[
                ("code", "P-PRICE"),
                ("name", "Repriced"),
                ("price1", "12.34"),
                ("handler", ""),
                ("handlerparams", ""),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    let shop = app.get("/shop").await;
    assert!(shop.body.contains("12.34"));
    assert!(shop.body.contains("Repriced"));
}

#[tokio::test]
async fn product_form_errors_keep_every_typed_value() {
    let app = spawn_app().await;
    app.login_operator().await;
    let page = app
        .post(
            "/admin/products",
            &[
                ("code", "P-KEEP"),
                ("name", "Keep me"),
                ("price1", "12.345"),
                ("range2", "10"),
                ("price2", "9"),
                ("handler", ""),
                ("handlerparams", ""),
                ("description", "<b>desc</b>"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("value=\"12.345\""));
    assert!(page.body.contains("value=\"Keep me\""));
    assert!(
        page.body.contains("&#60;b&#62;desc&#60;/b&#62;")
            || page.body.contains("&lt;b&gt;desc&lt;/b&gt;")
    );
    let duplicate = app.create_product("P-DUP", "1", "", "").await;
    assert_eq!(duplicate.status, 303);
    let again = app.create_product("P-DUP", "1", "", "").await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("already used"));
}

#[tokio::test]
async fn course_csv_import_is_all_or_nothing_with_a_line_report() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["TAKEN"]).await;
    let token = app.csrf_for(&app.client).await;
    let upload = |csv: &'static str| {
        let form = reqwest::multipart::Form::new().part(
            "csv",
            reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("courses.csv"),
        );
        app.client
            .post(app.url(&format!("/admin/courses/import?csrf_token={token}")))
            .multipart(form)
            .send()
    };
    let bad = upload("shortname,fullname\nC-1,One\nTAKEN,Dup\n,Nameless\n")
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let body = bad.text().await.unwrap();
    assert!(body.contains("Nothing was imported"));
    assert!(
        body.contains("<td data-label=\"Line\">3</td>")
            && body.contains("Another course already has this short name"),
        "{body}"
    );
    assert!(body.contains("<td data-label=\"Line\">4</td>"));
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM courses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 1, "nothing imported");

    let good = upload("shortname,fullname,visible,startdate\nC-1,One,1,2027-01-01\nC-2,Two,0,\n")
        .await
        .unwrap();
    assert_eq!(good.status(), 303);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM courses")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(n, 3);

    // Without the token in the query, an upload is refused.
    let form = reqwest::multipart::Form::new().part(
        "csv",
        reqwest::multipart::Part::bytes(b"shortname,fullname\nC-9,Nine\n".to_vec())
            .file_name("c.csv"),
    );
    let refused = app
        .client
        .post(app.url("/admin/courses/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

#[tokio::test]
async fn taxes_categories_and_settings_are_edited_by_operators() {
    let app = spawn_app().await;
    app.login_operator().await;
    assert_eq!(
        app.post(
            "/admin/taxes",
            &[
                ("code", "VAT55"),
                ("name", "Reduced"),
                ("rate", "5,5"),
                ("country", "fr")
            ]
        )
        .await
        .status,
        303
    );
    let bad = app
        .post(
            "/admin/taxes",
            &[
                ("code", "BAD"),
                ("name", "Bad"),
                ("rate", "120"),
                ("country", "FR"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        app.post(
            "/admin/categories",
            &[("name", "Security"), ("sortorder", "2"), ("visible", "1")]
        )
        .await
        .status,
        303
    );
    let cat: i64 = sqlx::query_scalar("SELECT id FROM categories")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let saved = app
        .post(
            "/admin/products",
            &[
                ("code", "P-TAXED"),
                ("name", "Taxed"),
                ("price1", "100"),
                ("tax_code", "VAT55"),
                ("category_id", &cat.to_string()),
                ("handler", ""),
                ("handlerparams", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let shop = app.get("/shop").await;
    assert!(shop.body.contains("Security"));
    assert!(shop.body.contains("105.50"), "price incl. 5.5 % tax");
    let page = app
        .post(
            "/admin/settings",
            &[
                ("shop_name", "Formations Sûreté"),
                ("currency", "eur"),
                ("paymodes", "test"),
                ("paymodes", "transfer"),
                ("sales_conditions", "CGV"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(app.get("/shop").await.body.contains("Formations Sûreté"));
}

#[tokio::test]
async fn every_admin_route_is_for_operators_only() {
    let app = spawn_app().await;
    create_user(&app, "customer@example.org", "customer-password").await;
    let customer = client();
    assert_eq!(
        app.login_with(&customer, "customer@example.org", "customer-password")
            .await
            .status,
        303
    );
    let anonymous = client();
    let gets = [
        "/admin",
        "/admin/mail",
        "/admin/courses",
        "/admin/courses/1",
        "/admin/products",
        "/admin/products/new",
        "/admin/products/1",
        "/admin/categories",
        "/admin/taxes",
        "/admin/settings",
    ];
    for path in gets {
        assert_eq!(
            app.get_with(&customer, path).await.status,
            404,
            "customer GET {path}"
        );
        let anon = app.get_with(&anonymous, path).await;
        assert_eq!(anon.status, 303, "anonymous GET {path}");
        assert!(anon.location().unwrap().starts_with("/login?next="));
    }
    let posts = [
        "/admin/courses",
        "/admin/courses/1",
        "/admin/products",
        "/admin/products/1",
        "/admin/categories",
        "/admin/categories/1",
        "/admin/taxes",
        "/admin/taxes/1",
        "/admin/settings",
    ];
    for path in posts {
        let page = app
            .post_with(
                &customer,
                path,
                &[
                    ("code", "HACK"),
                    ("name", "x"),
                    ("price1", "1"),
                    ("shortname", "HACK"),
                    ("fullname", "x"),
                ],
            )
            .await;
        assert_eq!(page.status, 404, "customer POST {path}");
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM courses)",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(n, 0);
}
