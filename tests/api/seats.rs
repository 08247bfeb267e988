use crate::helpers::*;

/// A customer (signed in on the returned client) holding 10 seats of X-PACK5.
async fn customer_with_seats(app: &TestApp, email: &str) -> (reqwest::Client, Vec<String>) {
    customer_with_packs(app, email, 2).await
}

/// A customer (signed in on the returned client) holding `packs` × 5 seats, in id order.
async fn customer_with_packs(
    app: &TestApp,
    email: &str,
    packs: usize,
) -> (reqwest::Client, Vec<String>) {
    let buyer = client();
    let public_id = app
        .buy_and_pay(&buyer, "X-PACK5", &packs.to_string(), email)
        .await;
    // The confirmation signs the buyer in (rule 4).
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    let refs: Vec<String> = sqlx::query_scalar("SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id WHERE c.email = $1 ORDER BY pi.id")
        .bind(email)
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(refs.len(), packs * 5);
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
) -> Page {
    app.post_with(
        c,
        &format!("/customer/products/{reference}/assign"),
        &[
            ("course", course),
            ("email", email),
            ("firstname", "Ibrahima"),
            ("lastname", "Dou"),
        ],
    )
    .await
}

/// Posts every `(reference, learner email)` assignment at once; the answers' statuses.
async fn assign_concurrently(
    app: &TestApp,
    customer: &reqwest::Client,
    course: &str,
    jobs: Vec<(String, String)>,
) -> Vec<u16> {
    let token = app.csrf_for(customer).await;
    let mut tasks = Vec::new();
    for (reference, email) in jobs {
        let (c, url, token, course) = (
            customer.clone(),
            app.url(&format!("/customer/products/{reference}/assign")),
            token.clone(),
            course.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let form = [
                ("course", course.as_str()),
                ("email", &email),
                ("firstname", "R"),
                ("lastname", "C"),
                ("csrf_token", &token),
            ];
            c.post(url)
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

async fn seat_state(app: &TestApp, reference: &str) -> String {
    sqlx::query_scalar("SELECT seat_state(pi) FROM product_instances pi WHERE pi.reference = $1")
        .bind(reference)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_customer_space_lists_transactions_and_products() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "space@example.org").await;
    let space = app.get_with(&customer, "/customer").await;
    assert_eq!(space.status, 200);
    assert!(space.body.contains("My transactions") && space.body.contains("B0000000001"));
    assert!(space.body.contains(&refs[0]) && space.body.contains("N.C."));
    assert!(space.body.contains("[X-PACK5] Pack of 5 seats"));
    assert!(space.body.contains("Available: 10"));
    let bill: String = sqlx::query_scalar("SELECT public_id FROM bills")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let invoice = app
        .get_with(&customer, &format!("/customer/bills/{bill}"))
        .await;
    assert_eq!(invoice.status, 200);
    // A paid bill is an invoice, under its invoice number (issue 11), quoting the order.
    assert!(invoice.body.contains(">Invoice F") && invoice.body.contains("€2,400.00"));
    assert!(invoice.body.contains("B0000000001"));
}

#[tokio::test]
async fn assign_unassign_lock_and_the_already_enrolled_case() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "boss@example.org").await;
    let a1 = course_id(&app, "X-A1").await;

    let page = app
        .get_with(&customer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert!(page.body.contains("Assign this seat"));
    assert!(
        page.body.contains("X-A1")
            && page.body.contains("X-A2")
            && !page.body.contains("X-SUPPORT</option>"),
        "only allowed courses offered"
    );

    let done = assign(&app, &customer, &refs[0], &a1, "learner@example.org").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(seat_state(&app, &refs[0]).await, "in_use");
    let learner: i64 =
        sqlx::query_scalar("SELECT id FROM users WHERE email = 'learner@example.org'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let roles: Vec<(String, String)> = sqlx::query_as("SELECT u.email, e.role FROM enrolments e JOIN users u ON u.id = e.user_id JOIN courses c ON c.id = e.course_id WHERE c.shortname = 'X-A1' ORDER BY u.email")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        roles,
        vec![
            ("boss@example.org".into(), "teacher".into()),
            ("learner@example.org".into(), "student".into())
        ]
    );
    let group_members = app.count("SELECT count(*) FROM group_members m JOIN course_groups g ON g.id = m.group_id WHERE g.name = 'B0000000001'").await;
    assert_eq!(group_members, 2, "customer and learner in the bill's group");
    let mails = app.mails_to("learner@example.org").await;
    assert!(
        mails.iter().any(|(s, _)| s.contains("your account")),
        "set-password mail"
    );
    assert!(
        mails
            .iter()
            .any(|(s, b)| s.contains("you are enrolled in") && b.contains("/course/X-A1"))
    );
    let space = app.get_with(&customer, "/customer").await;
    assert!(space.body.contains("learner@example.org") && space.body.contains("In use"));

    // The same learner in the same course on another seat: refused, the seat stays available.
    let again = assign(&app, &customer, &refs[1], &a1, "LEARNER@example.org").await;
    assert_eq!(again.status, 409);
    assert!(again.body.contains("already enrolled"));
    assert!(
        again.body.contains("value=\"LEARNER@example.org\""),
        "typed values kept"
    );
    assert_eq!(seat_state(&app, &refs[1]).await, "available");

    // Released before the learner opens the course.
    let released = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", refs[0]),
            &[],
        )
        .await;
    assert_eq!(released.status, 303);
    assert_eq!(seat_state(&app, &refs[0]).await, "available");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM enrolments WHERE user_id = {learner}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM group_members WHERE user_id = {learner}"
        ))
        .await,
        0
    );
    let released_mail = app.mails_to("learner@example.org").await;
    assert!(
        released_mail
            .iter()
            .any(|(s, b)| s.contains("your place in")
                && b.contains("X-A1")
                && b.contains("released")),
        "the learner is told their place was released: {released_mail:?}"
    );

    // Assigned again; the learner sets a password, logs in and opens the course: locked.
    assert_eq!(
        assign(&app, &customer, &refs[0], &a1, "learner@example.org")
            .await
            .status,
        303
    );
    let (_, body) = app
        .mails_to("learner@example.org")
        .await
        .into_iter()
        .find(|(s, _)| s.contains("your account"))
        .unwrap();
    let link = find_link(&body, &format!("{}/password/set/", app.base)).unwrap();
    let learner_client = client();
    let path = link.trim_start_matches(&app.base).to_owned();
    app.post_with(
        &learner_client,
        &path,
        &[
            ("password", "learner-password"),
            ("confirm", "learner-password"),
        ],
    )
    .await;
    let courses = app.get_with(&learner_client, "/my/courses").await;
    assert!(courses.body.contains("/course/X-A1"));
    assert_eq!(
        app.get_with(&learner_client, "/course/X-A1").await.status,
        200
    );
    assert_eq!(
        app.get_with(&learner_client, "/course/X-A2").await.status,
        404,
        "not enrolled there"
    );
    assert_eq!(seat_state(&app, &refs[0]).await, "locked");
    let product = app
        .get_with(&customer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert!(product.body.contains("Locked"));
    let refused = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", refs[0]),
            &[],
        )
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("already opened the course"));
    assert_eq!(seat_state(&app, &refs[0]).await, "locked");
}

