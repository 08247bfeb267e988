//! The attacker's view. Routes are enumerated from the router's source, so a route added
//! later is covered without anyone remembering to add it here.

use crate::helpers::*;

#[derive(Debug)]
struct Route {
    method: &'static str,
    path: String,
}

/// The Rust files of `src/http/`, where every area's router lives.
fn http_sources() -> String {
    fn collect(dir: &std::path::Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut src = String::new();
    collect(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/http")),
        &mut src,
    );
    src
}

/// Every `.route("…", get(…).post(…))` of the routers under `src/http/`.
fn routes() -> Vec<Route> {
    let src = http_sources();
    let mut out = Vec::new();
    for chunk in src.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_owned();
        // The handler list runs until the matching `)` of `.route(`.
        let mut depth = 1;
        let mut end = chunk.len();
        for (i, ch) in chunk.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &chunk[..end];
        for method in ["get", "post"] {
            if handlers.contains(&format!("{method}(")) {
                out.push(Route {
                    method,
                    path: path.clone(),
                });
            }
        }
    }
    assert!(out.len() > 40, "route enumeration found only {}", out.len());
    out
}

fn concrete(path: &str, reference: &str, bill: &str) -> String {
    path.replace("{id}", "1")
        .replace("{bill}", bill)
        .replace("{reference}", reference)
        .replace("{token}", "not-a-token")
        .replace("{code}", "en")
        .replace("{shortname}", "X-A1")
        .replace("{refund}", "1")
}

async fn fingerprint(app: &TestApp) -> i64 {
    app.count(
        "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM courses) + (SELECT count(*) FROM products)
          + (SELECT count(*) FROM customers) + (SELECT count(*) FROM bills) + (SELECT count(*) FROM enrolments)
          + (SELECT count(*) FROM product_instances WHERE assigned_user_id IS NOT NULL) + (SELECT count(*) FROM categories)
          + (SELECT count(*) FROM taxes) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM password_tokens)",
    )
    .await
}

/// A customer with seats, signed in, and the ids an attacker would aim at.
async fn victim(app: &TestApp) -> (reqwest::Client, String, String) {
    app.seat_catalogue().await;
    let c = client();
    let bill = app
        .buy_and_pay(&c, "X-PACK5", "1", "victim@example.org")
        .await;
    app.get_with(&c, &format!("/checkout/done/{bill}")).await;
    let reference: String = sqlx::query_scalar("SELECT reference FROM product_instances LIMIT 1")
        .fetch_one(&app.db)
        .await
        .unwrap();
    (c, reference, bill)
}

#[tokio::test]
async fn every_post_route_refuses_a_missing_or_wrong_csrf_token() {
    let app = spawn_app().await;
    let (victim_client, reference, bill) = victim(&app).await;
    app.login_operator().await;
    let before = fingerprint(&app).await;
    let mut checked = 0;
    for r in routes().iter().filter(|r| r.method == "post") {
        let path = concrete(&r.path, &reference, &bill);
        if lms_shop::http::csrf::EXEMPT.contains(&path.as_str()) {
            continue;
        }
        for c in [&app.client, &victim_client] {
            let none = app
                .post_raw(
                    c,
                    &path,
                    &[
                        ("code", "X-PACK5"),
                        ("quantity", "1"),
                        ("email", "x@example.org"),
                        ("password", "x"),
                    ],
                )
                .await;
            assert_eq!(none.status, 403, "POST {path} without token");
            let wrong = app
                .post_raw(
                    c,
                    &path,
                    &[("csrf_token", "forged"), ("email", "x@example.org")],
                )
                .await;
            assert_eq!(wrong.status, 403, "POST {path} with a forged token");
        }
        checked += 1;
    }
    assert!(checked > 25, "{checked}");
    assert_eq!(fingerprint(&app).await, before, "nothing changed");
}

