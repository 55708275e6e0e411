//! Weights in: state dicts exported by other frameworks (safetensors, PyTorch `.pt`),
//! read with Burn's store crate and applied to a [`Net`] by name.
//!
//! Every tensor of a net has a source name, `{node}.{tensor}` (`layer1.0.residual.conv1.weight`).
//! A [`NameMap`] rewrites node names into a framework's (`layer1.0.conv1`); tensor
//! names already follow PyTorch (`weight`, `bias`, `running_mean`, `running_var`). The
//! [`LoadReport`] lists what was applied, what the file lacks (with the layer's source
//! span), what the file has that the net does not use, and shape mismatches.

use super::layers::LayerRecord;
use super::net::{Net, NetRecord};
use super::Network;
use crate::source::{SourceMap, Span};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::Backend;
use burn_store::{
    ApplyError, KeyRemapper, ModuleSnapshot, ModuleStore, PytorchStore, SafetensorsStore,
    TensorSnapshot,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

/// Rewrites source node names into a framework's names.
///
/// A rule is `pattern → replacement` over dot-separated segments. In a pattern, `*`
/// matches one segment and `**` any number of segments (at least zero); each wildcard
/// captures what it matched, and the replacement's wildcards are filled with the
/// captures in order. The first matching rule applies; a name no rule matches is kept.
///
/// ```
/// # use resc::lower::NameMap;
/// let map = NameMap::new()
///     .rule("conv1.conv1", "conv1")
///     .rule("*.*.residual.*", "*.*.*")
///     .rule("*.*.shortcut.conv1", "*.*.downsample.0");
/// assert_eq!(map.apply("layer1.0.residual.bn2"), "layer1.0.bn2");
/// assert_eq!(map.apply("layer2.0.shortcut.conv1"), "layer2.0.downsample.0");
/// assert_eq!(map.apply("fc"), "fc");
/// ```
#[derive(Clone, Debug, Default)]
pub struct NameMap {
    rules: Vec<(Vec<String>, Vec<String>)>,
}

impl NameMap {
    /// The identity map: framework names equal source names.
    pub fn new() -> NameMap {
        NameMap::default()
    }

    /// torchvision's ResNet names (also timm's and akamaster's): the residual branch's
    /// layers sit directly in the block (`layer1.0.conv1` for `layer1.0.residual.conv1`),
    /// the projection shortcut is `downsample.0`/`downsample.1`, and the ImageNet stem
    /// (`stage conv1 { conv; bn; … }`) is `conv1`/`bn1`.
    ///
    /// A stop-gap until model files declare their names for a framework (see the
    /// lowering notes); the rules are exactly what such a declaration would hold.
    pub fn torchvision() -> NameMap {
        NameMap::new()
            .rule("conv1.conv1", "conv1")
            .rule("conv1.bn1", "bn1")
            .rule("*.*.residual.**", "*.*.**")
            .rule("*.*.shortcut.conv1", "*.*.downsample.0")
            .rule("*.*.shortcut.bn1", "*.*.downsample.1")
    }

    /// Adds a rule (rules are tried in the order they were added).
    pub fn rule(mut self, pattern: &str, replacement: &str) -> NameMap {
        let split = |s: &str| s.split('.').map(str::to_string).collect();
        self.rules.push((split(pattern), split(replacement)));
        self
    }

    /// The framework key of a tensor's source name: the node part mapped, the tensor
    /// name kept (`layer1.0.residual.conv1.weight` → `layer1.0.conv1.weight`).
    pub fn key(&self, name: &str) -> String {
        match name.rsplit_once('.') {
            Some((node, tensor)) => {
                let node = self.apply(node);
                if node.is_empty() {
                    tensor.to_string()
                } else {
                    format!("{node}.{tensor}")
                }
            }
            None => name.to_string(),
        }
    }

    /// The framework name of a source node name.
    pub fn apply(&self, name: &str) -> String {
        let segments: Vec<&str> = name.split('.').collect();
        for (pattern, replacement) in &self.rules {
            let mut captures = Vec::new();
            if matches(pattern, &segments, &mut captures) {
                return fill(replacement, &captures);
            }
        }
        name.to_string()
    }
}

/// Matches `segments` against `pattern`, collecting the wildcards' captures.
fn matches(pattern: &[String], segments: &[&str], captures: &mut Vec<String>) -> bool {
    match pattern.split_first() {
        None => segments.is_empty(),
        Some((p, rest)) if p == "**" => {
            for take in 0..=segments.len() {
                let mark = captures.len();
                captures.push(segments[..take].join("."));
                if matches(rest, &segments[take..], captures) {
                    return true;
                }
                captures.truncate(mark);
            }
            false
        }
        Some((p, rest)) => match segments.split_first() {
            Some((s, tail)) if p == "*" => {
                captures.push(s.to_string());
                matches(rest, tail, captures) || {
                    captures.pop();
                    false
                }
            }
            Some((s, tail)) if p == s => matches(rest, tail, captures),
            _ => false,
        },
    }
}

fn fill(replacement: &[String], captures: &[String]) -> String {
    let mut next = captures.iter();
    let parts: Vec<String> = replacement
        .iter()
        .map(|r| match r.as_str() {
            "*" | "**" => next.next().cloned().unwrap_or_default(),
            _ => r.clone(),
        })
        .filter(|p| !p.is_empty())
        .collect();
    parts.join(".")
}

/// A tensor the net has but the file lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Missing {
    /// The source name (`layer1.0.residual.conv1.weight`).
    pub name: String,
    /// The key looked up in the file (`layer1.0.conv1.weight`).
    pub key: String,
    /// The source of the layer that owns the tensor.
    pub span: Span,
}

