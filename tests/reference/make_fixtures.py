"""Writes the numerical-equivalence fixtures of tests/equivalence.rs.

For each family of residual networks, a tiny PyTorch model (width 8-64, input 3x16x16,
batch 2-4) is built from the reference implementation (torchvision's and timm's block
classes where they exist, otherwise a transcription of the official code), given seeded
random weights and random non-trivial BatchNorm running statistics, and run in
evaluation mode. `tests/fixtures/<family>.safetensors` holds:

  - the state dict (float32), named as the reference names it: torchvision/timm keys for
    the families built from their classes (the Rust test maps names with a NameMap),
    otherwise the .resnet model's own node names;
  - `__input`: the input batch; `__eval`: the evaluation-mode output;
  - for the training families (basic, preact, weighted, dense, csp): `__train` (training-mode output), `__loss_weights` R
    (the loss is sum(output * R)), `__grad.<key>` (gradients of a few parameters) and
    `__running.<key>` (running statistics after that one training forward).

The matching networks are `tests/fixtures/<family>.resnet`.

`tests/fixtures/torchvision_keys.json` lists the state-dict keys and shapes of torchvision's
resnet18 and resnet50, for the test that the zoo's models map onto them by name.

Run: /work/pyref/bin/python tests/reference/make_fixtures.py   (torch 2.15, torchvision
0.29, timm 1.0, safetensors 0.8; CPU, deterministic). With `--full DIR`, writes
torchvision's resnet18 and resnet50 with random weights, an input and the logits to DIR
instead (about 150 MB, not committed), for `cargo run --example torchvision -- DIR`.
"""

import copy
import os
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.models.resnet import BasicBlock, Bottleneck

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
torch.use_deterministic_algorithms(True)


# ----------------------------------------------------------------------------- helpers

def randomize_norms(model, gen):
    """Random, non-trivial BN/GN parameters and running statistics."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            if m.weight is not None:
                m.weight.data = 0.5 + torch.rand(m.weight.shape, generator=gen)
                m.bias.data = 0.2 * torch.randn(m.bias.shape, generator=gen)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.data = 0.2 * torch.randn(m.running_mean.shape, generator=gen)
            m.running_var.data = 0.5 + torch.rand(m.running_var.shape, generator=gen)


class Vector(nn.Module):
    """One learned tensor named `weight` (λ, α, sum weights), as resc lowers them."""

    def __init__(self, value):
        super().__init__()
        self.weight = nn.Parameter(value.clone().float())


def bn(c, affine=True):
    return nn.BatchNorm2d(c, affine=affine)


def conv(cin, cout, k=3, stride=1, groups=1, bias=False, dilation=1):
    return nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation=dilation, groups=groups, bias=bias)


def write(family, model, x, rename=None, train=False, grads=(), running=(), pt=False):
    """Runs `model` on `x` and writes the fixture. `rename` maps a reference key to the
    key stored (None: keep). `grads`/`running` list stored keys. With `pt`, the state
    dict is also written with `torch.save` (`<family>.pt`, PyTorch's own format)."""
    rename = rename or (lambda k: k)
    model.eval()
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        state[rename(key)] = value.detach().clone().float().contiguous()
    with torch.no_grad():
        out = {"__input": x.contiguous(), "__eval": model(x).contiguous()}
    if train:
        trained = copy.deepcopy(model)
        trained.train()
        y = trained(x)
        gen = torch.Generator().manual_seed(7)
        weights = torch.randn(y.shape, generator=gen)
        (y * weights).sum().backward()
        out["__train"] = y.detach().contiguous()
        out["__loss_weights"] = weights
        tensors = {rename(k): v for k, v in trained.named_parameters()}
        buffers = {rename(k): v for k, v in trained.named_buffers()}
        for key in grads:
            out["__grad." + key] = tensors[key].grad.detach().clone().contiguous()
        for key in running:
            out["__running." + key] = buffers[key].detach().clone().contiguous()
    missing = [k for k in list(grads) + list(running) if k not in state]
    assert not missing, missing
    path = os.path.join(OUT, family + ".safetensors")
    save_file({**state, **out}, path)
    if pt:
        torch.save(model.state_dict(), os.path.join(OUT, family + ".pt"))
    print(f"{family}: {len(state)} tensors, output {tuple(out['__eval'].shape)}, {os.path.getsize(path):,} bytes")


def seeded(seed):
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed + 1000)


