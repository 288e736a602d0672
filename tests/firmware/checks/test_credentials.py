"""The credentials check: literal secrets in scripts and configuration, masked in evidence."""

from __future__ import annotations

from iotwarden.firmware.checks import CheckReport
from iotwarden.firmware.model import Finding
from tests.firmware.checks.conftest import Scan
from tests.firmware.rootfs import RootFS


def creds(report: CheckReport) -> list[Finding]:
    return [f for f in report.findings if f.id.startswith("IW-FW-CREDS-")]


def test_script_patterns(fs: RootFS, scan: Scan) -> None:
    fs.script(
        "/etc/init.d/S99vendor",
        """
        telnetd -p 2323 -u admin:Adm1nVendor &
        /usr/bin/cloudclient --password=CloudSecret42 --server cloud.example
        wget -q http://fwuser:Upd8Secret@update.example/fw.bin -O /tmp/fw.bin
        export MQTT_PASSWORD="mqtt-s3cret"
        echo "root:R00tVendor" | chpasswd
        echo -e "Passw0rdX\\nPassw0rdX" | passwd root
        # PASSWORD=commented_out
        PASSWORD=$1
        API_KEY="${VENDOR_KEY}"
        """,
    )
    report = scan(fs)
    found = {(f.id, f.details["line"]): f for f in creds(report)}
    assert set(found) == {
        ("IW-FW-CREDS-HARDCODED-PASSWORD", 2),
        ("IW-FW-CREDS-HARDCODED-PASSWORD", 3),
        ("IW-FW-CREDS-URL", 4),
        ("IW-FW-CREDS-HARDCODED-PASSWORD", 5),
        ("IW-FW-CREDS-HARDCODED-PASSWORD", 6),
        ("IW-FW-CREDS-HARDCODED-PASSWORD", 7),
    }
    # Lines numbered from the shebang (line 1 of the file is '#!/bin/sh').
    telnet = found[("IW-FW-CREDS-HARDCODED-PASSWORD", 2)]
    assert telnet.details["user"] == "admin"
    for finding in creds(report):
        assert finding.path == "/etc/init.d/S99vendor"
        for secret in ("Adm1nVendor", "CloudSecret42", "Upd8Secret", "mqtt-s3cret", "R00tVendor",
                       "Passw0rdX"):  # fmt: skip
            assert secret not in finding.evidence
    assert "Ad" in telnet.evidence and "*" in telnet.evidence


def test_config_files(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/httpd.conf", "A:*\n/cgi-bin:admin:VendorWeb1\n/adm:root:$p$root\n")
    fs.file("/etc/lighttpd/lighttpd.user", "admin:LightPass9\n")
    fs.file("/etc/lighttpd/lighttpd.conf", 'auth.backend = "plain"\n')
    fs.file(
        "/etc/wpa_supplicant.conf",
        'network={\n  ssid="factory"\n  psk="FactoryWiFi2020"\n}\n',
    )
    fs.file("/etc/hostapd.conf", "interface=wlan0\nwpa_passphrase=SharedKey123\n")
    fs.file(
        "/etc/config/wireless",
        "config wifi-iface\n\toption encryption 'psk2'\n\toption key 'OpenWrtKey99'\n",
    )
    fs.file("/etc/app/agent.conf", "server = cloud.example\npassword = AgentSecret7\n")
    report = scan(fs)
    found = {(f.path, f.id) for f in creds(report)}
    assert found == {
        ("/etc/httpd.conf", "IW-FW-CREDS-HTTP-BASIC-AUTH"),
        ("/etc/lighttpd/lighttpd.user", "IW-FW-CREDS-HTTP-BASIC-AUTH"),
        ("/etc/wpa_supplicant.conf", "IW-FW-CREDS-WIFI-PSK"),
        ("/etc/hostapd.conf", "IW-FW-CREDS-WIFI-PSK"),
        ("/etc/config/wireless", "IW-FW-CREDS-HARDCODED-PASSWORD"),
        ("/etc/app/agent.conf", "IW-FW-CREDS-HARDCODED-PASSWORD"),
    }
    (httpd,) = [f for f in creds(report) if f.path == "/etc/httpd.conf"]
    assert httpd.details["user"] == "admin" and httpd.details["line"] == 2


def test_no_findings_for_ordinary_scripts(fs: RootFS, scan: Scan) -> None:
    fs.script(
        "/etc/init.d/S10passwd",
        """
        # Ask the user for a password at first boot
        [ -f /etc/first_boot ] && passwd root
        PASSWORD_FILE=/etc/shadow
        password=$(cat /proc/sys/kernel/random/uuid)
        wget https://update.example/fw.bin
        """,
    )
    fs.file("/www/login.js", 'var password = "should-not-be-scanned";\n')
    fs.file("/usr/share/doc/app/README", "PASSWORD=example_in_docs\n")
    assert creds(scan(fs)) == []