/// The seat keeps a copy of its learner's first access (so the state needs no join); the
/// copy must follow the enrolment whichever of the two is written first, and by whoever.
#[tokio::test]
async fn the_lock_follows_the_enrolment_whatever_writes_first() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "lockcopy@example.org").await;
    let a1 = course_id(&app, "X-A1").await;

    // Assigned through the shop, then opened as the LMS would record it.
    assign(&app, &customer, &refs[0], &a1, "first@example.org").await;
    assert_eq!(seat_state(&app, &refs[0]).await, "in_use");
    app.exec(&format!(
        "UPDATE enrolments SET first_access_at = now() WHERE course_id = {a1}
         AND user_id = (SELECT id FROM users WHERE email = 'first@example.org')"
    ))
    .await;
    assert_eq!(seat_state(&app, &refs[0]).await, "locked");

    // An enrolment already opened, then a seat pointed at it.
    let other = app
        .count("INSERT INTO users (email) VALUES ('other@example.org') RETURNING id")
        .await;
    app.exec(&format!(
        "INSERT INTO enrolments (user_id, course_id, role, first_access_at) VALUES ({other}, {a1}, 'student', now())"
    ))
    .await;
    let seat = &refs[1];
    app.exec(&format!(
        "UPDATE product_instances SET assigned_user_id = {other}, assigned_course_id = {a1} WHERE reference = '{seat}'"
    ))
    .await;
    assert_eq!(seat_state(&app, seat).await, "locked");

    // Released: no lock left behind.
    app.exec(&format!(
        "UPDATE product_instances SET assigned_user_id = NULL, assigned_course_id = NULL WHERE reference = '{seat}'"
    ))
    .await;
    assert_eq!(seat_state(&app, seat).await, "available");

    // And the copy agrees with the enrolments everywhere.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM product_instances pi
             LEFT JOIN enrolments e ON e.course_id = pi.assigned_course_id AND e.user_id = pi.assigned_user_id
             WHERE (pi.locked_at IS NOT NULL) <> (e.first_access_at IS NOT NULL)"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn an_expired_seat_shows_expired_and_cannot_be_assigned() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "late@example.org").await;
    sqlx::query(
        "UPDATE product_instances SET end_at = now() - interval '1 day' WHERE reference = $1",
    )
    .bind(&refs[0])
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(seat_state(&app, &refs[0]).await, "expired");
    let page = app
        .get_with(&customer, &format!("/customer/products/{}", refs[0]))
        .await;
    assert!(page.body.contains("Expired") && !page.body.contains("Assign this seat"));
    let a1 = course_id(&app, "X-A1").await;
    let refused = assign(&app, &customer, &refs[0], &a1, "someone@example.org").await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.contains("expired"));
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'someone@example.org'")
            .await,
        0
    );
    let space = app.get_with(&customer, "/customer?state=expired").await;
    assert!(space.body.contains(&refs[0]) && !space.body.contains(&refs[1]));
}

