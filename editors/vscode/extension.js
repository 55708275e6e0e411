// The VS Code client of the resc language server: starts `resc lsp` (stdio) for
// `.resnet` files. Plain JavaScript, so the extension needs no build step.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration("resc").get("path") || "resc";
  const run = { command, args: ["lsp"], transport: TransportKind.stdio };
  return { run, debug: run };
}

async function start(context) {
  client = new LanguageClient(
    "resc",
    "resc language server",
    serverOptions(),
    {
      documentSelector: [{ language: "resnet" }],
      synchronize: {
        fileEvents: vscode.workspace.createFileSystemWatcher("**/*.resnet"),
      },
    },
  );
  await client.start();
}

async function activate(context) {
  await start(context);
  // A new `resc.path` takes effect at once.
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("resc.path")) {
        if (client) {
          await client.stop();
        }
        await start(context);
      }
    }),
  );
}

async function deactivate() {
  if (client) {
    await client.stop();
  }
}

module.exports = { activate, deactivate };
