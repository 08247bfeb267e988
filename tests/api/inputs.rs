//! Inputs that used to reach PostgreSQL or the mail templates unchecked (issue 15): control
//! characters, page numbers, a support course that does not exist, learners' names and
//! addresses, names shown back to the customer. The enumeration of every route's inputs
//! lives with the security suite (`security.rs`).

use crate::helpers::*;

#[tokio::test]
async fn control_characters_in_a_form_re_render_it_with_what_was_typed() {
    let app = spawn_app().await;
    app.seat_catalogue().await;
    let buyer = client();
    app.add_to_cart(&buyer, "X-PACK5", "1").await;
    let mut form = customer_form("ctrl@example.org");
    form[0] = ("firstname", "Ada\u{1}");
    form[4] = ("address", "1 rue\u{7f} de la Paix");
    let page = app.post_with(&buyer, "/checkout/customer", &form).await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("invisible control characters"));
    for typed in [
        "value=\"Lovelace\"",
        "Analytical Engines Ltd",
        "ctrl@example.org",
    ] {
        assert!(page.body.contains(typed), "{typed} kept");
    }
    // A NUL byte is refused before any handler: a 400 page, never a 500.
    form[0] = ("firstname", "Ada\0");
    let page = app.post_with(&buyer, "/checkout/customer", &form).await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("NUL byte"));
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}
