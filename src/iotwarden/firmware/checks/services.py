"""Services started at boot: telnet, FTP, TFTP, UPnP and vendor debug daemons, shells on the
serial console, telnet without login, and bind shells.

Follows the ways an embedded Linux starts things: inittab (BusyBox and SysV), rc scripts and
the scripts they call, init.d scripts (only the enabled ones when rc.d/rcN.d links exist),
OpenWrt procd, systemd units enabled through ``*.wants/`` links, inetd and xinetd.
"""

from __future__ import annotations

import re
import shlex
from collections import deque
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from iotwarden.firmware.checks.interface import CheckOutput, CheckRun, FirmwareCheck
from iotwarden.firmware.checks.tables import RiskyService, risky_services, services_by_program
from iotwarden.firmware.model import (
    CAP_MINIMAL_ATTACK_SURFACE,
    CAP_SECURE_COMMUNICATION,
    CAP_STRONG_AUTHENTICATION,
    Finding,
    Severity,
)

ID_CONSOLE_SHELL = "IW-FW-SERVICE-CONSOLE-SHELL"
ID_TELNET_NO_LOGIN = "IW-FW-SERVICE-TELNET-NO-LOGIN"
ID_BIND_SHELL = "IW-FW-SERVICE-BIND-SHELL"

SHELLS = frozenset({"sh", "ash", "bash", "hush", "msh", "dash", "ksh", "zsh", "mksh"})
_GETTYS = frozenset({"getty", "agetty", "mingetty", "mgetty", "fbgetty"})
_NETCATS = frozenset({"nc", "netcat", "ncat"})
_PREFIX_WORDS = frozenset(
    {"if", "then", "do", "else", "elif", "while", "until", "!", "exec", "nohup", "time",
     "command", "builtin", "{", "setsid", "sudo", "eval"}
)  # fmt: skip
_SUPERVISORS = frozenset({"tcpsvd", "udpsvd", "tcpserver", "tcpd", "xinetd", "inetd", "sslsvd"})
_SEPARATORS = re.compile(r"\|\||&&|\$\(|[;|&`()]")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_INITTAB_SKIP = frozenset({"shutdown", "ctrlaltdel", "restart", "powerfail", "powerokwait"})

#: Scripts that run at boot on most embedded systems (when they exist).
BOOT_SCRIPTS = (
    "/etc/init.d/rcS",
    "/etc/rcS",
    "/etc/rc.d/rcS",
    "/etc_ro/rcS",
    "/etc/rc.local",
    "/etc/rc.d/rc.local",
    "/etc/init.d/rc.local",
    "/etc/rc.sysinit",
    "/etc/rc.d/rc.sysinit",
    "/etc/rc",
    "/etc/init.d/boot",
)
_LINK_DIRS = ("/etc/rc.d/S*", "/etc/rc[0-6S].d/S*")
_UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
_MAX_SCRIPTS = 400


@dataclass(frozen=True, slots=True)
class ServiceStart:
    """One program started at boot, and where."""

    program: str  # base name, e.g. 'telnetd'
    argv: tuple[str, ...]  # the command as written, program first
    path: str  # the file that starts it
    line_no: int
    line: str
    via: str  # 'inittab', 'script', 'procd', 'systemd', 'inetd', 'xinetd'

    @property
    def service(self) -> RiskyService | None:
        return services_by_program().get(self.program)


@dataclass
class BootAnalysis:
    scripts: list[str] = field(default_factory=list)
    starts: list[ServiceStart] = field(default_factory=list)
    console_shells: list[ServiceStart] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def remote_logins(self) -> list[ServiceStart]:
        """Starts of services that accept a password login from the network."""
        return [s for s in self.starts if s.service is not None and s.service.remote_login]


