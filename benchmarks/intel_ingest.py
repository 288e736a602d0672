"""Benchmark: ingest N generated OSV-like advisories (default 200,000) from a zip bundle.

Prints advisories/s and peak RSS of the ingesting process, and the ratio against a baseline
measured in the same run: the floor cost of just reading and JSON-parsing every record of the
bundle. Targets (issue 2): >= 5,000 advisories/s on SQLite, peak RSS < 1 GiB.

    ./dev bench intel_ingest [--count 200000] [--db URL]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import orjson

ECOSYSTEMS = [
    ("PyPI", "pypi", "ECOSYSTEM"),
    ("npm", "npm", "SEMVER"),
    ("Debian:12", "deb", "ECOSYSTEM"),
    ("Maven", "maven", "ECOSYSTEM"),
    ("Go", "golang", "SEMVER"),
    ("crates.io", "cargo", "SEMVER"),
    ("Alpine:v3.18", "apk", "ECOSYSTEM"),
]
VECTORS = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:L/A:N",
    "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
]


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 40)}"


def _events(rng: random.Random) -> list[dict[str, str]]:
    shape = rng.random()
    a, b = sorted([_version(rng), _version(rng)], key=lambda v: tuple(map(int, v.split("."))))
    if shape < 0.55:
        return [{"introduced": "0"}, {"fixed": b}]
    if shape < 0.80:
        return [{"introduced": a}, {"fixed": b}]
    if shape < 0.90:
        return [{"introduced": a}, {"last_affected": b}]
    if shape < 0.95:
        c, d = f"{int(b.split('.')[0]) + 1}.0.0", f"{int(b.split('.')[0]) + 1}.2.0"
        return [{"introduced": a}, {"fixed": b}, {"introduced": c}, {"fixed": d}]
    return [{"introduced": a}]


def make_record(i: int, rng: random.Random) -> dict[str, object]:
    ecosystem, purl_type, range_type = rng.choice(ECOSYSTEMS)
    name = f"pkg{rng.randint(0, 20000)}"
    affected: list[dict[str, object]] = []
    for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 4)):
        entry: dict[str, object] = {
            "package": {"ecosystem": ecosystem, "name": name, "purl": f"pkg:{purl_type}/{name}"},
            "ranges": [{"type": range_type, "events": _events(rng)}],
        }
        if rng.random() < 0.1:
            entry["versions"] = [_version(rng) for _ in range(rng.randint(1, 8))]
        if rng.random() < 0.05:
            entry["ranges"].append(  # type: ignore[attr-defined]
                {
                    "type": "GIT",
                    "repo": f"https://git.example.org/{name}",
                    "events": [{"introduced": "0"}, {"fixed": f"{rng.getrandbits(160):040x}"}],
                }
            )
        affected.append(entry)
    year = rng.randint(2014, 2026)
    return {
        "schema_version": "1.6.0",
        "id": f"BENCH-{year}-{i:07d}",
        "modified": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T00:00:00Z",
        "published": f"{year}-01-01T00:00:00Z",
        "aliases": [f"CVE-{year}-{100000 + i}"],
        "summary": f"Generated advisory {i} for {name}",
        "details": "Generated for the ingestion benchmark. " * rng.randint(1, 6),
        "severity": [{"type": "CVSS_V3", "score": rng.choice(VECTORS)}],
        "affected": affected,
        "references": [
            {"type": "ADVISORY", "url": f"https://advisories.example.org/{i}"},
            {"type": "FIX", "url": f"https://git.example.org/{name}/commit/{i:x}"},
        ],
        "database_specific": {"cwe_ids": [f"CWE-{rng.choice([79, 89, 787, 125, 20, 22])}"]},
    }


def generate(path: Path, count: int, seed: int = 2014) -> None:
    rng = random.Random(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for i in range(count):
            record = make_record(i, rng)
            bundle.writestr(f"{record['id']}.json", orjson.dumps(record))


def baseline_read_parse(path: Path) -> float:
    """The floor: open the bundle, read and JSON-parse every member, store nothing."""
    start = time.perf_counter()
    with zipfile.ZipFile(path) as bundle:
        for info in bundle.infolist():
            orjson.loads(bundle.read(info))
    return time.perf_counter() - start


def child(bundle: str, db: str) -> None:
    from iotwarden.intel.ingest import ingest
    from iotwarden.store.db import Store

    store = Store.open(db)
    start = time.perf_counter()
    report = ingest(store, [bundle])
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # this process only
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mib": peak_kib / 1024,
                "added": report.advisories.get("added", 0),  # type: ignore[call-overload]
                "problems": len(report.problems),
            }
        )
    )


def _tree_rss_mib(root: int) -> float:
    """Resident memory of a process and all its descendants (the parsing workers), in MiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    total = 0
    for pid, kib in rss.items():
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += kib
    return total / 1024


def run_measured(command: list[str], what: str) -> dict[str, Any]:
    """Run a benchmark child process, sampling its whole process tree's memory while it
    runs; its last line of output is a JSON object of figures (peak RSS added here)."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mib(proc.pid))
        time.sleep(0.25)
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed with status {proc.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_rss_mib"] = peak
    return result


def run_child(bundle: Path, db: str) -> dict[str, Any]:
    """Ingest in a fresh process."""
    return run_measured([sys.executable, __file__, "--child", str(bundle), "--db", db], "ingest")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help="keep generated files here")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db)
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="iotwarden-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bundle = workdir / f"osv-{args.count}.zip"
    if not bundle.exists():
        start = time.perf_counter()
        generate(bundle, args.count)
        print(f"generated {args.count:,} records in {time.perf_counter() - start:.1f} s")
    db = args.db or f"sqlite:///{workdir / 'bench.db'}"
    if not args.db:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{workdir / 'bench.db'}{suffix}").unlink(missing_ok=True)
    floor = baseline_read_parse(bundle)
    first = run_child(bundle, db)
    again = run_child(bundle, db)
    rate = args.count / first["seconds"]
    print(f"store: {db}")
    print(f"baseline (read + parse JSON only): {floor:.1f} s = {args.count / floor:,.0f} records/s")
    print(
        f"ingest (first): {first['seconds']:.1f} s = {rate:,.0f} advisories/s, "
        f"peak RSS {first['peak_rss_mib']:.0f} MiB (with workers "
        f"{first['tree_peak_rss_mib']:.0f} MiB), added {first['added']:,}, "
        f"problems {first['problems']}"
    )
    print(
        f"ingest (again, all unchanged): {again['seconds']:.1f} s = "
        f"{args.count / again['seconds']:,.0f} advisories/s, "
        f"peak RSS {again['peak_rss_mib']:.0f} MiB (with workers "
        f"{again['tree_peak_rss_mib']:.0f} MiB)"
    )
    print(f"ratio ingest/baseline: {first['seconds'] / floor:.2f}x")
    verdict = "meets" if rate >= 5000 and first["tree_peak_rss_mib"] < 1024 else "MISSES"
    print(f"target >= 5,000 advisories/s and < 1 GiB RSS: {verdict}")


if __name__ == "__main__":
    main()
