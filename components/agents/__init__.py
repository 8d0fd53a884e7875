"""The agents: one component per `vos-infra:agents` entry."""
