//! Documentation shown on hover and in completion: the built-in layers and shortcut
//! kinds (from elaboration's own signature tables, so that they never disagree with
//! what is accepted), and one paragraph per keyword.

use crate::elab::{layer_docs, shortcut_docs, LayerDoc};
use std::sync::OnceLock;

fn layers() -> &'static [LayerDoc] {
    static DOCS: OnceLock<Vec<LayerDoc>> = OnceLock::new();
    DOCS.get_or_init(layer_docs)
}

fn shortcuts() -> &'static [LayerDoc] {
    static DOCS: OnceLock<Vec<LayerDoc>> = OnceLock::new();
    DOCS.get_or_init(shortcut_docs)
}

/// A built-in layer or tensor function.
pub fn layer(name: &str) -> Option<&'static LayerDoc> {
    layers().iter().find(|d| d.name == name)
}

pub fn all_layers() -> &'static [LayerDoc] {
    layers()
}

/// A shortcut kind, `dense` or `csp`.
pub fn shortcut(name: &str) -> Option<&'static LayerDoc> {
    shortcuts().iter().find(|d| d.name == name)
}

/// The shortcut kinds that may follow `shortcut` (not `dense` or `csp`).
pub fn shortcut_kinds() -> impl Iterator<Item = &'static LayerDoc> {
    shortcuts()
        .iter()
        .filter(|d| !matches!(d.name, "dense" | "csp"))
}

/// Keywords and their one-paragraph documentation.
pub const KEYWORDS: &[(&str, &str)] = &[
    ("network", "`network NAME(params) { body }` defines a model. Its body starts with `input [C, H, W]`; each statement then transforms the current tensor, and the last one is the output. `resc check` elaborates the only network of a file (or the one chosen with `--network`)."),
    ("block", "`block NAME(params) { body }` defines a reusable template. Inside it, `in` is the tensor the block is applied to; calling `NAME(args)` applies the block to the current tensor. A block whose body ends in a list of tensors, `[high, low]`, returns them all: take them apart with `let [a, b] = NAME(…)`. Blocks see only their own parameters, not the names of the caller."),
    ("import", "`import \"file.resnet\"` brings every block of that file into scope; `import \"file.resnet\" (a, b)` only the named ones. Paths are relative to the importing file."),
    ("input", "`input [C, H, W]` declares the shape of one sample (the batch dimension is implicit). It must be the first statement of a network."),
    ("let", "`let name = value` binds a number, list or symbol; when the value is a tensor expression, it also names the tensor and makes it the current one. `let [a, b] = value` takes a list apart, one name per element (`_` ignores one), e.g. the tensors a block returns: `let [high, low] = exchange(x, low: y)`. A tensor that never reaches the output is a warning (E0216) unless its name starts with `_`."),
    ("assert", "`assert cond, \"message\"` reports the message as an error (E0214) at the condition when it is false, e.g. `assert (depth - 2) % 6 == 0, \"depth must be 6n+2\"`."),
    ("stage", "`stage NAME { … }` or `stage NAME: stmt` groups statements into a named stage: node names start with the stage name, and `resc check` reports the output shape, parameters and MACs of each stage. `with shortcut dense` after the stage replaces the shortcuts of its units by DSNet's dense shortcut."),
    ("repeat", "`repeat n stmt`, `repeat n { … }` or `repeat n as i { … }` applies the body n times in sequence, each time to the previous result; `i` counts from 0 (e.g. `stride: if i == 0 then 2 else 1`). `let parts = repeat n { … }` also binds the list of every repetition's result, e.g. to add them: `sum(parts, weights: none)`."),
    ("residual", "`residual [from T] { F } [shortcut KIND [or KIND2]]` computes y = F(x) + S(x): the body F is the residual branch and S the shortcut (identity by default). `identity or projection` uses the identity where the shapes match and a projection elsewhere. After the residual, the current tensor is the sum; write `relu` after it for post-activation blocks."),
    ("shortcut", "`shortcut KIND [or KIND2] [from T]` chooses how the residual's input reaches the addition: `identity`, `zeropad` (option A), `projection` (option B: strided 1×1 conv + BN), `maxpool_projection` (iResNet) or `weighted` (y = x + λ·F(x)). With two kinds, the first is used where it fits the shapes and the second elsewhere."),
    ("from", "`from T` makes a residual branch (after `residual`) or the shortcut (after the shortcut kind) read the tensor `T` instead of the current one, e.g. the pre-activated input of a pre-activation unit."),
    ("with", "`with shortcut dense` after a stage replaces the shortcut of each unit of the stage by DSNet's dense normalised shortcut: the sum of all earlier feature maps of the stage, each batch-normalised (no affine) and weighted per channel."),
    ("csp", "`csp(split: 0.5, fusion: first | last | both, out: C, act: relu) { blocks }` is a cross-stage partial connection (CSPNet): the channels are split, one part goes through the blocks and a 1×1 transition, the other skips them; the two are concatenated and fused by a final 1×1 transition."),
    ("train", "`train { optimizer: sgd, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 5e-4, schedule: multistep, milestones: [60, 120, 160], gamma: 0.2, epochs: 200, batch: 128, pad: 4, flip: true }` at the top of a network body is the paper's training recipe: `resc run` starts from it, and command-line flags override any entry. Keys: optimizer (sgd | adam | adamw), lr, momentum, nesterov, weight_decay, schedule (constant | cosine | multistep), milestones, gamma, by (epoch | iteration), warmup (epochs), epochs, batch, lambda_lr, decay_bn_bias, pad, pad_mode (zero | reflect), flip, dropout (sets the network's `dropout` parameter)."),
    ("names", "`names torchvision { \"conv1.conv1\" -> \"conv1\", \"*.*.residual.**\" -> \"*.*.**\" }` at the top of a network body declares how a framework names the network's layers, for `resc infer/export --weights W --names torchvision`. Rules rewrite dot-separated node names: `*` matches one segment, `**` any number; the replacement's wildcards take the captures in order; the first matching rule applies, and a name no rule matches is kept."),
    ("as", "`layer as name` names the node a layer statement produces (`conv(64, k: 1) as conv1` → `….conv1`); `repeat n as i` names the repetition index."),
    ("if", "`if cond then a else b` chooses between two values; as a statement, `if cond { … } else { … }` keeps the statements of one branch only, e.g. `if role != start { bn }`."),
    ("then", "`if cond then a else b`: the value when the condition is true."),
    ("else", "`if cond then a else b`: the value when the condition is false; `else { … }` or `else if …` after a statement `if`."),
    ("in", "`in` is the tensor a block (or a `repeat` body) is applied to: `let x = in`, `add(in, y)`. A block's parameter defaults may read it too: `skip: tensor = in`, `rd: int = channels(in) // 16`."),
    ("or", "Boolean or (short-circuit). In a shortcut clause, `identity or projection` names the kind to use when the first cannot produce the residual's shape."),
    ("and", "Boolean and (short-circuit): `i > 0 and widths[i - 1] == w`."),
    ("not", "Boolean negation."),
    ("true", "The boolean true."),
    ("false", "The boolean false."),
];

