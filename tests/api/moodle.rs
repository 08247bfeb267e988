//! LMS=moodle against the fake Moodle (`fake_moodle.rs`): the start-up check, the course
//! import, checkout + production + assignment reaching Moodle, Moodle down, permanent
//! errors and their retry, locks from Moodle's activity, release, idempotent retries and
//! concurrent workers.

use std::time::Duration;

use lms_shop::moodle::{Moodle, check};

use crate::fake_moodle::{FakeMoodle, Fault, TOKEN};
use crate::helpers::*;

/// Courses of the seat catalogue, in Moodle: X-A1, X-A2, X-SUPPORT (category "Training").
async fn moodle_with_courses() -> FakeMoodle {
    let fake = FakeMoodle::start().await;
    fake.with(|m| {
        let training = m.categories[0].0;
        for s in ["X-A1", "X-A2", "X-SUPPORT"] {
            m.add_course(s, training, true);
        }
    });
    fake
}

const PACK_PARAMS: &str =
    "courselist=X-A%&packsize=5&supervisor=teacher&customersupport=X-SUPPORT&enddate=2030-01-31";

/// The app on the fake, courses imported by an operator, the pack product created.
async fn shop_on(fake: &FakeMoodle) -> TestApp {
    let app = spawn_moodle_app(&fake.url, TOKEN).await;
    app.login_operator().await;
    let synced = app.post("/admin/courses/sync", &[("category", "")]).await;
    assert_eq!(synced.status, 303, "{}", synced.body);
    let made = app
        .create_product("X-PACK5", "1200", "std_generateseats", PACK_PARAMS)
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    app
}

