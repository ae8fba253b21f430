"""Hostile inputs for micrograd_plus, run in a child interpreter by
test_errors.py (so that a crash fails one test instead of killing pytest).

Each case is a snippet executed in a fresh namespace. The child prints one
line "START <name>" before each case (flushed, so the parent can name the case
that killed it) and one line "RESULT <json>" after it, with the exception type
the case raised, if any. Run directly, it prints the same lines.
"""
import json
import sys

CASES = {
    # --- construction from odd Python and NumPy values ---------------------------
    "ragged list": "Tensor([[1, 2], [3]])",
    "ragged deep list": "Tensor([[[1], [2, 3]]])",
    "ragged with empty": "Tensor([[], [1]])",
    "string": "Tensor('abc')",
    "list of strings": "Tensor(['1', '2'])",
    "bytes": "Tensor(b'abc')",
    "None": "Tensor(None)",
    "dict": "Tensor({'a': 1})",
    "set": "Tensor({1.0, 2.0})",
    "generator": "Tensor(x for x in range(3))",
    "object array": "Tensor(np.array([object(), object()], dtype=object))",
    "object array of floats": "Tensor(np.array([1.0, 2.0], dtype=object))",
    "object array of arrays": "Tensor(np.array([np.ones(2), np.ones(3)], dtype=object))",
    "string array": "Tensor(np.array(['a', 'b']))",
    "complex": "Tensor([1 + 2j])",
    "complex array": "Tensor(np.ones(3, np.complex128))",
    "datetime array": "Tensor(np.array(['2020-01-01'], dtype='datetime64[D]'))",
    "structured array": "Tensor(np.zeros(2, dtype=[('a', 'f4'), ('b', 'i4')]))",
    "huge int": "Tensor([10**400])",
    "huge uint64": "Tensor(np.array([2**64 - 1], np.uint64))",
    "float16 input": "Tensor(np.ones(3, np.float16)).sum().item()",
    "bool input": "Tensor(np.array([True, False])).sum().item()",
    "non-contiguous input": "Tensor(np.ones((4, 4))[:, ::2]).sum().item()",
    "negative strides": "Tensor(np.arange(5.0)[::-1]).sum().item()",
    "broadcast-strided input": "Tensor(np.broadcast_to(np.arange(3.0), (4, 3))).sum().item()",
    "read-only input": "a = np.ones(3); a.flags.writeable = False; Tensor(a) * 2",
    "0-d array": "Tensor(np.array(3.0)) * 2",
    "64 dims": "Tensor(np.ones((1,) * 32)).sum().backward()",
    "deeply nested list": "l = [1.0]\nfor _ in range(100000):\n    l = [l]\nTensor(l)",
    "self-containing list": "l = [1.0]\nl.append(l)\nTensor(l)",
    "dtype int32": "Tensor([1, 2], dtype=np.int32)",
    "dtype string": "Tensor([1, 2], dtype='banana')",
    "dtype float16": "Tensor([1, 2], dtype=np.float16)",
    "dtype object": "Tensor([1, 2], dtype=object)",
    "requires_grad string": "Tensor([1.0], requires_grad='yes').sum().backward()",
    "children non-tensors": "Tensor([1.0], requires_grad=True, _children=(1, 'a')).sum().backward()",
    "children not iterable": "Tensor([1.0], _children=5)",
    "op not a string": "Tensor([1.0], _op=5)",
    # --- NaN, inf, empty -------------------------------------------------------------
    "nan and inf through every unary op": (
        "t = Tensor([np.nan, np.inf, -np.inf, 0.0, -1.0], requires_grad=True)\n"
        "(t.relu() + t.exp() + t.log() + t.sqrt() + t.sigmoid() + t.tanh() + t.abs()).sum().backward()"
    ),
    "nan softmax": "Tensor([[np.nan, 1.0], [np.inf, -np.inf]], requires_grad=True).log_softmax(axis=1).sum().backward()",
    "nan max": "Tensor([np.nan, 1.0], requires_grad=True).max().backward()",
    "nan loss": "CrossEntropyLoss()(Tensor([[np.nan, 1.0]], requires_grad=True), Tensor([0])).backward()",
    "empty sum and mean": "e = Tensor(np.zeros((0, 3)), requires_grad=True)\ne.sum().backward()\ne.mean()",
    "empty max": "Tensor(np.zeros(0)).max()",
    "empty max axis": "Tensor(np.zeros((0, 3))).max(axis=0)",
    "empty softmax": "Tensor(np.zeros((2, 0))).softmax(axis=1)",
    "empty list": "Tensor([]) * 2",
    "empty matmul": "(Tensor(np.zeros((0, 3)), requires_grad=True) @ Tensor(np.zeros((3, 0)))).sum().backward()",
    "empty inner matmul": "(Tensor(np.zeros((2, 0)), requires_grad=True) @ Tensor(np.zeros((0, 2)))).sum().backward()",
    "empty item": "Tensor([]).item()",
    "empty cross entropy": "CrossEntropyLoss()(Tensor(np.zeros((0, 3))), Tensor(np.zeros(0)))",
    "empty linear": "Linear(3, 2)(Tensor(np.zeros((0, 3)))).sum().backward()",
    "empty batchnorm": "BatchNorm(3)(Tensor(np.zeros((0, 3))))",
    "divide by zero": "(Tensor([1.0, 0.0], requires_grad=True) / 0.0).sum().backward()",
    "negative base fractional power": "(Tensor([-1.0], requires_grad=True) ** 0.5).sum().backward()",
    "zero to negative power": "(Tensor([0.0], requires_grad=True) ** -1).sum().backward()",
    # --- shapes and arguments -----------------------------------------------------
    "huge reshape": "Tensor([1.0, 2.0]).reshape(10**12, 10**12)",
    "overflowing reshape": "Tensor([1.0]).reshape(2**40, 2**40)",
    "reshape beyond int64": "Tensor([1.0]).reshape(2**70)",
    # 2**32 * 2**32 wraps to 0 in 64 bits: an empty tensor must not accept it
    "wrapping reshape of an empty tensor, then data": "e = Tensor(np.zeros(0)).reshape(2**32, 2**32)\nfloat(e.data.sum())",
    "wrapping reshape of an empty tensor, then ops": "e = Tensor(np.zeros(0), requires_grad=True)\n(e.reshape(2**32, 2**32) + 1).sum().backward()",
    "wrapping reshape with -1": "Tensor(np.zeros(0)).reshape(2**32, 2**32, -1).data.sum()",
    "reshape negative": "Tensor([1.0, 2.0]).reshape(-2)",
    "reshape two -1": "Tensor(np.ones(4)).reshape(-1, -1)",
    "reshape zero and -1": "Tensor(np.ones(4)).reshape(0, -1)",
    "reshape floats": "Tensor(np.ones(4)).reshape(2.5, 2)",
    "reshape string": "Tensor(np.ones(4)).reshape('2', 2)",
    "sum bad axis": "Tensor(np.ones((2, 3))).sum(axis=5)",
    "sum bad negative axis": "Tensor(np.ones((2, 3))).sum(axis=-3)",
    "sum huge axis": "Tensor(np.ones((2, 3))).sum(axis=2**63)",
    "sum axis string": "Tensor(np.ones((2, 3))).sum(axis='0')",
    "sum repeated axes": "Tensor(np.ones((2, 3))).sum(axis=(0, 0))",
    "mean bad axis": "Tensor(np.ones((2, 3))).mean(axis=2)",
    "max bad axis": "Tensor(np.ones((2, 3))).max(axis=-5)",
    "softmax bad axis": "Tensor(np.ones(3)).softmax(axis=3)",
    "softmax of 0-d": "Tensor(1.0).softmax()",
    "transpose duplicate axes": "Tensor(np.ones((2, 3))).transpose(0, 0)",
    "transpose too few axes": "Tensor(np.ones((2, 3))).transpose(0)",
    "transpose out of range": "Tensor(np.ones((2, 3))).transpose(0, 9)",
    "squeeze non-one dim": "Tensor(np.ones((2, 3))).squeeze(0)",
    "squeeze out of range": "Tensor(np.ones((2, 3))).squeeze(7)",
    "unsqueeze out of range": "Tensor(np.ones((2, 3))).unsqueeze(10)",
    "index out of range": "Tensor(np.ones(3))[5]",
    "negative index out of range": "Tensor(np.ones(3))[-4]",
    "index float": "Tensor(np.ones(3))[1.5]",
    "too many indices": "Tensor(np.ones(3))[0, 0]",
    "huge index in list": "Tensor(np.ones(3), requires_grad=True)[[0, 10**20]].sum().backward()",
    "index list out of range": "Tensor(np.ones(3), requires_grad=True)[[0, 3]].sum().backward()",
    "index None and ellipsis": "Tensor(np.ones((2, 3)), requires_grad=True)[None, ..., 1].sum().backward()",
    "index string": "Tensor(np.ones(3))['a']",
    "index wrong-size mask": "Tensor(np.ones(3))[np.array([True, False])]",
    "index of 0-d": "Tensor(1.0)[0]",
    "setitem": "t = Tensor(np.ones(3))\nt[0] = 5",
    "add shape mismatch": "Tensor(np.ones((2, 3))) + Tensor(np.ones((4, 5)))",
    "matmul mismatch": "Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))",
    "matmul batch mismatch": "Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5)))",
    "matmul 0-d": "Tensor(2.0) @ Tensor(3.0)",
    "matmul with int": "Tensor(np.ones((2, 2))) @ 3",
    "add string": "Tensor([1.0]) + 'a'",
    "add None": "Tensor([1.0]) + None",
    "add list": "(Tensor([1.0, 2.0]) + [1.0, 2.0]).sum()",
    "add ndarray": "(Tensor([1.0, 2.0]) + np.array([1.0, 2.0])).sum()",
    "ndarray plus tensor": "np.array([1.0, 2.0]) + Tensor([1.0, 2.0])",
    "pow tensor exponent": "Tensor([2.0]) ** Tensor([2.0])",
    "pow string": "Tensor([2.0]) ** '2'",
    "pow huge": "(Tensor([2.0], requires_grad=True) ** 10**6).sum().backward()",
    "rpow": "2 ** Tensor([1.0])",
    "compare with string": "Tensor([1.0]) < 'a'",
    "clip inverted": "Tensor([1.0]).clip(2, 1)",
    "item of many": "Tensor([1.0, 2.0]).item()",
    "len of 0-d": "len(Tensor(1.0))",
    "iterate": "list(Tensor(np.ones((2, 2))))",
    "bool of many": "bool(Tensor([1.0, 2.0]))",
    "float of tensor": "float(Tensor([1.0]))",
    "numpy ufunc": "np.exp(Tensor([1.0]))",
    "numpy out= into data": "t = Tensor([1.0, 2.0])\nnp.add(t.data, 1, out=t.data)\n(t * 1).sum().item()",
    "deepcopy": "import copy\ncopy.deepcopy(Tensor([1.0], requires_grad=True))",
    "pickle": "import pickle\npickle.loads(pickle.dumps(Tensor([1.0])))",
    "subclass": "class T(Tensor):\n    pass\nT([1.0]) * 2",
    # --- .data / .grad assignment -----------------------------------------------------
    "data wrong shape": "t = Tensor(np.ones(3))\nt.data = np.ones(7)\n(t * 2).sum()",
    "data string": "t = Tensor(np.ones(3))\nt.data = 'abc'",
    "data None": "t = Tensor(np.ones(3))\nt.data = None",
    "data ragged": "t = Tensor(np.ones(3))\nt.data = [[1], [2, 3]]",
    "data object array": "t = Tensor(np.ones(2))\nt.data = np.array([object(), 1], dtype=object)",
    "data resize": "t = Tensor(np.ones(3))\nt.data.resize((10,))",
    "data shape attribute": "t = Tensor(np.ones(4))\nt.data.shape = (2, 2)\n(t * 2).sum()",
    "grad wrong shape then backward": "t = Tensor(np.ones(3), requires_grad=True)\nt.grad = np.ones(7)\n(t * 2).sum().backward()",
    "grad string": "t = Tensor(np.ones(3), requires_grad=True)\nt.grad = 'x'",
    "grad on no-grad tensor": "t = Tensor(np.ones(3))\nt.grad = np.ones(3)\n(t * 2).sum().backward()",
    "grad None then backward": "t = Tensor(np.ones(3), requires_grad=True)\nt.grad = None\n(t * 2).sum().backward()",
    "grad None then optimizer": "t = Tensor(np.ones(3), requires_grad=True)\nt.grad = None\nAdam([t]).step()",
    "backward wrong gradient shape": "t = Tensor(np.ones(3), requires_grad=True)\n(t * 2).backward(np.ones(7))",
    "backward gradient string": "t = Tensor(np.ones(3), requires_grad=True)\n(t * 2).backward('x')",
    "requires_grad toggled mid-graph": "t = Tensor(np.ones(3), requires_grad=True)\ny = (t * t).sum()\nt.requires_grad = False\ny.backward()",
    # --- views must keep their memory alive --------------------------------------------
    "data view outlives its tensor": "v = Tensor(np.ones(1000)).data\nimport gc\ngc.collect()\nassert float(v.sum()) == 1000.0",
    "grad view outlives zero_grad": (
        "t = Tensor(np.ones(1000), requires_grad=True)\n(t * 2).sum().backward()\ng = t.grad\n"
        "t.zero_grad()\nt.grad = np.ones(1000)\ndel t\nimport gc\ngc.collect()\nfloat(g.sum())"
    ),
    "data view after reassignment": "t = Tensor(np.ones(1000))\nv = t.data\nt.data = np.zeros(1000)\nfloat(v.sum())",
    "data view after optimizer steps": (
        "p = Tensor(np.ones(1000), requires_grad=True)\nv = p.data\nopt = Adam([p], lr=0.1)\n"
        "for _ in range(3):\n    opt.zero_grad()\n    (p * p).sum().backward()\n    opt.step()\nfloat(v.sum())"
    ),
    "data view after load_state_dict": (
        "m = Linear(3, 2)\nv = m.weight.data\nm.load_state_dict(m.state_dict())\ndel m\nimport gc\ngc.collect()\nfloat(v.sum())"
    ),
    "non-leaf data written before backward": "t = Tensor(np.ones(3), requires_grad=True)\ny = t * 2\ny.data[0] = 100\n(y * y).sum().backward()",
    # --- custom-op misuse ---------------------------------------------------------------
    "_backward not callable": "t = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(t,))\nout._backward = 5\nout.sum().backward()",
    "_backward wants arguments": "t = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(t,))\nout._backward = lambda a, b: None\nout.sum().backward()",
    "_backward returns garbage": "t = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(t,))\nout._backward = lambda: 'garbage'\nout.sum().backward()",
    "_backward writes wrong-shape grad": "t = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(t,))\ndef bw():\n    t.grad = np.ones(7)\nout._backward = bw\nout.sum().backward()",
    "_backward raises SystemExit-like BaseException": "t = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(t,))\ndef bw():\n    raise GeneratorExit('x')\nout._backward = bw\ntry:\n    out.sum().backward()\nexcept GeneratorExit:\n    pass",
    "_prev non-tensors": "out = Tensor([1.0], requires_grad=True)\nout._prev = {1, 2}\nout.sum().backward()",
    "_prev not iterable": "out = Tensor([1.0], requires_grad=True)\nout._prev = 5",
    "_prev None": "out = Tensor([1.0], requires_grad=True)\nout._prev = None\nout.sum().backward()",
    "_op not a string": "out = Tensor([1.0], requires_grad=True)\nout._op = 5",
    "cycle through _prev": "a = Tensor([1.0], requires_grad=True)\nb = a * 2\na._prev = {b}\na._backward = lambda: None\nb.sum().backward()",
    "self cycle": "a = Tensor([1.0], requires_grad=True)\na._prev = {a}\na._backward = lambda: None\n(a * 2).sum().backward()",
    "backward inside _backward": (
        "x = Tensor([1.0, 2.0], requires_grad=True)\nout = Tensor(x.data * 2, requires_grad=True, _children=(x,))\n"
        "def bw():\n    (x * 3).sum().backward()\n    x.grad += 2 * out.grad\nout._backward = bw\nout.sum().backward()"
    ),
    "same graph backward inside _backward": (
        "x = Tensor([1.0], requires_grad=True)\nout = Tensor(x.data * 2, requires_grad=True, _children=(x,))\n"
        "loss = out.sum()\ndef bw():\n    loss.backward()\nout._backward = bw\nloss.backward()"
    ),
    "ops and gc inside _backward": (
        "import gc\nx = Tensor([1.0, 2.0], requires_grad=True)\nout = Tensor(x.data * 2, requires_grad=True, _children=(x,))\n"
        "def bw():\n    gc.collect()\n    x.grad += (x * 2).data * out.grad\nout._backward = bw\n(out * out).sum().backward()"
    ),
    "deleting _backward": "x = Tensor([1.0], requires_grad=True)\nout = Tensor([1.0], requires_grad=True, _children=(x,))\ndel out._backward\nout.sum().backward()",
    # --- layers, losses, optimizers with bad arguments ---------------------------------------
    "Linear negative size": "Linear(-1, 3)",
    "Linear zero size": "Linear(0, 3)(Tensor(np.ones((2, 0))))",
    "Linear float size": "Linear(2.5, 3)",
    "Linear huge size": "Linear(10**12, 10**12)",
    "Linear wrong input width": "Linear(3, 2)(Tensor(np.ones((4, 5))))",
    "Linear 0-d input": "Linear(3, 2)(Tensor(1.0))",
    "Linear ndarray input": "Linear(3, 2)(np.ones((1, 3)))",
    "Dropout p above 1": "Dropout(1.5)(Tensor(np.ones(3)))",
    "Dropout negative p": "Dropout(-0.1)(Tensor(np.ones(3)))",
    "Dropout p equal 1": "Dropout(1.0)(Tensor(np.ones(3), requires_grad=True)).sum().backward()",
    "CE target out of range": "CrossEntropyLoss()(Tensor(np.ones((2, 3)), requires_grad=True), Tensor([0, 7])).backward()",
    "CE negative target": "CrossEntropyLoss()(Tensor(np.ones((2, 3))), Tensor([-1, 0]))",
    "CE fractional target": "CrossEntropyLoss()(Tensor(np.ones((2, 3))), Tensor([0.5, 1]))",
    "CE nan target": "CrossEntropyLoss()(Tensor(np.ones((2, 3))), Tensor([np.nan, 0]))",
    "CE huge target": "CrossEntropyLoss()(Tensor(np.ones((1, 3))), np.array([2**62]))",
    "CE 1-d logits": "CrossEntropyLoss()(Tensor(np.ones(3)), Tensor([0]))",
    "CE batch mismatch": "CrossEntropyLoss()(Tensor(np.ones((2, 3))), Tensor([0, 1, 2]))",
    "CE string targets": "CrossEntropyLoss()(Tensor(np.ones((2, 3))), ['a', 'b'])",
    "MSE shape mismatch": "MSELoss()(Tensor(np.ones(3)), Tensor(np.ones(4)))",
    "loss bad reduction": "MSELoss(reduction=None)(Tensor(np.ones(3)), Tensor(np.ones(3)))",
    "BCE outside 0..1": "BCELoss()(Tensor([1.5, -0.5], requires_grad=True), Tensor([1.0, 0.0])).backward()",
    "Huber negative delta": "HuberLoss(delta=-1.0)(Tensor([1.0]), Tensor([0.0]))",
    "BatchNorm wrong features": "BatchNorm(3)(Tensor(np.ones((4, 5))))",
    "BatchNorm batch of one": "BatchNorm(3)(Tensor(np.ones((1, 3)), requires_grad=True)).sum().backward()",
    "BatchNorm 1-d input": "BatchNorm(3)(Tensor(np.ones(3)))",
    "Embedding out of range": "Embedding(5, 2)(Tensor([7]))",
    "Embedding negative index": "Embedding(5, 2)(Tensor([-1]))",
    "Embedding fractional index": "Embedding(5, 2)(Tensor([1.5]))",
    "Embedding nan index": "Embedding(5, 2)(Tensor([np.nan]))",
    "Embedding huge index": "Embedding(5, 2)(np.array([2**62]))",
    "Flatten bad dims": "Flatten(start_dim=5)(Tensor(np.ones((2, 3))))",
    "Softmax layer bad axis": "Softmax(axis=4)(Tensor(np.ones((2, 3))))",
    "Sequential of non-modules": "Sequential(1, 'a')(Tensor([1.0]))",
    "Sequential index out of range": "Sequential(Linear(2, 2))[5]",
    "SGD on a no-grad tensor": "SGD([Tensor([1.0])], lr=0.1).step()",
    "SGD on non-tensors": "SGD([1, 2], lr=0.1).step()",
    "SGD lr string": "p = Tensor([1.0], requires_grad=True)\np.grad = np.ones(1)\nSGD([p], lr='a').step()",
    "Adam negative lr": "p = Tensor([1.0], requires_grad=True)\np.grad = np.ones(1)\nAdam([p], lr=-1).step()",
    "Adam bad betas": "p = Tensor([1.0], requires_grad=True)\np.grad = np.ones(1)\nAdam([p], betas=(2.0, -1.0)).step()",
    "Adam no params": "Adam([]).step()",
    "Adam generator params": "Adam(p for p in [Tensor([1.0], requires_grad=True)]).step()",
    "Adam lr changed to string": "p = Tensor([1.0], requires_grad=True)\nopt = Adam([p])\nopt.lr = 'x'\np.grad = np.ones(1)\nopt.step()",
    "optimizer grad wrong shape": "p = Tensor([1.0, 2.0], requires_grad=True)\nopt = Adam([p])\ntry:\n    p.grad = np.ones(5)\nexcept Exception:\n    pass\nopt.step()",
    "optimizer params replaced": "p = Tensor([1.0], requires_grad=True)\nopt = Adam([p])\nopt.params = [Tensor(np.ones(4), requires_grad=True)]\nfor q in opt.params:\n    q.grad = np.ones(4)\nopt.step()",
    "scheduler on a foreign object": "CosineAnnealingLR(object(), T_max=4).step()",
    "scheduler T_max 0": "p = Tensor([1.0], requires_grad=True)\nCosineAnnealingLR(SGD([p]), T_max=0).step()",
    "DataLoader mismatched lengths": "list(DataLoader(np.ones((3, 2)), np.ones(4)))",
    "DataLoader batch size 0": "list(DataLoader(np.ones((3, 2)), np.ones(3), batch_size=0))",
    "DataLoader negative batch size": "list(DataLoader(np.ones((3, 2)), np.ones(3), batch_size=-1))",
    "numerical_gradient f returns a string": "numerical_gradient(lambda a: 'x', np.ones(2))",
    "numerical_gradient f raises": "numerical_gradient(lambda a: 1 / 0, np.ones(2))",
    "gradient_check on non-tensor": "gradient_check(lambda t: t.sum(), np.ones(3))",
    "set_default_dtype int": "set_default_dtype(np.int32)",
    "set_default_dtype garbage": "set_default_dtype('banana')",
    "load_model missing file": "load_model(Linear(2, 2), '/nonexistent/dir/model.npz')",
    "load_model garbage file": (
        "import tempfile, os\nd = tempfile.mkdtemp()\npth = os.path.join(d, 'm.npz')\n"
        "open(pth, 'wb').write(os.urandom(4096))\nload_model(Linear(2, 2), pth)"
    ),
    "save_model to a directory": "import tempfile\nsave_model(Linear(2, 2), tempfile.mkdtemp())",
    "Value with a string": "Value('a') * 2",
    "Value power of a Value": "Value(2.0) ** Value(2.0)",
    "Value overflow": "(Value(1000.0).exp() * Value(0.0)).backward()",
    "draw_dot of a non-Value": "draw_dot(5)",
    # --- sizes and threads ----------------------------------------------------------------------
    "deep graph dropped without backward": "x = Tensor([1.0], requires_grad=True)\ny = x\nfor _ in range(100000):\n    y = y + 1.0\ndel y",
    "deep graph of custom ops": (
        "x = Tensor([1.0], requires_grad=True)\ny = x\nfor _ in range(5000):\n"
        "    prev = y\n    y = Tensor(prev.data + 1, requires_grad=True, _children=(prev,))\n"
        "    def bw(prev=prev, out=y):\n        prev.grad += out.grad\n    y._backward = bw\n"
        "y.sum().backward()\nassert float(x.grad[0]) == 1.0"
    ),
    "backward from two threads": (
        "import threading\nw = Tensor(np.ones((8, 8)), requires_grad=True)\nerrors = []\n"
        "def work():\n    try:\n        for _ in range(200):\n            x = Tensor(np.ones((4, 8)))\n"
        "            h = Tensor((x @ w).data, requires_grad=True, _children=(w,))\n"
        "            def bw(h=h):\n                w.grad += np.ones((8, 8)) * float(h.grad.sum())\n"
        "            h._backward = bw\n            (h * (x @ w)).sum().backward()\n"
        "    except Exception as e:\n        errors.append(e)\n"
        "ts = [threading.Thread(target=work) for _ in range(2)]\n[t.start() for t in ts]\n[t.join() for t in ts]"
    ),
}

