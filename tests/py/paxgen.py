"""Independent generator of small synthetic Pax (Praxis) and TransformerEngine checkpoints.

Written from spec/MAPPING.md section 1 (and spec/pax-format.md sections 1.3-1.4 and 3.4), not from
te-ckpt's code. It builds, in memory, the arrays of a tiny model in the Pax layout, computes the TE
layout of the same model with plain numpy (transpose / reshape / stack, exactly as the mapping table
says), and writes either one to disk as a TensorStore-style zarr v2 checkpoint (layout 0.0 or 1.x),
with optimizer states, counts, step, embeddings, final layer norm, `_sharding` and an unknown file.

bfloat16 arrays are carried as uint16 bit patterns (zarrio's convention); every mapping here only
moves elements, so the same numpy code serves both dtypes.
"""
import base64
import json
import os
from dataclasses import dataclass, field, replace

import numpy as np

import zarrio

PAX_LAYER = "lm.transformer.x_layers_{i}"
PAX_REPEAT_LAYER = "lm.transformer.repeat.sub.x_layers_0"
TE_SUB = "transformerlayer.cld"


@dataclass(frozen=True)
class Model:
    L: int = 2
    N: int = 4
    H: int = 4
    E: int = 16
    F: int = 32
    K: int = None             # key/value heads (GQA groups); None = N
    V: int = 24               # vocabulary (embeddings only)
    repeat: bool = False
    split_qkv: bool = False
    kv_packed: bool = False   # --te-qkv-layout=kv_packed
    mqa_no_head_axis: bool = False  # K == 1 and Pax key/value stored without the head axis
    gated: bool = False
    activated_first: bool = False   # --gated-activation-order=activated_first
    skip_bias: bool = False
    skip_ln: bool = False
    dtype: str = "<f4"        # zarr dtype of the layer arrays: "<f4" or "bfloat16"
    codec: str = "zstd"       # gzip or zstd
    chunking: str = "single"  # single, tp (tensor-parallel-like halves), padded, multi (mixed)
    layout: str = "0.0"       # "0.0" or "1.x"
    opt: bool = True          # write Adam m/v and counts
    kq_dtype: str = None      # if set, dtype of key.w (to make q and k differ)
    prefix_sharding: str = "i-1"  # repeat optimizer prefix p#L#<this> (e.g. "sstage")

    @property
    def KV(self):
        return self.N if self.K is None else self.K

    @property
    def D(self):
        return self.N * self.H

    def flags(self, direction, embed_dim=True):
        """te-ckpt convert flags describing this model."""
        f = ["--fw=pax", f"--direction={direction}", f"--num-of-layer={self.L}",
             f"--num-of-head={self.N}", f"--head-dim={self.H}", f"--mlp-intermediate-dim={self.F}"]
        if embed_dim:
            f.append(f"--embed-dim={self.E}")
        if self.repeat:
            f.append("--pax-repeat")
        if self.split_qkv:
            f.append("--pax-split-qkv")
        if self.kv_packed:
            f += ["--te-qkv-layout=kv_packed", f"--num-gqa-groups={self.KV}"]
        if self.gated:
            f.append("--use-gated-activations")
            f.append("--gated-activation-order=" + ("activated_first" if self.activated_first else "linear_first"))
        if self.skip_bias:
            f.append("--skip-bias")
        if self.skip_ln:
            f.append("--skip-ln")
        if self.mqa_no_head_axis and direction == "te2fw":
            f.append("--pax-mqa-drop-head-axis")
        return f

    # ------------------------------------------------------------------ names
    def pax_layer_prefixes(self):
        return [PAX_REPEAT_LAYER] if self.repeat else [PAX_LAYER.format(i=i) for i in range(self.L)]

    def te_layer_prefix(self, pax_prefix):
        return pax_prefix + "." + TE_SUB

    def moment_groups(self):
        """Optimizer-state prefixes (before `params.`) whose layer arrays mirror the weights."""
        if self.repeat:
            g = self.repeat_group()
            return [f"{g}_2.m.", f"{g}_2.v."]
        return ["opt_states_0_2.m.", "opt_states_0_2.v."]

    def repeat_group(self):
        return f"opt_states_0.p#{self.L}#{self.prefix_sharding}"

    def non_layer_moment_group(self):
        return "opt_states_0.no_prefix_2" if self.repeat else "opt_states_0_2"

    def pax_layer_shapes(self):
        """Pax suffix -> shape (without the repeat axis), in MAPPING.md section 1 terms."""
        E, N, H, F, K = self.E, self.N, self.H, self.F, self.KV
        s = {}
        if not self.skip_ln:
            s["layer_norm.scale"] = [E]
            if not self.skip_bias:
                s["layer_norm.bias"] = [E]
        if self.split_qkv:
            kv_w = [E, H] if self.mqa_no_head_axis else [E, K, H]
            kv_b = [H] if self.mqa_no_head_axis else [K, H]
            s["self_attention.query.w"] = [E, N, H]
            s["self_attention.key.w"] = kv_w
            s["self_attention.value.w"] = kv_w
            if not self.skip_bias:
                s["self_attention.query.b"] = [N, H]
                s["self_attention.key.b"] = kv_b
                s["self_attention.value.b"] = kv_b
        else:
            s["self_attention.combined_qkv.w"] = [3, E, N, H]
            if not self.skip_bias:
                s["self_attention.combined_qkv.b"] = [3, N, H]
        s["self_attention.post.w"] = [E, N, H]
        if not self.skip_bias:
            s["self_attention.post.b"] = [E]
        if not self.skip_ln:
            s["ff_layer.layer_norm.scale"] = [E]
            if not self.skip_bias:
                s["ff_layer.layer_norm.bias"] = [E]
        s["ff_layer.ffn_layer1.linear.w"] = [E, F]
        if not self.skip_bias:
            s["ff_layer.ffn_layer1.bias.b"] = [F]
        if self.gated:
            s["ff_layer.ffn_layer1_gate.linear.w"] = [E, F]
            if not self.skip_bias:
                s["ff_layer.ffn_layer1_gate.bias.b"] = [F]
        s["ff_layer.ffn_layer2.linear.w"] = [F, E]
        if not self.skip_bias:
            s["ff_layer.ffn_layer2.bias.b"] = [E]
        return s

    def fp8_gemms(self):
        """(TE module suffix, postfix, TE kernel suffix) for every GEMM of one layer."""
        g = []
        if self.kv_packed:
            g += [("attention.query", 0, "attention.query.kernel"), ("attention.kv", 0, "attention.kv.kernel")]
        else:
            g += [("attention.qkv", 0, "attention.qkv.kernel")]
        g += [("attention.out", 0, "attention.out.kernel"), ("mlp", 0, "mlp.wi_kernel"), ("mlp", 1, "mlp.wo_kernel")]
        return g


