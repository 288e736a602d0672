"""`python -m iotwarden`: the same as the `iotwarden` command."""

from iotwarden.cli.app import main

main()
