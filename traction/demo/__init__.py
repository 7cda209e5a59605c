"""The offline demo: bundled upstream payloads, served on loopback, through the real pipeline."""
