"""Files ``dfdlab`` writes for its users (``dfdlab new-detector``); read as text, never imported by the package."""
