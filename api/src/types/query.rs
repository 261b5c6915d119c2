//! Query-string encoding shared by servers and clients.
//!
//! Slicer's API repeats keys (`args=a&args=b`) and gives meaning to empty
//! values (`shell=` means "no shell"), which plain `serde_urlencoded` cannot
//! express. These helpers wrap `serde_html_form`, which can.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// Parse a raw query string (without the leading `?`) into `T`.
pub fn from_query<T: DeserializeOwned>(query: &str) -> Result<T, serde_html_form::de::Error> {
    serde_html_form::from_str(query)
}

/// Encode `value` as a query string (without the leading `?`).
pub fn to_query<T: Serialize>(value: &T) -> Result<String, serde_html_form::ser::Error> {
    serde_html_form::to_string(value)
}

/// Deserialize an optional string, keeping an empty value as `Some("")`.
///
/// Used where an explicitly empty parameter means something different from
/// an absent one, such as exec's `shell=`.
pub fn keep_empty<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    Ok(Some(String::deserialize(de)?))
}
