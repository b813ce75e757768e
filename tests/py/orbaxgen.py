"""Independent writer of Orbax checkpoints with zarr v2 or zarr3 arrays in OCDBT (orbax-format.md §1,
§3, §4, §6), for tests: arrays given as zarr v2 folders (as paxgen/t5xgen write them) are packed into
one root OCDBT database per item with ocdbt_ref (keys `<name>/.zarray`, `<name>/<chunk key>`), or,
with a Zarr3 description, re-encoded as zarr3 by zarr3gen (keys `<name>/zarr.json`, `<name>/c/0/0`;
sharded or not, zstd/gzip/no compression, optionally with missing inner chunks), and the metadata
files are written the way Orbax writes them (Python json.dumps): `_METADATA`, `_sharding`,
`array_metadatas/process_0`, `_CHECKPOINT_METADATA`. Shares no code with te-ckpt.
"""
import base64
import json
import os
import re
import shutil
from dataclasses import dataclass

import numpy as np

import ocdbt_ref
import t5xgen
import zarr3gen
import zarrio


@dataclass(frozen=True)
class Zarr3:
    """How write_item stores arrays as zarr3. sharded: Orbax's form, one sharding_indexed codec
    whose shard covers the whole array (the single-process write shape) and whose inner chunk is
    the v2 chunk; else plain bytes(+compression) chunks of the v2 chunk shape. compression: zstd,
    gzip or none. missing_inner: the first inner chunk of every shard of more than one inner chunk
    is left out (reads as the fill value 0)."""
    sharded: bool = True
    compression: str = "zstd"
    missing_inner: bool = False


def zarr3_data_type(zarr_dtype):
    return "bfloat16" if zarr_dtype == "bfloat16" else np.dtype(zarr_dtype).name


