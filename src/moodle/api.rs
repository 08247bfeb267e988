//! The web-service functions the shop uses, typed from Moodle 4.5's definitions
//! (`lib/db/services.php` and each function's `*_parameters` / `*_returns`).

use serde::Deserialize;

use super::client::{CallError, Client, Params};

/// Every function the external service must hold (README: "Moodle").
pub const FUNCTIONS: &[&str] = &[
    "core_webservice_get_site_info",
    "core_user_get_users_by_field",
    "core_user_create_users",
    "core_course_get_courses",
    "core_course_get_categories",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_enrol_get_enrolled_users",
    "core_group_get_course_groups",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
];

#[derive(Debug, Deserialize)]
pub struct SiteInfo {
    pub sitename: String,
    #[serde(default)]
    pub release: String,
    #[serde(default)]
    pub functions: Vec<FunctionInfo>,
}

#[derive(Debug, Deserialize)]
pub struct FunctionInfo {
    pub name: String,
}

#[derive(Debug, Deserialize)]
struct UserId {
    id: i64,
}

#[derive(Debug, Deserialize)]
pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub categoryid: i64,
    /// Moodle returns 0/1.
    #[serde(default = "one")]
    pub visible: i64,
    #[serde(default)]
    pub format: String,
    /// 0 no groups, 1 separate groups, 2 visible groups (returned with `moodle/course:update`).
    #[serde(default)]
    pub groupmode: Option<i64>,
}

/// Moodle's SEPARATEGROUPS: members of one group do not see the others.
pub const SEPARATE_GROUPS: i64 = 1;

fn one() -> i64 {
    1
}

#[derive(Debug, Deserialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct EnrolledUser {
    pub id: i64,
    #[serde(default)]
    pub lastcourseaccess: i64,
}

#[derive(Debug, Deserialize)]
pub struct Group {
    pub id: i64,
    #[serde(default)]
    pub idnumber: String,
}

pub async fn site_info(c: &Client) -> Result<SiteInfo, CallError> {
    c.call("core_webservice_get_site_info", &Params::new())
        .await
}

/// The Moodle user with this address, if any.
pub async fn user_by_email(c: &Client, email: &str) -> Result<Option<i64>, CallError> {
    let users: Vec<UserId> = c
        .call(
            "core_user_get_users_by_field",
            &Params::new().set("field", "email").set("values[0]", email),
        )
        .await?;
    Ok(users.iter().map(|u| u.id).min())
}

/// A manual-authentication account; Moodle makes up its password and mails it
/// (`createpassword=1`).
pub async fn create_user(
    c: &Client,
    username: &str,
    firstname: &str,
    lastname: &str,
    email: &str,
) -> Result<i64, CallError> {
    let params = Params::new()
        .item("users", 0, "username", username)
        .item("users", 0, "auth", "manual")
        .item("users", 0, "createpassword", 1)
        .item("users", 0, "firstname", firstname)
        .item("users", 0, "lastname", lastname)
        .item("users", 0, "email", email);
    let created: Vec<UserId> = c.call("core_user_create_users", &params).await?;
    created
        .first()
        .map(|u| u.id)
        .ok_or_else(|| CallError::Unexpected("core_user_create_users", "no user".into()))
}

/// Moodle's manual enrolment is an upsert: enrolling again updates role and dates.
pub async fn enrol(
    c: &Client,
    roleid: i64,
    userid: i64,
    courseid: i64,
    timestart: Option<i64>,
    timeend: Option<i64>,
) -> Result<(), CallError> {
    let mut params = Params::new()
        .item("enrolments", 0, "roleid", roleid)
        .item("enrolments", 0, "userid", userid)
        .item("enrolments", 0, "courseid", courseid);
    if let Some(t) = timestart {
        params = params.item("enrolments", 0, "timestart", t);
    }
    if let Some(t) = timeend {
        params = params.item("enrolments", 0, "timeend", t);
    }
    // Returns null.
    c.call::<serde_json::Value>("enrol_manual_enrol_users", &params)
        .await
        .map(drop)
}

pub async fn unenrol(c: &Client, userid: i64, courseid: i64) -> Result<(), CallError> {
    let params = Params::new().item("enrolments", 0, "userid", userid).item(
        "enrolments",
        0,
        "courseid",
        courseid,
    );
    c.call::<serde_json::Value>("enrol_manual_unenrol_users", &params)
        .await
        .map(drop)
}

/// Everyone enrolled in the course, with their last access to it (0 = never).
pub async fn enrolled_users(c: &Client, courseid: i64) -> Result<Vec<EnrolledUser>, CallError> {
    let params = Params::new()
        .set("courseid", courseid)
        .item("options", 0, "name", "userfields")
        .item("options", 0, "value", "id,lastcourseaccess");
    c.call("core_enrol_get_enrolled_users", &params).await
}

pub async fn course_groups(c: &Client, courseid: i64) -> Result<Vec<Group>, CallError> {
    c.call(
        "core_group_get_course_groups",
        &Params::new().set("courseid", courseid),
    )
    .await
}

pub async fn create_group(
    c: &Client,
    courseid: i64,
    name: &str,
    idnumber: &str,
) -> Result<i64, CallError> {
    let params = Params::new()
        .item("groups", 0, "courseid", courseid)
        .item("groups", 0, "name", name)
        .item("groups", 0, "description", "")
        .item("groups", 0, "idnumber", idnumber);
    let created: Vec<Group> = c.call("core_group_create_groups", &params).await?;
    created
        .first()
        .map(|g| g.id)
        .ok_or_else(|| CallError::Unexpected("core_group_create_groups", "no group".into()))
}

/// Adding someone already in the group changes nothing in Moodle.
pub async fn add_member(c: &Client, groupid: i64, userid: i64) -> Result<(), CallError> {
    let params = Params::new()
        .item("members", 0, "groupid", groupid)
        .item("members", 0, "userid", userid);
    c.call::<serde_json::Value>("core_group_add_group_members", &params)
        .await
        .map(drop)
}

pub async fn remove_member(c: &Client, groupid: i64, userid: i64) -> Result<(), CallError> {
    let params = Params::new()
        .item("members", 0, "groupid", groupid)
        .item("members", 0, "userid", userid);
    c.call::<serde_json::Value>("core_group_delete_group_members", &params)
        .await
        .map(drop)
}

/// Every course but the front page (Moodle's site course, format `site`).
pub async fn courses(c: &Client) -> Result<Vec<Course>, CallError> {
    let all: Vec<Course> = c.call("core_course_get_courses", &Params::new()).await?;
    Ok(all.into_iter().filter(|c| c.format != "site").collect())
}

pub async fn categories(c: &Client) -> Result<Vec<Category>, CallError> {
    c.call("core_course_get_categories", &Params::new()).await
}