/// A state-changing request without the CSRF cookie is refused before its body is read:
/// an anonymous upload announcing 8 MB and sending a few bytes gets its 403 at once.
#[tokio::test]
async fn an_upload_without_the_csrf_cookie_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /customer/products/bulk HTTP/1.1\r\nHost: shop\r\n\
                Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 8000000\r\n\r\n--x\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let status = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(status.starts_with("HTTP/1.1 403"), "{status}");
}

#[tokio::test]
async fn every_admin_route_is_operator_only() {
    let app = spawn_app().await;
    let (customer, reference, bill) = victim(&app).await;
    let anonymous = client();
    let before = fingerprint(&app).await;
    for r in routes().iter().filter(|r| r.path.starts_with("/admin")) {
        let path = concrete(&r.path, &reference, &bill);
        if r.method == "get" {
            assert_eq!(
                app.get_with(&customer, &path).await.status,
                404,
                "customer GET {path}"
            );
            let anon = app.get_with(&anonymous, &path).await;
            assert_eq!(anon.status, 303, "anonymous GET {path}");
            assert!(anon.location().unwrap().starts_with("/login?next="));
        } else {
            let page = app
                .post_with(
                    &customer,
                    &path,
                    &[
                        ("code", "HACK"),
                        ("name", "x"),
                        ("price1", "1"),
                        ("shortname", "HACK"),
                        ("fullname", "x"),
                        ("rate", "1"),
                    ],
                )
                .await;
            assert_eq!(page.status, 404, "customer POST {path}");
            let anon = app.post_with(&anonymous, &path, &[("code", "HACK")]).await;
            assert_eq!(anon.status, 303, "anonymous POST {path}");
        }
    }
    assert_eq!(fingerprint(&app).await, before);
}

#[tokio::test]
async fn every_customer_route_is_owner_only() {
    let app = spawn_app().await;
    let (_, reference, bill) = victim(&app).await;
    let intruder = client();
    let other_bill = app
        .buy_and_pay(&intruder, "X-PACK5", "1", "intruder@example.org")
        .await;
    app.get_with(&intruder, &format!("/checkout/done/{other_bill}"))
        .await;
    let anonymous = client();
    let a1: i64 = sqlx::query_scalar("SELECT id FROM courses WHERE shortname = 'X-A1'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let before = fingerprint(&app).await;
    for r in routes().iter().filter(|r| r.path.starts_with("/customer")) {
        let path = concrete(&r.path, &reference, &bill);
        let targets_victim = r.path.contains('{');
        if r.method == "get" {
            let page = app.get_with(&intruder, &path).await;
            if targets_victim {
                assert_eq!(page.status, 404, "intruder GET {path}");
            }
            assert_eq!(
                app.get_with(&anonymous, &path).await.status,
                303,
                "anonymous GET {path}"
            );
        } else if targets_victim {
            let page = app
                .post_with(
                    &intruder,
                    &path,
                    &[
                        ("course", &a1.to_string()),
                        ("email", "stolen@example.org"),
                        ("firstname", "S"),
                        ("lastname", "T"),
                    ],
                )
                .await;
            assert_eq!(page.status, 404, "intruder POST {path}");
        }
    }
    assert_eq!(
        fingerprint(&app).await,
        before,
        "nothing of the victim's changed"
    );
}

/// What a route reads besides its path parameters: the query names of a page or the fields
/// of a form, as its handler and template name them. Every enumerated route must be here,
/// so a new route makes the input test below fail until its inputs are listed.
enum Inputs {
    Nothing,
    Query(&'static [&'static str]),
    Form(&'static [&'static str]),
    /// A multipart upload of a `csv` file (header line given), token in the query string.
    Csv(&'static str),
}

