//! Browser journeys in headless Chromium, through WebDriver: what a person does, in English and
//! French, on a 1280 px screen and a 375 px phone, with a screenshot of every page
//! (target/e2e/<lang>-<width>/), the axe-core accessibility engine run on each (serious or
//! critical violations fail the test), and no page wider than the screen.

#[path = "support/port.rs"]
mod port;
use port::free_port;

#[path = "api/helpers.rs"]
mod helpers;

#[path = "api/fake_stripe.rs"]
mod fake_stripe;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_stripe::{FakeStripe, WEBHOOK_SECRET, signature_header};
use fantoccini::{Client, ClientBuilder, Locator};
use helpers::{OPERATOR_EMAIL, OPERATOR_PASSWORD, TestApp, spawn_stripe_app};
use serde_json::json;

struct Driver {
    process: Child,
    _profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}

async fn browser(lang: &str, width: u32) -> (Driver, Client) {
    let port = free_port();
    let process = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
    let profile = std::env::temp_dir().join(format!("lms-shop-e2e-{lang}-{width}-{port}"));
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--window-size={width},1000"), format!("--user-data-dir={}", profile.display()),
                     format!("--lang={lang}")],
            "prefs": {"intl.accept_languages": lang},
            // Chromium's windows are at least 500 px wide: narrower screens are emulated.
            "mobileEmulation": {"deviceMetrics": {"width": width, "height": 1000, "pixelRatio": 1.0}}
        }
    });
    let caps = match caps {
        serde_json::Value::Object(map) => map,
        _ => unreachable!(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
        }
    };
    (
        Driver {
            process,
            _profile: profile,
        },
        client,
    )
}

/// A journey step recorder: screenshots and accessibility checks, numbered.
struct Journey<'a> {
    c: &'a Client,
    app: &'a TestApp,
    dir: PathBuf,
    step: usize,
    axe: String,
    /// The window's width in CSS pixels.
    width: u32,
}

impl<'a> Journey<'a> {
    async fn go(&mut self, path: &str) {
        self.c.goto(&self.app.url(path)).await.unwrap();
    }

    /// Fills an input; retried while a form submission is still replacing the page.
    async fn fill(&self, css: &str, value: &str) {
        let mut last = None;
        for _ in 0..50 {
            let attempt = async {
                let e = self.c.find(Locator::Css(css)).await?;
                e.clear().await?;
                e.send_keys(value).await
            };
            match attempt.await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}: {last:?}");
    }

