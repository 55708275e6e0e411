//! The language server's response to a keystroke: a one-character edit, then
//! everything the server does before the diagnostics go out (recompile, convert the
//! diagnostics, rebuild the symbol index and the shape facts) and the inlay hints of
//! the whole file, through the same code path the server uses. Goal: under 30 ms for
//! the 1192-layer weighted residual net.

use criterion::{criterion_group, criterion_main, Criterion};
use lsp_types::{Position, Range, TextDocumentContentChangeEvent};
use resc::lsp::{inlay_hints, path_to_uri, Workspace};
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// The 1192-layer WResNet, for when `models/wresnet.resnet` is not there.
const WRESNET: &str = "\
block weighted_unit(width: int) {
    residual {
        conv(width, k: 3, init: msra_fan_in); bn; relu
        conv(width, k: 3, init: msra_fan_in); bn; relu
    } shortcut weighted(init: 0.0, lr: 0.001)
}

block downsample(width: int) {
    conv(width, k: 3, stride: 2, init: msra_fan_in); bn; relu
}

network wresnet(depth: int = 1192, classes: int = 10) {
    let n = (depth - 4) / 6
    input [3, 32, 32]
    stage conv1 { conv(16, k: 3, init: msra_fan_in); bn; relu }
    stage stage1 { repeat n weighted_unit(16) }
    stage stage2 { downsample(32); repeat n weighted_unit(32) }
    stage stage3 { downsample(64); repeat n weighted_unit(64) }
    avgpool; linear(classes) as fc
}
";

fn model(path: &str, fallback: Option<&str>) -> (PathBuf, String) {
    let absolute = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    match (std::fs::read_to_string(&absolute), fallback) {
        (Ok(text), _) => (absolute, text),
        (Err(_), Some(text)) => (absolute, text.to_string()),
        (Err(e), None) => panic!("cannot read {path}: {e}"),
    }
}

/// Edits `classes: int = 10` to `= 11` and back, alternately, and takes what the server
/// computes after an edit.
fn keystrokes(c: &mut Criterion, name: &str, path: &Path, text: &str) {
    let uri = path_to_uri(path);
    let mut ws = Workspace::new();
    ws.open(uri.clone(), text.to_string(), 0);
    let first = ws.flush();
    assert!(
        first.iter().all(|p| p.diagnostics.is_empty()),
        "{name} checks cleanly"
    );
    let offset = text
        .find("classes: int = 10")
        .expect("a `classes` parameter")
        + "classes: int = 1".len();
    let line = text[..offset].matches('\n').count() as u32;
    let column = (offset - text[..offset].rfind('\n').map_or(0, |i| i + 1)) as u32;
    let range = Range::new(Position::new(line, column), Position::new(line, column + 1));
    let mut version = 0;
    c.bench_function(name, |b| {
        b.iter(|| {
            version += 1;
            let digit = if version % 2 == 1 { "1" } else { "0" };
            let change = TextDocumentContentChangeEvent {
                range: Some(range),
                range_length: None,
                text: digit.to_string(),
            };
            ws.change(&uri, vec![change], version);
            let published = ws.flush();
            let hints = inlay_hints(&ws, path, None);
            black_box((published, hints.len()))
        })
    });
}

fn edit_to_diagnostics(c: &mut Criterion) {
    let (path, text) = model("models/wresnet.resnet", Some(WRESNET));
    keystrokes(c, "lsp-keystroke/wresnet-1192", &path, &text);
    let (path, text) = model("models/resnet50.resnet", None);
    keystrokes(c, "lsp-keystroke/resnet50", &path, &text);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = edit_to_diagnostics
}
criterion_main!(benches);