/// Buys `packs` packs as `email`; the buyer's client is signed in to the customer space.
pub(crate) async fn buy(
    app: &TestApp,
    email: &str,
    packs: &str,
) -> (reqwest::Client, String, Vec<String>) {
    let buyer = client();
    let public_id = app.buy_and_pay(&buyer, "X-PACK5", packs, email).await;
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    assert_eq!(app.bill_state(&public_id).await, "COMPLETE");
    let reference: i64 = sqlx::query_scalar("SELECT number FROM bills WHERE public_id = $1")
        .bind(&public_id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    let seats: Vec<String> = sqlx::query_scalar(
        "SELECT pi.reference FROM product_instances pi JOIN customers c ON c.id = pi.customer_id
         WHERE c.email = $1 ORDER BY pi.id",
    )
    .bind(email)
    .fetch_all(&app.db)
    .await
    .unwrap();
    (buyer, format!("B{reference:010}"), seats)
}

pub(crate) async fn course_id(app: &TestApp, shortname: &str) -> String {
    let id: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = $1")
        .bind(shortname)
        .fetch_one(&app.db)
        .await
        .unwrap();
    id.to_string()
}

pub(crate) async fn assign(
    app: &TestApp,
    c: &reqwest::Client,
    seat: &str,
    course: &str,
    email: &str,
) -> Page {
    let course = course_id(app, course).await;
    app.post_with(
        c,
        &format!("/customer/products/{seat}/assign"),
        &[
            ("course", course.as_str()),
            ("email", email),
            ("firstname", "Grace"),
            ("lastname", "Hopper"),
        ],
    )
    .await
}

/// Waits until every Moodle job is done (failing after `secs`).
pub(crate) async fn jobs_done(app: &TestApp, secs: u64) {
    for _ in 0..secs * 10 {
        if app
            .count("SELECT count(*) FROM lms_jobs WHERE state <> 'done'")
            .await
            == 0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: Vec<(i64, String, Option<String>)> =
        sqlx::query_as("SELECT id, state, last_error FROM lms_jobs WHERE state <> 'done'")
            .fetch_all(&app.db)
            .await
            .unwrap();
    panic!("Moodle jobs not done after {secs} s: {left:?}");
}

pub(crate) async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..secs * 10 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {secs} s");
}

pub(crate) async fn seat_state(app: &TestApp, reference: &str) -> String {
    sqlx::query_scalar("SELECT seat_state(pi) FROM product_instances pi WHERE reference = $1")
        .bind(reference)
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_start_up_check_says_what_is_wrong() {
    let fake = FakeMoodle::start().await;
    let moodle_at = |url: &str, token: &str| Moodle::new(&moodle_config(url, token)).unwrap();

    let ok = check::check(&moodle_at(&fake.url, TOKEN)).await.unwrap();
    assert!(ok.contains("Fake Moodle"), "{ok}");

    // Nothing listens there.
    let e = check::check(&moodle_at("http://127.0.0.1:9", TOKEN))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot reach Moodle at MOODLE_URL http://127.0.0.1:9"),
        "{e}"
    );

    // A web server, but not a Moodle site root.
    let e = check::check(&moodle_at(&format!("{}/moodle", fake.url), TOKEN))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not a Moodle site with web services"), "{e}");
    assert!(e.contains("HTTP 404"), "{e}");

    let e = check::check(&moodle_at(&fake.url, "wrong-token"))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("MOODLE_TOKEN is not valid"), "{e}");
    assert!(e.contains("Invalid token - token not found"), "{e}");
    assert!(
        !e.contains("wrong-token"),
        "the token must not be shown: {e}"
    );

    fake.with(|m| {
        m.functions
            .retain(|f| f != "core_group_create_groups" && f != "core_enrol_get_enrolled_users")
    });
    let e = check::check(&moodle_at(&fake.url, TOKEN))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "lacks these functions: core_enrol_get_enrolled_users, core_group_create_groups"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn courses_are_imported_with_hidden_and_deleted_ones_shown_and_unassignable() {
    let fake = FakeMoodle::start().await;
    let (training, other) = fake.with(|m| {
        let training = m.categories[0].0;
        let other = m.add_category("Other");
        m.add_course("M-A1", training, true);
        m.add_course("M-A2", training, false);
        m.add_course("M-B1", other, true);
        (training, other)
    });
    let app = spawn_moodle_app(&fake.url, TOKEN).await;
    app.login_operator().await;

    // One category first.
    let synced = app
        .post("/admin/courses/sync", &[("category", &other.to_string())])
        .await;
    assert_eq!(synced.status, 303, "{}", synced.body);
    assert_eq!(app.count("SELECT count(*) FROM courses").await, 1);
    let page = app.get("/admin/courses").await;
    assert!(
        page.body.contains("1 course imported from Moodle."),
        "{}",
        page.body
    );
    // The fake's courses have no groups (group mode 0): the operator is warned.
    assert!(
        page.body.contains("Not in separate groups mode in Moodle"),
        "{}",
        page.body
    );

    // Then all: the front page (site course) is not a course to sell.
    app.post("/admin/courses/sync", &[("category", "")]).await;
    let rows: Vec<(String, bool, Option<String>, bool)> = sqlx::query_as(
        "SELECT shortname, visible, moodle_category, moodle_gone FROM courses ORDER BY shortname",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            ("M-A1".into(), true, Some("Training".into()), false),
            ("M-A2".into(), false, Some("Training".into()), false),
            ("M-B1".into(), true, Some("Other".into()), false),
        ]
    );

    // M-A1 deleted in Moodle, M-B1 hidden there.
    fake.with(|m| {
        m.courses.retain(|c| c.shortname != "M-A1");
        m.courses
            .iter_mut()
            .filter(|c| c.shortname == "M-B1")
            .for_each(|c| c.visible = false);
    });
    app.post("/admin/courses/sync", &[("category", "")]).await;
    let page = app.get("/admin/courses").await;
    assert!(page.body.contains("Deleted in Moodle"), "{}", page.body);
    assert!(page.body.contains("hidden in Moodle"), "{}", page.body);
    assert!(page.body.contains("· Training"));
    let gone: (bool, bool) =
        sqlx::query_as("SELECT visible, moodle_gone FROM courses WHERE shortname = 'M-A1'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(gone, (false, true));
    let _ = training;

    // A seat for any course cannot be given a deleted or hidden one.
    let made = app
        .create_product("ANY", "10", "std_generateseats", "packsize=1")
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let buyer = client();
    let public_id = app.buy_and_pay(&buyer, "ANY", "1", "any@example.org").await;
    app.get_with(&buyer, &format!("/checkout/done/{public_id}"))
        .await;
    let seat: String = sqlx::query_scalar("SELECT reference FROM product_instances")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for course in ["M-A1", "M-B1"] {
        let page = assign(&app, &buyer, &seat, course, "l@example.org").await;
        assert_eq!(page.status, 422, "{course}: {}", page.body);
    }
    // Nor a course the shop has but Moodle never had; the seat's page offers none of them.
    app.create_courses(&["LOCAL-1"]).await;
    let offered = app
        .get_with(&buyer, &format!("/customer/products/{seat}"))
        .await;
    let offered_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM courses WHERE shortname IN ('LOCAL-1', 'M-A1', 'M-A2', 'M-B1')",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    for id in offered_ids {
        assert!(
            !offered.body.contains(&format!("<option value=\"{id}\"")),
            "course {id} offered: {}",
            offered.body
        );
    }
    let page = assign(&app, &buyer, &seat, "LOCAL-1", "l@example.org").await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert_eq!(app.count("SELECT count(*) FROM lms_jobs").await, 0);
    let page = assign(&app, &buyer, &seat, "M-A2", "l@example.org").await;
    assert_eq!(page.status, 422, "hidden in Moodle: {}", page.body);

    // Without Moodle the sync is refused.
    let builtin = spawn_app().await;
    builtin.login_operator().await;
    assert_eq!(
        builtin
            .post("/admin/courses/sync", &[("category", "")])
            .await
            .status,
        409
    );
}

