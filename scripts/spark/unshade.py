#!/usr/bin/env python3
"""Extract the AWS SDK for Java v2 that sagemaker-feature-store-pyspark shades under `smfs.shaded.` and
relocate it back to `software.amazon.awssdk` so Iceberg's own S3FileIO (org.apache.iceberg.aws.s3) can use it.

Only constant-pool Utf8 entries of .class files (and the bytes of text resources) are rewritten; every
other byte of a class file is copied verbatim (constant-pool indexes do not change).
The SDK's own shaded dependencies (smfs/shaded/org/apache/hc = HttpClient 4/5, smfs/shaded/org/apache/commons
= codec/logging) are copied unchanged, as are the unshaded org/reactivestreams and software/amazon/eventstream.

usage: unshade.py SRC_JAR DST_JAR [service ...]   (default services: s3 sts kms)
"""

import struct
import sys
import zipfile

SHADED = b"smfs/shaded/software/amazon/awssdk"
PLAIN = b"software/amazon/awssdk"
SHADED_DOT = b"smfs.shaded.software.amazon.awssdk"
PLAIN_DOT = b"software.amazon.awssdk"


def fix(b: bytes) -> bytes:
    return b.replace(SHADED, PLAIN).replace(SHADED_DOT, PLAIN_DOT)


def rewrite_class(data: bytes) -> bytes:
    assert data[:4] == b"\xca\xfe\xba\xbe", "not a class file"
    count = struct.unpack(">H", data[8:10])[0]
    out = [data[:10]]
    i, idx = 10, 1
    while idx < count:
        tag = data[i]
        if tag == 1:  # CONSTANT_Utf8
            n = struct.unpack(">H", data[i + 1 : i + 3])[0]
            s = fix(data[i + 3 : i + 3 + n])
            out.append(bytes([1]) + struct.pack(">H", len(s)) + s)
            i += 3 + n
        else:
            size = {
                3: 5,
                4: 5,
                5: 9,
                6: 9,
                7: 3,
                8: 3,
                9: 5,
                10: 5,
                11: 5,
                12: 5,
                15: 4,
                16: 3,
                17: 5,
                18: 5,
                19: 3,
                20: 3,
            }[tag]
            out.append(data[i : i + size])
            i += size
            if tag in (5, 6):
                idx += 1
        idx += 1
    out.append(data[i:])
    return b"".join(out)


def put(zo, name, data):  # fixed timestamp so the output jar is byte-for-byte reproducible
    zi = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_DEFLATED
    zo.writestr(zi, data)


def main():
    src, dst = sys.argv[1], sys.argv[2]
    services = set(sys.argv[3:] or ["s3", "sts", "kms"])
    n_cls = n_res = 0
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        put(
            zo,
            "META-INF/MANIFEST.MF",
            "Manifest-Version: 1.0\nCreated-By: unshade.py "
            "(AWS SDK v2 2.55.9 from sagemaker-feature-store-pyspark 2.2.2)\n\n",
        )
        for e in sorted(zi.infolist(), key=lambda e: e.filename):
            name = e.filename
            if e.is_dir():
                continue
            if name.startswith("smfs/shaded/software/amazon/awssdk/"):
                parts = name.split("/")
                if parts[5] == "services" and parts[6] not in services:
                    continue
                data = zi.read(e)
                if name.endswith(".class"):
                    data = rewrite_class(data)
                    n_cls += 1
                else:
                    data = fix(data)
                    n_res += 1
                put(zo, name[len("smfs/shaded/") :], data)
            elif name.startswith(
                (
                    "smfs/shaded/org/apache/hc/",
                    "smfs/shaded/org/apache/commons/",
                    "org/reactivestreams/",
                    "software/amazon/eventstream/",
                )
            ):
                put(zo, name, zi.read(e))
    print(f"{dst}: {n_cls} classes rewritten, {n_res} resources, services={sorted(services)}")


if __name__ == "__main__":
    main()
