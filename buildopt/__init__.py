"""buildopt: build Go services in many variants from one profile, and measure what each costs."""

__version__ = "0.1.0"
