"""Independent reference implementation of TensorStore's OCDBT key-value store, for te-ckpt's tests.

Written from `spec/orbax-format.md` §2 (binary format), §3 (zarr keys) and §6 (zarr3 sharding)
only; it shares no code with te-ckpt's C++ and needs only the standard library plus Debian's
`zstandard` and `crc32c`. It is a test oracle: strict (every length, CRC, varint width, key order,
table constraint and statistic is checked) and simple (whole objects are read into memory).

Reader:  read_database(dir, generation=None) -> {key bytes: value bytes}
         list_with_sizes(dir, generation=None) -> [(key bytes, value size)]
         open_database(dir) -> Database (manifest, versions, per-key value locations)
Writer:  write_database(dir, items, ...) writes a single-generation database as TensorStore with
         Orbax's configuration would (§2.9, §2.10); write_merged_database() writes an Orbax-style
         merged root (§2.8); the lower-level encoders are public so that tests can build unusual
         databases (numbered manifests, base paths, version trees, malformed objects).
zarr3:   decode_shard(value, num_chunks) splits a `sharding_indexed` value (§6).

Every inconsistency raises OcdbtError (a ValueError) whose message names the file and byte offset.
"""
import os
import secrets
import struct
import time

import crc32c
import zstandard

# §2.2 magic numbers (u32 big endian at offset 0 of every object).
MANIFEST_MAGIC = 0x0CDB3A2A
VERSION_NODE_MAGIC = 0x0CDB1234
BTREE_NODE_MAGIC = 0x0CDB20DE
MAGIC_NAMES = {MANIFEST_MAGIC: "manifest", VERSION_NODE_MAGIC: "version-tree node",
               BTREE_NODE_MAGIC: "B+tree node"}

MISSING = 2**64 - 1                 # §2.3/§2.7: offset = length = 2^64-1 marks an empty tree
MAX_NODE_ARITY = 1048576            # §2.6 kMaxNodeArity: B+tree num_entries bound
MAX_INLINE_VALUE_LENGTH = 1 << 20   # §2.6 kMaxInlineValueLength, enforced on decode
MAX_REFERENCE_END = 2**63 - 1       # §2.6: offset + length of any reference
MAX_PATH_OR_KEY = 65535             # §2.1 "16-bit" fields, §2.4 path length, §2.6 key length


class OcdbtError(ValueError):
    """A database that does not follow the format; the message names the file and offset."""


# --------------------------------------------------------------------------------------------------
# §2.1 Primitives

def crc32c_of(data):
    """Standard CRC-32C (Castagnoli), as stored u32le at the end of every object."""
    return crc32c.crc32c(data) & 0xFFFFFFFF


