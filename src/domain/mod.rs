//! Pure domain types and rules: no I/O here, everything unit-tested.

pub mod bill_state;
pub mod bulk;
pub mod cart;
pub mod countries;
pub mod course;
pub mod csv_input;
pub mod customer;
pub mod email;
pub mod form;
pub mod handler_params;
pub mod money;
pub mod paging;
pub mod password;
pub mod paymode;
pub mod person;
pub mod price;
pub mod product;
pub mod seat;
pub mod seat_reference;
pub mod settlement;

pub use bill_state::BillState;
pub use email::Email;
pub use money::{Money, TaxRate};
pub use paging::PageNo;
pub use person::PersonName;
pub use seat_reference::SeatReference;
