#![allow(dead_code)] // shared helpers: each test uses a part
//! Spawns the real application on a random port against a fresh database cloned from a
//! migrated template, and drives it over HTTP like a browser would (cookies, forms, CSRF).

use std::sync::OnceLock;

use lms_shop::config::Config;
use lms_shop::startup::{self, Server};
use lms_shop::state::AppState;
use reqwest::redirect::Policy;
use sqlx::{Connection, PgConnection, PgPool};
use tokio::net::TcpListener;

pub const OPERATOR_EMAIL: &str = "operator@example.org";
pub const OPERATOR_PASSWORD: &str = "operator-password-1";

fn server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
        "postgres://postgres@localhost:54329/postgres?host=/tmp/lms-shop-test-pg".into()
    })
}

fn url_for(db: &str) -> String {
    server_url().replacen("/postgres?", &format!("/{db}?"), 1)
}

/// One template per migration set: a changed migration gets a new template.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for m in startup::MIGRATOR.iter() {
            m.version.hash(&mut h);
            m.checksum.hash(&mut h);
        }
        format!("lms_tpl_{:x}", h.finish())
    })
}

async fn ensure_template() {
    static READY: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    READY
        .get_or_init(|| async {
            let mut admin = PgConnection::connect(&server_url())
                .await
                .expect("test PostgreSQL is not running: use scripts/test.sh");
            // Several test binaries may start at once: one creates, the others wait.
            sqlx::query("SELECT pg_advisory_lock(4242)")
                .execute(&mut admin)
                .await
                .unwrap();
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(template_name())
                    .fetch_one(&mut admin)
                    .await
                    .unwrap();
            if !exists {
                let building = format!("{}_building", template_name());
                sqlx::query(&format!("DROP DATABASE IF EXISTS {building}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                sqlx::query(&format!("CREATE DATABASE {building}"))
                    .execute(&mut admin)
                    .await
                    .unwrap();
                let pool = PgPool::connect(&url_for(&building)).await.unwrap();
                startup::migrate(&pool).await.unwrap();
                pool.close().await;
                sqlx::query(&format!(
                    "ALTER DATABASE {building} RENAME TO {}",
                    template_name()
                ))
                .execute(&mut admin)
                .await
                .unwrap();
            }
            sqlx::query("SELECT pg_advisory_unlock(4242)")
                .execute(&mut admin)
                .await
                .unwrap();
        })
        .await;
}

/// A fresh, migrated, empty database.
pub async fn fresh_database() -> (String, PgPool) {
    ensure_template().await;
    let name = format!(
        "test_{}",
        lms_shop::security::tokens::random_id(9)
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    let mut admin = PgConnection::connect(&server_url()).await.unwrap();
    // CREATE DATABASE … TEMPLATE needs the template to have no other session: retry briefly.
    for attempt in 0.. {
        match sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE {}",
            template_name()
        ))
        .execute(&mut admin)
        .await
        {
            Ok(_) => break,
            Err(_) if attempt < 50 => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            }
            Err(e) => panic!("cannot create test database: {e}"),
        }
    }
    let url = url_for(&name);
    let pool = startup::connect(&url, 8).await.unwrap();
    (url, pool)
}

pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub base: String,
    pub db: PgPool,
    pub db_url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    server: Option<Server>,
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub async fn spawn_app() -> TestApp {
    let (db_url, db) = fresh_database().await;
    spawn_on(db_url, db).await
}

pub async fn spawn_on(db_url: String, db: PgPool) -> TestApp {
    spawn_on_with(db_url, db, lms_shop::config::Lms::Builtin).await
}

/// The LMS=moodle configuration for a fake Moodle at `url`: short timeouts and a fast
/// activity refresh, so the tests do not wait.
pub fn moodle_config(url: &str, token: &str) -> lms_shop::config::MoodleConfig {
    lms_shop::config::MoodleConfig {
        url: url.to_owned(),
        token: token.to_owned().into(),
        roles: lms_shop::domain::moodle::RoleMap::default(),
        activity_interval: std::time::Duration::from_secs(1),
        call_timeout: std::time::Duration::from_millis(1500),
    }
}

/// The app with LMS=moodle against the fake Moodle at `url`, on a fresh database.
pub async fn spawn_moodle_app(url: &str, token: &str) -> TestApp {
    let (db_url, db) = fresh_database().await;
    spawn_on_with(
        db_url,
        db,
        lms_shop::config::Lms::Moodle(moodle_config(url, token)),
    )
    .await
}

pub async fn spawn_on_with(db_url: String, db: PgPool, lms: lms_shop::config::Lms) -> TestApp {
    spawn_configured(db_url, db, lms, None).await
}

/// The app with Stripe configured as given (the tests point it at a fake Stripe).
pub async fn spawn_stripe_app(stripe: lms_shop::config::StripeConfig) -> TestApp {
    let (db_url, db) = fresh_database().await;
    spawn_configured(db_url, db, lms_shop::config::Lms::Builtin, Some(stripe)).await
}

