//! JSON-RPC over stdio with `Content-Length` framing. lsp-server's own stdio
//! transport stops reading at the first malformed message; this one answers it with
//! a JSON-RPC error (`ParseError` for a body that is not JSON, `InvalidRequest` for
//! JSON that is not a message) and goes on reading.

use lsp_server::{ErrorCode, Message};
use serde_json::{json, Value};
use std::io::{self, BufRead, Write};
use std::sync::mpsc::Sender;

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
pub fn read_loop(mut input: impl BufRead, out: Sender<Incoming>) {
    loop {
        let item = match read_frame(&mut input) {
            Ok(Some(Frame::Body(body))) => parse(&body),
            Ok(Some(Frame::BadHeader(why))) => {
                Incoming::Malformed(error_json(Value::Null, ErrorCode::ParseError, &why))
            }
            Ok(None) | Err(_) => {
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

/// Reads one header block and its body. `None` at the end of the input.
fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut bad: Option<String> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue; // Stray blank lines between messages.
        }
        saw_header = true;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad = Some(format!("invalid Content-Length `{}`", value.trim())),
                }
            }
            Some(_) => {} // Content-Type and others.
            None => bad = Some(format!("malformed header line `{line}`")),
        }
    }
    let Some(length) = length else {
        return Ok(Some(Frame::BadHeader(
            bad.unwrap_or_else(|| "missing Content-Length header".into()),
        )));
    };
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(Some(Frame::Body(body)))
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
    match serde_json::from_value::<Message>(value) {
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

    #[test]
    fn end_of_input_closes() {
        let (tx, rx) = channel();
        read_loop(io::Cursor::new(Vec::new()), tx);
        assert!(matches!(rx.recv(), Ok(Incoming::Closed)));
    }
}
