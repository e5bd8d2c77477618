"""nailseg_model.py - the nail segmentation network and its TFLite export.

A small fully convolutional encoder-decoder (U-Net-like, but skips are
ADDed, not concatenated: our XNNPACK loader only concatenates into graph
outputs). Depthwise-separable residual blocks, BatchNorm + ReLU while
training; BatchNorm is folded into the convolutions at export.

    input  [1, H, W, 3]   RGB in [0, 1], H and W multiples of 16
    output [1, H/2, W/2, 1] nail probability (LOGISTIC)

Padding follows TensorFlow's SAME rule (for a stride-2 3x3 window on an even
size: 0 before, 1 after), so the exported graph computes exactly what torch
computes.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import tflite_write as tw


def tf_same_pad(size, k, s, d):
    eff = (k - 1) * d + 1
    out = (size + s - 1) // s
    need = max((out - 1) * s + eff - size, 0)
    return need // 2, need - need // 2


class ConvBN(nn.Module):
    """k x k convolution (dense or depthwise) + BatchNorm (+ ReLU)."""

    def __init__(self, cin, cout, k=1, stride=1, dw=False, relu=True, dilation=1):
        super().__init__()
        self.k, self.stride, self.dw, self.relu, self.dilation = k, stride, dw, relu, dilation
        self.conv = nn.Conv2d(cin, cout, k, stride, 0, dilation=dilation,
                              groups=cin if dw else 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        if self.k > 1:
            pt, pb = tf_same_pad(x.shape[2], self.k, self.stride, self.dilation)
            pl, pr = tf_same_pad(x.shape[3], self.k, self.stride, self.dilation)
            x = F.pad(x, (pl, pr, pt, pb))
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x

    def folded(self):
        """(weight OIHW, bias) with BatchNorm folded in."""
        w = self.conv.weight.detach().double()
        bn = self.bn
        scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
        bias = bn.bias.detach().double() - bn.running_mean.double() * scale
        w = w * scale.view(-1, 1, 1, 1)
        return w.float().numpy(), bias.float().numpy()

    def export(self, g, x, name, act_override=None):
        w, b = self.folded()
        act = act_override or ("RELU" if self.relu else "NONE")
        n, h, wd, c = g.shape(x)
        oh, ow = -(-h // self.stride), -(-wd // self.stride)
        cout = w.shape[0]
        y = g.tensor(name, [n, oh, ow, cout])
        bt = g.tensor(name + "/bias", [cout], b)
        if self.dw:
            # torch [C,1,kh,kw] -> TFLite [1,kh,kw,C]
            wt = g.tensor(name + "/weights", [1, self.k, self.k, cout],
                          np.transpose(w, (1, 2, 3, 0)))
            g.depthwise(x, wt, bt, y, stride=self.stride, act=act, dilation=self.dilation)
        else:
            # torch OIHW -> TFLite OHWI
            wt = g.tensor(name + "/weights", [cout, self.k, self.k, c],
                          np.transpose(w, (0, 2, 3, 1)))
            g.conv2d(x, wt, bt, y, stride=self.stride, act=act, dilation=self.dilation)
        return y


class Block(nn.Module):
    """Residual depthwise-separable block: relu(x + pw(relu(dw(x))) [+ side(x)]).

    With expand > 0 a side branch adds capacity: pw 1x1 to expand x c
    channels (ReLU), depthwise 3x3 (same dilation, ReLU), pw 1x1 back to c.
    Its last BatchNorm starts at zero scale and shift, so a block grown from
    a trained one (NailSeg.grow_from) computes exactly what it did."""

    def __init__(self, c, dilation=1, expand=0):
        super().__init__()
        self.dw = ConvBN(c, c, 3, dw=True, dilation=dilation)
        self.pw = ConvBN(c, c, 1, relu=False)
        self.side = None
        if expand:
            e = int(round(expand * c))
            self.side = nn.ModuleList([ConvBN(c, e, 1), ConvBN(e, e, 3, dw=True, dilation=dilation),
                                       ConvBN(e, c, 1, relu=False)])
            nn.init.zeros_(self.side[2].bn.weight)
            nn.init.zeros_(self.side[2].bn.bias)

    def forward(self, x):
        y = x + self.pw(self.dw(x))
        if self.side is not None:
            t = x
            for m in self.side:
                t = m(t)
            y = y + t
        return F.relu(y)

    def export(self, g, x, name):
        t = self.dw.export(g, x, name + "/dw")
        t = self.pw.export(g, t, name + "/pw")
        if self.side is not None:
            r = g.tensor(name + "/res", g.shape(x))
            g.add(x, t, r, act="NONE")
            t = x
            for i, m in enumerate(self.side):
                t = m.export(g, t, f"{name}/side{i}")
            x = r
        y = g.tensor(name + "/out", g.shape(x))
        g.add(x, t, y, act="RELU")
        return y


class Down(nn.Module):
    """Stride-2 depthwise 3x3 + pointwise to more channels."""

    def __init__(self, cin, cout):
        super().__init__()
        self.dw = ConvBN(cin, cin, 3, stride=2, dw=True)
        self.pw = ConvBN(cin, cout, 1)

    def forward(self, x):
        return self.pw(self.dw(x))

    def export(self, g, x, name):
        return self.pw.export(g, self.dw.export(g, x, name + "/dw"), name + "/pw")


class Up(nn.Module):
    """1x1 projection at low resolution, bilinear x2 (half-pixel centres),
    ADD the skip, ReLU, then a block."""

    def __init__(self, cin, cout, expand=0):
        super().__init__()
        self.proj = ConvBN(cin, cout, 1, relu=False)
        self.block = Block(cout, expand=expand)

    def forward(self, x, skip):
        x = F.interpolate(self.proj(x), size=skip.shape[2:], mode="bilinear",
                          align_corners=False)
        return self.block(F.relu(x + skip))

    def export(self, g, x, skip, name):
        p = self.proj.export(g, x, name + "/proj")
        n, h, w, c = g.shape(skip)
        size = g.tensor(name + "/size", [2], np.array([h, w], np.int32), ttype=tw.T_INT32)
        u = g.tensor(name + "/resize", [n, h, w, g.shape(p)[3]])
        g.resize_bilinear(p, size, u, half_pixel_centers=True)
        s = g.tensor(name + "/sum", [n, h, w, c])
        g.add(u, skip, s, act="RELU")
        return self.block.export(g, s, name + "/block")


# Side-branch expansion per stage of the grown network (phase 3 of the
# recipe): the 30x40 and 15x20 encoder stages and the 30x40 decoder block,
# where more channels cost the fewest multiply-accumulates.
GROWN = {"b3": 2.0, "b4": 1.0, "u3": 2.0}


class NailSeg(nn.Module):
    def __init__(self, c=(16, 32, 48, 96), dropout=0.1, side=None):
        super().__init__()
        side = side or {}
        self.side = dict(side)
        c1, c2, c3, c4 = c
        self.stem = ConvBN(3, c1, 3, stride=2)                    # H/2
        self.b1 = Block(c1)
        self.d2 = Down(c1, c2)                                    # H/4
        self.b2 = nn.ModuleList([Block(c2), Block(c2)])
        self.d3 = Down(c2, c3)                                    # H/8
        e3, e4 = side.get("b3", 0), side.get("b4", 0)
        self.b3 = nn.ModuleList([Block(c3, 1, e3), Block(c3, 2, e3)])
        self.d4 = Down(c3, c4)                                    # H/16
        self.b4 = nn.ModuleList([Block(c4, d, e4) for d in (1, 2, 4, 8)])
        self.drop = nn.Dropout2d(dropout)
        self.u3 = Up(c4, c3, side.get("u3", 0))
        self.u2 = Up(c3, c2)
        self.u1 = Up(c2, c1)
        self.head = nn.Conv2d(c1, 1, 1)
        self.channels = c

    def logits(self, x):
        return unet_logits(self, x)

    def forward(self, x):
        return torch.sigmoid(self.logits(x))

    @staticmethod
    def from_state(sd):
        """The network a state dict was saved from (grown if it has side branches)."""
        m = NailSeg(side=GROWN if any(".side." in k for k in sd) else None)
        m.load_state_dict(sd)
        return m

    def grow_from(self, sd):
        """Loads a state dict of the small network into this (grown) one: every
        weight it has is taken; the side branches keep their zero-output
        initialisation, so the output does not change."""
        missing, unexpected = self.load_state_dict(sd, strict=False)
        if unexpected or any(".side." not in k for k in missing):
            raise ValueError(f"cannot grow: missing {missing}, unexpected {unexpected}")

    @torch.no_grad()
    def export_tflite(self, h=240, w=320):
        """Bytes of a TFLite flatbuffer for an input of [1, h, w, 3]."""
        assert h % 16 == 0 and w % 16 == 0
        return export_unet(self, [1, h, w, 3])



def unet_logits(net, x):
    """Logits of a U-Net with NailSeg's attribute names (export_unet's);
    `drop` (Dropout2d at the bottleneck) is applied when the net has one."""
    x1 = net.b1(net.stem(x))
    x2 = net.d2(x1)
    for b in net.b2:
        x2 = b(x2)
    x3 = net.d3(x2)
    for b in net.b3:
        x3 = b(x3)
    x4 = net.d4(x3)
    for b in net.b4:
        x4 = b(x4)
    if getattr(net, "drop", None) is not None:
        x4 = net.drop(x4)
    return net.head(net.u1(net.u2(net.u3(x4, x3), x2), x1))


@torch.no_grad()
def export_unet(net, input_shape):
    """TFLite bytes of a U-Net built from this file's blocks with the
    attribute names NailSeg uses (stem, b1, d2, b2[], d3, b3[], d4, b4[], u3,
    u2, u1, head; dropout is the identity at inference): input `input`,
    output `nail_prob` (the head's LOGISTIC). nailoutline.NailOutline shares it."""
    g = tw.TfliteWriter()
    x = g.tensor("input", input_shape)
    x1 = net.b1.export(g, net.stem.export(g, x, "stem"), "b1")
    x2 = net.d2.export(g, x1, "d2")
    for i, b in enumerate(net.b2):
        x2 = b.export(g, x2, f"b2_{i}")
    x3 = net.d3.export(g, x2, "d3")
    for i, b in enumerate(net.b3):
        x3 = b.export(g, x3, f"b3_{i}")
    x4 = net.d4.export(g, x3, "d4")
    for i, b in enumerate(net.b4):
        x4 = b.export(g, x4, f"b4_{i}")
    y = net.u3.export(g, x4, x3, "u3")
    y = net.u2.export(g, y, x2, "u2")
    y = net.u1.export(g, y, x1, "u1")
    n, hh, ww, c = g.shape(y)
    wt = g.tensor("head/weights", [1, 1, 1, c],
                  net.head.weight.detach().numpy().transpose(0, 2, 3, 1))
    bt = g.tensor("head/bias", [1], net.head.bias.detach().numpy())
    lg = g.tensor("logits", [n, hh, ww, 1])
    g.conv2d(y, wt, bt, lg, act="NONE")
    prob = g.tensor("nail_prob", [n, hh, ww, 1])
    g.logistic(lg, prob)
    return g.finish(inputs=[x], outputs=[prob])


def count_macs(model, h=240, w=320):
    """Multiply-accumulates of one forward pass (convolutions only)."""
    macs = [0]

    def hook(mod, inp, out):
        k = mod.weight.shape
        macs[0] += out.numel() // out.shape[0] * k[1] * k[2] * k[3]

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, h, w))
    for x in hs:
        x.remove()
    return macs[0]


def count_params(model):
    return sum(p.numel() for p in model.parameters())


if __name__ == "__main__":
    import time
    torch.set_num_threads(1)
    m = NailSeg().eval()
    print("params", count_params(m), "MACs", count_macs(m) / 1e6, "M")
    x = torch.rand(1, 3, 240, 320)
    with torch.no_grad():
        for _ in range(3):
            m(x)
        t = time.time()
        for _ in range(10):
            m(x)
    print("torch 1 thread ms", (time.time() - t) / 10 * 1000)
    data = m.export_tflite()
    print("tflite bytes", len(data), math.ceil(len(data) / 1024), "KB")
