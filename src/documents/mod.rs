//! Business documents (invoice, pro-forma, order, credit note): one model, rendered as the
//! HTML page and as a PDF.

pub mod credit_note;
mod font;
pub mod model;
pub mod pdf;

pub use font::FontError;
pub use model::{BillSource, DocumentModel, Kind};
