//! Positions: LSP line/column positions (columns in UTF-16 code units, the protocol's
//! default encoding) ↔ byte offsets, file URIs ↔ paths, and the mapping of offsets
//! from an older text of a file to its current text.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A text with the byte offset of every line start, for position conversions.
#[derive(Clone, Debug, Default)]
pub struct Text {
    pub text: String,
    line_starts: Vec<usize>,
}

impl Text {
    pub fn new(text: String) -> Text {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Text { text, line_starts }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The 0-based line that contains byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&start| start <= offset) - 1
    }

    /// The byte range of line `line` without its line break.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len()..self.text.len();
        };
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// The position of byte `offset` (clamped to the text, rounded down to a character).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.line_starts[line];
        let character: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    /// The byte offset of `position`. A column past the end of its line means the end
    /// of the line, and a line past the end of the text the end of the text, as the
    /// protocol asks; a column inside a surrogate pair rounds down.
    pub fn offset(&self, position: Position) -> usize {
        let line = position.line as usize;
        if line >= self.line_starts.len() {
            return self.text.len();
        }
        let range = self.line_range(line);
        let mut units = 0usize;
        for (i, ch) in self.text[range.clone()].char_indices() {
            let next = units + ch.len_utf16();
            if next > position.character as usize {
                return range.start + i;
            }
            units = next;
        }
        range.end
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte range of an LSP range (start and end ordered).
    pub fn byte_range(&self, range: Range) -> std::ops::Range<usize> {
        let a = self.offset(range.start);
        let b = self.offset(range.end);
        a.min(b)..a.max(b)
    }

    /// Replaces the bytes `range` with `with` (an incremental change).
    pub fn edit(&mut self, range: std::ops::Range<usize>, with: &str) {
        let mut text = std::mem::take(&mut self.text);
        text.replace_range(range, with);
        *self = Text::new(text);
    }
}

/// How the offsets of an older text of a file map to its current text: the common
/// prefix and suffix are kept, and what lies between them (the edited region) maps
/// to nothing. Cheap enough to compute per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    prefix: usize,
    old_suffix: usize,
    new_suffix: usize,
}

impl Shift {
    pub fn between(old: &str, new: &str) -> Shift {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let max_suffix = a.len().min(b.len()) - prefix;
        let suffix = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(max_suffix)
            .take_while(|(x, y)| x == y)
            .count();
        Shift {
            prefix,
            old_suffix: a.len() - suffix,
            new_suffix: b.len() - suffix,
        }
    }

    pub fn identity(len: usize) -> Shift {
        Shift {
            prefix: len,
            old_suffix: len,
            new_suffix: len,
        }
    }

    /// The new offset of old offset `o`, if it lies outside the edited region.
    pub fn forward(&self, o: usize) -> Option<usize> {
        self.across(o, self.old_suffix, self.new_suffix)
    }

    /// The old offset of new offset `o`, if it lies outside the edited region.
    pub fn backward(&self, o: usize) -> Option<usize> {
        self.across(o, self.new_suffix, self.old_suffix)
    }

    /// Offset `o` of one text moved to the other, where the common suffix starts at
    /// `from_suffix` in `o`'s text and at `to_suffix` in the other; the prefix is the
    /// same in both.
    fn across(&self, o: usize, from_suffix: usize, to_suffix: usize) -> Option<usize> {
        if o <= self.prefix {
            Some(o)
        } else if o >= from_suffix {
            Some(o - from_suffix + to_suffix)
        } else {
            None
        }
    }

    /// The new range of an old range, if neither end was edited.
    pub fn forward_range(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        Some((self.forward(start)?, self.forward(end)?))
    }
}

/// The file path a `file:` URI names. Other schemes (an unsaved `untitled:` buffer) get
/// a path made of the URI itself, so that every document has a distinct key.
pub fn uri_to_path(uri: &Uri) -> PathBuf {
    let text = uri.as_str();
    let Some(rest) = text.strip_prefix("file://") else {
        return PathBuf::from(text);
    };
    // Skip an authority (`file://host/path`); `file:///path` has an empty one.
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => "/",
    };
    let decoded = percent_decode(path);
    // `/C:/dir/file` on Windows.
    let bytes = decoded.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
        return PathBuf::from(&decoded[1..]);
    }
    PathBuf::from(decoded)
}

