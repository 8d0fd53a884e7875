"""Docker building blocks shared by the service components."""
