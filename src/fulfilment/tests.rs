use super::*;
use crate::store::courses::Course;

fn course(id: i64, shortname: &str) -> Course {
    Course {
        id,
        shortname: shortname.into(),
        fullname: shortname.into(),
        visible: true,
        startdate: None,
    }
}

fn check(handler: &str, params: &str) -> Validation {
    let courses = vec![course(1, "X-A1"), course(2, "X-A2"), course(3, "X-SUPPORT")];
    let roles = vec![
        "editingteacher".to_owned(),
        "student".to_owned(),
        "teacher".to_owned(),
    ];
    validate(
        handler,
        params,
        &CatalogueFacts {
            courses: &courses,
            roles: &roles,
        },
    )
}

fn keys(issues: &[Issue]) -> Vec<(&str, &str)> {
    issues.iter().map(|i| (i.param.as_str(), i.key)).collect()
}

#[test]
fn the_reference_seat_pack_is_valid_without_warnings() {
    let v = check(
        "std_generateseats",
        "courselist=X-A%&packsize=5&supervisor=teacher&customersupport=X-SUPPORT",
    );
    assert!(v.is_ok(), "{v:?}");
    assert!(v.warnings.is_empty(), "{v:?}");
}

#[test]
fn seat_pack_errors_name_their_parameter() {
    for (params, param, key) in [
        ("packsize=0", "packsize", "handlers.not_positive"),
        ("packsize=-2", "packsize", "handlers.not_positive"),
        ("packsize=five", "packsize", "handlers.not_positive"),
        (
            "supervisor=nosuchrole",
            "supervisor",
            "handlers.unknown_role",
        ),
        (
            "customersupport=NOPE",
            "customersupport",
            "handlers.unknown_course",
        ),
        ("enddate=31/01/2027", "enddate", "handlers.bad_date"),
        ("duration=30", "duration", "handlers.bad_duration"),
    ] {
        let v = check("std_generateseats", params);
        assert!(keys(&v.errors).contains(&(param, key)), "{params}: {v:?}");
    }
}

#[test]
fn seat_pack_warnings() {
    let v = check("std_generateseats", "");
    let w = keys(&v.warnings);
    assert!(w.contains(&("courselist", "handlers.empty_course_list")));
    assert!(w.contains(&("packsize", "handlers.defaulted")));
    assert!(w.contains(&("supervisor", "handlers.defaulted")));
    let v = check(
        "std_generateseats",
        "courselist=Z-%,X-A1&packsize=2&supervisor=teacher&colour=blue",
    );
    assert!(v.is_ok());
    let w = keys(&v.warnings);
    assert!(w.contains(&("courselist", "handlers.pattern_matches_nothing")));
    assert!(w.contains(&("colour", "handlers.unknown_param")));
}

#[test]
fn dates_accept_iso_and_unix_seconds() {
    assert!(
        check(
            "std_generateseats",
            "packsize=1&supervisor=teacher&enddate=2027-01-31"
        )
        .is_ok()
    );
    assert!(
        check(
            "std_generateseats",
            "packsize=1&supervisor=teacher&enddate=1800000000"
        )
        .is_ok()
    );
    assert!(
        check(
            "std_generateseats",
            "packsize=1&supervisor=teacher&duration=%2B30D"
        )
        .is_ok()
    );
}

#[test]
fn one_course_enrolment_rules() {
    assert!(check("std_enrolonecourse", "coursename=X-A1").is_ok());
    assert!(check("std_enrolonecourse", "").has_error("coursename"));
    assert!(check("std_enrolonecourse", "coursename=NOPE").has_error("coursename"));
    assert!(check("std_enrolonecourse", "coursename=X-A1&role=god").has_error("role"));
    assert!(
        check(
            "std_enrolonecourse",
            "coursename=X-A1&starttime=%2B2D&endtime=%2B30D"
        )
        .is_ok()
    );
    assert!(
        check(
            "std_enrolonecourse",
            "coursename=X-A1&starttime=2027-02-01&endtime=2027-01-01"
        )
        .has_error("endtime")
    );
    assert!(check("std_enrolonecourse", "coursename=X-A1&endtime=soon").has_error("endtime"));
    assert_eq!(
        find("std_enrolonecourse").and_then(|h| h.max_quantity()),
        Some(1)
    );
}

#[test]
fn malformed_strings_and_unknown_handlers_are_errors() {
    assert!(check("std_generateseats", "packsize").has_error("handlerparams"));
    assert!(check("std_generateseats", "a=1&a=2").has_error("handlerparams"));
    assert!(check("no_such_handler", "").has_error("handler"));
    assert!(check("", "").is_ok());
}
