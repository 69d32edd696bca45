//! Getting a record's JSON text into WASM memory fast.
//!
//! wasm-bindgen copies a `&str` argument with a JS loop, one character at a time; for a
//! 270-byte record that loop alone cost more than the validation (measured: ~6 µs of
//! ~7 µs per call in Node 20). Here JS writes the text straight into a buffer this
//! module owns with `TextEncoder.encodeInto` (native code), and a record object is turned
//! into text by `JSON.stringify`, guarded so that what JSON would silently change (NaN,
//! infinities, functions, symbols, `Date`s) sends the caller to the exact, slower
//! conversion in `js.rs` instead, which names the problem.

use wasm_bindgen::prelude::*;

// The only hand-written JS in the package: moving bytes, no rules.
#[wasm_bindgen(inline_js = r#"
const encoder = new TextEncoder();
// A view of the Rust buffer, kept while the buffer stays put and memory doesn't grow
// (growing detaches the old ArrayBuffer, leaving byteLength 0).
let view = null;
let viewPtr = 0;

function guard(key, value) {
  const t = typeof value;
  if ((t === 'number' && !Number.isFinite(value)) || t === 'function' || t === 'symbol'
      || t === 'bigint' || this[key] instanceof Date) {
    throw guard; // JSON would change or drop it: let the exact path explain
  }
  return value;
}

// >= 0: bytes written; -1: not a string / not JSON-able as is; < -1: the buffer is too
// small, it needs -(ret) - 2 bytes.
function encode(text, memory, ptr, capacity) {
  if (view === null || view.byteLength !== capacity || viewPtr !== ptr) {
    view = new Uint8Array(memory.buffer, ptr, capacity);
    viewPtr = ptr;
  }
  const { read, written } = encoder.encodeInto(text, view);
  return read === text.length ? written : -2 - 3 * text.length;
}

export function firmo_encode_string(text, memory, ptr, capacity) {
  return typeof text === 'string' ? encode(text, memory, ptr, capacity) : -1;
}

export function firmo_encode_json(value, memory, ptr, capacity) {
  let text;
  try {
    text = JSON.stringify(value, guard);
  } catch {
    return -1; // a guarded value, a cycle, a BigInt
  }
  return text === undefined ? -1 : encode(text, memory, ptr, capacity);
}
"#)]
extern "C" {
    fn firmo_encode_string(text: &JsValue, memory: &JsValue, ptr: u32, capacity: u32) -> f64;
    fn firmo_encode_json(value: &JsValue, memory: &JsValue, ptr: u32, capacity: u32) -> f64;
}

/// A reusable input buffer in WASM memory.
pub(crate) struct Input {
    /// Always initialized (zeros at first): JS overwrites a prefix, Rust reads that prefix.
    buf: Vec<u8>,
    memory: JsValue,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("capacity", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl Input {
    pub(crate) fn new() -> Input {
        Input {
            buf: vec![0; 4096],
            memory: wasm_bindgen::memory(),
        }
    }

    /// The text of a JS string, or `None` when `text` is not a string.
    pub(crate) fn string(&mut self, text: &JsValue) -> Option<&str> {
        self.fill(|memory, ptr, capacity| firmo_encode_string(text, memory, ptr, capacity))
    }

    /// The JSON text of `value`: itself if it is a string, else `JSON.stringify(value)`
    /// (see [`Input::json_of`]).
    pub(crate) fn text(&mut self, value: &JsValue) -> Option<&str> {
        if value.is_string() {
            self.string(value)
        } else {
            self.json_of(value)
        }
    }

    /// `JSON.stringify(value)`, or `None` when JSON would not represent `value` as it is
    /// (the caller then converts it with `js::to_json`, which says what is wrong).
    pub(crate) fn json_of(&mut self, value: &JsValue) -> Option<&str> {
        self.fill(|memory, ptr, capacity| firmo_encode_json(value, memory, ptr, capacity))
    }

    fn fill(&mut self, encode: impl Fn(&JsValue, u32, u32) -> f64) -> Option<&str> {
        for _ in 0..2 {
            // The address is handed to JS, which writes into the buffer: the same thing
            // wasm-bindgen's own string passing does, into memory we own and keep alive.
            let ptr = self.buf.as_mut_ptr() as usize as u32;
            // A whole number from JS; `as` saturates, it cannot wrap.
            let written = encode(&self.memory, ptr, self.buf.len() as u32) as i64;
            if written >= 0 {
                let text = self.buf.get(..written as usize)?;
                return std::str::from_utf8(text).ok();
            }
            if written == -1 {
                return None;
            }
            let needed = (-written - 2) as usize;
            self.buf.resize(needed.max(self.buf.len() * 2), 0);
        }
        None
    }
}
