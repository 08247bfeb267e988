//! A small Moodle for the tests: the REST web-service endpoint of Moodle 4.5
//! (`/webservice/rest/server.php`) with the twelve functions the shop uses, written from
//! Moodle's own definitions (`lib/db/services.php`, each function's `*_parameters` /
//! `*_returns`, `webservice/rest/locallib.php` for the error JSON), in memory.
//!
//! As Moodle's REST server: parameters come form-encoded with PHP's array syntax
//! (`users[0][email]=…`), `moodlewsrestformat=json` selects JSON, errors are HTTP 200 with
//! `{"exception", "errorcode", "message"}` (plus `debuginfo`, as with debugging on), and a
//! function that returns nothing answers `null`. It can be told to fail: 500s, slow answers
//! (timeouts), a refused function, a changed token, or be stopped and started again.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::net::TcpListener;

pub const TOKEN: &str = "0123456789abcdef0123456789abcdef";

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

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub auth: String,
}

#[derive(Debug, Clone)]
pub struct Course {
    pub id: i64,
    pub shortname: String,
    pub fullname: String,
    pub categoryid: i64,
    pub visible: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    pub userid: i64,
    pub courseid: i64,
    pub roles: BTreeSet<i64>,
    pub timestart: i64,
    pub timeend: i64,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: i64,
    pub courseid: i64,
    pub name: String,
    pub idnumber: String,
    pub members: BTreeSet<i64>,
}

/// How the next calls fail.
#[derive(Debug, Clone)]
pub enum Fault {
    /// HTTP 500 with an HTML page, as PHP's fatal errors give.
    Http500,
    /// Answers after this long (longer than the shop's timeout: a timeout).
    Slow(Duration),
}

#[derive(Default)]
pub struct Moodle {
    pub token: String,
    pub functions: Vec<String>,
    pub users: Vec<User>,
    pub courses: Vec<Course>,
    pub categories: Vec<(i64, String)>,
    pub enrolments: Vec<Enrolment>,
    pub groups: Vec<Group>,
    /// (user, course) → last access (Unix seconds).
    pub last_access: BTreeMap<(i64, i64), i64>,
    /// Every call received with a valid token: (function, parameters).
    pub calls: Vec<(String, Vec<(String, String)>)>,
    /// Faults for the next calls, and a fault for every call while set.
    pub faults: Vec<Fault>,
    pub always: Option<Fault>,
    /// A function refused with this exception (exception, errorcode, message).
    pub refuse: BTreeMap<String, (String, String, String)>,
    next_id: i64,
}

impl Moodle {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn add_category(&mut self, name: &str) -> i64 {
        let id = self.id();
        self.categories.push((id, name.to_owned()));
        id
    }

    pub fn add_course(&mut self, shortname: &str, category: i64, visible: bool) -> i64 {
        let id = self.id();
        self.courses.push(Course {
            id,
            shortname: shortname.to_owned(),
            fullname: format!("Moodle course {shortname}"),
            categoryid: category,
            visible,
        });
        id
    }

    pub fn user(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|u| u.email == email)
    }

    pub fn course(&self, shortname: &str) -> Option<&Course> {
        self.courses.iter().find(|c| c.shortname == shortname)
    }

    pub fn enrolment(&self, email: &str, shortname: &str) -> Option<&Enrolment> {
        let (u, c) = (self.user(email)?.id, self.course(shortname)?.id);
        self.enrolments
            .iter()
            .find(|e| e.userid == u && e.courseid == c)
    }

    /// The groups (their idnumbers) `email` belongs to in `shortname`.
    pub fn groups_of(&self, email: &str, shortname: &str) -> Vec<String> {
        let (Some(u), Some(c)) = (self.user(email), self.course(shortname)) else {
            return Vec::new();
        };
        self.groups
            .iter()
            .filter(|g| g.courseid == c.id && g.members.contains(&u.id))
            .map(|g| g.idnumber.clone())
            .collect()
    }

    pub fn calls_of(&self, function: &str) -> usize {
        self.calls.iter().filter(|(f, _)| f == function).count()
    }
}

