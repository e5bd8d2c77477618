"""`lacquer --help` lists every command, and `lacquer CMD --help` (and -h) of each command it
lists prints that command's usage and options on stdout with exit status 0; an unknown
command or option is a usage error (exit 2) on stderr."""
import re
import subprocess

import pytest

from conftest import BIN


def lacquer(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=60)


def commands():
    p = lacquer("--help")
    assert p.returncode == 0, p.stderr
    block = p.stdout.split("commands:", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\s+([a-z]+)\s{2,}\S", block, re.M)


def test_top_level_help_lists_the_commands():
    cmds = commands()
    assert {"serve", "detect", "render", "gallery", "nails", "stream", "worker"} <= set(cmds)
    assert "lacquer COMMAND --help" in lacquer("--help").stdout
    p = lacquer()
    assert p.returncode == 2 and "usage: lacquer COMMAND" in p.stderr


@pytest.mark.parametrize("cmd", [c for c in commands() if c != "version"])
def test_each_command_help(cmd):
    for flag in ("--help", "-h"):
        p = lacquer(cmd, flag)
        assert p.returncode == 0, (cmd, flag, p.stderr)
        assert p.stdout.startswith(f"usage: lacquer {cmd}"), p.stdout[:200]
        options = re.findall(r"^\s+(--[a-z][a-z0-9-]*)", p.stdout, re.M)
        assert len(options) >= 3 and "--help" in p.stdout, (cmd, options)
    p = lacquer(cmd, "--no-such-option")
    assert p.returncode == 2, (cmd, p.returncode, p.stdout[:200])
    assert "--no-such-option" in p.stderr, p.stderr


def test_unknown_command_is_a_usage_error():
    p = lacquer("paint")
    assert p.returncode == 2 and "unknown command 'paint'" in p.stderr
