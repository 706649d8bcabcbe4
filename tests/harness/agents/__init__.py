"""One module per real agent harness that the drift check and the healing end-to-end runs
drive offline (see ``common.py`` for the interface every module has)."""
