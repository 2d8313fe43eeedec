//! OpenAPI schemas of the types that serialize as strings or numbers (with the `openapi` feature, which
//! only the server enables): modes, versions, timestamps. Validated names get theirs in [`crate::names`].

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

use crate::names::string_schema;

/// A string schema described as `what`, matching `pattern`.
pub fn pattern_schema(what: &str, pattern: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(what.to_string()))
        .pattern(Some(pattern.to_string()))
        .into()
}

impl utoipa::PartialSchema for crate::mode::Mode {
    fn schema() -> RefOr<Schema> {
        pattern_schema(
            "a mode: cluster, group:<name> or machine:<hostname>",
            "^(cluster|group:[A-Za-z0-9_-]{1,64}|machine:[A-Za-z0-9.-]{1,253})$",
        )
    }
}
impl utoipa::ToSchema for crate::mode::Mode {}

macro_rules! as_string {
    ($($ty:ty => $what:literal),* $(,)?) => {
        $(
            impl utoipa::PartialSchema for $ty {
                fn schema() -> RefOr<Schema> {
                    string_schema($what)
                }
            }
            impl utoipa::ToSchema for $ty {}
        )*
    };
}

as_string! {
    crate::names::Version => "an AsyncOS version, X.Y.Z",
}

impl utoipa::PartialSchema for crate::names::Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .description(Some("milliseconds since the Unix epoch (simulated time)"))
            .into()
    }
}
impl utoipa::ToSchema for crate::names::Timestamp {}
