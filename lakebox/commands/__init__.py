"""The CLI's command groups; each module builds its own group and ``lakebox.cli`` adds it to ``main``."""
