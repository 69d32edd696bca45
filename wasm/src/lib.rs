//! firmo-wasm: placeholder
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));

#[wasm_bindgen(js_name = rulesVersion)]
pub fn rules_version() -> String {
    "x".into()
}