/// The `file:` URI of a path.
pub fn path_to_uri(path: &Path) -> Uri {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut out = String::from("file://");
    if !text.starts_with('/') {
        out.push('/');
    }
    for byte in text.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-_.~:".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&out).unwrap_or_else(|_| Uri::from_str("file:///").expect("a valid URI"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() && text.is_char_boundary(i + 3) {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        // `λ` is 2 bytes and 1 UTF-16 unit; `𝔽` is 4 bytes and 2 units.
        let text = Text::new("ab\nλx𝔽y\r\nlast".to_string());
        assert_eq!(text.position(0), Position::new(0, 0));
        assert_eq!(text.position(3), Position::new(1, 0));
        assert_eq!(text.position(5), Position::new(1, 1)); // after λ
        assert_eq!(text.position(6), Position::new(1, 2)); // after x
        assert_eq!(text.position(10), Position::new(1, 4)); // after 𝔽
        assert_eq!(text.position(4), Position::new(1, 0)); // inside λ: rounds down
        assert_eq!(text.offset(Position::new(1, 1)), 5);
        assert_eq!(text.offset(Position::new(1, 4)), 10);
        assert_eq!(text.offset(Position::new(1, 3)), 6); // inside the pair: rounds down
        assert_eq!(text.offset(Position::new(1, 99)), 11); // clamped before `\r\n`
        assert_eq!(text.offset(Position::new(2, 2)), 15);
        assert_eq!(text.offset(Position::new(9, 0)), text.as_str().len());
        for offset in [0, 1, 2, 3, 5, 6, 10, 11, 13, 17] {
            assert_eq!(
                text.offset(text.position(offset)),
                offset,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn lines_and_edits() {
        let mut text = Text::new("one\ntwo\n".to_string());
        assert_eq!(text.line_count(), 3);
        assert_eq!(text.line_of(4), 1);
        assert_eq!(text.line_range(1), 4..7);
        let range = text.byte_range(Range::new(Position::new(1, 0), Position::new(1, 3)));
        text.edit(range, "2\nthree");
        assert_eq!(text.as_str(), "one\n2\nthree\n");
        assert_eq!(text.position(6), Position::new(2, 0));
    }

    #[test]
    fn shift_maps_around_the_edit() {
        let shift = Shift::between("conv(64); bn; relu", "conv(128); bn; relu");
        assert_eq!(shift.forward(0), Some(0));
        assert_eq!(shift.forward(5), Some(5));
        assert_eq!(shift.forward(6), None); // the edited digits
        assert_eq!(shift.forward(8), Some(9)); // `;` moved by one
        assert_eq!(shift.backward(9), Some(8));
        assert_eq!(shift.forward_range(10, 12), Some((11, 13)));
        assert_eq!(Shift::between("abc", "abc").forward(2), Some(2));
        // An insertion: the offset at the insertion point stays before the new text.
        let grown = Shift::between("ab", "aXb");
        assert_eq!(grown.forward(1), Some(1));
        assert_eq!(grown.forward(2), Some(3));
        assert_eq!(grown.backward(2), Some(1));
    }

    #[test]
    fn uris_and_paths() {
        let uri = Uri::from_str("file:///home/me/my%20models/r50.resnet").unwrap();
        assert_eq!(
            uri_to_path(&uri),
            PathBuf::from("/home/me/my models/r50.resnet")
        );
        let back = path_to_uri(Path::new("/home/me/my models/r50.resnet"));
        assert_eq!(back.as_str(), "file:///home/me/my%20models/r50.resnet");
        let untitled = Uri::from_str("untitled:Untitled-1").unwrap();
        assert_eq!(uri_to_path(&untitled), PathBuf::from("untitled:Untitled-1"));
    }
}
