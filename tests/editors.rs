//! The editor packages in `editors/`.
//!
//! Always: the VS Code TextMate grammar is valid JSON with the scope `source.resnet`,
//! its keyword patterns name every reserved word of `grammar/resnet.pest`, and the
//! extension manifest, language configuration and Helix configuration hang together.
//!
//! Ignored unless asked for (`cargo test --test editors -- --ignored`, with `node`
//! installed): `editors/vscode/test/run.sh`, which tokenizes every zoo model with
//! `vscode-textmate` and `vscode-oniguruma` (from the npm registry, installed by `npm ci`
//! on first use) and checks the scopes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The words of the `keyword` rule of the pest grammar.
fn reserved_words() -> Vec<String> {
    let pest = read("grammar/resnet.pest");
    let start = pest.find("\nkeyword = @{").expect("a `keyword` rule") + 1;
    let rule = &pest[start..start + pest[start..].find('}').expect("the rule ends")];
    let words: Vec<String> = rule
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(
        words.len() >= 20,
        "the keyword rule lists the reserved words: {words:?}"
    );
    words
}

#[test]
fn textmate_grammar_names_every_reserved_word() {
    let grammar = json("editors/vscode/syntaxes/resnet.tmLanguage.json");
    assert_eq!(grammar["scopeName"], "source.resnet");
    let patterns = grammar["repository"]["keywords"]["patterns"]
        .as_array()
        .expect("a `keywords` repository entry with patterns");
    let alternatives: Vec<String> = patterns
        .iter()
        .filter_map(|p| p["match"].as_str())
        .flat_map(|m| {
            m.trim_start_matches("\\b(")
                .trim_end_matches(")\\b")
                .split('|')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    for word in reserved_words() {
        assert!(
            alternatives.contains(&word),
            "`{word}` is not in the grammar's keyword patterns"
        );
    }
    // Every pattern the top level includes exists.
    for include in grammar["patterns"].as_array().expect("top-level patterns") {
        let name = include["include"]
            .as_str()
            .expect("an include")
            .trim_start_matches('#');
        assert!(
            grammar["repository"].get(name).is_some(),
            "missing repository entry `{name}`"
        );
    }
}

#[test]
fn vscode_extension_manifest_hangs_together() {
    let manifest = json("editors/vscode/package.json");
    let contributes = &manifest["contributes"];
    let language = &contributes["languages"][0];
    assert_eq!(language["id"], "resnet");
    assert_eq!(language["extensions"][0], ".resnet");
    let grammar = &contributes["grammars"][0];
    assert_eq!(grammar["language"], "resnet");
    assert_eq!(grammar["scopeName"], "source.resnet");
    for key in [
        &language["configuration"],
        &grammar["path"],
        &manifest["main"],
    ] {
        let path = key.as_str().expect("a path").trim_start_matches("./");
        assert!(
            root().join("editors/vscode").join(path).is_file(),
            "{path} is missing"
        );
    }
    assert_eq!(
        contributes["configuration"]["properties"]["resc.path"]["default"],
        "resc"
    );
    assert!(manifest["activationEvents"]
        .as_array()
        .expect("activation events")
        .contains(&Value::from("onLanguage:resnet")));
    assert!(manifest["dependencies"]["vscode-languageclient"].is_string());
    let extension = read("editors/vscode/extension.js");
    assert!(extension.contains(r#"args: ["lsp"]"#) && extension.contains(r#"get("path")"#));

    let config = json("editors/vscode/language-configuration.json");
    assert_eq!(config["comments"]["lineComment"], "#");
    assert_eq!(config["brackets"].as_array().map(Vec::len), Some(3));

    let lock = json("editors/vscode/package-lock.json");
    assert!(lock["packages"]["node_modules/vscode-textmate"].is_object());
    assert!(lock["packages"]["node_modules/vscode-oniguruma"].is_object());
}

#[test]
fn helix_and_neovim_set_ups_start_resc_lsp() {
    let helix = read("editors/helix/languages.toml");
    for line in [
        r#"command = "resc""#,
        r#"args = ["lsp"]"#,
        r#"file-types = ["resnet"]"#,
        r##"comment-token = "#""##,
    ] {
        assert!(helix.contains(line), "languages.toml lacks `{line}`");
    }
    let neovim = read("editors/neovim/README.md");
    assert!(neovim.contains(r#"cmd = { "resc", "lsp" }"#));
    assert!(neovim.contains("vim.filetype.add({ extension = { resnet = \"resnet\" } })"));
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
#[ignore = "needs `node` and the npm registry; run with `-- --ignored`"]
fn textmate_grammar_tokenizes_the_zoo() {
    assert!(
        node_available(),
        "the tokenizer run needs `node` on the PATH"
    );
    let script = root().join("editors/vscode/test/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(Path::new(&root()).join("editors/vscode"))
        .output()
        .expect("bash runs the tokenizer script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the tokenizer test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all checks passed"), "{stdout}");
}
