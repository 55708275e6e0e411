//! The language server through `resc::lsp::serve`: byte streams of frames, header
//! lines and garbage; and well-framed JSON-RPC messages of every method the server
//! knows and some it does not, with ids, parameters, positions, URIs and texts of the
//! wrong type or out of range.
//!
//! Properties: the server ends (at `exit` or the end of the input) with exit code 0 or
//! 1; what it writes is a sequence of `Content-Length` frames of JSON; no answer is an
//! `InternalError` (a handler that panicked); and on well-framed input, every request
//! before `exit` gets exactly one answer, under its own id when that is a number or a
//! string.

use super::{config, hostile};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

/// JSON-RPC's `InternalError`: what the server answers when a handler panicked.
const INTERNAL_ERROR: i64 = -32603;

/// Runs the server on `input`; returns its exit code and the messages it wrote.
fn serve(input: &[u8]) -> Result<(i32, Vec<Value>), TestCaseError> {
    let mut out = Vec::new();
    let code = resc::lsp::serve(input, &mut out);
    prop_assert!(code == 0 || code == 1, "exit code {code}");
    let mut messages = Vec::new();
    let mut rest = out.as_slice();
    while !rest.is_empty() {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n");
        prop_assert!(end.is_some(), "a frame without headers: {:?}", rest);
        let end = end.unwrap_or_default();
        let header = String::from_utf8_lossy(&rest[..end]);
        let length = header
            .strip_prefix("Content-Length: ")
            .and_then(|n| n.parse::<usize>().ok());
        prop_assert!(length.is_some(), "a bad header: {header:?}");
        let body = &rest[end + 4..];
        let length = length.unwrap_or_default();
        prop_assert!(body.len() >= length, "a frame cut short");
        let value: Result<Value, _> = serde_json::from_slice(&body[..length]);
        prop_assert!(value.is_ok(), "a body that is not JSON");
        let value = value.unwrap_or_default();
        prop_assert!(
            value["error"]["code"].as_i64() != Some(INTERNAL_ERROR),
            "an internal error (a handler panicked): {value}"
        );
        messages.push(value);
        rest = &body[length..];
    }
    Ok((code, messages))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

// ---------------------------------------------------------------------------------
// Messages.

/// Ids: the ones lsp-server can hold (an `i32` or a string) and others; mostly none
/// for a notification and one for a request.
fn id(notification: bool) -> impl Strategy<Value = Option<Value>> {
    let none = if notification { 30 } else { 1 };
    prop_oneof![
        none => Just(None),
        6 => (0..1000i32).prop_map(|n| Some(json!(n))),
        1 => "[a-z0-9é🙂]{0,4}".prop_map(|s| Some(json!(s))),
        1 => prop::sample::select(vec![
            json!(-1), json!(i32::MIN), json!(1u64 << 40), json!(u64::MAX), json!(1.5),
            json!(null), json!(true), json!({"a": 1}), json!([1]), json!(-0.0),
        ]).prop_map(Some),
    ]
}

const METHODS: &[&str] = &[
    "initialize",
    "initialized",
    "textDocument/didOpen",
    "textDocument/didChange",
    "shutdown",
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "textDocument/hover",
    "textDocument/inlayHint",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/prepareRename",
    "textDocument/rename",
    "textDocument/completion",
    "textDocument/documentSymbol",
    "textDocument/formatting",
    "textDocument/codeAction",
    "$/cancelRequest",
    "workspace/symbol",
    "",
    "textDocument/",
    "🙂",
];

fn uri() -> impl Strategy<Value = Value> {
    prop::sample::select(
        &[
            "file:///virtual/a.resnet",
            "file:///virtual/a.resnet",
            "file:///virtual/blocks.resnet",
            "file:///virtual/%C3%A9%20b.resnet",
            "file:///virtual/../x.resnet",
            "file://host/share/c.resnet",
            "file:///%FF%FE.resnet",
            "file:",
            "file:///",
            "untitled:Untitled-1",
            "http://example.com/a.resnet",
            "a.resnet",
            "",
            "not a uri at all",
        ][..],
    )
    .prop_map(Value::from)
}

/// A number where a `u32` belongs: mostly small, sometimes past the text, negative,
/// past `u32`, fractional, or not a number.
fn coordinate() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => (0..12u32).prop_map(Value::from),
        1 => prop::sample::select(vec![
            json!(1000), json!(u32::MAX), json!(-1), json!(1u64 << 32), json!(1.5),
            json!("3"), json!(null),
        ]),
    ]
}