def inputs(gen, n=2):
    return torch.randn(n, 3, 16, 16, generator=gen)


# ----------------------------------------------------- torchvision / timm block families

class TinyResNet(nn.Module):
    """A torchvision-style ResNet at small width: 3×3 stem, stages of `make(...)` blocks,
    torchvision's downsample (1×1 conv + BN) where the shape changes."""

    def __init__(self, make, expansion, planes, blocks, classes=10, stem=8):
        super().__init__()
        self.conv1 = conv(3, stem)
        self.bn1 = bn(stem)
        self.relu = nn.ReLU()
        inplanes = stem
        self.stages = len(planes)
        for i, (p, n) in enumerate(zip(planes, blocks)):
            layers = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                downsample = None
                if stride != 1 or inplanes != p * expansion:
                    downsample = nn.Sequential(
                        nn.Conv2d(inplanes, p * expansion, 1, stride, bias=False), bn(p * expansion))
                layers.append(make(inplanes, p, stride, downsample))
                inplanes = p * expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*layers))
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def basic():
    gen = seeded(1)
    model = TinyResNet(lambda i, p, s, d: BasicBlock(i, p, s, d), 1, (8, 16), (1, 1))
    randomize_norms(model, gen)
    write("basic", model, inputs(gen, 4), train=True,
          grads=["conv1.weight", "bn1.weight", "layer2.0.conv2.weight", "layer2.0.downsample.1.bias", "fc.weight"],
          running=["bn1.running_mean", "bn1.running_var", "layer2.0.bn2.running_var"], pt=True)


def bottleneck():
    gen = seeded(2)
    model = TinyResNet(lambda i, p, s, d: Bottleneck(i, p, s, d), 4, (8, 16), (1, 2))
    randomize_norms(model, gen)
    write("bottleneck", model, inputs(gen))


def resnext():
    gen = seeded(3)
    make = lambda i, p, s, d: Bottleneck(i, p, s, d, groups=4, base_width=16)
    model = TinyResNet(make, 4, (8, 16), (1, 1))
    randomize_norms(model, gen)
    write("resnext", model, inputs(gen))


def se():
    from timm.layers import get_attn
    from timm.models.resnet import Bottleneck as TimmBottleneck

    gen = seeded(4)
    make = lambda i, p, s, d: TimmBottleneck(i, p, s, d, attn_layer=get_attn("se"))
    model = TinyResNet(make, 4, (8, 16), (1, 1))
    randomize_norms(model, gen)
    for m in model.modules():  # non-trivial gates
        if m.__class__.__name__ == "SEModule":
            m.fc2.bias.data = torch.randn(m.fc2.bias.shape, generator=gen)
    write("se", model, inputs(gen))


def eca():
    """timm's Bottleneck with an ECA gate (ecaresnet): 32 and 128 channels give timm's
    adaptive kernels 3 and 5. Trained too, for the gradient of the 1-D filters."""
    from timm.layers import get_attn
    from timm.models.resnet import Bottleneck as TimmBottleneck

    gen = seeded(17)
    make = lambda i, p, s, d: TimmBottleneck(i, p, s, d, attn_layer=get_attn("eca"))
    model = TinyResNet(make, 4, (8, 32), (1, 1))
    randomize_norms(model, gen)
    for m in model.modules():  # non-trivial gates
        if m.__class__.__name__ == "EcaModule":
            m.conv.weight.data = torch.randn(m.conv.weight.shape, generator=gen)
    write("eca", model, inputs(gen, 4), train=True,
          grads=["layer1.0.se.conv.weight", "layer2.0.se.conv.weight", "fc.weight"],
          running=["layer2.0.bn3.running_mean"])