#[tokio::test]
async fn a_course_outside_the_seat_and_a_new_learner_without_names_are_refused() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "strict@example.org").await;
    let support = course_id(&app, "X-SUPPORT").await;
    assert_eq!(
        assign(&app, &customer, &refs[0], &support, "x@example.org")
            .await
            .status,
        422
    );
    let a1 = course_id(&app, "X-A1").await;
    let nameless = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/assign", refs[0]),
            &[("course", &a1), ("email", "new@example.org")],
        )
        .await;
    assert_eq!(nameless.status, 422);
    assert!(nameless.body.contains("give a first and last name"));
    assert_eq!(seat_state(&app, &refs[0]).await, "available");
}

async fn upload(app: &TestApp, c: &reqwest::Client, csv: &str) -> (u16, String) {
    let token = app.csrf_for(c).await;
    let form = reqwest::multipart::Form::new().part(
        "csv",
        reqwest::multipart::Part::bytes(csv.as_bytes().to_vec()).file_name("seats.csv"),
    );
    let res = c
        .post(app.url(&format!("/customer/products/bulk?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn bulk_csv_is_all_or_nothing_with_a_line_report() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, _) = customer_with_seats(&app, "bulk@example.org").await;
    let template = app
        .get_with(&customer, "/customer/products/bulk/template.csv")
        .await;
    assert_eq!(template.body, "email,firstname,lastname,course\n");

    let bad = "email,firstname,lastname,course\na@example.org,Ann,A,X-A1\nnot-an-email,Bob,B,X-A1\nc@example.org,Cy,C,X-SUPPORT\nd@example.org,Di,D,NOPE\n";
    let (status, body) = upload(&app, &customer, bad).await;
    assert_eq!(status, 422);
    assert!(body.contains("Nothing was assigned"));
    assert!(
        body.contains("<td data-label=\"Line\">3</td>") && body.contains("Enter an email address"),
        "{body}"
    );
    assert!(
        body.contains("<td data-label=\"Line\">4</td>")
            && body.contains("No available seat can be used for this course")
    );
    assert!(
        body.contains("<td data-label=\"Line\">5</td>")
            && body.contains("No visible course has this short name")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'a@example.org'")
            .await,
        0,
        "the good line was rolled back too"
    );

    let too_many: String = std::iter::once("email,firstname,lastname,course\n".to_owned())
        .chain((0..11).map(|i| format!("p{i}@example.org,P,{i},X-A1\n")))
        .collect();
    let (status, body) = upload(&app, &customer, &too_many).await;
    assert_eq!(status, 422);
    assert!(body.contains("more lines than available seats"));

    let good = "email,firstname,lastname,course\na@example.org,Ann,A,X-A1\nb@example.org,Bob,B,X-A2\na@example.org,Ann,A,X-A2\n";
    let (status, _) = upload(&app, &customer, good).await;
    assert_eq!(status, 303);
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL")
            .await,
        3
    );
    assert_eq!(app.count("SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.email IN ('a@example.org', 'b@example.org')").await, 3);
}

/// Uploads of one customer at once, in the same courses and bill group, naming the courses in
/// different orders: all succeed (one after the other), none waits for a deadlock to be
/// broken, and the counters agree with the seats.
#[tokio::test]
async fn concurrent_bulk_uploads_of_one_customer_all_succeed() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, _) = customer_with_packs(&app, "many@example.org", 7).await;
    let uploads = (0..8).map(|u| {
        let (app, customer) = (&app, &customer);
        async move {
            let csv: String = std::iter::once("email,firstname,lastname,course\n".to_owned())
                // Half the uploads name the courses in the other order.
                .chain((0..4).map(|i| {
                    let course = if (u + i) % 2 == 0 { "X-A1" } else { "X-A2" };
                    format!("u{u}l{i}@example.org,L,{i},{course}\n")
                }))
                .collect();
            upload(app, customer, &csv).await.0
        }
    });
    let started = std::time::Instant::now();
    let statuses = futures::future::join_all(uploads).await;
    assert_eq!(statuses, vec![303; 8]);
    // A deadlock is only broken after deadlock_timeout (1 s) each.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL")
            .await,
        32
    );
    let customer_id: i64 =
        sqlx::query_scalar("SELECT id FROM customers WHERE email = 'many@example.org'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    let counts = lms_shop::store::seats::counts(&app.db, customer_id)
        .await
        .unwrap();
    assert_eq!((counts.available, counts.in_use), (3, 32));
}