const CUSTOMER_FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "email",
    "organisation",
    "address",
    "zip",
    "city",
    "country",
    "invoice_distinct",
    "invoice_organisation",
    "invoice_address",
    "invoice_zip",
    "invoice_city",
    "invoice_country",
];
/// The customer step also takes a business buyer's details (issue 11).
const CHECKOUT_CUSTOMER_FIELDS: &[&str] = &[
    "firstname",
    "lastname",
    "email",
    "organisation",
    "address",
    "zip",
    "city",
    "country",
    "invoice_distinct",
    "invoice_organisation",
    "invoice_address",
    "invoice_zip",
    "invoice_city",
    "invoice_country",
    "vat_number",
    "po_reference",
    "phone",
];
const COURSE_FIELDS: &[&str] = &["shortname", "fullname", "visible", "startdate", "form"];
const PRODUCT_FIELDS: &[&str] = &[
    "code",
    "name",
    "description",
    "category_id",
    "status",
    "price1",
    "range2",
    "price2",
    "range5",
    "price5",
    "tax_code",
    "max_quantity",
    "logged_in_only",
    "handler",
    "handlerparams",
    "sales_conditions",
    "sortorder",
    "params_mode",
    "p_courselist",
    "p_packsize",
    "p_supervisor",
    "p_customersupport",
    "p_enddate",
    "p_coursename",
    "p_starttime",
];

fn inputs_of(method: &str, path: &str) -> Inputs {
    use Inputs::*;
    match (method, path) {
        ("get", "/customer") | ("get", "/customer/products/export.csv") => {
            Query(&["state", "course", "learner", "page"])
        }
        ("get", "/login") => Query(&["next"]),
        ("get", "/lang/{code}") => Query(&["next"]),
        ("get", "/admin/mail") => Query(&["page"]),
        ("get", "/admin/seats") => Query(&["q", "course", "state", "page"]),
        ("get", "/admin/bills") => Query(&["state", "q", "page"]),
        ("get", "/admin/customers") => Query(&["q"]),
        ("get", "/admin/products/new") => Query(&["handler"]),
        ("get", "/admin/products/{id}") => Query(&["saved"]),
        ("get", "/admin/bills/{id}/refund") => Query(&["full", "reason", "units_1", "amount_1"]),
        ("post", "/admin/bills/{id}/refund") => {
            Form(&["full", "reason", "submission", "units_1", "amount_1"])
        }
        (
            "get",
            "/"
            | "/shop"
            | "/cart"
            | "/checkout/customer"
            | "/checkout/order"
            | "/checkout/done/{bill}"
            | "/checkout/done/{bill}/document"
            | "/checkout/done/{bill}/document.pdf"
            | "/customer/bills/{bill}/document.pdf"
            | "/admin/bills/{id}/document.pdf"
            | "/payment/test/{bill}"
            | "/customer/details"
            | "/customer/bills/{bill}"
            | "/customer/products/bulk"
            | "/customer/products/bulk/template.csv"
            | "/customer/products/{reference}"
            | "/my/courses"
            | "/course/{shortname}"
            | "/password/forgot"
            | "/password/set/{token}"
            | "/account/email/{token}"
            | "/healthz"
            | "/ping"
            | "/metrics"
            | "/admin"
            | "/admin/bills/{id}"
            | "/admin/bills/{id}/credit-notes/{refund}"
            | "/customer/bills/{bill}/credit-notes/{refund}"
            | "/admin/bills/{id}/credit-notes/{refund}/document.pdf"
            | "/customer/bills/{bill}/credit-notes/{refund}/document.pdf"
            | "/admin/customers/{id}"
            | "/admin/courses"
            | "/admin/courses/{id}"
            | "/admin/categories"
            | "/admin/taxes"
            | "/admin/settings"
            | "/admin/lms"
            | "/admin/products"
            | "/admin/coupons"
            | "/admin/coupons/new"
            | "/admin/coupons/{id}",
        ) => Nothing,
        ("post", "/cart/items" | "/cart/update" | "/cart/remove") => Form(&["code", "quantity"]),
        ("post", "/checkout/customer") => Form(CHECKOUT_CUSTOMER_FIELDS),
        ("post", "/cart/coupon") => Form(&["code"]),
        ("post", "/admin/coupons" | "/admin/coupons/{id}") => Form(&[
            "code",
            "kind",
            "value",
            "valid_from",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
            "products",
            "active",
        ]),
        ("post", "/customer/details") => Form(CUSTOMER_FIELDS),
        ("post", "/checkout/order") => Form(&["accept_terms", "paymode"]),
        ("post", "/payment/test/notify") => Form(&["bill", "amount"]),
        ("get", "/payment/stripe/{bill}") => Query(&["cancelled"]),
        ("post", "/payment/stripe/webhook") => Form(&["id", "type"]),
        ("post", "/customer/products/{reference}/assign") => {
            Form(&["course", "email", "firstname", "lastname"])
        }
        ("post", "/login") => Form(&["email", "password", "next"]),
        ("post", "/password/forgot") => Form(&["email"]),
        ("post", "/password/set/{token}") => Form(&["password", "confirm"]),
        ("post", "/admin/courses" | "/admin/courses/{id}") => Form(COURSE_FIELDS),
        ("post", "/admin/categories" | "/admin/categories/{id}") => {
            Form(&["name", "sortorder", "visible"])
        }
        ("post", "/admin/taxes" | "/admin/taxes/{id}") => {
            Form(&["code", "name", "rate", "country"])
        }
        ("post", "/admin/settings") => Form(&[
            "shop_name",
            "currency",
            "default_support_course_id",
            "sales_conditions",
            "paymodes",
            "seller_legal_name",
            "seller_address",
            "seller_country",
            "seller_company_number",
            "seller_vat_number",
            "invoice_prefix",
            "credit_note_prefix",
            "bank_holder",
            "bank_iban",
            "bank_bic",
        ]),
        ("post", "/admin/products" | "/admin/products/{id}") => Form(PRODUCT_FIELDS),
        ("post", "/customer/products/unassign") => Form(&["reference"]),
        ("post", "/customer/products/bulk") => Csv("email,firstname,lastname,course"),
        ("post", "/admin/courses/sync") => Form(&["category"]),
        ("post", "/admin/courses/import") => Csv("shortname,fullname,visible,startdate"),
        (
            "post",
            "/payment/test/{bill}/pay"
            | "/payment/test/{bill}/decline"
            | "/customer/products/{reference}/unassign"
            | "/customer/products/{reference}/remind"
            | "/account/email/{token}"
            | "/logout"
            | "/admin/seats/{id}/unassign"
            | "/admin/bills/{id}/paid"
            | "/admin/bills/{id}/cancel"
            | "/admin/bills/{id}/retry"
            | "/admin/lms/jobs/{id}/retry"
            | "/admin/lms/jobs/{id}/discard"
            | "/cart/coupon/remove"
            | "/admin/coupons/{id}/disable"
            | "/admin/coupons/{id}/enable",
        ) => Nothing,
        _ => panic!("{method} {path} is new: list what it reads in `inputs_of`"),
    }
}

