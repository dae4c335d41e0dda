#!/usr/bin/env python3
"""Cut country borders and coastlines out of Natural Earth for the area a
scenario's places cover, into the small JSON file the web map embeds
(web/geo/). Natural Earth is public domain; the world-atlas npm package
ships it as TopoJSON:

    npm pack world-atlas@2 && tar xzf world-atlas-2.0.2.tgz
    scripts/borders.py --topo package/countries-10m.json \\
        --source "Natural Earth 1:10m Admin 0 countries, ..." \\
        --scenario scenario/FILE.json --out web/geo/FILE.json

Each TopoJSON stretch of border (shared by two countries, or a coast)
that comes within the area is kept once, as a line, with the names of
the countries on its sides. Standard library only.
"""
import argparse
import json
import math
import sys

NOTE = ("Country borders and coastlines from Natural Earth (public domain, naturalearthdata.com), "
        "cut to the area of the scenario's places by scripts/borders.py; drawn as Natural Earth has "
        "them, which is not a view on any border.")


def area(scenario_path, margin):
    with open(scenario_path, encoding="utf-8") as f:
        sc = json.load(f)
    lons, lats = [], []
    for r in sc.get("records", []):
        if r.get("type") == "place.register":
            lons.append(r["payload"]["lon"])
            lats.append(r["payload"]["lat"])
    if not lons:
        sys.exit("borders: %s: no places" % scenario_path)
    w, e, s, n = min(lons), max(lons), min(lats), max(lats)
    dx, dy = max((e - w) * margin, 0.2), max((n - s) * margin, 0.2)
    return [w - dx, s - dy, e + dx, n + dy]


def decode(topo):
    """Every stretch (delta-encoded, quantized) as [lon, lat] points."""
    tr = topo.get("transform")
    out = []
    for stretch in topo["arcs"]:
        x = y = 0.0
        pts = []
        for p in stretch:
            if tr:
                x, y = x + p[0], y + p[1]
                pts.append([x * tr["scale"][0] + tr["translate"][0], y * tr["scale"][1] + tr["translate"][1]])
            else:
                pts.append([p[0], p[1]])
        out.append(pts)
    return out


def indexes(v):
    if isinstance(v, int):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from indexes(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topo", required=True, help="Natural Earth countries as TopoJSON (world-atlas countries-10m.json)")
    ap.add_argument("--source", required=True, help="where the TopoJSON comes from, for the file's provenance")
    ap.add_argument("--scenario", required=True, help="the scenario whose places give the area")
    ap.add_argument("--out", required=True, help="the file to write")
    ap.add_argument("--margin", type=float, default=0.35, help="added around the places' extent, as a share of it")
    a = ap.parse_args()
    box = area(a.scenario, a.margin)
    with open(a.topo, encoding="utf-8") as f:
        topo = json.load(f)
    lines = decode(topo)
    sides = {}
    for obj in topo["objects"].values():
        for g in obj.get("geometries", []):
            name = (g.get("properties") or {}).get("name", "")
            for i in indexes(g.get("arcs", [])):
                i = ~i if i < 0 else i
                if name and i < len(lines):
                    sides.setdefault(i, [])
                    if name not in sides[i]:
                        sides[i].append(name)
    tol = max(box[2] - box[0], box[3] - box[1]) / 600

    def inside(p):
        return box[0] <= p[0] <= box[2] and box[1] <= p[1] <= box[3]

    kept = []
    for i, pts in enumerate(lines):
        # Runs of points within the area, each with one point beyond it on
        # either side so that lines reach the edge (the map clips them);
        # points closer than a 600th of the area to the last kept add
        # nothing the map can show.
        run = []
        for j, p in enumerate(pts):
            near = inside(p) or (j + 1 < len(pts) and inside(pts[j + 1])) or (j > 0 and inside(pts[j - 1]))
            if near:
                q = [round(p[0], 4), round(p[1], 4)]
                if run and j + 1 < len(pts) and math.hypot(q[0] - run[-1][0], q[1] - run[-1][1]) < tol:
                    continue
                run.append(q)
            else:
                if len(run) > 1:
                    kept.append({"between": sides.get(i, []), "points": run})
                run = []
        if len(run) > 1:
            kept.append({"between": sides.get(i, []), "points": run})
    res = {"source": a.source, "note": NOTE, "bbox": box, "lines": kept}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("borders: %d lines within %.2f,%.2f,%.2f,%.2f" % (len(kept), *box))


if __name__ == "__main__":
    main()
