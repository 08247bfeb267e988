//! The customer space as customers and learners use it (issue 12): releasing several seats
//! at once, the assignment date, the group a learner reads.

use crate::helpers::*;

/// A customer (signed in on the returned client) with 5 seats, and the id of course X-A1.
async fn customer_with_seats(app: &TestApp, email: &str) -> (reqwest::Client, Vec<String>, String) {
    app.seat_catalogue().await;
    let c = client();
    let public_id = app.buy_and_pay(&c, "X-PACK5", "1", email).await;
    app.get_with(&c, &format!("/checkout/done/{public_id}"))
        .await;
    let refs: Vec<String> =
        sqlx::query_scalar("SELECT reference FROM product_instances ORDER BY id")
            .fetch_all(&app.db)
            .await
            .unwrap();
    let course: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = 'X-A1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    (c, refs, course.to_string())
}

async fn assign(app: &TestApp, c: &reqwest::Client, reference: &str, course: &str, email: &str) {
    assign_named(app, c, reference, course, email, ("Grace", "Hopper")).await
}

async fn assign_named(
    app: &TestApp,
    c: &reqwest::Client,
    reference: &str,
    course: &str,
    email: &str,
    (first, last): (&str, &str),
) {
    let page = app
        .post_with(
            c,
            &format!("/customer/products/{reference}/assign"),
            &[
                ("course", course),
                ("email", email),
                ("firstname", first),
                ("lastname", last),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
}

/// The learner chooses a password from the mail and opens the course; returns the page.
async fn learner_opens(app: &TestApp, email: &str, shortname: &str) -> Page {
    let (_, body) = app
        .mails_to(email)
        .await
        .into_iter()
        .find(|(s, _)| s.contains("your account"))
        .unwrap();
    let link = find_link(&body, &format!("{}/password/set/", app.base)).unwrap();
    let learner = client();
    let set = app
        .choose_password(&learner, link.trim_start_matches(&app.base))
        .await;
    assert_eq!(set.status, 303);
    app.get_with(&learner, &format!("/course/{shortname}"))
        .await
}

async fn seat_state(app: &TestApp, reference: &str) -> String {
    sqlx::query_scalar("SELECT seat_state(pi) FROM product_instances pi WHERE pi.reference = $1")
        .bind(reference)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn several_seats_are_released_at_once_each_by_the_single_release_rule() {
    let app = spawn_app().await;
    let (c, refs, a1) = customer_with_seats(&app, "boss@example.org").await;
    for (i, r) in refs[..3].iter().enumerate() {
        assign(&app, &c, r, &a1, &format!("l{i}@example.org")).await;
    }
    // The second learner opens the course: that seat is locked.
    assert_eq!(
        learner_opens(&app, "l1@example.org", "X-A1").await.status,
        200
    );
    let space = app.get_with(&c, "/customer").await;
    assert!(
        space
            .body
            .contains("action=\"/customer/products/unassign\"")
    );
    assert_eq!(
        space.body.matches("name=\"reference\"").count(),
        2,
        "a box for each seat in use, none for the locked or available ones"
    );

    // In use, locked, available, another customer's, nonsense: each gets its answer.
    let (other, other_refs, _) = {
        let o = client();
        app.buy_and_pay(&o, "X-PACK5", "1", "other@example.org")
            .await;
        let r: Vec<String> = sqlx::query_scalar(
            "SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id
             WHERE c.email = 'other@example.org' ORDER BY pi.id",
        )
        .fetch_all(&app.db)
        .await
        .unwrap();
        (o, r, ())
    };
    drop(other);
    let form = [
        ("reference", refs[0].as_str()),
        ("reference", refs[1].as_str()),
        ("reference", refs[2].as_str()),
        ("reference", refs[3].as_str()),
        ("reference", other_refs[0].as_str()),
        ("reference", "NOT-A-SEAT"),
    ];
    let report = app
        .post_with(&c, "/customer/products/unassign", &form)
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    assert!(report.body.contains("2 seats released."), "{}", report.body);
    assert!(
        report.body.contains("4 seats not released."),
        "{}",
        report.body
    );
    assert!(report.body.contains("already opened the course"));
    assert!(
        report
            .body
            .contains("None of your seats has this reference")
    );
    assert!(report.body.contains("not assigned"), "{}", report.body);
    assert_eq!(seat_state(&app, &refs[0]).await, "available");
    assert_eq!(seat_state(&app, &refs[1]).await, "locked");
    assert_eq!(seat_state(&app, &refs[2]).await, "available");
    assert_eq!(seat_state(&app, &other_refs[0]).await, "available");
    assert_eq!(
        app.count("SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.email IN ('l0@example.org', 'l2@example.org')")
            .await,
        0,
        "the released learners' enrolments are gone"
    );

    // Nothing ticked: said so, nothing done. Without the form's token: refused.
    let empty = app.post_with(&c, "/customer/products/unassign", &[]).await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("Tick at least one seat"));
    let forged = app
        .post_raw(
            &c,
            "/customer/products/unassign",
            &[("reference", refs[1].as_str())],
        )
        .await;
    assert_eq!(forged.status, 403);

    // The report's counts take the plural form of the language (French: 0 is singular).
    app.get_with(&c, "/lang/fr").await;
    let fr = app
        .post_with(
            &c,
            "/customer/products/unassign",
            &[("reference", refs[4].as_str())],
        )
        .await;
    assert!(
        fr.body.contains("0 siège libéré.") && fr.body.contains("1 siège non libéré."),
        "{}",
        fr.body
    );
}

#[tokio::test]
async fn assigned_seats_show_their_assignment_date() {
    let app = spawn_app().await;
    let (c, refs, a1) = customer_with_seats(&app, "dates@example.org").await;
    assign(&app, &c, &refs[0], &a1, "dated@example.org").await;
    app.exec("UPDATE product_instances SET assigned_at = '2026-03-07 10:30:00+00' WHERE assigned_at IS NOT NULL")
        .await;
    let space = app.get_with(&c, "/customer").await;
    assert!(
        space.body.contains("Assigned on Mar 7, 2026"),
        "{}",
        space.body
    );
    assert_eq!(
        space.body.matches("Assigned on").count(),
        1,
        "only the assigned seat"
    );
    let seat = app
        .get_with(&c, &format!("/customer/products/{}", refs[0]))
        .await;
    assert!(
        seat.body.contains("<dt>Assigned on</dt><dd>Mar 7, 2026"),
        "{}",
        seat.body
    );
    let free = app
        .get_with(&c, &format!("/customer/products/{}", refs[1]))
        .await;
    assert!(!free.body.contains("Assigned on"));
}

#[tokio::test]
async fn a_learner_reads_their_group_as_the_organisation_and_the_order() {
    let app = spawn_app().await;
    let (c, refs, a1) = customer_with_seats(&app, "org@example.org").await;
    assign(&app, &c, &refs[0], &a1, "reader@example.org").await;
    let course = learner_opens(&app, "reader@example.org", "X-A1").await;
    assert_eq!(course.status, 200);
    assert!(
        course
            .body
            .contains("Analytical Engines Ltd — order B0000000001"),
        "{}",
        course.body
    );
}

#[tokio::test]
async fn a_customer_finds_seats_by_part_of_the_learners_name_or_address() {
    let app = spawn_app().await;
    let (c, refs, a1) = customer_with_seats(&app, "finder@example.org").await;
    assign_named(
        &app,
        &c,
        &refs[0],
        &a1,
        "grace@example.org",
        ("Grace", "Hopper"),
    )
    .await;
    assign_named(
        &app,
        &c,
        &refs[1],
        &a1,
        "alan@example.org",
        ("Alan", "Turing"),
    )
    .await;
    // Another customer's learner matches the same text: never shown here.
    let other = client();
    app.buy_and_pay(&other, "X-PACK5", "1", "neighbour@example.org")
        .await;
    let theirs: String = sqlx::query_scalar(
        "SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id
         WHERE c.email = 'neighbour@example.org' ORDER BY pi.id LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    app.exec(&format!(
        "UPDATE product_instances SET assigned_user_id = (SELECT id FROM users WHERE email = 'grace@example.org'),
             assigned_course_id = (SELECT id FROM courses WHERE shortname = 'X-A2'), assigned_at = now(),
             learner_firstname = 'Grace', learner_lastname = 'Hopper', learner_email = 'grace@example.org'
         WHERE reference = '{theirs}'"
    ))
    .await;

    let found = |q: &'static str| {
        let app = &app;
        let c = &c;
        async move {
            app.get_with(c, &format!("/customer?learner={q}"))
                .await
                .body
        }
    };
    let by_name = found("hopp").await;
    assert!(
        by_name.contains(&refs[0]) && !by_name.contains(&refs[1]),
        "{by_name}"
    );
    assert!(!by_name.contains(&theirs), "only the customer's own seats");
    assert!(
        by_name.contains("value=\"hopp\""),
        "the search stays in its box"
    );
    let by_address = found("ALAN%40EXAMPLE").await;
    assert!(by_address.contains(&refs[1]) && !by_address.contains(&refs[0]));
    // Typed wildcards are literal: nobody's name holds a "%".
    let wildcard = found("%25").await;
    assert!(!wildcard.contains(&refs[0]) && !wildcard.contains(&refs[1]));
    assert!(wildcard.contains("No product matches"), "{wildcard}");
    // With another filter, and in the CSV export.
    let in_use = found("a&state=in_use").await;
    assert!(in_use.contains(&refs[0]) && in_use.contains(&refs[1]));
    let csv = app
        .get_with(&c, "/customer/products/export.csv?learner=turing")
        .await
        .body;
    assert!(csv.contains(&refs[1]) && !csv.contains(&refs[0]), "{csv}");
    // A released seat has no learner to find.
    let released = app
        .post_with(&c, &format!("/customer/products/{}/unassign", refs[0]), &[])
        .await;
    assert_eq!(released.status, 303);
    assert!(!found("hopp").await.contains(&refs[0]));
}
