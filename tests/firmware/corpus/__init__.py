"""The generated firmware test corpus: images built from readable descriptions, each with the
components and weaknesses its generator planted, and the end-to-end precision/recall tests."""
