//! What both CSV uploads (courses, seat assignments) share: decoding, the separator a
//! spreadsheet used, and the line number people see in their editor.

/// The file as text, without a byte-order mark. Spreadsheets save UTF-8 with one.
pub fn decode(data: &[u8]) -> Result<&str, &'static str> {
    let text = std::str::from_utf8(data).map_err(|_| "errors.csv_encoding")?;
    Ok(text.trim_start_matches('\u{feff}'))
}

/// A reader for `text`; `;` when the header uses it and no comma (spreadsheets set to French).
pub fn reader(text: &str) -> csv::Reader<&[u8]> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains(';') && !first.contains(',') {
        b';'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// The lower-cased header names.
pub fn headers(reader: &mut csv::Reader<&[u8]>) -> Result<Vec<String>, &'static str> {
    Ok(reader
        .headers()
        .map_err(|_| "errors.csv_header")?
        .iter()
        .map(str::to_lowercase)
        .collect())
}

/// The 1-based line of the `index`-th record; its position includes the blank lines the
/// reader skipped before it.
pub fn line_of(text: &str, record: &Result<csv::StringRecord, csv::Error>, index: usize) -> usize {
    let Some(byte) = record
        .as_ref()
        .ok()
        .and_then(|r| r.position())
        .map(|p| p.byte() as usize)
    else {
        return index + 2;
    };
    let before = text.get(..byte).unwrap_or(text);
    let rest = text.get(byte..).unwrap_or("");
    let blank = &rest[..rest.len() - rest.trim_start_matches(['\r', '\n']).len()];
    before.matches('\n').count() + blank.matches('\n').count() + 1
}
