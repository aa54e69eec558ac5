"""Exit codes: a contract with pipelines, documented in the README and tested.

They follow Terraform's `-detailed-exitcode` convention where the meanings overlap.
"""

OK = 0  # success; for `plan --detailed-exitcode`: no changes
ERROR = 1  # bad input, bad usage, a failed apply, or any other error
CHANGES = 2  # `plan --detailed-exitcode`: the plan has changes
FINDINGS = 3  # `check`: at least one finding of severity error
CONNECTION = 4  # the server is unreachable or refused the credentials
INTERRUPTED_INT = 130  # apply stopped by SIGINT
INTERRUPTED_TERM = 143  # apply stopped by SIGTERM
