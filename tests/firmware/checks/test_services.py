"""The services check: what starts at boot through inittab, rc and init.d scripts, procd,
systemd, inetd and xinetd, and which of it is risky."""

from __future__ import annotations

from iotwarden.firmware.checks import CheckReport
from iotwarden.firmware.checks.services import command_lines
from tests.firmware.checks.conftest import Scan
from tests.firmware.rootfs import RootFS


def service_findings(report: CheckReport) -> set[tuple[str, str]]:
    return {(f.id, f.path) for f in report.findings if f.id.startswith("IW-FW-SERVICE-")}


def test_inittab_telnetd_and_serial_shells(fs: RootFS, scan: Scan) -> None:
    fs.file(
        "/etc/inittab",
        "::sysinit:/etc/init.d/rcS\n"
        "::respawn:/usr/sbin/telnetd -F -l /bin/sh\n"
        "ttyS0::respawn:/bin/sh\n"
        "ttyS1::askfirst:-/bin/ash\n"
        "ttyS2::respawn:/sbin/getty -n -l /bin/sh -L ttyS2 115200 vt100\n"
        "tty1::respawn:/sbin/getty 38400 tty1\n"
        "::shutdown:/bin/sh -c 'echo bye'\n",
    )
    report = scan(fs)
    assert service_findings(report) == {
        ("IW-FW-SERVICE-TELNET", "/etc/inittab"),
        ("IW-FW-SERVICE-TELNET-NO-LOGIN", "/etc/inittab"),
        ("IW-FW-SERVICE-CONSOLE-SHELL", "/etc/inittab"),
    }
    consoles = sorted(
        f.details["terminal"] for f in report.findings if f.id == "IW-FW-SERVICE-CONSOLE-SHELL"
    )
    assert consoles == ["ttyS0", "ttyS1", "ttyS2"]
    (no_login,) = [f for f in report.findings if f.id == "IW-FW-SERVICE-TELNET-NO-LOGIN"]
    assert no_login.severity.value == "critical" and no_login.details["shell"] == "/bin/sh"
    assert "line 2" in no_login.evidence


def test_rc_scripts_and_the_scripts_they_call(fs: RootFS, scan: Scan) -> None:
    fs.file("/etc/inittab", "::sysinit:/etc/init.d/rcS\n")
    fs.script("/etc/init.d/rcS", "mount -a\n/etc/init.d/vendor.sh start\nsh /etc/debug.sh &\n")
    fs.script("/etc/init.d/vendor.sh", "case $1 in start) /usr/sbin/tddp & ;; esac\n")
    fs.script(
        "/etc/debug.sh",
        """
        tcpsvd -vE 0.0.0.0 21 ftpd -w /
        start-stop-daemon -S -b -x /usr/sbin/miniupnpd -- -f /etc/miniupnpd.conf
        udpsvd -E 0 69 tftpd /srv
        nc -l -p 4444 -e /bin/sh &
        killall telnetd
        [ -x /usr/sbin/telnetd ] || exit 0
        echo "telnetd is disabled"
        """,
    )
    report = scan(fs)
    assert service_findings(report) == {
        ("IW-FW-SERVICE-DEBUG", "/etc/init.d/vendor.sh"),
        ("IW-FW-SERVICE-FTP", "/etc/debug.sh"),
        ("IW-FW-SERVICE-UPNP", "/etc/debug.sh"),
        ("IW-FW-SERVICE-TFTP", "/etc/debug.sh"),
        ("IW-FW-SERVICE-BIND-SHELL", "/etc/debug.sh"),
    }
    (debug,) = [f for f in report.findings if f.id == "IW-FW-SERVICE-DEBUG"]
    assert debug.details["program"] == "tddp" and "UDP port 1040" in debug.details["why"]


def test_openwrt_procd_only_enabled_scripts_count(fs: RootFS, scan: Scan) -> None:
    procd = """
        START=50
        USE_PROCD=1
        start_service() {{
            procd_open_instance
            procd_set_param command {command}
            procd_close_instance
        }}
        """
    fs.script("/etc/init.d/telnet", procd.format(command="/usr/sbin/telnetd -F -l /bin/login.sh"))
    fs.script("/etc/init.d/miniupnpd", procd.format(command="/usr/sbin/miniupnpd -f /var/m.conf"))
    fs.link("/etc/rc.d/S50telnet", "../init.d/telnet")  # enabled; miniupnpd is not
    report = scan(fs)
    assert service_findings(report) == {("IW-FW-SERVICE-TELNET", "/etc/init.d/telnet")}
    (telnet,) = [f for f in report.findings if f.id == "IW-FW-SERVICE-TELNET"]
    assert telnet.details["via"] == "procd"


def test_systemd_units_enabled_through_wants_links(fs: RootFS, scan: Scan) -> None:
    fs.file(
        "/lib/systemd/system/telnet.socket",
        "[Socket]\nListenStream=23\nAccept=yes\n[Install]\nWantedBy=sockets.target\n",
    )
    fs.file("/lib/systemd/system/telnet@.service", "[Service]\nExecStart=-/usr/sbin/in.telnetd\n")
    fs.file("/lib/systemd/system/vsftpd.service", "[Service]\nExecStart=/usr/sbin/vsftpd\n")
    # Absolute link target: resolved inside the image, never on the host.
    fs.link("/etc/systemd/system/sockets.target.wants/telnet.socket",
            "/lib/systemd/system/telnet.socket")  # fmt: skip
    report = scan(fs)
    assert service_findings(report) == {
        ("IW-FW-SERVICE-TELNET", "/lib/systemd/system/telnet@.service")
    }


def test_inetd_and_xinetd(fs: RootFS, scan: Scan) -> None:
    fs.file(
        "/etc/inetd.conf",
        "# inetd.conf\n"
        "telnet stream tcp nowait root /usr/sbin/tcpd in.telnetd\n"
        "echo stream tcp nowait root internal\n",
    )
    fs.file(
        "/etc/xinetd.d/tftp",
        "service tftp\n{\n\tsocket_type = dgram\n\tserver = /usr/sbin/in.tftpd\n"
        "\tserver_args = -s /srv\n\tdisable = no\n}\n",
    )
    fs.file(
        "/etc/xinetd.d/rsh",
        "service shell\n{\n\tserver = /usr/sbin/in.rshd\n\tdisable = yes\n}\n",
    )
    assert service_findings(scan(fs)) == {
        ("IW-FW-SERVICE-TELNET", "/etc/inetd.conf"),
        ("IW-FW-SERVICE-TFTP", "/etc/xinetd.d/tftp"),
    }


def test_rshd_in_a_script(fs: RootFS, scan: Scan) -> None:
    fs.script("/etc/rc.local", "/usr/sbin/rshd\nexit 0\n")
    assert service_findings(scan(fs)) == {("IW-FW-SERVICE-CLEARTEXT-REMOTE-SHELL", "/etc/rc.local")}


def test_command_lines_peel_wrappers() -> None:
    assert command_lines("exec nohup /usr/sbin/telnetd -l /bin/sh &") == [
        ["/usr/sbin/telnetd", "-l", "/bin/sh"]
    ]
    assert command_lines("busybox telnetd -p 23; echo ok") == [
        ["telnetd", "-p", "23"], ["echo", "ok"],
    ]  # fmt: skip
    assert command_lines("start-stop-daemon -K -x /usr/sbin/telnetd") == []
    assert command_lines("   # telnetd -l /bin/sh") == []
    assert command_lines("procd_set_param command /usr/sbin/dropbear -F") == [
        ["/usr/sbin/dropbear", "-F"]
    ]
