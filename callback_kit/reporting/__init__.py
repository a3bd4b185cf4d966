"""The one reporting layer of `callback-kit contract`, `replay`, `fuzz` and the proxy's journal.

    redact    secrets replaced by the environment variable that holds them (`${CALLBACK_KIT_TOKEN}`)
    curl      shell words and curl commands that send a request again, exact bytes included
    har       HAR 1.2 logs, written entry by entry with `harfile`
    junit     JUnit XML reports, written with `junitparser`
    progress  progress of a long task: a `rich` bar with rate and ETA on a terminal, plain lines elsewhere
    paths     report files and output folders checked writable before anything is sent or generated

The package itself imports nothing: each user imports the module it needs, so that the proxy (base install)
can redact its journal without the `[contract]` extra that `har`, `junit` and `progress` need.
"""