#[tokio::test]
async fn twenty_concurrent_assignments_of_one_seat_enrol_exactly_one_learner() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "race@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    let jobs = (0..20)
        .map(|i| (refs[0].clone(), format!("racer{i}@example.org")))
        .collect();
    let statuses = assign_concurrently(&app, &customer, &a1, jobs).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "{statuses:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.email LIKE 'racer%'").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email LIKE 'racer%'")
            .await,
        1,
        "losers leave no account behind"
    );
}

#[tokio::test]
async fn fifty_concurrent_assignments_across_ten_seats_assign_exactly_ten() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "crowd@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    let jobs = (0..50)
        .map(|i| {
            (
                refs[i % 10].clone(),
                format!("learner{i}@crowd.example.org"),
            )
        })
        .collect();
    let statuses = assign_concurrently(&app, &customer, &a1, jobs).await;
    let ok = statuses.iter().filter(|s| **s == 303).count();
    assert_eq!(ok, 10);
    assert_eq!(
        app.count("SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL")
            .await,
        10
    );
    assert_eq!(app.count("SELECT count(*) FROM enrolments e JOIN users u ON u.id = e.user_id WHERE u.email LIKE '%@crowd.example.org' AND e.role = 'student'").await, 10);
}

#[tokio::test]
async fn another_customer_gets_404_on_every_route_of_this_one() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (owner, refs) = customer_with_seats(&app, "owner@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    assert_eq!(
        assign(&app, &owner, &refs[1], &a1, "owned@example.org")
            .await
            .status,
        303
    );
    let (intruder, _) = customer_with_seats(&app, "intruder@example.org").await;
    let bill: String = sqlx::query_scalar("SELECT b.public_id FROM bills b JOIN customers c ON c.id = b.customer_id WHERE c.email = 'owner@example.org'").fetch_one(&app.db).await.unwrap();
    assert_eq!(
        app.get_with(&intruder, &format!("/customer/bills/{bill}"))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get_with(&intruder, &format!("/customer/products/{}", refs[0]))
            .await
            .status,
        404
    );
    assert_eq!(
        assign(&app, &intruder, &refs[0], &a1, "stolen@example.org")
            .await
            .status,
        404
    );
    assert_eq!(
        app.post_with(
            &intruder,
            &format!("/customer/products/{}/unassign", refs[1]),
            &[]
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get_with(&intruder, &format!("/checkout/done/{bill}"))
            .await
            .status,
        404
    );
    assert_eq!(seat_state(&app, &refs[0]).await, "available");
    assert_eq!(seat_state(&app, &refs[1]).await, "in_use");
    // Guessed ids of the back-office are 404 for a customer too.
    assert_eq!(app.get_with(&intruder, "/admin/bills/1").await.status, 404);
    assert_eq!(app.get_with(&intruder, "/admin/seats").await.status, 404);
    // Anonymous visitors are sent to log in.
    let anon = app
        .get_with(&client(), &format!("/customer/products/{}", refs[0]))
        .await;
    assert_eq!(anon.status, 303);
}