pub async fn spawn_configured(
    db_url: String,
    db: PgPool,
    lms: lms_shop::config::Lms,
    stripe: Option<lms_shop::config::StripeConfig>,
) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Config {
        database_url: Some(db_url.clone()),
        data_dir: "/nonexistent".into(),
        bind: addr,
        base_url: format!("http://{addr}"),
        admin_email: None,
        admin_password: None,
        smtp_url: None,
        mail_from: "shop@example.org".into(),
        payment_secret: Some("test-gateway-secret".into()),
        secure_cookies: false,
        hsts: false,
        demo: false,
        db_connections: 8,
        unpaid_order_expiry: lms_shop::config::DEFAULT_UNPAID_ORDER_EXPIRY,
        mail_lease_seconds: lms_shop::config::DEFAULT_MAIL_LEASE_SECONDS,
        sessions_async_commit: false,
        probe_limit_per_minute: lms_shop::security::throttle::DEFAULT_PROBES_PER_MINUTE,
        trusted_proxies: Vec::new(),
        lms,
        stripe,
    };
    lms_shop::operators::ensure(&db, OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await
        .unwrap();
    let sessions = startup::connect_sessions(&db_url, 8, false).await.unwrap();
    let state = startup::build_state(db.clone(), sessions, config)
        .await
        .unwrap();
    let server = Server::start(state.clone(), listener).await.unwrap();
    TestApp {
        addr,
        base: format!("http://{addr}"),
        db,
        db_url,
        state,
        client: client(),
        server: Some(server),
    }
}

/// A response read whole, so tests can look at status, headers and body together.
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn csrf(&self) -> Option<String> {
        extract_between(&self.body, "name=\"csrf_token\" value=\"", "\"")
    }
}

pub fn extract_between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_owned())
}

