//! Bulk seat assignment from a CSV `email,firstname,lastname,course`.

use std::collections::HashSet;

use super::csv_input;
use super::email::Email;
use super::form::{TextProblem, text_problem};
use super::person::PersonName;

pub const TEMPLATE: &str = "email,firstname,lastname,course\n";
pub const MAX_LINES: usize = 5_000;

/// One line as read, and what is wrong with it so far (translation keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkLine {
    pub line: usize,
    pub email: String,
    pub firstname: String,
    pub lastname: String,
    pub course: String,
    pub problems: Vec<String>,
}

impl BulkLine {
    pub fn parsed_email(&self) -> Option<Email> {
        Email::parse(&self.email).ok()
    }

    /// The names as checked by `parse` (blank: the learner must already have an account).
    pub fn names(&self) -> (Option<PersonName>, Option<PersonName>) {
        (
            PersonName::parse_optional(&self.firstname).ok().flatten(),
            PersonName::parse_optional(&self.lastname).ok().flatten(),
        )
    }
}

/// Reads the file; per-line problems found without the database (shape, email, duplicates).
pub fn parse(data: &[u8]) -> Result<Vec<BulkLine>, &'static str> {
    let text = csv_input::decode(data)?;
    let mut reader = csv_input::reader(text);
    let headers = csv_input::headers(&mut reader)?;
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (Some(c_email), Some(c_first), Some(c_last), Some(c_course)) = (
        col("email"),
        col("firstname"),
        col("lastname"),
        col("course"),
    ) else {
        return Err("errors.csv_bulk_header");
    };
    let mut lines = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        // The file's own line number (blank lines are skipped by the reader, not by people).
        let line = csv_input::line_of(text, &record, i);
        let Ok(record) = record else {
            lines.push(BulkLine {
                line,
                email: String::new(),
                firstname: String::new(),
                lastname: String::new(),
                course: String::new(),
                problems: vec!["errors.csv_line".into()],
            });
            continue;
        };
        let get = |c: usize| record.get(c).unwrap_or("").to_owned();
        let mut l = BulkLine {
            line,
            email: get(c_email),
            firstname: get(c_first),
            lastname: get(c_last),
            course: get(c_course),
            problems: Vec::new(),
        };
        if l.email.is_empty()
            && l.course.is_empty()
            && l.firstname.is_empty()
            && l.lastname.is_empty()
        {
            continue; // blank line
        }
        match l.parsed_email() {
            None => l.problems.push("errors.email".into()),
            Some(email) => {
                if !seen.insert((email.as_str().to_lowercase(), l.course.clone())) {
                    l.problems.push("errors.bulk_duplicate".into());
                }
            }
        }
        if l.course.is_empty() {
            l.problems.push("errors.bulk_course_required".into());
        } else if text_problem(&l.course, 100, false) == Some(TextProblem::ControlCharacters) {
            l.problems.push("errors.control_chars".into());
        }
        // The rules of every name field (checkout, single assignment), each problem once.
        for name in [&l.firstname, &l.lastname] {
            if let Err(e) = PersonName::parse_optional(name) {
                let key = e.message_key().to_owned();
                if !l.problems.contains(&key) {
                    l.problems.push(key);
                }
            }
        }
        lines.push(l);
        if lines.len() > MAX_LINES {
            return Err("errors.bulk_too_many_lines");
        }
    }
    if lines.is_empty() {
        return Err("errors.csv_empty");
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_and_flags_shape_problems() {
        let csv = "email,firstname,lastname,course\na@x.fr,Ann,A,X-A1\n\nbad,Bob,B,X-A1\na@x.fr,Ann,A,X-A1\nc@x.fr,,,\n";
        let lines = parse(csv.as_bytes()).unwrap();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].problems.is_empty());
        assert_eq!(lines[1].line, 4);
        assert_eq!(lines[1].problems, vec!["errors.email"]);
        assert_eq!(lines[2].problems, vec!["errors.bulk_duplicate"]);
        assert_eq!(lines[3].problems, vec!["errors.bulk_course_required"]);
    }

    #[test]
    fn names_follow_the_person_name_rules() {
        let long = "x".repeat(101);
        let csv = format!(
            "email,firstname,lastname,course\na@x.fr,{long},A,X-A1\nb@x.fr,B\0b,B,X-A1\nc@x.fr,C,C\x01,X\0A1\nd@x.fr,,,X-A1\n"
        );
        let lines = parse(csv.as_bytes()).unwrap();
        assert_eq!(lines[0].problems, vec!["errors.too_long"]);
        assert_eq!(lines[1].problems, vec!["errors.control_chars"]);
        assert_eq!(lines[2].problems, vec!["errors.control_chars"]);
        assert!(lines[3].problems.is_empty(), "names may be blank");
        assert_eq!(lines[3].names(), (None, None));
    }

    #[test]
    fn refuses_files_it_cannot_read() {
        assert_eq!(parse(b"mail,name\nx,y\n"), Err("errors.csv_bulk_header"));
        assert_eq!(parse(TEMPLATE.as_bytes()), Err("errors.csv_empty"));
        assert_eq!(parse(&[0xff]), Err("errors.csv_encoding"));
    }
}
