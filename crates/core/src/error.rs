//! The one error type of the core. Every fallible path returns it up to the ABI, which turns
//! it into a JavaScript error whose message is this error as JSON; nothing from outside may panic.

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
    /// A model spec field (`path`, e.g. `layers[2].units`) that breaks the spec's rules.
    InvalidSpec { path: String, expected: String, actual: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The public function that checks model specs, named in `InvalidSpec` errors.
pub const SPEC_OP: &str = "createModel";

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
            Error::InvalidSpec { .. } => "InvalidSpec",
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
            Error::InvalidSpec { .. } => SPEC_OP,
        }
    }

    /// The error as a JSON object: `{code, op, arg?, expected?, actual?, layer?, message}`.
    pub fn to_json(&self) -> String {
        let mut fields: Vec<(&str, String)> = vec![("code", self.code().into()), ("op", self.op().into())];
        match self {
            Error::InvalidArgument { arg, expected, actual, .. } | Error::ShapeMismatch { arg, expected, actual, .. } | Error::InvalidSpec { path: arg, expected, actual } => {
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
            Error::InvalidSpec { path, expected, actual } => write!(f, "{}: spec.{} must be {}, got {}", SPEC_OP, path, expected, actual),
        }
    }
}

/// Formats a shape the way error messages show it: `[2, 3]`.
pub fn shape_str(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// `v` as JavaScript's `String(v)` writes it (`1000000`, `1e-7`, `1e+21`, `NaN`), so that
/// messages read the same whichever side wrote them.
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return "0".into();
    }
    // `{:e}` gives the shortest round-trip digits: "1.5e-7", "1e21".
    let scientific = format!("{:e}", v);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-6..21).contains(&exponent) {
        let negative = mantissa.starts_with('-');
        let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{}{}", if negative { "-" } else { "" }, body)
    } else {
        format!("{}e{}{}", mantissa, if exponent > 0 { "+" } else { "" }, exponent)
    }
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
    fn numbers_read_as_javascript_writes_them() {
        let cases = [(1e6, "1000000"), (0.1, "0.1"), (1e-7, "1e-7"), (1.5e-6, "0.0000015"), (1e21, "1e+21"), (5e-324, "5e-324"), (-2.5, "-2.5"), (2147483648.0, "2147483648"), (f64::INFINITY, "Infinity")];
        for (value, text) in cases {
            assert_eq!(js_number(value), text);
        }
    }

    #[test]
    fn out_of_memory_is_too_large_for_javascript_and_says_why() {
        let limit = Error::TooLarge { op: "tensor".into(), arg: "shape".into(), requested: 1 << 29, limit: 1 << 28 };
        let memory = Error::OutOfMemory { op: "tensor".into(), arg: "shape".into(), requested: 1 << 28 };
        assert_eq!(memory.code(), limit.code());
        assert!(limit.to_string().contains("more than the limit of 268435456"), "{}", limit);
        assert!(memory.to_string().contains("268435456 more values, but the instance is out of memory"), "{}", memory);
        assert!(!memory.to_string().contains("limit"), "{}", memory);
        assert!(memory.to_json().contains("\"arg\":\"shape\"") && memory.to_json().contains("\"actual\":\"268435456\""));
    }
}