def csp():
    from timm.models.cspnet import CspModelCfg, CspNet, CspStagesCfg, CspStemCfg

    gen = seeded(5)
    cfg = CspModelCfg(
        stem=CspStemCfg(out_chs=8, kernel_size=3, stride=1, pool=""),
        stages=CspStagesCfg(depth=(1, 2), out_chs=(16, 32), stride=(1, 2), expand_ratio=2.0,
                            bottle_ratio=0.5, cross_linear=True))
    model = CspNet(cfg, in_chans=3, num_classes=10)
    randomize_norms(model, gen)
    rules = [
        (r"^stem\.conv1\.conv\.", "stem.conv1."),
        (r"^stem\.conv1\.bn\.", "stem.bn1."),
        (r"^stages\.0\.", "stage1."),
        (r"^stages\.1\.conv_down\.conv\.", "stage2.conv_down.conv1."),
        (r"^stages\.1\.conv_down\.bn\.", "stage2.conv_down.bn1."),
        (r"^stages\.1\.", "stage2.cross_stage."),
        (r"conv_exp\.conv\.", "conv_exp."),
        (r"conv_exp\.bn\.", "bn1."),
        (r"blocks\.(\d+)\.conv(\d)\.conv\.", r"csp.blocks.repeat.\1.residual.conv\2."),
        (r"blocks\.(\d+)\.conv(\d)\.bn\.", r"csp.blocks.repeat.\1.residual.bn\2."),
        (r"conv_transition_b\.", "csp.transition_b."),
        (r"conv_transition\.", "csp.transition."),
        (r"^head\.fc\.", "fc."),
    ]

    def rename(key):
        for pattern, replacement in rules:
            key = re.sub(pattern, replacement, key)
        return key

    write("csp", model, inputs(gen), rename=rename, train=True,
          grads=["stem.conv1.weight", "stage1.csp.transition_b.conv.weight",
                 "stage2.cross_stage.csp.blocks.repeat.1.residual.conv2.weight",
                 "stage2.cross_stage.conv_exp.weight", "fc.weight"],
          running=["stem.bn1.running_var", "stage1.csp.transition.bn.running_var",
                   "stage2.cross_stage.bn1.running_mean"])


# -------------------------------------------------------------- transcribed families

class AkamasterBlock(nn.Module):
    """akamaster/pytorch_resnet_cifar10's BasicBlock, option A (LambdaLayer)."""

    def __init__(self, cin, planes, stride=1):
        super().__init__()
        self.conv1 = conv(cin, planes, stride=stride)
        self.bn1 = bn(planes)
        self.conv2 = conv(planes, planes)
        self.bn2 = bn(planes)
        self.pad = planes // 4 if stride != 1 or cin != planes else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.pad is None:
            short = x
        else:
            short = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)
        return F.relu(out + short)


class Akamaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8)
        self.bn1 = bn(8)
        self.layer1 = nn.Sequential(AkamasterBlock(8, 8))
        self.layer2 = nn.Sequential(AkamasterBlock(8, 16, 2), AkamasterBlock(16, 16))
        self.linear = nn.Linear(16, 10)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer2(self.layer1(out))
        out = F.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


def zeropad():
    gen = seeded(6)
    model = Akamaster()
    randomize_norms(model, gen)
    write("zeropad", model, inputs(gen))