#[tokio::test]
async fn checkout_production_and_assignment_make_exactly_the_right_moodle_state() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, bill, seats) = buy(&app, "buyer@example.org", "2").await;
    assert_eq!(seats.len(), 10);
    jobs_done(&app, 10).await;

    // Production: the customer's user in the support course, as a Moodle account of its own.
    fake.with(|m| {
        let buyer = m.user("buyer@example.org").expect("customer user created");
        assert_eq!(buyer.auth, "manual");
        assert_eq!(buyer.username, "buyer@example.org");
        let e = m.enrolment("buyer@example.org", "X-SUPPORT").unwrap();
        assert_eq!(e.roles, [5].into());
        assert_eq!(m.calls_of("core_user_create_users"), 1);
        let created = &m
            .calls
            .iter()
            .find(|(f, _)| f == "core_user_create_users")
            .unwrap()
            .1;
        assert!(created.contains(&("users[0][createpassword]".into(), "1".into())));
    });

    let page = assign(&app, &customer, &seats[0], "X-A1", "grace@example.org").await;
    assert_eq!(page.status, 303, "{}", page.body);
    jobs_done(&app, 10).await;

    let seat_end = time::macros::datetime!(2030-01-31 0:00 UTC).unix_timestamp();
    fake.with(|m| {
        let learner = m
            .user("grace@example.org")
            .expect("learner created in Moodle");
        assert_eq!(
            (learner.firstname.as_str(), learner.lastname.as_str()),
            ("Grace", "Hopper")
        );
        let e = m.enrolment("grace@example.org", "X-A1").unwrap();
        assert_eq!(e.roles, [5].into(), "student");
        assert_eq!(e.timeend, seat_end);
        assert!(e.timestart > 0);
        let sup = m.enrolment("buyer@example.org", "X-A1").unwrap();
        assert_eq!(sup.roles, [4].into(), "teacher: the supervisor role");
        assert_eq!(m.groups_of("grace@example.org", "X-A1"), vec![bill.clone()]);
        assert_eq!(m.groups_of("buyer@example.org", "X-A1"), vec![bill.clone()]);
        assert_eq!(m.groups.len(), 1);
        assert_eq!(m.groups[0].name, bill);
        assert_eq!(m.users.len(), 2);
    });

    // A second seat of the same bill in the same course: same group, no new group.
    let page = assign(&app, &customer, &seats[1], "X-A1", "ada@example.org").await;
    assert_eq!(page.status, 303);
    jobs_done(&app, 10).await;
    fake.with(|m| {
        assert_eq!(m.groups.len(), 1);
        assert_eq!(m.groups[0].members.len(), 3);
    });

    // The learner's mail points to the Moodle course and Moodle's password page.
    let moodle_course = fake.with(|m| m.course("X-A1").unwrap().id);
    let mails = app.mails_to("grace@example.org").await;
    assert_eq!(
        mails.len(),
        1,
        "no shop set-password mail with Moodle: {mails:?}"
    );
    assert!(
        mails[0]
            .1
            .contains(&format!("{}/course/view.php?id={moodle_course}", fake.url))
    );
    assert!(
        mails[0]
            .1
            .contains(&format!("{}/login/forgot_password.php", fake.url))
    );

    // Every job recorded its calls and when it was done.
    let (jobs, calls, undated): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), sum(calls), count(*) FILTER (WHERE done_at IS NULL OR done_at < created_at) FROM lms_jobs",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        jobs, 4,
        "support, learner, supervisor, learner: the supervisor's second seat changes nothing"
    );
    assert_eq!(undated, 0);
    assert_eq!(
        calls,
        fake.with(|m| m
            .calls
            .iter()
            .filter(|(f, _)| f != "core_enrol_get_enrolled_users"
                && f != "core_course_get_courses"
                && f != "core_course_get_categories")
            .count()) as i64
    );

    // The customer's courses open in Moodle.
    let link = app.password_links("buyer@example.org").await.remove(0);
    let me = client();
    app.choose_password(&me, &link).await;
    app.login_with(&me, "buyer@example.org", "a long passphrase")
        .await;
    let mine = app.get_with(&me, "/my/courses").await;
    assert!(
        mine.body
            .contains(&format!("{}/course/view.php?id={moodle_course}", fake.url)),
        "{}",
        mine.body
    );
    let opened = app.get_with(&me, "/course/X-A1").await;
    assert_eq!(opened.status, 303);

    let metrics = app.get("/metrics").await;
    assert!(
        metrics.body.contains(
            r#"shop_moodle_calls_total{function="enrol_manual_enrol_users",outcome="ok"}"#
        ),
        "{}",
        metrics.body
    );
}