/// The built-in functions on numbers, lists and tensor shapes: signature and paragraph.
/// A test checks that every function elaboration knows ([`crate::elab::FUNCTIONS`]) is here.
pub const FUNCTIONS: &[(&str, &str, &str)] = &[
    ("min", "min(a, b, …)", "The smallest of its arguments, or of the one list given: `min(widths)`."),
    ("max", "max(a, b, …)", "The largest of its arguments, or of the one list given: `max(16, w // 4)`."),
    ("abs", "abs(x)", "The absolute value."),
    ("round", "round(x)", "The nearest integer (halves away from zero)."),
    ("floor", "floor(x)", "The largest integer not above `x`."),
    ("ceil", "ceil(x)", "The smallest integer not below `x`."),
    ("int", "int(x)", "`x` truncated towards zero, as an int."),
    ("float", "float(x)", "`x` as a float."),
    ("make_divisible", "make_divisible(x, divisor)", "`x` rounded to the nearest multiple of `divisor`, and at least `divisor`: `make_divisible(w * 0.25, 8)`."),
    ("len", "len(list)", "The number of items of a list."),
    ("channels", "channels(x)", "The number of channels of the tensor `x`, an int: `se(rd: channels(in) // 16)` or `conv(channels(in) // 4, k: 1)` in a block whose widths follow its input."),
    ("height", "height(x)", "The height of the tensor `x` (per sample), an int: `if height(in) > 8 then 2 else 1`."),
    ("width", "width(x)", "The width of the tensor `x` (per sample), an int. A parameter named `width` is still read as `width`; only `width(…)` with an argument is the function."),
];

/// The Markdown documentation of built-in function `name`.
pub fn function(name: &str) -> Option<String> {
    let (_, signature, doc) = FUNCTIONS.iter().find(|f| f.0 == name)?;
    Some(format!("```resnet\n{signature}\n```\n{doc}"))
}

/// The documentation of keyword `word`.
pub fn keyword(word: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .find(|(k, _)| *k == word)
        .map(|&(_, doc)| doc)
}

/// True for a reserved word (which cannot be a name).
pub fn is_keyword(word: &str) -> bool {
    keyword(word).is_some()
}

/// The Markdown documentation of a built-in: its signature, its paragraph and its
/// parameters.
pub fn builtin_markdown(doc: &LayerDoc) -> String {
    let params: Vec<String> = doc
        .params
        .iter()
        .map(|(name, default, _)| match default.as_str() {
            "required" => name.to_string(),
            _ => format!("{name}: {default}"),
        })
        .collect();
    let mut out = format!(
        "```resnet\n{}({})\n```\n{}",
        doc.name,
        params.join(", "),
        doc.doc
    );
    if !doc.params.is_empty() {
        out.push_str("\n\n");
        for (name, default, text) in &doc.params {
            out.push_str(&format!("- `{name}` ({default}): {text}\n"));
        }
    }
    out
}

/// The documentation of one parameter of a built-in.
pub fn builtin_param_markdown(doc: &LayerDoc, param: &str) -> Option<String> {
    let (name, default, text) = doc.params.iter().find(|(n, _, _)| *n == param)?;
    Some(format!(
        "```resnet\n{}({name}: …)\n```\n{text} (default: {default})",
        doc.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_cover_the_language() {
        assert!(layer("conv").is_some_and(|d| d.params.iter().any(|p| p.0 == "stride")));
        let kinds: Vec<&str> = shortcut_kinds().map(|d| d.name).collect();
        assert_eq!(
            kinds,
            [
                "identity",
                "zeropad",
                "projection",
                "maxpool_projection",
                "weighted"
            ]
        );
        assert!(shortcut("dense").is_some() && shortcut("csp").is_some());
        for word in [
            "residual", "stage", "repeat", "shortcut", "network", "block", "import", "let",
        ] {
            assert!(keyword(word).is_some_and(|d| d.contains(word)), "{word}");
        }
        for name in crate::elab::FUNCTIONS {
            assert!(function(name).is_some(), "no documentation for `{name}`");
        }
        let md = builtin_markdown(layer("linear").unwrap());
        assert!(
            md.starts_with("```resnet\nlinear(out, bias: true)\n```"),
            "{md}"
        );
    }
}
