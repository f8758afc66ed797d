"""Counts line colours in rectangles of a PNG screenshot (8-bit RGB or RGBA, no PIL needed).

png_colours.py SHOT.png LAYOUT.json COLOURS MIN_COLOURS MIN_PIXELS
  LAYOUT.json: {"charts": [{"key", "x", "y", "w", "h"}, ...]} (the page's own report of where
  its charts are); COLOURS: comma-separated hex colours the lines may have. A saturated pixel
  (max - min channel >= 60: the pages are otherwise grey) inside a chart is given to the
  nearest colour when it is close to it. Exit 0 when every chart holds at least MIN_COLOURS
  colours with MIN_PIXELS pixels each; prints the counts either way."""
import json, struct, sys, zlib


def decode(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR": hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT": idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format %r" % (hdr,)
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main():
    shot, layout, colours, min_colours, min_pixels = sys.argv[1:6]
    min_colours, min_pixels = int(min_colours), int(min_pixels)
    pal = [tuple(int(c.strip("#")[i:i + 2], 16) for i in (0, 2, 4)) for c in colours.split(",")]
    w, h, bpp, rows = decode(shot)
    charts = json.load(open(layout))["charts"]
    bad = []
    if not charts: bad.append("the layout lists no charts")
    for ch in charts:
        count = [0] * len(pal)
        for y in range(max(0, ch["y"]), min(h, ch["y"] + ch["h"])):
            line = rows[y]
            for x in range(max(0, ch["x"]), min(w, ch["x"] + ch["w"])):
                r, g, b = line[x * bpp:x * bpp + 3]
                if max(r, g, b) - min(r, g, b) < 60: continue
                d = [sum((u - v) ** 2 for u, v in zip(p, (r, g, b))) for p in pal]
                k = d.index(min(d))
                if d[k] < 60 ** 2: count[k] += 1
        seen = sum(1 for c in count if c >= min_pixels)
        print("chart %-22s at %d,%d %dx%d: %s" % (ch["key"], ch["x"], ch["y"], ch["w"], ch["h"],
              ", ".join("%s %d" % (colours.split(",")[i], c) for i, c in enumerate(count) if c)))
        if seen < min_colours:
            bad.append("%s: %d colours with >= %d pixels, expected %d" % (ch["key"], seen, min_pixels, min_colours))
    if bad:
        print("\n".join(bad))
        sys.exit(1)


if __name__ == "__main__":
    main()
