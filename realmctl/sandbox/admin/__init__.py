"""Admin REST API areas, one module per area; each exposes `register(router)`."""