/// A tensor whose shape in the file differs from the net's.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    pub name: String,
    pub key: String,
    pub expected: Vec<usize>,
    pub found: Vec<usize>,
    pub span: Span,
}

/// What loading a state dict did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Source names of the tensors that were loaded.
    pub applied: Vec<String>,
    pub missing: Vec<Missing>,
    /// Keys of the file that no tensor of the net reads (PyTorch's BatchNorm
    /// `num_batches_tracked` counters are ignored, not reported).
    pub unexpected: Vec<String>,
    pub mismatched: Vec<Mismatch>,
    /// Other failures (a tensor that could not be read or converted).
    pub errors: Vec<String>,
}

impl LoadReport {
    /// True when every tensor of the net was loaded and every key of the file used.
    pub fn is_exact(&self) -> bool {
        self.missing.is_empty()
            && self.unexpected.is_empty()
            && self.mismatched.is_empty()
            && self.errors.is_empty()
    }

    /// A readable summary; each problem names the layer's source location.
    pub fn render(&self, sources: &SourceMap) -> String {
        let at = |span: Span| {
            let (line, col) = sources.line_col(span.file, span.start);
            format!("{}:{line}:{col}", sources.get(span.file).name)
        };
        let mut out = format!("loaded {} tensors", self.applied.len());
        for m in &self.missing {
            let _ = write!(
                out,
                "\nmissing: `{}` (for `{}`, {})",
                m.key,
                m.name,
                at(m.span)
            );
        }
        for m in &self.mismatched {
            let _ = write!(
                out,
                "\nshape mismatch: `{}` is {:?} in the file, {:?} in `{}` ({})",
                m.key,
                m.found,
                m.expected,
                m.name,
                at(m.span)
            );
        }
        for key in &self.unexpected {
            let _ = write!(out, "\nunexpected: `{key}` is not used by the network");
        }
        for e in &self.errors {
            let _ = write!(out, "\nerror: {e}");
        }
        out
    }
}

/// The snapshot with float32 values: half, bfloat16 and double precision tensors (as
/// PyTorch users often save them) are converted; integer and boolean tensors cannot be
/// weights.
fn as_f32(snapshot: &TensorSnapshot) -> Result<TensorSnapshot, String> {
    use burn::tensor::DType;
    match snapshot.dtype {
        DType::F32 => Ok(snapshot.clone()),
        DType::F64 | DType::F16 | DType::BF16 => {
            let data = snapshot
                .to_data()
                .map_err(|e| format!("cannot read its {:?} values: {e}", snapshot.dtype))?;
            Ok(TensorSnapshot::from_data(
                data.convert::<f32>(),
                Vec::new(),
                Vec::new(),
                burn::module::ParamId::new(),
            ))
        }
        other => Err(format!(
            "holds {other:?} values; weights must be floating-point numbers (F32, F16, BF16 or F64)"
        )),
    }
}

/// Why a weight file could not be read at all.
#[derive(Clone, Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