def encode_varint(value):
    """Unsigned LEB128, minimal form (§2.1)."""
    if value < 0:
        raise ValueError("varint of a negative number")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class Cursor:
    """Reads primitives from a decoded body; every failure names `where` (file and object offset)
    and the offset inside the body."""

    def __init__(self, data, where):
        self.data = data
        self.pos = 0
        self.where = where

    def fail(self, message, pos=None):
        raise OcdbtError(f"{self.where}, body offset {self.pos if pos is None else pos}: {message}")

    def _varint(self, max_bytes, max_value, name):
        start = self.pos
        result = 0
        for i in range(max_bytes):
            if self.pos >= len(self.data):
                self.fail(f"truncated varint {name}", start)
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << (7 * i)
            if not byte & 0x80:
                if result > max_value:
                    self.fail(f"varint {name} = {result} exceeds {max_value}", start)
                return result
        self.fail(f"varint {name} longer than {max_bytes} bytes", start)

    def varint64(self, name):
        return self._varint(10, 2**64 - 1, name)

    def varint32(self, name):
        return self._varint(5, 2**32 - 1, name)

    def varint16(self, name):
        """§2.1: "16-bit" fields are 32-bit varints that must be <= 65535."""
        return self._varint(5, MAX_PATH_OR_KEY, name)

    def u8(self, name):
        if self.pos >= len(self.data):
            self.fail(f"truncated: expected byte {name}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def take(self, n, name):
        if n > len(self.data) - self.pos:
            self.fail(f"truncated: expected {n} bytes of {name}, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(chunk)

    def u64le(self, name):
        return struct.unpack("<Q", self.take(8, name))[0]

    def i32le(self, name):
        return struct.unpack("<i", self.take(4, name))[0]

    def varints(self, count, reader, name):
        return [reader(f"{name}[{i}]") for i in range(count)]

    def expect_end(self):
        if self.pos != len(self.data):
            self.fail(f"{len(self.data) - self.pos} unexpected trailing bytes after the body")


# --------------------------------------------------------------------------------------------------
# §2.2 Envelope shared by manifest, version-tree node and B+tree node

def zstd_decompress(data, where="zstd frame"):
    """Decompresses exactly one zstd frame with the streaming API (no reliance on
    Frame_Content_Size); trailing bytes or an incomplete frame are errors."""
    dobj = zstandard.ZstdDecompressor().decompressobj()
    try:
        out = dobj.decompress(data)
    except zstandard.ZstdError as e:
        raise OcdbtError(f"{where}: invalid zstd data: {e}") from None
    if not dobj.eof:
        raise OcdbtError(f"{where}: zstd frame is truncated")
    if dobj.unused_data:
        raise OcdbtError(f"{where}: {len(dobj.unused_data)} bytes after the end of the zstd frame")
    return out


def decode_object(data, magic, where):
    """Checks an envelope (§2.2) and returns the decoded body. `data` must be exactly the object's
    bytes as read from its (file, offset, length) reference."""
    name = MAGIC_NAMES[magic]
    if len(data) < 16:
        raise OcdbtError(f"{where}: {name} of {len(data)} bytes, shorter than the 16-byte minimum")
    found_magic, length = struct.unpack(">I", data[:4])[0], struct.unpack("<Q", data[4:12])[0]
    if found_magic != magic:
        raise OcdbtError(f"{where}: bad magic 0x{found_magic:08X}, expected 0x{magic:08X} ({name})")
    if length != len(data):
        raise OcdbtError(f"{where}: {name} length field says {length} bytes, {len(data)} were read")
    stored_crc = struct.unpack("<I", data[-4:])[0]
    actual_crc = crc32c_of(data[:-4])
    if stored_crc != actual_crc:
        raise OcdbtError(f"{where}: CRC-32C mismatch in {name} (stored 0x{stored_crc:08X}, "
                         f"computed 0x{actual_crc:08X})")
    header = Cursor(data[:-4], where)
    header.pos = 12
    version = header.varint32("version")
    if version != 0:
        header.fail(f"unsupported {name} format version {version} (only 0 is defined)", 12)
    compression = header.varint32("compression_format")
    payload = data[header.pos:-4]
    if compression == 0:
        return payload
    if compression == 1:
        return zstd_decompress(payload, f"{where}, offset {header.pos}")
    header.fail(f"unknown compression_format {compression} (0 raw, 1 zstd)", 13)


def encode_object(magic, body, compress):
    """Builds an envelope (§2.2) around `body`; zstd at the library default level when compress."""
    header_tail = encode_varint(0) + encode_varint(1 if compress else 0)
    payload = zstandard.ZstdCompressor(level=0).compress(body) if compress else body
    length = 4 + 8 + len(header_tail) + len(payload) + 4
    head = struct.pack(">I", magic) + struct.pack("<Q", length) + header_tail + payload
    return head + struct.pack("<I", crc32c_of(head))


# --------------------------------------------------------------------------------------------------
# §2.4 Data-file table

def decode_data_file_table(cur):
    """Returns a list of (base_path, relative_path) byte strings, in table order."""
    n = cur.varint64("num_files")
    if n > len(cur.data):  # every entry needs at least two bytes; avoids huge allocations
        cur.fail(f"num_files {n} larger than the body")
    prefix = [0] + cur.varints(max(n - 1, 0), cur.varint16, "path_prefix_length")
    suffix = cur.varints(n, cur.varint16, "path_suffix_length")
    base = cur.varints(n, cur.varint16, "base_path_length")
    table = []
    previous = b""
    for i in range(n):
        if prefix[i] > len(previous):
            cur.fail(f"data-file table entry {i}: path_prefix_length {prefix[i]} exceeds the "
                     f"previous path's length {len(previous)}")
        if i > 0 and prefix[i] > min(base[i - 1], base[i]) and base[i] != base[i - 1]:
            cur.fail(f"data-file table entry {i}: path_prefix_length {prefix[i]} extends past "
                     f"differing base paths ({base[i - 1]} vs {base[i]} bytes)")
        path = previous[:prefix[i]] + cur.take(suffix[i], f"path_suffix[{i}]")
        if len(path) > MAX_PATH_OR_KEY:
            cur.fail(f"data-file table entry {i}: path of {len(path)} bytes exceeds 65535")
        if base[i] > len(path):
            cur.fail(f"data-file table entry {i}: base_path_length {base[i]} exceeds the path "
                     f"length {len(path)}")
        table.append((path[:base[i]], path[base[i]:]))
        previous = path
    return table


def encode_data_file_table(entries):
    """Encodes (base_path, relative_path) entries that are already sorted and unique (§2.4)."""
    assert entries == sorted(set(entries)), "data-file table must be sorted and deduplicated"
    out = bytearray(encode_varint(len(entries)))
    paths = [b + r for b, r in entries]
    prefixes = []
    for i in range(1, len(entries)):
        (pb, pr), (b, r) = entries[i - 1], entries[i]
        common = _common_prefix_length(pb, b)
        if pb == b:  # §2.4: the prefix extends into the relative paths only for identical bases
            common = len(b) + _common_prefix_length(pr, r)
        prefixes.append(common)
    for p in prefixes:
        out += encode_varint(p)
    full_prefixes = [0] + prefixes
    for i, path in enumerate(paths):
        out += encode_varint(len(path) - full_prefixes[i])
    for b, _ in entries:
        out += encode_varint(len(b))
    for i, path in enumerate(paths):
        out += path[full_prefixes[i]:]
    return bytes(out)


def _common_prefix_length(a, b):
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class Location:
    """A resolved reference (§2.4, §2.7): the file relative to the database directory, the base
    path that a node found there inherits as its transitive path, and the byte range."""

    def __init__(self, transitive, entry, offset, length):
        self.base_path, self.relative_path = entry
        self.transitive = transitive + self.base_path      # T_child = T_parent + entry.base_path
        self.path = transitive + self.base_path + self.relative_path
        self.offset = offset
        self.length = length

    def __repr__(self):
        return f"{self.path.decode(errors='replace')}@{self.offset}+{self.length}"


def _reference(cur, table, transitive, file_id, offset, length, what):
    if file_id >= len(table):
        cur.fail(f"{what}: data file id {file_id} not in the table of {len(table)} files")
    if offset + length > MAX_REFERENCE_END:
        cur.fail(f"{what}: offset {offset} + length {length} exceeds 2^63-1")
    return Location(transitive, table[file_id], offset, length)


# --------------------------------------------------------------------------------------------------
# File access (the database directory is the root of every path)

class Files:
    """Reads byte ranges of files below a database directory; paths escaping it are errors."""

    def __init__(self, directory):
        self.directory = os.path.abspath(directory)

    def resolve(self, path, what):
        try:
            text = path.decode("utf-8") if isinstance(path, bytes) else path
        except UnicodeDecodeError:
            raise OcdbtError(f"{self.directory}: {what}: data-file path {path!r} is not UTF-8") \
                from None
        parts = text.split("/")
        if text == "" or text.startswith("/") or any(p in ("", ".", "..") for p in parts[:-1]) \
                or parts[-1] in ("", ".", ".."):
            raise OcdbtError(f"{self.directory}: {what}: data-file path {text!r} is not a plain "
                             f"relative path inside the database folder")
        return os.path.join(self.directory, *parts)

    def read(self, path, offset, length, what):
        file = self.resolve(path, what)
        try:
            with open(file, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if offset + length > size:
                    raise OcdbtError(f"{file}: {what}: range [{offset}, {offset + length}) lies "
                                     f"beyond the end of the {size}-byte file")
                f.seek(offset)
                return f.read(length)
        except FileNotFoundError:
            raise OcdbtError(f"{file}: {what} at offset {offset}: data file is missing") from None

    def read_whole(self, name):
        file = os.path.join(self.directory, name)
        try:
            with open(file, "rb") as f:
                return f.read()
        except FileNotFoundError:
            raise OcdbtError(f"{file}: missing (no manifest at offset 0)") from None


# --------------------------------------------------------------------------------------------------
# §2.3 Manifest and §2.5 version entry arrays

class Config:
    def __init__(self, uuid, manifest_kind, max_inline_value_bytes, max_decoded_node_bytes,
                 version_tree_arity_log2, compression_method, zstd_level=0):
        self.uuid = uuid
        self.manifest_kind = manifest_kind
        self.max_inline_value_bytes = max_inline_value_bytes
        self.max_decoded_node_bytes = max_decoded_node_bytes
        self.version_tree_arity_log2 = version_tree_arity_log2
        self.compression_method = compression_method
        self.zstd_level = zstd_level

    def __eq__(self, other):
        return vars(self) == vars(other)

    def encode(self):
        out = bytes(self.uuid) + bytes([self.manifest_kind])
        out += encode_varint(self.max_inline_value_bytes)
        out += encode_varint(self.max_decoded_node_bytes)
        out += bytes([self.version_tree_arity_log2]) + encode_varint(self.compression_method)
        if self.compression_method == 1:
            out += struct.pack("<i", self.zstd_level)
        return out


def decode_config(cur):
    uuid = cur.take(16, "uuid")
    kind = cur.u8("manifest_kind")
    if kind not in (0, 1):
        cur.fail(f"manifest_kind {kind} (0 single, 1 numbered)", cur.pos - 1)
    max_inline = cur.varint32("max_inline_value_bytes")
    if max_inline > MAX_INLINE_VALUE_LENGTH:
        cur.fail(f"max_inline_value_bytes {max_inline} exceeds 1048576")
    max_node = cur.varint32("max_decoded_node_bytes")
    arity = cur.u8("version_tree_arity_log2")
    if not 1 <= arity <= 16:
        cur.fail(f"version_tree_arity_log2 {arity} outside 1..16", cur.pos - 1)
    method = cur.varint32("compression_method")
    level = 0
    if method == 1:
        level = cur.i32le("zstd_level")
    elif method != 0:
        cur.fail(f"compression_method {method} (0 none, 1 zstd)")
    return Config(uuid, kind, max_inline, max_node, arity, method, level)


class Version:
    """A leaf version entry (§2.5): one generation and its B+tree root."""

    def __init__(self, generation, root_height, root, num_keys, num_tree_bytes,
                 num_indirect_value_bytes, commit_time):
        self.generation = generation
        self.root_height = root_height
        self.root = root                      # Location, or None for an empty tree
        self.num_keys = num_keys
        self.num_tree_bytes = num_tree_bytes
        self.num_indirect_value_bytes = num_indirect_value_bytes
        self.commit_time = commit_time


class VersionNodeRef:
    """An interior version entry (§2.5): a version-tree node covering generations up to
    `generation`; `height` is the height of the referenced node."""

    def __init__(self, generation, root, num_generations, commit_time, height):
        self.generation = generation
        self.location = root
        self.num_generations = num_generations
        self.commit_time = commit_time
        self.height = height


def _decode_location_columns(cur, n):
    ids = cur.varints(n, cur.varint64, "data_file_id")
    offsets = cur.varints(n, cur.varint64, "offset")
    lengths = cur.varints(n, cur.varint64, "length")
    return ids, offsets, lengths


def decode_leaf_versions(cur, table, transitive, arity_log2, in_manifest):
    """§2.5 leaf entry array (manifest inline_versions, or a height-0 version-tree node)."""
    n = cur.varint64("num_versions")
    if n > len(cur.data):
        cur.fail(f"num_versions {n} larger than the body")
    gens = cur.varints(n, cur.varint64, "generation_number")
    heights = [cur.u8(f"root_height[{i}]") for i in range(n)]
    ids, offsets, lengths = _decode_location_columns(cur, n)
    num_keys = cur.varints(n, cur.varint64, "num_keys")
    tree_bytes = cur.varints(n, cur.varint64, "num_tree_bytes")
    indirect = cur.varints(n, cur.varint64, "num_indirect_value_bytes")
    times = [cur.u64le(f"commit_time[{i}]") for i in range(n)]
    _check_generations(cur, gens, arity_log2, 0, "version")
    if in_manifest:
        if n == 0:
            cur.fail("manifest has no inline version")
        limit = ((gens[-1] - 1) % (1 << arity_log2)) + 1
        if n > limit:
            cur.fail(f"{n} inline versions, at most {limit} allowed for latest generation "
                     f"{gens[-1]}")
    versions = []
    for i in range(n):
        what = f"version {gens[i]} root"
        if offsets[i] == MISSING and lengths[i] == MISSING:
            if heights[i] != 0 or num_keys[i] or tree_bytes[i] or indirect[i]:
                cur.fail(f"{what}: empty tree with non-zero height or statistics")
            if ids[i] >= len(table):
                cur.fail(f"{what}: data file id {ids[i]} not in the table of {len(table)} files")
            root = None
        else:
            root = _reference(cur, table, transitive, ids[i], offsets[i], lengths[i], what)
        versions.append(Version(gens[i], heights[i], root, num_keys[i], tree_bytes[i], indirect[i],
                                times[i]))
    return versions


def decode_interior_versions(cur, table, transitive, arity_log2, node_height):
    """§2.5 interior entry array: inside a version-tree node of height `node_height` (> 0), or the
    manifest's version_nodes when node_height is None (then each entry carries its height)."""
    n = cur.varint64("num_children")
    if n > len(cur.data):
        cur.fail(f"num_children {n} larger than the body")
    gens = cur.varints(n, cur.varint64, "generation_number")
    ids, offsets, lengths = _decode_location_columns(cur, n)
    num_gens = cur.varints(n, cur.varint64, "num_generations")
    times = [cur.u64le(f"commit_time[{i}]") for i in range(n)]
    if node_height is None:
        heights = [cur.u8(f"entry_height[{i}]") for i in range(n)]
    else:
        heights = [node_height - 1] * n
        _check_generations(cur, gens, arity_log2, node_height, "version-tree child")
    refs = []
    for i in range(n):
        what = f"version node (generation {gens[i]})"
        location = _reference(cur, table, transitive, ids[i], offsets[i], lengths[i], what)
        refs.append(VersionNodeRef(gens[i], location, num_gens[i], times[i], heights[i]))
    return refs


def _check_generations(cur, gens, arity_log2, height, what):
    """Generation numbers non-zero and strictly increasing, in one arity-aligned group; in a node
    of height h > 0 each child generation is a multiple of 2^(a*h) (§2.3, §2.5)."""
    for i, g in enumerate(gens):
        if g == 0:
            cur.fail(f"{what} {i}: generation number 0")
        if i and g <= gens[i - 1]:
            cur.fail(f"{what} {i}: generation {g} not greater than {gens[i - 1]}")
        if height and g % (1 << (arity_log2 * height)):
            cur.fail(f"{what} {i}: generation {g} is not a multiple of 2^{arity_log2 * height}")
    group_shift = arity_log2 * (height + 1)
    if gens and (gens[0] - 1) >> group_shift != (gens[-1] - 1) >> group_shift:
        cur.fail(f"{what}s {gens[0]}..{gens[-1]} are not in one group of {1 << group_shift}")


def manifest_version_node_ranges(latest, arity_log2):
    """The generation range [lo, hi] each manifest version_nodes height covers when `latest` is
    the newest generation (§2.3): the inline versions are the group of `latest`; below it each
    height h covers the complete groups of 2^(a*h) generations of the next larger group."""
    ranges = {}
    hi = ((latest - 1) >> arity_log2) << arity_log2
    height = 1
    while hi:
        shift = arity_log2 * (height + 1)
        lo_next = ((hi - 1) >> shift) << shift
        ranges[height] = (lo_next + 1, hi)
        hi = lo_next
        height += 1
    return ranges


class Manifest:
    def __init__(self, config, versions, version_nodes, file, where):
        self.config = config
        self.versions = versions            # inline versions; the last one is the latest
        self.version_nodes = version_nodes  # VersionNodeRef list, heights decreasing
        self.file = file
        self.where = where


def decode_manifest(data, file):
    """§2.3: returns a Manifest; for a config-only manifest (kind 1) versions is None."""
    where = f"{file} offset 0 (manifest)"
    body = decode_object(data, MANIFEST_MAGIC, where)
    cur = Cursor(body, where)
    config = decode_config(cur)
    if config.manifest_kind == 1:
        cur.expect_end()
        return Manifest(config, None, None, file, where)
    table = decode_data_file_table(cur)
    a = config.version_tree_arity_log2
    versions = decode_leaf_versions(cur, table, b"", a, in_manifest=True)
    nodes = decode_interior_versions(cur, table, b"", a, None)
    cur.expect_end()
    max_height = 63 // a - 1
    if len(nodes) > max_height:
        cur.fail(f"{len(nodes)} version_nodes, at most {max_height} allowed")
    ranges = manifest_version_node_ranges(versions[-1].generation, a)
    for i, node in enumerate(nodes):
        if not 1 <= node.height <= max_height:
            cur.fail(f"version node {i}: height {node.height} outside [1, {max_height}]")
        if i and node.height >= nodes[i - 1].height:
            cur.fail(f"version node {i}: heights are not strictly decreasing")
        lo, hi = ranges.get(node.height, (1, 0))
        if not lo <= node.generation <= hi:
            cur.fail(f"version node {i} (height {node.height}): generation {node.generation} "
                     f"outside [{lo}, {hi}] for latest generation {versions[-1].generation}")
    return Manifest(config, versions, nodes, file, where)


def _numbered_manifest_names(directory):
    """§2.3 numbered kind: 'manifest.' + exactly 16 lowercase hex digits with a non-zero value."""
    names = []
    for name in os.listdir(directory):
        suffix = name[len("manifest."):]
        if name.startswith("manifest.") and len(suffix) == 16 \
                and all(c in "0123456789abcdef" for c in suffix) and int(suffix, 16):
            names.append(name)
    return sorted(names)


# --------------------------------------------------------------------------------------------------
# §2.5 Version-tree nodes

def decode_version_node(data, location, arity_log2, expected_height):
    where = f"{location.path.decode(errors='replace')} offset {location.offset} (version-tree node)"
    body = decode_object(data, VERSION_NODE_MAGIC, where)
    cur = Cursor(body, where)
    a = cur.u8("version_tree_arity_log2")
    if a != arity_log2:
        cur.fail(f"version_tree_arity_log2 {a}, the manifest says {arity_log2}", 0)
    height = cur.u8("height")
    if height != expected_height:
        cur.fail(f"height {height}, the parent reference expects {expected_height}", 1)
    if (height + 1) * a >= 64:
        cur.fail(f"height {height} too large for arity log2 {a}", 1)
    table = decode_data_file_table(cur)
    if height == 0:
        entries = decode_leaf_versions(cur, table, location.transitive, a, in_manifest=False)
    else:
        entries = decode_interior_versions(cur, table, location.transitive, a, height)
    cur.expect_end()
    if not entries:
        cur.fail("empty version-tree node")
    if len(entries) > (1 << a):
        cur.fail(f"{len(entries)} entries, more than the arity {1 << a}")
    return entries


# --------------------------------------------------------------------------------------------------
# §2.6 B+tree nodes

class LeafEntry:
    def __init__(self, key, value_length, inline_value, location):
        self.key = key                  # relative key (without the node's implied prefix)
        self.value_length = value_length
        self.inline_value = inline_value  # bytes, or None when indirect
        self.location = location          # Location of an indirect value, or None


class InteriorEntry:
    def __init__(self, key, subtree_common_prefix_length, location, num_keys, num_tree_bytes,
                 num_indirect_value_bytes):
        self.key = key
        self.subtree_common_prefix_length = subtree_common_prefix_length
        self.location = location
        self.num_keys = num_keys
        self.num_tree_bytes = num_tree_bytes
        self.num_indirect_value_bytes = num_indirect_value_bytes


def _decode_keys(cur, n, with_common_prefix):
    prefix = [0] + cur.varints(n - 1, cur.varint16, "key_prefix_length")
    suffix = cur.varints(n, cur.varint16, "key_suffix_length")
    common = cur.varints(n, cur.varint16, "subtree_common_prefix_length") if with_common_prefix \
        else None
    keys = []
    previous = b""
    for i in range(n):
        if prefix[i] > len(previous):
            cur.fail(f"entry {i}: key_prefix_length {prefix[i]} exceeds the previous key's length "
                     f"{len(previous)}")
        key = previous[:prefix[i]] + cur.take(suffix[i], f"key_suffix[{i}]")
        if len(key) > MAX_PATH_OR_KEY:
            cur.fail(f"entry {i}: key of {len(key)} bytes exceeds 65535")
        if i and key <= previous:
            cur.fail(f"entry {i}: invalid key order: {key!r} does not follow {previous!r}")
        if common is not None and common[i] > len(key):
            cur.fail(f"entry {i}: subtree_common_prefix_length {common[i]} exceeds the key length "
                     f"{len(key)}")
        keys.append(key)
        previous = key
    return keys, common


def decode_btree_node(data, location):
    """Returns (height, entries): LeafEntry list for height 0, InteriorEntry list otherwise."""
    where = f"{location.path.decode(errors='replace')} offset {location.offset} (B+tree node)"
    body = decode_object(data, BTREE_NODE_MAGIC, where)
    cur = Cursor(body, where)
    height = cur.u8("height")
    table = decode_data_file_table(cur)
    transitive = location.transitive
    n = cur.varint32("num_entries")
    if n == 0:
        cur.fail("empty B+tree node (num_entries 0)")
    if n > MAX_NODE_ARITY:
        cur.fail(f"num_entries {n} exceeds {MAX_NODE_ARITY}")
    if height == 0:
        keys, _ = _decode_keys(cur, n, False)
        lengths = cur.varints(n, cur.varint64, "value_length")
        kinds = [cur.u8(f"value_kind[{i}]") for i in range(n)]
        for i, k in enumerate(kinds):
            if k not in (0, 1):
                cur.fail(f"entry {i}: value_kind {k} (0 inline, 1 indirect)")
        k = kinds.count(1)
        ids = cur.varints(k, cur.varint64, "data_file_id")
        offsets = cur.varints(k, cur.varint64, "data_file_offset")
        entries = []
        j = 0
        for i in range(n):
            if kinds[i] == 1:
                loc = _reference(cur, table, transitive, ids[j], offsets[j], lengths[i],
                                 f"entry {i} value")
                entries.append(LeafEntry(keys[i], lengths[i], None, loc))
                j += 1
            else:
                if lengths[i] > MAX_INLINE_VALUE_LENGTH:
                    cur.fail(f"entry {i}: inline value of {lengths[i]} bytes exceeds 1 MiB")
                entries.append(LeafEntry(keys[i], lengths[i], None, None))
        for e in entries:
            if e.location is None:
                e.inline_value = cur.take(e.value_length, "inline value")
    else:
        keys, common = _decode_keys(cur, n, True)
        ids, offsets, lengths = (cur.varints(n, cur.varint64, name)
                                 for name in ("data_file_id", "offset", "length"))
        num_keys = cur.varints(n, cur.varint64, "num_keys")
        tree_bytes = cur.varints(n, cur.varint64, "num_tree_bytes")
        indirect = cur.varints(n, cur.varint64, "num_indirect_value_bytes")
        entries = []
        for i in range(n):
            loc = _reference(cur, table, transitive, ids[i], offsets[i], lengths[i],
                             f"entry {i} child")
            entries.append(InteriorEntry(keys[i], common[i], loc, num_keys[i], tree_bytes[i],
                                         indirect[i]))
    cur.expect_end()
    return height, entries


# --------------------------------------------------------------------------------------------------
# Reader: §2.10 algorithm, plus older generations through the version tree

class ValueRef:
    """Where a key's value lives: inline bytes or an indirect Location."""

    def __init__(self, size, inline=None, location=None):
        self.size = size
        self.inline = inline
        self.location = location


class Database:
    """An opened database: its manifest and every generation reachable by number."""

    def __init__(self, directory, verify_statistics=True):
        self.directory = directory
        self.files = Files(directory)
        self.verify_statistics = verify_statistics
        self.manifest = self._load_manifest()
        self.config = self.manifest.config

    def _load_manifest(self):
        name = os.path.join(self.directory, "manifest.ocdbt")
        manifest = decode_manifest(self.files.read_whole("manifest.ocdbt"), name)
        if manifest.config.manifest_kind == 0:
            return manifest
        numbered = _numbered_manifest_names(self.directory)
        if not numbered:
            raise OcdbtError(f"{name}: numbered manifest kind but no manifest.<16 hex> file")
        latest = os.path.join(self.directory, numbered[-1])
        full = decode_manifest(self.files.read_whole(numbered[-1]), latest)
        if full.config.manifest_kind != 0:
            raise OcdbtError(f"{latest}: a numbered manifest must hold a full manifest (kind 0)")
        if full.config.uuid != manifest.config.uuid:
            raise OcdbtError(f"{latest}: uuid differs from manifest.ocdbt's")
        if full.versions[-1].generation != int(numbered[-1][len("manifest."):], 16):
            raise OcdbtError(f"{latest}: latest generation {full.versions[-1].generation} does "
                             f"not match the file name")
        return full

    # -- versions --------------------------------------------------------------------------------

    def latest_generation(self):
        return self.manifest.versions[-1].generation

    def version(self, generation=None):
        """The Version of `generation` (latest when None), found through the version tree."""
        versions = self.manifest.versions
        if generation is None:
            return versions[-1]
        for v in versions:
            if v.generation == generation:
                return v
        for ref in self.manifest.version_nodes:   # heights decreasing = generations increasing
            if generation <= ref.generation:
                return self._find_in_version_node(ref, generation)
        raise OcdbtError(f"{self.manifest.file}: generation {generation} does not exist "
                         f"(latest is {self.latest_generation()})")

    def _read_version_node(self, ref):
        """Decodes the node `ref` points to and checks it against the reference: the reference
        carries the subtree's latest generation, its number of generations and its earliest commit
        time (§2.5; all three hold in TensorStore's fixtures)."""
        data = self.files.read(ref.location.path, ref.location.offset, ref.location.length,
                               "version-tree node")
        entries = decode_version_node(data, ref.location, self.config.version_tree_arity_log2,
                                      ref.height)
        where = f"{ref.location.path.decode(errors='replace')} offset {ref.location.offset} " \
                f"(version-tree node)"
        count = len(entries) if ref.height == 0 else sum(e.num_generations for e in entries)
        checks = (("latest generation", entries[-1].generation, ref.generation),
                  ("num_generations", count, ref.num_generations),
                  ("earliest commit_time", min(e.commit_time for e in entries), ref.commit_time))
        for name, actual, stored in checks:
            if actual != stored:
                raise OcdbtError(f"{where}: the parent reference says {name} {stored}, the node "
                                 f"has {actual}")
        return entries

    def _find_in_version_node(self, ref, generation):
        while True:
            entries = self._read_version_node(ref)
            if ref.height == 0:
                for v in entries:
                    if v.generation == generation:
                        return v
                break
            child = next((e for e in entries if generation <= e.generation), None)
            if child is None:
                break
            ref = child
        raise OcdbtError(f"{self.manifest.file}: generation {generation} does not exist")

    def all_versions(self):
        """Every Version reachable from the manifest, oldest first."""
        out = []

        def walk(ref):
            entries = self._read_version_node(ref)
            if ref.height == 0:
                out.extend(entries)
            else:
                for child in entries:
                    walk(child)
        for ref in self.manifest.version_nodes:
            walk(ref)
        out.extend(self.manifest.versions)
        return out

    # -- B+tree ----------------------------------------------------------------------------------

    def entries(self, generation=None):
        """{full key: ValueRef} for one generation, checking order and statistics."""
        version = self.version(generation)
        result = {}
        if version.root is None:
            return result
        stats = self._walk(version.root, version.root_height, b"", None, result)
        if self.verify_statistics:
            self._check_stats(stats, (version.num_keys, version.num_tree_bytes,
                                      version.num_indirect_value_bytes),
                              f"{self.manifest.where}: version {version.generation}")
        return result

    def _walk(self, location, height, prefix, lower_bound, result):
        """Decodes the node at `location` (implied key prefix `prefix`), adds its leaf entries to
        `result` and returns its subtree statistics (num_keys, num_tree_bytes, indirect bytes)."""
        data = self.files.read(location.path, location.offset, location.length, "B+tree node")
        node_height, entries = decode_btree_node(data, location)
        where = f"{location.path.decode(errors='replace')} offset {location.offset} (B+tree node)"
        if node_height != height:
            raise OcdbtError(f"{where}: height {node_height}, the parent reference expects "
                             f"{height}")
        first = prefix + entries[0].key
        if lower_bound is not None and first < lower_bound:
            raise OcdbtError(f"{where}: first key {first!r} is below the parent entry's key "
                             f"{lower_bound!r}")
        last_key = next(reversed(result), None) if result else None
        if last_key is not None and first <= last_key:
            raise OcdbtError(f"{where}: invalid key order: {first!r} does not follow {last_key!r}")
        num_keys, tree_bytes, indirect = 0, len(data), 0
        if node_height == 0:
            for e in entries:
                key = prefix + e.key
                result[key] = ValueRef(e.value_length, e.inline_value, e.location)
                if e.location is not None:
                    indirect += e.value_length
            num_keys = len(entries)
        else:
            for i, e in enumerate(entries):
                child_prefix = prefix + e.key[:e.subtree_common_prefix_length]
                stats = self._walk(e.location, node_height - 1, child_prefix, prefix + e.key,
                                   result)
                if i + 1 < len(entries):
                    upper = prefix + entries[i + 1].key
                    if next(reversed(result)) >= upper:
                        raise OcdbtError(f"{where}: entry {i}'s subtree holds keys not below the "
                                         f"next entry's key {upper!r}")
                if self.verify_statistics:
                    self._check_stats(stats, (e.num_keys, e.num_tree_bytes,
                                              e.num_indirect_value_bytes), f"{where}: entry {i}")
                num_keys += stats[0]
                tree_bytes += stats[1]
                indirect += stats[2]
        return num_keys, tree_bytes, indirect

    @staticmethod
    def _check_stats(actual, stored, where):
        names = ("num_keys", "num_tree_bytes", "num_indirect_value_bytes")
        for name, a, s in zip(names, actual, stored):
            if a != s:
                raise OcdbtError(f"{where}: {name} says {s}, the subtree has {a}")

    def value(self, ref):
        if ref.inline is not None:
            return ref.inline
        loc = ref.location
        return self.files.read(loc.path, loc.offset, loc.length, "indirect value")


def open_database(directory, verify_statistics=True):
    return Database(directory, verify_statistics)


def read_database(directory, generation=None, verify_statistics=True):
    """{key: value} of the latest generation (or the one numbered `generation`)."""
    db = Database(directory, verify_statistics)
    return {k: db.value(r) for k, r in db.entries(generation).items()}


def list_with_sizes(directory, generation=None):
    """[(key, value size)] in key order, without reading indirect values."""
    db = Database(directory)
    return [(k, r.size) for k, r in db.entries(generation).items()]


# --------------------------------------------------------------------------------------------------
# Writer (§2.9 configuration, §2.10 minimal single-generation database, §8 checklist)

def orbax_config(max_inline_value_bytes=1024, max_decoded_node_bytes=100000000, compress=True):
    """Config as Orbax writes it (§2.9): random uuid, single, arity log2 4, zstd level 0."""
    return Config(secrets.token_bytes(16), 0, max_inline_value_bytes, max_decoded_node_bytes, 4,
                  1 if compress else 0, 0)


class DataFileWriter:
    """Appends objects to data files d/<32 hex> (§2.7), starting a new file when the next object
    would pass `target_size` (0 = unlimited; an object larger than the target gets its own file)."""

    def __init__(self, directory, target_size):
        self.directory = directory
        self.target_size = target_size
        self.current = None     # (relative path, bytearray)
        self.written = []

    def append(self, data):
        """Returns (relative path bytes, offset)."""
        if self.current is not None and self.target_size and \
                len(self.current[1]) + len(data) > self.target_size and len(self.current[1]):
            self.flush()
        if self.current is None:
            self.current = (b"d/" + secrets.token_hex(16).encode(), bytearray())
        path, buf = self.current
        offset = len(buf)
        buf += data
        return path, offset

    def flush(self):
        if self.current is None:
            return
        path, buf = self.current
        file = os.path.join(self.directory, path.decode())
        os.makedirs(os.path.dirname(file), exist_ok=True)
        with open(file, "wb") as f:       # no fsync: durability is no concern of an oracle
            f.write(buf)
        self.written.append(path)
        self.current = None


class Child:
    """A written subtree: where its root node lives and what it holds (§2.6 statistics)."""

    def __init__(self, first_key, last_key, path, offset, length, num_keys, num_tree_bytes,
                 num_indirect_value_bytes, prefix_length):
        self.first_key = first_key
        self.last_key = last_key
        self.path = path
        self.offset = offset
        self.length = length
        self.num_keys = num_keys
        self.num_tree_bytes = num_tree_bytes
        self.num_indirect_value_bytes = num_indirect_value_bytes
        self.prefix_length = prefix_length   # length of the node's implied key prefix


def _encode_keys(keys, common=None):
    """§2.6 key columns of relative keys (already stripped of the node's prefix)."""
    out = bytearray()
    prefixes = [_common_prefix_length(keys[i - 1], keys[i]) for i in range(1, len(keys))]
    for p in prefixes:
        out += encode_varint(p)
    full = [0] + prefixes
    for k, p in zip(keys, full):
        out += encode_varint(len(k) - p)
    if common is not None:
        for c in common:
            out += encode_varint(c)
    for k, p in zip(keys, full):
        out += k[p:]
    return out


def file_id(path):
    """A data-file id (base_path, relative_path); a bytes path means an empty base path."""
    return path if isinstance(path, tuple) else (b"", path)


def _table_for(paths):
    """Sorted unique data-file table (§2.4 writer rule) of the given ids, and a lookup of each
    id's index; ids are (base, relative) pairs or bytes paths (empty base)."""
    entries = sorted(set(file_id(p) for p in paths))
    index = {e: i for i, e in enumerate(entries)}
    return entries, lambda p: index[file_id(p)]


def encode_leaf_node(keys, values):
    """Leaf body (§2.6). keys: relative keys; values: bytes (inline) or (file id, offset, length)
    for an indirect value (file id: bytes path, or (base_path, relative_path))."""
    entries, index = _table_for(v[0] for v in values if isinstance(v, tuple))
    out = bytearray([0]) + encode_data_file_table(entries) + encode_varint(len(keys))
    out += _encode_keys(keys)
    for v in values:
        out += encode_varint(v[2] if isinstance(v, tuple) else len(v))
    out += bytes(1 if isinstance(v, tuple) else 0 for v in values)
    indirect = [v for v in values if isinstance(v, tuple)]
    for v in indirect:
        out += encode_varint(index(v[0]))
    for v in indirect:
        out += encode_varint(v[1])
    for v in values:
        if not isinstance(v, tuple):
            out += v
    return bytes(out)


def encode_interior_node(height, keys, common, children):
    """Interior body (§2.6). keys: relative keys; children: Child list."""
    entries, index = _table_for(c.path for c in children)
    out = bytearray([height]) + encode_data_file_table(entries) + encode_varint(len(keys))
    out += _encode_keys(keys, common)
    for column in (lambda c: index(c.path), lambda c: c.offset, lambda c: c.length,
                   lambda c: c.num_keys, lambda c: c.num_tree_bytes,
                   lambda c: c.num_indirect_value_bytes):
        for c in children:
            out += encode_varint(column(c))
    return bytes(out)


def encode_manifest_body(config, versions, version_nodes=()):
    """Full manifest body (§2.3). versions: dicts with generation, root_height, root (path, offset,
    length) or None, num_keys, num_tree_bytes, num_indirect_value_bytes, commit_time;
    version_nodes: dicts with generation, location (path, offset, length), num_generations,
    commit_time, height. Every path has an empty base path; an empty root uses the empty path."""
    paths = [v["root"][0] if v["root"] else b"" for v in versions]
    paths += [n["location"][0] for n in version_nodes]
    entries, index = _table_for(paths)
    out = bytearray(config.encode()) + encode_data_file_table(entries)
    out += _encode_leaf_version_array(versions, index)
    out += _encode_interior_version_array(version_nodes, index, with_height=True)
    return bytes(out)


def _encode_leaf_version_array(versions, index):
    out = bytearray(encode_varint(len(versions)))
    for v in versions:
        out += encode_varint(v["generation"])
    out += bytes(v["root_height"] for v in versions)
    roots = [v["root"] or (b"", MISSING, MISSING) for v in versions]
    for r in roots:
        out += encode_varint(index(r[0]))
    for r in roots:
        out += encode_varint(r[1])
    for r in roots:
        out += encode_varint(r[2])
    for name in ("num_keys", "num_tree_bytes", "num_indirect_value_bytes"):
        for v in versions:
            out += encode_varint(v[name])
    for v in versions:
        out += struct.pack("<Q", v["commit_time"])
    return bytes(out)


def _encode_interior_version_array(nodes, index, with_height):
    out = bytearray(encode_varint(len(nodes)))
    for n in nodes:
        out += encode_varint(n["generation"])
    for i in range(3):
        for n in nodes:
            loc = n["location"]
            out += encode_varint(index(loc[0]) if i == 0 else loc[i])
    for n in nodes:
        out += encode_varint(n["num_generations"])
    for n in nodes:
        out += struct.pack("<Q", n["commit_time"])
    if with_height:
        out += bytes(n["height"] for n in nodes)
    return bytes(out)


def encode_version_node_body(arity_log2, height, entries):
    """Version-tree node body (§2.5): leaf entries are version dicts (height 0), interior entries
    version-node dicts (their "height" is ignored: it is height - 1)."""
    if height == 0:
        paths = [v["root"][0] if v["root"] else b"" for v in entries]
    else:
        paths = [n["location"][0] for n in entries]
    table, index = _table_for(paths)
    out = bytearray([arity_log2, height]) + encode_data_file_table(table)
    if height == 0:
        out += _encode_leaf_version_array(entries, index)
    else:
        out += _encode_interior_version_array(entries, index, with_height=False)
    return bytes(out)


def _leaf_entry_size(key, value):
    """Upper bound of one entry's share of a leaf body with full keys (no prefix stripping), as if
    each indirect value named its own data-file table entry."""
    size = len(encode_varint(len(key))) * 2 + len(key) + 1
    if isinstance(value, tuple):
        base, rel = file_id(value[0])
        table = len(base) + len(rel) + 3 * 3
        return size + len(encode_varint(value[2])) + 10 + len(encode_varint(value[1])) + table
    return size + len(encode_varint(len(value))) + len(value)


def _interior_entry_size(first_key):
    """Upper bound of one interior entry's share of a body with full keys, as if each child named
    its own data-file table entry (d/ + 32 hex digits)."""
    return len(encode_varint(len(first_key))) * 3 + len(first_key) + 6 * 10 + 34 + 3 * 3


def _split(items, sizes, max_bytes, max_entries, min_entries):
    """Greedy split into consecutive groups whose summed size stays within max_bytes (and
    max_entries), each group holding at least min_entries items (the last may hold fewer only when
    the whole input is smaller)."""
    groups, current, current_size = [], [], 0
    base = 64  # height, table and count columns: a generous allowance
    for item, size in zip(items, sizes):
        full = current and (current_size + size > max_bytes or len(current) >= max_entries)
        if full and len(current) >= min_entries:
            groups.append(current)
            current, current_size = [], base
        if not current:
            current_size = base
        current.append(item)
        current_size += size
    if current:
        # Keep every interior node at >= min_entries children: borrow from the previous group
        # when it can spare them, else merge into it.
        while len(current) < min_entries and groups and len(groups[-1]) > min_entries:
            current.insert(0, groups[-1].pop())
        if len(current) < min_entries and groups:
            groups[-1].extend(current)
        else:
            groups.append(current)
    return groups


def write_database(directory, items, max_inline_value_bytes=1024, max_decoded_node_bytes=100000000,
                   compress=True, target_data_file_size=2**31, leaf_max_entries=None,
                   interior_max_entries=None, manifest_kind="single", commit_time=None,
                   references=None):
    """Writes `items` ({key bytes: value bytes}) as a new single-generation database in
    `directory` (created; must not exist or be empty), the way TensorStore with Orbax's config does:
    values longer than max_inline_value_bytes appended to data files d/<32 hex>, B+tree leaves and
    interior nodes within max_decoded_node_bytes (a multi-level tree when they do not fit in one),
    keys in non-root nodes stripped of the subtree's common prefix, statistics, and the manifest
    written last (atomically renamed). manifest_kind="numbered" writes a config-only
    manifest.ocdbt and the full manifest as manifest.0000000000000001 (§2.3).
    `references` ({key: (file id, offset, length)}) adds keys whose values already lie in files
    below `directory` (file id: (base_path, relative_path)), stored by reference as a merged root
    does (§2.8). Returns the Config written."""
    os.makedirs(directory, exist_ok=True)
    if os.listdir(directory):
        raise ValueError(f"{directory}: not empty")
    config = orbax_config(max_inline_value_bytes, max_decoded_node_bytes, compress)
    if manifest_kind == "numbered":
        config.manifest_kind = 1
    writer = DataFileWriter(directory, target_data_file_size)
    references = references or {}
    if set(items) & set(references):
        raise ValueError("a key is both in items and in references")
    keys = sorted(set(items) | set(references))
    for k in keys:
        if not isinstance(k, bytes) or len(k) > MAX_PATH_OR_KEY:
            raise ValueError(f"invalid key {k!r}")

    # Values first (§2.7): longer than the inline limit -> appended to a data file.
    values = []
    for k in keys:
        if k in references:
            values.append(references[k])
            continue
        v = items[k]
        if len(v) > max_inline_value_bytes:
            path, offset = writer.append(v)
            values.append((path, offset, len(v)))
        else:
            values.append(bytes(v))

    leaf_limit = min(leaf_max_entries or MAX_NODE_ARITY, MAX_NODE_ARITY)
    interior_limit = min(interior_max_entries or MAX_NODE_ARITY, MAX_NODE_ARITY)

    def write_node(body):
        obj = encode_object(BTREE_NODE_MAGIC, body, compress)
        path, offset = writer.append(obj)
        return path, offset, len(obj)

    # Plan the tree bottom-up (§2.6): leaves of bounded decoded size, then interior levels of
    # bounded size (at least 2 children each, so every level shrinks) until one root remains.
    level = []
    if keys:
        sizes = [_leaf_entry_size(k, v) for k, v in zip(keys, values)]
        groups = _split(list(range(len(keys))), sizes, max_decoded_node_bytes, leaf_limit, 1)
        level = [_PlannedNode(0, [keys[i] for i in g], [values[i] for i in g]) for g in groups]
    height = 0
    while len(level) > 1:
        sizes = [_interior_entry_size(n.first_key) for n in level]
        groups = _split(level, sizes, max_decoded_node_bytes, interior_limit, 2)
        height += 1
        level = [_PlannedNode(height, None, None, children=g) for g in groups]
    if level:
        root = _emit(level[0], b"", write_node)   # the root stores full keys
        root_ref = (root.path, root.offset, root.length)
        stats = (root.num_keys, root.num_tree_bytes, root.num_indirect_value_bytes)
    else:
        root_ref, stats = None, (0, 0, 0)          # empty database: missing root (§2.3)
    writer.flush()

    version = {"generation": 1, "root_height": height, "root": root_ref,
               "num_keys": stats[0], "num_tree_bytes": stats[1],
               "num_indirect_value_bytes": stats[2],
               "commit_time": time.time_ns() if commit_time is None else commit_time}
    full_config = Config(**vars(config))
    full_config.manifest_kind = 0
    manifest = encode_object(MANIFEST_MAGIC, encode_manifest_body(full_config, [version]), compress)
    # The manifest is written last: it is the commit point.
    if manifest_kind == "numbered":
        _write_atomically(directory, "manifest.0000000000000001", manifest)
        _write_atomically(directory, "manifest.ocdbt",
                          encode_object(MANIFEST_MAGIC, config.encode(), compress))
    else:
        _write_atomically(directory, "manifest.ocdbt", manifest)
    return config


class _PlannedNode:
    """A node of the planned tree: a leaf (keys, values) or an interior node (children)."""

    def __init__(self, height, keys, values, children=None):
        self.height = height
        self.keys = keys
        self.values = values
        self.children = children
        self.first_key = keys[0] if keys else children[0].first_key
        self.last_key = keys[-1] if keys else children[-1].last_key


def _emit(node, prefix, write_node):
    """Encodes and writes `node`, storing its keys relative to `prefix` (its implied prefix);
    children are written first. Returns its Child (location and statistics)."""
    if node.height == 0:
        body = encode_leaf_node([k[len(prefix):] for k in node.keys], node.values)
        num_keys, tree_bytes = len(node.keys), 0
        indirect = sum(v[2] for v in node.values if isinstance(v, tuple))
    else:
        children = []
        for c in node.children:
            # §2.6 (TensorStore's encoder): a non-root node's implied prefix is the common prefix
            # of the first and last key of its subtree.
            child_prefix = c.first_key[:_common_prefix_length(c.first_key, c.last_key)]
            assert child_prefix.startswith(prefix)
            children.append(_emit(c, child_prefix, write_node))
        keys = [c.first_key[len(prefix):] for c in children]    # entry key = child's first key
        common = [c.prefix_length - len(prefix) for c in children]
        body = encode_interior_node(node.height, keys, common, children)
        num_keys = sum(c.num_keys for c in children)
        tree_bytes = sum(c.num_tree_bytes for c in children)
        indirect = sum(c.num_indirect_value_bytes for c in children)
    path, offset, length = write_node(body)
    return Child(node.first_key, node.last_key, path, offset, length, num_keys,
                 tree_bytes + length, indirect, len(prefix))


def write_merged_database(directory, per_process, max_inline_value_bytes=1024, compress=True,
                          child_max_inline_value_bytes=None):
    """Writes a merged root as Orbax does (§2.8): per_process[i] ({key: value}) becomes the
    ordinary database `ocdbt.process_<i>/`; the root database in `directory` then holds every key,
    inline values duplicated into its own leaf and indirect values kept where the child stored
    them, referenced with base_path "ocdbt.process_<i>/" + the child's transitive base path."""
    os.makedirs(directory, exist_ok=True)
    if os.listdir(directory):
        raise ValueError(f"{directory}: not empty")
    inline, references = {}, {}
    for i, items in enumerate(per_process):
        sub = f"ocdbt.process_{i}"
        child_inline = max_inline_value_bytes if child_max_inline_value_bytes is None \
            else child_max_inline_value_bytes
        write_database(os.path.join(directory, sub), items, max_inline_value_bytes=child_inline,
                       compress=compress)
        db = Database(os.path.join(directory, sub))
        for key, ref in db.entries().items():
            if key in inline or key in references:
                raise ValueError(f"key {key!r} written by two processes")
            if ref.location is None:
                inline[key] = ref.inline
            else:
                loc = ref.location
                references[key] = ((sub.encode() + b"/" + loc.transitive, loc.relative_path),
                                   loc.offset, loc.length)
    # The root's own data files must not collide with the children's folders: they live in d/.
    staging = directory + ".root-staging"
    write_database(staging, inline, max_inline_value_bytes=max_inline_value_bytes,
                   compress=compress, references=references)
    # The references are relative to the root, so the staged files only move (manifest last).
    names = sorted(os.listdir(staging), key=lambda n: n == "manifest.ocdbt")
    for name in names:
        os.rename(os.path.join(staging, name), os.path.join(directory, name))
    os.rmdir(staging)


def write_transitive_path_example(directory, compress=False):
    """Writes a small database whose objects are found only through base paths (§2.4): the manifest
    names the root interior node as ("sub/", "d/interior"), so that node's transitive path is "sub/";
    its table names the leaf as ("deeper/", "d/leaf") -> file sub/deeper/d/leaf, transitive path
    "sub/deeper/"; the leaf's values are ("", "d/values") -> sub/deeper/d/values. Decoy files with
    the same names at the wrong levels hold different bytes. Returns the expected {key: value}."""
    # The leaf stores keys relative to the prefix "k/" (subtree_common_prefix_length 2).
    values = b"first" + b"second-value"
    files = {"sub/deeper/d/values": values, "d/values": b"X" * len(values),
             "sub/d/values": b"Y" * len(values)}
    leaf = encode_object(BTREE_NODE_MAGIC, encode_leaf_node(
        [b"1", b"2", b"3"], [(b"d/values", 0, 5), (b"d/values", 5, 12), b"inline"]), compress)
    child = Child(b"k/1", b"k/3", (b"deeper/", b"d/leaf"), 0, len(leaf), 3, len(leaf), 17, 2)
    interior = encode_object(BTREE_NODE_MAGIC, encode_interior_node(1, [b"k/1"], [2], [child]),
                             compress)
    files["sub/deeper/d/leaf"] = leaf
    files["sub/d/interior"] = interior
    files["d/leaf"] = leaf[:-1] + bytes([leaf[-1] ^ 0xFF])     # decoy with a bad CRC
    for name, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(directory, name)), exist_ok=True)
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    config = orbax_config(compress=compress)
    version = {"generation": 1, "root_height": 1, "root": ((b"sub/", b"d/interior"), 0,
                                                           len(interior)),
               "num_keys": 3, "num_tree_bytes": len(leaf) + len(interior),
               "num_indirect_value_bytes": 17, "commit_time": time.time_ns()}
    _write_atomically(directory, "manifest.ocdbt",
                      encode_object(MANIFEST_MAGIC, encode_manifest_body(config, [version]),
                                    compress))
    return {b"k/1": b"first", b"k/2": b"second-value", b"k/3": b"inline"}


def _write_atomically(directory, name, data):
    temp = os.path.join(directory, f".{name}.tmp")
    with open(temp, "wb") as f:
        f.write(data)
    os.replace(temp, os.path.join(directory, name))


# --------------------------------------------------------------------------------------------------
# §6 zarr3 sharding_indexed values (index at the end)

def decode_shard(value, num_chunks=1, where="zarr3 shard"):
    """Splits a sharding_indexed value: inner chunks followed by the index (offset u64le, nbytes
    u64le per inner chunk, C order) and the CRC-32C u32le of the index. Returns a list with the
    inner chunk bytes, or None for a missing chunk (both fields 2^64-1)."""
    index_size = 16 * num_chunks
    if len(value) < index_size + 4:
        raise OcdbtError(f"{where}: {len(value)} bytes, too short for a {index_size}-byte index "
                         f"and its CRC")
    index = value[len(value) - index_size - 4:len(value) - 4]
    stored = struct.unpack("<I", value[-4:])[0]
    if stored != crc32c_of(index):
        raise OcdbtError(f"{where}: shard index CRC-32C mismatch (stored 0x{stored:08X}, "
                         f"computed 0x{crc32c_of(index):08X})")
    data_end = len(value) - index_size - 4
    chunks = []
    for i in range(num_chunks):
        offset, nbytes = struct.unpack("<QQ", index[16 * i:16 * i + 16])
        if offset == MISSING and nbytes == MISSING:
            chunks.append(None)
            continue
        if offset + nbytes > data_end:
            raise OcdbtError(f"{where}: inner chunk {i} [{offset}, {offset + nbytes}) lies "
                             f"beyond the {data_end} data bytes")
        chunks.append(bytes(value[offset:offset + nbytes]))
    return chunks
