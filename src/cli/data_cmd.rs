//! `resc data fetch cifar10|cifar100` (download, verify, unpack) and `resc data info DATA`
//! (what a `--data` value loads to). Dataset errors exit with [`EXIT_DATA`].

use super::{EXIT_DATA, EXIT_OK, EXIT_USAGE};
use crate::data::fetch::{self, Event, Request};
use crate::data::{self, CifarKind, DataSource};
use crate::diag::{Code, Diagnostic};
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub(super) enum DataCommand {
    /// Download a dataset's official archive, verify its MD5 checksum and unpack it.
    ///
    /// The data goes to --data-dir, else $RESC_DATA, else the user cache directory
    /// (~/.cache/resc on Linux) — the places `--data cifar10` searches. A download that
    /// fails or does not match the checksum is deleted and never unpacked; run the command
    /// again to retry.
    Fetch {
        /// The dataset.
        #[arg(value_enum)]
        dataset: Fetchable,
        /// The directory to put the dataset in.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Download from this URL (a mirror) instead of the official one.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The archive's expected MD5 (hex), for an archive other than the official one.
        #[arg(long, value_name = "HEX")]
        md5: Option<String>,
        /// Download even if the dataset is already present.
        #[arg(long)]
        force: bool,
    },
    /// Load a dataset and print its classes, image shape, split sizes and statistics.
    Info {
        /// cifar10, cifar100, digits, synthetic[:options], or an image folder.
        data: String,
        /// The directory holding downloaded datasets (default: $RESC_DATA, then the cache).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: super::Format,
    },
}

/// The datasets `resc data fetch` can download.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(super) enum Fetchable {
    Cifar10,
    Cifar100,
}

pub(super) fn run(command: DataCommand) -> i32 {
    match command {
        DataCommand::Fetch {
            dataset,
            data_dir,
            url,
            md5,
            force,
        } => {
            let kind = match dataset {
                Fetchable::Cifar10 => CifarKind::Cifar10,
                Fetchable::Cifar100 => CifarKind::Cifar100,
            };
            run_fetch(kind, data_dir.as_deref(), url, md5, force)
        }
        DataCommand::Info {
            data,
            data_dir,
            format,
        } => info(&data, data_dir.as_deref(), format),
    }
}

fn run_fetch(
    kind: CifarKind,
    data_dir: Option<&Path>,
    url: Option<String>,
    md5: Option<String>,
    force: bool,
) -> i32 {
    let Some(dir) = data::default_fetch_dir(data_dir) else {
        return super::fail(
            Diagnostic::error(
                Code::E0608,
                "cannot download: no directory to put the data in",
            )
            .hint("give --data-dir DIR or set $RESC_DATA"),
            EXIT_USAGE,
        );
    };
    let mut request = Request::official(kind, &dir);
    if let Some(url) = url {
        request.url = url;
    }
    if let Some(md5) = md5 {
        request.md5 = md5;
    }
    request.force = force;
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    match fetch::fetch(&request, &mut |event| progress.show(event)) {
        Ok(_) => EXIT_OK,
        Err(e) => {
            progress.abandon();
            super::fail(e, EXIT_DATA)
        }
    }
}

const BAR_TEMPLATE: &str = "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}";
const SPINNER_TEMPLATE: &str = "{spinner} {bytes} {bytes_per_sec}";

/// Shows fetch events: a progress bar on a terminal, else a few plain lines.
struct Progress {
    bar: Option<ProgressBar>,
    terminal: bool,
    total: Option<u64>,
    next_tenth: u64,
}

impl Progress {
    fn new(terminal: bool) -> Progress {
        Progress {
            bar: None,
            terminal,
            total: None,
            next_tenth: 1,
        }
    }

    fn show(&mut self, event: Event) {
        match event {
            Event::AlreadyPresent(dir) => {
                println!(
                    "already present: {} (use --force to download again)",
                    dir.display()
                )
            }
            Event::Started { url, total } => {
                self.total = total;
                eprintln!("downloading {url}");
                if self.terminal {
                    let bar = ProgressBar::new(total.unwrap_or(0));
                    let template = if total.is_some() {
                        BAR_TEMPLATE
                    } else {
                        SPINNER_TEMPLATE
                    };
                    if let Ok(style) = ProgressStyle::with_template(template) {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
            }
            Event::Progress { bytes } => match (&self.bar, self.total) {
                (Some(bar), _) => bar.set_position(bytes),
                (None, Some(total)) if total > 0 && bytes * 10 >= total * self.next_tenth => {
                    eprintln!("  {}% ({bytes} of {total} bytes)", self.next_tenth * 10);
                    self.next_tenth = bytes * 10 / total + 1;
                }
                _ => {}
            },
            Event::Verified { bytes } => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                eprintln!("downloaded {bytes} bytes; MD5 checksum verified");
            }
            Event::Unpacking => eprintln!("unpacking"),
            Event::Done(dir) => println!("ready: {}", dir.display()),
        }
    }

    fn abandon(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

fn info(text: &str, data_dir: Option<&Path>, format: super::Format) -> i32 {
    let loaded = text
        .parse::<DataSource>()
        .and_then(|source| data::load(&source, data_dir));
    let dataset = match loaded {
        Ok(d) => d,
        Err(e) => return super::fail(e, EXIT_DATA),
    };
    let classes = dataset.classes();
    let counts = (
        dataset.train.class_counts(classes),
        dataset.test.class_counts(classes),
    );
    match format {
        super::Format::Json => {
            let out = json!({
                "name": dataset.name,
                "shape": dataset.shape(),
                "classes": dataset.class_names,
                "train": dataset.train.len(),
                "test": dataset.test.len(),
                "train_per_class": counts.0,
                "test_per_class": counts.1,
                "mean": dataset.mean,
                "std": dataset.std,
            });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        super::Format::Human => {
            let [c, h, w] = dataset.shape();
            println!("dataset  {}", dataset.name);
            println!("images   {c}×{h}×{w}");
            println!(
                "train    {} images\ntest     {} images",
                thousands(dataset.train.len()),
                thousands(dataset.test.len())
            );
            println!("mean     {:?}\nstd      {:?}", dataset.mean, dataset.std);
            println!("classes  {classes}");
            for (i, name) in dataset.class_names.iter().enumerate() {
                println!(
                    "  {i:>3}  {name:<16} {:>7} train {:>7} test",
                    thousands(counts.0[i]),
                    thousands(counts.1[i])
                );
            }
        }
    }
    EXIT_OK
}

/// `1437` → `1,437`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_templates_are_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1442), "1,442");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
