//! LMS=moodle against a REAL Moodle 4.5 (`scripts/moodle.sh`, started by `scripts/test.sh`
//! when Moodle's source is on the machine): the "done when", checked through Moodle's
//! own web services. Without a Moodle these tests fail, unless `MOODLE_TESTS=skip` says on
//! purpose that there is none (scripts/test.sh then prints a banner that nothing was checked).
//!
//! One test drives the whole journey in order on one shop database: the Moodle it runs
//! against is reset per suite run, not per test, and a fresh shop numbers its bills from
//! B0000000001 again, so two tests would share Moodle groups.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;
use crate::moodle::{assign, buy, jobs_done, seat_state, wait_for};

struct RealMoodle {
    url: String,
    token: String,
    /// Moodle's own database: only for what no web service returns (an enrolment's end).
    db: sqlx::PgPool,
    http: reqwest::Client,
}

impl RealMoodle {
    async fn from_env() -> Option<RealMoodle> {
        let (Ok(url), Ok(token), Ok(db_url)) = (
            std::env::var("MOODLE_TEST_URL"),
            std::env::var("MOODLE_TEST_TOKEN"),
            std::env::var("MOODLE_TEST_DB_URL"),
        ) else {
            assert_eq!(
                std::env::var("MOODLE_TESTS").as_deref(),
                Ok("skip"),
                "no real Moodle: run scripts/test.sh (it starts one when Moodle's source is here), \
                 or `scripts/moodle.sh start` and export MOODLE_TEST_URL, MOODLE_TEST_TOKEN and \
                 MOODLE_TEST_DB_URL from its output; MOODLE_TESTS=skip to skip on purpose"
            );
            eprintln!("REAL MOODLE NOT TESTED (MOODLE_TESTS=skip)");
            return None;
        };
        let db = sqlx::PgPool::connect(&db_url).await.unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Some(RealMoodle {
            url,
            token,
            db,
            http,
        })
    }

    /// One web-service call, as the shop makes them; Moodle's exceptions fail the test.
    async fn call(&self, function: &str, params: &[(&str, String)]) -> Value {
        let mut form: Vec<(&str, String)> = vec![
            ("wstoken", self.token.clone()),
            ("wsfunction", function.to_owned()),
            ("moodlewsrestformat", "json".to_owned()),
        ];
        form.extend(params.iter().cloned());
        let answer: Value = self
            .http
            .post(format!("{}/webservice/rest/server.php", self.url))
            .form(&form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answer.get("exception").is_none(), "{function}: {answer}");
        answer
    }