# ---------------------------------------------------------------------- the mapping (MAPPING.md 1)
def pax_layer_to_te(m, get):
    """One layer (or the stacked repeat block): `get(pax_suffix)` -> array with optional leading
    axes. Returns {te_suffix: array}. Pure numpy, element moves only."""
    E, H, K, D = m.E, m.H, m.KV, m.D
    t = {}
    attn = "attention.query" if m.kv_packed else "attention.qkv"
    if not m.skip_ln:
        t[attn + ".scale"] = get("layer_norm.scale")
        if not m.skip_bias:
            t[attn + ".ln_bias"] = get("layer_norm.bias")
    if not m.split_qkv:
        w = get("self_attention.combined_qkv.w")             # [..., 3, E, N, H]
        lead = w.shape[:-4]
        # s e n h -> e s (n h)
        t["attention.qkv.kernel"] = np.ascontiguousarray(np.swapaxes(w, -4, -3)).reshape(*lead, E, 3, D)
        if not m.skip_bias:
            b = get("self_attention.combined_qkv.b")         # [..., 3, N, H]
            t["attention.qkv.bias"] = b.reshape(*lead, 3, D)
    elif not m.kv_packed:
        q, k, v = (get(f"self_attention.{n}.w") for n in ("query", "key", "value"))
        lead = q.shape[:-3]
        # [query, key, value] e n h -> e s (n h)
        t["attention.qkv.kernel"] = np.stack([q, k, v], axis=-3).reshape(*lead, E, 3, D)
        if not m.skip_bias:
            qb, kb, vb = (get(f"self_attention.{n}.b") for n in ("query", "key", "value"))
            t["attention.qkv.bias"] = np.stack([qb, kb, vb], axis=-3).reshape(*lead, 3, D)
    else:
        q, k, v = (get(f"self_attention.{n}.w") for n in ("query", "key", "value"))
        lead = q.shape[:-3]
        if m.mqa_no_head_axis:                               # [..., E, H] is [..., E, 1, H]
            k, v = k[..., None, :], v[..., None, :]
        t["attention.query.kernel"] = q.reshape(*lead, E, D)
        t["attention.kv.kernel"] = np.stack([k, v], axis=-3).reshape(*lead, E, 2, K * H)
        if not m.skip_bias:
            qb, kb, vb = (get(f"self_attention.{n}.b") for n in ("query", "key", "value"))
            if m.mqa_no_head_axis:
                kb, vb = kb[..., None, :], vb[..., None, :]
            t["attention.query.bias"] = qb.reshape(*lead, D)
            t["attention.kv.bias"] = np.stack([kb, vb], axis=-3).reshape(*lead, 2, K * H)
    pw = get("self_attention.post.w")                        # [..., E, N, H]
    lead = pw.shape[:-3]
    # e n h -> (n h) e
    t["attention.out.kernel"] = np.ascontiguousarray(np.swapaxes(pw.reshape(*lead, E, D), -1, -2))
    if not m.skip_bias:
        t["attention.out.bias"] = get("self_attention.post.b")
    if not m.skip_ln:
        t["mlp.scale"] = get("ff_layer.layer_norm.scale")
        if not m.skip_bias:
            t["mlp.ln_bias"] = get("ff_layer.layer_norm.bias")
    w1 = get("ff_layer.ffn_layer1.linear.w")                 # [..., E, F]
    if m.gated:
        wg = get("ff_layer.ffn_layer1_gate.linear.w")
        pair = [wg, w1] if m.activated_first else [w1, wg]
        t["mlp.wi_kernel"] = np.stack(pair, axis=-2)
    else:
        t["mlp.wi_kernel"] = w1[..., None, :]                # e f -> e 1 f
    if not m.skip_bias:
        b1 = get("ff_layer.ffn_layer1.bias.b")
        if m.gated:
            bg = get("ff_layer.ffn_layer1_gate.bias.b")
            pair = [bg, b1] if m.activated_first else [b1, bg]
            t["mlp.wi_bias"] = np.stack(pair, axis=-2)
        else:
            t["mlp.wi_bias"] = b1[..., None, :]              # f -> 1 f
    t["mlp.wo_kernel"] = get("ff_layer.ffn_layer2.linear.w")
    if not m.skip_bias:
        t["mlp.wo_bias"] = get("ff_layer.ffn_layer2.bias.b")
    return {k: np.ascontiguousarray(v) for k, v in t.items()}


