//! The font PDF documents are set in: DejaVu Sans (Bitstream Vera licence, see
//! `fonts/LICENSE-DejaVu.txt`), compiled into the binary so a document looks the same on
//! every machine and carries French accents, the euro sign and CLDR's narrow no-break
//! spaces. Each PDF embeds only the glyphs it uses (a subset of a few kilobytes) as a CID
//! font with a ToUnicode map, so viewers can search and copy its text.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Chunk, Name, Rect, Ref, Str};
use subsetter::GlyphRemapper;
use ttf_parser::Face;

static DATA: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");

/// Parsed once. A parse failure is a build defect (the unit tests parse it), reported as an
/// error rather than a panic on a request.
static FACE: LazyLock<Result<Face<'static>, ttf_parser::FaceParsingError>> =
    LazyLock::new(|| Face::parse(DATA, 0));

#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("embedded font: {0}")]
    Parse(#[from] ttf_parser::FaceParsingError),
    #[error("font subset: {0}")]
    Subset(#[from] subsetter::Error),
}

/// The glyphs one document uses, numbered in the embedded subset.
pub struct UsedFont {
    face: &'static Face<'static>,
    remapper: GlyphRemapper,
    /// Subset glyph id → the text it stands for, for the ToUnicode map.
    unicode: BTreeMap<u16, char>,
    units_per_em: f32,
}

impl UsedFont {
    pub fn new() -> Result<UsedFont, FontError> {
        let face = FACE.as_ref().map_err(|e| FontError::Parse(*e))?;
        Ok(UsedFont {
            face,
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
            units_per_em: f32::from(face.units_per_em()),
        })
    }

    /// The font's glyph for `c`: a space for a space the font lacks, `?` for anything else
    /// it lacks (no silent hole in a name or an amount).
    fn glyph(&self, c: char) -> (char, u16) {
        let found = |c: char| self.face.glyph_index(c).map(|g| (c, g.0));
        found(c)
            .or_else(|| if c.is_whitespace() { found(' ') } else { None })
            .or_else(|| found('?'))
            .unwrap_or((c, 0))
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c).1))
            .sum::<f32>()
            * size
            / 1000.0
    }

    /// Glyph advance in thousandths of an em, the unit PDF widths use.
    fn advance(&self, glyph: u16) -> f32 {
        let units = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em
    }

    /// `text` as the two-byte codes (subset glyph ids, Identity-H) a content stream shows;
    /// records the glyphs for the subset.
    pub fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let (shown, glyph) = self.glyph(c);
            let cid = self.remapper.remap(glyph);
            self.unicode.entry(cid).or_insert(shown);
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    /// Writes the font's objects (Type0 font at `font_ref`, then `font_ref + 1..=4`);
    /// returns the next free reference.
    pub fn write(&self, chunk: &mut Chunk, font_ref: Ref) -> Result<Ref, FontError> {
        let cid_ref = Ref::new(font_ref.get() + 1);
        let descriptor_ref = Ref::new(font_ref.get() + 2);
        let file_ref = Ref::new(font_ref.get() + 3);
        let cmap_ref = Ref::new(font_ref.get() + 4);
        // The subset's tag is fixed: one font per document, nothing to tell apart.
        let name = Name(b"LMSSHP+DejaVuSans");
        let info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };

        chunk
            .type0_font(font_ref)
            .base_font(name)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);

        // Subset ids are given in order from 0, so the widths run from CID 0.
        let mut by_new: Vec<(u16, u16)> = self
            .remapper
            .remapped_gids()
            .enumerate()
            .filter_map(|(new, old)| Some((u16::try_from(new).ok()?, old)))
            .collect();
        by_new.sort_unstable();
        let mut cid = chunk.cid_font(cid_ref);
        cid.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(info)
            .font_descriptor(descriptor_ref)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths()
            .consecutive(0, by_new.iter().map(|&(_, old)| self.advance(old)));
        drop(cid);

        let scale = |v: i16| f32::from(v) * 1000.0 / self.units_per_em;
        let bbox = self.face.global_bounding_box();
        chunk
            .font_descriptor(descriptor_ref)
            .name(name)
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(
                scale(bbox.x_min),
                scale(bbox.y_min),
                scale(bbox.x_max),
                scale(bbox.y_max),
            ))
            .italic_angle(0.0)
            .ascent(scale(self.face.ascender()))
            .descent(scale(self.face.descender()))
            .cap_height(scale(
                self.face.capital_height().unwrap_or(self.face.ascender()),
            ))
            .stem_v(80.0)
            .font_file2(file_ref);

        let subset = subsetter::subset(DATA, 0, &self.remapper)?;
        chunk.stream(file_ref, &subset).pair(
            Name(b"Length1"),
            i32::try_from(subset.len()).unwrap_or(i32::MAX),
        );

        let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), info);
        for (&cid, &c) in &self.unicode {
            cmap.pair(cid, c);
        }
        chunk.cmap(cmap_ref, &cmap.finish());
        Ok(Ref::new(font_ref.get() + 5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_parses_and_has_what_documents_print() {
        let font = UsedFont::new().expect("font");
        for c in ['é', 'è', 'ç', 'à', '€', '\u{202f}', '\u{a0}', '’', '–'] {
            assert_ne!(font.glyph(c), ('?', font.glyph('?').1), "{c:?}");
            assert_eq!(font.glyph(c).0, c);
        }
    }

    #[test]
    fn glyphs_get_subset_ids_in_order_of_first_use() {
        let mut font = UsedFont::new().expect("font");
        assert_eq!(font.encode("aba"), [0, 1, 0, 2, 0, 1]);
        assert_eq!(font.unicode.get(&2), Some(&'b'));
        assert!(font.width("aa", 10.0) > font.width("a", 10.0));
    }
}
