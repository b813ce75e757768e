"""Independent generator and reader of small legacy T5X checkpoints for te-ckpt's tests.

Written from the format specs (t5x-format.md sections 1, 3, 4, 6 and MAPPING.md section 2); it
shares no code with te-ckpt.  A checkpoint is described as a flat dict of *leaves* keyed by the
dotted path below `optimizer` (for example `target.encoder.layers_0.attention.query.kernel` or
`state.step`):

* `ArrayLeaf`: a zarr v2 array folder named by the dotted path plus a TensorStore spec dict in the
  index (`{"driver":"zarr","dtype":NAME,"kvstore":{"driver":"file","path":DIR+"/"},"metadata":{...}}`);
* `InlineLeaf`: an inline ndarray (msgpack ext type 1) or numpy scalar (ext type 3);
* anything else: a plain msgpack value (`{}` keeps an empty node).

The index is written the way flax `serialization.to_bytes` writes it: msgpack-python with
`use_bin_type=True`, `{"version": 3, "optimizer": TREE}` with every dict below `optimizer` sorted.

Parameter values are generated in the standard T5X layout; the TE layout is derived from them with
plain numpy following MAPPING.md section 2 (stack on axis 1), so a T5X checkpoint and its TE
counterpart built with the same seed hold the same model.  bfloat16 data is carried as uint16 bit
patterns (numpy has no bfloat16), exactly as zarrio does.
"""
import os

import msgpack
import numpy as np

import zarrio

# msgpack spec dtype name <-> zarr .zarray dtype string (t5x-format.md 1.8, zarr-format.md 1.2).
NAME_TO_ZARR = {"float32": "<f4", "float64": "<f8", "float16": "<f2", "bfloat16": "bfloat16",
                "int32": "<i4", "int64": "<i8", "uint32": "<u4", "int8": "|i1", "uint8": "|u1"}
ZARR_TO_NAME = {v: k for k, v in NAME_TO_ZARR.items()}

DESIRED_CHUNK_SIZE_BYTES = 64 * 1024 * 1024


def storage_dtype(name):
    """numpy dtype that holds elements of the dtype `name` (bfloat16 -> uint16 bit patterns)."""
    return np.dtype("<u2") if name == "bfloat16" else np.dtype(NAME_TO_ZARR[name])


def itemsize(name):
    return storage_dtype(name).itemsize


def as_float32(data, name):
    """Values of stored data as float32 (bf16 bit patterns are widened exactly)."""
    if name == "bfloat16":
        return zarrio.bf16_to_f32(np.asarray(data, dtype=np.uint16))
    return np.asarray(data).astype(np.float32)


def choose_chunk_shape(write_shape, target_elements):
    """T5X `_choose_chunk_shape` (t5x-format.md 1.7): shrink the largest dimension's chunk to its next
    smaller divisor (ties -> lowest index) while the chunk holds more than `target_elements`."""
    if target_elements < 1:
        raise ValueError("target_elements must be >= 1")
    factors = [[d for d in range(1, s + 1) if s % d == 0] or [s] for s in write_shape]

    def total():
        n = 1
        for f in factors:
            n *= f[-1]
        return n

    while total() > target_elements:
        best = None
        for dim, f in enumerate(factors):
            if best is None or f[-1] > factors[best][-1]:
                best = dim
        factors[best].pop()
    return [f[-1] for f in factors]


