//! JSON-RPC over stdio with `Content-Length` framing. lsp-server's own stdio
//! transport stops reading at the first malformed message; this one answers it with
//! a JSON-RPC error (`ParseError` for a bad header or a body that is not JSON,
//! `InvalidRequest` for JSON that is not a message) and goes on reading.
//!
//! After a malformed message the reader resynchronises on the next `Content-Length`
//! header, wherever it starts: after a bad header it skips the body that followed,
//! and after a body that is not JSON (a length too short or too long) it looks for
//! the next header in what it read. Header lines are read in bounded pieces and
//! bodies have a maximum size, so that no input makes the server grow without end.

use lsp_server::{ErrorCode, Message};
use serde_json::{json, Value};
use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::Sender;

/// The longest header line read at once; a longer one is read in pieces.
const MAX_LINE: usize = 8 * 1024;

/// The largest body accepted: room for a document at the compiler's source size limit
/// even when JSON escaping multiplies it.
const MAX_BODY: usize = 256 << 20;

/// The header that frames a message, compared without regard to case.
const CONTENT_LENGTH: &[u8] = b"content-length:";

/// What the reader hands to the server loop.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A message that could not be read, with the error response to send (already
    /// serialised: its `id` may be `null`, which lsp-server's types cannot express).
    Malformed(String),
    /// End of input or a read error.
    Closed,
}

/// Reads messages from `input` until it ends, sending each to `out`.
pub fn read_loop(input: impl BufRead, out: Sender<Incoming>) {
    let mut reader = Reader::new(input);
    loop {
        let item = match reader.frame() {
            Ok(Some(Frame::Body(body))) => {
                let item = parse(&body);
                if matches!(item, Incoming::Malformed(_)) {
                    reader.lost(&body);
                }
                item
            }
            Ok(Some(Frame::BadHeader(why))) => {
                Incoming::Malformed(error_json(Value::Null, ErrorCode::ParseError, &why))
            }
            Ok(None) => {
                let _ = out.send(Incoming::Closed);
                return;
            }
            Err(e) => {
                eprintln!("resc lsp: reading the input failed: {e}");
                let _ = out.send(Incoming::Closed);
                return;
            }
        };
        let is_exit =
            matches!(&item, Incoming::Message(Message::Notification(n)) if n.method == "exit");
        if out.send(item).is_err() || is_exit {
            return;
        }
    }
}

enum Frame {
    Body(Vec<u8>),
    /// The headers ended without a usable `Content-Length`.
    BadHeader(String),
}

/// Where the `Content-Length` header starts in `bytes`, in any case.
fn find_content_length(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(CONTENT_LENGTH.len())
        .position(|w| w.eq_ignore_ascii_case(CONTENT_LENGTH))
}