#[tokio::test]
async fn while_moodle_is_down_checkout_and_assignment_succeed_and_catch_up() {
    let mut fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    fake.stop();
    let (customer, bill, seats) = buy(&app, "down@example.org", "1").await;
    let page = assign(&app, &customer, &seats[0], "X-A2", "late@example.org").await;
    assert_eq!(page.status, 303, "{}", page.body);
    let seat = app
        .get_with(&customer, &format!("/customer/products/{}", seats[0]))
        .await;
    assert!(
        seat.body.contains("Being set up in Moodle"),
        "{}",
        seat.body
    );
    let space = app.get_with(&customer, "/customer").await;
    assert!(space.body.contains("Being set up in Moodle"));
    // Tried and failed, kept for later.
    wait_for("a failed attempt", 5, async || {
        app.count("SELECT count(*) FROM lms_jobs WHERE attempts > 0")
            .await
            > 0
    })
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM lms_jobs WHERE state = 'failed'")
            .await,
        0
    );

    fake.restart().await;
    jobs_done(&app, 30).await;
    fake.with(|m| {
        assert!(m.enrolment("late@example.org", "X-A2").is_some());
        assert_eq!(m.groups_of("late@example.org", "X-A2"), vec![bill.clone()]);
        assert!(m.enrolment("down@example.org", "X-SUPPORT").is_some());
    });
    let seat = app
        .get_with(&customer, &format!("/customer/products/{}", seats[0]))
        .await;
    assert!(!seat.body.contains("Being set up in Moodle"));

    // 500s and timeouts are transient too.
    fake.with(|m| m.faults = vec![Fault::Http500, Fault::Slow(Duration::from_secs(3))]);
    let page = assign(&app, &customer, &seats[1], "X-A2", "slow@example.org").await;
    assert_eq!(page.status, 303);
    jobs_done(&app, 30).await;
    assert!(fake.with(|m| m.enrolment("slow@example.org", "X-A2").is_some()));
    let errors: Vec<String> = sqlx::query_scalar(
        "SELECT last_error FROM lms_jobs WHERE attempts > 1 AND last_error IS NOT NULL",
    )
    .fetch_all(&app.db)
    .await
    .unwrap();
    assert!(errors.is_empty(), "done jobs keep no error: {errors:?}");
}

