"""The layers of src/ include only what CMakeLists.txt lets them link.

Each `te_ckpt_layer(NAME DEPENDS ...)` in the top-level CMakeLists.txt states which layers NAME may
use; a `#include "other/..."` in src/NAME/ must name NAME itself or a layer reachable through those
DEPENDS (the link is transitive). A header that includes the wrong way would compile (all layers
share the include root src/), so this test is what keeps the graph honest.
"""
import os
import re
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def declared_layers():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    layers = {}
    for m in re.finditer(r"te_ckpt_layer\((\w+)((?:\s+[^)]*)?)\)", text):
        deps = re.findall(r"te_ckpt_(\w+)", m.group(2))
        layers[m.group(1)] = set(deps)
    return layers


def reachable(layers, name):
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        todo.extend(layers.get(n, ()))
    return seen


class LayeringTest(unittest.TestCase):
    def test_every_source_folder_is_a_layer(self):
        layers = declared_layers()
        folders = {d for d in os.listdir(os.path.join(ROOT, "src")) if os.path.isdir(os.path.join(ROOT, "src", d))}
        self.assertEqual(folders - set(layers), set(), "folders of src/ without a te_ckpt_layer() in CMakeLists.txt")

    def test_includes_follow_the_declared_graph(self):
        layers = declared_layers()
        self.assertIn("util", layers)
        wrong = []
        for layer in layers:
            allowed = reachable(layers, layer)
            top = os.path.join(ROOT, "src", layer)
            for dirpath, _, files in os.walk(top):
                for f in files:
                    if not f.endswith((".h", ".cc")):
                        continue
                    path = os.path.join(dirpath, f)
                    for line_no, line in enumerate(open(path), 1):
                        m = re.match(r'\s*#include "(\w+)/', line)
                        if m and m.group(1) not in allowed:
                            wrong.append(f"{os.path.relpath(path, ROOT)}:{line_no} includes {m.group(1)}/ "
                                         f"but layer {layer} may use only {sorted(allowed)}")
        self.assertEqual(wrong, [])

    def test_the_graph_has_no_cycle(self):
        layers = declared_layers()
        for name, deps in layers.items():
            for d in deps:
                self.assertNotIn(name, reachable(layers, d) if d in layers else set(), f"cycle through {name} and {d}")

    def test_zarr_uses_no_filesystem(self):
        # zarr/ addresses chunks by key through a KvStore; files are the file driver's business.
        found = []
        for dirpath, _, files in os.walk(os.path.join(ROOT, "src", "zarr")):
            for f in files:
                path = os.path.join(dirpath, f)
                for line_no, line in enumerate(open(path), 1):
                    if "filesystem" in line or "util/file.h" in line:
                        found.append(f"{os.path.relpath(path, ROOT)}:{line_no}: {line.strip()}")
        self.assertEqual(found, [])

    def test_plan_and_exec_name_no_framework(self):
        # Every Pax or T5X fact lives in src/frameworks/ and src/rules/, behind the profiles that
        # plan/framework_profile.h and exec/container_profile.h declare (issue 13 §5): in plan/ and
        # exec/ not even a comment names one.
        found = []
        for layer in ("plan", "exec"):
            files = 0
            for dirpath, _, names in os.walk(os.path.join(ROOT, "src", layer)):
                for f in sorted(names):
                    if not f.endswith((".h", ".cc")):
                        continue
                    files += 1
                    path = os.path.join(dirpath, f)
                    for line_no, line in enumerate(open(path), 1):
                        if re.search(r"pax|t5x", line, re.IGNORECASE):
                            found.append(f"{os.path.relpath(path, ROOT)}:{line_no}: {line.strip()}")
            self.assertGreater(files, 10, layer)
        self.assertEqual(found, [])

    def test_the_checker_sees_a_wrong_include(self):
        # The checker itself can fail: zarr may not reach plan.
        layers = declared_layers()
        self.assertNotIn("plan", reachable(layers, "zarr"))
        self.assertNotIn("cli", reachable(layers, "exec"))

    def test_plan_and_exec_do_not_reach_the_framework_profiles(self):
        # Dependency inversion: plan/ and exec/ declare the profile interfaces, frameworks/
        # implements them, the command line passes one in.
        layers = declared_layers()
        self.assertIn("frameworks", layers)
        for layer in ("plan", "exec"):
            self.assertNotIn("frameworks", reachable(layers, layer))
        self.assertIn("frameworks", reachable(layers, "cli"))


if __name__ == "__main__":
    unittest.main()
