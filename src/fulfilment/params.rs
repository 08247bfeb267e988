//! Declared parameters and the shared checks handlers run on them.

use time::OffsetDateTime;

use crate::domain::handler_params::{
    CoursePatterns, HandlerParams, When, parse_date, parse_duration,
};
use crate::store::courses::Course;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Comma-separated shortname patterns (`%`, `*`).
    CourseList,
    /// One course shortname.
    Course,
    /// An LMS role shortname.
    Role,
    PositiveInt,
    /// ISO date or Unix seconds.
    Date,
    /// `+30D` / `+12H`.
    Duration,
    /// A date, or a duration counted from the purchase.
    When,
}

#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    /// Shown as the placeholder; applied when the parameter is absent.
    pub default: Option<&'static str>,
    /// Translation key of the help text.
    pub help: &'static str,
}

/// What validation needs to know of the catalogue.
pub struct CatalogueFacts<'a> {
    pub courses: &'a [Course],
    pub roles: &'a [String],
}

impl CatalogueFacts<'_> {
    pub fn course(&self, shortname: &str) -> Option<&Course> {
        self.courses.iter().find(|c| c.shortname == shortname)
    }

    pub fn matching(&self, patterns: &CoursePatterns) -> Vec<&Course> {
        self.courses
            .iter()
            .filter(|c| c.visible && patterns.matches(&c.shortname))
            .collect()
    }
}

/// One finding: the parameter it concerns, a translation key, and the value quoted in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub param: String,
    pub key: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validation {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Validation {
    pub fn error(&mut self, param: &str, key: &'static str, value: &str) {
        self.errors.push(Issue {
            param: param.into(),
            key,
            value: value.into(),
        });
    }

    pub fn warn(&mut self, param: &str, key: &'static str, value: &str) {
        self.warnings.push(Issue {
            param: param.into(),
            key,
            value: value.into(),
        });
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn has_error(&self, param: &str) -> bool {
        self.errors.iter().any(|e| e.param == param)
    }

    // --- shared checks -------------------------------------------------------------------

    pub fn course_list(
        &mut self,
        params: &HandlerParams,
        name: &str,
        facts: &CatalogueFacts<'_>,
    ) -> CoursePatterns {
        let patterns = CoursePatterns::parse(params.get(name).unwrap_or(""));
        if patterns.is_empty() {
            self.warn(name, "handlers.empty_course_list", "");
        }
        for pattern in patterns.patterns() {
            let one = CoursePatterns::parse(pattern);
            if facts.matching(&one).is_empty() {
                self.warn(name, "handlers.pattern_matches_nothing", pattern);
            }
        }
        patterns
    }

    /// A course that must exist when given.
    pub fn course(
        &mut self,
        params: &HandlerParams,
        name: &str,
        facts: &CatalogueFacts<'_>,
        required: bool,
    ) {
        match params.get(name) {
            Some(shortname) if facts.course(shortname).is_none() => {
                self.error(name, "handlers.unknown_course", shortname)
            }
            None if required => self.error(name, "handlers.required", ""),
            _ => {}
        }
    }

    pub fn role(
        &mut self,
        params: &HandlerParams,
        name: &str,
        default: &str,
        facts: &CatalogueFacts<'_>,
        warn_default: bool,
    ) {
        match params.get(name) {
            Some(role) if !facts.roles.iter().any(|r| r == role) => {
                self.error(name, "handlers.unknown_role", role)
            }
            None if warn_default => self.warn(name, "handlers.defaulted", default),
            _ => {}
        }
    }

    pub fn positive_int(&mut self, params: &HandlerParams, name: &str, default: &str) {
        match params.get(name) {
            Some(v) => {
                if !v.parse::<u32>().is_ok_and(|n| (1..=10_000).contains(&n)) {
                    self.error(name, "handlers.not_positive", v);
                }
            }
            None => self.warn(name, "handlers.defaulted", default),
        }
    }

    pub fn date(&mut self, params: &HandlerParams, name: &str) -> Option<OffsetDateTime> {
        let v = params.get(name)?;
        parse_date(v)
            .map_err(|_| self.error(name, "handlers.bad_date", v))
            .ok()
    }

    pub fn duration(&mut self, params: &HandlerParams, name: &str) {
        if let Some(v) = params.get(name)
            && parse_duration(v).is_err()
        {
            self.error(name, "handlers.bad_duration", v);
        }
    }

    pub fn when(&mut self, params: &HandlerParams, name: &str) -> Option<When> {
        let v = params.get(name)?;
        When::parse(v)
            .map_err(|_| self.error(name, "handlers.bad_when", v))
            .ok()
    }
}
