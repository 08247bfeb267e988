use crate::helpers::*;

#[tokio::test]
async fn shop_lists_the_demo_catalogue_with_add_to_cart_forms() {
    let app = spawn_app().await;
    lms_shop::demo::seed(&app.db).await.unwrap();
    let page = app.get("/shop").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("A51-1123K-FI"));
    assert!(page.body.contains("11.2.3.9-AHA-1"));
    assert!(page.body.contains("action=\"/cart/items\""));
    assert!(page.body.contains("name=\"quantity\""));
    // 1 440.00 excl. tax, 1 728.00 with 20 % VAT, and the tiers
    assert!(page.body.contains("€1,440.00"), "{}", page.body);
    assert!(page.body.contains("€1,728.00"));
    assert!(page.body.contains("€1,300.00"));
    assert!(page.csrf().is_some());
}

#[tokio::test]
async fn health_check_reports_the_database() {
    let app = spawn_app().await;
    let page = app.get("/healthz").await;
    assert_eq!((page.status, page.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    for path in ["/shop", "/login", "/nowhere", "/healthz"] {
        let page = app.get(path).await;
        let h = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        assert!(
            h("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "same-origin", "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
    }
}

#[tokio::test]
async fn unknown_pages_get_a_404_page_in_the_layout_and_the_visitors_language() {
    let app = spawn_app().await;
    let page = app.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.body.contains("Page not found"));
    assert!(
        page.body.contains("href=\"/shop\""),
        "layout navigation is there"
    );
    let fr = app
        .client
        .get(app.url("/no/such/page"))
        .header("accept-language", "fr-FR,fr;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(fr.status(), 404);
    assert!(fr.text().await.unwrap().contains("Page introuvable"));
}

#[tokio::test]
async fn the_language_switch_is_remembered() {
    let app = spawn_app().await;
    let page = app.get("/lang/fr?next=/login").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), Some("/login"));
    let page = app.get("/login").await;
    assert!(page.body.contains("<html lang=\"fr\">"));
    assert!(page.body.contains("Mot de passe"));
    // An open redirect through the switch is not possible.
    assert_eq!(
        app.get("/lang/en?next=//evil.example").await.location(),
        Some("/")
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_error_pages_show_it() {
    let app = spawn_app().await;
    let page = app.get("/no-such-page").await;
    assert_eq!(page.status, 404);
    let id = page
        .headers
        .get("x-request-id")
        .expect("a request id")
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!id.is_empty());
    assert!(page.body.contains(&id), "the error page quotes it");
    // An id given by a proxy in front is kept.
    let proxied = client()
        .get(app.url("/shop"))
        .header("x-request-id", "from-the-proxy-42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        proxied.headers().get("x-request-id").unwrap(),
        "from-the-proxy-42"
    );
}

#[tokio::test]
async fn french_pages_write_money_and_countries_the_french_way() {
    let app = spawn_app().await;
    lms_shop::demo::seed(&app.db).await.unwrap();
    let fr = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ACCEPT_LANGUAGE,
            reqwest::header::HeaderValue::from_static("fr-FR"),
        )]))
        .build()
        .unwrap();
    let page = app.get_with(&fr, "/shop").await;
    let plain = page.body.replace(['\u{a0}', '\u{202f}'], " ");
    assert!(plain.contains("1 440,00 €"), "{plain}");
    assert!(!plain.contains("EUR"), "{plain}");
    app.post_with(
        &fr,
        "/cart/items",
        &[("code", "A51-1123K-FI"), ("quantity", "1")],
    )
    .await;
    let checkout = app.get_with(&fr, "/checkout/customer").await.body;
    let france = checkout.find(">France<").expect("French country names");
    let allemagne = checkout.find(">Allemagne<").unwrap();
    let egypte = checkout.find(">Égypte<").unwrap();
    let espagne = checkout.find(">Espagne<").unwrap();
    assert!(
        allemagne < france && egypte < espagne,
        "collated, accents with their letter"
    );
}

fn templates() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
            if e.path().is_dir() {
                walk(&e.path(), out);
            } else {
                out.push(e.path());
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new("templates"), &mut files);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        .collect()
}

/// On a phone every table but a `compact` one reflows into one card per row, each cell a
/// line named by its column: a body cell without `data-label` would be a value without a name.
#[test]
fn table_cells_name_their_column_for_phones() {
    let mut unnamed = Vec::new();
    for (f, text) in templates() {
        for table in text.split("<table").skip(1) {
            let (open, rest) = table.split_once('>').unwrap();
            if open.contains("compact") {
                continue;
            }
            let body = rest.split("</table>").next().unwrap();
            let Some(tbody) = body.split("<tbody>").nth(1) else {
                continue;
            };
            let tbody = tbody.split("</tbody>").next().unwrap();
            for cell in tbody.split("<td").skip(1) {
                let tag = cell.split('>').next().unwrap();
                if !tag.contains("data-label") {
                    unnamed.push(format!("{}: <td{tag}>", f.display()));
                }
            }
        }
    }
    assert!(
        unnamed.is_empty(),
        "body cells without data-label: {unnamed:#?}"
    );
}

/// The CSRF token travels in the form, never in an address a page is then shown at (and kept
/// in history, logs and Referer headers).
#[test]
fn templates_keep_tokens_out_of_addresses() {
    let leaking: Vec<String> = templates()
        .into_iter()
        .filter(|(_, text)| text.contains("?csrf_token=") || text.contains("&csrf_token="))
        .map(|(f, _)| f.display().to_string())
        .collect();
    assert!(leaking.is_empty(), "a csrf_token in a URL: {leaking:?}");
}

/// A label's colon comes from `page.colon()` (French spaces it): `{{ label }}:` would be the
/// next "Disponible: 3".
#[test]
fn templates_take_the_colon_from_the_language() {
    let glued: Vec<String> = templates()
        .into_iter()
        .filter(|(_, text)| text.contains("}}:") || text.contains("</a>:"))
        .map(|(f, _)| f.display().to_string())
        .collect();
    assert!(glued.is_empty(), "use {{{{ page.colon() }}}} in {glued:?}");
}

/// Dates and amounts reach pages only through the language's formats: a template printing a
/// raw timestamp (`created_at`, `.date()`) is the next "2026/11/22" or "17:29:53.329368".
#[test]
fn templates_print_no_raw_dates() {
    let mut raw = Vec::new();
    for (f, text) in templates() {
        for expr in text
            .split("{{")
            .skip(1)
            .filter_map(|s| s.split("}}").next())
        {
            let e = expr.trim();
            let formatted = e.starts_with("page.date") || e.starts_with("page.end_date");
            if !formatted
                && (e.ends_with("_at") || e.contains(".date()") || e.ends_with("_at.date()"))
            {
                raw.push(format!("{}: {{{{{expr}}}}}", f.display()));
            }
        }
    }
    assert!(
        raw.is_empty(),
        "format these with page.date/page.datetime: {raw:#?}"
    );
}
