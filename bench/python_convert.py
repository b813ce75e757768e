#!/usr/bin/python3
"""Straightforward Python Pax -> TE converter (--pax-repeat, fw2te), the baseline of convert_bench.sh.

Written in the style of the original converter (NVIDIA/JAX-Toolbox rosetta te_pax_t5x_ckpt_converter):
load each whole array, transform it with numpy, write it back as a single chunk with the source's
codec. It uses only Debian's numpy and zarr-python 2.13 / numcodecs 0.11, single-threaded.

* Arrays with a real transform (combined_qkv.w/.b, post.w, ffn_layer1.linear.w, ffn_layer1.bias.b)
  are read whole, rearranged, and written as one chunk with the same compressor.
* Renamed copies (layer norms, ffn_layer2, out bias) and everything else are copied file by file
  (shutil.copytree), which is what te-ckpt does too (byte-for-byte copy), so the baseline does
  not pay for work te-ckpt does not do.
* bfloat16 arrays (dtype "bfloat16" in .zarray) cannot be opened by this zarr-python, so they are
  read chunk by chunk with numcodecs as uint16 and written the same way (raw .zarray + one chunk).

Only the combined-QKV, non-gated, repeat layout with biases and layer norms is supported (the
layout `te-ckpt example --fw pax --pax-repeat` writes); that is all the benchmark needs.
"""
import argparse
import json
import os
import shutil
import sys

import numcodecs
import numpy as np
import zarr

PAX_PREFIX = "lm.transformer.repeat.sub.x_layers_0"
TE_PREFIX = PAX_PREFIX + ".transformerlayer.cld"


def make_rules(n_layer, n_head, head_dim, mlp_dim, embed_dim):
    """Pax suffix -> (TE suffix, transform or None for a plain renamed copy)."""
    L, N, H, F = n_layer, n_head, head_dim, mlp_dim
    D = N * H

    def e_of(x, axis):
        if embed_dim is not None and x.shape[axis] != embed_dim:
            sys.exit(f"embed dim {x.shape[axis]} != --embed-dim {embed_dim}")
        return x.shape[axis]

    def qkv_w(x):  # [L,3,E,N,H] -> [L,E,3,N*H]   (l s e n h -> l e s (n h))
        E = e_of(x, 2)
        assert x.shape == (L, 3, E, N, H), x.shape
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4)).reshape(L, E, 3, D)

    def qkv_b(x):  # [L,3,N,H] -> [L,3,N*H]
        assert x.shape == (L, 3, N, H), x.shape
        return x.reshape(L, 3, D)

    def post_w(x):  # [L,E,N,H] -> [L,N*H,E]   (l e n h -> l (n h) e)
        E = e_of(x, 1)
        assert x.shape == (L, E, N, H), x.shape
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(L, D, E)

    def ffn1_w(x):  # [L,E,F] -> [L,E,1,F]
        E = e_of(x, 1)
        assert x.shape == (L, E, F), x.shape
        return x.reshape(L, E, 1, F)

    def ffn1_b(x):  # [L,F] -> [L,1,F]
        assert x.shape == (L, F), x.shape
        return x.reshape(L, 1, F)

    return {
        "layer_norm.scale": ("attention.qkv.scale", None),
        "layer_norm.bias": ("attention.qkv.ln_bias", None),
        "self_attention.combined_qkv.w": ("attention.qkv.kernel", qkv_w),
        "self_attention.combined_qkv.b": ("attention.qkv.bias", qkv_b),
        "self_attention.post.w": ("attention.out.kernel", post_w),
        "self_attention.post.b": ("attention.out.bias", None),
        "ff_layer.layer_norm.scale": ("mlp.scale", None),
        "ff_layer.layer_norm.bias": ("mlp.ln_bias", None),
        "ff_layer.ffn_layer1.linear.w": ("mlp.wi_kernel", ffn1_w),
        "ff_layer.ffn_layer1.bias.b": ("mlp.wi_bias", ffn1_b),
        "ff_layer.ffn_layer2.linear.w": ("mlp.wo_kernel", None),
        "ff_layer.ffn_layer2.bias.b": ("mlp.wo_bias", None),
    }


