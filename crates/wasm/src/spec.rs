//! The model spec: checked and given back with its defaults filled in (`validateSpec`), and
//! the names it knows.

use crate::args::{thrown, JsResult};
use gradlab_core::nn::spec;
use wasm_bindgen::prelude::*;

/// The spec in `json` with every default filled in, as JSON text; throws `InvalidSpec`.
#[wasm_bindgen(js_name = normalizeSpec)]
pub fn normalize_spec(json: &str) -> JsResult<String> {
    spec::normalize(json).map_err(thrown)
}

/// Every name and field the spec knows, as JSON (for the test that keeps the TypeScript
/// types in step with the core).
#[wasm_bindgen(js_name = specVocabulary)]
pub fn spec_vocabulary() -> String {
    spec::vocabulary().to_string()
}