/// A form body: field name, value.
type Form<'a> = Vec<(&'a str, &'a str)>;

/// Percent-encodes everything but unreserved characters (a path segment or a query value).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_input_of_every_route_refuses_a_nul_byte_and_an_over_long_value() {
    use lms_shop::http::input_guard::{MAX_FORM_VALUE, MAX_URL_VALUE};
    let app = spawn_app().await;
    let (customer, reference, bill) = victim(&app).await;
    app.login_operator().await;
    let anonymous = client();
    let before = fingerprint(&app).await;
    let nul = "a\0b";
    let long_url = "a".repeat(MAX_URL_VALUE + 1);
    let long_form = "a".repeat(MAX_FORM_VALUE + 1);
    let mut tokens = Vec::new();
    for c in [&app.client, &customer, &anonymous] {
        tokens.push(app.csrf_for(c).await);
    }
    let mut failures = Vec::new();
    let mut probes = 0;
    for r in routes() {
        // The operator for the back office; a signed-in customer and a visitor elsewhere.
        let clients: Vec<(&str, &reqwest::Client, &str)> = if r.path.starts_with("/admin") {
            vec![("operator", &app.client, &tokens[0])]
        } else {
            vec![
                ("customer", &customer, &tokens[1]),
                ("anonymous", &anonymous, &tokens[2]),
            ]
        };
        // (url, form body or none) of every probe of this route.
        let base = concrete(&r.path, &reference, &bill);
        let mut requests: Vec<(String, Option<Form>)> = Vec::new();
        let params: Vec<&str> = r.path.split('/').filter(|s| s.starts_with('{')).collect();
        for param in &params {
            for bad in [nul, long_url.as_str()] {
                let path = concrete(&r.path.replace(param, &encode(bad)), &reference, &bill);
                requests.push((path, None));
            }
        }
        // A stray query parameter: no route may choke on one.
        requests.push((format!("{base}?x={}", encode(nul)), None));
        match inputs_of(r.method, &r.path) {
            Inputs::Nothing => {}
            Inputs::Query(names) => {
                for name in names {
                    for bad in [nul, long_url.as_str()] {
                        requests.push((format!("{base}?{name}={}", encode(bad)), None));
                    }
                }
            }
            Inputs::Form(fields) => {
                for field in fields {
                    for bad in [nul, long_form.as_str()] {
                        requests.push((base.clone(), Some(vec![(*field, bad)])));
                    }
                }
            }
            Inputs::Csv(header) => {
                // Uploads are behind login (a visitor is sent to the login page).
                for (who, c, token) in clients.iter().filter(|c| c.0 != "anonymous") {
                    let columns = header.split(',').count();
                    for col in 0..columns {
                        for bad in [nul.to_owned(), "a".repeat(1_000)] {
                            let line: Vec<String> = (0..columns)
                                .map(|i| {
                                    if i == col {
                                        bad.clone()
                                    } else {
                                        format!("v{i}@example.org")
                                    }
                                })
                                .collect();
                            let csv = format!("{header}\n{}\n", line.join(","));
                            let form = reqwest::multipart::Form::new().part(
                                "csv",
                                reqwest::multipart::Part::bytes(csv.into_bytes())
                                    .file_name("upload.csv"),
                            );
                            let res = c
                                .post(app.url(&format!("{base}?csrf_token={token}")))
                                .multipart(form)
                                .send()
                                .await
                                .unwrap();
                            probes += 1;
                            let status = res.status().as_u16();
                            if !(400..500).contains(&status) {
                                failures
                                    .push(format!("{who} POST {base} csv column {col}: {status}"));
                            }
                        }
                    }
                }
            }
        }
        for (who, c, token) in &clients {
            for (url, form) in &requests {
                let page = if r.method == "get" {
                    app.get_with(c, url).await
                } else {
                    let mut fields = form.clone().unwrap_or_default();
                    fields.push(("csrf_token", token));
                    app.post_raw(c, url, &fields).await
                };
                probes += 1;
                if !(400..500).contains(&page.status) {
                    let what = form
                        .as_ref()
                        .map(|f| format!(" field {}", f[0].0))
                        .unwrap_or_default();
                    let shown: String = url.chars().take(80).collect();
                    failures.push(format!(
                        "{who} {} {shown}{what}: {}",
                        r.method.to_uppercase(),
                        page.status
                    ));
                }
            }
        }
    }
    assert!(probes > 300, "{probes} probes");
    assert!(failures.is_empty(), "not a 4xx: {failures:#?}");
    assert_eq!(fingerprint(&app).await, before, "nothing changed");
}

