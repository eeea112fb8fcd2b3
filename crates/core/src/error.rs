//! The one error type of the core. Every fallible path returns it up to the ABI, which turns
//! it into a status code and a message JavaScript can read; nothing from outside may panic.

use std::fmt;

/// What went wrong, with enough context to name the argument, the expectation and the value.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An argument has a value outside what the operation accepts.
    InvalidArgument { op: String, arg: String, expected: String, actual: String },
    /// Shapes that do not fit together.
    ShapeMismatch { op: String, arg: String, expected: String, actual: String },
    /// A handle that names no live object (never created, or already freed).
    InvalidHandle { op: String, arg: String, handle: u32 },
    /// A loss, activation or gradient that is not finite; `layer` is where it first appeared.
    NonFinite { op: String, layer: String, what: String },
    /// A request for more memory than the core allows itself.
    TooLarge { op: String, arg: String, requested: u64, limit: u64 },
    /// An allocation within the limits that the instance could not satisfy: its memory is
    /// exhausted. JavaScript sees the code `TooLarge` too (the request is too large for the
    /// memory left); the message says which.
    OutOfMemory { op: String, arg: String, requested: u64 },
    /// A call that is valid in general but not in the object's current state.
    InvalidState { op: String, message: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(op: &str, arg: &str, expected: impl Into<String>, actual: impl Into<String>) -> Error {
        Error::InvalidArgument { op: op.into(), arg: arg.into(), expected: expected.into(), actual: actual.into() }
    }

    pub fn shape(op: &str, arg: &str, expected: impl Into<String>, actual: impl Into<String>) -> Error {
        Error::ShapeMismatch { op: op.into(), arg: arg.into(), expected: expected.into(), actual: actual.into() }
    }

    pub fn state(op: &str, message: impl Into<String>) -> Error {
        Error::InvalidState { op: op.into(), message: message.into() }
    }

    /// The stable name JavaScript sees as `GradlabError.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidArgument { .. } => "InvalidArgument",
            Error::ShapeMismatch { .. } => "ShapeMismatch",
            Error::InvalidHandle { .. } => "InvalidHandle",
            Error::NonFinite { .. } => "NonFinite",
            Error::TooLarge { .. } | Error::OutOfMemory { .. } => "TooLarge",
            Error::InvalidState { .. } => "InvalidState",
        }
    }

    /// The status code an ABI call returns for this error (0 means success).
    pub fn status(&self) -> i32 {
        match self {
            Error::InvalidArgument { .. } => 1,
            Error::ShapeMismatch { .. } => 2,
            Error::InvalidHandle { .. } => 3,
            Error::NonFinite { .. } => 4,
            Error::TooLarge { .. } | Error::OutOfMemory { .. } => 5,
            Error::InvalidState { .. } => 6,
        }
    }

    pub fn op(&self) -> &str {
        match self {
            Error::InvalidArgument { op, .. }
            | Error::ShapeMismatch { op, .. }
            | Error::InvalidHandle { op, .. }
            | Error::NonFinite { op, .. }
            | Error::TooLarge { op, .. }
            | Error::OutOfMemory { op, .. }
            | Error::InvalidState { op, .. } => op,
        }
    }

    /// The error as a JSON object: `{code, op, arg?, expected?, actual?, layer?, message}`.
    pub fn to_json(&self) -> String {
        let mut fields: Vec<(&str, String)> = vec![("code", self.code().into()), ("op", self.op().into())];
        match self {
            Error::InvalidArgument { arg, expected, actual, .. } | Error::ShapeMismatch { arg, expected, actual, .. } => {
                fields.push(("arg", arg.clone()));
                fields.push(("expected", expected.clone()));
                fields.push(("actual", actual.clone()));
            }
            Error::InvalidHandle { arg, handle, .. } => {
                fields.push(("arg", arg.clone()));
                fields.push(("actual", handle.to_string()));
            }
            Error::NonFinite { layer, .. } => fields.push(("layer", layer.clone())),
            Error::TooLarge { arg, requested, limit, .. } => {
                fields.push(("arg", arg.clone()));
                fields.push(("expected", format!("at most {}", limit)));
                fields.push(("actual", requested.to_string()));
            }
            Error::OutOfMemory { arg, requested, .. } => {
                fields.push(("arg", arg.clone()));
                fields.push(("expected", "what the instance's memory still holds".into()));
                fields.push(("actual", requested.to_string()));
            }
            Error::InvalidState { .. } => {}
        }
        fields.push(("message", self.to_string()));
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{}\":{}", k, json_string(v))).collect();
        format!("{{{}}}", body.join(","))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument { op, arg, expected, actual } => {
                write!(f, "{}: argument '{}' must be {}, got {}", op, arg, expected, actual)
            }
            Error::ShapeMismatch { op, arg, expected, actual } => {
                write!(f, "{}: '{}' has shape {}, expected {}", op, arg, actual, expected)
            }
            Error::InvalidHandle { op, arg, handle } => {
                write!(f, "{}: '{}' is handle {}, which names no live object", op, arg, handle)
            }
            Error::NonFinite { op, layer, what } => {
                write!(f, "{}: {} became non-finite at layer '{}'", op, what, layer)
            }
            Error::TooLarge { op, arg, requested, limit } => {
                write!(f, "{}: '{}' asks for {} elements, more than the limit of {}", op, arg, requested, limit)
            }
            Error::OutOfMemory { op, arg, requested } => write!(
                f,
                "{}: '{}' needs {} more values, but the instance is out of memory (dispose of models or tensors no longer needed, or use smaller batches)",
                op, arg, requested
            ),
            Error::InvalidState { op, message } => write!(f, "{}: {}", op, message),
        }
    }
}

/// Formats a shape the way error messages show it: `[2, 3]`.
pub fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// A JSON string literal for `s`.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_quotes_and_controls() {
        let e = Error::invalid("matmul", "a\"b", "finite", "NaN\n");
        let json = e.to_json();
        assert!(json.contains("\"arg\":\"a\\\"b\""));
        assert!(json.contains("\"actual\":\"NaN\\n\""));
        assert!(json.starts_with("{\"code\":\"InvalidArgument\""));
    }

    #[test]
    fn out_of_memory_is_too_large_for_javascript_and_says_why() {
        let limit = Error::TooLarge { op: "tensor".into(), arg: "shape".into(), requested: 1 << 29, limit: 1 << 28 };
        let memory = Error::OutOfMemory { op: "tensor".into(), arg: "shape".into(), requested: 1 << 28 };
        assert_eq!((memory.code(), memory.status()), (limit.code(), limit.status()));
        assert!(limit.to_string().contains("more than the limit of 268435456"), "{}", limit);
        assert!(memory.to_string().contains("268435456 more values, but the instance is out of memory"), "{}", memory);
        assert!(!memory.to_string().contains("limit"), "{}", memory);
        assert!(memory.to_json().contains("\"arg\":\"shape\"") && memory.to_json().contains("\"actual\":\"268435456\""));
    }
}