#[tokio::test]
async fn a_permanent_error_stops_shows_moodles_message_and_retry_works() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let message =
        "Sorry, but you do not currently have permissions to do that (Enrol users in a course).";
    fake.with(|m| {
        m.refuse.insert(
            "enrol_manual_enrol_users".into(),
            (
                "required_capability_exception".into(),
                "nopermissions".into(),
                message.into(),
            ),
        )
    });
    let (_customer, _bill, _seats) = buy(&app, "perm@example.org", "1").await;
    wait_for("the job to stop", 10, async || {
        app.count("SELECT count(*) FROM lms_jobs WHERE state = 'failed'")
            .await
            == 1
    })
    .await;
    let page = app.get("/admin/lms").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(message), "{}", page.body);
    let id: i64 = sqlx::query_scalar("SELECT id FROM lms_jobs WHERE state = 'failed'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    // Not retried by itself.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.with(|m| m.calls_of("enrol_manual_enrol_users")), 1);

    // Retry needs the CSRF token, like every form.
    let forged = app
        .post_raw(&app.client, &format!("/admin/lms/jobs/{id}/retry"), &[])
        .await;
    assert_eq!(forged.status, 403);
    fake.with(|m| m.refuse.clear());
    let retried = app.post(&format!("/admin/lms/jobs/{id}/retry"), &[]).await;
    assert_eq!(retried.status, 303, "{}", retried.body);
    jobs_done(&app, 10).await;
    assert!(fake.with(|m| m.enrolment("perm@example.org", "X-SUPPORT").is_some()));
    assert_eq!(
        app.post(&format!("/admin/lms/jobs/{id}/retry"), &[])
            .await
            .status,
        409
    );

    // A token revoked in Moodle: stops with Moodle's words too.
    fake.with(|m| m.token = "revoked".into());
    let (_c, _b, _s) = buy(&app, "perm2@example.org", "1").await;
    wait_for("the job to stop", 10, async || {
        app.count("SELECT count(*) FROM lms_jobs WHERE state = 'failed'")
            .await
            == 1
    })
    .await;
    let page = app.get("/admin/lms").await;
    assert!(
        page.body.contains("Invalid token - token not found"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn moodle_activity_locks_the_seat_and_release_is_refused() {
    let mut fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, _bill, seats) = buy(&app, "lock@example.org", "1").await;
    for (seat, email) in [
        (&seats[0], "opened@example.org"),
        (&seats[1], "asked@example.org"),
    ] {
        assert_eq!(
            assign(&app, &customer, seat, "X-A1", email).await.status,
            303
        );
    }
    jobs_done(&app, 10).await;
    assert_eq!(seat_state(&app, &seats[0]).await, "in_use");

    // The learner opens the course in Moodle: the refresher locks the seat.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    fake.with(|m| {
        let key = (
            m.user("opened@example.org").unwrap().id,
            m.course("X-A1").unwrap().id,
        );
        m.last_access.insert(key, now);
    });
    wait_for("the lock from Moodle", 10, async || {
        seat_state(&app, &seats[0]).await == "locked"
    })
    .await;
    let page = app
        .get_with(&customer, &format!("/customer/products/{}", seats[0]))
        .await;
    assert!(page.body.contains("Locked"));

    // Release time asks Moodle itself, whatever the refresher saw.
    fake.with(|m| {
        let key = (
            m.user("asked@example.org").unwrap().id,
            m.course("X-A1").unwrap().id,
        );
        m.last_access.insert(key, now);
    });
    let page = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", seats[1]),
            &[],
        )
        .await;
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(
        page.body.contains("already opened the course"),
        "{}",
        page.body
    );
    assert!(fake.with(|m| m.enrolment("asked@example.org", "X-A1").is_some()));

    // Moodle cannot be asked: no release.
    assert_eq!(
        assign(&app, &customer, &seats[2], "X-A1", "third@example.org")
            .await
            .status,
        303
    );
    jobs_done(&app, 10).await;
    fake.stop();
    let page = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", seats[2]),
            &[],
        )
        .await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains("Moodle cannot be reached"),
        "{}",
        page.body
    );
    assert_eq!(seat_state(&app, &seats[2]).await, "in_use");
}

