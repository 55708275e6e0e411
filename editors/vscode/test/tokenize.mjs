// Tokenizes every model of the zoo (models/*.resnet) and a sample that uses every
// reserved word with the TextMate grammar, as VS Code does (vscode-textmate with the
// Oniguruma regex engine), and checks the scopes:
// - every line tokenizes, and the tokens cover it exactly;
// - every reserved word of grammar/resnet.pest gets a `keyword` scope (`true` and
//   `false` a `constant.language` scope), and each is seen at least once;
// - comments (from a `#` outside a string to the end of the line) get `comment`
//   scopes, and nothing before them does;
// - number literals get `constant.numeric` scopes;
// - outside comments, every token that is not white space has a scope besides the
//   base scope `source.resnet` (names get `variable.other` at least);
// - the names after `network`, `block` and `stage` get `entity.name` scopes.
// Exits with 1 and lists the failures if any check fails.

import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const grammarPath = path.resolve(here, "../syntaxes/resnet.tmLanguage.json");

/** The reserved words, read from the `keyword` rule of the pest grammar. */
function reservedWords() {
  const pest = readFileSync(path.join(repo, "grammar/resnet.pest"), "utf8");
  const rule = pest.match(/^keyword\s*=\s*@\{([\s\S]*?)\}/m);
  if (!rule) throw new Error("no `keyword` rule in grammar/resnet.pest");
  return [...rule[1].matchAll(/"([a-z]+)"/g)].map((m) => m[1]);
}

const SAMPLE = `import "blocks.resnet" (basic)
network sample(depth: int = 20, rate: float = 1e-5, flag: bool = true, role: start | end = end) {
    input [3, 32, 32]
    let n = if depth > 20 and not flag or false then 2 else 1  # a comment
    assert n >= 1, "positive # not a comment"
    stage s1 { conv(16, k: 3); bn; relu } with shortcut dense
    stage s2: repeat n as i residual from in { conv(16) } shortcut identity or projection(bn: false) from in
    csp(split: 0.5) { basic(16) }
    if role == end { bn } else { relu }
    let y = in | relu
}
`;

const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
await oniguruma.loadWASM(wasm);
const registry = new vsctm.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scopeName) =>
    scopeName === "source.resnet"
      ? vsctm.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath)
      : null,
});
const grammar = await registry.loadGrammar("source.resnet");
if (!grammar) throw new Error("the grammar did not load");

const reserved = reservedWords();
const seen = new Set();
const failures = [];
let lines = 0;
let tokens = 0;

/** The offset of the comment on `line`, if any: a `#` outside a string. */
function commentStart(line) {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '"') inString = !inString;
    else if (line[i] === "#" && !inString) return i;
  }
  return -1;
}

function check(name, text) {
  let ruleStack = vsctm.INITIAL;
  text.split("\n").forEach((line, index) => {
    const where = `${name}:${index + 1}`;
    const fail = (message) => failures.push(`${where}: ${message}\n    ${line}`);
    lines += 1;
    const result = grammar.tokenizeLine(line, ruleStack);
    ruleStack = result.ruleStack;
    let covered = 0;
    const comment = commentStart(line);
    let previousWord = "";
    for (const token of result.tokens) {
      tokens += 1;
      if (token.startIndex !== covered) fail(`a gap before column ${token.startIndex + 1}`);
      covered = token.endIndex;
      const text = line.slice(token.startIndex, token.endIndex);
      const scopes = token.scopes;
      const has = (prefix) => scopes.some((s) => s.startsWith(prefix));
      const inComment = comment >= 0 && token.startIndex >= comment;
      if (inComment) {
        if (!has("comment.")) fail(`\`${text}\` is in a comment but scoped ${scopes.join(" ")}`);
        continue;
      }
      if (has("comment.")) fail(`\`${text}\` is scoped as a comment`);
      if (text.trim() === "") continue;
      if (scopes.length < 2) fail(`\`${text}\` has only the base scope`);
      if (has("string.")) continue;
      if (reserved.includes(text)) {
        seen.add(text);
        const expected = text === "true" || text === "false" ? "constant.language." : "keyword.";
        if (!has(expected)) fail(`\`${text}\` should have a ${expected}* scope, has ${scopes.join(" ")}`);
      }
      if (/^[0-9][0-9_]*(\.[0-9]*)?([eE][+-]?[0-9]+)?$/.test(text) && !has("constant.numeric.")) {
        fail(`the number \`${text}\` is scoped ${scopes.join(" ")}`);
      }
      if (["network", "block", "stage"].includes(previousWord) && /^[A-Za-z_]/.test(text) && !has("entity.name.")) {
        fail(`the name \`${text}\` after \`${previousWord}\` is scoped ${scopes.join(" ")}`);
      }
      previousWord = text;
    }
    if (covered !== line.length && line.length > 0) fail(`tokens end at column ${covered + 1}`);
  });
}

const modelsDir = path.join(repo, "models");
const models = readdirSync(modelsDir)
  .filter((f) => f.endsWith(".resnet"))
  .sort();
if (models.length === 0) failures.push("no models found in models/");
for (const file of models) {
  check(`models/${file}`, readFileSync(path.join(modelsDir, file), "utf8"));
}
check("sample", SAMPLE);

for (const word of reserved) {
  if (!seen.has(word)) failures.push(`the reserved word \`${word}\` was never seen`);
}

if (failures.length > 0) {
  console.error(failures.join("\n"));
  console.error(`${failures.length} failed checks`);
  process.exit(1);
}
console.log(
  `tokenized ${models.length} models and a sample: ${lines} lines, ${tokens} tokens, ${reserved.length} reserved words; all checks passed`,
);
