"""The egress proxy (Squid): the apps' only way out of the stack, per app allow-list."""