    async fn course(&self, shortname: &str) -> i64 {
        let courses = self.call("core_course_get_courses", &[]).await;
        courses
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["shortname"] == shortname)
            .and_then(|c| c["id"].as_i64())
            .unwrap_or_else(|| panic!("no course {shortname} in Moodle"))
    }

    /// The Moodle users with this address (the shop must never make two).
    async fn users(&self, email: &str) -> Vec<i64> {
        let users = self
            .call(
                "core_user_get_users_by_field",
                &[("field", "email".into()), ("values[0]", email.into())],
            )
            .await;
        users
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|u| u["id"].as_i64())
            .collect()
    }

    /// Everyone enrolled in the course, with roles, groups and last access.
    async fn enrolled(&self, course: i64) -> Vec<Value> {
        let users = self
            .call(
                "core_enrol_get_enrolled_users",
                &[
                    ("courseid", course.to_string()),
                    ("options[0][name]", "userfields".into()),
                    (
                        "options[0][value]",
                        "id,email,roles,groups,lastcourseaccess".into(),
                    ),
                ],
            )
            .await;
        users.as_array().unwrap().clone()
    }

    async fn enrolment_of(&self, course: i64, email: &str) -> Option<Value> {
        self.enrolled(course)
            .await
            .into_iter()
            .find(|u| u["email"] == email)
    }

    /// The end of `user`'s manual enrolment in `course`: no web service returns it.
    async fn enrolment_end(&self, course: i64, user: i64) -> Vec<i64> {
        sqlx::query_scalar(
            "SELECT ue.timeend FROM mdl_user_enrolments ue JOIN mdl_enrol e ON e.id = ue.enrolid
             WHERE e.enrol = 'manual' AND e.courseid = $1 AND ue.userid = $2",
        )
        .bind(course)
        .bind(user)
        .fetch_all(&self.db)
        .await
        .unwrap()
    }

    fn script(&self, args: &[&str]) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(root.join("scripts/moodle.sh"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "scripts/moodle.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The learner reads Moodle's password mail, logs in to Moodle and opens the course.
    async fn learner_opens_course(&self, email: &str, course: i64) {
        let password = "Learner-Pass-1!";
        let username = self.script(&[
            "php",
            "scripts/moodle/learner-password.php",
            &format!("--email={email}"),
            &format!("--password={password}"),
        ]);
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let login = browser
            .get(format!("{}/login/index.php", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = login
            .split("name=\"logintoken\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("Moodle's login form");
        let after = browser
            .post(format!("{}/login/index.php", self.url))
            .form(&[
                ("username", username.trim()),
                ("password", password),
                ("logintoken", token),
            ])
            .send()
            .await
            .unwrap();
        assert!(!after.url().as_str().contains("/login/"), "{}", after.url());
        let page = browser
            .get(format!("{}/course/view.php?id={course}", self.url))
            .send()
            .await
            .unwrap();
        let final_url = page.url().to_string();
        let body = page.text().await.unwrap();
        assert!(
            body.contains("<title>Course:"),
            "the learner did not reach the course ({final_url})"
        );
    }
}

const PACK_PARAMS: &str =
    "courselist=MOO-10%&packsize=5&supervisor=teacher&customersupport=MOO-SUPPORT&enddate=2030-01-31";

#[tokio::test]
async fn a_real_moodle_gets_the_seats_the_shop_sells() {
    let Some(moodle) = RealMoodle::from_env().await else {
        return;
    };
    let app = spawn_moodle_app(&moodle.url, &moodle.token).await;
    app.login_operator().await;
    let synced = app.post("/admin/courses/sync", &[("category", "")]).await;
    assert_eq!(synced.status, 303, "{}", synced.body);
    let courses = app.get("/admin/courses").await.body;
    for shown in ["MOO-101", "MOO-102", "MOO-HID"] {
        assert!(courses.contains(shown), "{shown} not imported");
    }
    let made = app
        .create_product("X-PACK5", "1200", "std_generateseats", PACK_PARAMS)
        .await;
    assert_eq!(made.status, 303, "{}", made.body);

    // A buyer pays for 2 packs of 5 seats; the seats may go to MOO-101 and MOO-102.
    let buyer_email = "buyer@example.org";
    let (customer, bill, seats) = buy(&app, buyer_email, "2").await;
    assert_eq!(seats.len(), 10);
    assert_eq!(bill, "B0000000001");
    jobs_done(&app, 60).await;
    let support = moodle.course("MOO-SUPPORT").await;
    assert!(
        moodle.enrolment_of(support, buyer_email).await.is_some(),
        "the customer is enrolled in the customer-support course"
    );

    // The customer assigns a seat to a new learner.
    let learner = "new.learner@example.org";
    let t0 = std::time::Instant::now();
    let page = assign(&app, &customer, &seats[0], "MOO-101", learner).await;
    assert_eq!(page.status, 303, "{}", page.body);
    jobs_done(&app, 60).await;
    eprintln!("assignment to enrolment in Moodle: {:?}", t0.elapsed());

    // Moodle, through its web services: one user, a student of MOO-101 in group B0000000001,
    // the customer's user there as teacher in the same group.
    assert_eq!(moodle.users(learner).await.len(), 1);
    let moo101 = moodle.course("MOO-101").await;
    let enrolled = moodle.enrolment_of(moo101, learner).await.expect("enrolled");
    let roles: Vec<&str> = enrolled["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["shortname"].as_str())
        .collect();
    assert_eq!(roles, ["student"]);
    let groups: Vec<&str> = enrolled["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["name"].as_str())
        .collect();
    assert_eq!(groups, [bill.as_str()]);
    let supervisor = moodle
        .enrolment_of(moo101, buyer_email)
        .await
        .expect("the customer's user is enrolled");
    assert!(
        supervisor["roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["shortname"] == "teacher"),
        "{supervisor}"
    );
    assert!(
        supervisor["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == bill),
        "{supervisor}"
    );
    // With the seat's end date.
    let seat_end: i64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM end_at)::bigint FROM product_instances WHERE reference = $1",
    )
    .bind(&seats[0])
    .fetch_one(&app.db)
    .await
    .unwrap();
    let learner_id = moodle.users(learner).await[0];
    assert_eq!(moodle.enrolment_end(moo101, learner_id).await, [seat_end]);

    // The learner logs in to Moodle and opens the course: the shop shows the seat Locked
    // within a minute and refuses to release it.
    moodle.learner_opens_course(learner, moo101).await;
    wait_for("the seat locked from Moodle's activity", 60, async || {
        seat_state(&app, &seats[0]).await == "locked"
    })
    .await;
    let page = app
        .get_with(&customer, &format!("/customer/products/{}", seats[0]))
        .await;
    assert!(page.body.contains("Locked"), "{}", page.body);
    let refused = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", seats[0]),
            &[],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(moodle.enrolment_of(moo101, learner).await.is_some());

    // A learner who never opened the course is released: out of Moodle's course and group.
    let leaving = "leaving@example.org";
    let page = assign(&app, &customer, &seats[1], "MOO-101", leaving).await;
    assert_eq!(page.status, 303, "{}", page.body);
    jobs_done(&app, 60).await;
    assert!(moodle.enrolment_of(moo101, leaving).await.is_some());
    let released = app
        .post_with(
            &customer,
            &format!("/customer/products/{}/unassign", seats[1]),
            &[],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    jobs_done(&app, 60).await;
    assert!(moodle.enrolment_of(moo101, leaving).await.is_none());

    // Moodle stopped: the assignment still succeeds, the seat says it is being set up, and
    // it reaches Moodle once Moodle is back.
    moodle.script(&["stop-web"]);
    let later = "while.down@example.org";
    let page = assign(&app, &customer, &seats[2], "MOO-102", later).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let seat_page = app
        .get_with(&customer, &format!("/customer/products/{}", seats[2]))
        .await;
    assert!(
        seat_page.body.contains("Being set up in Moodle"),
        "{}",
        seat_page.body
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    moodle.script(&["start"]);
    jobs_done(&app, 120).await;
    let moo102 = moodle.course("MOO-102").await;
    assert!(moodle.enrolment_of(moo102, later).await.is_some());
    assert_eq!(moodle.users(later).await.len(), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM lms_jobs WHERE state <> 'done'")
            .await,
        0
    );
}