def categories(n_layer):
    return [
        "mdl_vars.params.",
        f"opt_states_0.p#{n_layer}#i-1_2.m.params.",
        f"opt_states_0.p#{n_layer}#i-1_2.v.params.",
    ]


# ---- raw zarr v2 access for dtypes zarr-python 2.13 does not know (bfloat16) -------------------

def read_raw(path, meta, np_dtype):
    """Whole array from its chunk files, decoded with numcodecs, viewed as np_dtype."""
    shape, chunks = meta["shape"], meta["chunks"]
    sep = meta.get("dimension_separator") or "."
    codec = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    if meta.get("order", "C") != "C" or meta.get("filters"):
        sys.exit(f"{path}: only order C without filters is supported")
    out = np.zeros(shape, dtype=np_dtype)  # fill_value null -> zeros for missing chunks
    grid = [-(-s // c) for s, c in zip(shape, chunks)]
    for idx in np.ndindex(*grid) if shape else [()]:
        key = sep.join(str(i) for i in idx) if shape else "0"
        fn = os.path.join(path, key)
        if not os.path.exists(fn):
            continue
        with open(fn, "rb") as f:
            data = f.read()
        raw = codec.decode(data) if codec else data
        chunk = np.frombuffer(raw, dtype=np_dtype).reshape(chunks)
        sel = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))
        out[sel] = chunk[tuple(slice(0, s.stop - s.start) for s in sel)]
    return out


def write_raw(path, meta, arr):
    """One-chunk array with the source's dtype string and compressor."""
    os.makedirs(path)
    new = dict(meta)
    new["shape"] = list(arr.shape)
    new["chunks"] = list(arr.shape)
    new["dimension_separator"] = "."
    with open(os.path.join(path, ".zarray"), "w") as f:
        json.dump(new, f, sort_keys=True)
    codec = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    raw = np.ascontiguousarray(arr).tobytes()
    with open(os.path.join(path, ".".join("0" for _ in arr.shape) or "0"), "wb") as f:
        f.write(codec.encode(raw) if codec else raw)


# ---- the conversion ----------------------------------------------------------------------------

def convert_array(src, dst, fn):
    with open(os.path.join(src, ".zarray")) as f:
        meta = json.load(f)
    if meta["dtype"] == "bfloat16":
        write_raw(dst, meta, fn(read_raw(src, meta, np.uint16)))
        return
    x = zarr.open_array(src, mode="r")[...]
    y = fn(x)
    compressor = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    z = zarr.open_array(dst, mode="w", shape=y.shape, chunks=y.shape, dtype=y.dtype,
                        compressor=compressor, fill_value=meta.get("fill_value"), order="C",
                        dimension_separator=".")
    z[...] = y


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input-path", required=True)
    p.add_argument("--output-path", required=True)
    p.add_argument("--num-of-layer", type=int, required=True)
    p.add_argument("--num-of-head", type=int, required=True)
    p.add_argument("--head-dim", type=int, required=True)
    p.add_argument("--mlp-intermediate-dim", type=int, required=True)
    p.add_argument("--embed-dim", type=int)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()

    rules = make_rules(a.num_of_layer, a.num_of_head, a.head_dim, a.mlp_intermediate_dim, a.embed_dim)
    renames = {}  # source entry name -> (target entry name, transform)
    for cat in categories(a.num_of_layer):
        for pax, (te, fn) in rules.items():
            renames[f"{cat}{PAX_PREFIX}.{pax}"] = (f"{cat}{TE_PREFIX}.{te}", fn)

    if os.path.exists(a.output_path):
        sys.exit(f"{a.output_path} exists")
    os.makedirs(a.output_path)
    n_conv = n_copy = 0
    for name in sorted(os.listdir(a.input_path)):
        src = os.path.join(a.input_path, name)
        target, fn = renames.get(name, (name, None))
        dst = os.path.join(a.output_path, target)
        if fn is not None:
            if a.verbose:
                print(f"convert {name} -> {target}", file=sys.stderr)
            convert_array(src, dst, fn)
            n_conv += 1
        elif os.path.isdir(src):
            shutil.copytree(src, dst)
            n_copy += 1
        else:
            shutil.copy2(src, dst)
            n_copy += 1
    if a.verbose:
        print(f"{n_conv} arrays converted, {n_copy} entries copied", file=sys.stderr)


if __name__ == "__main__":
    main()
