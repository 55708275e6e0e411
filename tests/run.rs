//! `resc run` and `resc eval` end to end, on generated data and a tiny model: the run
//! directory, a SIGKILLed run resumed to the same result, coded errors, and λ.
#![cfg(feature = "cpu")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MODEL: &str = "tests/fixtures/run/tiny.resnet";
const LAMBDA_MODEL: &str = "tests/fixtures/run/weighted.resnet";
const DATA: &str = "synthetic:classes=4,shape=1x8x8,train=96,test=32,seed=1";

fn resc() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_resc"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

fn run(args: &[&str]) -> Output {
    resc().args(args).output().expect("resc runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Test loss and accuracy of every epoch of a run directory.
fn results(dir: &Path) -> Vec<(u32, String, String)> {
    let text = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics.jsonl");
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (
                v["epoch"].as_u64().expect("epoch") as u32,
                format!("{:.6}", v["train_loss"].as_f64().expect("train_loss")),
                format!(
                    "{:.6} {:.6}",
                    v["test_loss"].as_f64().expect("test_loss"),
                    v["test_acc"].as_f64().expect("test_acc")
                ),
            )
        })
        .collect()
}

fn train_args<'a>(out: &'a str, epochs: &'a str) -> Vec<&'a str> {
    vec![
        "run",
        MODEL,
        "--data",
        DATA,
        "--epochs",
        epochs,
        "--batch",
        "8",
        "--seed",
        "7",
        "--workers",
        "1",
        "--out",
        out,
    ]
}