def zarr3_codecs(spec, data_type, inner, shard):
    """The codecs list (zarr3gen form, with its private `_missing`) for one array."""
    data = [zarr3gen.BYTES_LE]
    if spec.compression == "zstd":
        data.append({"name": "zstd", "configuration": {"level": 3, "checksum": False}})
    elif spec.compression == "gzip":
        data.append({"name": "gzip", "configuration": {"level": 5}})
    if not spec.sharded:
        return data
    grid = [s // c for s, c in zip(shard, inner)]
    cfg = {"chunk_shape": list(inner), "codecs": data, "index_codecs": zarr3gen.INDEX}
    if spec.missing_inner and int(np.prod(grid, dtype=np.int64)) > 1:
        cfg["_missing"] = [[0] * len(inner)]
    return [{"name": "sharding_indexed", "configuration": cfg}]


def zarr3_array_keys(arr, zarr_dtype, chunks, spec):
    """{key below the array: value} of `arr` as a zarr3 array, its shard shape, and the values a
    reader sees (missing inner chunks as 0)."""
    data_type = zarr3_data_type(zarr_dtype)
    inner = list(chunks) if arr.ndim else []
    shard = [c * -(-s // c) for s, c in zip(arr.shape, inner)] if spec.sharded else inner
    codecs = zarr3_codecs(spec, data_type, inner, shard)
    fill = 0.0 if data_type.startswith(("float", "bfloat")) else 0
    keys = {"zarr.json": zarr3gen.zarr_json(arr.shape, shard, data_type, codecs, fill).encode()}
    grid = tuple(-(-s // c) for s, c in zip(arr.shape, shard))
    for pos in np.ndindex(*grid):
        chunk = np.zeros(shard, dtype=arr.dtype)
        src = tuple(slice(p * c, min((p + 1) * c, s)) for p, c, s in zip(pos, shard, arr.shape))
        chunk[tuple(slice(0, x.stop - x.start) for x in src)] = arr[src]
        keys[zarr3gen.chunk_key(pos)] = zarr3gen.encode(chunk, codecs, data_type)
    expected = zarr3gen.read_expected_values(arr, codecs, shard, 0)
    return keys, shard, expected

PYTREE_HANDLER = "orbax.checkpoint._src.handlers.pytree_checkpoint_handler.PyTreeCheckpointHandler"


def pax_orbax_name(legacy):
    """The name Orbax gives a Pax TrainState leaf that the non-OCDBT layout names `legacy`:
    list indices are components of their own (`opt_states_0_2.m.x` -> `opt_states.0.2.m.x`,
    `opt_states_0.no_prefix_2.m.x` -> `opt_states.0.no_prefix.2.m.x`), orbax-format.md §1.3.
    From the code (paxml b397693f, praxis feeaff19, orbax 3ff7b24a): with OCDBT,
    paxml/checkpoints.py PaxCheckpointHandler.async_save skips _tensorstore_prepare
    (set_param_names(None)), so names are Orbax's param_name_from_keypath ('.'.join of the key
    names, _src/tree/utils.py) over the TrainState (paxml/train_states.py: a flax struct, fields
    step/mdl_vars/opt_states/extra_state, GetAttrKey = key_type 2); opt_states is a list
    (SequenceKey, key_type 1), praxis sharded_chain's state a tuple (key_type 1),
    optimizer_prefix_vectorization's 'no_prefix' / 'p#…' keys and NestedMap keys dict keys."""
    parts = legacy.split(".")
    if parts[0].startswith("opt_states_"):
        head = parts[0].split("_")  # opt, states, 0[, 2]
        out = ["opt_states"] + head[2:]
        rest = parts[1:]
        m = re.fullmatch(r"(.+)_(\d+)", rest[0]) if rest and len(head) == 3 else None
        if m:
            out += [m.group(1), m.group(2)]
            rest = rest[1:]
        return ".".join(out + rest)
    return legacy


def key_metadata(name, sequence_components=()):
    """key_metadata for a dotted name: decimal components are list indices (key_type 1)."""
    out = []
    for part in name.split("."):
        if part.isdigit():
            out.append({"key": part, "key_type": 1})
        else:
            out.append({"key": part, "key_type": 2})
    return out


def tree_metadata_json(arrays, use_zarr3=False):
    """`_METADATA` as Orbax writes it for {name: write shape} (JAX flatten order = sorted keys)."""
    tree = {}

    def sort_key(name):
        return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in name.split(".")]

    for name in sorted(arrays, key=sort_key):
        tuple_key = repr(tuple(name.split(".")))
        tree[tuple_key] = {"key_metadata": key_metadata(name),
                           "value_metadata": {"value_type": "jax.Array", "skip_deserialize": False,
                                              "write_shape": list(arrays[name])}}
    return json.dumps({"tree_metadata": tree, "use_ocdbt": True, "use_zarr3": use_zarr3,
                       "store_array_data_equal_to_fill_value": True, "custom_metadata": None})


def sharding_json(names):
    value = json.dumps({"sharding_type": "NamedSharding", "shape": [1, 1, 1],
                        "axis_names": ["replica", "data", "mdl"], "partition_spec": []})
    return json.dumps({base64.urlsafe_b64encode(n.encode()).decode(): value for n in sorted(names)},
                      separators=(",", ":"), sort_keys=True)


def write_item(item_dir, folders, zarr3=None):
    """Writes an Orbax item: {orbax name: zarr v2 array folder} -> one OCDBT database + metadata,
    the arrays as they are or, with `zarr3` (a Zarr3), re-encoded as zarr3. When inner chunks are
    left out, the v2 folder is rewritten with the values a reader sees (zeros there), so that it
    stays the same checkpoint. Returns {orbax name: {key: value bytes}} of the database."""
    items, by_name, shapes, chunk_shapes = {}, {}, {}, {}
    for name, folder in folders.items():
        keys = {}
        for f in sorted(os.listdir(folder)):
            with open(os.path.join(folder, f), "rb") as fh:
                keys[f] = fh.read()
        meta = json.loads(keys[".zarray"])
        shapes[name] = chunk_shapes[name] = meta["chunks"]
        if zarr3:
            arr, zdt = zarrio.read_array(folder)
            keys, shapes[name], expected = zarr3_array_keys(arr, zdt, meta["chunks"], zarr3)
            if not np.array_equal(expected, arr):
                comp = meta["compressor"]
                shutil.rmtree(folder)
                zarrio.write_array(folder, expected, zdt, meta["chunks"],
                                   (comp["id"], comp.get("level", 1)) if comp else None)
        by_name[name] = keys
        for k, v in keys.items():
            items[f"{name}/{k}".encode()] = v
    os.makedirs(item_dir, exist_ok=True)
    ocdbt_ref.write_database(item_dir, items)
    with open(os.path.join(item_dir, "_METADATA"), "w") as f:
        f.write(tree_metadata_json(shapes, use_zarr3=zarr3 is not None))
    with open(os.path.join(item_dir, "_sharding"), "w") as f:
        f.write(sharding_json(shapes))
    os.makedirs(os.path.join(item_dir, "array_metadatas"))
    with open(os.path.join(item_dir, "array_metadatas", "process_0"), "w") as f:
        f.write(json.dumps({"array_metadatas": [
            {"array_metadata": {"param_name": n, "write_shape": s, "chunk_shape": chunk_shapes[n],
                                "ext_metadata": None}}
            for n, s in sorted(shapes.items())]}))
    return by_name


def write_placeholder_index(item_dir):
    """Adds the msgpack `checkpoint` of Orbax < 0.5.21 to an item: the `_METADATA` tree with every
    leaf replaced by PLACEHOLDER://<name> (lists as maps with decimal string keys)."""
    import msgpack
    with open(os.path.join(item_dir, "_METADATA")) as f:
        md = json.load(f)
    tree = {}
    for e in md["tree_metadata"].values():
        keys = [k["key"] for k in e["key_metadata"]]
        node = tree
        for k in keys[:-1]:
            node = node.setdefault(str(k), {})
        node[str(keys[-1])] = "PLACEHOLDER://" + ".".join(map(str, keys))
    with open(os.path.join(item_dir, "checkpoint"), "wb") as f:
        f.write(msgpack.packb(tree, use_bin_type=True))


def placeholder_leaves(path):
    """{dotted path: placeholder name} of a msgpack placeholder `checkpoint`."""
    import msgpack
    with open(path, "rb") as f:
        tree = msgpack.unpackb(f.read(), raw=False)
    out = {}

    def walk(node, prefix):
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, prefix + [k])
            elif isinstance(v, str) and v.startswith("PLACEHOLDER://"):
                out[".".join(prefix + [k])] = v[len("PLACEHOLDER://"):]

    walk(tree, [])
    return out


def write_step_metadata(step_dir, item_handlers):
    with open(os.path.join(step_dir, "_CHECKPOINT_METADATA"), "w") as f:
        f.write(json.dumps({"item_handlers": item_handlers, "metrics": {}, "performance_metrics": {},
                            "init_timestamp_nsecs": 1700000000000000000,
                            "commit_timestamp_nsecs": 1700000001000000000, "custom_metadata": {}}))


def pax_to_orbax(legacy_step, step_dir, zarr3=None):
    """A Pax layout-1.x step folder (state/ of array folders + metadata/metadata) rewritten as the
    Pax OCDBT variant: state/ one database with Orbax names, metadata/metadata version 1.2.
    Returns {orbax name: legacy name}."""
    state = os.path.join(legacy_step, "state")
    folders, names = {}, {}
    for n in sorted(os.listdir(state)):
        if os.path.exists(os.path.join(state, n, ".zarray")):
            folders[pax_orbax_name(n)] = os.path.join(state, n)
            names[pax_orbax_name(n)] = n
    os.makedirs(step_dir)
    write_item(os.path.join(step_dir, "state"), folders, zarr3)
    with open(os.path.join(legacy_step, "metadata", "metadata")) as f:
        md = json.load(f)
    md["version"] = 1.2
    os.makedirs(os.path.join(step_dir, "metadata"))
    with open(os.path.join(step_dir, "metadata", "metadata"), "w") as f:
        f.write(json.dumps(md))
    write_step_metadata(step_dir, {"state": PYTREE_HANDLER})
    return names


def t5x_to_orbax(ckpt, step_dir, scratch, legacy_dir=None, zarr3=None):
    """A t5xgen Checkpoint written as T5X's Orbax layout (checkpoint_<N>/state/ + dataset/): every
    leaf (inline leaves as rank-0/small raw zarr arrays) in one database, names as T5X saves them
    (`target.…`, `state.param_states.…`, `state.step`). With `legacy_dir` (the same Checkpoint
    written in the legacy layout) the array folders are taken from there byte for byte (gzip
    headers carry a time stamp, so encoding twice may differ). Returns the leaf names."""
    folders = {}
    for name, leaf in ckpt.leaves.items():
        folder = os.path.join(scratch, name)
        if isinstance(leaf, t5xgen.ArrayLeaf) and legacy_dir:
            folder = os.path.join(legacy_dir, name)
        elif isinstance(leaf, t5xgen.ArrayLeaf):
            zarrio.write_array(folder, leaf.data, t5xgen.NAME_TO_ZARR[leaf.dtype], chunks=leaf.chunks,
                               compressor=t5xgen.codec_json(leaf.codec))
        elif isinstance(leaf, t5xgen.InlineLeaf):
            data = np.asarray(leaf.data)
            zarrio.write_array(folder, data, t5xgen.NAME_TO_ZARR[leaf.dtype], compressor=None)
        else:
            continue
        folders[name] = folder
    os.makedirs(step_dir)
    write_item(os.path.join(step_dir, "state"), folders, zarr3)
    os.makedirs(os.path.join(step_dir, "dataset"))
    with open(os.path.join(step_dir, "dataset", "train_ds-000-of-001.index"), "wb") as f:
        f.write(b"tf.data iterator state\x00\x01")
    write_step_metadata(step_dir, {"state": PYTREE_HANDLER, "dataset": "t5x.checkpoints.DatasetCheckpointHandler"})
    shutil.rmtree(scratch, ignore_errors=True)
    return sorted(folders)


def t5x_to_orbax_folders(ckpt, step_dir, legacy_dir):
    """A t5xgen Checkpoint written in the pre-OCDBT Orbax layout (orbax-format.md §1, §4.5):
    `checkpoint_<N>/state/` holds one zarr v2 folder per leaf, named by the leaf's dotted name, and
    the msgpack `checkpoint` of the nested tree with every leaf PLACEHOLDER://<name>; no
    `_METADATA`, no database, no `_CHECKPOINT_METADATA` (Orbax before 0.4 wrote none). Array
    leaves are copied from `legacy_dir` (the same Checkpoint in the legacy layout) byte for byte,
    inline leaves become small raw zarr arrays. Returns the leaf names."""
    import msgpack
    item = os.path.join(step_dir, "state")
    os.makedirs(item)
    tree, names = {}, []
    for name, leaf in sorted(ckpt.leaves.items()):
        folder = os.path.join(item, name)
        if isinstance(leaf, t5xgen.ArrayLeaf):
            shutil.copytree(os.path.join(legacy_dir, name), folder)
        elif isinstance(leaf, t5xgen.InlineLeaf):
            zarrio.write_array(folder, np.asarray(leaf.data), t5xgen.NAME_TO_ZARR[leaf.dtype], compressor=None)
        else:
            continue
        keys = name.split(".")
        node = tree
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = "PLACEHOLDER://" + name
        names.append(name)
    with open(os.path.join(item, "checkpoint"), "wb") as f:
        f.write(msgpack.packb(tree, use_bin_type=True))
    os.makedirs(os.path.join(step_dir, "dataset"))
    with open(os.path.join(step_dir, "dataset", "train_ds-000-of-001.index"), "wb") as f:
        f.write(b"tf.data iterator state\x00\x01")
    return names
