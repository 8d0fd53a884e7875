"""The Swarm target: a ContainerSpec as a docker.Service, its files as Swarm configs and
secrets, the stack's networks as overlays (issue 25). The single-host target is
components/docker/."""
