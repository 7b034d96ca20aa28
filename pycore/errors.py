"""The one exception type pycore raises for bad specs, bad data files and bad JSON."""


class PycoreError(ValueError):
    """A problem with something the user gave pycore, explained in plain words."""
