"""Expected failures: shown to a person as one line, never with a traceback."""


class LeadsError(Exception):
    """An expected, explainable failure (bad config, missing data dir, bad argument)."""


class ConfigError(LeadsError):
    """A source or scoring config is invalid; the message names the file and the key."""


class SourceFailed(LeadsError):
    """One source cannot be staged this run (schema drift, reject rate over threshold); others go on."""


class StateDamaged(LeadsError):
    """The pipeline's working state database cannot be read (for example a checkpoint torn by a crash); the
    published leads and exports are untouched, and the state is rebuilt from the raw landing."""
