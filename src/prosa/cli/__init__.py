"""The `prosa` command line."""
