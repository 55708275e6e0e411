//! `resc lsp`: a language server on stdio (JSON-RPC with lsp-server's message types).
//!
//! Diagnostics on open and on every change (the same as `resc check`), hover (shapes,
//! parameters, MACs, documentation), inlay hints (output shapes), go to definition,
//! references and rename (across imports), completion, document symbols, formatting
//! (with [`crate::fmt`]) and quick fixes.
//!
//! Architecture invariants: the server uses the driver, syntax, elab, check, diag and
//! fmt modules, and nothing uses it but the CLI. JSON exists only in this file and in
//! [`transport`]: the features take and return typed values. The server never panics
//! on input: malformed messages get JSON-RPC errors, and a request whose handler fails
//! gets an `InternalError` response while the server keeps running.

// lsp-types keys workspace edits by `Uri`, whose hash and equality use only its text;
// its interior cache does not make it a mutable key.
#![allow(clippy::mutable_key_type)]

mod actions;
mod analysis;
mod completion;
mod diagnostics;
mod docs;
mod facts;
mod hover;
mod index;
mod inlay;
mod navigation;
mod positions;
mod symbols;
#[cfg(test)]
mod tests;
mod transport;

pub use analysis::{Publish, Workspace};
pub use inlay::inlay_hints;
pub use positions::{path_to_uri, uri_to_path};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    HoverProviderCapability, InitializeParams, InlayHintServerCapabilities, OneOf,
    PositionEncodingKind, RenameOptions, ServerCapabilities, ServerInfo,
    TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use transport::Incoming;

/// Runs the server on stdin/stdout until `exit`; returns the process exit code (0
/// after a `shutdown` request, 1 otherwise, as the protocol asks).
pub fn run_stdio() -> i32 {
    let (tx, rx) = channel();
    std::thread::spawn(move || transport::read_loop(std::io::stdin().lock(), tx));
    let stdout = std::io::stdout();
    let mut server = Server::new(stdout.lock());
    server.run(&rx)
}

/// Runs the server on `input` until `exit` or its end, writing to `out`; returns the
/// exit code as [`run_stdio`] does. The whole input is read before the first message is
/// handled, so that what is written does not depend on timing: for tests and tools
/// that hold the input.
pub fn serve(input: impl std::io::BufRead, out: impl Write) -> i32 {
    let (tx, rx) = channel();
    transport::read_loop(input, tx);
    Server::new(out).run(&rx)
}

type Failure = (ErrorCode, String);

/// The server state: the workspace and the protocol state.
pub struct Server<W: Write> {
    out: W,
    ws: Workspace,
    initialized: bool,
    shutdown: bool,
    snippets: bool,
}

fn params<P: DeserializeOwned>(value: Value) -> Result<P, Failure> {
    serde_json::from_value(value)
        .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))
}