fn position() -> impl Strategy<Value = Value> {
    (coordinate(), coordinate())
        .prop_map(|(line, character)| json!({ "line": line, "character": character }))
}

fn range() -> impl Strategy<Value = Value> {
    (position(), position()).prop_map(|(start, end)| json!({ "start": start, "end": end }))
}

/// Document texts: small models, with characters of every UTF-8 length and UTF-16
/// surrogate pairs, line breaks of both kinds, and random text.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&[
            "network n(c: int = 10) {\n    input [3, 8, 8]\n    conv(4, k: 3); bn; relu\n    avgpool; flatten; linear(c) as fc\n}\n",
            "import \"blocks.resnet\"\nnetwork n() {\n    input [3, 8, 8]\n    basic(4)\n}\n",
            "block basic(w: int) {\n    residual { conv(w, k: 3); bn } shortcut identity or projection\n    relu\n}\n",
            "# 🙂 é → λ 𝔽\r\nnetwork x() {\r\n    input [3, 8, 8]; conv(é\r\n}",
            "network n() { input [3, 8, 8]; 🙂; repeat 3 { relu } }",
            "",
        ][..]).prop_map(str::to_string),
        1 => "\\PC{0,60}",
        1 => prop::collection::vec(prop::sample::select(&[
            "network", "n", "(", ")", "{", "}", "input", "[3, 8, 8]", "conv(4, k: 3)", "\n",
            "\r\n", " ", "🙂", "𝔽", "é", "\"", "#", "relu", ";",
        ][..]), 0..30).prop_map(|parts| parts.concat()),
    ]
}

fn change() -> impl Strategy<Value = Value> {
    (prop::option::of(range()), text()).prop_map(|(range, text)| match range {
        Some(range) => json!({ "range": range, "text": text }),
        None => json!({ "text": text }),
    })
}

/// Parameters shaped for the method (with values of the wrong kind now and then), or
/// any JSON, or none.
fn params(method: &'static str) -> BoxedStrategy<Option<Value>> {
    let doc = uri().prop_map(|uri| json!({ "uri": uri }));
    let typed: BoxedStrategy<Value> = match method {
        "initialize" => Just(json!({ "capabilities": {} })).boxed(),
        "textDocument/didOpen" => (uri(), text(), any::<i32>())
            .prop_map(|(uri, text, version)| {
                json!({ "textDocument": { "uri": uri, "languageId": "resnet",
                        "version": version, "text": text } })
            })
            .boxed(),
        "textDocument/didChange" => (uri(), prop::collection::vec(change(), 0..4))
            .prop_map(|(uri, changes)| {
                json!({ "textDocument": { "uri": uri, "version": 2 },
                        "contentChanges": changes })
            })
            .boxed(),
        "textDocument/inlayHint" | "textDocument/codeAction" => (doc, range())
            .prop_map(|(doc, range)| {
                json!({ "textDocument": doc, "range": range, "context": { "diagnostics": [] } })
            })
            .boxed(),
        "textDocument/rename" => (doc, position(), "\\PC{0,8}")
            .prop_map(|(doc, position, name)| {
                json!({ "textDocument": doc, "position": position, "newName": name })
            })
            .boxed(),
        _ => (doc, position())
            .prop_map(|(doc, position)| {
                json!({ "textDocument": doc, "position": position,
                        "context": { "includeDeclaration": true },
                        "options": { "tabSize": 4, "insertSpaces": true } })
            })
            .boxed(),
    };
    prop_oneof![
        8 => typed.prop_map(Some),
        1 => Just(None),
        1 => any_json().prop_map(Some),
    ]
    .boxed()
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|x| json!(x)),
        "\\PC{0,10}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec(("[a-z]{1,8}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// One message: a method, maybe an id (a request), and parameters.