class PreActUnit(nn.Module):
    """KaimingHe/resnet-1k-layers' pre-activation bottleneck (resnet-pre-act.lua):
    BN-ReLU shared by both paths where the shape changes, stride on the first 1×1,
    projection without BN. Named as the .resnet model names it."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = bn(cin)
        self.residual = nn.ModuleDict(dict(
            conv1=conv(cin, cout // 4, 1, stride), bn1=bn(cout // 4),
            conv2=conv(cout // 4, cout // 4), bn2=bn(cout // 4),
            conv3=conv(cout // 4, cout, 1)))
        self.project = cin != cout or stride != 1
        if self.project:
            self.shortcut = nn.ModuleDict(dict(conv1=conv(cin, cout, 1, stride)))

    def forward(self, x):
        a = F.relu(self.bn1(x))
        r = self.residual
        y = r.conv3(F.relu(r.bn2(r.conv2(F.relu(r.bn1(r.conv1(a)))))))
        return y + (self.shortcut.conv1(a) if self.project else x)


class PreAct(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8)
        self.layer1 = nn.ModuleList([PreActUnit(8, 32, 1)])
        self.layer2 = nn.ModuleList([PreActUnit(32, 64, 2), PreActUnit(64, 64, 1)])
        self.bn1 = bn(64)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.conv1(x)
        for unit in list(self.layer1) + list(self.layer2):
            x = unit(x)
        x = F.relu(self.bn1(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def preact():
    gen = seeded(7)
    model = PreAct()
    randomize_norms(model, gen)
    write("preact", model, inputs(gen, 3), train=True,
          grads=["conv1.weight", "layer1.0.bn1.weight", "layer2.0.shortcut.conv1.weight",
                 "layer2.1.residual.bn2.bias", "fc.bias"],
          running=["layer2.0.bn1.running_var", "layer2.1.residual.bn1.running_mean", "bn1.running_var"])


class WideUnit(nn.Module):
    """szagoruyko/wide-residual-networks (pytorch/resnet.py) block with dropout."""

    def __init__(self, cin, cout, stride, p):
        super().__init__()
        self.bn1 = bn(cin)
        self.residual = nn.ModuleDict(dict(conv1=conv(cin, cout, 3, stride), bn1=bn(cout), conv2=conv(cout, cout)))
        self.p = p
        self.project = cin != cout
        if self.project:
            self.shortcut = nn.ModuleDict(dict(conv1=conv(cin, cout, 1, stride)))

    def forward(self, x):
        o1 = F.relu(self.bn1(x))
        r = self.residual
        y = F.relu(r.bn1(r.conv1(o1)))
        y = F.dropout(y, p=self.p, training=self.training)
        y = r.conv2(y)
        return y + (self.shortcut.conv1(o1) if self.project else x)


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = conv(3, 8)
        self.group0 = nn.ModuleList([WideUnit(8, 8, 1, 0.3)])
        self.group1 = nn.ModuleList([WideUnit(8, 16, 2, 0.3), WideUnit(16, 16, 1, 0.3)])
        self.bn1 = bn(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.conv0(x)
        for unit in list(self.group0) + list(self.group1):
            x = unit(x)
        x = F.relu(self.bn1(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def wrn():
    gen = seeded(8)
    model = Wide()
    randomize_norms(model, gen)
    write("wrn", model, inputs(gen))


def conv_bn_relu(cin, cout, stride=1):
    return nn.ModuleDict(dict(conv1=conv(cin, cout, 3, stride), bn1=bn(cout)))


class WeightedUnit(nn.Module):
    """Shen et al.'s weighted residual unit: x + λ·ΔL(x), ΔL = 2 × (conv3 → BN → ReLU)."""

    def __init__(self, c, lam):
        super().__init__()
        self.residual = nn.ModuleDict(dict(conv1=conv(c, c), bn1=bn(c), conv2=conv(c, c), bn2=bn(c)))
        self.add_module("lambda", Vector(torch.tensor([lam])))

    def forward(self, x):
        r = self.residual
        y = F.relu(r.bn2(r.conv2(F.relu(r.bn1(r.conv1(x))))))
        return getattr(self, "lambda").weight * y + x


