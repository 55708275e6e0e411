//! `resc lsp` as an editor sees it: a child process spoken to in JSON-RPC over stdio
//! with `Content-Length` framing. One session goes through initialize, diagnostics on
//! open and after a fix, hover, inlay hints, definition, rename, formatting, malformed
//! input and unknown methods, and shutdown/exit. Every read has a timeout, so that a
//! hung server fails the test instead of blocking it.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

const BLOCKS: &str = "\
# Blocks for the test.
block basic(width: int, stride: int = 1) {
    residual {
        conv(width, k: 3, stride: stride); bn; relu
        conv(width, k: 3); bn
    } shortcut identity or projection
    relu
}
";

/// A model whose second stage down-samples without a shortcut that can follow.
const MODEL: &str = "\
import \"blocks.resnet\" (basic)

network small(classes: int = 10) {
    input [3, 32, 32]
    conv(16, k: 3); bn; relu
    stage one: repeat 2 basic(16)
    stage two {
        residual {
            conv(32, k: 3, stride: 2); bn; relu
            conv(32, k: 3); bn
        }
        relu
        basic(32)
    }
    avgpool
    flatten
    linear(classes)
}
";

/// The child process; killed if the test fails half-way.
struct Server {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Notifications read while waiting for something else.
    notifications: Vec<Value>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads framed messages from the server's stdout.
fn reader(stdout: impl Read + Send + 'static) -> Receiver<Value> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut input = BufReader::new(stdout);
        loop {
            let mut length = None;
            loop {
                let mut line = String::new();
                if input.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(value) = line.strip_prefix("Content-Length: ") {
                    length = value.parse::<usize>().ok();
                }
            }
            let mut body = vec![0; length.expect("the server sends Content-Length")];
            if input.read_exact(&mut body).is_err() {
                return;
            }
            let value: Value = serde_json::from_slice(&body).expect("the server sends JSON");
            if tx.send(value).is_err() {
                return;
            }
        }
    });
    rx
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_resc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("resc starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let incoming = reader(child.stdout.take().expect("piped stdout"));
        Server {
            child,
            stdin,
            incoming,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len())
            .expect("the server reads stdin");
        self.stdin.flush().expect("the server reads stdin");
    }

    fn notify(&mut self, method: &str, params: Value) {
        let message = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.send_raw(&message.to_string());
    }

    fn next_message(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        self.incoming
            .recv_timeout(left)
            .expect("the server answers in time")
    }

    /// Sends a request and returns its response (result or error object).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_raw(&message.to_string());
        self.response(json!(id))
    }

    fn response(&mut self, id: Value) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            if message.get("method").is_some() {
                self.notifications.push(message);
            } else if message["id"] == id {
                return message;
            }
        }
    }

    /// The next `publishDiagnostics` for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let position = self.notifications.iter().position(|n| {
                n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
            });
            if let Some(i) = position {
                let n = self.notifications.remove(i);
                return n["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            let message = self.next_message(deadline);
            self.notifications.push(message);
        }
    }
}

