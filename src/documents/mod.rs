//! Business documents (invoice, pro-forma, order; credit notes later): one model, rendered
//! as the HTML page and as a PDF.

mod font;
pub mod model;
pub mod pdf;

pub use font::FontError;
pub use model::{BillSource, DocumentModel, Kind};