#[test]
fn a_run_writes_config_metrics_and_checkpoints_and_eval_reads_them() {
    let dir = temp("basic");
    let out = run(&train_args(dir.to_str().unwrap(), "2"));
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("optimizer Sgd lr 0.1"), "{printed}");
    assert!(printed.contains("epoch   2/2"), "{printed}");
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["epochs"], 2);
    assert_eq!(config["nesterov"], true);
    assert_eq!(results(&dir).len(), 2);
    let latest = std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap();
    assert_eq!(
        latest, "iter-24",
        "96 images / batch 8 = 12 iterations per epoch"
    );
    assert!(dir.join("checkpoints/iter-24/model.mpk").is_file());
    let curves = std::fs::read_to_string(dir.join("curves.svg")).expect("curves.svg");
    assert!(curves.starts_with("<svg") && curves.contains("error (%)"));
    assert!(
        !dir.join("lambda.svg").exists(),
        "no λ histogram for a model without weighted shortcuts"
    );

    let out = run(&[
        "eval",
        MODEL,
        "--data",
        DATA,
        "--checkpoint",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let confusion = v["confusion"].as_array().expect("a confusion matrix");
    assert_eq!(confusion.len(), 4);
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(total, 32, "every test image is counted once");
    let metrics = results(&dir);
    let last_acc: f64 = metrics[1].2.split(' ').nth(1).unwrap().parse().unwrap();
    assert!((v["accuracy"].as_f64().unwrap() - last_acc).abs() < 1e-6);
    let out = run(&[
        "eval",
        MODEL,
        "--data",
        DATA,
        "--checkpoint",
        dir.to_str().unwrap(),
    ]);
    assert!(text(&out).contains("confusion matrix"), "{}", text(&out));

    // The checkpoint read by another network: narrower layers, or more of them.
    let tiny = std::fs::read_to_string(MODEL).unwrap();
    for (name, changed, says) in [
        (
            "narrower",
            tiny.replace("conv(8,", "conv(6,"),
            "is [8, 1, 3, 3] in the record, [6, 1, 3, 3] in the model",
        ),
        (
            "deeper",
            tiny.replacen("    relu\n", "    relu\n    conv(8, k: 1); bn; relu\n", 1),
            "layers with parameters in the record",
        ),
    ] {
        assert_ne!(changed, tiny);
        let other = temp(&format!("{name}.resnet"));
        std::fs::write(&other, changed).unwrap();
        let out = run(&[
            "eval",
            other.to_str().unwrap(),
            "--data",
            DATA,
            "--checkpoint",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(3), "{name}: {}", text(&out));
        let t = text(&out);
        assert!(
            t.contains("error[E0702]") && t.contains(says),
            "{name}: {t}"
        );
        assert!(!t.contains("panicked"), "{t}");
        let _ = std::fs::remove_file(&other);
    }

    // A fresh run into the same directory stops before touching the finished one.
    let before = std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap();
    let out = run(&train_args(dir.to_str().unwrap(), "1"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0703]") && t.contains("--resume"), "{t}");
    assert_eq!(
        std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap(),
        "iter-24"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run killed with SIGKILL in its second epoch and resumed ends exactly where the
/// uninterrupted run with the same seed ends.
#[test]
fn a_killed_run_resumes_to_the_same_result() {
    // 120 iterations an epoch and a checkpoint every 10: epoch 2 (iterations 121–240)
    // lasts long enough to be caught on a loaded machine.
    const DATA: &str = "synthetic:classes=4,shape=1x8x8,train=960,test=32,seed=1";
    let args = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = train_args(out.to_str().unwrap(), "3")
            .into_iter()
            .map(String::from)
            .collect();
        a[3] = DATA.to_string();
        a
    };
    let whole = temp("whole");
    let out = resc().args(args(&whole)).output().expect("resc runs");
    assert!(out.status.success(), "{}", text(&out));

    let killed = temp("killed");
    let mut child = resc()
        .args(args(&killed))
        .args(["--checkpoint-every", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("resc starts");
    let deadline = Instant::now() + Duration::from_secs(300);
    let pointer = killed.join("checkpoints/latest");
    let mut killed_at = 0;
    while killed_at == 0 {
        let at: u64 = std::fs::read_to_string(&pointer)
            .ok()
            .and_then(|s| s.strip_prefix("iter-")?.parse().ok())
            .unwrap_or(0);
        if (120..240).contains(&at) {
            child.kill().expect("SIGKILL");
            killed_at = at;
        } else {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the run ended ({status}) before it could be killed");
            }
            assert!(at < 240, "epoch 2 ended before the run could be killed");
            assert!(Instant::now() < deadline, "no checkpoint in five minutes");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    child.wait().expect("reaped");
    let done = results(&killed);
    assert!(done.len() < 3, "killed before its end: {done:?}");

    let out = run(&[
        "run",
        MODEL,
        "--data",
        DATA,
        "--resume",
        killed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("resuming from"), "{printed}");
    assert!(
        !printed.contains("epoch   1/3"),
        "epoch 1 is not trained again after a kill at iteration {killed_at}: {printed}"
    );
    assert_eq!(results(&killed), results(&whole));
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&killed);
}

#[test]
fn resuming_without_a_checkpoint_is_a_coded_error() {
    let dir = temp("nockpt");
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&[
        "run",
        MODEL,
        "--data",
        DATA,
        "--resume",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("error[E0702]"), "{}", text(&out));
    // A corrupt checkpoint state.
    let good = temp("corrupt");
    let out = run(&train_args(good.to_str().unwrap(), "1"));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(good.join("checkpoints/iter-12/state.json"), "{ not json").unwrap();
    let out = run(&[
        "run",
        MODEL,
        "--data",
        DATA,
        "--resume",
        good.to_str().unwrap(),
        "--lr",
        "0.5",
        "--set",
        "classes=4",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("[E0702]"), "{}", text(&out));
    // Settings other than --epochs cannot change a resumed run: said, not silently dropped.
    assert!(
        text(&out).contains("warning: a resumed run keeps the configuration")
            && text(&out).contains("ignoring --lr, --set"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&good);
}

#[test]
fn a_model_that_does_not_fit_the_data_is_a_coded_error() {
    let out = run(&[
        "run",
        "models/resnet20.resnet",
        "--data",
        DATA,
        "--epochs",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0701]"), "{t}");
    assert!(t.contains("[3, 32, 32]") && t.contains("[1, 8, 8]"), "{t}");
}

/// `resc run … --data cifar10` with no data anywhere: where it looked, how to get it, exit 4.
#[test]
fn missing_cifar_says_where_it_looked() {
    let empty = temp("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = resc()
        .args(["run", "models/wrn-16-8.resnet", "--data", "cifar10"])
        .env("RESC_DATA", &empty)
        .env("XDG_CACHE_HOME", &empty)
        .env("HOME", &empty)
        .output()
        .expect("resc runs");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0601]"), "{t}");
    assert!(t.contains(&format!("looked in {}", empty.display())), "{t}");
    assert!(t.contains("resc data fetch cifar10"), "{t}");
    let _ = std::fs::remove_dir_all(&empty);
}

/// λ starts at 0, moves with its own learning rate, stays inside (−1, 1); with a zero
/// λ learning rate it stays at 0.
#[test]
fn lambda_trains_with_its_own_rate_inside_the_open_interval() {
    let lambdas = |extra: &[&str]| -> Vec<f64> {
        let dir = temp(&format!("lambda{}", extra.len()));
        let mut args = vec![
            "run",
            LAMBDA_MODEL,
            "--data",
            DATA,
            "--epochs",
            "1",
            "--batch",
            "8",
            "--seed",
            "1",
            "--workers",
            "0",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        let v: Vec<f64> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("lambda.json")).unwrap())
                .unwrap();
        let svg = std::fs::read_to_string(dir.join("lambda.svg")).expect("lambda.svg");
        assert!(svg.contains("learned λ of 2 weighted shortcuts after epoch 1"));
        let _ = std::fs::remove_dir_all(&dir);
        v
    };
    let frozen = lambdas(&["--lambda-lr", "0"]);
    assert_eq!(
        frozen,
        vec![0.0, 0.0],
        "λ starts at 0 and does not move at lr 0"
    );
    let trained = lambdas(&["--lambda-lr", "0.5"]);
    assert!(trained.iter().all(|l| *l != 0.0), "λ moved: {trained:?}");
    assert!(
        trained.iter().all(|l| l.abs() < 1.0),
        "λ stays in (−1, 1): {trained:?}"
    );
    let big = lambdas(&["--lambda-lr", "1000"]);
    assert!(
        big.iter().all(|l| l.abs() < 1.0),
        "projected even with a huge rate: {big:?}"
    );
    assert!(
        big.iter().any(|l| l.abs() > 0.99),
        "a huge rate reaches the bound: {big:?}"
    );
}

#[test]
fn bad_training_options_and_unwritable_run_directories_are_coded_errors() {
    let dir = temp("badopt");
    let mut args = train_args(dir.to_str().unwrap(), "1");
    args.extend(["--schedule", "sometimes"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0704]") && t.contains("sometimes"), "{t}");

    // A batch of nothing is a usage error, not silently a batch of one.
    let mut args = train_args(dir.to_str().unwrap(), "1");
    let at = args
        .iter()
        .position(|a| *a == "--batch")
        .expect("a batch flag");
    args[at + 1] = "0";
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("--batch") && t.contains("at least 1"), "{t}");

    // The run directory would be inside a regular file.
    let file = temp("afile");
    std::fs::write(&file, "not a directory").unwrap();
    let inside = file.join("run");
    let out = run(&train_args(inside.to_str().unwrap(), "1"));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0703]"), "{t}");
    assert!(t.contains(&inside.display().to_string()), "{t}");
    let _ = std::fs::remove_file(&file);
}

/// A model file's `train { … }` recipe sets the run's configuration; flags override it.
#[test]
fn the_model_files_recipe_is_the_starting_point_and_flags_override_it() {
    let config = |extra: &[&str]| -> (serde_json::Value, String) {
        let dir = temp(&format!("recipe{}", extra.len()));
        let mut args = vec![
            "run",
            "tests/fixtures/run/recipe.resnet",
            "--data",
            DATA,
            "--workers",
            "0",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        let v = serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
            .unwrap();
        let latest = std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        (v, format!("{}\n{latest}", text(&out)))
    };
    let (c, printed) = config(&[]);
    assert_eq!(c["optimizer"], "adam");
    assert_eq!(c["lr"], 0.01);
    assert_eq!(c["weight_decay"], 0.0);
    assert_eq!(c["schedule"]["kind"], "constant");
    assert_eq!(
        (c["epochs"].as_u64(), c["batch"].as_u64()),
        (Some(1), Some(16))
    );
    assert_eq!(c["augment"]["pad"], 1);
    assert_eq!(c["augment"]["pad_mode"], "reflect");
    assert_eq!(c["augment"]["flip"], false);
    assert_eq!(
        c["overrides"],
        serde_json::json!(["dropout=0.25"]),
        "the recipe's dropout sets the network parameter"
    );
    assert!(printed.contains("then the `train` recipe of tests/fixtures/run/recipe.resnet"));
    assert!(
        printed.ends_with("iter-6"),
        "96 images in batches of 16: {printed}"
    );

    let (c, printed) = config(&[
        "--lr",
        "0.05",
        "--flip",
        "true",
        "--schedule",
        "cosine",
        "--set",
        "dropout=0",
    ]);
    assert_eq!(c["overrides"], serde_json::json!(["dropout=0"]));
    assert_eq!(c["optimizer"], "adam", "kept from the recipe");
    assert_eq!(c["lr"], 0.05);
    assert_eq!(c["augment"]["flip"], true);
    assert_eq!(c["schedule"]["kind"], "cosine");
    assert!(printed.contains("then command-line flags"), "{printed}");
}

/// `--checkpointing` (recomputing activations in the backward pass) trains to the same
/// numbers.
#[test]
fn gradient_checkpointing_trains_the_same() {
    let plain = temp("ckpt-off");
    let out = run(&train_args(plain.to_str().unwrap(), "1"));
    assert!(out.status.success(), "{}", text(&out));
    let recomputed = temp("ckpt-on");
    let mut args = train_args(recomputed.to_str().unwrap(), "1");
    args.push("--checkpointing");
    let out = run(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(results(&recomputed), results(&plain));
    let _ = std::fs::remove_dir_all(&plain);
    let _ = std::fs::remove_dir_all(&recomputed);
}