    async fn select(&self, css: &str, value: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Clicks something that loads a page, and waits until the new page has replaced the old.
    async fn click(&self, css: &str) {
        let old = self.c.find(Locator::Css("html")).await.unwrap();
        self.tick(css).await;
        for _ in 0..200 {
            // The old document's element goes stale once the navigation has happened.
            if old.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for _ in 0..200 {
            if let Ok(v) = self.c.execute("return document.readyState", vec![]).await
                && v.as_str() == Some("complete")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks something that does not navigate (a checkbox, a radio button).
    async fn tick(&self, css: &str) {
        let mut last = None;
        for _ in 0..50 {
            let attempt = async { self.c.find(Locator::Css(css)).await?.click().await };
            match attempt.await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css}: {last:?}");
    }

    async fn text(&self) -> String {
        self.c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn expect(&self, needle: &str) {
        let text = self.text().await;
        assert!(
            text.contains(needle),
            "expected {needle:?} on {}:\n{text}",
            self.c.current_url().await.unwrap()
        );
    }

    /// Screenshot, no horizontal overflow, and axe-core on the current page.
    async fn check(&mut self, name: &str) {
        self.step += 1;
        let png = self.c.screenshot().await.unwrap();
        std::fs::write(self.dir.join(format!("{:02}-{name}.png", self.step)), png).unwrap();
        self.no_overflow(name).await;
        let script = format!(
            "{}\nconst done = arguments[arguments.length - 1];\
             axe.run(document, {{resultTypes: ['violations']}}).then(r => done(JSON.stringify(\
               r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                .map(v => ({{id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}}))))\
             ).catch(e => done('axe failed: ' + e));",
            self.axe
        );
        let result = self.c.execute_async(&script, vec![]).await.unwrap();
        let text = result.as_str().unwrap_or("").to_owned();
        assert!(
            text == "[]",
            "accessibility violations on {name} ({}): {text}",
            self.c.current_url().await.unwrap()
        );
    }

    /// Nothing wider than the window: neither the page (it would scroll sideways) nor any
    /// element reaching past its right edge, nor a box whose content scrolls sideways.
    async fn no_overflow(&self, name: &str) {
        let script = "const w = document.documentElement.clientWidth;\
            const wide = [...document.querySelectorAll('body *')].filter(e => {\
              const r = e.getBoundingClientRect();\
              const scrolls = ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)\
                && e.scrollWidth > e.clientWidth + 1;\
              return r.width > 1 && r.height > 1 && (scrolls || r.right > Math.min(w, arguments[0]) + 1); })\
              .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')\
                + (e.className ? '.' + e.className : '') + ' right=' + Math.round(e.getBoundingClientRect().right));\
            return JSON.stringify({scroll: document.documentElement.scrollWidth, width: innerWidth, wide});";
        let out = self
            .c
            .execute(script, vec![json!(self.width)])
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(out.as_str().unwrap()).unwrap();
        assert!(
            // A phone widens its viewport to fit a page wider than the screen: compare with
            // the screen's width, not innerWidth.
            v["scroll"].as_u64() <= Some(u64::from(self.width))
                && v["width"].as_u64() == Some(u64::from(self.width))
                && v["wide"].as_array().unwrap().is_empty(),
            "{name} overflows the {}px window ({}): {v}",
            self.width,
            self.c.current_url().await.unwrap()
        );
    }

    /// Inputs side by side in a form grid keep one height: an error under one of them makes
    /// its own cell taller, not its neighbours.
    async fn rows_keep_their_height(&self, name: &str) {
        let script = "const rows = {};\
            for (const e of document.querySelectorAll('.grid-form input, .grid-form select')) {\
              const r = e.getBoundingClientRect(); if (r.height < 2) continue;\
              (rows[Math.round(r.top)] ||= []).push(Math.round(r.height)); }\
            return JSON.stringify(Object.values(rows).filter(hs => Math.max(...hs) - Math.min(...hs) > 2));";
        let odd = self.c.execute(script, vec![]).await.unwrap();
        assert_eq!(
            odd.as_str(),
            Some("[]"),
            "{name}: inputs of one row differ in height"
        );
    }

    /// Fetches the file the link `css` points to with the browser's cookies (a click would
    /// hand it to the browser's download manager), checks it is a PDF, saves it beside the
    /// screenshots and returns its text as lopdf extracts it.
    async fn download(&mut self, css: &str, name: &str) -> String {
        let link = self.c.find(Locator::Css(css)).await.unwrap();
        let href = link.prop("href").await.unwrap().expect("a link");
        let cookies = self.c.get_all_cookies().await.unwrap();
        let cookie = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let response = reqwest::Client::new()
            .get(&href)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{href}");
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "application/pdf"
        );
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{href}");
        self.step += 1;
        std::fs::write(
            self.dir.join(format!("{:02}-{name}.pdf", self.step)),
            &bytes,
        )
        .unwrap();
        let doc = lopdf::Document::load_mem(&bytes).expect("a readable PDF");
        let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
        doc.extract_text(&pages).expect("text")
    }

    async fn logout(&mut self) {
        self.click("form[action='/logout'] button").await;
    }

    async fn login(&mut self, email: &str, password: &str) {
        self.go("/login").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("main form button[type=submit]").await;
    }

    /// The set-password link last mailed to `to`, read from /admin/mail as an operator.
    async fn link_from_mail(&mut self, to: &str) -> String {
        self.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
        self.go("/admin/mail").await;
        self.check("admin-mail").await;
        let articles = self.c.find_all(Locator::Css("article.mail")).await.unwrap();
        let mut link = None;
        for a in articles {
            let t = a.text().await.unwrap();
            if t.contains(to) && t.contains("/password/set/") {
                let start = t.find("http").unwrap();
                link = Some(t[start..].split_whitespace().next().unwrap().to_owned());
                break;
            }
        }
        self.logout().await;
        link.unwrap_or_else(|| panic!("no set-password mail for {to}"))
    }
}

struct Words {
    lang: &'static str,
    produced: &'static str,
    locked: &'static str,
    saved: &'static str,
    released: &'static str,
    /// The title of a paid bill's document.
    invoice: &'static str,
    card_not_completed: &'static str,
    card_produced: &'static str,
}

async fn journey(words: Words, width: u32) {
    let stripe = FakeStripe::start().await;
    let app = spawn_stripe_app(stripe.config()).await;
    let axe_path = std::env::var("AXE_JS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/e2e-tools/node_modules/axe-core/axe.min.js"
        )
        .into()
    });
    let axe = std::fs::read_to_string(&axe_path)
        .unwrap_or_else(|_| panic!("axe-core missing at {axe_path}: run scripts/e2e-tools.sh"));
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/e2e"))
        .join(format!("{}-{width}", words.lang));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_driver, c) = browser(words.lang, width).await;
    let mut j = Journey {
        c: &c,
        app: &app,
        dir,
        step: 0,
        axe,
        width,
    };
    j.go(&format!("/lang/{}?next=/shop", words.lang)).await;
    let inner = j.c.execute("return innerWidth", vec![]).await.unwrap();
    assert_eq!(
        inner.as_u64(),
        Some(u64::from(width)),
        "the window is {width}px wide"
    );
    j.check("empty-shop").await;

    // (a) The operator creates courses and a seat-pack product.
    j.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    j.check("admin-dashboard").await;
    j.go("/admin/courses").await;
    for (short, full) in [
        ("E2E-A1", "Sûreté — agent"),
        ("E2E-A2", "Sûreté — approvisionnement"),
        ("E2E-SUPPORT", "Support client"),
    ] {
        j.fill("#shortname", short).await;
        j.fill("#fullname", full).await;
        j.click("form[action='/admin/courses'] button[type=submit]")
            .await;
    }
    j.check("admin-courses").await;
    j.go("/admin/products/new?handler=std_generateseats").await;
    j.check("admin-new-product").await;
    j.fill("#code", "E2E-PACK5").await;
    j.fill("#name", "Pack 5 places sûreté").await;
    j.select("#status", "available").await;
    j.fill("#price1", "1440").await;
    j.fill("#p_courselist", "E2E-A%").await;
    j.fill("#p_packsize", "5").await;
    j.select("#p_supervisor", "teacher").await;
    j.select("#p_customersupport", "E2E-SUPPORT").await;
    j.click("button[name=params_mode][value=fields]").await;
    j.expect(words.saved).await;
    j.check("admin-product-saved").await;
    // The seller's identity, bank details and sales conditions (issue 11).
    j.go("/admin/settings").await;
    j.fill("#sales_conditions", "Paiement à 30 jours.").await;
    j.fill("#seller_legal_name", "Sûreté Formation SAS").await;
    j.fill("#seller_address", "12 rue des Pistes, 95700 Roissy")
        .await;
    j.fill("#seller_vat_number", "FR40303265045").await;
    j.fill("#bank_holder", "Sûreté Formation SAS").await;
    j.fill("#bank_iban", "FR76 3000 6000 0112 3456 7890 189")
        .await;
    j.fill("#bank_bic", "BNPAFRPP").await;
    j.tick("input[name=paymodes][value=stripe]").await;
    j.click("form[action='/admin/settings'] > button[type=submit]")
        .await;
    j.expect(words.saved).await;
    j.check("admin-settings").await;
    j.logout().await;

    // (b) A new buyer buys 2 packs with the test gateway and assigns a seat.
    j.go("/shop").await;
    j.check("shop").await;
    j.fill("#qty-E2E-PACK5", "2").await;
    j.click("#product-E2E-PACK5 form button[type=submit]").await;
    j.check("cart").await;
    j.click("a[href='/checkout/customer']").await;
    j.check("checkout-customer").await;
    j.fill("#firstname", "Awa").await;
    j.fill("#lastname", "Diallo").await;
    j.fill("#email", &format!("awa.{}@example.org", words.lang))
        .await;
    j.fill("#organisation", "Aéroport de Test").await;
    j.fill("#address", "1 avenue des Pistes").await;
    j.select("#country", "FR").await;
    // Without zip and city first: the errors show under their fields.
    j.click("form[action='/checkout/customer'] > button[type=submit]")
        .await;
    j.check("checkout-customer-errors").await;
    j.rows_keep_their_height("checkout-customer-errors").await;
    j.fill("#zip", "95700").await;
    j.fill("#city", "Roissy").await;
    j.click("form[action='/checkout/customer'] > button[type=submit]")
        .await;
    j.check("checkout-order").await;
    j.tick("input[name=accept_terms]").await;
    j.tick("input[name=paymode][value=test]").await;
    j.click("form[action='/checkout/order'] button[type=submit]")
        .await;
    j.check("gateway").await;
    j.click("#pay").await;
    j.expect(words.produced).await;
    j.check("confirmation").await;
    j.click("main a[href='/customer']").await;
    j.check("customer-space").await;
    j.click("table.products-table tbody tr:first-child a").await;
    j.check("seat").await;
    j.fill("#email", &format!("ibrahima.{}@example.org", words.lang))
        .await;
    j.fill("#firstname", "Ibrahima").await;
    j.fill("#lastname", "Dou").await;
    j.click("form[action$='/assign'] button[type=submit]").await;
    j.check("seat-assigned").await;
    let title =
        j.c.find(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert_eq!(
        title, "[E2E-A1] Sûreté — agent",
        "a seat is titled by its course"
    );
    let seat_url = j.c.current_url().await.unwrap().to_string();

    // A second seat assigned, found by its learner, then released with the bulk form.
    j.go("/customer").await;
    j.click("table.products-table tbody tr:nth-child(2) a")
        .await;
    let second = j.c.current_url().await.unwrap();
    let second = second.path().rsplit('/').next().unwrap().to_owned();
    j.fill("#email", &format!("moussa.{}@example.org", words.lang))
        .await;
    j.fill("#firstname", "Moussa").await;
    j.fill("#lastname", "Sow").await;
    j.click("form[action$='/assign'] button[type=submit]").await;
    j.go("/customer?learner=moussa").await;
    j.expect(&second).await;
    j.check("customer-search").await;
    j.tick(&format!("input[name=reference][value='{second}']"))
        .await;
    j.click("#release button[type=submit]").await;
    j.expect(words.released).await;
    j.check("released").await;
    j.logout().await;

    // (c) The learner sets a password from the mail, logs in, opens the course.
    let learner = format!("ibrahima.{}@example.org", words.lang);
    let link = j.link_from_mail(&learner).await;
    j.c.goto(&link).await.unwrap();
    j.check("set-password").await;
    j.fill("#password", "learner-password-1").await;
    j.fill("#confirm", "learner-password-1").await;
    j.click("main form button[type=submit]").await;
    j.check("my-courses").await;
    j.click("a[href='/course/E2E-A1']").await;
    j.check("course").await;
    j.logout().await;

    // (d) The customer (password from their welcome mail) sees the seat Locked.
    let customer = format!("awa.{}@example.org", words.lang);
    let link = j.link_from_mail(&customer).await;
    j.c.goto(&link).await.unwrap();
    j.fill("#password", "customer-password-1").await;
    j.fill("#confirm", "customer-password-1").await;
    j.click("main form button[type=submit]").await;
    j.c.goto(&seat_url).await.unwrap();
    let state =
        j.c.find(Locator::Css("#seat-state"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert_eq!(state, words.locked);
    j.check("seat-locked").await;
    j.go("/customer").await;
    j.check("customer-space-locked").await;
    j.logout().await;

    // (e) A business buyer pays by transfer: the bank details and the pro-forma.
    j.go("/shop").await;
    j.fill("#qty-E2E-PACK5", "1").await;
    j.click("#product-E2E-PACK5 form button[type=submit]").await;
    j.click("a[href='/checkout/customer']").await;
    j.fill("#firstname", "Greta").await;
    j.fill("#lastname", "Berger").await;
    j.fill("#email", &format!("greta.{}@example.org", words.lang))
        .await;
    j.fill("#organisation", "Beta GmbH").await;
    j.fill("#address", "Hauptstraße 1").await;
    j.fill("#zip", "10115").await;
    j.fill("#city", "Berlin").await;
    j.select("#country", "DE").await;
    j.fill("#vat_number", "DE123456789").await;
    j.fill("#po_reference", "PO-4711").await;
    j.click("form[action='/checkout/customer'] > button[type=submit]")
        .await;
    j.expect("Article 196").await;
    j.check("checkout-order-reverse-charge").await;
    j.tick("input[name=accept_terms]").await;
    j.tick("input[name=paymode][value=transfer]").await;
    j.click("form[action='/checkout/order'] button[type=submit]")
        .await;
    let iban =
        j.c.find(Locator::Css("#bank-iban"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert_eq!(iban, "FR76 3000 6000 0112 3456 7890 189");
    j.check("transfer-done").await;
    j.click("a[href$='/document']").await;
    j.expect("Article 196").await;
    j.check("pro-forma").await;
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE state = 'PENDING' AND tax = 0 AND tax_treatment = 'reverse_charge'")
            .await,
        1
    );
    let pro_forma = j.download("#document-pdf", "pro-forma").await;
    assert!(pro_forma.contains("IBAN"), "{pro_forma}");
    assert!(pro_forma.contains("Article 196"), "{pro_forma}");

    // (f) The operator records the transfer; the buyer's document is now the invoice, and
    // its PDF downloads.
    app.login_operator().await;
    let bill = app
        .count("SELECT id FROM bills WHERE state = 'PENDING'")
        .await;
    let paid = app.post(&format!("/admin/bills/{bill}/paid"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    j.c.refresh().await.unwrap();
    j.expect(words.invoice).await;
    j.check("invoice").await;
    let invoice = j.download("#document-pdf", "invoice").await;
    let number: String = sqlx::query_scalar("SELECT invoice_number FROM bills WHERE id = $1")
        .bind(bill)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(invoice.contains(&number), "{invoice}");
    assert!(invoice.contains("Article 196"), "{invoice}");
    assert!(!invoice.contains("IBAN"), "{invoice}");

    // (g) A buyer pays by card with Stripe (a fake one here): sent to Stripe's page, back
    // through its "back" link, then on the confirmation once Stripe's webhook has arrived.
    // Another person: a browser session of their own.
    j.c.delete_all_cookies().await.unwrap();
    j.go("/shop").await;
    j.fill("#qty-E2E-PACK5", "1").await;
    j.click("#product-E2E-PACK5 form button[type=submit]").await;
    j.click("a[href='/checkout/customer']").await;
    j.fill("#firstname", "Chloé").await;
    j.fill("#lastname", "Martin").await;
    j.fill("#email", &format!("chloe.{}@example.org", words.lang))
        .await;
    j.fill("#address", "3 rue du Port").await;
    j.fill("#zip", "13002").await;
    j.fill("#city", "Marseille").await;
    j.select("#country", "FR").await;
    j.click("form[action='/checkout/customer'] > button[type=submit]")
        .await;
    j.tick("input[name=accept_terms]").await;
    j.tick("input[name=paymode][value=stripe]").await;
    j.click("form[action='/checkout/order'] button[type=submit]")
        .await;
    j.check("stripe").await;
    let pay_page = j.c.current_url().await.unwrap().path().to_owned();
    let public_id = pay_page.trim_start_matches("/payment/stripe/").to_owned();
    j.click("#pay-stripe").await;
    let at_stripe = j.c.current_url().await.unwrap().to_string();
    let prefix = format!("{}/c/pay/", stripe.base);
    assert!(at_stripe.starts_with(&prefix), "{at_stripe}");
    let session_id = at_stripe.trim_start_matches(&prefix).to_owned();
    j.go(&format!("{pay_page}?cancelled=1")).await;
    j.expect(words.card_not_completed).await;
    j.check("stripe-cancelled").await;
    // Paid on Stripe's page: Stripe sends the buyer back and posts its signed event.
    j.go(&format!("/checkout/done/{public_id}")).await;
    j.check("stripe-confirming").await;
    let event = stripe.event("checkout.session.completed", stripe.pay(&session_id));
    let header = signature_header(WEBHOOK_SECRET, fake_stripe::now(), &event);
    let delivered = reqwest::Client::new()
        .post(app.url("/payment/stripe/webhook"))
        .header("Stripe-Signature", header)
        .header("content-type", "application/json")
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status().as_u16(), 200);
    j.go(&format!("/checkout/done/{public_id}")).await;
    j.expect(words.card_produced).await;
    j.check("stripe-paid").await;

    // (h) The operator offers a coupon, then refunds the card payment in full: the review
    // says what becomes of the seats and how the money goes back (through Stripe), and the
    // credit note reads like the invoice it corrects, as a page and as a PDF.
    j.c.delete_all_cookies().await.unwrap();
    j.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    j.go("/admin/coupons/new").await;
    j.fill("#code", "WELCOME10").await;
    j.tick("input[name=kind][value=percent]").await;
    j.fill("#value", "10").await;
    j.fill("#usage_limit", "100").await;
    j.click("main form button[type=submit]").await;
    j.expect("WELCOME10").await;
    j.check("admin-coupons").await;
    let card_bill = app
        .count(&format!(
            "SELECT id FROM bills WHERE public_id = '{public_id}'"
        ))
        .await;
    j.go(&format!("/admin/bills/{card_bill}")).await;
    j.click("#refund form.inline button[type=submit]").await;
    j.expect("Stripe").await;
    j.check("refund-review").await;
    j.click("form[method=post][action$='/refund'] button[type=submit]")
        .await;
    j.check("refunded").await;
    assert_eq!(app.bill_state(&public_id).await, "REFUNDED");
    assert_eq!(
        stripe.requests("/v1/refunds").len(),
        1,
        "refunded through Stripe"
    );
    j.click("#refunds a").await;
    let number: String = sqlx::query_scalar("SELECT credit_note_number FROM refunds")
        .fetch_one(&app.db)
        .await
        .unwrap();
    j.expect(&number).await;
    j.check("credit-note").await;
    let credit_note = j.download("#document-pdf", "credit-note").await;
    assert!(credit_note.contains(&number), "{credit_note}");

    c.close().await.unwrap();
    assert_eq!(
        // 10 from the first purchase, 5 from the paid transfer, 5 from the card.
        app.count("SELECT count(*) FROM product_instances").await,
        20
    );
    assert_eq!(
        // The card's 5, refunded while free.
        app.count("SELECT count(*) FROM product_instances WHERE revoked_at IS NOT NULL")
            .await,
        5
    );
    assert_eq!(
        app.count("SELECT count(*) FROM bills WHERE invoice_number IS NOT NULL AND tax = 0 AND tax_treatment = 'reverse_charge'")
            .await,
        1
    );
}

fn english() -> Words {
    Words {
        lang: "en",
        produced: "10 unassigned seats have been added",
        locked: "Locked",
        saved: "Saved.",
        released: "1 seat released.",
        invoice: "Invoice F",
        card_not_completed: "The payment was not completed.",
        card_produced: "5 unassigned seats have been added",
    }
}

fn french() -> Words {
    Words {
        lang: "fr",
        produced: "10 sièges non attribués ont été ajoutés",
        locked: "Verrouillé",
        saved: "Enregistré.",
        released: "1 siège libéré.",
        invoice: "Facture F",
        card_not_completed: "Le paiement n’a pas abouti.",
        card_produced: "5 sièges non attribués ont été ajoutés",
    }
}

#[tokio::test]
async fn journey_in_english() {
    journey(english(), 1280).await;
}

#[tokio::test]
async fn journey_in_french() {
    journey(french(), 1280).await;
}

#[tokio::test]
async fn journey_in_english_on_a_phone() {
    journey(english(), 375).await;
}

#[tokio::test]
async fn journey_in_french_on_a_phone() {
    journey(french(), 375).await;
}
