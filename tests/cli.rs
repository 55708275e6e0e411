//! The `resc` binary as a user runs it: exit codes, human and JSON output.
//!
//! Exit codes: 0 success, 1 diagnostics, 2 usage error, 3 I/O error (4 data and 5 device
//! errors are tested with the commands that meet them).

use serde_json::Value;
use std::process::{Command, Output};

/// Runs `resc` with `args` in the crate root.
fn resc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resc"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the resc binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// Asserts the exit code, showing the output when it differs.
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}\n--- stdout:\n{}\n--- stderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", stdout(out)))
}

#[test]
fn check_resnet50_prints_the_table() {
    let out = resc(&["check", "models/resnet50.resnet"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("25,557,032"),
        "no parameter count in:\n{text}"
    );
    assert!(text.contains("network `resnet50`"), "{text}");
    for stage in ["conv1", "layer1", "layer2", "layer3", "layer4", "total"] {
        assert!(
            text.lines().any(|l| l.starts_with(stage)),
            "no row `{stage}` in:\n{text}"
        );
    }
    assert!(
        stderr(&out).is_empty(),
        "unexpected stderr: {}",
        stderr(&out)
    );
}

#[test]
fn check_json_report() {
    let out = resc(&["check", "models/resnet50.resnet", "--format", "json"]);
    assert_exit(&out, 0);
    let v = json(&out);
    assert_eq!(v["ok"], Value::Bool(true));
    assert_eq!(v["diagnostics"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["report"]["params"].as_u64(), Some(25_557_032));
    assert_eq!(v["report"]["network"], "resnet50");
    let macs = v["report"]["macs"].as_u64().expect("MACs are a number");
    assert!(
        (4_000_000_000..4_200_000_000).contains(&macs),
        "ResNet-50 MACs: {macs}"
    );
    let groups = v["report"]["groups"].as_array().expect("groups are a list");
    let group_params: u64 = groups.iter().map(|g| g["params"].as_u64().unwrap()).sum();
    assert_eq!(group_params, 25_557_032, "the stages add up to the total");
}

#[test]
fn check_set_overrides_a_parameter() {
    let out = resc(&[
        "check",
        "models/resnet20.resnet",
        "--set",
        "depth=56",
        "--format",
        "json",
    ]);
    assert_exit(&out, 0);
    // He et al. 2015, Table 6: ResNet-56 has 0.85M parameters (853,018 exactly).
    assert_eq!(json(&out)["report"]["params"].as_u64(), Some(853_018));
}

#[test]
fn failing_model_json_diagnostics() {
    let out = resc(&["check", "tests/ui/three-errors.resnet", "--format", "json"]);
    assert_exit(&out, 1);
    let v = json(&out);
    assert_eq!(v["ok"], Value::Bool(false));
    let diags = v["diagnostics"].as_array().expect("diagnostics are a list");
    let codes: Vec<&str> = diags.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["E0202", "E0205", "E0301"]);
    for d in diags {
        assert_eq!(d["severity"], "error");
        assert!(!d["message"].as_str().unwrap().is_empty());
    }
    // `batchnorm` at line 12, column 35.
    let primary = diags[0]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["primary"] == Value::Bool(true))
        .expect("a primary label");
    assert_eq!(primary["span"]["file"], "tests/ui/three-errors.resnet");
    assert_eq!(primary["span"]["line"].as_u64(), Some(12));
    assert_eq!(primary["span"]["column"].as_u64(), Some(35));
    assert_eq!(primary["span"]["end_column"].as_u64(), Some(44));
    assert_eq!(diags[0]["hints"][0], "did you mean `bn`?");
    // The residual mismatch happened inside `basic`, instantiated at line 14.
    let trace = diags[2]["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 1);
    assert_eq!(trace[0]["span"]["line"].as_u64(), Some(14));
}

#[test]
fn failing_model_human_diagnostics() {
    let out = resc(&["check", "tests/ui/three-errors.resnet"]);
    assert_exit(&out, 1);
    assert!(
        stdout(&out).is_empty(),
        "diagnostics go to stderr: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    for code in ["error[E0202]", "error[E0205]", "error[E0301]"] {
        assert!(err.contains(code), "no {code} in:\n{err}");
    }
    assert!(err.contains("3 errors"), "no error count in:\n{err}");
    assert!(
        !err.contains("\x1b["),
        "no colour when stderr is not a terminal"
    );
}

#[test]
fn set_of_unknown_parameter_fails() {
    let out = resc(&["check", "models/resnet20.resnet", "--set", "dept=56"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("error[E0209]") && err.contains("<command line>"),
        "{err}"
    );
}

#[test]
fn explain_prints_the_explanation() {
    let out = resc(&["explain", "E0301"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(text.starts_with("# E0301"), "{text}");
    assert_eq!(text, resc::diag::Code::E0301.explanation());
    // Codes are case-insensitive.
    let lower = resc(&["explain", "e0301"]);
    assert_exit(&lower, 0);
    assert_eq!(stdout(&lower), text);
}

#[test]
fn explain_without_a_code_lists_them_all() {
    let out = resc(&["explain"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for code in resc::diag::ALL_CODES {
        assert!(text.contains(code.as_str()), "{code} is not listed");
    }
}

#[test]
fn explain_unknown_code_is_a_usage_error() {
    let out = resc(&["explain", "E9999"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("error[E0901]: `E9999` is not a resc error code"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unknown_subcommand_and_flag_are_usage_errors() {
    assert_exit(&resc(&["frobnicate", "models/resnet50.resnet"]), 2);
    assert_exit(
        &resc(&["check", "models/resnet50.resnet", "--frobnicate"]),
        2,
    );
    assert_exit(
        &resc(&["check", "models/resnet50.resnet", "--format", "yaml"]),
        2,
    );
    assert_exit(&resc(&["check"]), 2);
    assert_exit(&resc(&[]), 2);
}

#[test]
fn help_and_version_succeed() {
    let help = resc(&["--help"]);
    assert_exit(&help, 0);
    assert!(stdout(&help).contains("check"), "{}", stdout(&help));
    assert_exit(&resc(&["--version"]), 0);
}

#[test]
fn missing_file_is_an_io_error() {
    let out = resc(&["check", "models/no-such-model.resnet"]);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains("error[E0103]: cannot read `models/no-such-model.resnet`"),
        "{}",
        stderr(&out)
    );
    assert_exit(&resc(&["graph", "models/no-such-model.resnet"]), 3);
    // A directory is no model file either.
    let out = resc(&["check", "models"]);
    assert_exit(&out, 3);
    assert!(stderr(&out).contains("error[E0103]"), "{}", stderr(&out));
}

#[test]
fn graph_emits_dot() {
    let out = resc(&["graph", "models/resnet20.resnet", "--emit", "dot"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("digraph"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.trim_end().ends_with('}'));
    assert!(text.contains("->"), "no edges");
}

#[test]
fn graph_emits_json() {
    let out = resc(&["graph", "models/resnet20.resnet", "--emit", "json"]);
    assert_exit(&out, 0);
    let v = json(&out);
    let nodes = v["nodes"].as_array().expect("a node list");
    assert!(
        nodes.len() > 50,
        "ResNet-20 has more than 50 nodes, found {}",
        nodes.len()
    );
    let params: u64 = nodes
        .iter()
        .map(|n| n["params"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(params, 269_722, "ResNet-20 parameters");
    for node in nodes {
        assert!(
            node["name"].as_str().is_some_and(|n| !n.is_empty()),
            "{node}"
        );
        for input in node["inputs"].as_array().unwrap() {
            assert!(
                input.as_u64().unwrap() < node["id"].as_u64().unwrap(),
                "inputs come first: {node}"
            );
        }
    }
}

#[test]
fn graph_of_failing_model_reports_diagnostics() {
    let out = resc(&["graph", "tests/ui/three-errors.resnet", "--emit", "json"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("error[E0301]"), "{}", stderr(&out));
}

/// A closed pipe on stdout (`resc graph … | head -1`) ends the command quietly, never
/// with a panic.
#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_is_not_a_panic() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_resc"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["graph", "models/resnet152.resnet", "--emit", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("resc starts");
    let mut first = [0u8; 1];
    child
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut first)
        .expect("some output");
    // The read end is dropped here: the rest of the output meets a closed pipe.
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("piped")
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.code().is_none_or(|c| c != 101), "{status:?}");
}

/// `resc fmt` on a path it cannot read is a coded error naming the file, exit code 3.
#[test]
fn fmt_of_an_unreadable_path_is_a_coded_error() {
    let out = resc(&["fmt", "--check", "models/no-such-model.resnet"]);
    assert_exit(&out, 3);
    let err = stderr(&out);
    assert!(
        err.contains("error[E0801]") && err.contains("no-such-model.resnet"),
        "{err}"
    );
}

/// `check --passes` shows what each graph pass of the inference pipeline did, and the
/// weight passes that `infer` and `export` run after it.
#[test]
fn check_passes_shows_the_inference_pipeline() {
    let out = resc(&["check", "models/resnet20.resnet", "--passes"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    for pass in resc::passes::inference() {
        assert!(
            text.contains(pass.name),
            "{} is not listed:\n{text}",
            pass.name
        );
    }
    assert!(
        text.contains(
            "then on the weights (resc infer, export; CPU): fold-norms → merge-branches → fold-norms → fuse-adds → select-kernels"
        ),
        "{text}"
    );
    // The cost table follows, for the optimised graph: ResNet-20's 269,722 parameters.
    assert!(text.contains("269,722"), "{text}");
}
