//! A document model as an A4 PDF: title and references, seller and buyer side by side, the
//! lines (their header repeated on every page they flow onto), the tax breakdown and
//! totals, the tax mention, the bank details of a pro-forma, and a footer with the page
//! number. Written with `pdf-writer` in the embedded font (`documents::font`).

use pdf_writer::types::TextRenderingMode;
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::font::{FontError, UsedFont};
use super::model::{DocumentModel, Field, Party};

// A4 in points; margins leave room for a binder's holes and for the footer.
const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const LEFT: f32 = 50.0;
const RIGHT: f32 = WIDTH - 50.0;
const TOP: f32 = HEIGHT - 50.0;
const BOTTOM: f32 = 60.0;
const FONT: Name<'static> = Name(b"F1");

const BODY: f32 = 9.5;
const SMALL: f32 = 8.0;
const LEADING: f32 = 1.35;

/// Table columns: the product's left edge and width, then the right edges of the numbers.
const PRODUCT_X: f32 = LEFT;
const PRODUCT_W: f32 = 230.0;
const QUANTITY_R: f32 = 325.0;
const UNIT_R: f32 = 415.0;
const RATE_R: f32 = 460.0;
const TOTAL_R: f32 = RIGHT;

pub fn render(model: &DocumentModel) -> Result<Vec<u8>, FontError> {
    let mut w = Writer::new()?;
    w.heading(&model.title, 18.0);
    w.gap(4.0);
    let facts = join_fields(model, &model.facts);
    w.paragraph(&facts, BODY, false);
    if let Some(note) = &model.note {
        w.paragraph(note, BODY, false);
    }
    w.gap(10.0);
    w.parties(model, &model.seller, &model.buyer);
    w.gap(14.0);
    w.table(model);
    w.gap(8.0);
    w.totals(model);
    if let Some(m) = &model.mention {
        w.gap(8.0);
        w.paragraph(&m.text, BODY, true);
    }
    if let Some(bank) = &model.bank {
        w.gap(12.0);
        w.need(line_height(BODY) * (bank.fields.len() as f32 + 2.0));
        w.heading(&bank.title, 11.0);
        for f in &bank.fields {
            let text = field(model, f);
            w.paragraph(&text, BODY, false);
        }
    }
    let footer = footer(model);
    w.finish(&model.title, &footer)
}

fn line_height(size: f32) -> f32 {
    size * LEADING
}

fn field(model: &DocumentModel, f: &Field) -> String {
    format!("{}{} {}", f.label, model.locale.colon(), f.value)
}

