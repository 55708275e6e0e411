//! `resc run` and `resc eval` end to end, on generated data and a tiny model: the run
//! directory, a SIGKILLed run resumed to the same result, coded errors, and λ.
#![cfg(feature = "cpu")]

use common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

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

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-run-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `resc run MODEL --data DATA --resume dir`.
fn resume(dir: &Path) -> Output {
    run(&[
        "run",
        MODEL,
        "--data",
        DATA,
        "--resume",
        dir.to_str().unwrap(),
    ])
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
    let whole = killed_and_resumed("cpu");
    let _ = std::fs::remove_dir_all(&whole);
}

/// 120 iterations an epoch and a checkpoint every 10: epoch 2 (iterations 121–240) lasts
/// long enough to be caught on a loaded machine.
const KILL_DATA: &str = "synthetic:classes=4,shape=1x8x8,train=960,test=32,seed=1";

/// The arguments of a 3-epoch run of the tiny model on `backend` into `out`.
fn kill_args(out: &Path, backend: &str) -> Vec<String> {
    let mut a: Vec<String> = train_args(out.to_str().unwrap(), "3")
        .into_iter()
        .map(String::from)
        .collect();
    a[3] = KILL_DATA.to_string();
    a.extend(["--backend".to_string(), backend.to_string()]);
    a
}

