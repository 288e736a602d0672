"""A generated sample world for the demo: vendors, products, firmware builds with embedded
components (around the OpenSSL releases of Heartbleed), and a few thousand devices across
sectors and owners. Deterministic for a given seed; written as a JSON inventory file."""

from __future__ import annotations

import random
from typing import Any

# (vendor, product, device class, sector, criticality, firmware versions with their OpenSSL)
PRODUCTS: tuple[tuple[str, str, str, str, str, tuple[tuple[str, str | None], ...]], ...] = (
    (
        "Example Controls",
        "ExGate 100",
        "gateway",
        "energy",
        "high",
        (("4.2.0", "1.0.1e"), ("4.3.0", "1.0.1g")),
    ),
    (
        "Example Controls",
        "ExGate 200",
        "gateway",
        "energy",
        "critical",
        (("2.007", "1.0.1c"), ("2.008", "1.0.1f"), ("2.009", "1.0.1g")),
    ),
    (
        "Gridline",
        "RTU 7",
        "remote terminal unit",
        "energy",
        "critical",
        (("7.1.4", "0.9.8y"), ("7.2.0", "1.0.1f")),
    ),
    (
        "Medico",
        "InfuPump 3",
        "infusion pump",
        "health",
        "critical",
        (("7.1", None), ("7.2", "1.0.2a")),
    ),
    (
        "Medico",
        "VitalView",
        "patient monitor",
        "health",
        "critical",
        (("5.0.2", "1.0.1e"), ("5.1.0", "1.0.1h")),
    ),
    (
        "AquaSense",
        "PumpCtl 2",
        "pump controller",
        "water",
        "high",
        (("2.4", "1.0.1d"), ("2.5", "1.0.1g")),
    ),
    (
        "Acme",
        "Router 5",
        "router",
        "consumer",
        "low",
        (("1.0", "1.0.1e"), ("1.1", "1.0.1g"), ("2.0", "1.0.2")),
    ),
    ("Acme", "Cam 2", "ip camera", "consumer", "low", (("3.0", "1.0.1b"), ("3.1", "1.0.2"))),
    (
        "FabWorks",
        "PLC 400",
        "plc",
        "manufacturing",
        "high",
        (("4.0.9", "1.0.0k"), ("4.1.0", "1.0.1e")),
    ),
    (
        "RailNet",
        "TrackSwitch",
        "signal controller",
        "transport",
        "critical",
        (("11.2", "1.0.1f"), ("11.3", "1.0.1g")),
    ),
)
OWNERS = {
    "energy": ("North Grid", "Southern Power", "Valley Utilities", "Coastal Energy"),
    "health": ("St Mary Hospital", "City Clinic Group", "Riverside Care"),
    "water": ("Metro Water", "Hill County Water"),
    "consumer": ("Consumer ISP", "HomeNet Broadband", "FiberCity"),
    "manufacturing": ("Precision Parts", "AutoBody Works"),
    "transport": ("National Rail",),
}
OTHER_COMPONENTS = (
    ("busybox", ("1.19.4", "1.21.1", "1.22.1")),
    ("dropbear", ("2012.55", "2013.58", "2014.63")),
    ("dnsmasq", ("2.62", "2.66", "2.71")),
    ("zlib", ("1.2.7", "1.2.8")),
    ("lighttpd", ("1.4.31", "1.4.35")),
)


def generate_world(devices: int = 3000, seed: int = 2014) -> dict[str, Any]:
    """An inventory of ``devices`` devices (JSON import format)."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    products: list[dict[str, Any]] = []
    builds: list[dict[str, Any]] = []
    device_rows: list[dict[str, Any]] = []
    for vendor, name, device_class, sector, criticality, firmware in PRODUCTS:
        products.append(
            {
                "vendor": vendor,
                "product": name,
                "model_numbers": [f"{name.split()[0][:3].upper()}-{i}" for i in (1, 2)],
                "device_class": device_class,
                "sector": sector,
                "criticality": criticality,
            }
        )
        for version, openssl in firmware:
            components: list[dict[str, Any]] = [{"name": "openssl", "version": openssl}]
            if openssl:
                components[0]["purl"] = f"pkg:generic/openssl@{openssl}"
            for component, choices in rng.sample(OTHER_COMPONENTS, 3):
                components.append({"name": component, "version": rng.choice(choices)})
            builds.append(
                {"vendor": vendor, "product": name, "version": version, "components": components}
            )
    by_product: dict[tuple[str, str], list[str]] = {(b["vendor"], b["product"]): [] for b in builds}
    for b in builds:
        by_product[(b["vendor"], b["product"])].append(b["version"])
    weights = [6 if p[3] == "consumer" else 2 for p in PRODUCTS]
    for i in range(devices):
        vendor, name, _, sector, criticality, _ = rng.choices(PRODUCTS, weights)[0]
        versions = by_product[(vendor, name)]
        # Older firmware lingers: the first version is the most common.
        chosen = rng.choices(versions, [3] + [1] * (len(versions) - 1))[0]
        owner = rng.choice(OWNERS[sector])
        contact = "security@" + owner.lower().replace(" ", "") + ".example"
        device_rows.append(
            {
                "device_id": f"{name.lower().replace(' ', '-')}-{i:05d}",
                "vendor": vendor,
                "product": name,
                "firmware_version": chosen,
                "owner": owner,
                "owner_contact": contact,
                "site": f"{owner} site {rng.randint(1, 25)}",
                "criticality": rng.choice([criticality, criticality, "medium"]),
                "internet_exposed": rng.random() < (0.3 if sector == "consumer" else 0.05),
                "address": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            }
        )
    return {"products": products, "firmware_builds": builds, "devices": device_rows}
