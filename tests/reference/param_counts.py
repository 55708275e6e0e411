#!/usr/bin/env python3
"""Reference parameter counts and MACs for the architectures resc must reproduce.

Run by hand (not in CI); needs torch, torchvision and timm on CPU:

    python3 -m venv /tmp/pyref
    /tmp/pyref/bin/pip install torch torchvision timm
    /tmp/pyref/bin/python tests/reference/param_counts.py > tests/reference/param_counts.json

Output: one JSON object {model_name: {"params": int, "macs": int | null}}.
  * params = sum of numel() over model.parameters() (trainable tensors only:
    conv/linear weights and biases, BN gamma/beta; BN running stats excluded).
  * macs   = multiply-accumulates of Conv1d (ECA), Conv2d and Linear layers only, counted
    with forward hooks for one sample (batch 1): conv = out_elems * (in_ch/groups) * kernel taps,
    linear = in_features * out_features. BN, ReLU, pooling, adds, SE gating are not counted.
  * Input 224x224 and 1000 classes for ImageNet models; 32x32 and 10 classes for CIFAR models.

Sources re-implemented here (public repos; see /work/notes/reference-architectures.md):
  * WRN:            szagoruyko/wide-residual-networks  pytorch/resnet.py (functional def)
  * CIFAR ResNet:   akamaster/pytorch_resnet_cifar10 style (option A = zero-pad LambdaLayer)
  * Pre-act 164/1001: KaimingHe/resnet-1k-layers  resnet-pre-act.lua (cudnn path: no conv bias)
  * iResNet-50:     iduta/iresnet  models/iresnet.py
  * DSNet:          no official code found; "dsnet50_unofficial_*" re-implement a
                    third-party CIFAR-100 style DSNet (see notes/reference-architectures.md);
                    "dsnet50_arch_md" is ResNet-50 + ARCHITECTURES.md §6 (affine-free BN,
                    one alpha vector per (unit, earlier map) pair). Treat both as non-authoritative.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- counting

def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, size):
    macs = [0]

    def conv_hook(m, inp, out):
        k = 1
        for side in m.kernel_size:
            k *= side
        macs[0] += out.numel() * (m.in_channels // m.groups) * k

    def lin_hook(m, inp, out):
        macs[0] += (out.numel() // m.out_features) * m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return macs[0]


# ----------------------------------------------------------------------------- WRN (official)

class WRNBlock(nn.Module):
    """szagoruyko block: o1 = relu(bn0(x)); z = conv1(relu(bn1(conv0(o1))));
    out = z + (convdim(o1) if ni != no else x). No conv bias, no BN on convdim."""

    def __init__(self, ni, no, stride):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(ni)
        self.conv0 = nn.Conv2d(ni, no, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(no)
        self.conv1 = nn.Conv2d(no, no, 3, 1, 1, bias=False)
        self.convdim = nn.Conv2d(ni, no, 1, stride, 0, bias=False) if ni != no else None

    def forward(self, x):
        o1 = F.relu(self.bn0(x))
        y = self.conv0(o1)
        o2 = F.relu(self.bn1(y))
        z = self.conv1(o2)
        if self.convdim is not None:
            return z + self.convdim(o1)
        return z + x


class WRN(nn.Module):
    def __init__(self, depth, width, num_classes=10):
        super().__init__()
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        widths = [int(v * width) for v in (16, 32, 64)]
        self.conv0 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        groups = []
        ni = 16
        for g, (no, s) in enumerate(zip(widths, (1, 2, 2))):
            blocks = []
            for i in range(n):
                blocks.append(WRNBlock(ni if i == 0 else no, no, s if i == 0 else 1))
            ni = no
            groups.append(nn.Sequential(*blocks))
        self.group0, self.group1, self.group2 = groups
        self.bn = nn.BatchNorm2d(widths[2])
        self.fc = nn.Linear(widths[2], num_classes)

    def forward(self, x):
        x = self.conv0(x)
        x = self.group2(self.group1(self.group0(x)))
        x = F.relu(self.bn(x))
        x = F.avg_pool2d(x, 8, 1, 0).flatten(1)
        return self.fc(x)


# ----------------------------------------------------------------------------- CIFAR ResNet (He 2015, akamaster)

class CifarBasic(nn.Module):
    def __init__(self, inp, planes, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.option = option
        self.pad = 0
        self.shortcut = nn.Identity()
        if stride != 1 or inp != planes:
            if option == 'A':
                self.pad = planes // 4
                self.shortcut = None
            else:
                self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False),
                                              nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is None:
            sc = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))
        else:
            sc = self.shortcut(x)
        return F.relu(out + sc)


class CifarResNet(nn.Module):
    def __init__(self, n, option='A', num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        inp = 16
        layers = []
        for planes, s in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(CifarBasic(inp, planes, s if i == 0 else 1, option))
                inp = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.linear(x)


# ----------------------------------------------------------------------------- pre-act ResNet-164/1001 (resnet-1k-layers)

class PreActBottleneck(nn.Module):
    def __init__(self, nin, nout, stride):
        super().__init__()
        mid = nout // 4
        self.increase = nin != nout
        self.bn0 = nn.BatchNorm2d(nin)
        self.conv1 = nn.Conv2d(nin, mid, 1, stride, 0, bias=False)   # stride on first 1x1
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, nout, 1, 1, 0, bias=False)
        self.shortcut = nn.Conv2d(nin, nout, 1, stride, 0, bias=False) if self.increase else None

    def forward(self, x):
        o = F.relu(self.bn0(x))
        r = self.conv1(o)
        r = self.conv2(F.relu(self.bn1(r)))
        r = self.conv3(F.relu(self.bn2(r)))
        return r + (self.shortcut(o) if self.increase else x)


class PreActResNetCifar(nn.Module):
    def __init__(self, depth, num_classes=10):
        super().__init__()
        assert (depth - 2) % 9 == 0
        n = (depth - 2) // 9
        st = [16, 64, 128, 256]
        self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        layers = []
        for i, s in zip(range(3), (1, 2, 2)):
            blocks = [PreActBottleneck(st[i], st[i + 1], s)]
            blocks += [PreActBottleneck(st[i + 1], st[i + 1], 1) for _ in range(n - 1)]
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.bn = nn.BatchNorm2d(256)
        self.fc = nn.Linear(256, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.conv(x))))
        x = F.relu(self.bn(x))
        return self.fc(F.avg_pool2d(x, 8, 1).flatten(1))


# ----------------------------------------------------------------------------- iResNet (iduta/iresnet)

class IBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None,
                 start_block=False, end_block=False, exclude_bn0=False):
        super().__init__()
        if not start_block and not exclude_bn0:
            self.bn0 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        if start_block or end_block:
            self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample
        self.start_block, self.end_block, self.exclude_bn0 = start_block, end_block, exclude_bn0

    def forward(self, x):
        identity = x
        if self.start_block:
            out = self.conv1(x)
        elif self.exclude_bn0:
            out = self.conv1(F.relu(x))
        else:
            out = self.conv1(F.relu(self.bn0(x)))
        out = F.relu(self.bn1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.conv3(out)
        if self.start_block:
            out = self.bn3(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        if self.end_block:
            out = F.relu(self.bn3(out))
        return out


class IResNet(nn.Module):
    def __init__(self, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, layers[0], 2)
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes, blocks, stride):
        out = planes * 4
        if stride != 1 and self.inplanes != out:
            ds = nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.Conv2d(self.inplanes, out, 1, bias=False),
                               nn.BatchNorm2d(out))
        elif self.inplanes != out:
            ds = nn.Sequential(nn.Conv2d(self.inplanes, out, 1, bias=False), nn.BatchNorm2d(out))
        elif stride != 1:
            ds = nn.MaxPool2d(3, stride, 1)
        else:
            ds = None
        layers = [IBottleneck(self.inplanes, planes, stride, ds, start_block=True)]
        self.inplanes = out
        excl = True
        for _ in range(1, blocks - 1):
            layers.append(IBottleneck(out, planes, exclude_bn0=excl))
            excl = False
        layers.append(IBottleneck(out, planes, end_block=True, exclude_bn0=excl))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


# ----------------------------------------------------------------------------- DSNet (non-authoritative)

class DSBlockTP(nn.Module):
    """Third-party DSBlock: BN (affine) followed by a per-channel weight (depthwise 1x1 conv)."""

    def __init__(self, c):
        super().__init__()
        self.batchnorm = nn.BatchNorm2d(c)
        self.channel_wise_weight = nn.Conv2d(c, c, 1, bias=False, groups=c)

    def forward(self, x):
        return self.channel_wise_weight(self.batchnorm(x))


class DSNormAlpha(nn.Module):
    """ARCHITECTURES.md §6 reading: BN(affine=False) then alpha (per-channel, init 1)."""

    def __init__(self, c):
        super().__init__()
        self.norm = nn.BatchNorm2d(c, affine=False)
        self.alpha = nn.Parameter(torch.ones(1, c, 1, 1))

    def forward(self, x):
        return self.norm(x) * self.alpha


class DSBottleneck(nn.Module):
    """torchvision-style bottleneck that returns (residual, shortcut) separately."""

    def __init__(self, inp, planes, stride):
        super().__init__()
        out = planes * 4
        self.residual_function = nn.Sequential(
            nn.Conv2d(inp, planes, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, planes, 3, stride, 1, bias=False), nn.BatchNorm2d(planes), nn.ReLU(inplace=True),
            nn.Conv2d(planes, out, 1, bias=False), nn.BatchNorm2d(out))
        if stride != 1 or inp != out:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return self.residual_function(x), self.shortcut(x)


class DSNet(nn.Module):
    """Stage-wise dense shortcut (third-party 'v1' wiring): unit i of a stage adds
    sum_j DS_{i,j}(m_j) over m = [shortcut(x_stage_in), y_0, ..., y_{i-1}] (y = residual
    branch outputs), then ReLU. Unit i owns i+1 DS modules."""

    def __init__(self, layers, num_classes, stem, ds_cls):
        super().__init__()
        if stem == 'imagenet':
            self.conv1 = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                       nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        else:
            self.conv1 = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64),
                                       nn.ReLU(inplace=True))
        inp = 64
        self.stages = nn.ModuleList()
        self.ds = nn.ModuleList()
        for planes, n, s in zip((64, 128, 256, 512), layers, (1, 2, 2, 2)):
            blocks, dss = nn.ModuleList(), nn.ModuleList()
            for i in range(n):
                blocks.append(DSBottleneck(inp, planes, s if i == 0 else 1))
                inp = planes * 4
                dss.append(nn.ModuleList([ds_cls(inp) for _ in range(i + 1)]))
            self.stages.append(blocks)
            self.ds.append(dss)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        for blocks, dss in zip(self.stages, self.ds):
            maps = []
            for i, (blk, ds) in enumerate(zip(blocks, dss)):
                y, sc = blk(x)
                if i == 0:
                    maps.append(sc)
                acc = sum(d(m) for d, m in zip(ds, maps))
                maps.append(y)
                x = F.relu(y + acc)
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


# ----------------------------------------------------------------------------- main

def main():
    import torchvision.models as tvm
    import timm

    torch.manual_seed(0)
    imagenet = {
        'resnet18': lambda: tvm.resnet18(),
        'resnet34': lambda: tvm.resnet34(),
        'resnet50': lambda: tvm.resnet50(),
        'resnet101': lambda: tvm.resnet101(),
        'resnet152': lambda: tvm.resnet152(),
        'resnext50_32x4d': lambda: tvm.resnext50_32x4d(),
        'wide_resnet50_2': lambda: tvm.wide_resnet50_2(),
        'densenet121': lambda: tvm.densenet121(),
        'seresnet50': lambda: timm.create_model('seresnet50', pretrained=False),
        'ecaresnet50d': lambda: timm.create_model('ecaresnet50d', pretrained=False),
        'resnet50d': lambda: timm.create_model('resnet50d', pretrained=False),
        'cspresnet50': lambda: timm.create_model('cspresnet50', pretrained=False),
        'iresnet50': lambda: IResNet([3, 4, 6, 3]),
        'dsnet50_unofficial_imagenet_stem': lambda: DSNet([3, 4, 6, 3], 1000, 'imagenet', DSBlockTP),
        'dsnet50_arch_md': lambda: DSNet([3, 4, 6, 3], 1000, 'imagenet', DSNormAlpha),
    }
    cifar = {
        'wrn_16_4': lambda: WRN(16, 4),
        'wrn_16_8': lambda: WRN(16, 8),
        'wrn_28_10': lambda: WRN(28, 10),
        'wrn_40_4': lambda: WRN(40, 4),
        'resnet20_cifar_optA': lambda: CifarResNet(3, 'A'),
        'resnet20_cifar_optB': lambda: CifarResNet(3, 'B'),
        'resnet56_cifar_optA': lambda: CifarResNet(9, 'A'),
        'resnet110_cifar_optA': lambda: CifarResNet(18, 'A'),
        'preact_resnet164_cifar': lambda: PreActResNetCifar(164),
        'preact_resnet1001_cifar': lambda: PreActResNetCifar(1001),
        'dsnet50_unofficial_cifar_stem_c100': lambda: DSNet([3, 4, 6, 3], 100, 'cifar', DSBlockTP),
    }
    result = {}
    for table, size in ((imagenet, 224), (cifar, 32)):
        for name, ctor in table.items():
            m = ctor()
            try:
                macs = count_macs(m, size)
            except Exception as e:  # noqa: BLE001
                print(f'{name}: MAC count failed: {e}', file=sys.stderr)
                macs = None
            result[name] = {'params': count_params(m), 'macs': macs}
            print(f'{name:40s} {result[name]["params"]:>12,d} {macs if macs is None else f"{macs:,d}":>18}',
                  file=sys.stderr)
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