#[tokio::test]
async fn a_post_without_csrf_token_changes_nothing() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "csrf@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    let page = app
        .post_raw(
            &customer,
            &format!("/customer/products/{}/assign", refs[0]),
            &[
                ("course", &a1),
                ("email", "x@example.org"),
                ("firstname", "X"),
                ("lastname", "Y"),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert_eq!(seat_state(&app, &refs[0]).await, "available");
}

#[tokio::test]
async fn operators_search_seats_and_release_an_unused_one() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "opsearch@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    assign(&app, &customer, &refs[3], &a1, "found@example.org").await;
    app.login_operator().await;
    let by_ref = app.get(&format!("/admin/seats?q={}", refs[3])).await;
    assert!(by_ref.body.contains(&refs[3]) && !by_ref.body.contains(&refs[4]));
    let in_use = app.get("/admin/seats?state=in_use&course=X-A1").await;
    assert!(in_use.body.contains("found@example.org"));
    let by_customer = app.get("/admin/seats?q=opsearch").await;
    assert!(by_customer.body.contains(&refs[9]));
    let id: i64 = sqlx::query_scalar("SELECT id FROM product_instances WHERE reference = $1")
        .bind(&refs[3])
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(
        app.post(&format!("/admin/seats/{id}/unassign"), &[])
            .await
            .status,
        303
    );
    assert_eq!(seat_state(&app, &refs[3]).await, "available");
}