fn message() -> impl Strategy<Value = Value> {
    prop::sample::select(METHODS)
        .prop_flat_map(|method| {
            let notification = method.starts_with("textDocument/did")
                || matches!(method, "initialized" | "$/cancelRequest");
            (Just(method), id(notification), params(method))
        })
        .prop_map(|(method, id, params)| {
            let mut message = json!({ "jsonrpc": "2.0", "method": method });
            if let Some(id) = id {
                message["id"] = id;
            }
            if let Some(params) = params {
                message["params"] = params;
            }
            message
        })
}

/// A session: mostly initialized first, then messages, sometimes `exit` at the end.
fn session() -> impl Strategy<Value = Vec<Value>> {
    (
        prop::bool::weighted(0.9),
        prop::collection::vec(message(), 0..16),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(initialize, mut messages, exit)| {
            if initialize {
                let init = json!({ "jsonrpc": "2.0", "id": "init", "method": "initialize",
                                   "params": { "capabilities": {} } });
                messages.insert(0, init);
            }
            if exit {
                messages.push(json!({ "jsonrpc": "2.0", "method": "exit" }));
            }
            messages
        })
}

/// Whether an answer can carry `id`: a number or a string (JSON-RPC's `null` id stands
/// for any other).
fn echoed(id: &Value) -> bool {
    id.is_string() || id.is_number()
}

/// Checks that every request before `exit` is answered once, under its own id when it
/// is a number or a string.
fn check_answers(sent: &[Value], answers: &[Value]) -> Result<(), TestCaseError> {
    let requests: Vec<&Value> = sent
        .iter()
        .take_while(|m| m["method"] != "exit" || m.get("id").is_some())
        .filter(|m| m.get("id").is_some())
        .collect();
    let responses: Vec<&Value> = answers.iter().filter(|a| a.get("id").is_some()).collect();
    prop_assert_eq!(
        responses.len(),
        requests.len(),
        "requests {:?}\nanswers {:?}",
        requests,
        responses
    );
    for request in requests {
        let id = &request["id"];
        let expected = if echoed(id) { id } else { &Value::Null };
        let count = responses.iter().filter(|r| &r["id"] == expected).count();
        prop_assert!(count >= 1, "no answer for {request}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512, 0x15b0_2026))]

    #[test]
    fn every_request_is_answered(messages in session()) {
        let input: Vec<u8> = messages
            .iter()
            .flat_map(|m| frame(m.to_string().as_bytes()))
            .collect();
        let (_, answers) = serve(&input)?;
        check_answers(&messages, &answers)?;
    }
}

// ---------------------------------------------------------------------------------
// Byte streams.

/// Header lines, good and bad.
#[rustfmt::skip]
const HEADERS: &[&str] = &[
    "Content-Length: 2", "Content-Length: 0", "content-length:17", "CONTENT-LENGTH:  3 ",
    "Content-Length: -1", "Content-Length: 99999999999999999999999", "Content-Length: 1e3",
    "Content-Length:", "Content-Length: 0x10", "Content-Length: 4294967296",
    "Content-Type: application/vscode-jsonrpc; charset=utf-8", "X: y", "garbage",
    "\u{feff}Content-Length: 2", "Content-Length: 2\rContent-Length: 3", ":", "",
];

/// A piece of a byte stream.
#[derive(Clone, Debug)]
enum Piece {
    /// A frame whose `Content-Length` is off by `delta`.
    Frame(Vec<u8>, i8),
    Header(&'static str, &'static str),
    /// A header line after `n` bytes of junk on its line: past the transport's longest
    /// line (8 KiB), which is read in pieces.
    LongLine(usize, &'static str),
    Bytes(Vec<u8>),
}

/// Bodies: messages, any JSON, JSON with lone surrogates or deep nesting, or bytes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => message().prop_map(|m| m.to_string().into_bytes()),
        1 => any_json().prop_map(|v| v.to_string().into_bytes()),
        1 => prop::sample::select(&[
            r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///\ud800"}}}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"x","params":"\udfff"}"#,
            r#"[{"jsonrpc":"2.0","id":3,"method":"shutdown"}]"#,
            r#"{"jsonrpc":"2.0","id":4,"id":5,"method":"shutdown"}"#,
            r#"{"id":6,"method":"shutdown","result":1}"#,
        ][..]).prop_map(|s| s.as_bytes().to_vec()),
        1 => (1..400usize).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        6 => (body(), prop_oneof![8 => Just(0i8), 1 => any::<i8>()])
            .prop_map(|(body, delta)| Piece::Frame(body, delta)),
        2 => (prop::sample::select(HEADERS), prop::sample::select(&["\r\n", "\n", "\r\n\r\n", ""][..]))
            .prop_map(|(h, end)| Piece::Header(h, end)),
        1 => (8150..8250usize, prop::sample::select(HEADERS))
            .prop_map(|(n, header)| Piece::LongLine(n, header)),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Piece::Bytes),
    ]
}