pub type Shared = Arc<Mutex<Moodle>>;

/// The fake, running; `url` is its site root (what `MOODLE_URL` names).
pub struct FakeMoodle {
    pub url: String,
    pub addr: SocketAddr,
    pub state: Shared,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl FakeMoodle {
    /// A site with the shop's service and token, and a category "Training".
    pub async fn start() -> FakeMoodle {
        let mut m = Moodle {
            token: TOKEN.into(),
            functions: FUNCTIONS.iter().map(|f| (*f).to_owned()).collect(),
            ..Moodle::default()
        };
        // Id 1 is the front page (the site course), as in every Moodle.
        m.next_id = 1;
        m.add_category("Training");
        let state = Arc::new(Mutex::new(m));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fake = FakeMoodle {
            url: format!("http://{addr}"),
            addr,
            state,
            task: None,
        };
        fake.serve(listener);
        fake
    }

    fn serve(&mut self, listener: TcpListener) {
        let app = Router::new()
            .route("/webservice/rest/server.php", post(endpoint))
            .with_state(self.state.clone());
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Moodle goes down: connections are refused.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Moodle comes back on the same address, with the same data.
    pub async fn restart(&mut self) {
        self.stop();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Moodle) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }
}

impl Drop for FakeMoodle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An error as Moodle's REST server sends it (`webservice/rest/locallib.php`,
/// `generate_error`): HTTP 200, JSON.
fn exception(exception: &str, errorcode: &str, message: &str, debuginfo: Option<&str>) -> Value {
    let mut v = json!({"exception": exception, "errorcode": errorcode, "message": message});
    if let Some(d) = debuginfo {
        v["debuginfo"] = json!(d);
    }
    v
}

fn invalid_parameter(debuginfo: &str) -> Value {
    exception(
        "invalid_parameter_exception",
        "invalidparameter",
        "Invalid parameter value detected",
        Some(debuginfo),
    )
}

fn missing_record(table: &str) -> Value {
    exception(
        "dml_missing_record_exception",
        "invalidrecord",
        &format!("Can't find data record in database table {table}."),
        None,
    )
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str) -> Result<&str, Value> {
        self.get(name).ok_or_else(|| {
            invalid_parameter(&format!("Missing required key in single structure: {name}"))
        })
    }

    fn int(&self, name: &str) -> Result<i64, Value> {
        self.required(name)?
            .parse()
            .map_err(|_| invalid_parameter(&format!("{name} => Invalid parameter value detected")))
    }

    fn opt_int(&self, name: &str) -> Result<Option<i64>, Value> {
        self.get(name).map(|_| self.int(name)).transpose()
    }

    /// How many items `list[0]…`, `list[1]…` hold.
    fn count(&self, list: &str) -> usize {
        (0..)
            .take_while(|i| {
                let prefix = format!("{list}[{i}]");
                self.0.iter().any(|(k, _)| k.starts_with(&prefix))
            })
            .count()
    }
}

async fn endpoint(State(state): State<Shared>, body: Bytes) -> Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let params = Params(pairs);
    let fault = {
        let mut m = state.lock().unwrap();
        if m.faults.is_empty() {
            m.always.clone()
        } else {
            Some(m.faults.remove(0))
        }
    };
    match fault {
        Some(Fault::Http500) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html><body>Internal Server Error</body></html>",
            )
                .into_response();
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    if params.get("moodlewsrestformat") != Some("json") {
        return (
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<RESPONSE></RESPONSE>\n",
        )
            .into_response();
    }
    let answer = {
        let mut m = state.lock().unwrap();
        call(&mut m, &params).unwrap_or_else(|e| e)
    };
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        answer.to_string(),
    )
        .into_response()
}