# ---------------------------------------------------------------------- checkpoint model
@dataclass
class Arr:
    data: np.ndarray
    dtype: str                      # zarr dtype string
    chunks: list = None             # None: whole array


@dataclass
class Ckpt:
    """In-memory checkpoint: arrays by flattened name, plus extra files (relative path -> bytes)
    in the array folder, and the layout to write."""
    arrays: dict
    files: dict = field(default_factory=dict)
    layout: str = "0.0"
    codec: str = "zstd"

    def mdl_vars(self):
        return {n: a for n, a in self.arrays.items() if n.startswith("mdl_vars.")}


def _rand(rng, shape, zdtype):
    x = rng.standard_normal(shape).astype(np.float32)
    if zdtype == "bfloat16":
        return zarrio.f32_to_bf16(x)
    return x.astype(np.dtype(zdtype))


def chunks_for(shape, mode, salt=0):
    shape = list(shape)
    if mode == "multi":
        mode = "tp" if salt % 2 == 0 else "padded"
    if mode == "single" or not shape:
        return shape
    if mode == "tp":
        # halve the last axis that splits evenly (like a 2-way tensor-parallel shard)
        c = list(shape)
        for ax in range(len(shape) - 1, -1, -1):
            if shape[ax] % 2 == 0 and shape[ax] >= 2:
                c[ax] = shape[ax] // 2
                break
        return c
    if mode == "padded":
        # about two thirds of every axis: the edge chunks are partially valid and padded
        return [max(1, -(-2 * s // 3)) for s in shape]
    raise ValueError(mode)


def make_pax(m, seed=0):
    """A Pax checkpoint of model `m` (random values)."""
    rng = np.random.default_rng(seed)
    arrays = {}
    salt = [0]

    def add(name, shape, zdtype):
        arrays[name] = Arr(_rand(rng, shape, zdtype), zdtype, chunks_for(shape, m.chunking, salt[0]))
        salt[0] += 1

    lead = [m.L] if m.repeat else []
    layer = {}
    for prefix in m.pax_layer_prefixes():
        for suffix, shape in m.pax_layer_shapes().items():
            zd = m.dtype
            if m.kq_dtype and suffix == "self_attention.key.w":
                zd = m.kq_dtype
            layer[f"params.{prefix}.{suffix}"] = (lead + shape, zd)
    other = {"params.lm.embedding_lookup.emb_var": ([m.V, m.E], m.dtype),
             "params.lm.final_ln.scale": ([m.E], m.dtype),
             "params.lm.final_ln.bias": ([m.E], m.dtype),
             "params.lm.softmax.logits_ffn.linear.w": ([m.E, m.V], m.dtype)}
    for name, (shape, zd) in {**other, **layer}.items():
        add("mdl_vars." + name, shape, zd)
    arrays["step"] = Arr(np.array(1000, dtype="<u4"), "<u4", [])
    if m.opt:
        # moments: float32 copies of the parameter tree, like Adam keeps them (same shapes)
        for group in ("m", "v"):
            for name, (shape, zd) in other.items():
                add(f"{m.non_layer_moment_group()}.{group}.{name}", shape, zd)
            for name, (shape, zd) in layer.items():
                gp = f"{m.repeat_group()}_2" if m.repeat else "opt_states_0_2"
                add(f"{gp}.{group}.{name}", shape, zd)
        for k in range(4):
            if m.repeat:
                arrays[f"opt_states_0.no_prefix_{k}.count"] = Arr(np.array(7 + k, dtype="<i4"), "<i4", [])
                arrays[f"{m.repeat_group()}_{k}.count"] = Arr(
                    np.full([m.L], 7 + k, dtype="<i4"), "<i4", chunks_for([m.L], m.chunking, k))
            else:
                arrays[f"opt_states_0_{k}.count"] = Arr(np.array(7 + k, dtype="<i4"), "<i4", [])
    return Ckpt(arrays, files=default_files(arrays), layout=m.layout, codec=m.codec)


def default_files(arrays):
    sharding = {}
    for name in sorted(arrays):
        if name.startswith("mdl_vars.params.lm.final") or name == "step":
            key = base64.urlsafe_b64encode(name.encode()).decode()
            sharding[key] = json.dumps({"sharding_type": "NamedSharding", "shape": [1, 1, 1],
                                        "axis_names": ["replica", "data", "mdl"], "partition_spec": []})
    return {"_sharding": json.dumps(sharding).encode(),
            "notes_unknown.txt": b"an unknown extra file te-ckpt must copy unchanged\n\x00\x01\xff"}


def is_layer_array(m, name):
    """Whether `name` is an array a rule applies to (weights or, unless weight-only, moments)."""
    cats = ["mdl_vars.params."] + [g + "params." for g in m.moment_groups()]
    for c in cats:
        for p in m.pax_layer_prefixes():
            if name.startswith(c + p + "."):
                return c, p
    return None


def to_te(m, pax, weight_only=False):
    """The TE checkpoint MAPPING.md says corresponds to `pax`, and the set of names copied unchanged.
    Returns (Ckpt with the TE arrays, set of copied names). Moment arrays get the weights' transform."""
    out, copied = {}, set()
    layer_sources = {}
    for name, a in pax.arrays.items():
        hit = is_layer_array(m, name)
        if hit is None:
            if weight_only and is_moment(name):
                continue
            out[name] = a
            copied.add(name)
        else:
            cat, prefix = hit
            layer_sources.setdefault((cat, prefix), {})[name[len(cat) + len(prefix) + 1:]] = a
    for (cat, prefix), srcs in layer_sources.items():
        if weight_only and cat != "mdl_vars.params.":
            continue
        te = pax_layer_to_te(m, lambda s: srcs[s].data)
        for i, (suffix, data) in enumerate(te.items()):
            zd = _source_dtype(m, srcs, suffix)
            out[f"{cat}{m.te_layer_prefix(prefix)}.{suffix}"] = Arr(data, zd, chunks_for(data.shape, m.chunking, i))
    return Ckpt(out, files=dict(pax.files), layout=pax.layout, codec=pax.codec), copied


def _source_dtype(m, srcs, te_suffix):
    dts = {a.dtype for a in srcs.values()}
    return m.dtype if len(dts) > 1 else dts.pop()


def is_moment(name):
    return name.startswith("opt_states") and (".m.params." in name or ".v.params." in name)


def fp8_expected(m, te, hist):
    """{name: float32 array} of the FP8 metadata MAPPING.md asks for, computed from TE kernels."""
    out = {}
    for prefix in m.pax_layer_prefixes():
        T = m.te_layer_prefix(prefix)
        for module, p, ksuffix in m.fp8_gemms():
            k = te.arrays[f"mdl_vars.params.{T}.{ksuffix}"]
            kf = zarrio.bf16_to_f32(k.data) if k.dtype == "bfloat16" else k.data.astype(np.float32)
            lead = [m.L] if m.repeat else []
            base = f"mdl_vars.fp8_metas.{T}.{module}."
            for kind in "iwg":
                amax = np.zeros(lead + [hist], np.float32)
                if kind == "w":
                    if m.repeat:
                        for l in range(m.L):
                            amax[l, 0] = np.max(np.abs(kf[l]))
                    else:
                        amax[0] = np.max(np.abs(kf))
                out[base + f"amax_{kind}_{p}"] = amax
                out[base + f"scale_{kind}_{p}"] = np.ones(lead + [1], np.float32)
    return out


# ---------------------------------------------------------------------- writing
def write_scalar(path, value, zdtype, codec):
    """A rank-0 zarr array (shape [], chunks [], one chunk file "0"), as TensorStore writes `step`.
    (zarrio.write_array turns rank 0 into shape [1].)"""
    import numcodecs
    os.makedirs(path, exist_ok=True)
    comp = zarrio.codec_json(codec, 1)
    meta = {"chunks": [], "compressor": comp, "dimension_separator": ".", "dtype": zdtype,
            "fill_value": None, "filters": None, "order": "C", "shape": [], "zarr_format": 2}
    with open(os.path.join(path, ".zarray"), "w") as f:
        f.write(json.dumps(meta, separators=(",", ":"), sort_keys=True))
    raw = np.asarray(value, dtype=zarrio.numpy_dtype(zdtype)).reshape(()).tobytes()
    with open(os.path.join(path, "0"), "wb") as f:
        f.write(numcodecs.get_codec(comp).encode(raw) if comp else raw)


def array_dir(root, layout):
    return os.path.join(root, "state") if layout == "1.x" else root


def metadata_tree(arrays):
    """Pax 1.1 metadata for the mdl_vars arrays in `arrays` ({name: (shape, zarr dtype)})."""
    tree = {}
    for name, (shape, zd) in sorted(arrays.items()):
        parts = name.split(".")
        assert parts[0] == "mdl_vars"
        node = tree
        for p in parts[1:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = {"_array_metadata_tag": True, "dtype": "bfloat16" if zd == "bfloat16" else str(np.dtype(zd)),
                           "is_optax_masked_node": False, "unpadded_shape": list(shape)}
    return {"version": 1.1, "train_state_metadata": {"mdl_vars": tree}}


def write(ck, root):
    """Writes `ck` under `root` (layout 0.0: arrays directly in root; 1.x: root/state + metadata)."""
    adir = array_dir(root, ck.layout)
    os.makedirs(adir, exist_ok=True)
    for name, a in ck.arrays.items():
        if np.ndim(a.data) == 0:
            write_scalar(os.path.join(adir, name), a.data, a.dtype, ck.codec)
        else:
            zarrio.write_array(os.path.join(adir, name), a.data, a.dtype, a.chunks, (ck.codec, 1))
    for rel, data in ck.files.items():
        with open(os.path.join(adir, rel), "wb") as f:
            f.write(data)
    if ck.layout == "1.x":
        os.makedirs(os.path.join(root, "metadata"), exist_ok=True)
        md = metadata_tree({n: (list(a.data.shape), a.dtype) for n, a in ck.mdl_vars().items()})
        with open(os.path.join(root, "metadata", "metadata"), "w") as f:
            f.write(json.dumps(md))
    return adir


def flatten_metadata(md):
    """{name: leaf} of a Pax metadata JSON's mdl_vars tree."""
    out = {}

    def walk(node, path):
        if isinstance(node, dict) and node.get("_array_metadata_tag") is True:
            out[".".join(path)] = node
            return
        assert isinstance(node, dict), f"metadata node {'.'.join(path)} is not an object"
        for k, v in node.items():
            walk(v, path + [k])

    walk(md["train_state_metadata"]["mdl_vars"], ["mdl_vars"])
    return out


def variant(m, **kw):
    return replace(m, **kw)