/// A line for a message, shortened to what an error message can quote.
fn quote(line: &str) -> String {
    const MAX: usize = 80;
    match line.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The input with the bytes to read again in front of it.
struct Reader<R> {
    input: R,
    /// Bytes to read before `input`: the part of a bad body from the next header on,
    /// or the end of a long line's piece.
    pending: Vec<u8>,
    /// After a malformed message: skip lines up to one with a `Content-Length` header.
    resync: bool,
}

impl<R: BufRead> Reader<R> {
    fn new(input: R) -> Reader<R> {
        Reader {
            input,
            pending: Vec::new(),
            resync: false,
        }
    }

    /// The next line without its line break, `None` at the end of the input. A line
    /// longer than [`MAX_LINE`] comes in pieces; the end of each piece is read again
    /// at the start of the next, so that a header split between pieces is found.
    fn line(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut line = match self.pending.iter().position(|&b| b == b'\n') {
            Some(i) => self.pending.drain(..=i).collect(),
            None => std::mem::take(&mut self.pending),
        };
        if !line.ends_with(b"\n") {
            let room = MAX_LINE.saturating_sub(line.len()) as u64;
            (&mut self.input).take(room).read_until(b'\n', &mut line)?;
        }
        if line.is_empty() {
            return Ok(None);
        }
        if line.ends_with(b"\n") {
            line.pop();
            if line.ends_with(b"\r") {
                line.pop();
            }
        } else if line.len() >= MAX_LINE {
            let keep = line.len() - CONTENT_LENGTH.len();
            self.pending = line.split_off(keep);
        }
        Ok(Some(line))
    }

    /// Reads one header block and its body. `None` at the end of the input.
    fn frame(&mut self) -> io::Result<Option<Frame>> {
        let mut length: Option<usize> = None;
        let mut bad: Option<String> = None;
        let mut saw_header = false;
        loop {
            let Some(mut line) = self.line()? else {
                return Ok(None);
            };
            match find_content_length(&line) {
                Some(at) if at > 0 || self.resync => {
                    // What came before is the rest of a message already answered.
                    line.drain(..at);
                    self.resync = false;
                    (length, bad, saw_header) = (None, None, false);
                }
                Some(_) => {}
                None if self.resync => continue,
                None => {}
            }
            if line.is_empty() {
                if saw_header {
                    break;
                }
                continue; // Stray blank lines between messages.
            }
            saw_header = true;
            let Ok(line) = std::str::from_utf8(&line) else {
                let shown = String::from_utf8_lossy(&line);
                eprintln!("resc lsp: a header line is not UTF-8: `{}`", quote(&shown));
                bad = Some("a header line is not UTF-8".into());
                continue;
            };
            match line.split_once(':') {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                    match value.trim().parse::<usize>() {
                        Ok(n) if n <= MAX_BODY => length = Some(n),
                        Ok(n) => {
                            bad = Some(format!(
                                "Content-Length {n} is more than the {MAX_BODY} bytes a message may have"
                            ))
                        }
                        Err(_) => {
                            bad = Some(format!("invalid Content-Length `{}`", quote(value.trim())))
                        }
                    }
                }
                Some(_) => {} // Content-Type and others.
                None => bad = Some(format!("malformed header line `{}`", quote(line))),
            }
        }
        let Some(length) = length else {
            // The body that follows, if any, is not a message: skip it.
            self.resync = true;
            return Ok(Some(Frame::BadHeader(
                bad.unwrap_or_else(|| "missing Content-Length header".into()),
            )));
        };
        let mut body: Vec<u8> = self
            .pending
            .drain(..length.min(self.pending.len()))
            .collect();
        let rest = (length - body.len()) as u64;
        (&mut self.input).take(rest).read_to_end(&mut body)?;
        if body.len() < length {
            return Ok(None);
        }
        Ok(Some(Frame::Body(body)))
    }

    /// After `body` was no message: if it is not JSON, its length was wrong, and a
    /// header inside it (a length too long swallowed the next message) is read again.
    fn lost(&mut self, body: &[u8]) {
        if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
            return;
        }
        if let Some(at) = find_content_length(body) {
            let mut again = body[at..].to_vec();
            again.append(&mut self.pending);
            self.pending = again;
        }
    }
}

fn parse(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Malformed(error_json(
                Value::Null,
                ErrorCode::ParseError,
                &format!("invalid JSON: {e}"),
            ))
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    let has_id = value.get("id").is_some();
    match serde_json::from_value::<Message>(value) {
        // An id lsp-server cannot hold (past 32 bits, fractional, null, an object) makes
        // a request look like a notification, which would go unanswered.
        Ok(Message::Notification(n)) if has_id => Incoming::Malformed(error_json(
            id,
            ErrorCode::InvalidRequest,
            &format!(
                "the id of this `{}` request is not an integer from -2^31 to 2^31-1 or a string",
                quote(&n.method)
            ),
        )),
        // A response from the client to a request we never sent is ignored later.
        Ok(message) => Incoming::Message(message),
        Err(e) => Incoming::Malformed(error_json(
            id,
            ErrorCode::InvalidRequest,
            &format!("not a JSON-RPC message: {e}"),
        )),
    }
}

/// A serialised JSON-RPC error response.
pub fn error_json(id: Value, code: ErrorCode, message: &str) -> String {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code as i32, "message": message },
    })
    .to_string()
}

/// Writes one framed message.
pub fn write_raw(out: &mut impl Write, json: &str) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n{json}", json.len())?;
    out.flush()
}