fn call(m: &mut Moodle, p: &Params) -> Result<Value, Value> {
    if p.get("wstoken") != Some(m.token.as_str()) {
        return Err(exception(
            "moodle_exception",
            "invalidtoken",
            "Invalid token - token not found",
            None,
        ));
    }
    let function = p.get("wsfunction").unwrap_or_default().to_owned();
    if !m.functions.contains(&function) {
        return Err(exception(
            "webservice_access_exception",
            "accessexception",
            "Access control exception",
            Some(&format!(
                "Access to the function {function}() is not allowed. There could be multiple reasons for this: 1. The service linked to the user token does not contain the function. 2. The service is user-restricted and the user is not listed. 3. The service is IP-restricted and the user IP is not listed. 4. The service is time-restricted and the time has expired. 5. The token is time-restricted and the time has expired. 6. The user has no capability to run the function."
            )),
        ));
    }
    m.calls.push((function.clone(), p.0.clone()));
    if let Some((e, code, message)) = m.refuse.get(&function) {
        return Err(exception(e, code, message, None));
    }
    match function.as_str() {
        "core_webservice_get_site_info" => Ok(json!({
            "sitename": "Fake Moodle", "username": "shopws", "firstname": "Shop",
            "lastname": "Service", "fullname": "Shop Service", "lang": "en", "userid": 2,
            "siteurl": "http://fake", "userpictureurl": "", "functions": m.functions.iter()
                .map(|f| json!({"name": f, "version": "2024100700"})).collect::<Vec<_>>(),
            "downloadfiles": 0, "uploadfiles": 0, "release": "4.5 (Build: 20241007)",
            "version": "2024100700", "mobilecssurl": "", "advancedfeatures": [],
            "usercanmanageownfiles": true, "userquota": 0, "usermaxuploadfilesize": -1,
            "userhomepage": 1, "siteid": 1, "sitecalendartype": "gregorian",
            "usercalendartype": "gregorian", "theme": "boost"
        })),
        "core_user_get_users_by_field" => {
            let field = p.required("field")?;
            let values: Vec<&str> = (0..)
                .map_while(|i| p.get(&format!("values[{i}]")))
                .collect();
            let found: Vec<Value> = m
                .users
                .iter()
                .filter(|u| match field {
                    "email" => values.contains(&u.email.as_str()),
                    "username" => values.contains(&u.username.as_str()),
                    "id" => values.contains(&u.id.to_string().as_str()),
                    _ => false,
                })
                .map(|u| {
                    json!({"id": u.id, "username": u.username, "firstname": u.firstname,
                           "lastname": u.lastname, "fullname": format!("{} {}", u.firstname, u.lastname),
                           "email": u.email, "auth": u.auth, "suspended": false,
                           "confirmed": true, "lang": "en"})
                })
                .collect();
            Ok(Value::Array(found))
        }
        "core_user_create_users" => {
            let mut created = Vec::new();
            // Moodle checks every user before creating any (one transaction).
            for i in 0..p.count("users") {
                let f = |k: &str| format!("users[{i}][{k}]");
                let username = p.required(&f("username"))?.to_owned();
                let email = p.required(&f("email"))?.to_owned();
                let firstname = p.required(&f("firstname"))?.to_owned();
                let lastname = p.required(&f("lastname"))?.to_owned();
                let auth = p.get(&f("auth")).unwrap_or("manual").to_owned();
                if username != username.to_lowercase() {
                    return Err(invalid_parameter(
                        "username => Invalid parameter value detected",
                    ));
                }
                if m.users.iter().any(|u| u.username == username) {
                    return Err(invalid_parameter(&format!(
                        "Username already exists: {username}"
                    )));
                }
                let createpassword = matches!(p.get(&f("createpassword")), Some("1" | "true"));
                if auth == "manual" && p.get(&f("password")).is_none() && !createpassword {
                    return Err(invalid_parameter(
                        "Invalid password: you must provide a password, or set createpassword.",
                    ));
                }
                if m.users.iter().any(|u| u.email.eq_ignore_ascii_case(&email)) {
                    return Err(invalid_parameter(&format!(
                        "Email address already exists: {email}"
                    )));
                }
                let id = m.id();
                m.users.push(User {
                    id,
                    username: username.clone(),
                    email,
                    firstname,
                    lastname,
                    auth,
                });
                created.push(json!({"id": id, "username": username}));
            }
            Ok(Value::Array(created))
        }
        "core_course_get_courses" => {
            let mut all = vec![json!({"id": 1, "shortname": "fake", "categoryid": 0,
                "fullname": "Fake Moodle", "displayname": "Fake Moodle", "format": "site",
                "visible": 1, "summary": "", "summaryformat": 1, "startdate": 0})];
            all.extend(m.courses.iter().map(|c| {
                json!({"id": c.id, "shortname": c.shortname, "categoryid": c.categoryid,
                       "categorysortorder": 10000, "fullname": c.fullname,
                       "displayname": c.fullname, "idnumber": "", "summary": "",
                       "summaryformat": 1, "format": "topics", "showgrades": 1,
                       "newsitems": 5, "startdate": 1_700_000_000, "enddate": 0,
                       "visible": i64::from(c.visible), "groupmode": 0,
                       "groupmodeforce": 0, "defaultgroupingid": 0})
            }));
            Ok(Value::Array(all))
        }
        "core_course_get_categories" => Ok(Value::Array(
            m.categories
                .iter()
                .map(|(id, name)| {
                    json!({"id": id, "name": name, "idnumber": "", "description": "",
                           "descriptionformat": 1, "parent": 0, "sortorder": 10000,
                           "coursecount": m.courses.iter().filter(|c| c.categoryid == *id).count(),
                           "visible": 1, "visibleold": 1, "timemodified": 0, "depth": 1,
                           "path": format!("/{id}"), "theme": ""})
                })
                .collect(),
        )),
        "enrol_manual_enrol_users" => {
            for i in 0..p.count("enrolments") {
                let f = |k: &str| format!("enrolments[{i}][{k}]");
                let (roleid, userid, courseid) = (
                    p.int(&f("roleid"))?,
                    p.int(&f("userid"))?,
                    p.int(&f("courseid"))?,
                );
                let timestart = p.opt_int(&f("timestart"))?.unwrap_or(0);
                let timeend = p.opt_int(&f("timeend"))?.unwrap_or(0);
                if !m.courses.iter().any(|c| c.id == courseid) {
                    return Err(invalid_parameter("Context does not exist"));
                }
                // get_assignable_roles: the standard course roles.
                if !(1..=5).contains(&roleid) {
                    return Err(exception(
                        "moodle_exception",
                        "wsusercannotassign",
                        &format!(
                            "You don't have the permission to assign this role ({roleid}) to this user ({userid}) in this course({courseid})."
                        ),
                        None,
                    ));
                }
                if !m.users.iter().any(|u| u.id == userid) {
                    return Err(invalid_parameter(&format!("User id not exist: {userid}")));
                }
                // enrol_user(): an existing enrolment gets the new dates and the role added.
                match m
                    .enrolments
                    .iter_mut()
                    .find(|e| e.userid == userid && e.courseid == courseid)
                {
                    Some(e) => {
                        e.roles.insert(roleid);
                        e.timestart = timestart;
                        e.timeend = timeend;
                    }
                    None => m.enrolments.push(Enrolment {
                        userid,
                        courseid,
                        roles: BTreeSet::from([roleid]),
                        timestart,
                        timeend,
                    }),
                }
            }
            Ok(Value::Null)
        }
        "enrol_manual_unenrol_users" => {
            for i in 0..p.count("enrolments") {
                let f = |k: &str| format!("enrolments[{i}][{k}]");
                let (userid, courseid) = (p.int(&f("userid"))?, p.int(&f("courseid"))?);
                if !m.courses.iter().any(|c| c.id == courseid) {
                    return Err(missing_record("context"));
                }
                if !m.users.iter().any(|u| u.id == userid) {
                    return Err(invalid_parameter(&format!("User id not exist: {userid}")));
                }
                m.enrolments
                    .retain(|e| !(e.userid == userid && e.courseid == courseid));
                // Leaving the course's last enrolment leaves its groups too.
                for g in m.groups.iter_mut().filter(|g| g.courseid == courseid) {
                    g.members.remove(&userid);
                }
            }
            Ok(Value::Null)
        }
        "core_enrol_get_enrolled_users" => {
            let courseid = p.int("courseid")?;
            if !m.courses.iter().any(|c| c.id == courseid) {
                return Err(missing_record("course"));
            }
            let users: Vec<Value> = m
                .enrolments
                .iter()
                .filter(|e| e.courseid == courseid)
                .filter_map(|e| m.users.iter().find(|u| u.id == e.userid))
                .map(|u| {
                    json!({"id": u.id, "fullname": format!("{} {}", u.firstname, u.lastname),
                           "lastcourseaccess": m.last_access.get(&(u.id, courseid)).copied().unwrap_or(0)})
                })
                .collect();
            Ok(Value::Array(users))
        }
        "core_group_get_course_groups" => {
            let courseid = p.int("courseid")?;
            if !m.courses.iter().any(|c| c.id == courseid) {
                return Err(missing_record("course"));
            }
            Ok(Value::Array(
                m.groups
                    .iter()
                    .filter(|g| g.courseid == courseid)
                    .map(group_json)
                    .collect(),
            ))
        }
        "core_group_create_groups" => {
            let mut created = Vec::new();
            for i in 0..p.count("groups") {
                let f = |k: &str| format!("groups[{i}][{k}]");
                let courseid = p.int(&f("courseid"))?;
                let name = p.required(&f("name"))?.to_owned();
                p.required(&f("description"))?;
                let idnumber = p.get(&f("idnumber")).unwrap_or_default().to_owned();
                if !m.courses.iter().any(|c| c.id == courseid) {
                    return Err(invalid_parameter("Context does not exist"));
                }
                if m.groups
                    .iter()
                    .any(|g| g.courseid == courseid && g.name == name)
                {
                    return Err(invalid_parameter(
                        "Group with the same name already exists in the course",
                    ));
                }
                if !idnumber.is_empty()
                    && m.groups
                        .iter()
                        .any(|g| g.courseid == courseid && g.idnumber == idnumber)
                {
                    return Err(exception(
                        "moodle_exception",
                        "idnumbertaken",
                        "ID number is already used for another group",
                        None,
                    ));
                }
                let id = m.id();
                let g = Group {
                    id,
                    courseid,
                    name,
                    idnumber,
                    members: BTreeSet::new(),
                };
                created.push(group_json(&g));
                m.groups.push(g);
            }
            Ok(Value::Array(created))
        }
        "core_group_add_group_members" | "core_group_delete_group_members" => {
            let adding = function == "core_group_add_group_members";
            for i in 0..p.count("members") {
                let f = |k: &str| format!("members[{i}][{k}]");
                let (groupid, userid) = (p.int(&f("groupid"))?, p.int(&f("userid"))?);
                let Some(courseid) = m
                    .groups
                    .iter()
                    .find(|g| g.id == groupid)
                    .map(|g| g.courseid)
                else {
                    return Err(missing_record("groups"));
                };
                if adding
                    && !m
                        .enrolments
                        .iter()
                        .any(|e| e.userid == userid && e.courseid == courseid)
                {
                    return Err(invalid_parameter(
                        "Only enrolled users may be members of groups",
                    ));
                }
                if let Some(g) = m.groups.iter_mut().find(|g| g.id == groupid) {
                    if adding {
                        g.members.insert(userid);
                    } else {
                        g.members.remove(&userid);
                    }
                }
            }
            Ok(Value::Null)
        }
        other => Err(invalid_parameter(&format!("unknown function {other}"))),
    }
}

fn group_json(g: &Group) -> Value {
    json!({"id": g.id, "courseid": g.courseid, "name": g.name, "description": "",
           "descriptionformat": 1, "enrolmentkey": "", "idnumber": g.idnumber,
           "visibility": 0, "participation": true})
}