/// Trains the tiny model on `backend` for 3 epochs uninterrupted, then again with a
/// SIGKILL in epoch 2 and `--resume`, and checks that both end with the same metrics.
/// Returns the uninterrupted run's directory.
fn killed_and_resumed(backend: &str) -> PathBuf {
    let whole = temp(&format!("whole-{backend}"));
    let out = resc()
        .args(kill_args(&whole, backend))
        .output()
        .expect("resc runs");
    assert!(out.status.success(), "{}", text(&out));

    let killed = temp(&format!("killed-{backend}"));
    let mut child = resc()
        .args(kill_args(&killed, backend))
        .args(["--checkpoint-every", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("resc starts");
    let deadline = Instant::now() + Duration::from_secs(600);
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
            assert!(Instant::now() < deadline, "no checkpoint in ten minutes");
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
        KILL_DATA,
        "--resume",
        killed.to_str().unwrap(),
        "--backend",
        backend,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(printed.contains("resuming from"), "{printed}");
    assert!(
        !printed.contains("epoch   1/3"),
        "epoch 1 is not trained again after a kill at iteration {killed_at}: {printed}"
    );
    assert_eq!(results(&killed), results(&whole), "{backend}");
    let _ = std::fs::remove_dir_all(&killed);
    whole
}

/// A resumed run trusts nothing it reads: a `config.json` edited to an impossible
/// batch is a coded error naming the file, and a different model file or `--data` on
/// the command line is reported as ignored.
#[test]
fn a_resumed_run_validates_its_configuration_and_names_what_it_ignores() {
    let dir = temp("resume-validate");
    let out = run(&train_args(dir.to_str().unwrap(), "1"));
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&[
        "run",
        LAMBDA_MODEL,
        "--data",
        "digits",
        "--resume",
        dir.to_str().unwrap(),
        "--epochs",
        "1",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("ignoring the model file") && t.contains("--data digits"),
        "{t}"
    );
    // A byte flipped in the saved model is found by its checksum before it loads
    // (it loaded silently and changed the accuracy).
    let latest = std::fs::read_to_string(dir.join("checkpoints/latest")).unwrap();
    let model = dir
        .join("checkpoints")
        .join(latest.trim())
        .join("model.mpk");
    let pristine = std::fs::read(&model).unwrap();
    let mut flipped = pristine.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x10;
    std::fs::write(&model, &flipped).unwrap();
    for args in [
        vec![
            "eval",
            MODEL,
            "--data",
            DATA,
            "--checkpoint",
            dir.to_str().unwrap(),
        ],
        vec![
            "run",
            MODEL,
            "--data",
            DATA,
            "--resume",
            dir.to_str().unwrap(),
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        let t = text(&out);
        assert!(
            t.contains("error[E0702]") && t.contains("model.mpk was changed"),
            "{args:?}: {t}"
        );
    }
    std::fs::write(&model, &pristine).unwrap();

    // A state.json whose batch lies past the epoch's end (or whose numbers disagree).
    // Sets `batch` in a JSON file of the run, resumes, and puts the file back.
    let resume_with_batch = |file: &Path, batch: u64| -> String {
        let original = std::fs::read_to_string(file).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
        v["batch"] = serde_json::json!(batch);
        std::fs::write(file, serde_json::to_vec(&v).unwrap()).unwrap();
        let out = resume(&dir);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        std::fs::write(file, original).unwrap();
        text(&out)
    };
    let t = resume_with_batch(&model.with_file_name("state.json"), 1000);
    assert!(
        t.contains("error[E0702]") && t.contains("batch 1000"),
        "{t}"
    );
    let t = resume_with_batch(&dir.join("config.json"), 0);
    assert!(
        t.contains("error[E0702]")
            && t.contains("batch must be at least 1")
            && t.contains("config.json"),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resuming_without_a_checkpoint_is_a_coded_error() {
    let dir = temp("nockpt");
    std::fs::create_dir_all(&dir).unwrap();
    let out = resume(&dir);
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
        text(&out).contains("warning[E0705]: a resumed run keeps the configuration")
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

    // Every numeric setting is finite and in range: NaN, negative or f32-overflowing
    // values are usage errors (they trained with lr NaN to "25% accuracy", exit 0).
    for bad in [
        "--schedule=multistep:1@nan",
        "--schedule=multistep:1@-1",
        "--warmup-epochs=NaN",
        "--warmup-epochs=-1",
        "--lambda-lr=inf",
        "--lambda-lr=-1",
        "--lr=1e39",
        "--lr=NaN",
        "--momentum=NaN",
        "--weight-decay=-0.1",
    ] {
        let mut args = train_args(dir.to_str().unwrap(), "1");
        args.push(bad);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        assert!(
            text(&out).contains("error[E0704]"),
            "{bad:?}: {}",
            text(&out)
        );
        assert!(!dir.exists(), "{bad:?}: nothing is written");
    }

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

/// The GPU path (`--features wgpu`; in CI on Mesa's software Vulkan device, lavapipe):
/// training, resuming, evaluation and inference on `--backend wgpu`.
#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;

    /// Every trainable construct of the language in one small network: weighted λ, dense
    /// α, a CSP stage, drop-path and dropout.
    const GPU_MODEL: &str = "tests/fixtures/run/gpu.resnet";

    /// The last epoch's `(train loss, test loss, test accuracy)`.
    fn last(dir: &Path) -> (f64, f64, f64) {
        let text = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics.jsonl");
        let v: serde_json::Value =
            serde_json::from_str(text.lines().last().expect("an epoch")).expect("JSON");
        let f = |k: &str| v[k].as_f64().expect(k);
        (f("train_loss"), f("test_loss"), f("test_acc"))
    }

    /// A SIGKILLed wgpu run resumes to the uninterrupted run's metrics exactly.
    #[test]
    fn a_killed_wgpu_run_resumes_to_the_same_result() {
        let whole = killed_and_resumed("wgpu");
        let _ = std::fs::remove_dir_all(&whole);
    }

    /// The same seed trains to the same numbers on wgpu and on the CPU, within float
    /// rounding.
    ///
    /// Both backends start from the same weights (drawn on the host from the seed) and
    /// see the same batches in the same order; the tiny model has no dropout, whose masks
    /// come from each backend's own generator. What differs is rounding: the GPU kernels
    /// and the CPU's (Winograd F(4×4, 3×3) convolutions among them) sum in other orders.
    /// Over 40 SGD steps that stays at the rounding level (measured on lavapipe: 8e-8
    /// relative in both losses), so the losses must agree within 1e-5 relative and the
    /// accuracies exactly. Over hundreds of steps training amplifies rounding chaotically
    /// (measured at 360 steps: wgpu and the CPU's gemm, F(2×2) and F(4×4) convolutions end
    /// up to 7% apart in the train loss and 50% in a 0.02 test loss), so a long run is no
    /// measure of equality.
    #[test]
    fn the_same_seed_trains_to_the_same_numbers_on_wgpu_and_on_the_cpu() {
        let train = |backend: &str| {
            let dir = temp(&format!("same-seed-{backend}"));
            let out = run(&[
                "run",
                MODEL,
                "--data",
                "synthetic:classes=4,shape=1x8x8,train=160,test=32,seed=1",
                "--epochs",
                "2",
                "--batch",
                "8",
                "--seed",
                "7",
                "--workers",
                "1",
                "--backend",
                backend,
                "--out",
                dir.to_str().unwrap(),
            ]);
            assert!(out.status.success(), "{}", text(&out));
            let metrics = last(&dir);
            let _ = std::fs::remove_dir_all(&dir);
            metrics
        };
        let (g, c) = (train("wgpu"), train("cpu"));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-5 * a.abs().max(b.abs());
        assert!(
            close(g.0, c.0) && close(g.1, c.1) && g.2 == c.2,
            "wgpu (train loss, test loss, test accuracy) {g:?}, cpu {c:?}"
        );
    }

    /// What a successful `resc ARGS --format json` printed.
    fn json_of(args: &[&str]) -> serde_json::Value {
        let out = run(args);
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).expect("the command prints JSON")
    }

    /// One epoch of `GPU_MODEL` on wgpu, with `extra` flags; returns the run directory.
    fn train_gpu_model(name: &str, extra: &[&str]) -> PathBuf {
        let dir = temp(name);
        let mut args = train_args(dir.to_str().unwrap(), "1");
        args[1] = GPU_MODEL;
        args.extend(["--backend", "wgpu", "--lambda-lr", "0.5"]);
        args.extend(extra);
        let out = run(&args);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("note: running on wgpu adapter 0"),
            "{}",
            text(&out)
        );
        dir
    }

    /// λ (its own rate, projected into (−1, 1)), dense α, CSP, drop-path and dropout train
    /// on wgpu, with and without gradient checkpointing (the same numbers); the
    /// checkpoint evaluates and infers on wgpu and on the CPU alike.
    #[test]
    fn every_construct_trains_on_wgpu_and_its_checkpoint_runs_anywhere() {
        let dir = train_gpu_model("gpu-model", &[]);
        let (train_loss, test_loss, accuracy) = last(&dir);
        assert!(
            train_loss.is_finite() && test_loss.is_finite(),
            "{:?}",
            last(&dir)
        );
        let lambdas: Vec<f64> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("lambda.json")).unwrap())
                .unwrap();
        assert_eq!(lambdas.len(), 1);
        assert!(
            lambdas[0] != 0.0 && lambdas[0].abs() < 1.0,
            "λ moved from 0 and stays in (−1, 1): {lambdas:?}"
        );

        let recomputed = train_gpu_model("gpu-model-ckpt", &["--checkpointing"]);
        assert_eq!(results(&recomputed), results(&dir));

        for backend in ["wgpu", "cpu"] {
            let v = json_of(&[
                "eval",
                GPU_MODEL,
                "--data",
                DATA,
                "--checkpoint",
                dir.to_str().unwrap(),
                "--backend",
                backend,
                "--format",
                "json",
            ]);
            let evaluated = v["accuracy"].as_f64().expect("accuracy");
            assert!(
                (evaluated - accuracy).abs() < 1e-9,
                "eval on {backend}: {evaluated}, the run's last test accuracy {accuracy}"
            );
        }

        let png = dir.join("eight.png");
        image::GrayImage::from_fn(8, 8, |x, y| image::Luma([(x * 30 + y * 3) as u8]))
            .save(&png)
            .unwrap();
        let logits = |backend: &str| -> Vec<f64> {
            let v = json_of(&[
                "infer",
                GPU_MODEL,
                "--weights",
                dir.to_str().unwrap(),
                "--input",
                png.to_str().unwrap(),
                "--backend",
                backend,
                "--format",
                "json",
            ]);
            serde_json::from_value(v["logits"][0].clone()).expect("logits")
        };
        let (gpu, cpu) = (logits("wgpu"), logits("cpu"));
        assert_eq!(gpu.len(), 4);
        let scale = cpu.iter().fold(0f64, |m, v| m.max(v.abs()));
        for (g, c) in gpu.iter().zip(&cpu) {
            assert!((g - c).abs() <= 1e-4 * scale, "wgpu {gpu:?}, cpu {cpu:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&recomputed);
    }

    /// `--backend wgpu` where the Vulkan loader finds no driver (an empty ICD list) is
    /// E0507 with exit code 5, naming what was looked for and how to get it; so is an
    /// adapter number that does not exist. Nothing is written.
    #[test]
    fn no_adapter_is_a_coded_error() {
        let dir = temp("no-adapter");
        let mut args = train_args(dir.to_str().unwrap(), "1");
        args.extend(["--backend", "wgpu"]);
        let out = resc()
            .args(&args)
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .expect("resc runs");
        let t = text(&out);
        assert_eq!(out.status.code(), Some(5), "{t}");
        assert!(
            t.contains("error[E0507]") && t.contains("no Vulkan adapter"),
            "{t}"
        );
        assert!(t.contains("mesa-vulkan-drivers"), "{t}");
        assert!(!t.contains("panicked"), "{t}");
        assert!(!dir.exists(), "a run that cannot start writes nothing");

        args.extend(["--device", "7"]);
        let out = run(&args);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(5), "{t}");
        assert!(
            t.contains("error[E0507]") && t.contains("adapter number 7") && t.contains("0: "),
            "{t}"
        );
        assert!(!dir.exists(), "a run that cannot start writes nothing");
    }
}
