"""Command-line subcommands beyond run/check, one module each with add_parser(subparsers)."""