fn stream(pieces: &[Piece]) -> Vec<u8> {
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": { "capabilities": {} } });
    let mut out = frame(init.to_string().as_bytes());
    for piece in pieces {
        match piece {
            Piece::Frame(body, delta) => {
                let length = (body.len() as i64 + *delta as i64).max(0);
                out.extend_from_slice(format!("Content-Length: {length}\r\n\r\n").as_bytes());
                out.extend_from_slice(body);
            }
            Piece::Header(header, end) => {
                out.extend_from_slice(header.as_bytes());
                out.extend_from_slice(end.as_bytes());
            }
            Piece::LongLine(n, header) => {
                out.extend(std::iter::repeat_n(b'x', *n));
                out.extend_from_slice(header.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Piece::Bytes(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

proptest! {
    #![proptest_config(config(512, 0xb17e_2026))]

    #[test]
    fn byte_streams_never_break_the_server(pieces in prop::collection::vec(piece(), 0..12)) {
        serve(&stream(&pieces))?;
    }
}

/// Every file of `tests/hostile/lsp/`: a `.json` file is a session (an array of
/// messages, sent framed after `initialize`) whose every request must be answered;
/// any other file is a byte stream sent after `initialize` and before a `shutdown`
/// request that must be answered.
#[test]
fn hostile_streams() {
    let init = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": { "capabilities": {} } });
    for (path, bytes) in hostile("lsp") {
        let checked = if path.extension().is_some_and(|e| e == "json") {
            let session: Vec<Value> = serde_json::from_slice(&bytes).expect("a JSON array");
            let messages: Vec<Value> = std::iter::once(init.clone()).chain(session).collect();
            let input: Vec<u8> = messages
                .iter()
                .flat_map(|m| frame(m.to_string().as_bytes()))
                .collect();
            serve(&input).and_then(|(_, answers)| check_answers(&messages, &answers))
        } else {
            let mut input = stream(&[]);
            input.extend_from_slice(&bytes);
            let shutdown = r#"{"jsonrpc":"2.0","id":"last","method":"shutdown"}"#;
            input.extend_from_slice(&frame(shutdown.as_bytes()));
            serve(&input).and_then(|(_, answers)| {
                prop_assert!(
                    answers.iter().any(|a| a["id"] == "last"),
                    "the request after it is not answered"
                );
                Ok(())
            })
        };
        if let Err(e) = checked {
            panic!("{}: {e}", path.display());
        }
    }
}

/// An open document that imports a FIFO, `/dev/stdin` (the server's own input) or an
/// endless device: each import is an error in the document's diagnostics, and the
/// server goes on answering (issue 15: opening the FIFO blocked the server).
#[cfg(unix)]
#[test]
fn imports_of_what_is_not_a_file_do_not_block() {
    let temp = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(temp.path().join("pipe.resnet"))
        .status();
    if !status.is_ok_and(|s| s.success()) {
        return; // No mkfifo here.
    }
    let uri = resc::lsp::path_to_uri(&temp.path().join("a.resnet"));
    let text = "import \"pipe.resnet\"\nimport \"/dev/stdin\"\nimport \"/dev/zero\"\n\
                network n() {\n    input [3, 8, 8]\n    relu\n}\n";
    let messages = [
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": uri.as_str(), "languageId": "resnet", "version": 1, "text": text}}}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "textDocument/hover", "params":
            {"textDocument": {"uri": uri.as_str()}, "position": {"line": 5, "character": 5}}}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    ];
    let input: Vec<u8> = messages
        .iter()
        .flat_map(|m| frame(m.to_string().as_bytes()))
        .collect();
    let (_, answers) = serve(&input).unwrap_or_else(|e| panic!("{e}"));
    assert!(answers.iter().any(|a| a["id"] == 2), "{answers:?}");
    let published: Vec<&Value> = answers
        .iter()
        .filter(|a| a["method"] == "textDocument/publishDiagnostics")
        .flat_map(|a| a["params"]["diagnostics"].as_array().into_iter().flatten())
        .collect();
    for import in ["pipe.resnet", "/dev/stdin", "/dev/zero"] {
        assert!(
            published.iter().any(|d| d["code"] == "E0208"
                && d["message"].as_str().is_some_and(|m| m.contains(import))),
            "no E0208 for `{import}` in {published:?}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Edited models.

/// Zoo models quick enough to compile after every edit; their imports are read from
/// the disk, as an editor's server would.
const EDITED: &[&str] = &[
    "resnet20.resnet",
    "digits-resnet.resnet",
    "wrn.resnet",
    "resnet18.resnet",
    "blocks.resnet",
    "seresnet50.resnet",
    "yolo-style-weighted.resnet",
];

/// A position as raw numbers (the server clamps them to the text): mostly inside the
/// model's lines, sometimes past them.
fn raw_position() -> impl Strategy<Value = Value> {
    (0..60u32, prop_oneof![8 => 0..40u32, 1 => 40..200u32])
        .prop_map(|(line, character)| json!({ "line": line, "character": character }))
}

/// One step of an editing session: an edit of a range, or a request at a position.
fn step() -> impl Strategy<Value = (&'static str, Value)> {
    let inserted = prop::collection::vec(prop::sample::select(super::source::PIECES), 0..4)
        .prop_map(|pieces| pieces.concat());
    let edit = (raw_position(), raw_position(), inserted).prop_map(|(start, end, text)| {
        json!({ "contentChanges": [{ "range": { "start": start, "end": end }, "text": text }] })
    });
    let at = raw_position().prop_map(|position| json!({ "position": position }));
    let range = (raw_position(), raw_position())
        .prop_map(|(start, end)| json!({ "range": { "start": start, "end": end } }));
    prop_oneof![
        4 => edit.prop_map(|e| ("textDocument/didChange", e)),
        6 => (prop::sample::select(&[
            "textDocument/hover", "textDocument/definition", "textDocument/references",
            "textDocument/prepareRename", "textDocument/rename", "textDocument/completion",
        ][..]), at),
        2 => (prop::sample::select(&["textDocument/inlayHint", "textDocument/codeAction"][..]),
              range),
        1 => prop::sample::select(&["textDocument/documentSymbol", "textDocument/formatting"][..])
            .prop_map(|m| (m, json!({}))),
    ]
}

/// The messages of a session that opens `model` and goes through `steps`.
fn editing_session(model: &str, steps: &[(&'static str, Value)]) -> Vec<Value> {
    let path = super::root().join("models").join(model);
    let text = std::fs::read_to_string(&path).expect("a zoo model");
    let uri = resc::lsp::path_to_uri(&path).as_str().to_string();
    let mut messages = vec![
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"capabilities": {}}}),
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument":
            {"uri": uri, "languageId": "resnet", "version": 1, "text": text}}}),
    ];
    for (n, (method, extra)) in steps.iter().enumerate() {
        let mut params = json!({ "textDocument": { "uri": uri, "version": n + 2 },
                                 "newName": "renamed", "context": {
                                     "includeDeclaration": true, "diagnostics": [],
                                     "triggerKind": 1 },
                                 "options": { "tabSize": 4, "insertSpaces": true } });
        for (key, value) in extra.as_object().into_iter().flatten() {
            params[key] = value.clone();
        }
        let mut message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        if *method != "textDocument/didChange" {
            message["id"] = json!(n + 1);
        }
        messages.push(message);
    }
    messages
}

proptest! {
    #![proptest_config(config(256, 0xed17_2026))]

    /// A zoo model edited at random places, with requests of every kind at random
    /// positions between the edits: each is answered, none with an internal error.
    #[test]
    fn edited_models_are_served(
        model in prop::sample::select(EDITED),
        steps in prop::collection::vec(step(), 1..16),
    ) {
        let messages = editing_session(model, &steps);
        let input: Vec<u8> = messages
            .iter()
            .flat_map(|m| frame(m.to_string().as_bytes()))
            .collect();
        let (_, answers) = serve(&input)?;
        check_answers(&messages, &answers)?;
    }
}