impl Network {
    /// What loading a state dict with these keys and shapes would do, without reading
    /// any tensor data: the missing, unexpected and mismatched keys (`applied` lists the
    /// tensors that would load).
    pub fn check_state_dict(
        &self,
        shapes: &BTreeMap<String, Vec<usize>>,
        names: &NameMap,
    ) -> LoadReport {
        let mut report = LoadReport::default();
        let mut used = HashMap::new();
        for layer in &self.plan().layers {
            for tensor in layer.spec.tensor_names() {
                let name = format!("{}.{tensor}", layer.name);
                let key = names.key(&name);
                let expected = layer.spec.tensor_shape(tensor).unwrap_or_default();
                match shapes.get_key_value(&key) {
                    None => report.missing.push(Missing {
                        name,
                        key,
                        span: layer.span,
                    }),
                    Some((k, found)) => {
                        used.insert(k.as_str(), ());
                        if *found == expected {
                            report.applied.push(name);
                        } else {
                            report.mismatched.push(Mismatch {
                                name,
                                key,
                                expected,
                                found: found.clone(),
                                span: layer.span,
                            });
                        }
                    }
                }
            }
        }
        report.unexpected = shapes
            .keys()
            .filter(|k| !used.contains_key(k.as_str()) && !k.ends_with(".num_batches_tracked"))
            .cloned()
            .collect();
        report
    }
}

impl<B: Backend> Net<B> {
    /// Loads a safetensors state dict, keys named as `names` maps them.
    pub fn load_safetensors(
        &mut self,
        path: &Path,
        names: &NameMap,
    ) -> Result<LoadReport, LoadError> {
        let mut store = SafetensorsStore::from_file(path);
        self.load_from_store(&mut store, names)
    }

    /// Loads a PyTorch `.pt`/`.pth` state dict, keys named as `names` maps them.
    pub fn load_pytorch(&mut self, path: &Path, names: &NameMap) -> Result<LoadReport, LoadError> {
        let mut store = PytorchStore::from_file(path);
        self.load_from_store(&mut store, names)
    }

    /// Writes every tensor to a safetensors file, keyed by source names mapped by
    /// `names` (`NameMap::new()` keeps the source names): a state dict PyTorch loads.
    pub fn save_safetensors(&self, path: &Path, names: &NameMap) -> Result<(), LoadError> {
        let mut patterns = Vec::new();
        for (i, layer) in self.plan().layers.iter().enumerate() {
            let tensors = layer.spec.tensor_names().join("|");
            let from = format!(r"^layers\.{i}\.({tensors})$");
            let node = names.apply(&layer.name);
            let to = if node.is_empty() {
                "$1".to_string()
            } else {
                format!("{node}.$1")
            };
            patterns.push((from, to));
        }
        let remapper =
            KeyRemapper::from_patterns(patterns).map_err(|e| LoadError(e.to_string()))?;
        let mut store = SafetensorsStore::from_file(path)
            .skip_enum_variants(true)
            .remap(remapper);
        self.save_into(&mut store)
            .map_err(|e| LoadError(e.to_string()))
    }

    /// Saves the parameters as a Burn record (named MessagePack, full precision).
    pub fn save_record(&self, path: &Path) -> Result<(), LoadError> {
        self.clone()
            .save_file(path, &NamedMpkFileRecorder::<FullPrecisionSettings>::new())
            .map_err(|e| LoadError(e.to_string()))
    }

