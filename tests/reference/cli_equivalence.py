"""Evaluation-mode equivalence with PyTorch through `resc infer`, on any backend a resc
binary has: each fixture's reference input (`tests/fixtures/*.safetensors`, written by
make_fixtures.py) goes through the command line, folded and with --no-fold, and the
logits must equal the fixture's PyTorch outputs within 1e-4 of their range. For a
machine where only a resc binary travels (a GPU machine without Rust):

    python3 tests/reference/cli_equivalence.py target/release/resc cuda

Needs numpy and safetensors. Run from the repository root. `tests/equivalence.rs` checks
the same (and training mode) in-process on every backend compiled in."""
import subprocess, sys
import numpy as np
from safetensors.numpy import load_file

resc, backend = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "cpu"
families = {"basic": "torchvision", "bottleneck": "torchvision", "resnext": "torchvision",
            "zeropad": "torchvision", "se": "torchvision", "preact": "resc", "wrn": "resc",
            "weighted": "resc", "wsum": "resc", "dense": "resc", "iresnet": "resc",
            "csp": "resc", "droppath": "resc", "ops": "resc"}
failed = 0
for fam, names in families.items():
    t = load_file(f"tests/fixtures/{fam}.safetensors")
    x = t["__input"]
    np.save(f"/tmp/{fam}_in.npy", x)
    expected = t["__eval"].reshape(x.shape[0], -1)
    for fold in (False, True):
        out = f"/tmp/{fam}_{fold}.npy"
        cmd = [resc, "infer", f"tests/fixtures/{fam}.resnet", "--weights",
               f"tests/fixtures/{fam}.safetensors", "--names", names, "--input",
               f"/tmp/{fam}_in.npy", "--output", out, "--backend", backend, "--top", "1"]
        if not fold:
            cmd.append("--no-fold")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            print(f"{fam:10} fold={fold!s:5} FAILED (exit {r.returncode}): {r.stderr[-400:]}")
            failed += 1
            continue
        y = np.load(out).reshape(expected.shape)
        rel = float(np.abs(y - expected).max() / max(np.abs(expected).max(), 1e-6))
        ok = rel <= 1e-4
        failed += not ok
        print(f"{fam:10} fold={fold!s:5} max rel diff {rel:.2e} {'ok' if ok else 'FAIL'}")
print(f"{failed} failed")
sys.exit(1 if failed else 0)