def t5x_chunks(shape, dtype_name):
    """Chunks T5X gives a freshly written array of this shape and dtype (64 MiB rule)."""
    return choose_chunk_shape(list(shape), DESIRED_CHUNK_SIZE_BYTES // itemsize(dtype_name))


def codec_json(codec):
    if codec is None:
        return None
    cid, level = codec
    return {"id": cid, "level": level}


class ArrayLeaf:
    """An array written to its own zarr folder (TensorStore leaf)."""

    def __init__(self, data, dtype, chunks=None, codec=("gzip", 1)):
        self.dtype = dtype
        self.data = np.array(data, dtype=storage_dtype(dtype), order="C")
        self.chunks = list(chunks) if chunks is not None else t5x_chunks(self.data.shape, dtype)
        self.codec = codec

    def spec(self, name):
        # Keys in sorted order (as T5X writes them below `optimizer`).
        return {"driver": "zarr", "dtype": self.dtype,
                "kvstore": {"driver": "file", "path": name + "/"},
                "metadata": {"chunks": list(self.chunks), "compressor": codec_json(self.codec),
                             "shape": list(self.data.shape)}}


class InlineLeaf:
    """An array stored inside the index (ext 1 = ndarray, ext 3 = numpy scalar)."""

    def __init__(self, data, dtype, ext=1):
        self.dtype = dtype
        self.data = np.array(data, dtype=storage_dtype(dtype), order="C")
        self.ext = ext

    def encode(self):
        payload = msgpack.packb([list(self.data.shape), self.dtype, self.data.tobytes()],
                                use_bin_type=True)
        return msgpack.ExtType(self.ext, payload)


def decode_inline(ext):
    """ext 1/3 payload -> (numpy array in storage dtype, dtype name)."""
    shape, dtype, raw = msgpack.unpackb(ext.data, raw=False)
    arr = np.frombuffer(raw, dtype=storage_dtype(dtype)).reshape(shape)
    return arr, dtype


def is_spec(node):
    return isinstance(node, dict) and {"driver", "kvstore", "metadata"} <= set(node)


def nest(flat):
    """Dotted paths -> nested dict with every level's keys sorted."""
    root = {}
    for path, value in flat.items():
        node = root
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if parts[-1] in node:
            raise ValueError("duplicate leaf " + path)
        node[parts[-1]] = value

    def srt(node):
        if isinstance(node, dict) and not is_spec(node):
            return {k: srt(node[k]) for k in sorted(node)}
        return node
    return srt(root)


def flatten_index(tree, prefix=""):
    """Nested index tree -> {dotted path: leaf} (spec dicts, ExtTypes, plain values; `{}` kept)."""
    out = {}
    if isinstance(tree, dict) and not is_spec(tree):
        if not tree and prefix:
            out[prefix] = {}
        for k, v in tree.items():
            out.update(flatten_index(v, prefix + "." + k if prefix else k))
    else:
        out[prefix] = tree
    return out


def read_index(path):
    """Decodes a `checkpoint` file (a folder holding one, or the file itself)."""
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint")
    with open(path, "rb") as f:
        raw = f.read()
    return msgpack.unpackb(raw, raw=False, strict_map_key=False), raw


def load_checkpoint(path):
    """Reads every leaf of a T5X checkpoint with this module's own reader.

    Returns (index object, {dotted path: (array in storage dtype, dtype name, kind)}), kind being
    "ts" (array folder) or "inline"; plain values are left out."""
    index, _ = read_index(path)
    base = path if os.path.isdir(path) else os.path.dirname(path)
    out = {}
    for name, leaf in flatten_index(index["optimizer"]).items():
        if is_spec(leaf):
            arr, zdt = zarrio.read_array(os.path.join(base, leaf["kvstore"]["path"]))
            out[name] = (arr, ZARR_TO_NAME.get(zdt, zdt), "ts")
        elif isinstance(leaf, msgpack.ExtType) and leaf.code in (1, 3):
            arr, dt = decode_inline(leaf)
            out[name] = (arr, dt, "inline")
    return index, out


class Checkpoint:
    """A flat dict of leaves plus the index `version`."""

    def __init__(self, leaves, version=3):
        self.leaves = dict(leaves)
        self.version = version

    def index_object(self):
        flat = {}
        for name, leaf in self.leaves.items():
            if isinstance(leaf, ArrayLeaf):
                flat[name] = leaf.spec(name)
            elif isinstance(leaf, InlineLeaf):
                flat[name] = leaf.encode()
            else:
                flat[name] = leaf
        return {"version": self.version, "optimizer": nest(flat)}

    def index_bytes(self):
        return msgpack.packb(self.index_object(), use_bin_type=True)

    def array_names(self):
        return sorted(n for n, l in self.leaves.items() if isinstance(l, ArrayLeaf))

    def write(self, path):
        """Writes the checkpoint folder `path` (created) and returns it."""
        os.makedirs(path, exist_ok=True)
        for name, leaf in self.leaves.items():
            if isinstance(leaf, ArrayLeaf):
                zarrio.write_array(os.path.join(path, name), leaf.data, NAME_TO_ZARR[leaf.dtype],
                                   chunks=leaf.chunks, compressor=codec_json(leaf.codec))
        with open(os.path.join(path, "checkpoint"), "wb") as f:
            f.write(self.index_bytes())
        return path


# ---------------------------------------------------------------------------------------------
# Models and the T5X <-> TE mapping (MAPPING.md section 2).

class Model:
    def __init__(self, E=8, N=4, H=3, F=16, L=2, V=32, stacks=("encoder", "decoder"), gated=True,
                 skip_ln=False):
        self.E, self.N, self.H, self.F, self.L, self.V = E, N, H, F, L, V
        self.stacks = tuple(stacks)
        self.gated = gated
        self.skip_ln = skip_ln

    @property
    def D(self):
        return self.N * self.H

    def cli(self, **override):
        vals = {"embed-dim": self.E, "num-of-layer": self.L, "num-of-head": self.N,
                "head-dim": self.H, "mlp-intermediate-dim": self.F}
        vals.update({k.replace("_", "-"): v for k, v in override.items()})
        return [f"--{k}={v}" for k, v in vals.items() if v is not None]


def _mlp_t5x(m, p):
    E, F = m.E, m.F
    out = {}
    if not m.skip_ln:
        out[p + "pre_mlp_layer_norm.scale"] = (E,)
    if m.gated:
        out[p + "mlp.wi_0.kernel"] = (E, F)
        out[p + "mlp.wi_1.kernel"] = (E, F)
    else:
        out[p + "mlp.wi.kernel"] = (E, F)
    out[p + "mlp.wo.kernel"] = (F, E)
    return out


def t5x_param_shapes(m):
    """Standard T5X parameter names (below `target.`) and shapes."""
    E, D, N, V = m.E, m.D, m.N, m.V
    shapes = {"token_embedder.embedding": (V, E)}
    if "encoder" in m.stacks:
        shapes["encoder.relpos_bias.rel_embedding"] = (N, 32)
        shapes["encoder.encoder_norm.scale"] = (E,)
        for i in range(m.L):
            p = f"encoder.layers_{i}."
            if not m.skip_ln:
                shapes[p + "pre_attention_layer_norm.scale"] = (E,)
            for w in ("query", "key", "value"):
                shapes[p + f"attention.{w}.kernel"] = (E, D)
            shapes[p + "attention.out.kernel"] = (D, E)
            shapes.update(_mlp_t5x(m, p))
    if "decoder" in m.stacks:
        shapes["decoder.relpos_bias.rel_embedding"] = (N, 32)
        shapes["decoder.decoder_norm.scale"] = (E,)
        shapes["decoder.logits_dense.kernel"] = (E, V)
        for i in range(m.L):
            p = f"decoder.layers_{i}."
            if not m.skip_ln:
                shapes[p + "pre_self_attention_layer_norm.scale"] = (E,)
                shapes[p + "pre_cross_attention_layer_norm.scale"] = (E,)
            for att in ("self_attention", "encoder_decoder_attention"):
                for w in ("query", "key", "value"):
                    shapes[p + f"{att}.{w}.kernel"] = (E, D)
                shapes[p + f"{att}.out.kernel"] = (D, E)
            shapes.update(_mlp_t5x(m, p))
    return shapes


def t5x_to_te(params, m, fused):
    """Maps a T5X-layout param dict (names below `target.`, or below an optimizer mirror) to TE.

    Returns (te dict, kinds) where kinds[te name] is "copy" (same name, byte-for-byte),
    "rename" (same data, new name) or "new" (stacked / reshaped)."""
    out, kind = {}, {}
    used = set()

    def put(name, arr, k, *src):
        out[name] = arr
        kind[name] = k
        used.update(src)

    for stack in m.stacks:
        for i in range(m.L):
            p = f"{stack}.layers_{i}."
            atts = ["attention"] if stack == "encoder" else ["self_attention", "encoder_decoder_attention"]
            lns = {"attention": "pre_attention_layer_norm", "self_attention": "pre_self_attention_layer_norm",
                   "encoder_decoder_attention": "pre_cross_attention_layer_norm"}
            for att in atts:
                q, k, v = (p + f"{att}.{w}.kernel" for w in ("query", "key", "value"))
                ln = p + lns[att] + ".scale"
                cross = att == "encoder_decoder_attention"
                if not m.skip_ln:
                    te_ln = p + f"{att}.{'qkv' if fused and not cross else 'query'}.scale"
                    put(te_ln, params[ln], "rename", ln)
                if fused and not cross:
                    put(p + f"{att}.qkv.kernel", np.stack([params[q], params[k], params[v]], axis=1),
                        "new", q, k, v)
                elif fused and cross:
                    put(q, params[q], "copy", q)
                    put(p + f"{att}.kv.kernel", np.stack([params[k], params[v]], axis=1), "new", k, v)
                else:
                    for n in (q, k, v):
                        put(n, params[n], "copy", n)
                o = p + f"{att}.out.kernel"
                put(o, params[o], "copy", o)
            if not m.skip_ln:
                ln = p + "pre_mlp_layer_norm.scale"
                put(p + "mlp.scale", params[ln], "rename", ln)
            if m.gated:
                a, b = p + "mlp.wi_0.kernel", p + "mlp.wi_1.kernel"
                put(p + "mlp.wi_kernel", np.stack([params[a], params[b]], axis=1), "new", a, b)
            else:
                a = p + "mlp.wi.kernel"
                put(p + "mlp.wi_kernel", params[a][:, None, :], "new", a)
            wo = p + "mlp.wo.kernel"
            put(p + "mlp.wo_kernel", params[wo], "rename", wo)
    for name, arr in params.items():
        if name not in used:
            put(name, arr, "copy", name)
    return out, kind


def te_param_shapes(m, fused):
    shapes = t5x_param_shapes(m)
    fake = {n: np.zeros(s, dtype=np.uint8) for n, s in shapes.items()}
    te, _ = t5x_to_te(fake, m, fused)
    return {n: a.shape for n, a in te.items()}


def fp8_modules(m, fused):
    """[(module path below target, postfix, TE kernel name)] for every TE GEMM (MAPPING.md 2)."""
    mods = []
    for stack in m.stacks:
        for i in range(m.L):
            p = f"{stack}.layers_{i}."
            atts = ["attention"] if stack == "encoder" else ["self_attention", "encoder_decoder_attention"]
            for att in atts:
                cross = att == "encoder_decoder_attention"
                if fused and not cross:
                    names = ["qkv"]
                elif fused and cross:
                    names = ["query", "kv"]
                else:
                    names = ["query", "key", "value"]
                for n in names + ["out"]:
                    mods.append((p + f"{att}.{n}", "0", p + f"{att}.{n}.kernel"))
            mods.append((p + "mlp", "0", p + "mlp.wi_kernel"))
            mods.append((p + "mlp", "1", p + "mlp.wo_kernel"))
    return mods


def fp8_metas(te_params, dtype, m, fused, hist):
    """Expected FP8 metadata {name below optimizer: float32 array}: amax zeros [hist], scale ones
    [1], amax_w_<p>[0] = max |kernel| of that GEMM."""
    out = {}
    for mod, pf, kernel in fp8_modules(m, fused):
        base = "flax_mutables.fp8_metas." + mod + "."
        for t in ("i", "w", "g"):
            amax = np.zeros([hist], dtype=np.float32)
            if t == "w":
                amax[0] = np.max(np.abs(as_float32(te_params[kernel], dtype)))
            out[base + f"amax_{t}_{pf}"] = amax
            out[base + f"scale_{t}_{pf}"] = np.ones([1], dtype=np.float32)
    return out


def random_values(shape, dtype, rng, positive=False):
    v = rng.standard_normal(shape).astype(np.float32)
    if positive:
        v = np.abs(v)
    if dtype == "bfloat16":
        return zarrio.f32_to_bf16(v)
    return v.astype(storage_dtype(dtype))


OPT_PREFIX = {"adamw": "state.param_states.1.0.", "adam": "state.param_states.0."}


def build(m, layout="t5x", fused=False, dtype="float32", codec=("gzip", 1), optimizer="adamw",
          opt_dtype="float32", chunks=None, fp8_hist=None, seed=0, step=7, extra_leaves=None):
    """A Checkpoint of model `m`.

    layout: "t5x" or "te" (TE names, `fused` selects fused_qkv_params).  Values depend only on
    (m, dtype, opt_dtype, seed), so t5x and te checkpoints built alike describe the same model.
    optimizer: "adamw" (state.param_states.1.0.{count,mu,nu}), "adam" (state.param_states.0.*),
    "adafactor" (factored: param_states.<p>.{m,v,v_col,v_row}) or None.
    chunks: None (T5X's rule) or a function shape -> chunks for the arrays written.
    fp8_hist: with layout "te", also write FP8 metadata with this amax history length.
    Returns (Checkpoint, info) with info = {"target": {name: array}, "mu": ..., "nu": ...,
    "kinds": {target name: kind}} in the requested layout."""
    rng = np.random.default_rng(seed)
    shapes = t5x_param_shapes(m)
    target = {n: random_values(s, dtype, rng) for n, s in shapes.items()}
    mu = {n: random_values(s, opt_dtype, rng) for n, s in shapes.items()}
    nu = {n: random_values(s, opt_dtype, rng, positive=True) for n, s in shapes.items()}
    kinds = {n: "copy" for n in target}
    if layout == "te":
        target, kinds = t5x_to_te(target, m, fused)
        mu, _ = t5x_to_te(mu, m, fused)
        nu, _ = t5x_to_te(nu, m, fused)

    def arr(data, dt):
        return ArrayLeaf(data, dt, chunks(data.shape) if chunks else None, codec)

    leaves = {}
    for n, a in target.items():
        leaves["target." + n] = arr(a, dtype)
    if optimizer in OPT_PREFIX:
        pre = OPT_PREFIX[optimizer]
        leaves[pre + "count"] = InlineLeaf(np.array(step, dtype=np.int32), "int32", ext=1)
        for n in target:
            leaves[pre + "mu." + n] = arr(mu[n], opt_dtype)
            leaves[pre + "nu." + n] = arr(nu[n], opt_dtype)
    elif optimizer == "adafactor":
        for n, a in target.items():
            pre = "state.param_states." + n + "."
            one = InlineLeaf(np.zeros([1], np.float32), "float32")
            leaves[pre + "m"] = one
            if a.ndim >= 2:
                leaves[pre + "v"] = one
                leaves[pre + "v_row"] = InlineLeaf(np.abs(rng.standard_normal(a.shape[:1])), "float32")
                leaves[pre + "v_col"] = InlineLeaf(np.abs(rng.standard_normal(a.shape[1:])), "float32")
            else:
                leaves[pre + "v"] = arr(np.abs(rng.standard_normal(a.shape)).astype(np.float32), "float32")
                leaves[pre + "v_row"] = one
                leaves[pre + "v_col"] = one
    elif optimizer is None:
        leaves["state.param_states"] = {}
    else:
        raise ValueError(optimizer)
    leaves["state.step"] = InlineLeaf(np.array(step, dtype=np.int32), "int32", ext=3)
    fp8 = {}
    if fp8_hist is not None:
        assert layout == "te"
        fp8 = fp8_metas(target, dtype, m, fused, fp8_hist)
        for n, a in fp8.items():
            leaves[n] = arr(a, "float32")
    if extra_leaves:
        leaves.update(extra_leaves)
    info = {"target": target, "mu": mu, "nu": nu, "kinds": kinds, "fp8": fp8, "dtype": dtype,
            "opt_dtype": opt_dtype, "optimizer": optimizer}
    return Checkpoint(leaves), info