# names every snippet can use
PRELUDE = (
    "import numpy as np\n"
    "import micrograd_plus\n"
    "from micrograd_plus import *\n"
    "from micrograd_plus import Tensor, Linear, ReLU, Dropout, Sequential, Softmax, MSELoss, CrossEntropyLoss, SGD, Adam\n"
    "from micrograd_plus.layers import BatchNorm, Embedding, Flatten\n"
    "from micrograd_plus.losses import BCELoss, HuberLoss\n"
    "from micrograd_plus.optimizers import CosineAnnealingLR\n"
    "from micrograd_plus.utils import DataLoader, numerical_gradient, gradient_check\n"
    "from micrograd_plus.tensor import set_default_dtype\n"
    "from micrograd_plus.nn import save_model, load_model\n"
    "from micrograd_plus import Value, draw_dot\n"
)


def main(names):
    import warnings

    warnings.simplefilter("ignore")
    base = {}
    exec(PRELUDE, base)
    for name in names:
        print("START " + name, flush=True)
        ns = dict(base)
        result = {"name": name, "raised": None, "module": None, "is_exception": None}
        try:
            exec(CASES[name], ns)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # noqa: B036 - a PanicException is a BaseException
            result["raised"] = type(e).__name__
            result["module"] = type(e).__module__
            result["is_exception"] = isinstance(e, Exception)
            result["message"] = str(e)[:300]
        print("RESULT " + json.dumps(result), flush=True)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(CASES))