#[tokio::test]
async fn release_removes_the_moodle_enrolment_and_group_membership() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, bill, seats) = buy(&app, "rel@example.org", "1").await;
    assert_eq!(
        assign(&app, &customer, &seats[0], "X-A1", "gone@example.org")
            .await
            .status,
        303
    );
    jobs_done(&app, 10).await;
    assert_eq!(
        fake.with(|m| m.groups_of("gone@example.org", "X-A1")),
        vec![bill.clone()]
    );

    let page = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", seats[0]),
            &[],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let told = app.mails_to("gone@example.org").await;
    assert!(
        told.iter().any(|(s, _)| s.contains("your place in")),
        "the learner hears of the release: {told:?}"
    );
    jobs_done(&app, 10).await;
    fake.with(|m| {
        assert!(m.enrolment("gone@example.org", "X-A1").is_none());
        assert!(m.groups_of("gone@example.org", "X-A1").is_empty());
        assert!(
            m.enrolment("rel@example.org", "X-A1").is_some(),
            "the supervisor stays"
        );
        assert_eq!(m.groups_of("rel@example.org", "X-A1"), vec![bill.clone()]);
        assert_eq!(m.calls_of("core_group_delete_group_members"), 1);
    });
    assert_eq!(seat_state(&app, &seats[0]).await, "available");

    // Given again, to the same learner: enrolled again.
    assert_eq!(
        assign(&app, &customer, &seats[0], "X-A1", "gone@example.org")
            .await
            .status,
        303
    );
    jobs_done(&app, 10).await;
    assert!(fake.with(|m| m.enrolment("gone@example.org", "X-A1").is_some()));

    // Reminded by the customer: the mail leads to Moodle, never to a shop password link.
    app.exec("UPDATE outbox SET created_at = now() - interval '1 hour'")
        .await;
    let before = app.mails_to("gone@example.org").await.len();
    let page = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/remind", seats[0]),
            &[],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let mails = app.mails_to("gone@example.org").await;
    assert_eq!(mails.len(), before + 1);
    let (_, body) = mails.last().unwrap();
    assert!(
        body.contains("/course/view.php?id=") && body.contains("forgot_password.php"),
        "{body}"
    );
    assert!(!body.contains("/password/set/"), "{body}");
}

#[tokio::test]
async fn a_job_applied_again_after_a_crash_changes_nothing_in_moodle() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, bill, seats) = buy(&app, "crash@example.org", "1").await;
    assert_eq!(
        assign(&app, &customer, &seats[0], "X-A2", "twice@example.org")
            .await
            .status,
        303
    );
    jobs_done(&app, 10).await;
    let calls_before = fake.with(|m| m.calls.len());

    // The worker died after Moodle answered but before "done" (and before it remembered the
    // Moodle user): the jobs run again from scratch.
    app.exec("UPDATE users SET moodle_user_id = NULL").await;
    app.exec("UPDATE lms_jobs SET state = 'pending', done_at = NULL, next_attempt_at = now()")
        .await;
    app.state.lms_queued.notify_one();
    jobs_done(&app, 10).await;
    assert!(
        fake.with(|m| m.calls.len()) > calls_before,
        "the jobs ran again"
    );

    fake.with(|m| {
        assert_eq!(
            m.users
                .iter()
                .filter(|u| u.email == "twice@example.org")
                .count(),
            1
        );
        assert_eq!(
            m.users
                .iter()
                .filter(|u| u.email == "crash@example.org")
                .count(),
            1
        );
        assert_eq!(
            m.calls_of("core_user_create_users"),
            2,
            "learner and customer, once each"
        );
        let uid = m.user("twice@example.org").unwrap().id;
        assert_eq!(m.enrolments.iter().filter(|e| e.userid == uid).count(), 1);
        assert_eq!(m.groups.iter().filter(|g| g.idnumber == bill).count(), 1);
        assert_eq!(m.groups_of("twice@example.org", "X-A2"), vec![bill.clone()]);
        assert_eq!(m.calls_of("core_group_create_groups"), 1);
    });
}

#[tokio::test]
async fn two_instances_apply_each_job_once() {
    let fake = moodle_with_courses().await;
    let first = shop_on(&fake).await;
    let second = spawn_on_with(
        first.db_url.clone(),
        lms_shop::startup::connect(&first.db_url, 8).await.unwrap(),
        lms_shop::config::Lms::Moodle(moodle_config(&fake.url, TOKEN)),
    )
    .await;
    // Forty learners to enrol, queued at once (as a bulk assignment would).
    let course: i64 = first
        .count("SELECT id FROM courses WHERE shortname = 'X-A1'")
        .await;
    for i in 0..40 {
        let user = create_user(&first, &format!("l{i}@example.org"), "a long passphrase").await;
        first
            .exec(&format!(
                "INSERT INTO lms_jobs (kind, user_id, course_id, role, group_name)
                 VALUES ('enrol', {user}, {course}, 'student', 'B0000000042')"
            ))
            .await;
    }
    first.state.lms_queued.notify_waiters();
    second.state.lms_queued.notify_waiters();
    jobs_done(&first, 30).await;

    let (attempts, calls): (i64, i64) =
        sqlx::query_as("SELECT max(attempts)::bigint, sum(calls) FROM lms_jobs")
            .fetch_one(&first.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1, "each job applied once");
    fake.with(|m| {
        assert_eq!(m.calls_of("enrol_manual_enrol_users"), 40);
        assert_eq!(m.calls_of("core_user_create_users"), 40);
        assert_eq!(m.calls_of("core_group_add_group_members"), 40);
        assert_eq!(m.groups.len(), 1);
        assert_eq!(m.groups[0].members.len(), 40);
        let by_jobs = m
            .calls
            .iter()
            .filter(|(f, _)| !f.starts_with("core_course_"))
            .count();
        assert_eq!(calls, by_jobs as i64);
    });
    second.stop().await;
}