class Weighted(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv_bn_relu(3, 8)
        self.stage1 = nn.ModuleList([WeightedUnit(8, 0.37), WeightedUnit(8, -0.52)])
        self.stage2 = nn.ModuleDict(dict(
            downsample=conv_bn_relu(8, 16, 2), repeat=nn.ModuleList([WeightedUnit(16, 0.81)])))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.conv1.bn1(self.conv1.conv1(x)))
        for unit in self.stage1:
            x = unit(x)
        d = self.stage2.downsample
        x = F.relu(d.bn1(d.conv1(x)))
        x = self.stage2.repeat[0](x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def weighted():
    gen = seeded(9)
    model = Weighted()
    randomize_norms(model, gen)
    write("weighted", model, inputs(gen), train=True,
          grads=["stage1.0.lambda.weight", "stage1.1.lambda.weight", "stage2.repeat.0.lambda.weight",
                 "stage1.1.residual.conv2.weight", "fc.weight"],
          running=["stage2.downsample.bn1.running_var"])


def fuse(ws, xs, norm):
    """Σ w_j ⊙ x_j with w of shape [k] or [k, C], normalised across the inputs."""
    if norm == "relu":
        r = F.relu(ws)
        ws = r / (r.sum(0, keepdim=True) + 1e-4)
    elif norm == "softmax":
        ws = torch.softmax(ws, 0)
    out = 0
    for w, x in zip(ws, xs):
        out = out + (w.view(1, -1, 1, 1) if w.dim() == 1 else w) * x
    return out


class WSum(nn.Module):
    def __init__(self, gen):
        super().__init__()
        for i, (cin, stride) in enumerate([(3, 1), (8, 1), (8, 1), (8, 2)]):
            setattr(self, f"conv{i + 1}", conv(cin, 8, 3, stride))
        for i in range(4):
            setattr(self, f"bn{i + 1}", bn(8))
        self.plain = Vector(torch.randn(3, generator=gen))
        self.fast = Vector(torch.randn(3, 8, generator=gen))
        self.soft = Vector(torch.randn(3, 8, generator=gen))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        a = self.conv2(h)
        b = self.conv3(F.relu(self.bn2(a)))
        c = F.interpolate(self.conv4(F.relu(self.bn3(b))), scale_factor=2, mode="nearest")
        plain = fuse(self.plain.weight, [a, b, c], "none")
        d = F.relu(plain)
        fast = fuse(self.fast.weight, [a, c, d], "relu")
        e = F.relu(self.bn4(fast))
        soft = fuse(self.soft.weight, [b, d, e], "softmax")
        return self.fc(F.adaptive_avg_pool2d(soft, 1).flatten(1))


def wsum():
    gen = seeded(10)
    model = WSum(gen)
    randomize_norms(model, gen)
    write("wsum", model, inputs(gen))


class DenseUnit(nn.Module):
    """A basic block whose shortcut is DSNet's dense shortcut Σ α_i ⊙ BN_i(x_i) over the
    stage's earlier unit outputs (BN without affine), or a projection for the first unit."""

    def __init__(self, cin, cout, stride, earlier):
        super().__init__()
        self.residual = nn.ModuleDict(dict(conv1=conv(cin, cout, 3, stride), bn1=bn(cout),
                                           conv2=conv(cout, cout), bn2=bn(cout)))
        self.earlier = earlier
        if earlier == 0:
            self.shortcut = nn.ModuleDict(dict(conv1=conv(cin, cout, 1, stride), bn1=bn(cout)))
        else:
            dense = {}
            for i in range(earlier):
                dense[f"bn{i + 1}"] = bn(cout, affine=False)
                dense[f"alpha{i + 1}"] = Vector(0.5 + torch.rand(cout))
            self.dense = nn.ModuleDict(dense)

    def forward(self, x, history):
        r = self.residual
        y = r.bn2(r.conv2(F.relu(r.bn1(r.conv1(x)))))
        if self.earlier == 0:
            s = self.shortcut.bn1(self.shortcut.conv1(x))
        else:
            s = 0
            for i, h in enumerate(history):
                alpha = self.dense[f"alpha{i + 1}"].weight.view(1, -1, 1, 1)
                s = s + alpha * self.dense[f"bn{i + 1}"](h)
        return F.relu(y + s)


class Dense(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8)
        self.bn1 = bn(8)
        self.layer1 = nn.ModuleList([DenseUnit(8, 16, 2, 0), DenseUnit(16, 16, 1, 1), DenseUnit(16, 16, 1, 2)])
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        history = []
        for unit in self.layer1:
            x = unit(x, history)
            history.append(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def dense():
    gen = seeded(11)
    model = Dense()
    randomize_norms(model, gen)
    write("dense", model, inputs(gen), train=True,
          grads=["conv1.weight", "layer1.1.residual.conv2.weight", "layer1.2.dense.alpha1.weight",
                 "layer1.2.dense.alpha2.weight", "fc.weight"],
          running=["bn1.running_mean", "layer1.0.shortcut.bn1.running_var",
                   "layer1.2.dense.bn2.running_var"])


class IBlock(nn.Module):
    """iduta/iresnet's Bottleneck (models/iresnet.py) in its stage role, with the
    max-pool projection (MaxPool 3/s → conv1×1 → BN) on the start block."""

    def __init__(self, cin, planes, stride, role, bn0):
        super().__init__()
        self.role, self.use_bn0 = role, bn0 and role != "start"
        out = planes * 4
        if self.use_bn0:
            self.bn0 = bn(cin)
        res = dict(conv1=conv(cin, planes, 1), bn1=bn(planes), conv2=conv(planes, planes, 3, stride),
                   bn2=bn(planes), conv3=conv(planes, out, 1))
        if role == "start":
            res["bn3"] = bn(out)
        self.residual = nn.ModuleDict(res)
        if role == "end":
            self.bn3 = bn(out)
        self.stride = stride
        self.project = cin != out
        if self.project:
            self.shortcut = nn.ModuleDict(dict(conv1=conv(cin, out, 1), bn1=bn(out)))

    def forward(self, x):
        r = self.residual
        out = x
        if self.role != "start":
            out = F.relu(self.bn0(out) if self.use_bn0 else out)
        out = F.relu(r.bn1(r.conv1(out)))
        out = F.relu(r.bn2(r.conv2(out)))
        out = r.conv3(out)
        if self.role == "start":
            out = r.bn3(out)
        identity = x
        if self.stride != 1:
            identity = F.max_pool2d(identity, 3, self.stride, 1)
        if self.project:
            identity = self.shortcut.bn1(self.shortcut.conv1(identity))
        out = out + identity
        if self.role == "end":
            out = F.relu(self.bn3(out))
        return out


class IResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv_bn_relu(3, 8)
        self.layer1 = nn.ModuleList(self.stage(8, 4, 1, 3))
        self.layer2 = nn.ModuleList(self.stage(16, 8, 2, 4))
        self.fc = nn.Linear(32, 10)

    @staticmethod
    def stage(cin, planes, stride, n):
        blocks = []
        for i in range(n):
            role = "start" if i == 0 else "end" if i == n - 1 else "middle"
            blocks.append(IBlock(cin if i == 0 else planes * 4, planes, stride if i == 0 else 1, role, i > 1))
        return blocks

    def forward(self, x):
        x = F.relu(self.conv1.bn1(self.conv1.conv1(x)))
        for block in list(self.layer1) + list(self.layer2):
            x = block(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def iresnet():
    gen = seeded(12)
    model = IResNet()
    randomize_norms(model, gen)
    write("iresnet", model, inputs(gen))


class DropPathBlock(nn.Module):
    """A basic block with timm's DropPath on the residual branch."""

    def __init__(self, cin, cout, stride, p):
        from timm.layers import DropPath

        super().__init__()
        self.residual = nn.ModuleDict(dict(conv1=conv(cin, cout, 3, stride), bn1=bn(cout),
                                           conv2=conv(cout, cout), bn2=bn(cout)))
        self.drop = DropPath(p)
        self.project = cin != cout or stride != 1
        if self.project:
            self.shortcut = nn.ModuleDict(dict(conv1=conv(cin, cout, 1, stride), bn1=bn(cout)))

    def forward(self, x):
        r = self.residual
        y = self.drop(r.bn2(r.conv2(F.relu(r.bn1(r.conv1(x))))))
        return F.relu(y + (self.shortcut.bn1(self.shortcut.conv1(x)) if self.project else x))


class DropPathNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8)
        self.bn1 = bn(8)
        self.layer1 = nn.ModuleList([DropPathBlock(8, 8, 1, 0.1), DropPathBlock(8, 8, 1, 0.2)])
        self.layer2 = nn.ModuleList([DropPathBlock(8, 16, 2, 0.3)])
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        for block in list(self.layer1) + list(self.layer2):
            x = block(x)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def droppath():
    gen = seeded(13)
    model = DropPathNet()
    randomize_norms(model, gen)
    write("droppath", model, inputs(gen))


class Ops(nn.Module):
    """The remaining ops of the IR, in one network (tests/fixtures/ops.resnet)."""

    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8, 3, dilation=2, bias=True)
        self.gn1 = nn.GroupNorm(4, 8)
        self.prelu1 = nn.PReLU(8, init=0.25)
        self.conv2 = conv(8, 16, 3, 2, groups=2)
        self.conv3 = conv(16, 16, 1, bias=True)
        self.conv4 = conv(40, 8, 1)
        self.prelu2 = nn.PReLU(1, init=0.1)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        x = self.prelu1(self.gn1(self.conv1(x)))
        a = F.leaky_relu(self.conv2(x), 0.2)
        p = F.max_pool2d(a, 3, 1, 1)
        q = F.avg_pool2d(a, 3, 1, 1, count_include_pad=False)
        r = F.avg_pool2d(a, 3, 1, 1)
        g = torch.sigmoid(self.conv3(F.adaptive_avg_pool2d(a, 1)))
        x = torch.cat([p * g, q.chunk(2, 1)[1], r], 1)
        x = self.prelu2(self.conv4(x))
        x = F.avg_pool2d(F.interpolate(x, scale_factor=2, mode="nearest"), 4)
        x = F.dropout(x, 0.5, self.training)
        return self.fc(x.flatten(1))


def ops():
    gen = seeded(14)
    model = Ops()
    randomize_norms(model, gen)
    model.prelu1.weight.data = torch.randn(8, generator=gen) * 0.3
    write("ops", model, inputs(gen))


class CeilPools(nn.Module):
    """Pooling with `ceil_mode=True` on an odd-sized (15×15) map, `count_include_pad` both
    ways: every branch gives 8×8, one by rounding up, one by rounding up then dropping
    the window that would start in the right padding (tests/fixtures/ceil_pools.resnet)."""

    def __init__(self):
        super().__init__()
        self.conv1 = conv(3, 8, 3)
        self.bn1 = bn(8)
        self.conv2 = conv(32, 16, 1)
        self.bn2 = bn(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        a = F.relu(self.bn1(self.conv1(x)))
        p = F.max_pool2d(a, 2, 2, ceil_mode=True)
        q = F.avg_pool2d(a, 2, 2, 1, ceil_mode=True, count_include_pad=False)
        r = F.avg_pool2d(a, 4, 2, 1, ceil_mode=True, count_include_pad=True)
        d = F.avg_pool2d(a, 2, 2, ceil_mode=True, count_include_pad=False)
        x = F.relu(self.bn2(self.conv2(torch.cat([p, q, r, d], 1))))
        x = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def ceil_pools():
    gen = seeded(23)
    model = CeilPools()
    randomize_norms(model, gen)
    write("ceil_pools", model, torch.randn(2, 3, 15, 15, generator=gen), train=True,
          grads=["conv1.weight", "conv2.weight", "fc.weight"],
          running=["bn1.running_mean", "bn2.running_var"])


# ------------------------------------------------------------ full torchvision models

def torchvision_keys():
    """The state-dict keys and shapes of torchvision's ImageNet ResNets, for the name
    mapping test of the zoo models (no weights: resnet50's are 100 MB)."""
    import json

    import torchvision

    keys = {}
    for name in ["resnet18", "resnet50"]:
        model = getattr(torchvision.models, name)()
        keys[name] = {k: list(v.shape) for k, v in model.state_dict().items()}
    path = os.path.join(OUT, "torchvision_keys.json")
    with open(path, "w") as f:
        json.dump(keys, f, indent=0, sort_keys=True)
    print(f"torchvision_keys: {', '.join(f'{k} {len(v)} keys' for k, v in keys.items())}")


MASK64 = (1 << 64) - 1


def generated(key, n):
    """`n` floats uniform in [0, 1) from SplitMix64 seeded with the FNV-1a hash of `key`:
    value i is mix(h + (i + 1) * 0x9E3779B97F4A7C15) >> 40, divided by 2^24. The Rust
    tests compute the same numbers (tests/infer.rs, `generated`), so a state dict made of
    them needs no file of its own."""
    import numpy as np

    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK64
    i = np.arange(1, n + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(h) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return torch.from_numpy((z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24))


def generated_tensor(key, shape):
    """The value of state-dict entry `key` (see `generated`): weights of convolutions and
    linear layers uniform in ±√(3/fan_in), BN γ in [0.5, 1.5), biases and running means in
    ±0.2, running variances in [0.5, 1.5); the input (`__input`) in ±1."""
    n = 1
    for d in shape:
        n *= d
    u = generated(key, n).reshape(shape)
    if key == "__input":
        return 2 * u - 1
    if key.endswith("running_var"):
        return 0.5 + u
    if key.endswith("running_mean") or key.endswith("bias"):
        return 0.2 * (2 * u - 1)
    if len(shape) == 1:
        return 0.5 + u
    fan_in = n // shape[0]
    return (2 * u - 1) * (3.0 / fan_in) ** 0.5


def resnet18_generated():
    """torchvision's resnet18 with the generated state dict (`generated_tensor`) on the
    generated 1×3×224×224 input: only the logits are stored
    (`resnet18_generated.safetensors`), the test makes the weights itself."""
    import torchvision

    model = torchvision.models.resnet18()
    state = {
        k: generated_tensor(k, tuple(v.shape))
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    model.load_state_dict(state, strict=False)
    model.eval()
    x = generated_tensor("__input", (1, 3, 224, 224))
    with torch.no_grad():
        logits = model(x).contiguous()
    path = os.path.join(OUT, "resnet18_generated.safetensors")
    save_file({"__logits": logits}, path)
    print(f"resnet18_generated: logits {tuple(logits.shape)}, max |logit| {logits.abs().max():.3f}")


def torchvision_full(directory, name="resnet50"):
    """A torchvision model with random weights and non-trivial running statistics, an
    input batch and its logits, in `directory/<name>.safetensors` (not committed; read
    by `cargo run --example torchvision`)."""
    import torchvision

    gen = seeded(20)
    model = getattr(torchvision.models, name)()
    randomize_norms(model, gen)
    x = torch.randn(2, 3, 224, 224, generator=gen)
    global OUT
    saved, OUT = OUT, directory
    try:
        write(name, model, x)
    finally:
        OUT = saved


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 2 and sys.argv[1] != "--full":
        # One family: `make_fixtures.py resnet18_generated`.
        os.makedirs(OUT, exist_ok=True)
        globals()[sys.argv[1]]()
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--full":
        os.makedirs(sys.argv[2], exist_ok=True)
        for model in ["resnet18", "resnet50"]:
            torchvision_full(sys.argv[2], model)
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    for family in [basic, bottleneck, resnext, zeropad, preact, wrn, se, eca, weighted, wsum, dense,
                   iresnet, csp, droppath, ops, ceil_pools, torchvision_keys, resnet18_generated]:
        family()