const XSS: &str = "<script>alert('x')</script><img src=x onerror=alert(1)>";

#[tokio::test]
async fn xss_payloads_in_text_fields_come_back_escaped() {
    let app = spawn_app().await;
    app.login_operator().await;
    app.create_courses(&["X-A1"]).await;
    let saved = app
        .post(
            "/admin/products",
            &[
                ("code", "XSS"),
                ("name", XSS),
                ("description", XSS),
                ("price1", "10"),
                ("handler", "std_generateseats"),
                (
                    "handlerparams",
                    "courselist=X-A1&packsize=1&supervisor=teacher",
                ),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let buyer = client();
    app.post_with(&buyer, "/cart/items", &[("code", "XSS"), ("quantity", "1")])
        .await;
    let mut form = customer_form("xss@example.org");
    form[0] = ("firstname", XSS);
    form[3] = ("organisation", XSS);
    form[4] = ("address", XSS);
    assert_eq!(
        app.post_with(&buyer, "/checkout/customer", &form)
            .await
            .status,
        303
    );
    let placed = app
        .post_with(
            &buyer,
            "/checkout/order",
            &[("accept_terms", "1"), ("paymode", "test")],
        )
        .await;
    let gateway = placed.location().unwrap().to_owned();
    app.post_with(&buyer, &format!("{gateway}/pay"), &[]).await;
    let public_id = gateway.trim_start_matches("/payment/test/");
    let pages = [
        (&buyer, "/shop".to_owned()),
        (&buyer, "/checkout/order".to_owned()),
        (&buyer, format!("/checkout/done/{public_id}")),
        (&buyer, "/customer".to_owned()),
        (&app.client, "/admin/products".to_owned()),
        (&app.client, "/admin/bills".to_owned()),
        (&app.client, "/admin/bills/1".to_owned()),
        (&app.client, "/admin/customers".to_owned()),
        (&app.client, "/admin/mail".to_owned()),
        (&app.client, "/admin/seats".to_owned()),
    ];
    for (c, path) in pages {
        let page = app.get_with(c, &path).await;
        assert!(!page.body.contains("<script>alert"), "raw script on {path}");
        assert!(!page.body.contains("<img src=x"), "raw img on {path}");
    }
    let shop = app.get("/shop").await;
    assert!(shop.body.contains("&#60;script&#62;") || shop.body.contains("&lt;script&gt;"));
}

#[tokio::test]
async fn cookies_are_http_only_and_same_site() {
    let app = spawn_app().await;
    let page = app.get("/login").await;
    let token = page.csrf().unwrap();
    let login = app
        .post_raw(
            &app.client,
            "/login",
            &[
                ("email", OPERATOR_EMAIL),
                ("password", OPERATOR_PASSWORD),
                ("csrf_token", &token),
            ],
        )
        .await;
    let cookies: Vec<String> = page
        .headers
        .get_all("set-cookie")
        .iter()
        .chain(login.headers.get_all("set-cookie").iter())
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    for name in ["csrf=", "session="] {
        let c = cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("{name} cookie set: {cookies:?}"));
        assert!(c.contains("HttpOnly"), "{c}");
        assert!(c.contains("SameSite=Lax"), "{c}");
        assert!(c.contains("Path=/"), "{c}");
    }
}

#[tokio::test]
async fn a_session_id_planted_before_login_is_worthless_after_it() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    // The attacker obtains an anonymous session (a cart) and plants its id in the victim's browser.
    let attacker = client();
    let added = app
        .post_with(
            &attacker,
            "/cart/items",
            &[("code", "X-PACK5"), ("quantity", "1")],
        )
        .await;
    let planted = added
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("session="))
        .unwrap();
    let planted = planted.split(';').next().unwrap().to_owned();
    // The victim opens the login page (their own CSRF cookie and token) and logs in.
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = raw.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = form
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = extract_between(
        &form.text().await.unwrap(),
        "name=\"csrf_token\" value=\"",
        "\"",
    )
    .unwrap();
    let body = serde_urlencoded::to_string([
        ("email", OPERATOR_EMAIL),
        ("password", OPERATOR_PASSWORD),
        ("csrf_token", &token),
    ])
    .unwrap();
    let login = raw
        .post(app.url("/login"))
        .header("cookie", format!("{planted}; {csrf_cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let issued = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("session="))
        .expect("a new session id is issued");
    let issued = issued.split(';').next().unwrap().to_owned();
    assert_ne!(issued, planted);
    // The planted id does not carry the victim's login; the issued one does.
    assert_eq!(
        raw.get(app.url("/admin"))
            .header("cookie", &planted)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    assert_eq!(
        raw.get(app.url("/admin"))
            .header("cookie", &issued)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