/// 100 seats assigned in one bulk upload: all reach Moodle, in one group per course, and the
/// figures the benchmark asks for are printed (`--nocapture`): time from assignment to
/// enrolment in Moodle, calls per assignment. Against the fake Moodle: the shop's own cost.
#[tokio::test]
async fn a_burst_of_100_assignments_reaches_moodle() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, bill, _seats) = buy(&app, "burst@example.org", "20").await;
    jobs_done(&app, 10).await;
    let mut csv = String::from("email,firstname,lastname,course\n");
    for i in 0..100 {
        let course = if i % 2 == 0 { "X-A1" } else { "X-A2" };
        csv.push_str(&format!("b{i}@example.org,Learner,N{i},{course}\n"));
    }
    let token = app.csrf_for(&customer).await;
    let form = reqwest::multipart::Form::new().part(
        "csv",
        reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("seats.csv"),
    );
    let started = std::time::Instant::now();
    let res = customer
        .post(app.url(&format!("/customer/products/bulk?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let accepted = started.elapsed();
    let since = time::OffsetDateTime::now_utc() - time::Duration::seconds(60);
    jobs_done(&app, 60).await;
    let all_in = started.elapsed();

    fake.with(|m| {
        for i in 0..100 {
            let course = if i % 2 == 0 { "X-A1" } else { "X-A2" };
            let email = format!("b{i}@example.org");
            assert!(m.enrolment(&email, course).is_some(), "{email}");
            assert_eq!(m.groups_of(&email, course), vec![bill.clone()]);
        }
        assert_eq!(m.groups.len(), 2, "one group per course");
    });
    let (p50, max, calls): (f64, f64, i64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM done_at - created_at))::float8,
                max(extract(epoch FROM done_at - created_at))::float8, sum(calls)
         FROM lms_jobs WHERE seat_id IS NOT NULL AND created_at > $1",
    )
    .bind(since)
    .fetch_one(&app.db)
    .await
    .unwrap();
    println!(
        "moodle burst: 100 assignments accepted in {:.2} s, all in Moodle after {:.2} s; \
         assignment to enrolment p50 {:.2} s, max {:.2} s; {:.2} calls per assignment",
        accepted.as_secs_f64(),
        all_in.as_secs_f64(),
        p50,
        max,
        calls as f64 / 100.0
    );
}

/// The shop committed the assignment but stopped before it could reach Moodle (Moodle was
/// down, then the shop went away): the next instance applies it, once.
#[tokio::test]
async fn a_shop_stopped_before_reaching_moodle_catches_up_after_restart() {
    let mut fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    fake.stop();
    let (customer, bill, seats) = buy(&app, "stop@example.org", "1").await;
    assert_eq!(
        assign(&app, &customer, &seats[0], "X-A1", "kept@example.org")
            .await
            .status,
        303
    );
    assert_eq!(
        app.count("SELECT count(*) FROM lms_jobs WHERE state = 'done'")
            .await,
        0
    );
    let db_url = app.db_url.clone();
    app.stop().await;

    fake.restart().await;
    let again = spawn_on_with(
        db_url.clone(),
        lms_shop::startup::connect(&db_url, 8).await.unwrap(),
        lms_shop::config::Lms::Moodle(moodle_config(&fake.url, TOKEN)),
    )
    .await;
    jobs_done(&again, 30).await;
    fake.with(|m| {
        assert_eq!(
            m.users
                .iter()
                .filter(|u| u.email == "kept@example.org")
                .count(),
            1
        );
        let uid = m.user("kept@example.org").unwrap().id;
        assert_eq!(m.enrolments.iter().filter(|e| e.userid == uid).count(), 1);
        assert_eq!(m.groups_of("kept@example.org", "X-A1"), vec![bill.clone()]);
        assert_eq!(m.groups.len(), 1);
    });
    again.stop().await;
}

