"""Default limits that the command line shows in `--help`, in a module that imports nothing.

They live apart from the code that enforces them (transport.py, spec/loader.py) so that
`realmctl --help` and `validate` do not import the HTTP stack or the spec validator just to print
a default.
"""

#: Seconds within which each request must be answered completely, unless configured.
DEFAULT_TIMEOUT = 30.0
#: Seconds within which a whole run's server work must end, unless configured.
DEFAULT_DEADLINE = 1800.0
#: The largest spec file read by default: a realm of thousands of users fits; a 50 MB file is a
#: mistake (or an attack) that would take minutes and gigabytes to parse.
MAX_SPEC_BYTES = 10 * 1024 * 1024
