//! Pure domain types and rules: no I/O here, everything unit-tested.

/// Stores a domain enum in a TEXT column through its `as_str` / `FromStr` pair, the one
/// spelling of each value: sqlx writes it with `value as Type` binds and reads it with
/// `column AS "column: Type"` overrides. A value the enum does not know is a decode error,
/// never a silent default (the columns' CHECK constraints keep them to known values).
macro_rules! stored_as_text {
    ($t:ty) => {
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $t {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $t {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                text.parse::<$t>()
                    .map_err(|_| format!("unknown {} {text:?}", stringify!($t)).into())
            }
        }
    };
}

pub mod bank;
pub mod bill_state;
pub mod bulk;
pub mod buyer;
pub mod cart;
pub mod countries;
pub mod coupon;
pub mod course;
pub mod csv_input;
pub mod csv_output;
pub mod customer;
pub mod email;
pub mod form;
pub mod handler_params;
pub mod money;
pub mod moodle;
pub mod paging;
pub mod password;
pub mod paymode;
pub mod person;
pub mod price;
pub mod product;
pub mod search;
pub mod seat;
pub mod seat_reference;
pub mod settlement;
pub mod tax_rules;
pub mod vat;

pub use bill_state::BillState;
pub use email::Email;
pub use money::{Money, TaxRate};
pub use paging::{Cursor, PageNo};
pub use person::PersonName;
pub use seat_reference::SeatReference;
