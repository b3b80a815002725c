"""The Lambda asset: this folder is deployed as the functions' code, all but this file.

It holds the package `handlers` only, which imports nothing from pausable_sfn (an import-linter
contract checks it): on AWS the folder is /var/task and the handlers are `handlers.<module>.handler`.
"""
