"""Minimal host shops used by the tests: each plugs into flask_kuroneko only through the
public hooks and signals (the "any Flask store" promise)."""