#[tokio::test]
async fn the_space_filters_by_course_and_paginates() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "filter@example.org").await;
    let a2 = course_id(&app, "X-A2").await;
    assign(&app, &customer, &refs[2], &a2, "f@example.org").await;
    let in_use = app.get_with(&customer, "/customer?state=in_use").await;
    assert!(in_use.body.contains(&refs[2]) && !in_use.body.contains(&refs[3]));
    let support = course_id(&app, "X-SUPPORT").await;
    let none = app
        .get_with(&customer, &format!("/customer?course={support}"))
        .await;
    assert!(none.body.contains("No product matches"));
    // Typed-in references are accepted in any case and without dashes.
    let lower = refs[2].to_lowercase().replace('-', "");
    assert_eq!(
        app.get_with(&customer, &format!("/customer/products/{lower}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_space_pages_by_fifty_and_counts_every_state() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (buyer, refs) = customer_with_packs(&app, "pages@example.org", 11).await;
    let a1 = course_id(&app, "X-A1").await;
    assign(&app, &buyer, &refs[54], &a1, "last@example.org").await;
    app.exec(&format!(
        "UPDATE product_instances SET end_at = now() - interval '1 day' WHERE reference = '{}'",
        refs[53]
    ))
    .await;

    let first = app.get_with(&buyer, "/customer").await.body;
    assert!(first.contains("Products: 55") && first.contains("1 / 2"));
    assert!(first.contains(&refs[0]) && first.contains(&refs[49]) && !first.contains(&refs[50]));
    for count in ["Available: 53", "In use: 1", "Locked: 0", "Expired: 1"] {
        assert!(first.contains(count), "{count}");
    }
    let second = app.get_with(&buyer, "/customer?page=2").await.body;
    assert!(second.contains("2 / 2") && second.contains(&refs[50]) && !second.contains(&refs[49]));
    // Past the end, however far: the last page.
    for page in ["3", "9223372036854775807"] {
        let last = app
            .get_with(&buyer, &format!("/customer?page={page}"))
            .await;
        assert_eq!(last.status, 200);
        assert!(last.body.contains("2 / 2") && last.body.contains(&refs[54]));
    }
    // Filters change the total and the pages, not the counts by state.
    let in_use = app.get_with(&buyer, "/customer?state=in_use").await.body;
    assert!(in_use.contains("Products: 1"));
    assert!(
        in_use.contains("1 / 1") && in_use.contains(&refs[54]) && in_use.contains("Available: 53")
    );
}

#[tokio::test]
async fn the_course_filter_offers_the_courses_the_customers_seats_allow() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    app.login_operator().await;
    app.create_courses(&["Z-OTHER"]).await;
    let (customer, _) = customer_with_seats(&app, "filter@example.org").await;
    let space = app.get_with(&customer, "/customer").await.body;
    let filter = extract_between(&space, "<select id=\"course\"", "</select>").unwrap();
    assert!(
        filter.contains(">X-A1<") && filter.contains(">X-A2<"),
        "{filter}"
    );
    assert!(
        !filter.contains("X-SUPPORT") && !filter.contains("Z-OTHER"),
        "{filter}"
    );
}

#[tokio::test]
async fn a_customer_exports_their_products_as_csv_with_the_space_filters() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "export@example.org").await;
    let csv = app
        .get_with(&customer, "/customer/products/export.csv")
        .await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "reference,product,state,start,end,email,firstname,lastname,course"
    );
    assert_eq!(lines.len(), 11, "{}", csv.body);
    assert!(lines[1].starts_with(&format!("{},X-PACK5,Available,", refs[0])));
    let in_use = app
        .get_with(&customer, "/customer/products/export.csv?state=in_use")
        .await;
    assert_eq!(in_use.body.lines().count(), 1, "the filter applies");
    // Someone else's export holds nothing of this customer's.
    let (other, _) = customer_with_seats(&app, "other-export@example.org").await;
    let theirs = app
        .get_with(&other, "/customer/products/export.csv")
        .await
        .body;
    assert!(!theirs.contains(&refs[0]));

    // A name typed as a formula stays text in the spreadsheet.
    let a1 = course_id(&app, "X-A1").await;
    assert_eq!(
        assign(&app, &customer, &refs[0], &a1, "formula@example.org")
            .await
            .status,
        303
    );
    app.exec("UPDATE product_instances SET learner_firstname = '=HYPERLINK(\"http://evil\")' WHERE learner_firstname IS NOT NULL")
        .await;
    let csv = app
        .get_with(&customer, "/customer/products/export.csv?state=in_use")
        .await
        .body;
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\")\""),
        "{csv}"
    );
}

#[tokio::test]
async fn a_customer_sends_the_learner_their_invitation_again_at_most_every_ten_minutes() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let (customer, refs) = customer_with_seats(&app, "remind@example.org").await;
    let a1 = course_id(&app, "X-A1").await;
    assert_eq!(
        assign(&app, &customer, &refs[0], &a1, "late@example.org")
            .await
            .status,
        303
    );
    assert_eq!(app.password_links("late@example.org").await.len(), 1);
    let remind = |r: &str| {
        let path = format!("/customer/products/{r}/remind");
        let app = &app;
        let customer = &customer;
        async move { app.post_with(customer, &path, &[]).await }
    };
    // The assignment's own mails went a moment ago.
    assert_eq!(remind(&refs[0]).await.status, 409);
    app.exec("UPDATE outbox SET created_at = now() - interval '1 hour'")
        .await;
    let page = remind(&refs[0]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let links = app.password_links("late@example.org").await;
    assert_eq!(links.len(), 2, "a fresh invitation");
    // An unassigned seat has nobody to remind.
    assert_eq!(remind(&refs[1]).await.status, 409);
}
