"""Records PyTorch's values for the layers issue 14 added (conv1d,
conv_transpose2d, conv2d/conv1d padding='same'/'valid', 1-d pooling,
dilation and ceil_mode in pooling, adaptive_max_pool2d, interpolate,
group_norm and instance_norm) into the fixture that
crates/micrograd-plus/tests/torch_layers.rs replays on our engine.

Cases use odd sizes, non-square kernels, strides, padding, dilation and
groups, f32 and f64, and the shapes and settings PyTorch rejects (recorded
as errors, which must be errors on our side too). Each records the inputs,
the op and its arguments, and either PyTorch's error or every output, the
random upstream gradient of the first output and every input's gradient.
The case format and helpers are record_torch_ops_extra.py's. Run with
PyTorch 2.15 (CPU); the output is deterministic:

  python scripts/record_torch_layers.py > crates/micrograd-plus/tests/data/torch_layers.json
"""
import warnings

import torch
import torch.nn.functional as F

import record_torch_ops_extra as rec
from record_torch_ops_extra import both, case, const, randn
from torch_json import values

NAN = float("nan")
# PyTorch warns that an even 'same' kernel copies the input padded: so do we.
warnings.filterwarnings("ignore", message="Using padding='same'")


def conv_cases():
    conv1d = lambda x, w, b=None, stride=1, padding=0, dilation=1, groups=1: F.conv1d(
        x, w, b, stride, padding, dilation, groups)
    for name, xs, ws, bias, args in [
        ("k3 bias", (2, 3, 7), (4, 3, 3), True, {}),
        ("k2 stride 2 padding 1", (2, 2, 9), (3, 2, 2), True, {"stride": 2, "padding": 1}),
        ("dilation 2 padding 2", (1, 2, 8), (2, 2, 3), False, {"dilation": 2, "padding": 2}),
        ("groups 2", (3, 4, 6), (6, 2, 3), True, {"groups": 2, "stride": 2}),
        ("unbatched", (3, 5), (2, 3, 2), True, {}),
        ("k1", (2, 3, 4), (5, 3, 1), True, {}),
    ]:
        makers = [randn(xs), randn(ws)] + ([randn((ws[0],))] if bias else [])
        both(name, "conv1d", args, makers, conv1d)
    for name, xs, ws, args in [
        ("channel mismatch", (2, 3, 7), (4, 2, 3), {}),
        ("kernel too large", (1, 2, 3), (2, 2, 5), {}),
        ("4-d weight", (1, 2, 5), (2, 2, 1, 3), {}),
        ("1-d input", (5,), (2, 1, 3), {}),
        ("groups not dividing", (1, 4, 6), (3, 2, 3), {"groups": 2}),
    ]:
        case(name, "conv1d", args, [randn(xs), randn(ws)], conv1d)
    both("empty batch", "conv1d", {}, [randn((0, 2, 5)), randn((3, 2, 2)), randn((3,))], conv1d)
    case("bad bias", "conv1d", {}, [randn((1, 2, 5)), randn((3, 2, 2)), randn((2,))], conv1d)

    same1d = lambda x, w, b=None, padding="same", stride=1, dilation=1: F.conv1d(
        x, w, b, stride, padding, dilation)
    for name, xs, ws, args in [
        ("k3", (2, 2, 7), (3, 2, 3), {}),
        ("k4 (odd total)", (1, 2, 6), (2, 2, 4), {}),
        ("k2 dilation 3 (odd total)", (1, 1, 5), (2, 1, 2), {"dilation": 3}),
        ("valid", (2, 2, 7), (3, 2, 4), {"padding": "valid"}),
    ]:
        both(name, "conv1d_padding", args, [randn(xs), randn(ws), randn((ws[0],))], same1d)
    case("same with stride 2", "conv1d_padding", {"stride": 2}, [randn((1, 2, 7)), randn((3, 2, 3))],
         same1d)

    same2d = lambda x, w, b=None, padding="same", stride=(1, 1), dilation=(1, 1), groups=1: F.conv2d(
        x, w, b, tuple(stride), padding, tuple(dilation), groups)
    for name, xs, ws, args in [
        ("3x3", (2, 3, 5, 6), (4, 3, 3, 3), {}),
        ("2x4 (odd totals)", (1, 2, 5, 7), (3, 2, 2, 4), {}),
        ("3x2 dilation (2, 3)", (1, 2, 7, 6), (2, 2, 3, 2), {"dilation": [2, 3]}),
        ("groups 2, 4x1", (2, 4, 5, 5), (4, 2, 4, 1), {"groups": 2}),
        ("unbatched 2x2", (2, 4, 5), (3, 2, 2, 2), {}),
        ("valid 3x2", (2, 2, 5, 6), (3, 2, 3, 2), {"padding": "valid"}),
    ]:
        both(name, "conv2d_padding", args, [randn(xs), randn(ws), randn((ws[0],))], same2d)
    case("same with stride 2", "conv2d_padding", {"stride": [2, 1]},
         [randn((1, 2, 5, 5)), randn((3, 2, 3, 3))], same2d)
    case("valid, kernel too large", "conv2d_padding", {"padding": "valid"},
         [randn((1, 2, 3, 3)), randn((3, 2, 4, 2))], same2d)

    convt = lambda x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1, \
        dilation=(1, 1): F.conv_transpose2d(x, w, b, tuple(stride), tuple(padding), tuple(output_padding),
                                            groups, tuple(dilation))
    for name, xs, ws, bias, args in [
        ("3x3 bias", (2, 3, 4, 5), (3, 2, 3, 3), True, {}),
        ("stride 2", (2, 2, 3, 4), (2, 3, 3, 3), True, {"stride": [2, 2]}),
        ("stride (2, 3) padding (1, 2) output_padding (1, 2)", (1, 2, 4, 3), (2, 2, 3, 4), True,
         {"stride": [2, 3], "padding": [1, 2], "output_padding": [1, 2]}),
        ("dilation (2, 1) padding 1", (2, 2, 3, 3), (2, 3, 2, 3), False,
         {"dilation": [2, 1], "padding": [1, 1]}),
        ("output_padding below dilation", (1, 2, 3, 3), (2, 1, 3, 2), True,
         {"dilation": [3, 1], "output_padding": [2, 0]}),
        ("groups 2 stride 2", (2, 4, 3, 3), (4, 3, 2, 2), True, {"groups": 2, "stride": [2, 2]}),
        ("depthwise groups 3", (1, 3, 4, 4), (3, 1, 3, 3), True, {"groups": 3, "padding": [1, 1]}),
        ("unbatched 1x1 stride 2", (2, 3, 3), (2, 4, 1, 1), True, {"stride": [2, 2]}),
        ("1x1", (2, 3, 2, 3), (3, 2, 1, 1), True, {}),
    ]:
        makers = [randn(xs), randn(ws)]
        if bias:
            groups = args.get("groups", 1)
            makers.append(randn((ws[1] * groups,)))
        both(name, "conv_transpose2d", args, makers, convt)
    for name, xs, ws, args in [
        ("channel mismatch", (1, 3, 3, 3), (2, 2, 3, 3), {}),
        ("output_padding too large", (1, 2, 3, 3), (2, 2, 3, 3), {"stride": [2, 2], "output_padding": [2, 0]}),
        ("output_padding without stride", (1, 2, 3, 3), (2, 2, 3, 3), {"output_padding": [1, 1]}),
        ("negative output size", (1, 2, 2, 2), (2, 2, 1, 1), {"padding": [2, 2]}),
        ("groups not dividing", (1, 3, 3, 3), (3, 2, 3, 3), {"groups": 2}),
        ("3-d weight", (1, 2, 3, 3), (2, 2, 3), {}),
        ("2-d input", (3, 3), (3, 2, 3, 3), {}),
    ]:
        case(name, "conv_transpose2d", args, [randn(xs), randn(ws)], convt)
    both("empty batch", "conv_transpose2d", {"stride": [2, 1]},
         [randn((0, 2, 3, 3)), randn((2, 3, 2, 2)), randn((3,))], convt)
    case("bad bias", "conv_transpose2d", {}, [randn((1, 2, 3, 3)), randn((2, 3, 2, 2)), randn((2,))],
         convt)


