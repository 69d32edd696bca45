//! Crossing the JS boundary: JS values in as `serde_json::Value`, serde values out as JS
//! objects, failures out as JS `Error`s. No rule logic lives here.

use std::fmt::Write as _;

use js_sys::{Array, JSON, Object};
use serde::Serialize;
use serde_json::Value as Json;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// How deep a JS value may nest. Records are two levels deep; a cycle (which JSON
/// cannot express) would otherwise recurse until the stack traps.
const MAX_DEPTH: usize = 64;

/// Largest integer a JS number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A JS `Error` with `message` (what `throw` gives the caller).
pub(crate) fn error(message: impl AsRef<str>) -> JsError {
    JsError::new(message.as_ref())
}

/// Reads a JS value as JSON, the way `JSON.parse(JSON.stringify(v))` would see it, except
/// that what JSON would silently lose is an error naming where it is: `NaN` and
/// infinities, functions, symbols, `Date` objects, cycles. `undefined` is `null` ("no
/// value"). `what` names the argument in messages.
pub(crate) fn to_json(value: &JsValue, what: &str) -> Result<Json, JsError> {
    let mut path = what.to_owned();
    walk(value, &mut path, 0).map_err(error)
}

/// `path: why`, the path cut to a readable length (a cycle makes a very long one).
fn at(path: &str, why: impl std::fmt::Display) -> String {
    const MAX: usize = 80;
    match path.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…: {why}", &path[..cut]),
        None => format!("{path}: {why}"),
    }
}

fn walk(value: &JsValue, path: &mut String, depth: usize) -> Result<Json, String> {
    if value.is_null() || value.is_undefined() {
        return Ok(Json::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Json::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return number(n).ok_or_else(|| at(path, format!("{n} is not a finite number")));
    }
    if let Some(s) = value.as_string() {
        return Ok(Json::String(s));
    }
    if let Some(big) = value.dyn_ref::<js_sys::BigInt>() {
        let text = big.to_string(10).map(String::from).unwrap_or_default();
        return serde_json::from_str::<serde_json::Number>(&text)
            .map(Json::Number)
            .map_err(|_| at(path, format!("the BigInt {text} is not a JSON number")));
    }
    if depth >= MAX_DEPTH {
        return Err(at(
            path,
            format!("nested more than {MAX_DEPTH} levels deep (a cycle?)"),
        ));
    }
    if let Some(array) = value.dyn_ref::<Array>() {
        let mut items = Vec::with_capacity(array.length() as usize);
        for (i, item) in array.iter().enumerate() {
            let len = path.len();
            let _ = write!(path, "[{i}]");
            items.push(walk(&item, path, depth + 1)?);
            path.truncate(len);
        }
        return Ok(Json::Array(items));
    }
    if value.is_function() {
        return Err(at(path, "a function is not a value"));
    }
    if value.is_instance_of::<js_sys::Date>() {
        return Err(at(
            path,
            "a Date object; pass dates as \"YYYY-MM-DD\" strings",
        ));
    }
    if let Some(object) = value.dyn_ref::<Object>() {
        let mut map = serde_json::Map::new();
        for entry in Object::entries(object).iter() {
            let pair: Array = entry.unchecked_into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let len = path.len();
            path.push('.');
            path.push_str(&key);
            let item = walk(&pair.get(1), path, depth + 1)?;
            path.truncate(len);
            map.insert(key, item);
        }
        return Ok(Json::Object(map));
    }
    let kind = value.js_typeof().as_string().unwrap_or_default();
    Err(at(path, format!("a {kind} is not a JSON value")))
}

/// A JS number as JSON. Whole numbers JS holds exactly become JSON integers, as
/// `JSON.parse` of their text would give, so `120` and `"120"`-parsed agree.
pub(crate) fn number(n: f64) -> Option<Json> {
    if !n.is_finite() {
        return None;
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        return Some(Json::from(n as i64));
    }
    serde_json::Number::from_f64(n).map(Json::Number)
}

/// A serde value as a JS value (through JSON text: `JSON.parse` builds objects faster
/// than one boundary call per property).
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    let text = serde_json::to_string(value).map_err(|e| error(format!("serializing: {e}")))?;
    JSON::parse(&text).map_err(|_| error("JSON.parse refused the module's own output"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_become_json_integers_like_json_parse_gives() {
        assert_eq!(number(120.0), Some(serde_json::json!(120)));
        assert_eq!(number(-3.0), Some(serde_json::json!(-3)));
        assert_eq!(number(12.5), Some(serde_json::json!(12.5)));
        assert_eq!(number(1e300), Some(serde_json::json!(1e300)));
        assert_eq!(number(f64::NAN), None);
        assert_eq!(number(f64::NEG_INFINITY), None);
        assert!(number(MAX_SAFE_INTEGER).unwrap().is_i64());
        assert!(number(MAX_SAFE_INTEGER + 1.0).unwrap().is_f64());
    }
}