    /// Loads parameters saved by [`Net::save_record`] from a net of the same network.
    /// A record saved from another network (other widths, other layers) is an error
    /// naming the layers whose tensors do not fit, never a net that fails later.
    pub fn load_record(self, path: &Path, device: &B::Device) -> Result<Net<B>, LoadError> {
        let record: NetRecord<B> = NamedMpkFileRecorder::<FullPrecisionSettings>::new()
            .load(path.to_path_buf(), device)
            .map_err(|e| LoadError(e.to_string()))?;
        // Burn panics on a record with other layers; say which instead.
        let different = "it was saved from a different network";
        if record.layers.len() != self.layers.len() {
            return Err(LoadError(format!(
                "{different}: {} layers with parameters in the record, {} in the model",
                record.layers.len(),
                self.layers.len()
            )));
        }
        let plan = self.plan().clone();
        for ((saved, layer), info) in record.layers.iter().zip(&self.layers).zip(&plan.layers) {
            let kind = match saved {
                LayerRecord::Conv(_) => "Conv",
                LayerRecord::BatchNorm(_) => "BatchNorm",
                LayerRecord::GroupNorm(_) => "GroupNorm",
                LayerRecord::Linear(_) => "Linear",
                LayerRecord::Vector(_) => "Vector",
                LayerRecord::Matrix(_) => "Matrix",
                LayerRecord::ChannelConv(_) => "ChannelConv",
            };
            if kind != layer.variant() {
                return Err(LoadError(format!(
                    "{different}: `{}` is a {} in the model, a {kind} in the record",
                    info.name,
                    layer.variant()
                )));
            }
        }
        let loaded = Module::load_record(self, record);
        let mut misfits = Vec::new();
        for layer in &loaded.plan().layers {
            for tensor in layer.spec.tensor_names() {
                let name = format!("{}.{tensor}", layer.name);
                let expected = layer.spec.tensor_shape(tensor).unwrap_or_default();
                match loaded.tensor_dims(&name) {
                    Some(found) if found == expected => {}
                    Some(found) => misfits.push(format!(
                        "`{name}` is {found:?} in the record, {expected:?} in the model"
                    )),
                    None => misfits.push(format!("`{name}` is not in the record")),
                }
            }
        }
        if misfits.is_empty() {
            return Ok(loaded);
        }
        let shown = misfits.len().min(3);
        let mut text = format!("{different}: {}", misfits[..shown].join("; "));
        if misfits.len() > shown {
            let _ = write!(text, "; and {} more", misfits.len() - shown);
        }
        Err(LoadError(text))
    }

    /// Loads the tensors of any Burn store, keys named as `names` maps them.
    pub fn load_from_store<S: ModuleStore>(
        &mut self,
        store: &mut S,
        names: &NameMap,
    ) -> Result<LoadReport, LoadError> {
        let available: &BTreeMap<String, TensorSnapshot> = store
            .get_all_snapshots()
            .map_err(|e| LoadError(e.to_string()))?;
        let mut report = LoadReport::default();
        let mut used: HashMap<&str, ()> = HashMap::new();
        let mut snapshots = Vec::new();
        // Burn path → (source name, key, span), to translate Burn's errors back.
        let mut by_path: HashMap<String, (String, String, Span)> = HashMap::new();
        let plan = self.plan().clone();
        for (i, layer) in plan.layers.iter().enumerate() {
            let variant = self.layers[i].variant();
            for tensor in layer.spec.tensor_names() {
                let name = format!("{}.{tensor}", layer.name);
                let key = names.key(&name);
                let Some((file_key, snapshot)) = available.get_key_value(&key) else {
                    report.missing.push(Missing {
                        name,
                        key,
                        span: layer.span,
                    });
                    continue;
                };
                used.insert(file_key.as_str(), ());
                let mut snapshot = match as_f32(snapshot) {
                    Ok(snapshot) => snapshot,
                    Err(why) => {
                        report.errors.push(format!("`{key}` (for `{name}`): {why}"));
                        continue;
                    }
                };
                let path = vec![
                    "layers".to_string(),
                    i.to_string(),
                    variant.to_string(),
                    tensor.to_string(),
                ];
                by_path.insert(path.join("."), (name, key, layer.span));
                snapshot.path_stack = Some(path);
                snapshots.push(snapshot);
            }
        }
        report.unexpected = available
            .keys()
            .filter(|k| !used.contains_key(k.as_str()) && !k.ends_with(".num_batches_tracked"))
            .cloned()
            .collect();
        let result = self.apply(snapshots, None, None, false);
        for path in &result.applied {
            if let Some((name, _, _)) = by_path.get(path) {
                report.applied.push(name.clone());
            }
        }
        for error in result.errors {
            match error {
                ApplyError::ShapeMismatch {
                    path,
                    expected,
                    found,
                } if by_path.contains_key(&path) => {
                    let (name, key, span) = by_path[&path].clone();
                    report.mismatched.push(Mismatch {
                        name,
                        key,
                        expected: expected.to_vec(),
                        found: found.to_vec(),
                        span,
                    });
                }
                other => report.errors.push(other.to_string()),
            }
        }
        Ok(report)
    }
}