fn join_fields(model: &DocumentModel, fields: &[Field]) -> String {
    fields
        .iter()
        .map(|f| field(model, f))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Who issued the document, on every page: a page read alone still names its seller.
fn footer(model: &DocumentModel) -> String {
    let mut parts = vec![model.seller.name.clone()];
    parts.extend(model.seller.fields.iter().map(|f| field(model, f)));
    parts.push(model.number.clone());
    parts.join(" · ")
}

/// Lays text out top to bottom, starting a page when the next block does not fit.
struct Writer {
    font: UsedFont,
    pages: Vec<Content>,
    y: f32,
}

impl Writer {
    fn new() -> Result<Writer, FontError> {
        Ok(Writer {
            font: UsedFont::new()?,
            pages: vec![Content::new()],
            y: TOP,
        })
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.pages.push(Content::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` points still fit on this one.
    fn need(&mut self, height: f32) {
        if self.y - height < BOTTOM {
            self.new_page();
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }

    /// One line of text with its left edge at `x` and its baseline at `y`.
    fn text_at(&mut self, x: f32, y: f32, text: &str, size: f32, bold: bool) {
        let codes = self.font.encode(text);
        let c = self.page();
        c.begin_text();
        if bold {
            // One font file: bold is the glyphs filled and outlined.
            c.set_text_rendering_mode(TextRenderingMode::FillStroke);
            c.set_line_width(size / 30.0);
        }
        c.set_font(FONT, size);
        c.next_line(x, y);
        c.show(Str(&codes));
        c.end_text();
        if bold {
            c.set_text_rendering_mode(TextRenderingMode::Fill);
        }
    }

    fn right_at(&mut self, right: f32, y: f32, text: &str, size: f32, bold: bool) {
        let x = right - self.font.width(text, size);
        self.text_at(x, y, text, size, bold);
    }

    fn rule(&mut self, y: f32) {
        let c = self.page();
        c.set_line_width(0.5);
        c.move_to(LEFT, y);
        c.line_to(RIGHT, y);
        c.stroke();
    }

    /// `text` cut into lines no wider than `width`, at spaces (a word longer than the
    /// width is cut where it overflows).
    fn wrap(&self, text: &str, size: f32, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if self.font.width(&candidate, size) <= width {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                line.push(c);
                if self.font.width(&line, size) > width {
                    line.pop();
                    lines.push(std::mem::take(&mut line));
                    line.push(c);
                }
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    fn heading(&mut self, text: &str, size: f32) {
        self.need(line_height(size));
        self.y -= size;
        self.text_at(LEFT, self.y, text, size, true);
        self.y -= line_height(size) - size;
    }

    /// Full-width wrapped text; `bold` for what must not be missed (the tax mention).
    fn paragraph(&mut self, text: &str, size: f32, bold: bool) {
        for line in self.wrap(text, size, RIGHT - LEFT) {
            self.need(line_height(size));
            self.y -= size;
            self.text_at(LEFT, self.y, &line, size, bold);
            self.y -= line_height(size) - size;
        }
    }

    /// Seller on the left, buyer on the right, kept together on one page.
    fn parties(&mut self, model: &DocumentModel, seller: &Party, buyer: &Party) {
        let column = (RIGHT - LEFT) / 2.0 - 10.0;
        let lines = |w: &Writer, p: &Party| -> Vec<(String, bool)> {
            let mut out = vec![(p.heading.clone(), true), (p.name.clone(), false)];
            for l in p
                .lines
                .iter()
                .cloned()
                .chain(p.fields.iter().map(|f| field(model, f)))
            {
                out.extend(w.wrap(&l, BODY, column).into_iter().map(|l| (l, false)));
            }
            out
        };
        let left = lines(self, seller);
        let right = lines(self, buyer);
        let rows = left.len().max(right.len());
        self.need(rows as f32 * line_height(BODY));
        let top = self.y;
        for (x, block) in [(LEFT, left), (LEFT + column + 20.0, right)] {
            let mut y = top;
            for (text, bold) in block {
                y -= BODY;
                self.text_at(x, y, &text, BODY, bold);
                y -= line_height(BODY) - BODY;
            }
        }
        self.y = top - rows as f32 * line_height(BODY);
    }

    fn table_header(&mut self, model: &DocumentModel) {
        let c = &model.columns;
        let size = SMALL;
        self.y -= size;
        let y = self.y;
        self.text_at(PRODUCT_X, y, &c.product, size, true);
        self.right_at(QUANTITY_R, y, &c.quantity, size, true);
        self.right_at(UNIT_R, y, &c.unit_price, size, true);
        self.right_at(RATE_R, y, &c.rate, size, true);
        self.right_at(TOTAL_R, y, &c.total, size, true);
        self.y -= 4.0;
        self.rule(self.y);
        self.y -= 3.0;
    }

    /// The lines; a page break repeats the column headings.
    fn table(&mut self, model: &DocumentModel) {
        self.need(line_height(SMALL) + 3.0 * line_height(BODY));
        self.table_header(model);
        for line in &model.lines {
            let product = self.wrap(&line.product, BODY, PRODUCT_W);
            let height = product.len() as f32 * line_height(BODY);
            if self.y - height < BOTTOM {
                self.new_page();
                self.table_header(model);
            }
            self.y -= BODY;
            let y = self.y;
            self.right_at(QUANTITY_R, y, &line.quantity, BODY, false);
            self.right_at(UNIT_R, y, &line.unit_price, BODY, false);
            self.right_at(RATE_R, y, &line.rate, BODY, false);
            self.right_at(TOTAL_R, y, &line.total, BODY, false);
            for (i, text) in product.iter().enumerate() {
                let y = y - i as f32 * line_height(BODY);
                self.text_at(PRODUCT_X, y, text, BODY, false);
            }
            self.y -= height - BODY;
        }
        self.rule(self.y);
    }

    /// Tax per rate (base and tax), then untaxed, tax and the total due, right-aligned.
    fn totals(&mut self, model: &DocumentModel) {
        let rows = model.taxes.len() + model.totals.len();
        self.need(rows as f32 * line_height(BODY) + 6.0);
        for t in &model.taxes {
            self.y -= BODY;
            let y = self.y;
            self.right_at(UNIT_R - 45.0, y, &t.label, BODY, false);
            self.right_at(RATE_R, y, &t.base, BODY, false);
            self.right_at(TOTAL_R, y, &t.tax, BODY, false);
            self.y -= line_height(BODY) - BODY;
        }
        if !model.taxes.is_empty() {
            self.y -= 6.0;
        }
        let last = model.totals.len().saturating_sub(1);
        for (i, f) in model.totals.iter().enumerate() {
            let bold = i == last;
            self.y -= BODY;
            let y = self.y;
            self.right_at(RATE_R, y, &f.label, BODY, bold);
            self.right_at(TOTAL_R, y, &f.value, BODY, bold);
            self.y -= line_height(BODY) - BODY;
        }
    }

    /// Adds the footer to every page and writes the file.
    fn finish(mut self, title: &str, footer: &str) -> Result<Vec<u8>, FontError> {
        let count = self.pages.len();
        let footer_lines = self.wrap(footer, SMALL, RIGHT - LEFT - 60.0);
        let pages = std::mem::take(&mut self.pages);
        let mut contents = Vec::with_capacity(count);
        for (n, mut content) in pages.into_iter().enumerate() {
            let mut y = BOTTOM - 20.0;
            for line in &footer_lines {
                let codes = self.font.encode(line);
                content.begin_text();
                content.set_font(FONT, SMALL);
                content.next_line(LEFT, y);
                content.show(Str(&codes));
                content.end_text();
                y -= line_height(SMALL);
            }
            let number = format!("{} / {count}", n + 1);
            let codes = self.font.encode(&number);
            content.begin_text();
            content.set_font(FONT, SMALL);
            content.next_line(RIGHT - self.font.width(&number, SMALL), BOTTOM - 20.0);
            content.show(Str(&codes));
            content.end_text();
            contents.push(content.finish());
        }

        let mut pdf = Pdf::new();
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let info = Ref::new(3);
        let font = Ref::new(4);
        let mut next = self.font.write(&mut pdf, font)?;
        let mut page_refs = Vec::with_capacity(count);
        for content in &contents {
            let page = next.bump();
            let stream = next.bump();
            page_refs.push(page);
            let mut p = pdf.page(page);
            p.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT))
                .parent(tree)
                .contents(stream);
            p.resources().fonts().pair(FONT, font);
            p.finish();
            pdf.stream(stream, content);
        }
        pdf.pages(tree)
            .kids(page_refs.iter().copied())
            .count(i32::try_from(count).unwrap_or(i32::MAX));
        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("lms-shop"));
        Ok(pdf.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::model::tests::{bill, item, model};
    use crate::documents::model::{Kind, Line};
    use crate::domain::BillState;
    use crate::i18n::Locale;

    fn pages(pdf: &[u8]) -> usize {
        pdf.windows(b"/Type /Page\n".len())
            .filter(|w| *w == b"/Type /Page\n" || *w == b"/Type /Page " || *w == b"/Type /Page/")
            .count()
    }

    #[test]
    fn a_document_is_a_pdf_with_its_font_embedded() {
        let b = bill(BillState::Complete, Some("F2026-000001"));
        let pdf = render(&model(Locale::Fr, &b, &[item(1, 2000, 10_000)])).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.windows(9).any(|w| w == b"FontFile2"));
        assert!(pdf.windows(9).any(|w| w == b"ToUnicode"));
        // A subset, not the whole 740 kB font.
        assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
    }

    #[test]
    fn long_orders_flow_onto_more_pages() {
        let b = bill(BillState::Complete, Some("F2026-000001"));
        let items: Vec<_> = (1..=60).map(|n| item(n, 2000, 1_000)).collect();
        let one = render(&model(Locale::En, &b, &items[..1])).expect("pdf");
        let many = render(&model(Locale::En, &b, &items)).expect("pdf");
        assert_eq!(pages(&one), 1);
        assert!(pages(&many) > 1, "{} pages", pages(&many));
    }

    #[test]
    fn a_credit_note_renders_with_the_same_code() {
        // What the refunds part will build: another kind, the invoice it corrects, negative
        // amounts.
        let b = bill(BillState::Refunded, Some("F2026-000001"));
        let mut m = model(Locale::Fr, &b, &[item(1, 2000, 10_000)]);
        m.kind = Kind::CreditNote;
        m.title = "Avoir A2026-000001".into();
        m.number = "A2026-000001".into();
        m.facts
            .push(Field::new("Corrige la facture", "F2026-000001"));
        m.lines = vec![Line {
            product: "[P-1] Formation sécurité".into(),
            quantity: "-1".into(),
            unit_price: "100,00\u{a0}€".into(),
            rate: "20 %".into(),
            total: "-100,00\u{a0}€".into(),
        }];
        let pdf = render(&m).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(m.filename(), "A2026-000001.pdf");
    }
}
