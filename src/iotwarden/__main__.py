from iotwarden.cli.app import main

main()
