//! Courses as operators create them, one at a time or from a CSV file.

use std::collections::HashSet;

use serde::Deserialize;
use time::Date;
use time::macros::format_description;

use super::csv_input;
use super::form::{FieldErrors, required};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CourseForm {
    pub shortname: String,
    pub fullname: String,
    pub visible: String,
    pub startdate: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseDraft {
    pub shortname: String,
    pub fullname: String,
    pub visible: bool,
    pub startdate: Option<Date>,
}

fn parse_visible(value: &str) -> Option<bool> {
    match value.trim().to_lowercase().as_str() {
        "" | "1" | "on" | "yes" | "true" | "oui" => Some(true),
        "0" | "off" | "no" | "false" | "non" => Some(false),
        _ => None,
    }
}

impl CourseDraft {
    /// `visible` missing from a submitted HTML form means an unticked box, hence
    /// `checkbox_form`: the contract's minimal POST (shortname, fullname) makes a visible course.
    pub fn parse(form: &CourseForm, checkbox_form: bool) -> Result<CourseDraft, FieldErrors> {
        let mut errors = FieldErrors::default();
        let shortname = required(&mut errors, "shortname", &form.shortname, 100);
        if shortname.contains(char::is_whitespace) || shortname.contains(',') {
            errors.add("shortname", "errors.shortname_chars");
        }
        let fullname = required(&mut errors, "fullname", &form.fullname, 255);
        let visible = if checkbox_form && form.visible.is_empty() {
            Some(false)
        } else {
            parse_visible(&form.visible)
        };
        if visible.is_none() {
            errors.add("visible", "errors.invalid_choice");
        }
        let startdate = match form.startdate.trim() {
            "" => None,
            s => Date::parse(s, format_description!("[year]-[month]-[day]"))
                .map_err(|_| errors.add("startdate", "errors.date"))
                .ok(),
        };
        errors.into_result(|| CourseDraft {
            shortname,
            fullname,
            visible: visible.unwrap_or(true),
            startdate,
        })
    }
}

/// One line of an import: its number in the file and what it gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    pub line: usize,
    pub shortname: String,
    pub result: Result<CourseDraft, Vec<(String, String)>>,
}

/// Parses a CSV `shortname,fullname[,visible][,startdate]` (header line required, any column
/// order, `;` accepted as separator for spreadsheets set to French). `existing` holds the
/// shortnames already taken.
pub fn parse_course_csv(
    data: &[u8],
    existing: &HashSet<String>,
) -> Result<Vec<ImportLine>, String> {
    let text = csv_input::decode(data).map_err(str::to_owned)?;
    let mut reader = csv_input::reader(text);
    let headers = csv_input::headers(&mut reader).map_err(str::to_owned)?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_short), Some(c_full)) = (col("shortname"), col("fullname")) else {
        return Err("errors.csv_course_header".to_owned());
    };
    let (c_visible, c_start) = (col("visible"), col("startdate"));
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = csv_input::line_of(text, &record, i);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                lines.push(ImportLine {
                    line,
                    shortname: String::new(),
                    result: Err(vec![("line".into(), e.to_string())]),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let form = CourseForm {
            shortname: get(Some(c_short)),
            fullname: get(Some(c_full)),
            visible: get(c_visible),
            startdate: get(c_start),
        };
        let mut result = CourseDraft::parse(&form, false).map_err(|e| {
            e.iter()
                .map(|(f, m)| (f.to_owned(), m.to_owned()))
                .collect::<Vec<_>>()
        });
        if let Ok(draft) = &result {
            if existing.contains(&draft.shortname) {
                result = Err(vec![("shortname".into(), "errors.shortname_taken".into())]);
            } else if !seen.insert(draft.shortname.clone()) {
                result = Err(vec![("shortname".into(), "errors.shortname_twice".into())]);
            }
        }
        lines.push(ImportLine {
            line,
            shortname: form.shortname,
            result,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_course_is_visible() {
        let d = CourseDraft::parse(
            &CourseForm {
                shortname: "X-A1".into(),
                fullname: "A one".into(),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        assert!(d.visible);
        let d = CourseDraft::parse(
            &CourseForm {
                shortname: "X-A1".into(),
                fullname: "A one".into(),
                ..Default::default()
            },
            true,
        )
        .unwrap();
        assert!(!d.visible, "an unticked box");
    }

    #[test]
    fn csv_import_reports_each_bad_line() {
        let existing: HashSet<String> = ["TAKEN".to_owned()].into();
        let csv = "shortname,fullname,visible,startdate\nX-A1,A one,1,2027-01-01\n,No short,1,\nTAKEN,Dup,1,\nX-A1,Again,1,\nX-B,Bee,maybe,\nX-C,Sea,0,31/01/2027\n";
        let lines = parse_course_csv(csv.as_bytes(), &existing).unwrap();
        assert_eq!(lines.len(), 6);
        assert!(lines[0].result.is_ok());
        assert_eq!(lines[0].line, 2);
        let errs = |i: usize| lines[i].result.clone().unwrap_err();
        assert_eq!(errs(1)[0], ("shortname".into(), "errors.required".into()));
        assert_eq!(errs(2)[0].1, "errors.shortname_taken");
        assert_eq!(errs(3)[0].1, "errors.shortname_twice");
        assert_eq!(errs(4)[0].0, "visible");
        assert_eq!(errs(5)[0].0, "startdate");
    }

    #[test]
    fn semicolons_and_a_bom_are_understood() {
        let csv = "\u{feff}fullname;shortname\nUn;X-1\n";
        let lines = parse_course_csv(csv.as_bytes(), &HashSet::new()).unwrap();
        assert_eq!(lines[0].result.clone().unwrap().shortname, "X-1");
        assert!(parse_course_csv(b"name,code\nA,B\n", &HashSet::new()).is_err());
        assert!(parse_course_csv(&[0xff, 0xfe], &HashSet::new()).is_err());
    }
}