def command_lines(line: str) -> list[list[str]]:
    """The simple commands of one shell line (tokens, wrappers such as 'exec', 'nohup',
    'busybox', 'start-stop-daemon', 'procd_set_param command' peeled off)."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return []
    commands = []
    for part in _SEPARATORS.split(stripped):
        try:
            tokens = shlex.split(part, comments=True, posix=True)
        except ValueError:
            tokens = part.split()
        tokens = _peel(tokens)
        if tokens:
            commands.append(tokens)
    return commands


def _peel(tokens: list[str]) -> list[str]:
    while tokens:
        head = PurePosixPath(tokens[0]).name
        if head in _PREFIX_WORDS or _ASSIGNMENT.match(tokens[0]):
            tokens = tokens[1:]
        elif head == "env":
            tokens = [t for t in tokens[1:] if not t.startswith("-")]
            tokens = _drop_assignments(tokens)
        elif head in ("nice", "ionice", "taskset", "chrt"):
            tokens = _drop_options(tokens[1:], takes_value=("-n", "-c", "-p"))
            if head in ("taskset", "chrt") and tokens:
                tokens = tokens[1:]  # the mask / priority
        elif head == "busybox" and len(tokens) > 1:
            tokens = tokens[1:]
        elif head == "start-stop-daemon":
            return _start_stop_daemon(tokens[1:])
        elif head in ("service_start", "service"):
            # OpenWrt's legacy 'service_start /usr/sbin/x args'; SysV 'service x start' is
            # followed through the init script itself.
            return tokens[1:] if head == "service_start" else []
        elif head == "procd_set_param":
            return tokens[2:] if len(tokens) > 2 and tokens[1] == "command" else []
        elif head == "procd_append_param":
            return []
        else:
            return tokens
    return tokens


def _drop_assignments(tokens: list[str]) -> list[str]:
    while tokens and _ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    return tokens


def _drop_options(tokens: list[str], takes_value: tuple[str, ...]) -> list[str]:
    while tokens and tokens[0].startswith("-"):
        tokens = tokens[2:] if tokens[0] in takes_value else tokens[1:]
    return tokens


def _start_stop_daemon(tokens: list[str]) -> list[str]:
    if "-K" in tokens or "--stop" in tokens:
        return []
    program: str | None = None
    for index, token in enumerate(tokens):
        if token in ("-x", "--exec", "-a", "--startas") and index + 1 < len(tokens):
            program = tokens[index + 1]
        elif token.startswith(("--exec=", "--startas=")):
            program = token.split("=", 1)[1]
    args = tokens[tokens.index("--") + 1 :] if "--" in tokens else []
    return [program, *args] if program else []


def _program(argv: list[str]) -> tuple[str, list[str]]:
    """The program that really serves (behind tcpsvd & co.) and its arguments."""
    name = PurePosixPath(argv[0]).name
    if name in _SUPERVISORS:
        for index, token in enumerate(argv[1:], 1):
            if PurePosixPath(token).name in services_by_program():
                return PurePosixPath(token).name, argv[index:]
    return name, argv


def analyse_boot(run: CheckRun) -> BootAnalysis:
    """What the image starts at boot (shared by the services and remote-login checks)."""
    analysis = BootAnalysis()
    tree = run.tree
    queue: deque[str] = deque()
    seen: set[str] = set()

    def enqueue(image_path: str) -> None:
        canonical = tree.canonical(image_path)
        if canonical is None or canonical in seen or len(seen) >= _MAX_SCRIPTS:
            return
        if not tree.is_file(canonical):
            return
        seen.add(canonical)
        queue.append(canonical)

    for inittab in ("/etc/inittab", "/etc_ro/inittab"):
        if tree.is_file(inittab):
            _read_inittab(run, inittab, analysis, enqueue)
    for script in BOOT_SCRIPTS:
        enqueue(script)
    linked = tree.match(*_LINK_DIRS)
    for link in linked:
        enqueue(link)
    if not linked:
        # No rc.d/rcN.d links: rcS-style systems run the init.d scripts themselves.
        for script in tree.match("/etc/init.d/*"):
            enqueue(script)
    else:
        for script in tree.match("/etc/init.d/S*"):
            enqueue(script)
    while queue:
        script = queue.popleft()
        analysis.scripts.append(script)
        _read_script(run, script, analysis, enqueue)
    _read_systemd(run, analysis)
    _read_inetd(run, analysis)
    _read_xinetd(run, analysis)
    return analysis


def _record(
    analysis: BootAnalysis, argv: list[str], path: str, n: int, line: str, via: str
) -> None:
    program, served = _program(argv)
    start = ServiceStart(program, tuple(served), path, n, line.strip(), via)
    if program in services_by_program() or _is_bind_shell(program, served):
        analysis.starts.append(start)


def _read_inittab(run: CheckRun, path: str, analysis: BootAnalysis, enqueue: Any) -> None:
    text = run.tree.read_text(path)
    if text is None:
        analysis.problems.append((path, "cannot read inittab as text"))
        return
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(":", 3)
        if len(fields) != 4 or fields[2] in _INITTAB_SKIP:
            continue
        for argv in command_lines(fields[3]):
            program = PurePosixPath(argv[0].lstrip("-")).name
            if _is_console_shell(program, argv):
                analysis.console_shells.append(
                    ServiceStart(program, tuple(argv), path, n, line, "inittab")
                )
                continue
            _record(analysis, argv, path, n, line, "inittab")
            if argv[0].startswith("/"):
                enqueue(argv[0])
            if program in SHELLS and len(argv) > 1 and argv[1].startswith("/"):
                enqueue(argv[1])


def _is_console_shell(program: str, argv: list[str]) -> bool:
    if program in SHELLS:
        return True
    if program in _GETTYS:
        # getty -l /bin/sh: the "login program" is a shell, so no password is asked.
        for index, arg in enumerate(argv):
            if arg == "-l" and index + 1 < len(argv):
                return PurePosixPath(argv[index + 1]).name in SHELLS
            if arg.startswith("-l") and len(arg) > 2:
                return PurePosixPath(arg[2:]).name in SHELLS
    # login -f root logs in without asking for a password.
    return program == "login" and "-f" in argv


def _is_bind_shell(program: str, argv: list[str] | tuple[str, ...]) -> bool:
    if program not in _NETCATS:
        return False
    flags = "".join(t[1:] for t in argv[1:] if t.startswith("-") and not t.startswith("--"))
    return "l" in flags and ("e" in flags or "c" in flags)


def _read_script(run: CheckRun, path: str, analysis: BootAnalysis, enqueue: Any) -> None:
    text = run.tree.read_text(path)
    if text is None:
        if run.tree.read_bytes(path, 4) not in (None, b"\x7fELF"):
            analysis.problems.append((path, "boot script is not text or is too large"))
        return
    via = "procd" if "procd_set_param" in text else "script"
    for n, raw in enumerate(text.splitlines(), 1):
        for argv in command_lines(raw):
            _record(analysis, argv, path, n, raw, via)
            head = argv[0]
            if PurePosixPath(head).name in (*SHELLS, ".", "source") and len(argv) > 1:
                head = argv[1]
            if head.startswith("/") and (head.startswith("/etc/") or head.endswith(".sh")):
                enqueue(head)


def _read_systemd(run: CheckRun, analysis: BootAnalysis) -> None:
    tree = run.tree
    wanted = tree.match(*(f"{d}/*.wants/*" for d in _UNIT_DIRS))
    units: list[tuple[str, str]] = []  # (unit name, image path of the unit file)
    for link in wanted:
        name = PurePosixPath(link).name
        target = tree.canonical(link)
        if target is None or not tree.is_file(target):
            target = _find_unit(run, name)
        if target is not None:
            units.append((name, target))
    for name, unit_path in units:
        path, text = unit_path, tree.read_text(unit_path) or ""
        if name.endswith(".socket"):
            service = _unit_value(text, "Service") or name.removesuffix(".socket") + ".service"
            service_path = _find_unit(run, service) or _find_unit(
                run, service.removesuffix(".service") + "@.service"
            )
            if service_path is None:
                continue
            path, text = service_path, tree.read_text(service_path) or ""
        for n, raw in enumerate(text.splitlines(), 1):
            key, _, value = raw.strip().partition("=")
            if key.strip() != "ExecStart" or not value.strip():
                continue
            command = value.strip().lstrip("-@:+!")
            try:
                argv = shlex.split(command)
            except ValueError:
                argv = command.split()
            if argv:
                _record(analysis, argv, path, n, raw, "systemd")


def _find_unit(run: CheckRun, name: str) -> str | None:
    for directory in _UNIT_DIRS:
        candidate = f"{directory}/{name}"
        if run.tree.is_file(candidate) or run.tree.canonical(candidate):
            resolved = run.tree.canonical(candidate)
            if resolved is not None and run.tree.is_file(resolved):
                return resolved
    return None


def _unit_value(text: str, key: str) -> str | None:
    for raw in text.splitlines():
        name, _, value = raw.strip().partition("=")
        if name.strip() == key:
            return value.strip()
    return None


def _read_inetd(run: CheckRun, analysis: BootAnalysis) -> None:
    path = "/etc/inetd.conf"
    text = run.tree.read_text(path)
    if text is None:
        return
    for n, raw in enumerate(text.splitlines(), 1):
        fields = raw.split()
        if len(fields) < 6 or raw.lstrip().startswith("#") or fields[5] == "internal":
            continue
        argv = fields[5:]
        if PurePosixPath(argv[0]).name == "tcpd" and len(argv) > 1:
            argv = argv[1:]
        _record(analysis, argv, path, n, raw, "inetd")


def _read_xinetd(run: CheckRun, analysis: BootAnalysis) -> None:
    for path in ["/etc/xinetd.conf", *run.tree.match("/etc/xinetd.d/*")]:
        text = run.tree.read_text(path)
        if text is None:
            continue
        for block in re.finditer(r"service\s+\S+\s*\{(?P<body>[^}]*)\}", text):
            body = block.group("body")
            settings = {
                m.group(1): m.group(2).strip()
                for m in re.finditer(r"^\s*(\w+)\s*[+-]?=\s*(.*)$", body, re.MULTILINE)
            }
            if settings.get("disable", "no").lower() == "yes" or "server" not in settings:
                continue
            argv = [settings["server"], *settings.get("server_args", "").split()]
            n = text.count("\n", 0, block.start()) + 1
            _record(analysis, argv, path, n, f"service ... server = {settings['server']}", "xinetd")


def telnet_shell(start: ServiceStart) -> str | None:
    """The shell telnetd runs instead of login ('-l /bin/sh'), if any."""
    argv = list(start.argv)
    for index, arg in enumerate(argv):
        value = None
        if arg == "-l" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("-l") and len(arg) > 2 and not arg.startswith("--"):
            value = arg[2:]
        if value is not None and PurePosixPath(value).name in SHELLS:
            return value
    return None


class ServicesCheck(FirmwareCheck):
    name = "services"
    title = "Services started at boot"
    description = (
        "Follows inittab, rc and init.d scripts, procd, systemd units enabled through "
        "*.wants links, inetd and xinetd, and reports risky daemons (telnet, FTP, TFTP, UPnP, "
        "vendor debug daemons), telnet without login, bind shells and shells on the serial "
        "console."
    )
    finding_ids = (
        *sorted({s.finding for s in risky_services() if s.finding}),
        ID_TELNET_NO_LOGIN,
        ID_CONSOLE_SHELL,
        ID_BIND_SHELL,
    )
    capabilities = (
        CAP_MINIMAL_ATTACK_SURFACE,
        CAP_SECURE_COMMUNICATION,
        CAP_STRONG_AUTHENTICATION,
    )
    looks_at = (
        "/etc/inittab",
        *BOOT_SCRIPTS,
        "/etc/init.d/*",
        "/etc/rc.d/S*",
        "/etc/systemd/system/*.wants/*",
        "/etc/inetd.conf",
        "/etc/xinetd.d/*",
    )

    def run(self, run: CheckRun) -> CheckOutput:
        analysis = run.shared("boot", analyse_boot)
        output = CheckOutput(
            facts={
                "boot_scripts": list(analysis.scripts),
                "started": sorted({s.program for s in analysis.starts}),
            },
            problems=list(analysis.problems),
        )
        grouped: dict[tuple[str, str], list[ServiceStart]] = {}
        for start in analysis.starts:
            service = start.service
            if _is_bind_shell(start.program, start.argv):
                output.findings.append(self._bind_shell(start))
            elif service is not None and service.finding is not None:
                grouped.setdefault((service.name, start.path), []).append(start)
            if service is not None and service.name == "telnet":
                shell = telnet_shell(start)
                if shell is not None:
                    output.findings.append(self._telnet_no_login(start, shell))
        for (_, path), starts in grouped.items():
            output.findings.append(self._risky(path, starts))
        for start in analysis.console_shells:
            output.findings.append(self._console_shell(start))
        return output

    @staticmethod
    def _risky(path: str, starts: list[ServiceStart]) -> Finding:
        first = starts[0]
        service = first.service
        if service is None or service.finding is None:  # pragma: no cover - grouped above
            raise ValueError(f"{first.program} is not a risky service")
        return Finding(
            id=service.finding,
            title=service.title,
            severity=service.severity,
            path=path,
            evidence=f"line {first.line_no}: {first.line}",
            remediation=service.remediation,
            capabilities=service.capabilities or (CAP_MINIMAL_ATTACK_SURFACE,),
            details={
                "service": service.name,
                "program": first.program,
                "command": list(first.argv),
                "via": first.via,
                "lines": [s.line_no for s in starts],
                "why": service.why,
            },
        )

    @staticmethod
    def _telnet_no_login(start: ServiceStart, shell: str) -> Finding:
        return Finding(
            id=ID_TELNET_NO_LOGIN,
            title=f"Telnet server gives a shell ({shell}) without login",
            severity=Severity.CRITICAL,
            path=start.path,
            evidence=f"line {start.line_no}: {start.line}",
            remediation="Never start telnetd with '-l <shell>'; remove telnetd from the image.",
            capabilities=(
                CAP_STRONG_AUTHENTICATION,
                CAP_MINIMAL_ATTACK_SURFACE,
                CAP_SECURE_COMMUNICATION,
            ),
            details={"program": start.program, "shell": shell, "via": start.via},
        )

    @staticmethod
    def _bind_shell(start: ServiceStart) -> Finding:
        return Finding(
            id=ID_BIND_SHELL,
            title="Network listener that executes a shell started at boot",
            severity=Severity.CRITICAL,
            path=start.path,
            evidence=f"line {start.line_no}: {start.line}",
            remediation="Remove the listener: it gives a shell to anyone who connects.",
            capabilities=(CAP_STRONG_AUTHENTICATION, CAP_MINIMAL_ATTACK_SURFACE),
            details={"program": start.program, "command": list(start.argv), "via": start.via},
        )

    @staticmethod
    def _console_shell(start: ServiceStart) -> Finding:
        terminal = start.line.split(":", 1)[0] or "console"
        return Finding(
            id=ID_CONSOLE_SHELL,
            title=f"Shell without login on the serial console ({terminal})",
            severity=Severity.HIGH,
            path=start.path,
            evidence=f"line {start.line_no}: {start.line}",
            remediation=(
                "Start a login (getty/login asking for a per-device password) on the console, "
                "or no shell at all in production builds."
            ),
            capabilities=(CAP_STRONG_AUTHENTICATION, CAP_MINIMAL_ATTACK_SURFACE),
            details={"terminal": terminal, "command": list(start.argv)},
        )
