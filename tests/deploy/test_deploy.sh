#!/bin/sh
# test_deploy.sh -- deploy/ against the binary it packages (tests/deploy/deploy_checks.py).
exec /usr/bin/python3 "$(dirname "$0")/deploy_checks.py"
