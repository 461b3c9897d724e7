#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The flame-graph SVG parses as XML, and its frame widths add up to the folded weights.
# Usage: flame_svg_check.py TUNLAT RECORDING
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict

NS = "{http://www.w3.org/2000/svg}"


def main():
    tunlat, recording = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        folded, svg = f"{tmp}/f.folded", f"{tmp}/f.svg"
        subprocess.run([tunlat, "report", recording, "--folded", folded, "--svg", svg,
                        "--flame-by", "span,process,cpu"], check=True, stdout=subprocess.DEVNULL)
        weights = {}
        for line in open(folded):
            path, w = line.rstrip("\n").rsplit(" ", 1)
            weights[path] = int(w)
        root = ET.parse(svg).getroot()  # raises if it is not well-formed XML

    assert root.tag == NS + "svg", root.tag
    W, M, total = (float(root.get(a)) for a in ("data-width", "data-margin", "data-total"))
    assert total == sum(weights.values()), (total, sum(weights.values()))
    scale = (W - 2 * M) / total
    frames = {}
    for g in root.iter(NS + "g"):
        if g.get("class") != "f":
            continue
        rect = g.find(NS + "rect")
        frames[g.get("data-path")] = (int(g.get("data-us")), float(rect.get("width")), float(rect.get("x")))
        assert g.find(NS + "title").text, "every frame has a hover title"

    # Leaves: the folded lines, each as wide as its weight.
    for path, w in weights.items():
        assert path in frames, f"no frame for folded line {path!r}"
        us, width, _ = frames[path]
        assert us == w, (path, us, w)
        assert abs(width - w * scale) < 0.01, (path, width, w * scale)
    # Every frame is as wide as its children together, and they sit side by side in it.
    children = defaultdict(list)
    for path in frames:
        if path:
            parent = path.rsplit(";", 1)[0] if ";" in path else ""
            children[parent].append(path)
    for parent, kids in children.items():
        us, width, x = frames[parent]
        assert us == sum(frames[k][0] for k in kids), parent
        assert abs(width - sum(frames[k][1] for k in kids)) < 0.05, parent
        kids.sort(key=lambda k: frames[k][2])
        assert abs(frames[kids[0]][2] - x) < 0.01, parent
    assert abs(frames[""][1] - (W - 2 * M)) < 0.01
    print(f"PASS: {len(frames)} frames, {len(weights)} folded lines, widths add up")


if __name__ == "__main__":
    main()