def spread(shape):
    """Distinct values (a random permutation of a grid), so a maximum's
    position is never a tie."""
    def f(g):
        n = 1
        for s in shape:
            n *= s
        return (torch.randperm(n, generator=g).double() * 0.25 - n / 8).reshape(shape)
    return f


def pool_cases():
    maxp = lambda x, kernel, stride, padding, dilation, ceil_mode: F.max_pool2d(
        x, tuple(kernel), tuple(stride), tuple(padding), tuple(dilation), ceil_mode, return_indices=True)
    avgp = lambda x, kernel, stride, padding, ceil_mode, count_include_pad: F.avg_pool2d(
        x, tuple(kernel), tuple(stride), tuple(padding), ceil_mode, count_include_pad)
    settings = [
        ((2, 2, 5, 7), [2, 2], [2, 2], [0, 0], [1, 1]),
        ((1, 2, 7, 6), [3, 2], [2, 2], [1, 1], [1, 1]),
        ((2, 1, 8, 9), [3, 3], [2, 3], [1, 0], [2, 2]),
        ((1, 3, 6, 7), [2, 3], [1, 2], [0, 1], [3, 2]),
        ((3, 5, 5), [3, 3], [3, 3], [1, 1], [1, 1]),
        ((1, 1, 4, 4), [3, 3], [2, 2], [1, 1], [1, 1]),
        ((1, 1, 5, 5), [2, 2], [3, 3], [1, 0], [1, 1]),
    ]
    for shape, k, s, p, d in settings:
        for ceil in [False, True]:
            args = {"kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil}
            both(f"{list(shape)} k {k} s {s} p {p} d {d} ceil {ceil}", "max_pool2d", args,
                 [spread(shape)], maxp)
            if d == [1, 1]:
                for include in [True, False]:
                    args = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil,
                            "count_include_pad": include}
                    both(f"{list(shape)} k {k} s {s} p {p} ceil {ceil} include {include}", "avg_pool2d",
                         args, [randn(shape)], avgp)
    both("ties and NaN", "max_pool2d",
         {"kernel": [2, 2], "stride": [1, 1], "padding": [0, 0], "dilation": [1, 2], "ceil_mode": True},
         [const([[1.0, 3.0, 3.0, 2.0], [NAN, 3.0, 1.0, 0.0], [2.0, 2.0, 2.0, 2.0]], (1, 3, 4))], maxp)
    for name, shape, args in [
        ("pad over half the kernel", (1, 1, 5, 5),
         {"kernel": [2, 2], "stride": [1, 1], "padding": [2, 0], "dilation": [1, 1], "ceil_mode": False}),
        ("dilated kernel too large", (1, 1, 4, 4),
         {"kernel": [3, 3], "stride": [1, 1], "padding": [0, 0], "dilation": [2, 2], "ceil_mode": True}),
        ("2-d input", (4, 4),
         {"kernel": [2, 2], "stride": [2, 2], "padding": [0, 0], "dilation": [1, 1], "ceil_mode": False}),
        ("zero stride", (1, 4, 4),
         {"kernel": [2, 2], "stride": [0, 1], "padding": [0, 0], "dilation": [1, 1], "ceil_mode": False}),
    ]:
        case(name, "max_pool2d", args, [randn(shape)], maxp)
    empty = {"kernel": [2, 2], "stride": [2, 1], "padding": [1, 0], "ceil_mode": True}
    both("empty batch", "max_pool2d", dict(empty, dilation=[1, 2]), [randn((0, 2, 5, 5))], maxp)
    both("empty batch", "avg_pool2d", dict(empty, count_include_pad=True), [randn((0, 2, 5, 5))], avgp)
    case("empty channels", "max_pool2d", dict(empty, dilation=[1, 1]), [randn((2, 0, 5, 5))], maxp)
    case("empty 3-d", "avg_pool2d", dict(empty, count_include_pad=True), [randn((0, 5, 5))], avgp)
    case("kernel too large, ceil", "avg_pool2d",
         {"kernel": [4, 2], "stride": [1, 1], "padding": [0, 0], "ceil_mode": True, "count_include_pad": True},
         [randn((1, 3, 3))], avgp)

    max1 = lambda x, kernel, stride, padding, dilation, ceil_mode: F.max_pool1d(
        x, kernel, stride, padding, dilation, ceil_mode)
    avg1 = lambda x, kernel, stride, padding, ceil_mode, count_include_pad: F.avg_pool1d(
        x, kernel, stride, padding, ceil_mode, count_include_pad)
    for shape, k, s, p, d in [((2, 3, 9), 3, 2, 1, 1), ((1, 2, 8), 2, 2, 0, 1), ((3, 7), 3, 3, 1, 1),
                              ((2, 2, 10), 3, 2, 1, 2), ((1, 1, 6), 4, 1, 2, 1)]:
        for ceil in [False, True]:
            both(f"{list(shape)} k {k} s {s} p {p} d {d} ceil {ceil}", "max_pool1d",
                 {"kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil},
                 [spread(shape)], max1)
            if d == 1:
                for include in [True, False]:
                    both(f"{list(shape)} k {k} s {s} p {p} ceil {ceil} include {include}", "avg_pool1d",
                         {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil,
                          "count_include_pad": include}, [randn(shape)], avg1)
    both("empty batch", "max_pool1d", {"kernel": 2, "stride": 2, "padding": 1, "dilation": 1,
                                      "ceil_mode": True}, [randn((0, 2, 5))], max1)
    both("empty batch", "avg_pool1d", {"kernel": 2, "stride": 2, "padding": 1, "ceil_mode": False,
                                      "count_include_pad": False}, [randn((0, 2, 5))], avg1)
    case("empty 2-d", "max_pool1d", {"kernel": 2, "stride": 2, "padding": 0, "dilation": 1,
                                    "ceil_mode": False}, [randn((0, 5))], max1)
    case("kernel too large", "max_pool1d", {"kernel": 5, "stride": 1, "padding": 0, "dilation": 1,
                                           "ceil_mode": False}, [randn((1, 2, 4))], max1)
    case("4-d input", "max_pool1d", {"kernel": 2, "stride": 2, "padding": 0, "dilation": 1,
                                    "ceil_mode": False}, [randn((1, 1, 2, 4))], max1)
    case("pad over half the kernel", "avg_pool1d", {"kernel": 2, "stride": 1, "padding": 2,
                                                   "ceil_mode": False, "count_include_pad": True},
         [randn((1, 2, 6))], avg1)

    amax = lambda x, output_size: F.adaptive_max_pool2d(x, tuple(output_size), return_indices=True)
    for shape, size in [((2, 3, 5, 7), [3, 4]), ((1, 2, 4, 4), [2, 2]), ((1, 2, 3, 3), [5, 4]),
                        ((2, 6, 5), [1, 1]), ((1, 1, 7, 3), [3, 1])]:
        both(f"{list(shape)} to {size}", "adaptive_max_pool2d", {"output_size": size}, [spread(shape)], amax)
    # (An output size of 0 is left out: PyTorch 2.15 returns an empty
    # tensor whose backward then fails; we refuse it, as adaptive_avg_pool2d.)
    both("empty batch", "adaptive_max_pool2d", {"output_size": [2, 3]}, [randn((0, 2, 4, 5))], amax)
    case("2-d input", "adaptive_max_pool2d", {"output_size": [2, 2]}, [randn((3, 3))], amax)


def interpolate_cases():
    interp = lambda x, size, scale_factor, mode, align_corners: F.interpolate(
        x, size=None if size is None else tuple(size),
        scale_factor=None if scale_factor is None else tuple(scale_factor), mode=mode,
        align_corners=align_corners)
    for shape, size, factor in [((2, 3, 4, 5), [7, 3], None), ((1, 2, 3, 3), None, [2.0, 2.0]),
                                ((1, 2, 5, 4), None, [1.5, 0.5]), ((1, 1, 3, 5), None, [1.3, 2.7]),
                                ((2, 1, 4, 6), [4, 6], None), ((1, 2, 6, 3), [2, 9], None),
                                ((1, 1, 1, 3), [4, 1], None)]:
        both(f"{list(shape)} size {size} factor {factor}", "interpolate",
             {"size": size, "scale_factor": factor, "mode": "nearest", "align_corners": None},
             [randn(shape)], interp)
        for align in [False, True]:
            both(f"{list(shape)} size {size} factor {factor} align {align}", "interpolate",
                 {"size": size, "scale_factor": factor, "mode": "bilinear", "align_corners": align},
                 [randn(shape)], interp)
    for shape, size, factor in [((2, 3, 5), [8], None), ((1, 2, 4), None, [2.5]), ((1, 1, 6), [4], None),
                                ((1, 2, 3), None, [3.0])]:
        both(f"{list(shape)} size {size} factor {factor}", "interpolate",
             {"size": size, "scale_factor": factor, "mode": "nearest", "align_corners": None},
             [randn(shape)], interp)
        for align in [False, True]:
            both(f"{list(shape)} size {size} factor {factor} align {align}", "interpolate",
                 {"size": size, "scale_factor": factor, "mode": "linear", "align_corners": align},
                 [randn(shape)], interp)
    for mode in ["nearest", "bilinear"]:
        both(f"empty batch {mode}", "interpolate",
             {"size": [4, 5], "scale_factor": None, "mode": mode, "align_corners": None},
             [randn((0, 2, 3, 3))], interp)
    for name, shape, args in [
        ("size and scale_factor", (1, 1, 3, 3), {"size": [4, 4], "scale_factor": [2.0, 2.0], "mode": "nearest",
                                                 "align_corners": None}),
        ("neither", (1, 1, 3, 3), {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None}),
        ("align_corners with nearest", (1, 1, 3, 3), {"size": [4, 4], "scale_factor": None, "mode": "nearest",
                                                      "align_corners": True}),
        ("bilinear on 3-d", (1, 1, 3), {"size": [4], "scale_factor": None, "mode": "bilinear",
                                        "align_corners": False}),
        ("linear on 4-d", (1, 1, 3, 3), {"size": [4, 4], "scale_factor": None, "mode": "linear",
                                         "align_corners": False}),
        ("wrong size length", (1, 1, 3, 3), {"size": [4, 4, 4], "scale_factor": None, "mode": "nearest",
                                             "align_corners": None}),
        ("zero output", (1, 1, 3, 3), {"size": [0, 2], "scale_factor": None, "mode": "bilinear",
                                       "align_corners": False}),
    ]:
        case(name, "interpolate", args, [randn(shape)], interp)


def norm_cases():
    gn = lambda x, w=None, b=None, num_groups=1, eps=1e-5: F.group_norm(x, num_groups, w, b, eps)
    for shape, groups, affine in [((2, 6, 5), 3, True), ((3, 4, 3, 5), 2, True), ((2, 4, 3, 3), 4, False),
                                  ((2, 6), 2, True), ((1, 3, 2, 2, 3), 1, True), ((2, 4, 3, 3), 1, False)]:
        c = shape[1]
        makers = [randn(shape)] + ([randn((c,)), randn((c,))] if affine else [])
        both(f"{list(shape)} groups {groups} affine {affine}", "group_norm",
             {"num_groups": groups, "eps": 1e-5}, makers, gn)
    both("constant group, eps 0.1", "group_norm", {"num_groups": 2, "eps": 0.1},
         [const([1.0] * 8 + [2.0, 3.0] * 4, (1, 4, 4))], gn)
    both("empty batch", "group_norm", {"num_groups": 2, "eps": 1e-5},
         [randn((0, 4, 3)), randn((4,)), randn((4,))], gn)
    case("groups not dividing", "group_norm", {"num_groups": 4, "eps": 1e-5}, [randn((2, 6, 3))], gn)
    case("bad weight", "group_norm", {"num_groups": 2, "eps": 1e-5},
         [randn((2, 4, 3)), randn((2,)), randn((4,))], gn)

    def inorm(x, *params, use_input_stats=True, momentum=0.1, eps=1e-5, running=False, affine=False):
        c = x.shape[1]
        rm = torch.linspace(-0.5, 0.5, c, dtype=x.dtype) if running else None
        rv = torch.linspace(0.5, 2.0, c, dtype=x.dtype) if running else None
        w, b = params if affine else (None, None)
        y = F.instance_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
        # The updated running statistics are outputs too (no gradient).
        return (y, rm, rv) if running else y
    for shape, running, affine, use in [((2, 3, 5), False, False, True), ((2, 3, 4, 5), False, True, True),
                                        ((3, 2, 3, 3), True, True, True), ((2, 3, 4, 3), True, False, False),
                                        ((2, 2, 3, 3), True, True, False), ((1, 4, 2, 2, 2), True, False, True)]:
        c = shape[1]
        makers = [randn(shape)] + ([randn((c,)), randn((c,))] if affine else [])
        both(f"{list(shape)} running {running} affine {affine} input stats {use}", "instance_norm",
             {"use_input_stats": use, "momentum": 0.3, "eps": 1e-5, "running": running, "affine": affine},
             makers, inorm)
    both("empty batch", "instance_norm",
         {"use_input_stats": True, "momentum": 0.1, "eps": 1e-5, "running": False, "affine": False},
         [randn((0, 3, 4))], inorm)
    case("one spatial element", "instance_norm",
         {"use_input_stats": True, "momentum": 0.1, "eps": 1e-5, "running": False, "affine": False},
         [randn((2, 3, 1))], inorm)
    case("no running stats in eval", "instance_norm",
         {"use_input_stats": False, "momentum": 0.1, "eps": 1e-5, "running": False, "affine": False},
         [randn((2, 3, 4))], inorm)


# The layers as modules: (name, constructor, input shape, training). The
# Rust test builds the same module, loads PyTorch's state dict strictly (so
# the names and shapes must be PyTorch's) and compares the output and the
# state afterwards (running statistics).
MODULES = [
    ("Conv1d(3, 4, 3, stride=2, padding=1)", lambda: torch.nn.Conv1d(3, 4, 3, stride=2, padding=1),
     (2, 3, 9), True),
    ("Conv1d(4, 6, 4, groups=2, padding='same', bias=False)",
     lambda: torch.nn.Conv1d(4, 6, 4, groups=2, padding="same", bias=False), (2, 4, 7), True),
    ("Conv2d(3, 4, 4, padding='same')", lambda: torch.nn.Conv2d(3, 4, 4, padding="same"), (1, 3, 5, 6), True),
    ("ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2)",
     lambda: torch.nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2),
     (2, 4, 3, 4), True),
    ("ConvTranspose2d(3, 2, 3, bias=False, dilation=2)",
     lambda: torch.nn.ConvTranspose2d(3, 2, 3, bias=False, dilation=2), (3, 4, 4), True),
    ("MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True)",
     lambda: torch.nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 10), True),
    ("AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
     lambda: torch.nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 10), True),
    ("MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True)",
     lambda: torch.nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True), (1, 2, 8, 9), True),
    ("AvgPool2d(3, stride=2, padding=1, ceil_mode=True)",
     lambda: torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), (1, 2, 8, 9), True),
    ("AdaptiveMaxPool2d((2, 3))", lambda: torch.nn.AdaptiveMaxPool2d((2, 3)), (2, 2, 5, 7), True),
    ("Upsample(scale_factor=2, mode='bilinear')",
     lambda: torch.nn.Upsample(scale_factor=2, mode="bilinear"), (1, 2, 3, 4), True),
    ("Upsample(size=(5, 3), mode='nearest')", lambda: torch.nn.Upsample(size=(5, 3)), (1, 2, 3, 4), True),
    ("GroupNorm(2, 4)", lambda: torch.nn.GroupNorm(2, 4), (3, 4, 3, 2), True),
    ("GroupNorm(3, 6, affine=False)", lambda: torch.nn.GroupNorm(3, 6, affine=False), (2, 6, 5), True),
    ("InstanceNorm2d(3)", lambda: torch.nn.InstanceNorm2d(3), (2, 3, 4, 5), True),
    ("InstanceNorm2d(3, affine=True, track_running_stats=True), training",
     lambda: torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 5), True),
    ("InstanceNorm2d(3, affine=True, track_running_stats=True), eval",
     lambda: torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (3, 4, 5), False),
]


def tensor_spec(t):
    return {"shape": list(t.shape), "value": values(t)}


def module_cases():
    out = []
    for i, (name, make, shape, training) in enumerate(MODULES):
        torch.manual_seed(i)
        m = make()
        with torch.no_grad():
            # Non-default state, so a buffer or parameter left unloaded shows.
            for t in list(m.parameters()) + [b for b in m.buffers() if b.is_floating_point()]:
                t.copy_(torch.rand(t.shape) + 0.5)
        m.train(training)
        state = {k: tensor_spec(v) for k, v in m.state_dict().items()}
        x = torch.randn(shape)
        y = m(x)
        out.append({"name": name, "state": list(state.items()), "input": tensor_spec(x),
                    "output": tensor_spec(y), "training": training,
                    "state_after": [[k, tensor_spec(v)] for k, v in m.state_dict().items()]})
    return out


def main():
    conv_cases()
    pool_cases()
    interpolate_cases()
    norm_cases()
    rec.write_fixture(modules=module_cases())


if __name__ == "__main__":
    main()
