"""The vos-infra Pulumi program: settings, platform assembly and offline tooling."""