fn json<T: serde::Serialize>(value: T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

impl<W: Write> Server<W> {
    pub fn new(out: W) -> Server<W> {
        Server {
            out,
            ws: Workspace::new(),
            initialized: false,
            shutdown: false,
            snippets: false,
        }
    }

    /// Handles messages until `exit` or the end of the input.
    pub fn run(&mut self, rx: &Receiver<Incoming>) -> i32 {
        loop {
            let incoming = match rx.try_recv() {
                Ok(incoming) => incoming,
                Err(TryRecvError::Empty) => {
                    // Nothing waiting: recompile what changed (a burst of edits is
                    // compiled once), then block.
                    self.flush();
                    rx.recv().unwrap_or(Incoming::Closed)
                }
                Err(TryRecvError::Disconnected) => Incoming::Closed,
            };
            match incoming {
                Incoming::Closed => return self.exit_code(),
                Incoming::Malformed(json) => self.write(|out| transport::write_raw(out, &json)),
                Incoming::Message(Message::Request(request)) => self.request(request),
                Incoming::Message(Message::Notification(n)) if n.method == "exit" => {
                    return self.exit_code()
                }
                Incoming::Message(Message::Notification(n)) => self.notification(n),
                Incoming::Message(Message::Response(_)) => {}
            }
        }
    }

    fn exit_code(&self) -> i32 {
        if self.shutdown {
            0
        } else {
            1
        }
    }

    fn write(&mut self, f: impl FnOnce(&mut W) -> std::io::Result<()>) {
        // A closed stdout ends the session at the next read; nothing to do here.
        let _ = f(&mut self.out);
    }

    fn send(&mut self, message: Message) {
        self.write(|out| transport::write_message(out, &message));
    }

    fn flush(&mut self) {
        for publish in self.ws.flush() {
            let params = lsp_types::PublishDiagnosticsParams {
                uri: publish.uri,
                diagnostics: publish.diagnostics,
                version: publish.version,
            };
            let note = Notification::new("textDocument/publishDiagnostics".into(), params);
            self.send(note.into());
        }
    }

    fn request(&mut self, request: Request) {
        let id = request.id.clone();
        let result = if request.method == "initialize" {
            self.initialize(request.params)
        } else if !self.initialized {
            Err((
                ErrorCode::ServerNotInitialized,
                "the server has not been initialized".into(),
            ))
        } else if self.shutdown {
            Err((
                ErrorCode::InvalidRequest,
                "the server is shutting down".into(),
            ))
        } else {
            self.flush();
            match catch_unwind(AssertUnwindSafe(|| self.dispatch(request))) {
                Ok(result) => result,
                Err(_) => Err((
                    ErrorCode::InternalError,
                    "internal error in resc (a bug; please report it)".into(),
                )),
            }
        };
        self.respond(id, result);
    }

    fn respond(&mut self, id: RequestId, result: Result<Value, Failure>) {
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.send(response.into());
    }

    fn initialize(&mut self, raw: Value) -> Result<Value, Failure> {
        if self.initialized {
            return Err((
                ErrorCode::InvalidRequest,
                "initialize was already called".into(),
            ));
        }
        let init: InitializeParams = params(raw)?;
        self.snippets = init
            .capabilities
            .text_document
            .and_then(|t| t.completion)
            .and_then(|c| c.completion_item)
            .and_then(|i| i.snippet_support)
            .unwrap_or(false);
        self.initialized = true;
        let capabilities = ServerCapabilities {
            position_encoding: Some(PositionEncodingKind::UTF16),
            text_document_sync: Some(TextDocumentSyncCapability::Kind(
                TextDocumentSyncKind::INCREMENTAL,
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            inlay_hint_provider: Some(OneOf::Right(InlayHintServerCapabilities::Options(
                Default::default(),
            ))),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            rename_provider: Some(OneOf::Right(RenameOptions {
                prepare_provider: Some(true),
                work_done_progress_options: Default::default(),
            })),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec!["(".into(), ",".into()]),
                ..Default::default()
            }),
            document_symbol_provider: Some(OneOf::Left(true)),
            document_formatting_provider: Some(OneOf::Left(true)),
            code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
                code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                ..Default::default()
            })),
            ..Default::default()
        };
        json(lsp_types::InitializeResult {
            capabilities,
            server_info: Some(ServerInfo {
                name: "resc".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
        })
    }

    fn notification(&mut self, n: Notification) {
        if !self.initialized {
            return;
        }
        let result = match n.method.as_str() {
            "textDocument/didOpen" => {
                params::<lsp_types::DidOpenTextDocumentParams>(n.params).map(|p| {
                    let d = p.text_document;
                    self.ws.open(d.uri, d.text, d.version);
                })
            }
            "textDocument/didChange" => params::<lsp_types::DidChangeTextDocumentParams>(n.params)
                .map(|p| {
                    self.ws.change(
                        &p.text_document.uri,
                        p.content_changes,
                        p.text_document.version,
                    );
                }),
            "textDocument/didClose" => params::<lsp_types::DidCloseTextDocumentParams>(n.params)
                .map(|p| {
                    self.ws.close(&p.text_document.uri);
                }),
            // `initialized`, `didSave`, `$/cancelRequest`, `$/setTrace`, …: nothing to do.
            _ => Ok(()),
        };
        if let Err((_, message)) = result {
            let params = lsp_types::LogMessageParams {
                typ: lsp_types::MessageType::ERROR,
                message: format!("resc: {}: {message}", n.method),
            };
            self.send(Notification::new("window/logMessage".into(), params).into());
        }
    }

    /// The path and byte offset of a document position.
    fn locate(&self, p: &TextDocumentPositionParams) -> Option<(PathBuf, usize)> {
        let path = uri_to_path(&p.text_document.uri);
        let offset = self.ws.current_text(&path)?.offset(p.position);
        Some((path, offset))
    }

    fn dispatch(&mut self, request: Request) -> Result<Value, Failure> {
        let ws = &self.ws;
        match request.method.as_str() {
            "shutdown" => {
                self.shutdown = true;
                Ok(Value::Null)
            }
            "textDocument/hover" => {
                let p: lsp_types::HoverParams = params(request.params)?;
                let found = self
                    .locate(&p.text_document_position_params)
                    .and_then(|(path, offset)| hover::hover(ws, &path, offset));
                json(found)
            }
            "textDocument/inlayHint" => {
                let p: lsp_types::InlayHintParams = params(request.params)?;
                let path = uri_to_path(&p.text_document.uri);
                let lines = (p.range.start.line as usize, p.range.end.line as usize);
                json(inlay::inlay_hints(ws, &path, Some(lines)))
            }
            "textDocument/definition" => {
                let p: lsp_types::GotoDefinitionParams = params(request.params)?;
                let found = self
                    .locate(&p.text_document_position_params)
                    .and_then(|(path, offset)| navigation::definition(ws, &path, offset));
                json(found.map(lsp_types::GotoDefinitionResponse::Scalar))
            }
            "textDocument/references" => {
                let p: lsp_types::ReferenceParams = params(request.params)?;
                let include = p.context.include_declaration;
                let found = self
                    .locate(&p.text_document_position)
                    .map(|(path, offset)| navigation::references(ws, &path, offset, include));
                json(found)
            }
            "textDocument/prepareRename" => {
                let p: TextDocumentPositionParams = params(request.params)?;
                let found = self
                    .locate(&p)
                    .and_then(|(path, offset)| navigation::prepare_rename(ws, &path, offset));
                json(found.map(lsp_types::PrepareRenameResponse::Range))
            }
            "textDocument/rename" => {
                let p: lsp_types::RenameParams = params(request.params)?;
                let (path, offset) = self.locate(&p.text_document_position).ok_or((
                    ErrorCode::RequestFailed,
                    "the document is not open".to_string(),
                ))?;
                navigation::rename(ws, &path, offset, &p.new_name)
                    .map_err(|why| (ErrorCode::RequestFailed, why))
                    .and_then(json)
            }
            "textDocument/completion" => {
                let p: lsp_types::CompletionParams = params(request.params)?;
                let snippets = self.snippets;
                let found = self
                    .locate(&p.text_document_position)
                    .map(|(path, offset)| completion::completion(ws, &path, offset, snippets));
                json(found.map(lsp_types::CompletionResponse::Array))
            }
            "textDocument/documentSymbol" => {
                let p: lsp_types::DocumentSymbolParams = params(request.params)?;
                let path = uri_to_path(&p.text_document.uri);
                json(lsp_types::DocumentSymbolResponse::Nested(
                    symbols::document_symbols(ws, &path),
                ))
            }
            "textDocument/formatting" => {
                let p: lsp_types::DocumentFormattingParams = params(request.params)?;
                json(format_document(ws, &uri_to_path(&p.text_document.uri)))
            }
            "textDocument/codeAction" => {
                let p: lsp_types::CodeActionParams = params(request.params)?;
                let path = uri_to_path(&p.text_document.uri);
                let actions: Vec<lsp_types::CodeActionOrCommand> =
                    actions::code_actions(ws, &path, p.range)
                        .into_iter()
                        .map(lsp_types::CodeActionOrCommand::CodeAction)
                        .collect();
                json(actions)
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("unknown method `{other}`"),
            )),
        }
    }
}

/// The edit that formats a document with [`crate::fmt`]: the changed middle part
/// only, so that the cursor and folds outside it stay. `None` when the current text
/// does not parse (nothing to format from) or is already formatted.
fn format_document(ws: &Workspace, path: &std::path::Path) -> Option<Vec<TextEdit>> {
    let text = ws.current_text(path)?;
    let info = ws.file(path)?;
    if info.text.as_str() != text.as_str() {
        return None;
    }
    let formatted = crate::fmt::format(&info.ast, text.as_str());
    let old = text.as_str();
    if formatted == old {
        return Some(Vec::new());
    }
    let mut prefix = old
        .bytes()
        .zip(formatted.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(formatted.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(formatted.bytes().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix)
        || !formatted.is_char_boundary(formatted.len() - suffix)
    {
        suffix -= 1;
    }
    let range = text.range(prefix, old.len() - suffix);
    Some(vec![TextEdit::new(
        range,
        formatted[prefix..formatted.len() - suffix].to_string(),
    )])
}
