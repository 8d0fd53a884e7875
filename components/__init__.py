"""Pulumi ComponentResources of the VOS platform and the pure renderers they use."""
