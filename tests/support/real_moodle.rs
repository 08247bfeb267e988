//! Shared by the suites that run against a REAL Moodle (`scripts/moodle.sh`, started by
//! `scripts/test.sh` when Moodle's source is on the machine): where it is, its web services as
//! the shop calls them, and what a learner does there. Without a Moodle the tests fail, unless
//! `MOODLE_TESTS=skip` says on purpose that there is none (scripts/test.sh then prints a banner
//! that nothing was checked).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

pub struct RealMoodle {
    pub url: String,
    pub token: String,
    /// Moodle's own database: only for what no web service returns (an enrolment's end).
    db: sqlx::PgPool,
    http: reqwest::Client,
}

/// `name@example.org` made unique to this run, so a Moodle not reset since an earlier run
/// (`scripts/moodle.sh start` without `--fresh`) still starts each test from nobody.
pub fn email(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}.{nanos:x}@example.org")
}

impl RealMoodle {
    pub async fn from_env() -> Option<RealMoodle> {
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
    pub async fn call(&self, function: &str, params: &[(&str, String)]) -> Value {
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

    pub async fn course(&self, shortname: &str) -> i64 {
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
    pub async fn users(&self, email: &str) -> Vec<i64> {
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
    pub async fn enrolled(&self, course: i64) -> Vec<Value> {
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

    pub async fn enrolment_of(&self, course: i64, email: &str) -> Option<Value> {
        self.enrolled(course)
            .await
            .into_iter()
            .find(|u| u["email"] == email)
    }

    /// The end of `user`'s manual enrolment in `course`: no web service returns it.
    pub async fn enrolment_end(&self, course: i64, user: i64) -> Vec<i64> {
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

    pub fn script(&self, args: &[&str]) -> String {
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
    pub async fn learner_opens_course(&self, email: &str, course: i64) {
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