async fn read(response: reqwest::Response) -> Page {
    Page {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get_with(&self, client: &reqwest::Client, path: &str) -> Page {
        read(client.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Page {
        self.get_with(&self.client, path).await
    }

    /// The CSRF token this client's forms carry.
    pub async fn csrf_for(&self, client: &reqwest::Client) -> String {
        self.get_with(client, "/login")
            .await
            .csrf()
            .expect("login page has a CSRF token")
    }

    /// Posts a form as a browser would, with the CSRF token of `client`.
    pub async fn post_with(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> Page {
        let token = self.csrf_for(client).await;
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post_raw(client, path, &fields).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(&self.client, path, form).await
    }

    /// Posts exactly `form`: no token added.
    pub async fn post_raw(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        read(
            client
                .post(self.url(path))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn login_with(&self, client: &reqwest::Client, email: &str, password: &str) -> Page {
        self.post_with(
            client,
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    pub async fn login_operator(&self) {
        let page = self
            .login_with(&self.client, OPERATOR_EMAIL, OPERATOR_PASSWORD)
            .await;
        assert_eq!(page.status, 303, "operator login failed: {}", page.body);
    }

    /// Outbox messages to `recipient`, oldest first: (subject, body).
    pub async fn mails_to(&self, recipient: &str) -> Vec<(String, String)> {
        sqlx::query_as(
            "SELECT subject, body FROM outbox WHERE lower(recipient) = lower($1) ORDER BY id",
        )
        .bind(recipient)
        .fetch_all(&self.db)
        .await
        .unwrap()
    }

    /// The set-password links mailed to `recipient`, oldest first, as paths of this app.
    pub async fn password_links(&self, recipient: &str) -> Vec<String> {
        let prefix = format!("{}/password/set/", self.base);
        self.mails_to(recipient)
            .await
            .iter()
            .filter_map(|(_, body)| find_link(body, &prefix))
            .map(|l| l.trim_start_matches(&self.base).to_owned())
            .collect()
    }

    /// Chooses a password through the set-password `link`, in `browser`.
    pub async fn choose_password(&self, browser: &reqwest::Client, link: &str) -> Page {
        self.post_with(
            browser,
            link,
            &[
                ("password", "a long passphrase"),
                ("confirm", "a long passphrase"),
            ],
        )
        .await
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}

/// The first link in `body` that starts with `prefix` (e.g. a set-password link in a mail).
pub fn find_link(body: &str, prefix: &str) -> Option<String> {
    let start = body.find(prefix)?;
    let rest = &body[start..];
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// A customer-side user with a password, for authorisation tests.
pub async fn create_user(app: &TestApp, email: &str, password: &str) -> i64 {
    let email = lms_shop::domain::Email::parse(email).unwrap();
    let hash = lms_shop::security::password::hash(password.into())
        .await
        .unwrap();
    lms_shop::store::users::insert(
        &app.db,
        lms_shop::store::users::NewUser {
            email: &email,
            firstname: "Test",
            lastname: "User",
            password_hash: Some(&hash),
            is_operator: false,
        },
    )
    .await
    .unwrap()
    .unwrap()
}

impl TestApp {
    /// Creates the courses of the catalogue issue's scenario as an operator would.
    pub async fn create_courses(&self, shortnames: &[&str]) {
        for s in shortnames {
            let page = self
                .post(
                    "/admin/courses",
                    &[("shortname", s), ("fullname", &format!("Course {s}"))],
                )
                .await;
            assert_eq!(page.status, 303, "course {s}: {}", page.body);
        }
    }

    pub async fn create_product(
        &self,
        code: &str,
        price1: &str,
        handler: &str,
        params: &str,
    ) -> Page {
        self.post(
            "/admin/products",
            &[
                ("code", code),
                ("name", &format!("Product {code}")),
                ("price1", price1),
                ("handler", handler),
                ("handlerparams", params),
            ],
        )
        .await
    }
}

pub const SEAT_PARAMS: &str =
    "courselist=X-A%&packsize=5&supervisor=teacher&customersupport=X-SUPPORT";

impl TestApp {
    /// Courses X-A1, X-A2, X-SUPPORT and the seat pack `X-PACK5` (5 seats per unit, 1 200.00).
    /// The operator (signed in on `self.client`) creates the French 20 % VAT `FR20`.
    pub async fn french_vat(&self) {
        let tax = self
            .post(
                "/admin/taxes",
                &[
                    ("code", "FR20"),
                    ("name", "TVA"),
                    ("rate", "20"),
                    ("country", "FR"),
                ],
            )
            .await;
        assert_eq!(tax.status, 303, "{}", tax.body);
    }

    pub async fn seat_catalogue(&self) {
        let op = client();
        assert_eq!(
            self.login_with(&op, OPERATOR_EMAIL, OPERATOR_PASSWORD)
                .await
                .status,
            303
        );
        for s in ["X-A1", "X-A2", "X-SUPPORT"] {
            let page = self
                .post_with(
                    &op,
                    "/admin/courses",
                    &[("shortname", s), ("fullname", &format!("Course {s}"))],
                )
                .await;
            assert_eq!(page.status, 303);
        }
        let page = self
            .post_with(
                &op,
                "/admin/products",
                &[
                    ("code", "X-PACK5"),
                    ("name", "Pack of 5 seats"),
                    ("price1", "1200"),
                    ("handler", "std_generateseats"),
                    ("handlerparams", SEAT_PARAMS),
                ],
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.body);
    }

    /// Adds to the cart, fills the customer step, confirms with `paymode`. Returns the
    /// response of the order confirmation (a redirect to the gateway or the done page).
    /// Puts `quantity` of `code` in the buyer's cart; the shop must accept it.
    pub async fn add_to_cart(&self, buyer: &reqwest::Client, code: &str, quantity: &str) {
        let added = self
            .post_with(
                buyer,
                "/cart/items",
                &[("code", code), ("quantity", quantity)],
            )
            .await;
        assert_eq!(added.status, 303, "add to cart: {}", added.body);
    }

    /// Puts `quantity` of `code` in the cart and submits the customer step for `email`;
    /// returns the customer step's answer.
    pub async fn cart_and_details(
        &self,
        buyer: &reqwest::Client,
        code: &str,
        quantity: &str,
        email: &str,
    ) -> Page {
        self.add_to_cart(buyer, code, quantity).await;
        self.post_with(buyer, "/checkout/customer", &customer_form(email))
            .await
    }

    pub async fn order(
        &self,
        buyer: &reqwest::Client,
        code: &str,
        quantity: &str,
        email: &str,
        paymode: &str,
    ) -> Page {
        let details = self.cart_and_details(buyer, code, quantity, email).await;
        assert_eq!(details.status, 303, "customer step: {}", details.body);
        self.post_with(
            buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", paymode)],
        )
        .await
    }

    /// Orders with the test gateway and clicks Pay. Returns the bill's public id.
    pub async fn buy_and_pay(
        &self,
        buyer: &reqwest::Client,
        code: &str,
        quantity: &str,
        email: &str,
    ) -> String {
        let placed = self.order(buyer, code, quantity, email, "test").await;
        assert_eq!(placed.status, 303, "{}", placed.body);
        let gateway = placed.location().unwrap().to_owned();
        assert!(gateway.starts_with("/payment/test/"), "{gateway}");
        let public_id = gateway.trim_start_matches("/payment/test/").to_owned();
        let paid = self.post_with(buyer, &format!("{gateway}/pay"), &[]).await;
        assert_eq!(paid.status, 303);
        assert_eq!(
            paid.location(),
            Some(format!("/checkout/done/{public_id}").as_str())
        );
        public_id
    }

    pub async fn bill_state(&self, public_id: &str) -> String {
        sqlx::query_scalar("SELECT state FROM bills WHERE public_id = $1")
            .bind(public_id)
            .fetch_one(&self.db)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }

    /// Writes behind the shop's back, as another system sharing the database would.
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql).execute(&self.db).await.unwrap();
    }
}

pub fn customer_form(email: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("firstname", "Ada"),
        ("lastname", "Lovelace"),
        ("email", email),
        ("organisation", "Analytical Engines Ltd"),
        ("address", "1 rue de la Paix"),
        ("zip", "75002"),
        ("city", "Paris"),
        ("country", "FR"),
    ]
}