/// A fresh directory with the model files.
fn workspace() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-lsp-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("blocks.resnet"), BLOCKS).expect("writable");
    std::fs::write(dir.join("model.resnet"), MODEL).expect("writable");
    dir
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn position(text: &str, needle: &str) -> Value {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` in the text"));
    let line = text[..offset].matches('\n').count();
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": column })
}

/// Applies LSP edits (ASCII text, so columns are bytes) in reverse order.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let column = p["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + column
    };
    let mut edits: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, new) in edits {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn an_editor_session() {
    let dir = workspace();
    let model_uri = uri(&dir.join("model.resnet"));
    let blocks_uri = uri(&dir.join("blocks.resnet"));
    let doc = json!({ "uri": model_uri });
    let mut server = Server::start();

    // Requests before `initialize` are refused, not crashed on.
    let early = server.request(
        "textDocument/hover",
        json!({ "textDocument": doc, "position": { "line": 0, "character": 0 } }),
    );
    assert_eq!(early["error"]["code"], -32002, "{early}");

    let init = server.request(
        "initialize",
        json!({ "processId": null, "rootUri": null, "capabilities": {
            "textDocument": { "completion": { "completionItem": { "snippetSupport": true } } } } }),
    );
    let capabilities = &init["result"]["capabilities"];
    for provider in [
        "hoverProvider",
        "inlayHintProvider",
        "definitionProvider",
        "renameProvider",
        "documentFormattingProvider",
    ] {
        assert!(!capabilities[provider].is_null(), "{provider} in {init}");
    }
    server.notify("initialized", json!({}));

    // The shape error is reported where `resc check` reports it.
    server.notify(
        "textDocument/didOpen",
        json!({ "textDocument": { "uri": model_uri, "languageId": "resnet", "version": 1, "text": MODEL } }),
    );
    let diagnostics = server.diagnostics(&model_uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!(d["code"], "E0301");
    assert_eq!(d["source"], "resc");
    assert_eq!(d["range"]["start"], position(MODEL, "residual {"));
    assert_eq!(d["range"]["end"], json!({ "line": 7, "character": 16 }));
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("help: a shortcut that changes the shape fits here"));

    // Insert the shortcut clause after the residual's body: the error goes away.
    let fixed = MODEL.replacen(
        "        }\n        relu",
        "        } shortcut identity or projection\n        relu",
        1,
    );
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": model_uri, "version": 2 }, "contentChanges": [{
            "range": { "start": { "line": 10, "character": 9 }, "end": { "line": 10, "character": 9 } },
            "text": " shortcut identity or projection" }] }),
    );
    assert_eq!(server.diagnostics(&model_uri), Vec::<Value>::new());

    // Hover on a layer gives its output shape.
    let hover = server.request(
        "textDocument/hover",
        json!({ "textDocument": doc, "position": position(&fixed, "linear") }),
    );
    let value = hover["result"]["contents"]["value"]
        .as_str()
        .expect("markdown hover")
        .to_string();
    assert!(value.contains("→ `[10, 1, 1]`"), "{value}");
    let hover = server.request(
        "textDocument/hover",
        json!({ "textDocument": doc, "position": position(&fixed, "two {") }),
    );
    assert!(
        hover["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("`[32, 16, 16]`"),
        "{hover}"
    );

    // An inlay hint on every line that ends a layer, block or stage statement.
    let hints = server.request(
        "textDocument/inlayHint",
        json!({ "textDocument": doc, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 40, "character": 0 } } }),
    );
    let hints = hints["result"].as_array().expect("a list of hints").clone();
    let hinted: Vec<u64> = hints
        .iter()
        .map(|h| h["position"]["line"].as_u64().unwrap())
        .collect();
    let layer_lines: Vec<u64> = fixed
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            [
                "conv",
                "bn",
                "relu",
                "basic(",
                "avgpool",
                "flatten",
                "linear",
                "} shortcut",
            ]
            .iter()
            .any(|w| l.contains(w))
        })
        .filter(|(_, l)| !l.trim_start().starts_with("import"))
        .map(|(i, _)| i as u64)
        .collect();
    for line in &layer_lines {
        assert!(hinted.contains(line), "line {line} has no hint: {hints:?}");
    }
    let last = hints.last().unwrap();
    assert_eq!(last["label"], "→ [10, 1, 1]");

    // Go to the definition of a block call in the imported file.
    let definition = server.request(
        "textDocument/definition",
        json!({ "textDocument": doc, "position": position(&fixed, "basic(32)") }),
    );
    assert_eq!(
        definition["result"]["uri"],
        blocks_uri.as_str(),
        "{definition}"
    );
    assert_eq!(
        definition["result"]["range"]["start"],
        json!({ "line": 1, "character": 6 })
    );

    // Rename the block: its definition and every call, in both files.
    let rename = server.request(
        "textDocument/rename",
        json!({ "textDocument": doc, "position": position(&fixed, "basic(16)"), "newName": "unit" }),
    );
    let changes = &rename["result"]["changes"];
    assert_eq!(
        changes[&blocks_uri].as_array().map(Vec::len),
        Some(1),
        "{rename}"
    );
    let in_model = changes[&model_uri].as_array().expect("edits in the model");
    assert_eq!(in_model.len(), 3, "the import list and two calls: {rename}");
    let renamed = apply(&fixed, in_model);
    assert!(
        renamed.contains("import \"blocks.resnet\" (unit)")
            && renamed.contains("repeat 2 unit(16)")
    );
    let bad_name = server.request(
        "textDocument/rename",
        json!({ "textDocument": doc, "position": position(&fixed, "basic(16)"), "newName": "not a name" }),
    );
    assert!(
        bad_name["error"]["message"].as_str().is_some(),
        "{bad_name}"
    );

    // Formatting: the edits give the canonical layout, which then needs none.
    let messy = fixed.replace("    conv(16, k: 3); bn; relu", "    conv(16,k:3);bn;relu");
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": model_uri, "version": 3 }, "contentChanges": [{ "text": messy }] }),
    );
    let options = json!({ "tabSize": 4, "insertSpaces": true });
    let edits = server.request(
        "textDocument/formatting",
        json!({ "textDocument": doc, "options": options }),
    );
    let edits = edits["result"]
        .as_array()
        .expect("formatting edits")
        .clone();
    assert!(!edits.is_empty());
    let formatted = apply(&messy, &edits);
    assert!(formatted.contains("conv(16, k: 3)"), "{formatted}");
    server.notify(
        "textDocument/didChange",
        json!({ "textDocument": { "uri": model_uri, "version": 4 }, "contentChanges": [{ "text": formatted }] }),
    );
    let again = server.request(
        "textDocument/formatting",
        json!({ "textDocument": doc, "options": options }),
    );
    assert_eq!(again["result"], json!([]), "{again}");

    // Malformed input gets error responses; the server keeps answering.
    server.send_raw("{this is not json");
    let parse_error = server.response(Value::Null);
    assert_eq!(parse_error["error"]["code"], -32700, "{parse_error}");
    server.send_raw(r#"{"jsonrpc":"2.0","id":"odd","method":42}"#);
    let invalid = server.response(json!("odd"));
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");
    let unknown = server.request("textDocument/noSuchThing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    server.notify("$/noSuchNotification", json!({}));
    let bad_params = server.request("textDocument/hover", json!({ "nonsense": true }));
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");
    let symbols = server.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": doc }),
    );
    assert_eq!(symbols["result"][0]["name"], "small", "{symbols}");

    // Shutdown, then exit with status 0.
    let shutdown = server.request("shutdown", Value::Null);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    server.notify("exit", Value::Null);
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("waitable") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