/// Writes one framed message.
pub fn write_message(out: &mut impl Write, message: &Message) -> io::Result<()> {
    message.write(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn reads_messages_and_survives_garbage() {
        let input = [
            frame(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#),
            frame("{not json"),
            "X-Junk\r\n\r\n".to_string(),
            frame(r#"{"jsonrpc":"2.0","id":7,"method":12}"#),
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
        ]
        .concat();
        let (tx, rx) = channel();
        read_loop(io::Cursor::new(input.into_bytes()), tx);
        let items: Vec<Incoming> = rx.iter().collect();
        assert_eq!(items.len(), 5);
        assert!(
            matches!(&items[0], Incoming::Message(Message::Request(r)) if r.method == "initialize")
        );
        let Incoming::Malformed(parse_error) = &items[1] else {
            panic!("{:?}", items[1])
        };
        assert!(
            parse_error.contains("-32700") && parse_error.contains("\"id\":null"),
            "{parse_error}"
        );
        let Incoming::Malformed(header) = &items[2] else {
            panic!("{:?}", items[2])
        };
        assert!(header.contains("-32700"), "{header}");
        let Incoming::Malformed(invalid) = &items[3] else {
            panic!("{:?}", items[3])
        };
        assert!(
            invalid.contains("-32600") && invalid.contains("\"id\":7"),
            "{invalid}"
        );
        assert!(
            matches!(&items[4], Incoming::Message(Message::Notification(n)) if n.method == "exit")
        );
    }

    const GOOD: &str = r#"{"jsonrpc":"2.0","id":42,"method":"shutdown"}"#;

    /// What the reader makes of `input`: the messages, and the number of errors.
    fn read_all(input: Vec<u8>) -> (Vec<Message>, usize) {
        let (tx, rx) = channel();
        read_loop(io::Cursor::new(input), tx);
        let mut messages = Vec::new();
        let mut errors = 0;
        for item in rx.iter() {
            match item {
                Incoming::Message(message) => messages.push(message),
                Incoming::Malformed(_) => errors += 1,
                Incoming::Closed => break,
            }
        }
        (messages, errors)
    }

    fn is_good(messages: &[Message]) -> bool {
        matches!(messages, [Message::Request(r)] if r.method == "shutdown")
    }

    /// One bad message (issue 15) costs one error, and the request after it is read.
    #[test]
    fn resynchronises_after_a_bad_header() {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
        let pretty = "{\r\n\r\n  \"jsonrpc\": \"2.0\",\n  \"id\": 2\n}";
        let bad: Vec<(&str, String)> = vec![
            ("a word", format!("Content-Length: abc\r\n\r\n{body}")),
            ("negative", format!("Content-Length: -5\r\n\r\n{body}")),
            (
                "overflowing",
                format!("Content-Length: 99999999999999999999999\r\n\r\n{body}"),
            ),
            (
                "beyond the limit",
                format!("Content-Length: {}\r\n\r\n{body}", usize::MAX),
            ),
            (
                "missing",
                format!("Content-Type: application/json\r\n\r\n{body}"),
            ),
            ("missing, body with lines", format!("X: y\r\n\r\n{pretty}")),
            (
                "shorter than the body",
                format!("Content-Length: 10\r\n\r\n{body}"),
            ),
            (
                "shorter, body with lines",
                format!("Content-Length: 3\r\n\r\n{pretty}"),
            ),
            ("no header at all", body.to_string()),
        ];
        for (what, bad) in bad {
            let input = format!("{bad}{}", frame(GOOD)).into_bytes();
            let (messages, errors) = read_all(input);
            assert!(is_good(&messages), "{what}: {messages:?}");
            assert!(errors <= 1, "{what}: {errors} errors");
        }
    }

    /// A length longer than the body swallows the next message; it is found again.
    #[test]
    fn finds_a_message_swallowed_by_a_long_length() {
        let input = format!("Content-Length: 40\r\n\r\n{{}}{}", frame(GOOD));
        let (messages, errors) = read_all(input.into_bytes());
        assert!(is_good(&messages), "{messages:?}");
        assert_eq!(errors, 1);
    }

    /// A header line that is not UTF-8 is an error, not the end of the session.
    #[test]
    fn survives_a_header_that_is_not_utf8() {
        let mut input = b"Content-Length: 5\xff\xfe\r\nX-\xc3(: 1\r\n\r\n".to_vec();
        input.extend_from_slice(frame(GOOD).as_bytes());
        let (messages, errors) = read_all(input);
        assert!(is_good(&messages), "{messages:?}");
        assert_eq!(errors, 1);
    }

    /// An endless header line is read in bounded pieces and skipped.
    #[test]
    fn skips_an_endless_header_line() {
        let mut input = vec![b'x'; 3 * MAX_LINE + 17];
        input.extend_from_slice(frame(GOOD).as_bytes());
        let (messages, _) = read_all(input);
        assert!(is_good(&messages), "{messages:?}");
    }

    /// A request whose id lsp-server cannot hold is answered, not taken for a
    /// notification (issue 15).
    #[test]
    fn requests_with_unusable_ids_are_answered() {
        for (id, echoed) in [
            ("1099511627776", "1099511627776"),
            ("1.5", "1.5"),
            ("null", "null"),
            (r#"{"a":1}"#, "null"),
        ] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"shutdown"}}"#);
            let (tx, rx) = channel();
            read_loop(io::Cursor::new(frame(&body).into_bytes()), tx);
            let Ok(Incoming::Malformed(error)) = rx.recv() else {
                panic!("id {id}: not answered")
            };
            assert!(
                error.contains("-32600") && error.contains(&format!(r#""id":{echoed}"#)),
                "{error}"
            );
        }
    }

    #[test]
    fn end_of_input_closes() {
        let (tx, rx) = channel();
        read_loop(io::Cursor::new(Vec::new()), tx);
        assert!(matches!(rx.recv(), Ok(Incoming::Closed)));
    }
}
