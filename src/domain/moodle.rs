//! Moodle's side of the rules: role ids by shortname, and how a failed web-service call is
//! classified (retry later, or stop and show an operator).

use std::collections::BTreeMap;

/// Role shortnames (the shop's roles) to Moodle role ids (`MOODLE_ROLES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMap(BTreeMap<String, i64>);

/// Moodle's standard role ids, as a fresh install numbers them.
const STANDARD: &[(&str, i64)] = &[
    ("manager", 1),
    ("coursecreator", 2),
    ("editingteacher", 3),
    ("teacher", 4),
    ("student", 5),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("MOODLE_ROLES must look like student=5,teacher=4 (shortname=id, ids positive): {0:?}")]
pub struct BadRoleMap(pub String);

impl Default for RoleMap {
    fn default() -> Self {
        RoleMap(
            STANDARD
                .iter()
                .map(|(name, id)| ((*name).to_owned(), *id))
                .collect(),
        )
    }
}

impl RoleMap {
    /// The standard ids, overridden (or extended) by `shortname=id` pairs.
    pub fn parse(text: &str) -> Result<RoleMap, BadRoleMap> {
        let mut map = RoleMap::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || BadRoleMap(pair.to_owned());
            let (name, id) = pair.split_once('=').ok_or_else(bad)?;
            let name = name.trim();
            let id: i64 = id.trim().parse().map_err(|_| bad())?;
            if name.is_empty() || id <= 0 {
                return Err(bad());
            }
            map.0.insert(name.to_owned(), id);
        }
        Ok(map)
    }

    pub fn id(&self, shortname: &str) -> Option<i64> {
        self.0.get(shortname).copied()
    }
}

/// What to do after a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Moodle may succeed later by itself (network, timeout, 5xx, database hiccup): retry
    /// with backoff.
    Transient,
    /// Only a person can fix it (token, capability, service, course gone): stop and show
    /// it at /admin/lms.
    Permanent,
}

/// Classifies Moodle's error JSON (`exception`, `errorcode`). Database errors (`dml_*`) are
/// Moodle's own storage having trouble; anything else is a refusal that repeating the same
/// call will not change.
pub fn classify(exception: &str, errorcode: &str) -> Failure {
    if exception.starts_with("dml_")
        || errorcode.starts_with("dml")
        || matches!(errorcode, "sitemaintenance" | "upgraderunning")
    {
        Failure::Transient
    } else {
        Failure::Permanent
    }
}

/// The Moodle username the shop gives a new account: its address in lower case, with the
/// characters Moodle's `PARAM_USERNAME` refuses (all but `a-z 0-9 _ - . @`, without
/// `extendedusernamechars`) replaced by `-`: the web service rejects a username that its
/// cleaning would change.
pub fn username_for(email: &str) -> String {
    email
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_roles_by_default_and_overridable() {
        let map = RoleMap::parse("").unwrap();
        assert_eq!(map.id("student"), Some(5));
        assert_eq!(map.id("editingteacher"), Some(3));
        let map = RoleMap::parse(" student=9 , supervisor=11").unwrap();
        assert_eq!(map.id("student"), Some(9));
        assert_eq!(map.id("supervisor"), Some(11));
        assert_eq!(map.id("teacher"), Some(4));
        assert_eq!(map.id("nobody"), None);
    }

    #[test]
    fn malformed_role_maps_are_refused() {
        for bad in ["student", "student=x", "=5", "student=0", "student=-1"] {
            assert!(RoleMap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_are_what_moodle_accepts() {
        assert_eq!(
            username_for(" Grace.Hopper@Example.org "),
            "grace.hopper@example.org"
        );
        assert_eq!(username_for("a+tag@x.org"), "a-tag@x.org");
        assert_eq!(username_for("o'brien@x.org"), "o-brien@x.org");
    }

    #[test]
    fn database_trouble_is_retried_refusals_are_not() {
        assert_eq!(
            classify("dml_read_exception", "dmlreadexception"),
            Failure::Transient
        );
        assert_eq!(
            classify("moodle_exception", "invalidtoken"),
            Failure::Permanent
        );
        assert_eq!(
            classify("webservice_access_exception", "accessexception"),
            Failure::Permanent
        );
        assert_eq!(
            classify("required_capability_exception", "nopermissions"),
            Failure::Permanent
        );
    }
}
