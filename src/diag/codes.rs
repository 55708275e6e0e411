//! The error codes. A code is never reused: retire it, never renumber.
//!
//! Each code has a one-line title and an explanation file `explain/EXXXX.md` that
//! `resc explain` prints.

use serde::{Serialize, Serializer};

macro_rules! codes {
    ($($variant:ident = $code:literal, $title:literal;)*) => {
        /// Every diagnostic code resc can emit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant,)* }

        /// All codes, in numeric order.
        pub const ALL_CODES: &[Code] = &[$(Code::$variant,)*];

        impl Code {
            /// The code as users write it, e.g. `E0301`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => stringify!($variant),)* }
            }

            /// A one-line summary.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The long explanation (Markdown).
            pub fn explanation(self) -> &'static str {
                match self { $(Code::$variant => include_str!(concat!("explain/", $code, ".md")),)* }
            }
        }
    };
}

codes! {
    E0101 = "E0101", "syntax error";
    E0102 = "E0102", "invalid number literal";
    E0103 = "E0103", "model file cannot be read";
    E0201 = "E0201", "unknown name";
    E0202 = "E0202", "unknown layer or block";
    E0203 = "E0203", "unknown or surplus argument";
    E0204 = "E0204", "missing argument";
    E0205 = "E0205", "type mismatch";
    E0206 = "E0206", "arithmetic error";
    E0207 = "E0207", "duplicate definition";
    E0208 = "E0208", "import failed";
    E0209 = "E0209", "invalid --set override";
    E0210 = "E0210", "value out of range";
    E0211 = "E0211", "recursive block";
    E0212 = "E0212", "tensor and number confused";
    E0213 = "E0213", "no usable network";
    E0214 = "E0214", "assertion failed";
    E0215 = "E0215", "construct used in the wrong place";
    E0216 = "E0216", "tensor computed but never used";
    E0217 = "E0217", "`let [ … ]` does not fit the value";
    E0218 = "E0218", "several tensors where one is expected";
    E0219 = "E0219", "name bound again";
    E0301 = "E0301", "residual branches have different shapes";
    E0302 = "E0302", "operands have different shapes";
    E0303 = "E0303", "feature map too small";
    E0304 = "E0304", "group count does not divide the channels";
    E0305 = "E0305", "invalid channel split";
    E0306 = "E0306", "shortcut cannot produce the residual's shape";
    E0501 = "E0501", "weights cannot be read";
    E0502 = "E0502", "weights do not fit the model";
    E0503 = "E0503", "input cannot be read";
    E0504 = "E0504", "input does not fit the model";
    E0505 = "E0505", "backend not compiled in";
    E0506 = "E0506", "unknown weight names";
    E0507 = "E0507", "no usable GPU device";
    E0508 = "E0508", "invalid inference option";
    E0509 = "E0509", "network too large for memory";
    E0510 = "E0510", "outputs of random weights";
    E0601 = "E0601", "dataset not found";
    E0602 = "E0602", "dataset file missing or unreadable";
    E0603 = "E0603", "truncated or malformed data file";
    E0604 = "E0604", "label out of range";
    E0605 = "E0605", "empty image folder";
    E0606 = "E0606", "image cannot be decoded";
    E0607 = "E0607", "images of different sizes";
    E0608 = "E0608", "download failed";
    E0609 = "E0609", "checksum mismatch";
    E0610 = "E0610", "archive cannot be unpacked";
    E0611 = "E0611", "invalid dataset specification";
    E0701 = "E0701", "model does not fit the data";
    E0702 = "E0702", "checkpoint missing or unreadable";
    E0703 = "E0703", "run directory cannot be written";
    E0704 = "E0704", "invalid training option";
    E0705 = "E0705", "options ignored by a resumed run";
    E0801 = "E0801", "file cannot be formatted";
    E0901 = "E0901", "unknown error code";
}

impl Code {
    /// Parses `E0301` (case-insensitive, the `E` optional).
    pub fn parse(text: &str) -> Option<Code> {
        let text = text.trim().to_ascii_uppercase();
        let text = if text.starts_with('E') {
            text
        } else {
            format!("E{text}")
        };
        ALL_CODES.iter().copied().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