/// A release is allowed while the learner has not opened the course, but its Moodle job may
/// wait (Moodle slow or down): a learner who opens the course meanwhile is not unenrolled, and
/// the job stops at /admin/lms for an operator.
#[tokio::test]
async fn a_learner_who_starts_before_the_release_reaches_moodle_is_not_unenrolled() {
    let fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    let (customer, _bill, seats) = buy(&app, "race@example.org", "1").await;
    let page = assign(&app, &customer, &seats[0], "X-A1", "late@example.org").await;
    assert_eq!(page.status, 303);
    jobs_done(&app, 10).await;

    // The release's job, as the release writes it, held back until the learner has started.
    app.exec(
        "INSERT INTO lms_jobs (kind, user_id, course_id, role, group_name, seat_id, next_attempt_at)
         SELECT 'unenrol', user_id, course_id, role, group_name, seat_id, now() + interval '1 hour'
         FROM lms_jobs WHERE kind = 'enrol' AND seat_id IS NOT NULL
           AND user_id = (SELECT id FROM users WHERE email = 'late@example.org')",
    )
    .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    fake.with(|m| {
        let key = (
            m.user("late@example.org").unwrap().id,
            m.course("X-A1").unwrap().id,
        );
        m.last_access.insert(key, now);
    });
    app.exec("UPDATE lms_jobs SET next_attempt_at = now() WHERE kind = 'unenrol'")
        .await;
    app.state.lms_queued.notify_one();
    wait_for("the release job to stop", 10, async || {
        app.count("SELECT count(*) FROM lms_jobs WHERE kind = 'unenrol' AND state = 'failed'")
            .await
            == 1
    })
    .await;
    assert!(fake.with(|m| m.enrolment("late@example.org", "X-A1").is_some()));
    assert_eq!(fake.with(|m| m.calls_of("enrol_manual_unenrol_users")), 0);
    app.login_operator().await;
    let page = app.get("/admin/lms").await;
    assert!(
        page.body
            .contains("opened the course after the seat was released"),
        "{}",
        page.body
    );

    // The operator leaves the learner enrolled and discards the job: recorded as done, with
    // who did it, so jobs of that learner and course behind it are no longer held up.
    let id: i64 = sqlx::query_scalar("SELECT id FROM lms_jobs WHERE state = 'failed'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let done = app
        .post(&format!("/admin/lms/jobs/{id}/discard"), &[])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let why: String =
        sqlx::query_scalar("SELECT last_error FROM lms_jobs WHERE id = $1 AND state = 'done'")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(
        why.starts_with(&format!("discarded by {OPERATOR_EMAIL}")),
        "{why}"
    );
    let again = app
        .post(&format!("/admin/lms/jobs/{id}/discard"), &[])
        .await;
    assert_eq!(again.status, 409);
}

/// A worker that claimed a job and died (its lease never released): another worker applies
/// the job once the lease ends, and only then.
#[tokio::test]
async fn a_job_claimed_by_a_dead_worker_is_applied_after_its_lease() {
    let mut fake = moodle_with_courses().await;
    let app = shop_on(&fake).await;
    fake.stop();
    let (_customer, _bill, _seats) = buy(&app, "lease@example.org", "1").await;
    // Let the live workers give up on it, then take it as a worker about to die would.
    wait_for("a failed attempt", 5, async || {
        app.count("SELECT count(*) FROM lms_jobs WHERE attempts > 0")
            .await
            > 0
    })
    .await;
    app.exec("UPDATE lms_jobs SET next_attempt_at = now()")
        .await;
    let claimed = lms_shop::store::lms_jobs::claim_next(&app.db, 4)
        .await
        .unwrap()
        .expect("the job is due");
    fake.restart().await;
    app.state.lms_queued.notify_waiters();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        app.count("SELECT count(*) FROM lms_jobs WHERE state = 'done'")
            .await,
        0,
        "held by the dead worker's lease"
    );
    jobs_done(&app, 15).await;
    let done: (i64, i32) = sqlx::query_as("SELECT id, attempts FROM lms_jobs WHERE state = 'done'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(done.0, claimed.id);
    fake.with(|m| {
        assert_eq!(m.users.len(), 1);
        assert!(m.enrolment("lease@example.org", "X-SUPPORT").is_some());
    });
}
