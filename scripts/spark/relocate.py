#!/usr/bin/env python3
"""Minimal class relocator (a tiny "shade"): copies classes from input jars into one
output jar, rewriting package prefixes in every CONSTANT_Utf8 of each class file
(class names, descriptors, signatures and string literals) and in resource paths and
META-INF/services files. module-info.class files are dropped.

Usage: relocate.py OUT.jar --map FROM=TO [--map FROM=TO ...] IN.jar [IN.jar ...]
  FROM/TO in slash form, e.g. com/fasterxml/jackson=org/apache/iceberg/shaded/com/fasterxml/jackson
Only entries whose path starts with one of the FROM prefixes (optionally under
META-INF/versions/N/) or META-INF/services/ files naming them are copied."""

import re
import struct
import sys
import zipfile


def rewrite_bytes(b, maps):
    for f, t in maps:
        # slash form (internal names / descriptors) and dot form (reflection strings)
        b = b.replace(f.encode(), t.encode())
        b = b.replace(f.replace("/", ".").encode(), t.replace("/", ".").encode())
    return b


def rewrite_class(data, maps):
    assert data[:4] == b"\xca\xfe\xba\xbe"
    n = struct.unpack(">H", data[8:10])[0]
    out = bytearray(data[:10])
    i, idx = 10, 1
    while idx < n:
        tag = data[i]
        if tag == 1:
            ln = struct.unpack(">H", data[i + 1 : i + 3])[0]
            s = rewrite_bytes(bytes(data[i + 3 : i + 3 + ln]), maps)
            if len(s) > 0xFFFF:
                raise ValueError("utf8 constant too long after relocation")
            out += b"\x01" + struct.pack(">H", len(s)) + s
            i += 3 + ln
        else:
            size = {
                3: 5,
                4: 5,
                5: 9,
                6: 9,
                7: 3,
                8: 3,
                16: 3,
                19: 3,
                20: 3,
                9: 5,
                10: 5,
                11: 5,
                12: 5,
                17: 5,
                18: 5,
                15: 4,
            }[tag]
            out += data[i : i + size]
            if tag in (5, 6):
                idx += 1
            i += size
        idx += 1
    out += data[i:]
    return bytes(out)


def main():
    a = sys.argv[1:]
    out, maps, ins = a[0], [], []
    k = 1
    while k < len(a):
        if a[k] == "--map":
            f, t = a[k + 1].split("=")
            maps.append((f.rstrip("/") + "/", t.rstrip("/") + "/"))
            k += 2
        else:
            ins.append(a[k])
            k += 1
    seen = set()
    nclass = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zo:
        for j in ins:
            with zipfile.ZipFile(j) as zi:
                for nm in zi.namelist():
                    if nm.endswith("/") or nm.endswith("module-info.class"):
                        continue
                    m = re.match(r"^(META-INF/versions/\d+/)?(.*)$", nm)
                    ver, path = m.group(1) or "", m.group(2)
                    svc = nm.startswith("META-INF/services/")
                    hit = any(path.startswith(f) for f, _ in maps)
                    if svc:
                        svcname = nm[len("META-INF/services/") :]
                        hit = any(svcname.startswith(f.replace("/", ".")) for f, _ in maps)
                    if not hit:
                        continue
                    data = zi.read(nm)
                    if svc:
                        newnm = "META-INF/services/" + rewrite_bytes(svcname.encode(), maps).decode()
                        data = rewrite_bytes(data, maps)
                    else:
                        newnm = ver + rewrite_bytes(path.encode(), maps).decode()
                        if nm.endswith(".class"):
                            data = rewrite_class(data, maps)
                            nclass += 1
                    if newnm in seen:
                        continue
                    seen.add(newnm)
                    zo.writestr(newnm, data)
        if any(n.startswith("META-INF/versions/") for n in seen):
            zo.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nMulti-Release: true\r\n\r\n")
    print(f"{out}: {nclass} classes, {len(seen)} entries")


if __name__ == "__main__":
    main()
